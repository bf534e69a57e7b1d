/* workloads/joinall/green.c: the joinall workload, green side, the seed's
 * program: N green threads each GET --url over a new connection with the
 * green HTTP client, read and check the whole body, then green_joinall.
 * With --keepalive=1 each asks to keep its connection and leaves it open
 * (closed after the timed part); with --hubs=H, H hubs (threads, CPUs)
 * take N / H each. ns_per_op is wall / N, so that 1e9 / ns_per_op is
 * requests per second. */
#include "cell.h"
#include "fetch.h"
#include "green_common.h"
#include "sysinfo.h"

#include <stdlib.h>

/* What the hubs share: read-only but for each hub's own slice of tasks and
 * handles. */
typedef struct joinall_work {
    const fetch_setup *s;
    fetch_task *tasks;
    green_thread **g;
} joinall_work;

/* Spawn one green thread per task, joinall, release. */
static int run_all(green_hub *h, fetch_task *tasks, long long n, int timed)
{
    const joinall_work *w = h->work;
    green_thread **g = w->g + h->first;
    cell_result *r = h->r;
    fetch_tasks_reset(tasks, n);
    green_fetch.peak = 0;
    if (timed)
        green_hub_begin(h);
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
        green_hub_end(h);
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

/* Untimed: a few requests the same way, checked; their connections closed. */
static int joinall_warm(green_hub *h)
{
    const joinall_work *w = h->work;
    green_fetch.target = &w->s->target;
    green_fetch.io = w->s->io;
    green_fetch.keep = w->s->keepalive ? GREEN_FETCH_KEEP_OWN : GREEN_FETCH_CLOSE;
    fetch_task *tasks = w->tasks + h->first;
    long long warm = h->n < FETCH_WARMUP ? h->n : FETCH_WARMUP;
    int rc = run_all(h, tasks, warm, 0);
    if (rc == 0)
        rc = fetch_tally(w->s, tasks, warm, h->r);
    fetch_tasks_close(w->s, tasks, warm);
    return rc;
}

static int joinall_timed(green_hub *h)
{
    const joinall_work *w = h->work;
    int rc = run_all(h, w->tasks + h->first, h->n, 1);
    h->peak = green_fetch.peak;
    return rc;
}

/* The connections the tasks kept, closed outside the timed part. */
static void joinall_after(green_hub *h)
{
    const joinall_work *w = h->work;
    fetch_tasks_close(w->s, w->tasks + h->first, h->n);
}

int joinall_green(cell_params *p, cell_result *r)
{
    fetch_setup s;
    if (green_common_hubs_check(p, r) != 0 || fetch_setup_init(&s, p, r, false, &green_fetch_flavour) != 0)
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
    int rc = -1;
    joinall_work w = { .s = &s,
                       .tasks = calloc((size_t)s.n, sizeof *w.tasks),
                       .g = calloc((size_t)s.n, sizeof *w.g) };
    if (w.tasks == NULL || w.g == NULL) {
        cell_fail(r, "out of memory for %lld tasks", s.n);
        goto fail_alloc;
    }
    /* Each task's connection: none kept until it runs. */
    fetch_tasks_reset(w.tasks, s.n);
    static const green_hub_ops ops = { .warm = joinall_warm, .run = joinall_timed, .after = joinall_after };
    green_hub *hubs;
    if (green_hubs_run(p, r, s.n, 0, &ops, &w, &hubs) == 0) {
        long long peak = 0;
        for (long long i = 0; i < p->hubs; i++)
            peak += hubs[i].peak;
        r->ops = s.n;
        rc = fetch_tally(&s, w.tasks, s.n, r);
        fetch_note_reconnects(w.tasks, s.n, r);
        if (fetch_check_in_flight(&s, r, peak) != 0)
            rc = -1;
    }
    free(hubs);
fail_alloc:
    free(w.tasks);
    free(w.g);
    fetch_setup_close(&s);
    return r->ok ? rc : -1;
}
