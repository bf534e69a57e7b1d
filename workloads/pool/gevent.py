# workloads/pool/gevent.py: the pool workload of the gevent peer (loaded by
# workloads/peers/gevent_cell.py after monkey.patch_all(); not a script,
# never on sys.path): the same --n fetches as joinall through
# gevent.pool.Pool(--concurrency).map; never more than K in flight. The
# pool's making is inside the timed part, as a pool's life is.
from gevent.pool import Pool

import gevent_fetch as fetch


def map_through_pool(s, tasks, k, gauge):
    def job(task):
        gauge.enter()
        fetch.fetch_one(s, task)
        gauge.leave()

    Pool(k).map(job, tasks)


def run_pool(p, r):
    s = fetch.setup_init(p, r, pool=True)
    try:
        # Warm-up: a few requests through a small pool, untimed.
        warm = [fetch.Task() for _ in range(min(s.n, fetch.WARMUP))]
        map_through_pool(s, warm, min(s.k, len(warm)), fetch.Gauge())
        fetch.tally(s, warm, r)

        tasks = [fetch.Task() for _ in range(s.n)]
        gauge = fetch.Gauge()
        r.measure_begin()
        map_through_pool(s, tasks, s.k, gauge)
        r.measure_end()
        r.ops = s.n
        fetch.tally(s, tasks, r)
        fetch.check_in_flight(s, r, gauge.peak)
    finally:
        fetch.stop_server(s)
