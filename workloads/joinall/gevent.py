# workloads/joinall/gevent.py: the joinall workload of the gevent peer, the
# seed program itself (loaded by workloads/peers/gevent_cell.py, which has
# already run monkey.patch_all(); not a script, never on sys.path): --n
# greenlets each fetch --url with urllib.request, then gevent.joinall.
# ns_per_op is wall / N, so that 1e9 / ns_per_op is requests per second.
import gevent

import gevent_fetch as fetch


def run_all(s, tasks, gauge):
    def job(task):
        gauge.enter()
        fetch.fetch_one(s, task)
        gauge.leave()

    gevent.joinall([gevent.spawn(job, t) for t in tasks])


def run_joinall(p, r):
    s = fetch.setup_init(p, r, pool=False)
    try:
        # Warm-up: a few requests the same way, untimed.
        warm = [fetch.Task() for _ in range(min(s.n, fetch.WARMUP))]
        run_all(s, warm, fetch.Gauge())
        fetch.tally(s, warm, r)

        tasks = [fetch.Task() for _ in range(s.n)]
        gauge = fetch.Gauge()
        r.measure_begin()
        run_all(s, tasks, gauge)
        r.measure_end()
        r.ops = s.n
        fetch.tally(s, tasks, r)
        fetch.check_in_flight(s, r, gauge.peak)
    finally:
        fetch.stop_server(s)
