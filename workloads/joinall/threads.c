/* workloads/joinall/threads.c: the joinall workload, thread side: one
 * pthread per request, each fetching --url once over a new connection with
 * the blocking HTTP client (--tls=1: blocking OpenSSL, an SSL per
 * connection), then every thread joined. With --keepalive=1
 * each asks to keep its connection and leaves it open (closed after the
 * timed part). ns_per_op is wall / N, so that 1e9 / ns_per_op is requests
 * per second. */
#include "cell.h"
#include "fetch.h"
#include "threads_common.h"

#include <stdlib.h>

/* What every thread shares: written before the threads start, read-only
 * after but for the gauge. */
static struct {
    const http_target *target;
    const http_io *io;
    bool keepalive;
    fetch_gauge gauge;
} J;

static void *fetch_thread(void *arg)
{
    fetch_task *t = arg;
    FETCH_THREAD_SCRATCH(scratch);
    fetch_gauge_enter(&J.gauge);
    if (J.keepalive)
        t->err = http_fetch_keep(J.io, J.target, &t->conn, scratch, sizeof scratch, &t->res);
    else
        t->err = http_fetch(J.io, J.target, scratch, sizeof scratch, &t->res);
    fetch_gauge_leave(&J.gauge);
    return NULL;
}

/* Start one thread per task, then join them all. Returns 0, or -1 with r
 * failed if a thread could not be created (those that were are joined). */
static int run_all(fetch_task *tasks, pthread_t *threads, long long n, const pthread_attr_t *attr,
                   cell_result *r)
{
    long long created;
    int err = 0;
    for (created = 0; created < n; created++) {
        err = pthread_create(&threads[created], attr, fetch_thread, &tasks[created]);
        if (err != 0)
            break;
    }
    for (long long i = 0; i < created; i++)
        pthread_join(threads[i], NULL);
    if (err != 0)
        return threads_create_failed(r, err, created);
    return 0;
}

int joinall_threads(cell_params *p, cell_result *r)
{
    threads_ignore_hubs(p);
    fetch_setup s;
    if (fetch_setup_init(&s, p, r, false, &fetch_blocking) != 0)
        return -1;
    int rc = -1;
    pthread_attr_t attr;
    fetch_task *tasks = NULL;
    pthread_t *threads = NULL;
    if (threads_check_room(s.n + 1, "one thread per request", r) != 0)
        goto fail_setup;
    if (threads_attr_init(&attr, p, r, FETCH_THREAD_MIN_STACK_KIB(&s)) != 0)
        goto fail_setup;
    tasks = calloc((size_t)s.n, sizeof *tasks);
    threads = calloc((size_t)s.n, sizeof *threads);
    if (tasks == NULL || threads == NULL) {
        cell_fail(r, "out of memory for %lld tasks", s.n);
        goto fail_alloc;
    }
    J.target = &s.target;
    J.io = s.io;
    J.keepalive = s.keepalive;

    /* Warm-up: a few requests the same way, untimed; the connections it
     * kept closed. */
    long long warm = s.n < FETCH_WARMUP ? s.n : FETCH_WARMUP;
    fetch_tasks_reset(tasks, s.n);
    int warm_ok = run_all(tasks, threads, warm, &attr, r);
    fetch_tasks_close(&s, tasks, warm);
    if (warm_ok != 0 || fetch_tally(&s, tasks, warm, r) != 0)
        goto fail_alloc;
    fetch_tasks_reset(tasks, s.n);
    atomic_store(&J.gauge.peak, 0);

    cell_measure_begin(r);
    int created_ok = run_all(tasks, threads, s.n, &attr, r);
    cell_measure_end(r);
    fetch_tasks_close(&s, tasks, s.n);
    if (created_ok != 0)
        goto fail_alloc;

    r->ops = s.n;
    rc = fetch_tally(&s, tasks, s.n, r);
    fetch_note_reconnects(tasks, s.n, r);
    if (fetch_check_in_flight(&s, r, atomic_load(&J.gauge.peak)) != 0)
        rc = -1;
fail_alloc:
    free(tasks);
    free(threads);
    pthread_attr_destroy(&attr);
fail_setup:
    fetch_setup_close(&s);
    return rc;
}
