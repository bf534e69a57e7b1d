/* tests/test_sync.c: libgreen's events, semaphores, bounded queues and pools.
 * Linked once per (context, loop) pair (ctest: sync-<ctx>-<loop>). */
#include "green.h"
#include "green_fixture.h"

#include <CUnit/CUnit.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void join_release_all(green_thread **g, size_t n)
{
    CU_ASSERT_EQUAL(green_joinall(g, n, 10.0), (int)n);
    for (size_t i = 0; i < n; i++)
        green_release(g[i]);
}

/* ---- events ---- */

typedef struct {
    green_event *e;
    double timeout;
    int rc;
    int done;
} ev_waiter;

static void *event_waiter(void *arg)
{
    ev_waiter *w = arg;
    w->rc = green_event_wait(w->e, w->timeout);
    w->done = 1;
    return NULL;
}

static void test_event_wakes_all(void)
{
    green_event *e;
    CU_ASSERT_EQUAL_FATAL(green_event_new(&e), 0);
    CU_ASSERT_FALSE(green_event_is_set(e));
    enum { N = 5 };
    ev_waiter w[N];
    green_thread *g[N];
    for (int i = 0; i < N; i++) {
        w[i] = (ev_waiter){ .e = e, .timeout = GREEN_FOREVER, .rc = 99 };
        CU_ASSERT_EQUAL_FATAL(green_spawn(&g[i], event_waiter, &w[i]), 0);
    }
    CU_ASSERT_EQUAL(green_sleep(0.005), 0);
    for (int i = 0; i < N; i++)
        CU_ASSERT_EQUAL(w[i].done, 0);          /* All still waiting. */
    CU_ASSERT_EQUAL(green_event_free(e), GREEN_EBUSY);
    green_event_set(e);
    CU_ASSERT_TRUE(green_event_is_set(e));
    join_release_all(g, N);
    for (int i = 0; i < N; i++)
        CU_ASSERT_EQUAL(w[i].rc, 0);
    /* Set: waits return at once, even with timeout 0. */
    CU_ASSERT_EQUAL(green_event_wait(e, 0), 0);
    green_event_clear(e);
    CU_ASSERT_FALSE(green_event_is_set(e));
    CU_ASSERT_EQUAL(green_event_wait(e, 0), GREEN_ETIMEDOUT);
    CU_ASSERT_EQUAL(green_event_free(e), 0);
}

static void test_event_timeout_and_kill(void)
{
    green_event *e;
    CU_ASSERT_EQUAL_FATAL(green_event_new(&e), 0);
    ev_waiter a = { .e = e, .timeout = 0.02 }, b = { .e = e, .timeout = GREEN_FOREVER };
    green_thread *g[2];
    double t0 = green_now();
    CU_ASSERT_EQUAL_FATAL(green_spawn(&g[0], event_waiter, &a), 0);
    CU_ASSERT_EQUAL_FATAL(green_spawn(&g[1], event_waiter, &b), 0);
    CU_ASSERT_EQUAL(green_join(g[0], 2.0, NULL), 0);
    CU_ASSERT(green_now() - t0 >= 0.02);
    CU_ASSERT_EQUAL(a.rc, GREEN_ETIMEDOUT);
    CU_ASSERT_EQUAL(b.done, 0);
    CU_ASSERT_EQUAL(green_kill(g[1]), 0);
    CU_ASSERT_EQUAL(green_join(g[1], 2.0, NULL), 0);
    CU_ASSERT_EQUAL(b.rc, GREEN_ECANCELED);
    green_release(g[0]);
    green_release(g[1]);
    CU_ASSERT_EQUAL(green_event_free(e), 0);    /* No waiter left behind. */
}

/* ---- semaphores ---- */

typedef struct {
    green_sem *s;
    double timeout;
    int id;
    int rc;
    int *order;
    int *norder;
} sem_user;

static void *sem_acquirer(void *arg)
{
    sem_user *u = arg;
    u->rc = green_sem_acquire(u->s, u->timeout);
    if (u->rc == 0)
        u->order[(*u->norder)++] = u->id;
    return NULL;
}

static void test_sem_counts_and_fifo(void)
{
    green_sem *s;
    CU_ASSERT_EQUAL_FATAL(green_sem_new(&s, 2), 0);
    CU_ASSERT_EQUAL(green_sem_acquire(s, 0), 0);
    CU_ASSERT_EQUAL(green_sem_acquire(s, 0), 0);
    CU_ASSERT_EQUAL(green_sem_value(s), 0);
    CU_ASSERT_EQUAL(green_sem_acquire(s, 0), GREEN_ETIMEDOUT);
    enum { N = 4 };
    int order[N], norder = 0;
    sem_user u[N];
    green_thread *g[N];
    for (int i = 0; i < N; i++) {
        u[i] = (sem_user){ .s = s, .timeout = GREEN_FOREVER, .id = i, .order = order, .norder = &norder };
        CU_ASSERT_EQUAL_FATAL(green_spawn(&g[i], sem_acquirer, &u[i]), 0);
    }
    CU_ASSERT_EQUAL(green_sleep(0.002), 0);
    CU_ASSERT_EQUAL(norder, 0);
    CU_ASSERT_EQUAL(green_sem_free(s), GREEN_EBUSY);
    for (int i = 0; i < N; i++)
        green_sem_release(s);
    join_release_all(g, N);
    CU_ASSERT_EQUAL(norder, N);
    for (int i = 0; i < N; i++)
        CU_ASSERT_EQUAL(order[i], i);           /* Served in FIFO order. */
    CU_ASSERT_EQUAL(green_sem_value(s), 0);
    green_sem_release(s);
    green_sem_release(s);
    CU_ASSERT_EQUAL(green_sem_value(s), 2);
    CU_ASSERT_EQUAL(green_sem_free(s), 0);
}

/* A waiter that timed out must not swallow a unit released after it gave up
 * (nor one released while it was woken but had not run yet). */
static void test_sem_timeout_loses_nothing(void)
{
    green_sem *s;
    CU_ASSERT_EQUAL_FATAL(green_sem_new(&s, 0), 0);
    int order[2], norder = 0;
    sem_user quick = { .s = s, .timeout = 0.005, .id = 0, .order = order, .norder = &norder };
    sem_user patient = { .s = s, .timeout = GREEN_FOREVER, .id = 1, .order = order, .norder = &norder };
    green_thread *g[2];
    CU_ASSERT_EQUAL_FATAL(green_spawn(&g[0], sem_acquirer, &quick), 0);
    CU_ASSERT_EQUAL_FATAL(green_spawn(&g[1], sem_acquirer, &patient), 0);
    CU_ASSERT_EQUAL(green_yield(), 0);
    /* Let the quick one's timer fire, but release before it runs again:
     * busy-wait past its deadline without yielding. */
    double until = green_now() + 0.01;
    while (green_now() < until)
        ;
    CU_ASSERT_EQUAL(green_sleep(0), 0);         /* Its timer fires now; it is runnable. */
    green_sem_release(s);
    join_release_all(g, 2);
    CU_ASSERT_EQUAL(quick.rc, GREEN_ETIMEDOUT);
    CU_ASSERT_EQUAL(patient.rc, 0);
    CU_ASSERT_EQUAL(norder, 1);
    CU_ASSERT_EQUAL(green_sem_value(s), 0);
    CU_ASSERT_EQUAL(green_sem_free(s), 0);
}

static void test_sem_kill_waiter(void)
{
    green_sem *s;
    CU_ASSERT_EQUAL_FATAL(green_sem_new(&s, 0), 0);
    int order[1], norder = 0;
    sem_user u = { .s = s, .timeout = GREEN_FOREVER, .order = order, .norder = &norder };
    green_thread *g;
    CU_ASSERT_EQUAL_FATAL(green_spawn(&g, sem_acquirer, &u), 0);
    CU_ASSERT_EQUAL(green_yield(), 0);
    CU_ASSERT_EQUAL(green_kill(g), 0);
    CU_ASSERT_EQUAL(green_join(g, 1.0, NULL), 0);
    CU_ASSERT_EQUAL(u.rc, GREEN_ECANCELED);
    green_release(g);
    green_sem_release(s);
    CU_ASSERT_EQUAL(green_sem_value(s), 1);     /* Not handed to the dead waiter. */
    CU_ASSERT_EQUAL(green_sem_free(s), 0);
}

/* ---- bounded queues ---- */

typedef struct {
    green_queue *q;
    int n;
    int rc;
    intptr_t got[64];
    int ngot;
} q_user;

static void *producer(void *arg)
{
    q_user *u = arg;
    for (int i = 1; i <= u->n; i++) {
        u->rc = green_queue_put(u->q, (void *)(intptr_t)i, GREEN_FOREVER);
        if (u->rc != 0)
            break;
    }
    return NULL;
}

static void *consumer(void *arg)
{
    q_user *u = arg;
    for (int i = 0; i < u->n; i++) {
        void *item;
        u->rc = green_queue_get(u->q, &item, GREEN_FOREVER);
        if (u->rc != 0)
            break;
        u->got[u->ngot++] = (intptr_t)item;
        if (i % 3 == 0)
            green_sleep(0.0005);                /* A slow consumer: the producer fills up. */
    }
    return NULL;
}

static void test_queue_fifo_and_bounds(void)
{
    CU_ASSERT_EQUAL(green_queue_new(NULL, 1), GREEN_EINVAL);
    green_queue *q;
    CU_ASSERT_EQUAL(green_queue_new(&q, 0), GREEN_EINVAL);
    CU_ASSERT_EQUAL_FATAL(green_queue_new(&q, 3), 0);
    CU_ASSERT_EQUAL(green_queue_put(q, (void *)1, 0), 0);
    CU_ASSERT_EQUAL(green_queue_put(q, (void *)2, 0), 0);
    CU_ASSERT_EQUAL(green_queue_put(q, (void *)3, 0), 0);
    CU_ASSERT_EQUAL(green_queue_size(q), 3);
    double t0 = green_now();
    CU_ASSERT_EQUAL(green_queue_put(q, (void *)4, 0.01), GREEN_ETIMEDOUT);   /* Full. */
    CU_ASSERT(green_now() - t0 >= 0.01);
    void *item;
    for (intptr_t i = 1; i <= 3; i++) {
        CU_ASSERT_EQUAL(green_queue_get(q, &item, 0), 0);
        CU_ASSERT_EQUAL((intptr_t)item, i);
    }
    CU_ASSERT_EQUAL(green_queue_get(q, &item, 0), GREEN_ETIMEDOUT);           /* Empty. */
    CU_ASSERT_EQUAL(green_queue_get(q, &item, 0.005), GREEN_ETIMEDOUT);

    /* A producer and a slow consumer through a queue of 3. */
    q_user p = { .q = q, .n = 40 }, c = { .q = q, .n = 40 };
    green_thread *g[2];
    CU_ASSERT_EQUAL_FATAL(green_spawn(&g[0], producer, &p), 0);
    CU_ASSERT_EQUAL_FATAL(green_spawn(&g[1], consumer, &c), 0);
    join_release_all(g, 2);
    CU_ASSERT_EQUAL(p.rc, 0);
    CU_ASSERT_EQUAL(c.rc, 0);
    CU_ASSERT_EQUAL(c.ngot, 40);
    int in_order = 1;
    for (int i = 0; i < c.ngot; i++)
        in_order &= c.got[i] == i + 1;
    CU_ASSERT(in_order);
    CU_ASSERT_EQUAL(green_queue_size(q), 0);
    CU_ASSERT_EQUAL(green_queue_free(q), 0);
}

static void test_queue_handoff_and_kill(void)
{
    green_queue *q;
    CU_ASSERT_EQUAL_FATAL(green_queue_new(&q, 1), 0);
    /* Two consumers wait; puts go to them in order, the queue stays empty. */
    q_user c1 = { .q = q, .n = 1 }, c2 = { .q = q, .n = 1 };
    green_thread *g[2];
    CU_ASSERT_EQUAL_FATAL(green_spawn(&g[0], consumer, &c1), 0);
    CU_ASSERT_EQUAL_FATAL(green_spawn(&g[1], consumer, &c2), 0);
    CU_ASSERT_EQUAL(green_yield(), 0);
    CU_ASSERT_EQUAL(green_queue_free(q), GREEN_EBUSY);
    CU_ASSERT_EQUAL(green_queue_put(q, (void *)7, 0), 0);
    CU_ASSERT_EQUAL(green_queue_put(q, (void *)8, 0), 0);
    CU_ASSERT_EQUAL(green_queue_size(q), 0);
    join_release_all(g, 2);
    CU_ASSERT_EQUAL(c1.got[0], 7);
    CU_ASSERT_EQUAL(c2.got[0], 8);
    /* A producer blocked on a full queue, killed. */
    CU_ASSERT_EQUAL(green_queue_put(q, (void *)1, 0), 0);
    q_user p = { .q = q, .n = 1 };
    green_thread *pg;
    CU_ASSERT_EQUAL_FATAL(green_spawn(&pg, producer, &p), 0);
    CU_ASSERT_EQUAL(green_yield(), 0);
    CU_ASSERT_EQUAL(green_kill(pg), 0);
    CU_ASSERT_EQUAL(green_join(pg, 1.0, NULL), 0);
    CU_ASSERT_EQUAL(p.rc, GREEN_ECANCELED);
    green_release(pg);
    void *item;
    CU_ASSERT_EQUAL(green_queue_get(q, &item, 0), 0);
    CU_ASSERT_EQUAL((intptr_t)item, 1);
    CU_ASSERT_EQUAL(green_queue_get(q, &item, 0), GREEN_ETIMEDOUT);   /* The killed put left nothing. */
    CU_ASSERT_EQUAL(green_queue_free(q), 0);
}

/* ---- pools ---- */

typedef struct {
    int in_flight;
    int max_in_flight;
    int finished;
    unsigned seed;
} pool_state;

static pool_state ps;

static void *pool_task(void *arg)
{
    intptr_t i = (intptr_t)arg;
    ps.in_flight++;
    if (ps.in_flight > ps.max_in_flight)
        ps.max_in_flight = ps.in_flight;
    double delay = (double)(rand_r(&ps.seed) % 4) * 0.0005;  /* 0 to 1.5 ms. */
    int err = delay > 0 ? green_sleep(delay) : green_yield();
    ps.in_flight--;
    ps.finished++;
    return err == 0 ? (void *)(i * 10) : NULL;
}

static void test_pool_never_exceeds_k(void)
{
    memset(&ps, 0, sizeof ps);
    ps.seed = 7;
    CU_ASSERT_EQUAL(green_pool_new(NULL, 3), GREEN_EINVAL);
    green_pool *p;
    CU_ASSERT_EQUAL(green_pool_new(&p, 0), GREEN_EINVAL);
    CU_ASSERT_EQUAL_FATAL(green_pool_new(&p, 3), 0);
    enum { N = 60 };
    green_thread *g[N];
    for (intptr_t i = 0; i < N; i++) {
        CU_ASSERT_EQUAL_FATAL(green_pool_spawn(p, &g[i], pool_task, (void *)i), 0);
        CU_ASSERT(green_pool_running(p) <= 3);
        /* Kill some: running, and not yet started. */
        if (i % 7 == 3)
            green_kill(g[i]);
        if (i % 11 == 5 && i > 0)
            green_kill(g[i - 1]);
    }
    CU_ASSERT_EQUAL(green_pool_join(p, 10.0), 0);
    CU_ASSERT_EQUAL(green_pool_running(p), 0);
    CU_ASSERT(ps.max_in_flight <= 3);
    CU_ASSERT(ps.max_in_flight >= 2);
    CU_ASSERT(green_pool_peak(p) <= 3);
    CU_ASSERT_EQUAL(green_pool_peak(p), 3);
    for (int i = 0; i < N; i++) {
        CU_ASSERT_TRUE(green_ended(g[i]));
        green_release(g[i]);
    }
    CU_ASSERT(ps.finished > N / 2);
    CU_ASSERT(ps.finished < N);                 /* The killed ones did not all finish. */
    CU_ASSERT_EQUAL(green_pool_free(p), 0);
}

static void test_pool_map_keeps_order(void)
{
    memset(&ps, 0, sizeof ps);
    ps.seed = 11;
    green_pool *p;
    CU_ASSERT_EQUAL_FATAL(green_pool_new(&p, 2), 0);
    enum { N = 25 };
    void *args[N], *results[N];
    for (intptr_t i = 0; i < N; i++) {
        args[i] = (void *)i;
        results[i] = (void *)-1;
    }
    CU_ASSERT_EQUAL(green_pool_map(p, pool_task, args, results, N), 0);
    for (intptr_t i = 0; i < N; i++)
        CU_ASSERT_EQUAL((intptr_t)results[i], i * 10);
    CU_ASSERT(ps.max_in_flight <= 2);
    CU_ASSERT_EQUAL(ps.max_in_flight, 2);
    CU_ASSERT_EQUAL(ps.finished, N);
    CU_ASSERT_EQUAL(green_pool_running(p), 0);
    CU_ASSERT_EQUAL(green_pool_map(p, pool_task, args, results, 0), 0);
    CU_ASSERT_EQUAL(green_pool_free(p), 0);
}

static void *sleep_long(void *arg)
{
    (void)arg;
    return (void *)(intptr_t)green_sleep(5.0);
}

static void *pool_spawner(void *arg)
{
    green_pool *p = arg;
    green_thread *g = NULL;
    int err = green_pool_spawn(p, &g, sleep_long, NULL);
    if (err == 0)
        green_release(g);
    return (void *)(intptr_t)err;
}

static void test_pool_spawn_blocks_and_join_timeout(void)
{
    green_pool *p;
    CU_ASSERT_EQUAL_FATAL(green_pool_new(&p, 1), 0);
    green_thread *a;
    CU_ASSERT_EQUAL_FATAL(green_pool_spawn(p, &a, sleep_long, NULL), 0);
    /* A second spawner waits for the place. */
    green_thread *s;
    CU_ASSERT_EQUAL_FATAL(green_spawn(&s, pool_spawner, p), 0);
    CU_ASSERT_EQUAL(green_sleep(0.005), 0);
    CU_ASSERT_FALSE(green_ended(s));
    CU_ASSERT_EQUAL(green_pool_running(p), 1);
    double t0 = green_now();
    CU_ASSERT_EQUAL(green_pool_join(p, 0.01), GREEN_ETIMEDOUT);
    CU_ASSERT(green_now() - t0 >= 0.01);
    CU_ASSERT_EQUAL(green_pool_join(p, 0), GREEN_ETIMEDOUT);
    CU_ASSERT_EQUAL(green_pool_free(p), GREEN_EBUSY);
    /* Kill the spawner while it waits: it gives up, the place stays. */
    CU_ASSERT_EQUAL(green_kill(s), 0);
    void *r;
    CU_ASSERT_EQUAL(green_join(s, 1.0, &r), 0);
    CU_ASSERT_EQUAL((intptr_t)r, GREEN_ECANCELED);
    green_release(s);
    CU_ASSERT_EQUAL(green_pool_running(p), 1);
    /* Kill the one running: the pool empties. */
    CU_ASSERT_EQUAL(green_kill(a), 0);
    CU_ASSERT_EQUAL(green_pool_join(p, 1.0), 0);
    CU_ASSERT_EQUAL(green_pool_running(p), 0);
    CU_ASSERT_EQUAL(green_join(a, 0, &r), 0);
    CU_ASSERT_EQUAL((intptr_t)r, GREEN_ECANCELED);
    green_release(a);
    /* A place freed by a kill goes to the next spawner. */
    CU_ASSERT_EQUAL_FATAL(green_pool_spawn(p, &a, sleep_long, NULL), 0);
    CU_ASSERT_EQUAL_FATAL(green_spawn(&s, pool_spawner, p), 0);
    CU_ASSERT_EQUAL(green_yield(), 0);
    CU_ASSERT_EQUAL(green_kill(a), 0);
    CU_ASSERT_EQUAL(green_join(s, 1.0, &r), 0);
    CU_ASSERT_EQUAL((intptr_t)r, 0);
    CU_ASSERT_EQUAL(green_pool_running(p), 1);
    CU_ASSERT(green_pool_peak(p) <= 1);
    green_release(a);
    green_release(s);
    /* teardown's green_fini kills the last sleeper; the pool must outlive it. */
    CU_ASSERT_EQUAL(green_fini(), 0);
    CU_ASSERT_EQUAL(green_pool_running(p), 0);
    CU_ASSERT_EQUAL(green_pool_free(p), 0);
    CU_ASSERT_EQUAL_FATAL(green_init(NULL), 0);
}

static void *yield_once(void *arg)
{
    green_yield();
    return arg;
}

static void *pool_join_status(void *arg)
{
    return (void *)(intptr_t)green_pool_join(arg, GREEN_FOREVER);
}

/* A joiner woken because the pool emptied returns 0 though the pool was
 * refilled, or freed, before it ran; one killed first returns
 * GREEN_ECANCELED though the pool emptied next. (A joiner that read the
 * freed pool is caught under ASan and valgrind.) */
static void test_pool_join_woken_then_refilled_freed_or_killed(void)
{
    for (int round = 0; round < 3; round++) {
        green_pool *p;
        CU_ASSERT_EQUAL_FATAL(green_pool_new(&p, 1), 0);
        CU_ASSERT_EQUAL_FATAL(green_pool_spawn(p, NULL, yield_once, NULL), 0);
        green_thread *joiner, *again = NULL;
        CU_ASSERT_EQUAL_FATAL(green_spawn(&joiner, pool_join_status, p), 0);
        CU_ASSERT_EQUAL(green_yield(), 0); /* the task yields, the joiner parks */
        if (round == 2)
            CU_ASSERT_EQUAL(green_kill(joiner), 0);
        CU_ASSERT_EQUAL(green_yield(), 0); /* the task ends: the joiner is woken */
        CU_ASSERT_EQUAL(green_pool_running(p), 0);
        if (round == 0)
            CU_ASSERT_EQUAL(green_pool_spawn(p, &again, sleep_long, NULL), 0);
        if (round == 1)
            CU_ASSERT_EQUAL(green_pool_free(p), 0);
        void *r = NULL;
        CU_ASSERT_EQUAL(green_join(joiner, 1.0, &r), 0);
        CU_ASSERT_EQUAL((intptr_t)r, round == 2 ? GREEN_ECANCELED : 0);
        green_release(joiner);
        if (again != NULL) {
            CU_ASSERT_EQUAL(green_kill(again), 0);
            CU_ASSERT_EQUAL(green_join(again, 1.0, NULL), 0);
            green_release(again);
        }
        if (round != 1)
            CU_ASSERT_EQUAL(green_pool_free(p), 0);
    }
}

static void *pool_mapper(void *arg)
{
    green_pool *p = arg;
    void *args[6] = { 0 }, *results[6];
    return (void *)(intptr_t)green_pool_map(p, sleep_long, args, results, 6);
}

static void test_pool_map_caller_killed(void)
{
    green_pool *p;
    CU_ASSERT_EQUAL_FATAL(green_pool_new(&p, 2), 0);
    green_thread *m;
    CU_ASSERT_EQUAL_FATAL(green_spawn(&m, pool_mapper, p), 0);
    CU_ASSERT_EQUAL(green_sleep(0.005), 0);
    CU_ASSERT_EQUAL(green_pool_running(p), 2);
    CU_ASSERT_EQUAL(green_kill(m), 0);
    void *r;
    CU_ASSERT_EQUAL(green_join(m, 1.0, &r), 0);
    CU_ASSERT_EQUAL((intptr_t)r, GREEN_ECANCELED);
    green_release(m);
    /* Its tasks were killed as well. */
    CU_ASSERT_EQUAL(green_pool_join(p, 1.0), 0);
    CU_ASSERT(green_pool_peak(p) <= 2);
    CU_ASSERT_EQUAL(green_pool_free(p), 0);
}

/* ---- the kill is sticky for every blocking call ---- */

typedef struct {
    green_sem *sem;             /* A unit available. */
    green_queue *full, *roomy;  /* One item in a queue of 1; an empty queue of 4. */
    green_event *set;
    green_thread *ended;
    green_pool *pool;           /* Room, nothing running. */
    int rc[12];
} sticky;

static void *nothing(void *arg)
{
    return arg;
}

static void *kill_self_then_call_everything(void *arg)
{
    sticky *t = arg;
    green_kill(green_current());
    void *item = NULL;
    void *args[1] = { NULL }, *results[1];
    green_thread *g = NULL;
    int i = 0;
    t->rc[i++] = green_sem_acquire(t->sem, GREEN_FOREVER);
    t->rc[i++] = green_queue_get(t->full, &item, GREEN_FOREVER);
    t->rc[i++] = green_queue_put(t->roomy, (void *)1, GREEN_FOREVER);
    t->rc[i++] = green_event_wait(t->set, GREEN_FOREVER);
    t->rc[i++] = green_join(t->ended, GREEN_FOREVER, NULL);
    t->rc[i++] = green_joinall(&t->ended, 1, GREEN_FOREVER);
    t->rc[i++] = green_pool_spawn(t->pool, &g, nothing, NULL);
    t->rc[i++] = green_pool_join(t->pool, GREEN_FOREVER);
    t->rc[i++] = green_pool_map(t->pool, nothing, args, results, 1);
    t->rc[i++] = green_sem_acquire(t->sem, 0);      /* With a timeout of 0 too. */
    t->rc[i++] = green_yield();
    t->rc[i++] = green_sleep(0);
    return NULL;
}

static void test_kill_is_sticky_for_every_blocking_call(void)
{
    sticky t = { 0 };
    CU_ASSERT_EQUAL_FATAL(green_sem_new(&t.sem, 1), 0);
    CU_ASSERT_EQUAL_FATAL(green_queue_new(&t.full, 1), 0);
    CU_ASSERT_EQUAL_FATAL(green_queue_put(t.full, (void *)7, 0), 0);
    CU_ASSERT_EQUAL_FATAL(green_queue_new(&t.roomy, 4), 0);
    CU_ASSERT_EQUAL_FATAL(green_event_new(&t.set), 0);
    green_event_set(t.set);
    CU_ASSERT_EQUAL_FATAL(green_spawn(&t.ended, nothing, NULL), 0);
    CU_ASSERT_EQUAL_FATAL(green_join(t.ended, GREEN_FOREVER, NULL), 0);
    CU_ASSERT_EQUAL_FATAL(green_pool_new(&t.pool, 2), 0);
    green_thread *g;
    CU_ASSERT_EQUAL_FATAL(green_spawn(&g, kill_self_then_call_everything, &t), 0);
    CU_ASSERT_EQUAL(green_join(g, GREEN_FOREVER, NULL), 0);
    green_release(g);
    for (size_t i = 0; i < sizeof t.rc / sizeof t.rc[0]; i++) {
        CU_ASSERT_EQUAL(t.rc[i], GREEN_ECANCELED);
        if (t.rc[i] != GREEN_ECANCELED)
            fprintf(stderr, "blocking call %zu after a kill: %s\n", i, green_err_name(t.rc[i]));
    }
    /* And none of them took or left anything. */
    CU_ASSERT_EQUAL(green_sem_value(t.sem), 1);
    CU_ASSERT_EQUAL(green_queue_size(t.full), 1);
    CU_ASSERT_EQUAL(green_queue_size(t.roomy), 0);
    CU_ASSERT_EQUAL(green_pool_peak(t.pool), 0);
    green_release(t.ended);
    CU_ASSERT_EQUAL(green_pool_free(t.pool), 0);
    CU_ASSERT_EQUAL(green_event_free(t.set), 0);
    CU_ASSERT_EQUAL(green_queue_free(t.roomy), 0);
    CU_ASSERT_EQUAL(green_queue_free(t.full), 0);
    CU_ASSERT_EQUAL(green_sem_free(t.sem), 0);
}

/* A waiter handed its unit, then killed before it ran: it keeps the unit
 * (the call returns 0) and the kill shows at its next blocking call. */
typedef struct {
    green_sem *s;
    int rc, next_rc;
} handed;

static void *acquire_then_yield(void *arg)
{
    handed *h = arg;
    h->rc = green_sem_acquire(h->s, GREEN_FOREVER);
    h->next_rc = green_yield();
    return NULL;
}

static void test_handed_over_then_killed_keeps_it(void)
{
    handed h = { .rc = 1, .next_rc = 1 };
    CU_ASSERT_EQUAL_FATAL(green_sem_new(&h.s, 0), 0);
    green_thread *g;
    CU_ASSERT_EQUAL_FATAL(green_spawn(&g, acquire_then_yield, &h), 0);
    CU_ASSERT_EQUAL(green_yield(), 0);             /* It parks in acquire. */
    CU_ASSERT_EQUAL(green_sem_release(h.s), 0);     /* Handed over... */
    CU_ASSERT_EQUAL(green_kill(g), 0);              /* ...then killed, before it ran. */
    CU_ASSERT_EQUAL(green_join(g, GREEN_FOREVER, NULL), 0);
    green_release(g);
    CU_ASSERT_EQUAL(h.rc, 0);
    CU_ASSERT_EQUAL(h.next_rc, GREEN_ECANCELED);
    CU_ASSERT_EQUAL(green_sem_value(h.s), 0);       /* The unit is the waiter's. */
    CU_ASSERT_EQUAL(green_sem_free(h.s), 0);
}

/* A semaphore's value never wraps (green.h: GREEN_EOVERFLOW, as sem_post). */
static void test_sem_value_does_not_wrap(void)
{
    green_sem *s;
    CU_ASSERT_EQUAL_FATAL(green_sem_new(&s, UINT_MAX - 1), 0);
    CU_ASSERT_EQUAL(green_sem_release(s), 0);
    CU_ASSERT_EQUAL(green_sem_value(s), UINT_MAX);
    CU_ASSERT_EQUAL(green_sem_release(s), GREEN_EOVERFLOW);
    CU_ASSERT_EQUAL(green_sem_value(s), UINT_MAX);
    CU_ASSERT_EQUAL(green_sem_release(NULL), GREEN_EINVAL);
    CU_ASSERT_EQUAL(green_sem_free(s), 0);
}

static CU_TestInfo sync_tests[] = {
    { "event_wakes_all", test_event_wakes_all },
    { "event_timeout_and_kill", test_event_timeout_and_kill },
    { "sem_counts_and_fifo", test_sem_counts_and_fifo },
    { "sem_timeout_loses_nothing", test_sem_timeout_loses_nothing },
    { "sem_kill_waiter", test_sem_kill_waiter },
    { "queue_fifo_and_bounds", test_queue_fifo_and_bounds },
    { "queue_handoff_and_kill", test_queue_handoff_and_kill },
    { "pool_never_exceeds_k", test_pool_never_exceeds_k },
    { "pool_map_keeps_order", test_pool_map_keeps_order },
    { "pool_spawn_blocks_and_join_timeout", test_pool_spawn_blocks_and_join_timeout },
    { "pool_map_caller_killed", test_pool_map_caller_killed },
    { "pool_join_woken_then_refilled_freed_or_killed", test_pool_join_woken_then_refilled_freed_or_killed },
    { "kill_is_sticky_for_every_blocking_call", test_kill_is_sticky_for_every_blocking_call },
    { "handed_over_then_killed_keeps_it", test_handed_over_then_killed_keeps_it },
    { "sem_value_does_not_wrap", test_sem_value_does_not_wrap },
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo green_test_suites[] = {
    { .pName = "sync", .pTests = sync_tests, .pSetUpFunc = green_fixture_setup,
      .pTearDownFunc = green_fixture_teardown },
    CU_SUITE_INFO_NULL,
};
