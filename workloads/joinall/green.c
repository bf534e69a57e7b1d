/* workloads/joinall/green.c: the joinall workload, green side, the seed's
 * program: N green threads each GET --url over a new connection with the
 * green HTTP client, read and check the whole body, then green_joinall.
 * ns_per_op is wall / N, so that 1e9 / ns_per_op is requests per second. */
#include "cell.h"
#include "fetch.h"
#include "green_common.h"
#include "sysinfo.h"

#include <stdlib.h>

/* Spawn one green thread per task, joinall, release. */
static int run_all(fetch_task *tasks, green_thread **g, long long n, cell_result *r, int timed)
{
    fetch_tasks_reset(tasks, n);
    green_fetch.peak = 0;
    if (timed)
        cell_measure_begin(r);
    long long spawned;
    int err = 0;
    for (spawned = 0; spawned < n; spawned++) {
        err = green_spawn(&g[spawned], green_fetch_main, &tasks[spawned]);
        if (err != 0)
            break;
    }
    /* Every fetch has its own deadline; this bound is a second guard. */
    int ended = green_joinall(g, (size_t)spawned, green_fetch.target->timeout + 10.0);
    if (timed)
        cell_measure_end(r);
    if (ended >= 0 && ended < spawned) {
        for (long long i = 0; i < spawned; i++)
            green_kill(g[i]);
        green_joinall(g, (size_t)spawned, 10.0);
    }
    for (long long i = 0; i < spawned; i++)
        green_release(g[i]);
    if (err != 0)
        return cell_fail(r, "green_spawn failed after %lld green threads: %s", spawned, green_strerror(err));
    if (ended != (int)spawned)
        return cell_fail(r, "green_joinall: %s", ended < 0 ? green_strerror(ended) : "timed out");
    return 0;
}

int joinall_green(cell_params *p, cell_result *r)
{
    fetch_setup s;
    if (fetch_setup_init(&s, p, r, false) != 0)
        return -1;
    if (s.n > 0x7fffffff) {
        fetch_setup_close(&s);
        return cell_usage_error(r, "--n=%lld: at most %d (green_joinall counts in an int)", s.n, 0x7fffffff);
    }
    char limit[256];
    if (s.n > sys_stack_room(limit, sizeof limit)) {
        fetch_setup_close(&s);
        return cell_fail(r, "joinall needs %lld stacks at once, more than this process may map: %s", s.n, limit);
    }
    green_fetch.target = &s.target;
    int rc = -1;
    fetch_task *tasks = calloc((size_t)s.n, sizeof *tasks);
    green_thread **g = calloc((size_t)s.n, sizeof *g);
    if (tasks == NULL || g == NULL) {
        cell_fail(r, "out of memory for %lld tasks", s.n);
        goto fail_alloc;
    }
    if (green_common_init(p, r) != 0)
        goto fail_alloc;
    long long warm = s.n < FETCH_WARMUP ? s.n : FETCH_WARMUP;
    if (run_all(tasks, g, warm, r, 0) == 0 && fetch_tally(&s, tasks, warm, r) == 0 &&
        run_all(tasks, g, s.n, r, 1) == 0) {
        r->ops = s.n;
        rc = fetch_tally(&s, tasks, s.n, r);
        if (fetch_check_in_flight(&s, r, green_fetch.peak) != 0)
            rc = -1;
    }
    green_common_fini(r);
fail_alloc:
    free(tasks);
    free(g);
    fetch_setup_close(&s);
    return r->ok ? rc : -1;
}
