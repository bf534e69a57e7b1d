# workloads/yield/gevent.py: the yield workload of the gevent peer (loaded by
# workloads/peers/gevent_cell.py; not a script, never on sys.path). Two
# greenlets call gevent.sleep(0) --n times each: every call goes to the hub
# and back, as green_yield() does in ours. ops = 2N.
import gevent

import gevent_cell as cell

DEFAULT_N = 100000
WARMUP = 1000


def yield_pair(n):
    """Two greenlets yield n times each; returns the yields after which the
    other greenlet had run."""
    last = [0]
    switched = [0, 0]

    def yielder(me):
        sleep = gevent.sleep
        s = 0
        for _ in range(n):
            sleep(0)
            prev = last[0]
            last[0] = me
            s += prev != me
        switched[me] = s

    gevent.joinall([gevent.spawn(yielder, 0), gevent.spawn(yielder, 1)])
    return switched[0] + switched[1]


def run_yield(p, r):
    if p.n is None:
        p.n = DEFAULT_N
    if p.n == 0:
        r.fail("--n=0: yield needs at least one yield per task")
    r.switch_used = "greenlet"
    r.loop_used = cell.loop_name()
    yield_pair(min(p.n, WARMUP))
    r.measure_begin()
    switched = yield_pair(p.n)
    r.measure_end()
    r.ops = 2 * p.n
    r.tasks_completed = 2
    r.errors = 0
    r.add_note("gevent.sleep(0) in two greenlets, through the hub's callback queue: %d of %d yields (%.1f%%) "
               "let the other greenlet run." % (switched, 2 * p.n, 100.0 * switched / (2 * p.n)))
