/* workloads/yield/green.c: the yield workload, green side: the hub-level
 * switch. Two green threads call green_yield() N times each, so the hub's
 * scheduler hands the OS thread from one to the other and back: 2N one-way
 * switches, run queue and all (the raw switch workload is the backend
 * alone). ns_per_op is wall / 2N. Each checks, on every return, that the
 * other ran in between. */
#include "cell.h"
#include "green_common.h"

#include <stdint.h>

#define DEFAULT_N 1000000
#define WARMUP 10000

static struct {
    long long n;
    int last;                   /* Which of the two returned from a yield last. */
    long long out_of_turn;      /* Returns that found itself last: the other had not run. */
    long long yields, failed;
} y;

static void *yielder(void *arg)
{
    int me = (int)(intptr_t)arg;
    for (long long i = 0; i < y.n; i++) {
        if (green_yield() != 0) {
            y.failed++;
            break;
        }
        y.out_of_turn += y.last == me;
        y.last = me;
        y.yields++;
    }
    return NULL;
}

static int run_pair(long long n, cell_result *r, int timed)
{
    green_thread *g[2] = { NULL, NULL };
    y.n = n;
    y.last = -1;
    y.out_of_turn = y.yields = y.failed = 0;
    if (timed)
        cell_measure_begin(r);
    int err = green_spawn(&g[0], yielder, (void *)(intptr_t)0);
    if (err == 0)
        err = green_spawn(&g[1], yielder, (void *)(intptr_t)1);
    int ended = err == 0 ? green_joinall(g, 2, GREEN_JOIN_BOUND_S) : err;
    if (timed)
        cell_measure_end(r);
    green_release(g[0]);
    green_release(g[1]);
    if (err != 0)
        return cell_fail(r, "green_spawn: %s", green_strerror(err));
    if (ended != 2)
        return cell_fail(r, "green_joinall: %s", ended < 0 ? green_strerror(ended) : "timed out");
    return 0;
}

int yield_green(cell_params *p, cell_result *r)
{
    if (green_common_one_hub(p, r) != 0)
        return -1;
    if (cell_take_n(p, r, DEFAULT_N, "yield needs at least one yield per green thread") != 0)
        return -1;
    if (green_common_init(p, r) != 0)
        return -1;
    if (run_pair(p->n < WARMUP ? p->n : WARMUP, r, 0) == 0 && run_pair(p->n, r, 1) == 0) {
        r->ops = 2 * p->n;
        r->tasks_completed = y.yields;
        r->errors = y.out_of_turn + y.failed + (2 * p->n - y.yields);
        if (r->errors != 0)
            cell_fail(r, "%lld of %lld yields did not alternate (%lld failed)", r->errors, 2 * p->n, y.failed);
    }
    green_common_fini(r);
    return r->ok ? 0 : -1;
}
