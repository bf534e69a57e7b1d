/* workloads/spawn/threads.c: the spawn workloads, thread side.
 *   spawn        N trivial pthreads, created then joined: pthread_create +
 *                pthread_join per task, ns_per_op = wall / N. Where N is
 *                more than the machine allows alive at once (pid_max,
 *                threads-max, RLIMIT_NPROC, vm.max_map_count: a stack and
 *                its guard are two mappings), in batches of half that, and the
 *                note says so.
 *   spawn-alive  all N alive and blocked at once on one gate; then the gate
 *                opens and all are joined. rss_per_task_bytes is the growth
 *                of resident memory while all N were alive, over N.
 * Both with --stack-kib stacks (default: the C library's). */
#include "cell.h"
#include "sysinfo.h"
#include "threads_common.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEFAULT_N 10000
#define DEFAULT_ALIVE_N 1000
#define WARMUP 1000

static atomic_llong ran;

static void *trivial(void *arg)
{
    atomic_fetch_add_explicit(&ran, 1, memory_order_relaxed);
    return arg;
}

/* Create and join n threads, at most batch of them at a time. */
static int create_join(long long n, long long batch, pthread_t *threads, const pthread_attr_t *attr,
                       cell_result *r)
{
    for (long long done = 0; done < n; done += batch) {
        long long b = n - done < batch ? n - done : batch, created;
        int err = 0;
        for (created = 0; created < b; created++) {
            err = pthread_create(&threads[created], attr, trivial, NULL);
            if (err != 0)
                break;
        }
        for (long long i = 0; i < created; i++)
            pthread_join(threads[i], NULL);
        if (err != 0)
            return threads_create_failed(r, err, done + created);
    }
    return 0;
}

int spawn_threads(cell_params *p, cell_result *r)
{
    threads_ignore_hubs(p);
    if (cell_take_n(p, r, DEFAULT_N, "spawn needs at least one task") != 0)
        return -1;
    long long n = p->n;
    pthread_attr_t attr;
    if (threads_attr_init(&attr, p, r, 0) != 0)
        return -1;
    char limit[256];
    long long room = sys_thread_room(limit, sizeof limit);
    if (room < 1) {
        pthread_attr_destroy(&attr);
        return cell_fail(r, "no room for a single more thread: %s", limit);
    }
    /* Past what may be alive at once, batches of half of it: the other
     * half stays for the rest of the machine (the harness, the shell). */
    long long batch = n <= room ? n : room / 2 > 0 ? room / 2 : 1;
    pthread_t *threads = malloc((size_t)batch * sizeof *threads);
    if (threads == NULL) {
        pthread_attr_destroy(&attr);
        return cell_fail(r, "out of memory for %lld thread ids", batch);
    }
    memset(threads, 0, (size_t)batch * sizeof *threads);

    int rc = -1;
    /* Warm-up: the C library keeps a cache of freed thread stacks. */
    if (create_join(n < WARMUP ? n : WARMUP, batch, threads, &attr, r) != 0)
        goto done;
    atomic_store(&ran, 0);
    cell_measure_begin(r);
    int ok = create_join(n, batch, threads, &attr, r);
    cell_measure_end(r);
    if (ok != 0)
        goto done;
    r->ops = n;
    r->tasks_completed = atomic_load(&ran);
    r->errors = n - r->tasks_completed;
    if (batch < n) {
        static char note[384];
        snprintf(note, sizeof note, "In batches of %lld threads (created, then joined): half of what %s "
                 "allows alive at once.", batch, limit);
        r->note = note;
    }
    rc = r->tasks_completed == n ? 0 : cell_fail(r, "%lld of %lld threads ran", r->tasks_completed, n);
done:
    free(threads);
    pthread_attr_destroy(&attr);
    return rc;
}

/* ---- spawn-alive ---- */

typedef struct gate {
    pthread_mutex_t lock;
    pthread_cond_t all_started, opened;
    long long started, n;
    int open;
} gate;

static void *wait_at_gate(void *arg)
{
    gate *g = arg;
    pthread_mutex_lock(&g->lock);
    if (++g->started == g->n)
        pthread_cond_signal(&g->all_started);
    while (!g->open)
        pthread_cond_wait(&g->opened, &g->lock);
    pthread_mutex_unlock(&g->lock);
    return NULL;
}

static void open_gate(gate *g)
{
    pthread_mutex_lock(&g->lock);
    g->open = 1;
    pthread_cond_broadcast(&g->opened);
    pthread_mutex_unlock(&g->lock);
}

/* Wait, up to 60 s, for every thread to reach the gate. Returns how many did. */
static long long await_started(gate *g)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 60;
    pthread_mutex_lock(&g->lock);
    while (g->started < g->n) {
        if (pthread_cond_timedwait(&g->all_started, &g->lock, &until) == ETIMEDOUT)
            break;
    }
    long long started = g->started;
    pthread_mutex_unlock(&g->lock);
    return started;
}

int spawn_alive_threads(cell_params *p, cell_result *r)
{
    threads_ignore_hubs(p);
    if (cell_take_n(p, r, DEFAULT_ALIVE_N, "spawn-alive needs at least one task") != 0)
        return -1;
    long long n = p->n;
    if (threads_check_room(n + 1, "spawn-alive (all N at once)", r) != 0)
        return -1;
    pthread_attr_t attr;
    if (threads_attr_init(&attr, p, r, 0) != 0)
        return -1;
    pthread_t *threads = calloc((size_t)n, sizeof *threads);
    if (threads == NULL) {
        pthread_attr_destroy(&attr);
        return cell_fail(r, "out of memory for %lld thread ids", n);
    }
    int rc = -1;
    gate g = { .n = n };
    pthread_mutex_init(&g.lock, NULL);
    pthread_cond_init(&g.all_started, NULL);
    pthread_cond_init(&g.opened, NULL);

    long long rss_before = sys_rss_bytes(), created, started = 0, rss_alive = -1;
    int err = 0;
    cell_measure_begin(r);
    for (created = 0; created < n; created++) {
        err = pthread_create(&threads[created], &attr, wait_at_gate, &g);
        if (err != 0)
            break;
    }
    if (err == 0) {
        started = await_started(&g);
        rss_alive = sys_rss_bytes();
    }
    open_gate(&g);
    for (long long i = 0; i < created; i++)
        pthread_join(threads[i], NULL);
    cell_measure_end(r);

    r->ops = n;
    r->tasks_completed = started;
    r->errors = n - started;
    if (err != 0) {
        threads_create_failed(r, err, created);
        goto done;
    }
    if (started != n) {
        cell_fail(r, "only %lld of %lld threads reached the gate within 60 s", started, n);
        goto done;
    }
    if (rss_before >= 0 && rss_alive >= 0)
        r->rss_per_task_bytes = rss_alive > rss_before ? (rss_alive - rss_before) / n : 0;
    r->note = "RSS counts the threads' stack pages touched and the C library's per-thread memory; "
              "the kernel's own per-thread memory (kernel stack, task_struct) is not in RSS.";
    rc = 0;
done:
    pthread_cond_destroy(&g.opened);
    pthread_cond_destroy(&g.all_started);
    pthread_mutex_destroy(&g.lock);
    free(threads);
    pthread_attr_destroy(&attr);
    return rc;
}
