/* harness/campaign.h: part of the plan stage: a run spread over many
 * machines. `greenbench run --emit parallel|slurm --out CAMPAIGN` plans as a
 * run would and writes, instead of running, CAMPAIGN/plan.json, one shard
 * per comparison group under CAMPAIGN/shards/ and a launcher for GNU
 * parallel or a Slurm job array; `greenbench run --shard FILE` runs one
 * shard as an ordinary run (docs/results-format.md, "Campaigns"). */
#ifndef GREENBENCH_CAMPAIGN_H
#define GREENBENCH_CAMPAIGN_H

#include <stddef.h>

#include "cell.h"
#include "json.h"
#include "options.h"
#include "plan.h"
#include "programs.h"

/* The comparison group of c into out (n bytes): its workload and its work
 * parameters ("joinall n=1000 d=10ms size=1024"), without the series
 * (implementation, backends, setup, flag and variant axes), and without n
 * for a per-iteration workload, whose thread baseline may have another n.
 * Cells of one group are compared with each other, so they run on one host. */
void gb_group_key(const struct gb_cell *c, char *out, size_t n);
/* The plan's hash as 16 hex digits into out (17 bytes): of the plan as
 * meta.json stores it, cells, stop rule, timeout and seed. */
void gb_plan_hash(const struct gb_plan *pl, char out[17]);
/* Write the campaign of pl into o->out (new or empty): plan.json, shards/,
 * the launcher for o->emit ("parallel" or "slurm"), logs/; print how to
 * launch it. GB_EXIT_OK, or GB_EXIT_USAGE said on stderr. */
int gb_campaign_emit(const struct gb_plan *pl, const struct gb_run_opts *o, const struct gb_programs *p);
/* The plan of shard file path into *pl and its "campaign" object into
 * *campaign (a new reference); its external peers that are not registered
 * yet (the host's peers files come first) are registered, as --resume
 * registers meta.json's. 0, or -EINVAL / a negative errno with a message in
 * err; a file whose campaign names no shard (plan.json) is refused. */
int gb_shard_load(const char *path, struct gb_plan *pl, json_t **campaign, char *err, size_t errlen);

#endif /* GREENBENCH_CAMPAIGN_H */
