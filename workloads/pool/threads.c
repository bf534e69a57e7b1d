/* workloads/pool/threads.c: the pool workload, thread side: K worker
 * pthreads take the N requests from a shared queue (a mutex and an index),
 * each fetching --url over a new connection with the blocking HTTP client;
 * never more than K in flight. With --keepalive=1 each worker keeps one
 * connection for all its requests (closed after the timed part). ns_per_op
 * is wall / N; the workers' creation and joining are inside the timed part,
 * as a pool's life is. */
#include "cell.h"
#include "fetch.h"
#include "threads_common.h"

#include <stdlib.h>

typedef struct pool_queue {
    pthread_mutex_t lock;
    long long next, n;          /* Next task to hand out, and how many there are. */
    fetch_task *tasks;
    const http_target *target;
    const http_io *io;
    bool keepalive;
    fetch_gauge gauge;
} pool_queue;

/* One worker: the queue, and the connection it keeps (--keepalive=1), its
 * own until the caller closes it after joining it. */
typedef struct pool_worker {
    pthread_t thread;
    pool_queue *q;
    http_conn conn;
} pool_worker;

static void *worker(void *arg)
{
    pool_worker *me = arg;
    pool_queue *q = me->q;
    FETCH_THREAD_SCRATCH(scratch);
    for (;;) {
        pthread_mutex_lock(&q->lock);
        long long i = q->next < q->n ? q->next++ : -1;
        pthread_mutex_unlock(&q->lock);
        if (i < 0)
            return NULL;
        fetch_task *t = &q->tasks[i];
        fetch_gauge_enter(&q->gauge);
        if (q->keepalive)
            t->err = http_fetch_keep(q->io, q->target, &me->conn, scratch, sizeof scratch, &t->res);
        else
            t->err = http_fetch(q->io, q->target, scratch, sizeof scratch, &t->res);
        fetch_gauge_leave(&q->gauge);
    }
}

/* Close the connections the workers kept. */
static void close_workers(pool_worker *workers, long long k)
{
    for (long long i = 0; i < k; i++)
        http_conn_close(workers[i].q->io, &workers[i].conn);
}

/* Run n tasks through k workers. Returns 0, or -1 with r failed when a
 * worker could not be created (the others finish the queue first). The
 * connections they kept stay open in workers[] (close_workers). */
static int run_pool(pool_queue *q, long long n, pool_worker *workers, long long k,
                    const pthread_attr_t *attr, cell_result *r)
{
    q->next = 0;
    q->n = n;
    for (long long i = 0; i < k; i++)
        workers[i] = (pool_worker){ .q = q, .conn = HTTP_CONN_NONE };
    long long created;
    int err = 0;
    for (created = 0; created < k; created++) {
        err = pthread_create(&workers[created].thread, attr, worker, &workers[created]);
        if (err != 0)
            break;
    }
    for (long long i = 0; i < created; i++)
        pthread_join(workers[i].thread, NULL);
    if (err != 0)
        return threads_create_failed(r, err, created);
    return 0;
}

int pool_threads(cell_params *p, cell_result *r)
{
    threads_ignore_hubs(p);
    fetch_setup s;
    if (fetch_setup_init(&s, p, r, true, &fetch_blocking) != 0)
        return -1;
    int rc = -1;
    pthread_attr_t attr;
    pool_worker *workers = NULL;
    pool_queue q = { .target = &s.target, .io = s.io, .keepalive = s.keepalive };
    pthread_mutex_init(&q.lock, NULL);
    if (threads_check_room(s.k + 1, "a pool of --concurrency threads", r) != 0)
        goto fail_setup;
    if (threads_attr_init(&attr, p, r, FETCH_THREAD_MIN_STACK_KIB(&s)) != 0)
        goto fail_setup;
    q.tasks = calloc((size_t)s.n, sizeof *q.tasks);
    workers = calloc((size_t)s.k, sizeof *workers);
    if (q.tasks == NULL || workers == NULL) {
        cell_fail(r, "out of memory for %lld tasks", s.n);
        goto fail_alloc;
    }

    /* Warm-up: a few requests through a small pool, untimed; the
     * connections it kept closed, so that the timed part opens its own. */
    long long warm = s.n < FETCH_WARMUP ? s.n : FETCH_WARMUP;
    long long warm_k = s.k < warm ? s.k : warm;
    fetch_tasks_reset(q.tasks, warm);
    int warm_ok = run_pool(&q, warm, workers, warm_k, &attr, r);
    close_workers(workers, warm_k);
    if (warm_ok != 0 || fetch_tally(&s, q.tasks, warm, r) != 0)
        goto fail_alloc;
    fetch_tasks_reset(q.tasks, s.n);
    atomic_store(&q.gauge.peak, 0);

    cell_measure_begin(r);
    int created_ok = run_pool(&q, s.n, workers, s.k, &attr, r);
    cell_measure_end(r);
    close_workers(workers, s.k);
    if (created_ok != 0)
        goto fail_alloc;

    r->ops = s.n;
    rc = fetch_tally(&s, q.tasks, s.n, r);
    fetch_note_reconnects(q.tasks, s.n, r);
    if (fetch_check_in_flight(&s, r, atomic_load(&q.gauge.peak)) != 0)
        rc = -1;
fail_alloc:
    free(q.tasks);
    free(workers);
    pthread_attr_destroy(&attr);
fail_setup:
    pthread_mutex_destroy(&q.lock);
    fetch_setup_close(&s);
    return rc;
}
