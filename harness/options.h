/* harness/options.h: the options of `greenbench run`, the plan stage's
 * input. Every bad value gets an error that names the option and what it
 * accepts; nothing runs until all of them parsed. One option per axis comes
 * from axes.def. */
#ifndef GREENBENCH_OPTIONS_H
#define GREENBENCH_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "catalog.h"

/* A list of long values, -1 meaning "not passed" */
struct gb_longs { long v[GB_MAX_LIST]; size_t n; };
struct gb_names { char v[GB_MAX_LIST][GB_NAME]; size_t n; };

/* Options of `greenbench run`. */
struct gb_run_opts {
    enum gb_preset preset;
    struct gb_names workloads, impls, switches, loops;
#define GB_AXIS(ID, field, ...) struct gb_longs field; /* empty: the preset's */
#include "axes.def"
#undef GB_AXIS
    long reps;            /* --reps: a fixed count; -1: not given */
    long min_reps, max_reps; /* -1: the preset's */
    double target_ci;     /* <= 0: the preset's */
    double budget_s;      /* < 0: the preset's; 0: no budget */
    double timeout_s;     /* <= 0: the preset's */
    char out[4096];       /* "" : <results root>/<timestamp> */
    char resume[4096];
    char emit[16];        /* --emit: "parallel", "slurm"; "": run */
    char shard[4096];     /* --shard FILE: "" none */
    char *peers[GB_MAX_PEERS]; /* --peer NAME=COMMAND|FILE.conf, as given (argv's) */
    size_t npeers;
    char peers_dir[4096]; /* --peers-dir: "" the default (peers_ext.h) */
    bool seed_set;
    uint64_t seed;
    bool no_plots;
    bool dry_run;
};

/* Parse `run`'s argv (argv[0] is "run") with getopt_long(3), which it
 * starts over (optind) and which leaves argv in its order; unambiguous
 * abbreviations are accepted, "--" ends the options. Returns 0, GB_EXIT_USAGE
 * with a message in err (errlen bytes), or -1 when --help was asked for. */
int gb_run_opts_parse(int argc, char **argv, struct gb_run_opts *o, char *err, size_t errlen);
/* Axis a's values in a run's options (empty: not given). */
const struct gb_longs *gb_opts_axis(const struct gb_run_opts *o, enum gb_axis_id a);
/* Parse helpers (exposed for tests): comma lists of whole numbers from min
 * to max (10k, 2M accepted; duplicates dropped) and of names, for option opt.
 * 0, or GB_EXIT_USAGE with a message in err. */
/* A --stacks list: private (0), copy (1) or copy:K (K), comma-separated.
 * 0 or GB_EXIT_USAGE with a message in err. */
int gb_parse_stacks(const char *opt, const char *s, struct gb_longs *out, char *err, size_t errlen);
int gb_parse_longs(const char *opt, const char *s, long min, long max, struct gb_longs *out, char *err,
                   size_t errlen);
int gb_parse_names(const char *opt, const char *s, struct gb_names *out, char *err, size_t errlen);

#endif /* GREENBENCH_OPTIONS_H */
