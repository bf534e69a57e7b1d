/* harness/plan.h: the plan stage: from `run`'s options and the programs
 * found to the cells of a run (the product of the filters, less what makes
 * no sense: no loop for a raw switch, no switch backend for threads or
 * peers), the presets' sizes, and the seeded, interleaved order of their
 * repetitions. The plan is stored in meta.json, so that --resume and every
 * later stage read the same cells (docs/results-format.md, "meta.json"). */
#ifndef GREENBENCH_PLAN_H
#define GREENBENCH_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "catalog.h"
#include "cell.h"
#include "json.h"
#include "options.h"
#include "programs.h"
#include "util.h"

/* A run's plan. */
struct gb_plan {
    struct gb_cell *cells; /* malloc'd; gb_plan_free frees them */
    size_t ncells;
    int reps;              /* counted repetitions per cell, after one warm-up */
    double timeout_s;      /* per repetition */
    uint64_t seed;         /* of the order */
    enum gb_preset preset;
};

/* A fresh run's plan from its options: the cells (gb_matrix_expand), the
 * preset's reps and timeout unless given, the seed given or a random one.
 * 0, or GB_EXIT_USAGE with a message naming the option in err. */
int gb_plan_make(const struct gb_run_opts *o, const struct gb_programs *p, struct gb_plan *pl,
                 char *err, size_t errlen);
/* The plan stored in meta.json (meta, the parsed file): 0, or -EINVAL with
 * a message in err. */
int gb_plan_from_meta(const json_t *meta, struct gb_plan *pl, char *err, size_t errlen);
/* The plan as meta.json's "plan" object; o (NULL: none) adds the filters
 * that made it. */
json_t *gb_plan_to_json(const struct gb_plan *pl, const struct gb_run_opts *o);
void gb_plan_free(struct gb_plan *pl);

/* Check the names of o against what p holds and expand o into cells, in
 * catalog order, the last axis varying fastest (the caller frees *cells).
 * Returns 0 or GB_EXIT_USAGE with a message naming the option. */
int gb_matrix_expand(const struct gb_run_opts *o, const struct gb_programs *p,
                     struct gb_cell **cells, size_t *ncells, char *err, size_t errlen);

/* A preset's repetitions, timeout (seconds) and name. */
long gb_preset_reps(enum gb_preset p);
double gb_preset_timeout(enum gb_preset p);
const char *gb_preset_name(enum gb_preset p);
/* Append "n=100,1000 k=10,50 delay-ms=5 size=1024": a preset's values for a
 * workload (nothing for an unknown one). */
void gb_preset_describe(enum gb_preset p, const char *workload, struct gb_buf *out);

/* Seeded xorshift64* generator for the run order, identical everywhere. */
uint64_t gb_rand_next(uint64_t *state);
/* One repetition of one cell. */
struct gb_job { size_t cell; int rep; /* 0 = warm-up */ };
/* The job order: reps + 1 rounds (round 0 = the warm-ups), each a fresh
 * shuffle of the cell indexes from seed; *njobs = ncells * (reps + 1). The
 * caller frees the array. */
struct gb_job *gb_schedule(size_t ncells, int reps, uint64_t seed, size_t *njobs);

#endif /* GREENBENCH_PLAN_H */
