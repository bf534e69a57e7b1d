/* harness/findings.h: part of the results stage: the headline comparisons
 * of a run, which the report's first table and the lines `greenbench run`
 * ends with both show. For each workload: its best green configuration at
 * the workload's headline parameters (the largest n, then k), against OS
 * threads (its baseline, gb_baseline), against the epoll ceiling where the
 * workload has one, and against each peer (the peer's best series at the
 * same parameters), in the workload's headline figure
 * (time per op, or memory per task), as a ratio of medians with its
 * interval and a verdict (docs/results-format.md, "Findings"). */
#ifndef GREENBENCH_FINDINGS_H
#define GREENBENCH_FINDINGS_H

#include <stdbool.h>
#include <stddef.h>

#include "catalog.h"
#include "results.h"

struct gb_finding {
    const struct gb_workload *wk;
    const struct gb_summary *green; /* the best green configuration */
    const struct gb_summary *other; /* threads, or a peer's best series */
    struct gb_verdict v;            /* green against other */
};

/* Up to max findings of rd into out, workloads in catalog order, each
 * workload's threads row first, then epoll's, then its peers' in gb_peers
 * order;
 * threads_only: the threads rows alone. Returns how many. */
size_t gb_findings(const struct gb_rundata *rd, bool threads_only, struct gb_finding *out, size_t max);
/* A summary's headline figure for people: "3.50 ns", "10.2k request/s, CPU
 * 64.1 µs each" (a workload measured in requests per second: its client's
 * CPU time per request too, and ‡ when the local server was late), "4.08
 * KiB per task". */
void gb_figure_text(const struct gb_summary *s, char *out, size_t n);
/* Is the workload's headline figure memory (GB_METRIC_RSS_PER_TASK). */
bool gb_figure_is_memory(const struct gb_summary *s);

#endif /* GREENBENCH_FINDINGS_H */
