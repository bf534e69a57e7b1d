/* harness/steady.h: part of the run stage: is the machine running at its
 * usual speed right now? On a shared virtual machine the host takes the
 * CPUs away for seconds at a time: everything runs 1.3-2x slower for 5 to
 * 80 s, every cell alike (measured on this project's VMs). Before each
 * repetition the harness times a short CPU-bound probe; when it is
 * slower than usual, the repetition waits, probing again, for a bounded
 * time, and runs anyway after that, marked. docs/results-format.md,
 * "Machine steadiness". */
#ifndef GREENBENCH_STEADY_H
#define GREENBENCH_STEADY_H

#include <stdbool.h>
#include <stddef.h>

/* The probes of a run so far. */
struct gb_steady {
    double *probes; /* ns, the last probe before each repetition */
    size_t n;
    double tolerance;  /* a probe up to this times the usual one is steady */
    double max_wait_s; /* per repetition; 0: never wait */
};

/* What the gate found before one repetition. */
struct gb_steady_check {
    double probe_ns;   /* the last probe */
    double usual_ns;   /* the usual probe then (NaN: too few yet to tell) */
    double waited_s;
    bool steady;       /* the last probe was within tolerance */
};

/* One probe: a fixed chain of dependent multiplications, its fastest of
 * three tries, in ns (about 0.3 ms each on a 2.5 GHz core). */
double gb_steady_probe(void);
/* Probe; while the machine is slower than tolerance x its usual speed (the
 * 20th percentile of the probes so far), sleep 100 ms and probe again, for
 * at most max_wait_s or until *stop is set. *c says what was found; the
 * last probe is kept in st. Returns c->steady. */
bool gb_steady_gate(struct gb_steady *st, volatile int *stop, struct gb_steady_check *c);
void gb_steady_free(struct gb_steady *st);

#endif /* GREENBENCH_STEADY_H */
