/* workloads/yield/st.c: the yield workload of the State Threads peer. Two st
 * threads call st_usleep(0) --n times each: State Threads 1.9 has no
 * st_thread_yield, and a zero sleep is its way to let the others run. The
 * sleeper goes on ST's sleep queue with a timeout of zero; when the run
 * queue is empty ST's idle thread polls (poll or select, no wait) and moves
 * the expired sleepers back to the run queue. So each yield passes through
 * ST's scheduler, and one poll system call happens every other yield.
 * ops = 2N. */
#include "cell.h"
#include "st_peer.h"

#include <st.h>
#include <stdio.h>

#define DEFAULT_N 100000
#define WARMUP 1000

typedef struct yield_pair {
    long long n;
    int last;                   /* Who returned from a yield most recently. */
    long long switched[2];      /* Yields after which the other thread had run. */
} yield_pair;

typedef struct yielder_arg {
    yield_pair *y;
    int me;
} yielder_arg;

static void *yielder(void *arg)
{
    yielder_arg *a = arg;
    long long switched = 0;
    for (long long i = 0; i < a->y->n; i++) {
        st_usleep(0);
        switched += a->y->last != a->me;
        a->y->last = a->me;
    }
    a->y->switched[a->me] = switched;
    return NULL;
}

/* Run the two yielders to the end. Returns 0, or -1 if one could not start. */
static int run_pair(yield_pair *y, int stack)
{
    yielder_arg args[2] = { { y, 0 }, { y, 1 } };
    st_thread_t t[2];
    y->last = 0;
    y->switched[0] = y->switched[1] = 0;
    for (int i = 0; i < 2; i++) {
        t[i] = st_thread_create(yielder, &args[i], 1, stack);
        if (t[i] == NULL) {
            if (i == 1)
                st_thread_join(t[0], NULL);
            return -1;
        }
    }
    st_thread_join(t[0], NULL);
    st_thread_join(t[1], NULL);
    return 0;
}

int yield_st(cell_params *p, cell_result *r)
{
    if (p->n < 0)
        p->n = DEFAULT_N;
    if (p->n == 0)
        return cell_fail(r, "--n=0: yield needs at least one yield per thread");
    int stack = st_peer_init(p, r);
    if (stack < 0)
        return -1;
    r->switch_used = "st";
    r->loop_used = st_get_eventsys_name();
    yield_pair y = { .n = p->n < WARMUP ? p->n : WARMUP };
    if (run_pair(&y, stack) != 0)
        return cell_fail(r, "st_thread_create failed");
    y.n = p->n;
    cell_measure_begin(r);
    int rc = run_pair(&y, stack);
    cell_measure_end(r);
    if (rc != 0)
        return cell_fail(r, "st_thread_create failed");
    r->ops = 2 * p->n;
    r->tasks_completed = 2;
    r->errors = 0;
    static char note[256];
    long long switched = y.switched[0] + y.switched[1];
    snprintf(note, sizeof note,
             "st_usleep(0) through ST's sleep queue and idle thread (%s, no wait): %lld of %lld yields (%.1f%%) "
             "let the other thread run.", st_get_eventsys_name(), switched, 2 * p->n,
             100.0 * (double)switched / (double)(2 * p->n));
    r->note = note;
    return 0;
}
