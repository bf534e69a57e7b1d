# workloads/joinall/gevent.py: the joinall workload of the gevent peer, the
# seed program itself (loaded by workloads/peers/gevent_cell.py, which has
# already run monkey.patch_all(); not a script, never on sys.path): --n
# greenlets each fetch --url with urllib.request, then gevent.joinall.
# With --keepalive=1 each greenlet makes its one request on a connection of
# its own with "Connection: keep-alive" (http.client, gevent_fetch.fetch_kept)
# and leaves it open; they are closed after the timed part, as ours.
# ns_per_op is wall / N, so that 1e9 / ns_per_op is requests per second.
import gevent

import gevent_fetch as fetch


def run_all(s, tasks, gauge):
    """Returns the connections the tasks kept (--keepalive=1), for close_kept."""
    kept = []
    if s.keepalive:
        def job(task):
            conn = fetch.KeptConnection(s)
            kept.append(conn)
            gauge.enter()
            fetch.fetch_kept(s, conn, task)
            gauge.leave()
    else:
        def job(task):
            gauge.enter()
            fetch.fetch_one(s, task)
            gauge.leave()

    gevent.joinall([gevent.spawn(job, t) for t in tasks])
    return kept


def run_joinall(p, r):
    s = fetch.setup_init(p, r, pool=False)
    try:
        # Warm-up: a few requests the same way, untimed; the connections it kept closed.
        warm = [fetch.Task() for _ in range(min(s.n, fetch.WARMUP))]
        fetch.close_kept(run_all(s, warm, fetch.Gauge()))
        fetch.tally(s, warm, r)

        tasks = [fetch.Task() for _ in range(s.n)]
        gauge = fetch.Gauge()
        s.connections = 0
        r.measure_begin()
        kept = run_all(s, tasks, gauge)
        r.measure_end()
        r.connections = s.connections
        fetch.close_kept(kept)
        r.ops = s.n
        fetch.note_reconnects(tasks, r)
        fetch.tally(s, tasks, r)
        fetch.check_in_flight(s, r, gauge.peak)
    finally:
        fetch.stop_server(s)
