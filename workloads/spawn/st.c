/* workloads/spawn/st.c: the spawn workloads of the State Threads peer.
 *   spawn        --n trivial joinable st threads: st_thread_create each, then
 *                st_thread_join each; ns_per_op = wall / N. ST runs a new
 *                thread once its creator blocks (here, in the first join).
 *   spawn-alive  all --n alive at once, each blocked in st_cond_wait on one
 *                gate; rss_per_task_bytes is the growth of resident memory
 *                while all were alive, over N. Then the gate opens (one
 *                st_cond_broadcast) and all are joined.
 * Stacks: --stack-kib (default 64 KiB, ST's own), mmap'd by ST without a
 * guard page and kept on its free list when a thread ends. */
#include "cell.h"
#include "st_peer.h"
#include "sysinfo.h"

#include <st.h>
#include <stdlib.h>

#define DEFAULT_N 10000
#define DEFAULT_ALIVE_N 1000
#define WARMUP 1000

static long long ran;

static void *trivial(void *arg)
{
    ran++;
    return arg;
}

/* Create n threads, then join them all, then let them end. Returns how
 * many were created. */
static long long create_join(st_thread_t *threads, long long n, int stack)
{
    long long created;
    for (created = 0; created < n; created++) {
        threads[created] = st_thread_create(trivial, NULL, 1, stack);
        if (threads[created] == NULL)
            break;
    }
    for (long long i = 0; i < created; i++)
        st_thread_join(threads[i], NULL);
    /* A joined ST thread ends, and its stack goes to the free list, only
     * when it runs again: without this the timed part left the N threads'
     * teardown out (green's and the threads' spawn include it), and the
     * warm-up's stacks were never free for the timed part to reuse. */
    st_usleep(0);
    return created;
}

int spawn_st(cell_params *p, cell_result *r)
{
    if (p->n < 0)
        p->n = DEFAULT_N;
    long long n = p->n;
    if (n == 0)
        return cell_fail(r, "--n=0: spawn needs at least one task");
    int stack = st_peer_init(p, r);
    if (stack < 0)
        return -1;
    r->switch_used = "st";
    st_thread_t *threads = calloc((size_t)n, sizeof *threads);
    if (threads == NULL)
        return cell_fail(r, "out of memory for %lld thread handles", n);
    long long warm = n < WARMUP ? n : WARMUP;
    if (create_join(threads, warm, stack) != warm) {
        free(threads);
        return cell_fail(r, "st_thread_create failed in the warm-up");
    }
    ran = 0;
    cell_measure_begin(r);
    long long created = create_join(threads, n, stack);
    cell_measure_end(r);
    free(threads);
    r->ops = n;
    r->tasks_completed = ran;
    r->errors = n - ran;
    r->note =
        "st_thread_create (joinable) then st_thread_join, then one st_usleep(0) so that the joined "
        "threads end: all N stacks exist at once; ST reuses the stacks of ended threads (the warm-up's "
        "first).";
    if (created != n)
        return cell_fail(r, "st_thread_create failed after %lld threads (out of memory for %lld KiB stacks?)",
                         created, p->stack_kib);
    if (ran != n)
        return cell_fail(r, "%lld of %lld st threads ran", ran, n);
    return 0;
}

/* ---- spawn-alive ---- */

typedef struct gate {
    st_cond_t all_started, opened;
    long long started, n;
    int open;
} gate;

static void *wait_at_gate(void *arg)
{
    gate *g = arg;
    if (++g->started == g->n)
        st_cond_signal(g->all_started);
    while (!g->open)
        st_cond_wait(g->opened);
    return NULL;
}

int spawn_alive_st(cell_params *p, cell_result *r)
{
    if (p->n < 0)
        p->n = DEFAULT_ALIVE_N;
    long long n = p->n;
    if (n == 0)
        return cell_fail(r, "--n=0: spawn-alive needs at least one task");
    int stack = st_peer_init(p, r);
    if (stack < 0)
        return -1;
    r->switch_used = "st";
    st_thread_t *threads = calloc((size_t)n, sizeof *threads);
    gate g = { .all_started = st_cond_new(), .opened = st_cond_new(), .n = n };
    if (threads == NULL || g.all_started == NULL || g.opened == NULL) {
        cell_fail(r, "out of memory for %lld thread handles", n);
        goto done;
    }
    long long rss_before = sys_rss_bytes(), rss_alive = -1, created;
    cell_measure_begin(r);
    for (created = 0; created < n; created++) {
        threads[created] = st_thread_create(wait_at_gate, &g, 1, stack);
        if (threads[created] == NULL)
            break;
    }
    if (created == n) {
        /* 60 s at most, in microseconds. */
        while (g.started < n && st_cond_timedwait(g.all_started, 60LL * 1000 * 1000) == 0)
            ;
        if (g.started == n)
            rss_alive = sys_rss_bytes();
    }
    g.open = 1;
    st_cond_broadcast(g.opened);
    for (long long i = 0; i < created; i++)
        st_thread_join(threads[i], NULL);
    cell_measure_end(r);

    r->ops = n;
    r->tasks_completed = g.started;
    r->errors = n - g.started;
    r->note = "RSS counts the pages of each thread's stack that ST and the thread touched (its thread record "
              "sits at the top of its stack).";
    if (created != n)
        cell_fail(r, "st_thread_create failed after %lld threads (out of memory for %lld KiB stacks?)",
                  created, p->stack_kib);
    else if (g.started != n)
        cell_fail(r, "only %lld of %lld st threads reached the gate within 60 s", g.started, n);
    else if (rss_before >= 0 && rss_alive >= 0)
        r->rss_per_task_bytes = rss_alive > rss_before ? (rss_alive - rss_before) / n : 0;
done:
    if (g.all_started != NULL)
        st_cond_destroy(g.all_started);
    if (g.opened != NULL)
        st_cond_destroy(g.opened);
    free(threads);
    return r->ok ? 0 : -1;
}
