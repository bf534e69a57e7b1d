# workloads/pool/gevent.py: the pool workload of the gevent peer (loaded by
# workloads/peers/gevent_cell.py after monkey.patch_all(); not a script,
# never on sys.path): the same --n fetches as joinall through
# gevent.pool.Pool(--concurrency).map; never more than K in flight. The
# pool's making is inside the timed part, as a pool's life is.
#
# With --keepalive=1 the K workers keep their connections: a free list that
# a job takes one from (or opens one, when it is empty) and gives it back to
# when done. Pool.map starts the next job only after one has ended, and so
# after its connection is back: never more than K, each opened once while
# the server keeps it. They are closed after the timed part, as ours.
from gevent.pool import Pool

import gevent_fetch as fetch


def map_through_pool(s, tasks, k, gauge):
    """Returns the connections the workers kept (--keepalive=1), for close_kept."""
    free = []
    if s.keepalive:
        def job(task):
            kept = free.pop() if free else fetch.KeptConnection(s)
            gauge.enter()
            fetch.fetch_kept(s, kept, task)
            gauge.leave()
            free.append(kept)
    else:
        def job(task):
            gauge.enter()
            fetch.fetch_one(s, task)
            gauge.leave()

    Pool(k).map(job, tasks)
    return free


def run_pool(p, r):
    s = fetch.setup_init(p, r, pool=True)
    try:
        # Warm-up: a few requests through a small pool, untimed; the connections it kept closed.
        warm = [fetch.Task() for _ in range(min(s.n, fetch.WARMUP))]
        fetch.close_kept(map_through_pool(s, warm, min(s.k, len(warm)), fetch.Gauge()))
        fetch.tally(s, warm, r)

        tasks = [fetch.Task() for _ in range(s.n)]
        gauge = fetch.Gauge()
        s.connections = 0
        r.measure_begin()
        kept = map_through_pool(s, tasks, s.k, gauge)
        r.measure_end()
        r.connections = s.connections
        fetch.close_kept(kept)
        r.ops = s.n
        fetch.note_reconnects(tasks, r)
        fetch.tally(s, tasks, r)
        fetch.check_in_flight(s, r, gauge.peak)
    finally:
        fetch.stop_server(s)
