/* harness/meta.h: the meta stage: meta.json, what a run records about
 * itself (the command line, git, versions, machine, preflight, the
 * descriptor limits, the programs found, the plan, then its state and
 * counts), written at the start and the end of a run, fresh or resumed
 * (docs/results-format.md, "meta.json"); and the run directory it goes in. */
#ifndef GREENBENCH_META_H
#define GREENBENCH_META_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/resource.h>

#include "json.h"
#include "options.h"
#include "plan.h"
#include "preflight.h"
#include "programs.h"

/* A run as meta.json records it, kept by `greenbench run` as it goes. */
struct gb_run_state {
    char dir[PATH_MAX];
    struct gb_plan plan;
    struct gb_programs progs;
    struct gb_preflight pf;
    struct rlimit nofile_before, nofile_after;
    char start_time[32], end_time[32];
    const char *status;     /* "running", "interrupted", "complete" */
    int argc;               /* the whole command line */
    char **argv;
    /* meta.json less the run's own state: read on --resume, built once by a
     * fresh run's first write (it costs processes: git, version probes). */
    json_t *old_meta;
    /* The local server's setup for the fetch cells (its loops and their
     * CPUs, "last" or a list), for meta.json. */
    int server_threads;
    char server_cpus[256];
    bool resumed;
    json_t *campaign; /* a shard's "campaign" (--shard), for meta.json; NULL: none */
    const struct gb_run_opts *opts;
    size_t jobs_total, jobs_done, reps_ok, reps_failed;
};

/* The preflight of rs->plan (gb_preflight, with the most sockets and tasks a
 * planned cell holds) into rs->pf, each warning said on stderr; and this
 * process's soft RLIMIT_NOFILE raised to its hard limit for the cells (as
 * Go does), rs->nofile_before and nofile_after recording both. Changes
 * nothing else. */
void gb_run_preflight(struct gb_run_state *rs);
/* Write rs->dir/meta.json (atomically): what was recorded first is kept as
 * it is, the run's state is updated, and a resumed run adds its entry to
 * "resumed". 0 or a negative errno. */
int gb_meta_write(struct gb_run_state *rs);
/* The directory of a fresh run, into dir (n bytes): --out (new or empty,
 * made), else a new <GREENBENCH_RESULTS_DIR or results>/<local time stamp>;
 * checked writable. 0, or GB_EXIT_USAGE with a message in err. */
int gb_run_dir_make(const struct gb_run_opts *o, char *dir, size_t n, char *err, size_t errlen);

#endif /* GREENBENCH_META_H */
