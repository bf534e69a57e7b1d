/* harness/findings.h: part of the results stage: the headline comparisons
 * of a run, which the report's first table and the lines `greenbench run`
 * ends with both show. For each workload: its best green configuration at
 * the workload's headline parameters (the largest n, then k), against OS
 * threads (its baseline, gb_baseline), against the epoll ceiling where the
 * workload has one, and against each peer (the peer's best series at the
 * same parameters), in the workload's headline figure
 * (time per op, or memory per task), as a ratio of medians with its
 * interval and a verdict; then each green series that measured a floor
 * (switch) against that floor. A workload the run has no green cell of
 * takes each peer's best in green's place, against OS threads
 * (docs/results-format.md, "Findings"). */
#ifndef GREENBENCH_FINDINGS_H
#define GREENBENCH_FINDINGS_H

#include <stdbool.h>
#include <stddef.h>

#include "catalog.h"
#include "results.h"

struct gb_finding {
    const struct gb_workload *wk;
    const struct gb_summary *green; /* the best green configuration (a workload without
                                       green cells: each peer's best, against threads only) */
    const struct gb_summary *other; /* threads, or a peer's best series; green itself for a floor row */
    struct gb_verdict v;            /* green against other */
    /* A floor row: green against the floor it measured in its own
     * processes. v holds the median of its of_floor and that median's
     * interval (ratio, lo, hi, coverage), not a U test: kind is HIGHER or
     * LOWER when the interval excludes 1, else SAME. */
    bool floor;
};

/* Up to max findings of rd into out, workloads in catalog order, each
 * workload's threads row first, then its variant-off twin's, then epoll's,
 * then its peers' in gb_peers
 * order, then a floor row for each green series with a floor (its cell at
 * the largest n), in plan order;
 * threads_only: the threads rows alone. Returns how many. */
size_t gb_findings(const struct gb_rundata *rd, bool threads_only, struct gb_finding *out, size_t max);
/* A summary's headline figure for people: "3.50 ns", "10.2k request/s, CPU
 * 64.1 µs each" (a workload measured in requests per second: its client's
 * CPU time per request too, and ‡ when the local server was late), "4.08
 * KiB per task". */
void gb_figure_text(const struct gb_summary *s, char *out, size_t n);
/* A cell against its floor for people: "1.08× its floor (1.05–1.10)",
 * the interval's coverage added where it is below 95%; "" when the cell
 * has no floor. */
void gb_floor_text(const struct gb_summary *s, char *out, size_t n);
/* Is the workload's headline figure memory (GB_METRIC_RSS_PER_TASK). */
bool gb_figure_is_memory(const struct gb_summary *s);

#endif /* GREENBENCH_FINDINGS_H */
