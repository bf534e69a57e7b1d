# workloads/spawn/gevent.py: the spawn workloads of the gevent peer (loaded by
# workloads/peers/gevent_cell.py; not a script, never on sys.path).
#   spawn        --n trivial greenlets: gevent.spawn each, then gevent.joinall;
#                ns_per_op = wall / N.
#   spawn-alive  all --n alive at once, each blocked in Event.wait();
#                rss_per_task_bytes is the growth of resident memory while
#                all were alive, over N. Then the event is set and all joined.
import gc

import gevent
from gevent.event import Event

import gevent_cell as cell

DEFAULT_N = 10000
DEFAULT_ALIVE_N = 1000
WARMUP = 1000


def spawn_join(n, ran):
    def trivial():
        ran[0] += 1

    spawn = gevent.spawn
    gevent.joinall([spawn(trivial) for _ in range(n)])


def run_spawn(p, r):
    if p.n is None:
        p.n = DEFAULT_N
    if p.n == 0:
        r.fail("--n=0: spawn needs at least one task")
    r.switch_used = "greenlet"
    r.loop_used = cell.loop_name()
    spawn_join(min(p.n, WARMUP), [0])
    ran = [0]
    r.measure_begin()
    spawn_join(p.n, ran)
    r.measure_end()
    r.ops = p.n
    r.tasks_completed = ran[0]
    r.errors = p.n - ran[0]
    r.add_note("gevent.spawn + gevent.joinall: each greenlet is a Python object, and CPython 3.11 gives each "
               "its own 16 KiB frame stack, mmap'd when it starts and munmap'd when it ends (two system calls "
               "and a page fault per greenlet), where ours reuses stacks from a free list.")
    if ran[0] != p.n:
        r.fail("%d of %d greenlets ran" % (ran[0], p.n))


def run_spawn_alive(p, r):
    if p.n is None:
        p.n = DEFAULT_ALIVE_N
    n = p.n
    if n == 0:
        r.fail("--n=0: spawn-alive needs at least one task")
    r.switch_used = "greenlet"
    r.loop_used = cell.loop_name()
    gate, all_started = Event(), Event()
    started = [0]

    def wait_at_gate():
        started[0] += 1
        if started[0] == n:
            all_started.set()
        gate.wait()

    gc.collect()                      # Start-up garbage is not the greenlets'.
    rss_before = cell.rss_bytes()
    rss_alive = None
    r.measure_begin()
    jobs = [gevent.spawn(wait_at_gate) for _ in range(n)]
    if all_started.wait(timeout=60):
        rss_alive = cell.rss_bytes()
    gate.set()
    gevent.joinall(jobs)
    r.measure_end()
    r.ops = n
    r.tasks_completed = started[0]
    r.errors = n - started[0]
    if rss_alive is None:
        r.fail("only %d of %d greenlets reached the gate within 60 s" % (started[0], n))
    if rss_before is not None:
        r.rss_per_task_bytes = max(rss_alive - rss_before, 0) // n
    r.add_note("RSS counts each greenlet's Greenlet object, the touched pages of its own CPython frame stack "
               "(16 KiB, mmap'd), the slice of C stack greenlet copies to the heap when it switches away, and "
               "the Python allocator's arenas.")
