/* workloads/switch/threads.c: the raw switch workload, thread side: two
 * pthreads hand a turn back and forth through a futex, N round trips, both on
 * one CPU (--cpus=1) or on two (--cpus=2). ns_per_op is one one-way handoff:
 * a futex wake, a sleep and the scheduler, which is what a thread "switch" is. */
#include "cell.h"
#include "threads_common.h"

#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

enum { MAIN_TURN, PARTNER_TURN };

struct handoff {
    atomic_int turn;
    long long round_trips;
    long long partner_seen;     /* Turns the partner took: the check. */
};

static void futex_wait(atomic_int *word, int while_value)
{
    syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, while_value, NULL, NULL, 0);
}

static void futex_wake(atomic_int *word)
{
    syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static void give_turn(atomic_int *turn, int to)
{
    atomic_store_explicit(turn, to, memory_order_release);
    futex_wake(turn);
}

static void await_turn(atomic_int *turn, int mine)
{
    int now;
    while ((now = atomic_load_explicit(turn, memory_order_acquire)) != mine)
        futex_wait(turn, now);
}

static void *partner(void *arg)
{
    struct handoff *h = arg;
    cell_pin_thread(1);
    for (long long i = 0; i < h->round_trips; i++) {
        await_turn(&h->turn, PARTNER_TURN);
        h->partner_seen++;
        give_turn(&h->turn, MAIN_TURN);
    }
    return NULL;
}

static void run_round_trips(struct handoff *h)
{
    for (long long i = 0; i < h->round_trips; i++) {
        give_turn(&h->turn, PARTNER_TURN);
        await_turn(&h->turn, MAIN_TURN);
    }
}

static int run_pair(struct handoff *h, cell_result *r, int timed)
{
    pthread_t t;
    int err = pthread_create(&t, NULL, partner, h);
    if (err != 0)
        return cell_fail(r, "pthread_create: %s", strerror(err));
    if (timed)
        cell_measure_begin(r);
    run_round_trips(h);
    if (timed)
        cell_measure_end(r);
    pthread_join(t, NULL);
    return 0;
}

int switch_threads(cell_params *p, cell_result *r)
{
    threads_ignore_hubs(p);
    threads_ignore_stack_size(p);
    if (cell_take_n(p, r, 100000, "the switch workload needs at least one round trip") != 0)
        return -1;
    long long n = p->n;
    cell_pin_thread(0);
    struct handoff warm = { .turn = MAIN_TURN, .round_trips = n < 1000 ? n : 1000 };
    if (run_pair(&warm, r, 0) != 0)
        return -1;
    struct handoff h = { .turn = MAIN_TURN, .round_trips = n };
    if (run_pair(&h, r, 1) != 0)
        return -1;
    r->ops = 2 * n;
    r->tasks_completed = h.partner_seen;
    r->errors = n - h.partner_seen;
    r->note = p->cpus == 1 ? "both threads pinned to one CPU" : "threads pinned to two CPUs";
    if (h.partner_seen != n)
        return cell_fail(r, "partner took %lld turns of %lld", h.partner_seen, n);
    return 0;
}
