/* harness/steady.c: the machine's speed before each repetition (steady.h). */
#include "steady.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "stats.h"
#include "util.h"

#define PROBE_STEPS 150000 /* dependent multiply-adds: latency-bound, about 0.3 ms */
#define MIN_PROBES 5       /* before these, every probe is steady: nothing is usual yet */

double gb_steady_probe(void)
{
    double best = INFINITY;
    for (int t = 0; t < 3; t++) {
        /* An LCG: each step needs the last, so out-of-order execution cannot
         * hide a slower core; the sink keeps the compiler from folding it. */
        volatile uint64_t sink;
        uint64_t x = (uint64_t)t + 1;
        int64_t t0 = gb_now_ns();
        for (int i = 0; i < PROBE_STEPS; i++)
            x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        int64_t t1 = gb_now_ns();
        sink = x;
        (void)sink;
        if ((double)(t1 - t0) < best)
            best = (double)(t1 - t0);
    }
    return best;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The 20th percentile of the probes so far: the machine at its usual speed
 * (a slow spell is rarely that much of a run); NaN before MIN_PROBES. */
static double usual(const struct gb_steady *st)
{
    if (st->n < MIN_PROBES)
        return NAN;
    double *s = gb_xmalloc(st->n * sizeof *s);
    memcpy(s, st->probes, st->n * sizeof *s);
    qsort(s, st->n, sizeof *s, cmp_double);
    double q = gb_quantile(s, st->n, 0.2);
    free(s);
    return q;
}

bool gb_steady_gate(struct gb_steady *st, volatile int *stop, struct gb_steady_check *c)
{
    memset(c, 0, sizeof *c);
    int64_t t0 = gb_now_ns();
    c->usual_ns = usual(st);
    for (;;) {
        c->probe_ns = gb_steady_probe();
        c->waited_s = (double)(gb_now_ns() - t0) / 1e9;
        c->steady = !(c->probe_ns > st->tolerance * c->usual_ns); /* NaN: steady */
        if (c->steady || c->waited_s >= st->max_wait_s || (stop && *stop))
            break;
        struct timespec pause = { .tv_sec = 0, .tv_nsec = 100 * 1000 * 1000 };
        nanosleep(&pause, NULL);
    }
    /* One probe per repetition: the probes of a long wait would make a slow
     * spell look usual. */
    st->probes = gb_xrealloc(st->probes, (st->n + 1) * sizeof *st->probes);
    st->probes[st->n++] = c->probe_ns;
    return c->steady;
}

void gb_steady_free(struct gb_steady *st)
{
    free(st->probes);
    memset(st, 0, sizeof *st);
}
