/* workloads/spawn/green.c: the spawn workloads, green side.
 *   spawn        spawn N trivial green threads, green_joinall them, release
 *                the handles: creation + scheduling + teardown per task,
 *                ns_per_op = wall / N. A pass of the same N first, so that
 *                the timed one measures the runtime, not the kernel's
 *                first-touch page faults on fresh memory; with one hub
 *                that first pass is timed too, as cold_ns_per_op: the
 *                first N of a fresh process, page faults included, as a
 *                program sees it (its own handle array aside). With
 *                --hubs=H, H hubs (threads, CPUs) take N / H each.
 *   spawn-alive  N green threads alive at once, each blocked on one event;
 *                rss_per_task_bytes is the growth of resident memory while
 *                all are alive, over N (stacks' touched pages, records).
 *                No warm-up: that would make the memory resident beforehand. */
#include "cell.h"
#include "green_common.h"
#include "sysinfo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_N 10000
#define DEFAULT_ALIVE_N 1000

/* The hub's count of the tasks that ran is the argument: no shared counter
 * between hubs. */
static void *trivial(void *arg)
{
    ++*(long long *)arg;
    return arg;
}

/* Spawn the hub's share of the tasks, joinall, release. Returns 0 or -1
 * with h->r failed. */
static int spawn_join(green_hub *h, int timed)
{
    green_thread **g = (green_thread **)h->work + h->first;
    long long n = h->n;
    h->ran = 0;
    if (timed)
        green_hub_begin(h);
    long long spawned;
    int err = 0;
    for (spawned = 0; spawned < n; spawned++) {
        err = green_spawn(&g[spawned], trivial, &h->ran);
        if (err != 0)
            break;
    }
    int ended = green_joinall(g, (size_t)spawned, GREEN_JOIN_BOUND_S);
    for (long long i = 0; i < spawned; i++)
        green_release(g[i]);
    if (timed)
        green_hub_end(h);
    if (err != 0)
        return cell_fail(h->r, "green_spawn failed after %lld green threads: %s", spawned,
                         green_strerror(err));
    if (ended != (int)spawned)
        return cell_fail(h->r, "green_joinall: %s", ended < 0 ? green_strerror(ended) : "timed out");
    return 0;
}

static int spawn_warm(green_hub *h)
{
    long long t0 = cell_now_ns();
    int err = spawn_join(h, 0);
    if (err == 0 && h->count == 1)
        h->r->cold_wall_ns = cell_now_ns() - t0;
    return err;
}

static int spawn_timed(green_hub *h)
{
    return spawn_join(h, 1);
}

int spawn_green(cell_params *p, cell_result *r)
{
    if (cell_take_n(p, r, DEFAULT_N, "spawn needs at least one task") != 0)
        return -1;
    if (p->n > 0x7fffffff)
        return cell_usage_error(r, "--n=%lld: at most %d (green_joinall counts in an int)", p->n, 0x7fffffff);
    if (green_common_hubs_check(p, r) != 0)
        return -1;
    long long n = p->n;
    green_thread **g = malloc((size_t)n * sizeof *g);
    if (g == NULL)
        return cell_fail(r, "out of memory for %lld handles", n);
    memset(g, 0, (size_t)n * sizeof *g);
    static const green_hub_ops ops = { .warm = spawn_warm, .run = spawn_timed };
    green_hub *hubs;
    if (green_hubs_run(p, r, n, 0, &ops, g, &hubs) == 0) {
        long long ran = 0;
        for (long long i = 0; i < p->hubs; i++)
            ran += hubs[i].ran;
        r->ops = n;
        r->tasks_completed = ran;
        r->errors = n - ran;
        if (ran != n)
            cell_fail(r, "%lld of %lld green threads ran", ran, n);
    }
    free(hubs);
    free(g);
    return r->ok ? 0 : -1;
}

/* ---- spawn-alive ---- */

static green_event *gate;
static long long started, woke;

static void *wait_at_gate(void *arg)
{
    started++;
    /* Bounded: main opens the gate as soon as all have started. */
    if (green_event_wait(gate, GREEN_JOIN_BOUND_S) == 0)
        woke++;
    return arg;
}

int spawn_alive_green(cell_params *p, cell_result *r)
{
    if (cell_take_n(p, r, DEFAULT_ALIVE_N, "spawn-alive needs at least one task") != 0 ||
        green_common_one_hub(p, r) != 0)
        return -1;
    if (p->n > 0x7fffffff)
        return cell_usage_error(r, "--n=%lld: at most %d (green_joinall counts in an int)", p->n, 0x7fffffff);
    long long n = p->n;
    char limit[256];
    long long room = sys_stack_room(limit, sizeof limit);
    if (n > room)
        return cell_fail(r, "spawn-alive needs %lld stacks mapped at once, but this process may map about %lld more: %s",
                         n, room, limit);
    green_thread **g = malloc((size_t)n * sizeof *g);
    if (g == NULL)
        return cell_fail(r, "out of memory for %lld handles", n);
    memset(g, 0, (size_t)n * sizeof *g);
    if (green_common_init(p, r) != 0) {
        free(g);
        return -1;
    }
    int err = green_event_new(&gate);
    if (err != 0) {
        cell_fail(r, "green_event_new: %s", green_strerror(err));
        goto done;
    }
    started = woke = 0;
    long long rss_before = sys_rss_bytes(), rss_alive = -1, spawned;
    cell_measure_begin(r);
    for (spawned = 0; spawned < n; spawned++) {
        err = green_spawn(&g[spawned], wait_at_gate, NULL);
        if (err != 0)
            break;
    }
    /* Each yield runs every runnable green thread once: one is enough for
     * all to reach the gate; a few more are cheap insurance. */
    for (int i = 0; i < 4 && started < spawned; i++)
        green_yield();
    long long alive = started;
    if (alive == spawned)
        rss_alive = sys_rss_bytes();
    green_event_set(gate);
    int ended = green_joinall(g, (size_t)spawned, GREEN_JOIN_BOUND_S);
    for (long long i = 0; i < spawned; i++)
        green_release(g[i]);
    cell_measure_end(r);
    green_event_free(gate);

    r->ops = n;
    r->tasks_completed = woke;
    r->errors = n - woke;
    if (err != 0) {
        cell_fail(r, "green_spawn failed after %lld green threads: %s", spawned, green_strerror(err));
    } else if (alive != n) {
        green_stats st;
        green_stats_get(&st);
        cell_fail(r, "only %lld of %lld green threads started (%zu stacks at most: %s)", alive, n,
                  st.stacks_peak, limit);
    } else if (ended != (int)n) {
        cell_fail(r, "green_joinall: %s", ended < 0 ? green_strerror(ended) : "timed out");
    } else if (woke != n) {
        cell_fail(r, "%lld of %lld green threads woke from the gate", woke, n);
    } else if (rss_before >= 0 && rss_alive >= 0) {
        r->rss_per_task_bytes = rss_alive > rss_before ? (rss_alive - rss_before) / n : 0;
    }
done:
    green_common_fini(r);
    free(g);
    return r->ok ? 0 : -1;
}
