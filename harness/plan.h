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

/* When a cell has had enough counted repetitions (docs/results-format.md,
 * "Repetitions"): at least min_reps; then it stops once the interval of its
 * median is within +-target_ci of the median (relative), or it has had
 * max_reps, or the budget is spent: its own share (GB_BUDGET_SHARES times
 * budget_s / the number of cells) or the run's (budget_s in all). Times are
 * the repetitions' process lifetimes, warm-ups included, so that a resumed
 * run counts what the interrupted one spent. */
struct gb_stop_rule {
    int min_reps, max_reps;
    double target_ci; /* relative half-width, e.g. 0.05 for +-5% */
    double budget_s;  /* 0: no budget */
};
#define GB_BUDGET_SHARES 3

/* Why a cell stopped repeating (summary.csv's stop_reason). */
enum gb_stop {
    GB_STOP_NONE,      /* it goes on (a run that ended here: interrupted) */
    GB_STOP_CONVERGED, /* its median's interval is within the target */
    GB_STOP_FIXED,     /* min_reps == max_reps: a fixed count (--reps) */
    GB_STOP_MAX_REPS,
    GB_STOP_BUDGET,
    GB_STOP_FAILURES, /* a repetition failed: repeating it would not help */
};
const char *gb_stop_name(enum gb_stop s); /* "converged", "fixed", "max-reps", ... */
/* The rule for a cell that has had reps_ok + reps_failed counted
 * repetitions, whose headline metric's interval has relative half-width
 * rel_hw (NaN: none) and covers ci_level, which used cell_s seconds, in a
 * run that used run_s of its ncells cells. Only an interval that reaches
 * GB_CI_LEVEL converges: with 1 to 5 values, [min, max] covers 0 to 94%. */
enum gb_stop gb_stop_check(const struct gb_stop_rule *rule, size_t ncells, int reps_ok, int reps_failed,
                           double rel_hw, double ci_level, double cell_s, double run_s);

/* A run's plan. */
struct gb_plan {
    struct gb_cell *cells; /* malloc'd; gb_plan_free frees them */
    size_t ncells;
    struct gb_stop_rule stop;
    double min_rep_ms;     /* a repetition's timed part lasts at least this (gb_plan_rounds) */
    double timeout_s;      /* per repetition */
    uint64_t seed;         /* of the order */
    enum gb_preset preset;
};

/* A fresh run's plan from its options: the cells (gb_matrix_expand), the
 * preset's stop rule and timeout unless given, the seed given or a random
 * one.
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

/* A preset's stop rule, timeout (seconds) and name. */
struct gb_stop_rule gb_preset_stop_rule(enum gb_preset p);
double gb_preset_timeout(enum gb_preset p);
const char *gb_preset_name(enum gb_preset p);
/* Append "n=100,1000 k=10,50 delay-ms=5 size=1024": a preset's values for a
 * workload (nothing for an unknown one). */
void gb_preset_describe(enum gb_preset p, const char *workload, struct gb_buf *out);

/* How many times a cell program runs its workload in one repetition
 * (--rounds) so that the timed part lasts at least pl->min_rep_ms, from the
 * timed part of the cell's warm-up (wall_ns, with one round): 1 when it is
 * long enough or unknown, and for a workload whose figure is a memory
 * snapshot (GB_METRIC_RSS_PER_TASK). At most GB_MAX_ROUNDS. */
long gb_plan_rounds(const struct gb_plan *pl, const char *workload, double warmup_wall_ns);
#define GB_MAX_ROUNDS 10000
#define GB_MIN_REP_MS 5.0 /* long enough that a page fault or a timer tick is noise */

/* The CPUs the local server gets on a machine with ncpu CPUs: the last ones
 * (1 on a machine with up to 2, else a quarter); the cells keep the first
 * gb_client_cpus(ncpu). */
long gb_server_cpus(long ncpu);
long gb_client_cpus(long ncpu);

/* Seeded xorshift64* generator for the run order, identical everywhere. */
uint64_t gb_rand_next(uint64_t *state);
/* The order of round `round` (0 = the warm-ups, then one per counted
 * repetition): the n cell indexes of cells shuffled in place, from seed
 * and the round alone, so that a resumed run draws the same order. */
void gb_round_order(size_t *cells, size_t n, uint64_t seed, int round);

#endif /* GREENBENCH_PLAN_H */
