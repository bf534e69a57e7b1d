/* workloads/yield/threads.c: the yield workload, thread side: two pthreads
 * pinned to one CPU call sched_yield(2) N times each. It is the closest
 * thread analogue of two green threads yielding through their hub, but the
 * kernel does not promise to run the other thread on a yield; the note says
 * how often it did. The futex handoff of the switch workload is the strict
 * baseline. ns_per_op is wall / 2N. */
#include "cell.h"
#include "threads_common.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#define DEFAULT_N 100000

typedef struct yield_pair {
    long long n;
    atomic_int last;            /* Who returned from a yield most recently. */
    long long switched[2];      /* Yields after which the other thread had run. */
    pthread_barrier_t start;
} yield_pair;

static void yield_loop(yield_pair *y, int me)
{
    long long switched = 0;
    for (long long i = 0; i < y->n; i++) {
        sched_yield();
        switched += atomic_exchange_explicit(&y->last, me, memory_order_relaxed) != me;
    }
    y->switched[me] = switched;
}

static void *partner(void *arg)
{
    yield_pair *y = arg;
    cell_pin_thread(0);
    pthread_barrier_wait(&y->start);
    yield_loop(y, 1);
    return NULL;
}

static int run_pair(yield_pair *y, cell_result *r, int timed)
{
    pthread_t t;
    y->switched[0] = y->switched[1] = 0;
    atomic_store(&y->last, 0);
    pthread_barrier_init(&y->start, NULL, 2);
    int err = pthread_create(&t, NULL, partner, y);
    if (err != 0) {
        pthread_barrier_destroy(&y->start);
        return cell_fail(r, "pthread_create: %s", strerror(err));
    }
    pthread_barrier_wait(&y->start);
    if (timed)
        cell_measure_begin(r);
    yield_loop(y, 0);
    pthread_join(t, NULL);
    if (timed)
        cell_measure_end(r);
    pthread_barrier_destroy(&y->start);
    return 0;
}

int yield_threads(cell_params *p, cell_result *r)
{
    threads_ignore_hubs(p);
    threads_ignore_stack_size(p);
    if (cell_take_n(p, r, DEFAULT_N, "yield needs at least one yield per thread") != 0)
        return -1;
    cell_pin_thread(0);
    yield_pair y = { .n = p->n < 1000 ? p->n : 1000 };
    if (run_pair(&y, r, 0) != 0)
        return -1;
    y.n = p->n;
    if (run_pair(&y, r, 1) != 0)
        return -1;
    r->ops = 2 * p->n;
    r->tasks_completed = 2;
    r->errors = 0;
    static char note[256];
    long long switched = y.switched[0] + y.switched[1];
    snprintf(note, sizeof note,
             "sched_yield between two threads pinned to one CPU: %lld of %lld yields (%.1f%%) let the other "
             "thread run.", switched, 2 * p->n, 100.0 * (double)switched / (double)(2 * p->n));
    r->note = note;
    return 0;
}
