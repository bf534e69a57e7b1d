/* workloads/yield/green.c: the yield workload, green side: the hub-level
 * switch. Two green threads call green_yield() N times each, so the hub's
 * scheduler hands the OS thread from one to the other and back: 2N one-way
 * switches, run queue and all (the raw switch workload is the backend
 * alone). ns_per_op is wall / 2N.
 *
 * As in the raw switch workload, an untimed checked pass comes first: for
 * min(N, WARMUP) yields each, both check on every return that the other ran
 * in between. The timed pass then runs nothing but the yields and counts
 * them: a check on every yield touches memory both threads write, and costs
 * a quarter of the yield itself (5.0 against 6.3 ns here). */
#include "cell.h"
#include "green_common.h"

#include <stdint.h>

#define DEFAULT_N 1000000
#define WARMUP 10000

static struct {
    long long n;                /* Yields each, this pass. */
    int last;                   /* Which of the two returned from a yield last. */
    long long out_of_turn;      /* Returns that found itself last: the other had not run. */
    long long yields, failed;   /* This pass's. */
} y;

static void *checked_yielder(void *arg)
{
    int me = (int)(intptr_t)arg;
    long long n = y.n, out_of_turn = 0, i;
    for (i = 0; i < n; i++) {
        if (green_yield() != 0)
            break;
        out_of_turn += y.last == me;
        y.last = me;
    }
    y.out_of_turn += out_of_turn;
    y.yields += i;
    y.failed += i < n;
    return NULL;
}

/* Aligned, as the switch workload's timed loops: see green_yield. */
__attribute__((aligned(64))) static void *bare_yielder(void *arg)
{
    (void)arg;
    long long n = y.n, i;
    for (i = 0; i < n; i++)
        if (green_yield() != 0)
            break;
    y.yields += i;
    y.failed += i < n;
    return NULL;
}

/* --live-bytes=B: each keeps B bytes live on its stack across every yield
 * (touched before and after), which copy stacks (--stacks=copy:K) save and
 * restore whenever the two share a stack: the cost of a copy against its
 * bytes (libaco's table). The bytes are checked after every yield. */
static long long live_bytes;

static __attribute__((noinline)) void *live_yielder(void *arg)
{
    unsigned char me = (unsigned char)(1 + (intptr_t)arg);
    volatile unsigned char live[live_bytes];
    live[0] = live[live_bytes - 1] = me;
    long long n = y.n, i, damaged = 0;
    for (i = 0; i < n; i++) {
        if (green_yield() != 0)
            break;
        damaged += live[0] != me || live[live_bytes - 1] != me;
    }
    y.yields += i;
    y.failed += (i < n) + damaged;
    return NULL;
}

/* One pass of n yields each: 0, or -1 with r failed; y counts them. */
static int run_pair(long long n, cell_result *r, int timed)
{
    green_thread *g[2] = { NULL, NULL };
    green_fn *yielder = !timed ? checked_yielder : live_bytes > 0 ? live_yielder : bare_yielder;
    y.n = n;
    y.last = -1;
    y.yields = y.failed = 0;
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
    if (p->live_bytes < 0)
        p->live_bytes = 0;
    if (p->live_bytes > 32768)
        return cell_usage_error(r, "--live-bytes=%lld: at most 32768", p->live_bytes);
    live_bytes = p->live_bytes;
    if (green_common_init(p, r) != 0)
        return -1;
    long long warm = p->n < WARMUP ? p->n : WARMUP;
    y.out_of_turn = 0;
    if (run_pair(warm, r, 0) == 0) {
        long long checked = y.yields, failed = y.failed;
        if (run_pair(p->n, r, 1) == 0) {
            r->ops = 2 * p->n;
            r->tasks_completed = y.yields;
            failed += y.failed;
            r->errors = y.out_of_turn + failed + (2 * warm - checked) + (2 * p->n - y.yields);
            if (y.out_of_turn != 0)
                cell_fail(r, "%lld of %lld checked yields did not alternate", y.out_of_turn, 2 * warm);
            else if (r->errors != 0)
                cell_fail(r, "%lld yields failed or did not happen", r->errors);
        }
    }
    green_common_fini(r);
    return r->ok ? 0 : -1;
}
