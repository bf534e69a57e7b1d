/* workloads/pool/green.c: the pool workload, green side: the N fetches of
 * joinall through a green pool of K (gevent.pool.Pool): green_pool_spawn
 * waits while K are running, so never more than K are in flight. ns_per_op
 * is wall / N. */
#include "cell.h"
#include "fetch.h"
#include "green_common.h"

#include <stdlib.h>

/* Run n tasks through a pool of k. Returns 0 or -1 with r failed; *pool_peak
 * gets the pool's own count of the most running at once. */
static int run_pool(fetch_task *tasks, long long n, long long k, cell_result *r, int timed, size_t *pool_peak)
{
    fetch_tasks_reset(tasks, n);
    green_fetch.peak = 0;
    green_pool *pool;
    int err = green_pool_new(&pool, (size_t)k);
    if (err != 0)
        return cell_fail(r, "green_pool_new(%lld): %s", k, green_strerror(err));
    if (timed)
        cell_measure_begin(r);
    long long spawned;
    for (spawned = 0; spawned < n; spawned++) {
        err = green_pool_spawn(pool, NULL, green_fetch_main, &tasks[spawned]);
        if (err != 0)
            break;
    }
    /* Each fetch has its own deadline, so the pool empties within a bounded
     * time; the join's own bound is a second guard. */
    int joined = green_pool_join(pool, GREEN_JOIN_BOUND_S);
    if (timed)
        cell_measure_end(r);
    *pool_peak = green_pool_peak(pool);
    if (joined == 0)
        green_pool_free(pool);
    if (err != 0)
        return cell_fail(r, "green_pool_spawn failed after %lld green threads: %s", spawned, green_strerror(err));
    if (joined != 0)
        return cell_fail(r, "green_pool_join: %s", green_strerror(joined));
    return 0;
}

int pool_green(cell_params *p, cell_result *r)
{
    fetch_setup s;
    if (fetch_setup_init(&s, p, r, true) != 0)
        return -1;
    green_fetch.target = &s.target;
    int rc = -1;
    size_t pool_peak = 0;
    fetch_task *tasks = calloc((size_t)s.n, sizeof *tasks);
    if (tasks == NULL) {
        cell_fail(r, "out of memory for %lld tasks", s.n);
        goto fail_alloc;
    }
    if (green_common_init(p, r) != 0)
        goto fail_alloc;
    long long warm = s.n < FETCH_WARMUP ? s.n : FETCH_WARMUP;
    if (run_pool(tasks, warm, s.k < warm ? s.k : warm, r, 0, &pool_peak) == 0 && fetch_tally(&s, tasks, warm, r) == 0 &&
        run_pool(tasks, s.n, s.k, r, 1, &pool_peak) == 0) {
        r->ops = s.n;
        rc = fetch_tally(&s, tasks, s.n, r);
        if (fetch_check_in_flight(&s, r, green_fetch.peak) != 0)
            rc = -1;
        else if ((long long)pool_peak > s.k)
            rc = cell_fail(r, "green_pool_peak says %zu ran at once in a pool of %lld", pool_peak, s.k);
    }
    green_common_fini(r);
fail_alloc:
    free(tasks);
    fetch_setup_close(&s);
    return r->ok ? rc : -1;
}
