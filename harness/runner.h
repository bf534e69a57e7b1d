/* harness/runner.h: the run stage's unit: one repetition of one cell, run
 * as a child process (process.h) and classified from its exit, its signal
 * and its last stdout line: ok, failed, crashed, timeout, garbled
 * (docs/cell-protocol.md, "How the harness treats a cell"). */
#ifndef GREENBENCH_RUNNER_H
#define GREENBENCH_RUNNER_H

#include <stdint.h>

#include "json.h"

/* A repetition's outcome, as cells.jsonl spells it (gb_status_name). */
enum gb_status { GB_ST_OK, GB_ST_FAILED, GB_ST_CRASHED, GB_ST_TIMEOUT, GB_ST_GARBLED,
                 GB_ST_INTERRUPTED };
const char *gb_status_name(enum gb_status s); /* "?" for a value out of range */
int gb_status_parse(const char *s);           /* -1 if unknown or NULL */

struct gb_exec_result {
    enum gb_status status;
    int exit_code;           /* -1 when signalled */
    int signal;              /* 0 when exited */
    char message[512];
    json_t *json;    /* last stdout line when it is a JSON object, parsed
                                once here for the checks, the record and the log */
    char *stdout_tail;       /* when garbled */
    char *stderr_tail;
    int64_t elapsed_ns;
    long maxrss_kb;
    int64_t utime_ns, stime_ns;
    long threads_peak; /* the most OS threads a sample saw (gb_proc_end); 0: none taken */
};
/* Free what r holds (json, the tails); r itself is the caller's. */
void gb_exec_result_free(struct gb_exec_result *r);
/* Run argv (argv[0] a path) in its own process group, with stdin from
 * /dev/null, the last 1 MiB of stdout and 8 KiB of stderr kept, its OS
 * threads sampled while it runs, killed (the whole group) after timeout_s
 * seconds; *stop set from a signal handler
 * ends it early with GB_ST_INTERRUPTED. Classifies the outcome into *r
 * (always filled; free with gb_exec_result_free); checks the JSON's
 * workload and required fields against `workload` when not NULL.
 * namespaces_of > 0: the cell runs in that process's network and mount
 * namespaces (gb_proc_opts.namespaces_of). */
void gb_exec(char *const argv[], double timeout_s, volatile int *stop, const char *workload,
             int namespaces_of, struct gb_exec_result *r);

/* What a repetition was asked: its --rounds, the warm-up's ops (NAN: not
 * known), its --n (-1: none) and its --impl (NULL: not checked). */
struct gb_exec_asked {
    long rounds;
    double one_round_ops;
    long n;
    const char *impl;
};

/* An ok result's figures against what a repetition must hold
 * (docs/cell-protocol.md): wall_ns and ops above 0, ns_per_op = wall_ns /
 * ops, `rounds` what was asked, ops = rounds x one_round_ops, `n` and
 * `impl` (where echoed) what was asked, `cpu_ns` and `rss_per_task_bytes`
 * not below 0, and no `errors`. A result that breaks one is garbled: r's
 * status and message say which, so that no impossible figure enters the
 * statistics. */
void gb_exec_check_figures(struct gb_exec_result *r, const struct gb_exec_asked *asked);

#endif /* GREENBENCH_RUNNER_H */
