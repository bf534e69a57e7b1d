/* workloads/pool/green.c: the pool workload, green side: the N fetches of
 * joinall through a green pool of K (gevent.pool.Pool): green_pool_spawn
 * waits while K are running, so never more than K are in flight. With
 * --keepalive=1 the hub keeps a free list of at most K connections that a
 * task takes (or opens one when it is empty) and gives back; with
 * --hubs=H, H hubs (threads, CPUs) each run a pool of K / H on N / H
 * tasks. ns_per_op is wall / N. */
#include "cell.h"
#include "fetch.h"
#include "green_common.h"

#include <stdio.h>
#include <stdlib.h>

typedef struct pool_work {
    const fetch_setup *s;
    fetch_task *tasks;
    http_conn *conns;           /* The hubs' free lists: hub i's from conns + its first k. */
    long long *conn_first;      /* Where each hub's list starts in conns. */
} pool_work;

/* Run n tasks through a pool of k. Returns 0 or -1 with r failed; *pool_peak
 * gets the pool's own count of the most running at once. */
static int run_pool(green_hub *h, fetch_task *tasks, long long n, long long k, int timed, size_t *pool_peak)
{
    cell_result *r = h->r;
    fetch_tasks_reset(tasks, n);
    green_fetch.peak = 0;
    *pool_peak = 0;
    if (n == 0) {               /* A hub with no share of the tasks. */
        if (timed) {
            green_hub_begin(h);
            green_hub_end(h);
        }
        return 0;
    }
    green_pool *pool;
    int err = green_pool_new(&pool, (size_t)k);
    if (err != 0)
        return cell_fail(r, "green_pool_new(%lld): %s", k, green_strerror(err));
    if (timed)
        green_hub_begin(h);
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
        green_hub_end(h);
    *pool_peak = green_pool_peak(pool);
    if (joined == 0)
        green_pool_free(pool);
    if (err != 0)
        return cell_fail(r, "green_pool_spawn failed after %lld green threads: %s", spawned, green_strerror(err));
    if (joined != 0)
        return cell_fail(r, "green_pool_join: %s", green_strerror(joined));
    return 0;
}

/* The pool's free list of kept connections (keep-alive): empty. */
static void free_list_init(green_hub *h)
{
    const pool_work *w = h->work;
    green_fetch.free_conns = w->conns + w->conn_first[h->index];
    green_fetch.nfree = 0;
}

/* Untimed: a few requests through a small pool, checked; their connections
 * closed, so that the timed part opens its own. */
static int pool_warm(green_hub *h)
{
    const pool_work *w = h->work;
    green_fetch.target = &w->s->target;
    green_fetch.io = w->s->io;
    green_fetch.keep = w->s->keepalive ? GREEN_FETCH_KEEP_SHARED : GREEN_FETCH_CLOSE;
    free_list_init(h);
    fetch_task *tasks = w->tasks + h->first;
    long long warm = h->n < FETCH_WARMUP ? h->n : FETCH_WARMUP;
    size_t pool_peak;
    int rc = run_pool(h, tasks, warm, h->k < warm ? h->k : warm, 0, &pool_peak);
    if (rc == 0)
        rc = fetch_tally(w->s, tasks, warm, h->r);
    green_fetch_close_free();
    return rc;
}

static int pool_timed(green_hub *h)
{
    const pool_work *w = h->work;
    free_list_init(h);
    int rc = run_pool(h, w->tasks + h->first, h->n, h->k, 1, &h->pool_peak);
    h->peak = green_fetch.peak;
    return rc;
}

static void pool_after(green_hub *h)
{
    (void)h;
    green_fetch_close_free();
}

int pool_green(cell_params *p, cell_result *r)
{
    fetch_setup s;
    if (green_common_hubs_check(p, r) != 0 || fetch_setup_init(&s, p, r, true, &green_fetch_flavour) != 0)
        return -1;
    if (p->concurrency < p->hubs) {
        fetch_setup_close(&s);
        return cell_usage_error(
            r,
            "--concurrency=%lld: fewer than the %lld hubs (--hubs), each of which runs a pool of "
            "its own share",
            p->concurrency, p->hubs);
    }
    int rc = -1;
    /* Each hub's pool: k / H, the remainder one each to the first hubs
     * (green_hubs_run splits it so), at least one. */
    pool_work w = { .s = &s,
                    .tasks = calloc((size_t)s.n, sizeof *w.tasks),
                    .conns = calloc((size_t)s.k, sizeof *w.conns),
                    .conn_first = calloc((size_t)p->hubs, sizeof *w.conn_first) };
    if (w.tasks == NULL || w.conns == NULL || w.conn_first == NULL) {
        cell_fail(r, "out of memory for %lld tasks", s.n);
        goto fail_alloc;
    }
    for (long long i = 1; i < p->hubs; i++)
        w.conn_first[i] = w.conn_first[i - 1] + s.k / p->hubs + (i - 1 < s.k % p->hubs);
    static const green_hub_ops ops = { .warm = pool_warm, .run = pool_timed, .after = pool_after };
    green_hub *hubs;
    if (green_hubs_run(p, r, s.n, s.k, &ops, &w, &hubs) == 0) {
        long long peak = 0;
        for (long long i = 0; i < p->hubs; i++)
            peak += hubs[i].peak;
        r->ops = s.n;
        rc = fetch_tally(&s, w.tasks, s.n, r);
        fetch_note_reconnects(w.tasks, s.n, r);
        /* The line says the sum; each hub is checked against its own share. */
        if (fetch_check_in_flight(&s, r, peak) != 0)
            rc = -1;
        for (long long i = 0; i < p->hubs && r->ok; i++) {
            const green_hub *h = &hubs[i];
            long long k = h->k < h->n ? h->k : h->n;
            char who[32] = "";
            if (p->hubs > 1)
                snprintf(who, sizeof who, "hub %lld: ", i);
            if (h->peak > k)
                rc = cell_fail(r, "%s%lld requests were in flight at once, more than the %lld allowed", who,
                               h->peak, k);
            else if ((long long)h->pool_peak > k)
                rc = cell_fail(r, "%sgreen_pool_peak says %zu ran at once in a pool of %lld", who,
                               h->pool_peak, k);
        }
    }
    free(hubs);
fail_alloc:
    free(w.tasks);
    free(w.conns);
    free(w.conn_first);
    fetch_setup_close(&s);
    return r->ok ? rc : -1;
}
