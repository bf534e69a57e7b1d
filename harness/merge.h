/* harness/merge.h: the merge stage: `greenbench merge OUT DIR...` joins the
 * run folders of a campaign's shards, run on many machines, into one
 * folder, never pooling the repetitions of two hosts: each host gets an
 * ordinary run folder of its own (OUT/hosts/<id>/) that the results stage
 * reads as it reads any run, and OUT gets every record with its host,
 * summary.csv with a host column, the per-host ratios of every comparison
 * group, a cross-host table and report.md (docs/results-format.md,
 * "Merged folders"). */
#ifndef GREENBENCH_MERGE_H
#define GREENBENCH_MERGE_H

#include <stdbool.h>

/* greenbench merge [--force] [--no-plots] OUT DIR...: exit 0, 1 (a shard
 * or cell is missing, a shard failed, or a write failed) or 2 (bad usage,
 * one run given twice, two folders of one host with a cell in common, or
 * folders of different plans or builds without --force). */
int gb_cmd_merge(int argc, char **argv);
/* Is dir a merged folder (it has merge.json). */
bool gb_merge_is(const char *dir);
/* Rebuild what a merged folder derives from OUT/hosts/ and merge.json:
 * each host's summaries, plots (when plots) and reports, OUT/summary.csv,
 * ratios.csv, cross-host.csv, report.md. 0, or a negative errno said on
 * stderr. */
int gb_merge_rebuild(const char *out, bool plots);

#endif /* GREENBENCH_MERGE_H */
