/* harness/journal.h: cells.jsonl from the run stage's side: one record
 * appended per repetition as it ends, and, for --resume, the (cell, rep)
 * pairs a run already holds (docs/results-format.md, "cells.jsonl"). The
 * results stage reads the same file back (results.h). */
#ifndef GREENBENCH_JOURNAL_H
#define GREENBENCH_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "cell.h"
#include "json.h"
#include "runner.h"
#include "util.h"

/* Open dir/cells.jsonl for appending (made if absent), take its exclusive
 * lock (flock, held until the descriptor is closed: one run or resume of a
 * folder at a time), and end a torn last line first when needs_newline.
 * The descriptor, or -1 said on stderr (the lock taken: another greenbench
 * runs in dir). */
int gb_journal_open(const char *dir, bool needs_newline);
/* What a record says of how its repetition was run. */
struct gb_journal_job {
    const struct gb_cell *cell;
    int rep;           /* 0: the warm-up */
    int max_reps;      /* the plan's */
    long rounds;       /* workload runs in the process (--rounds) */
    size_t job;        /* its number in the run's order */
    char **argv;       /* as run; NULL: it could not start */
    const char *url;   /* the server's; NULL: none */
    const char *started; /* UTC time it started */
    const json_t *server; /* the local server's window over it (NULL: none) */
    long long server_cpu_ns; /* a server with no window (greenbench-dns): its CPU time
                                over the repetition, from /proc; -1: none */
};
/* Append the record of job j with outcome r to fd (cells.jsonl, opened
 * O_APPEND). One write per line, then fdatasync: nothing measured is
 * lost. A failed write is said on stderr. */
void gb_journal_append(int fd, const struct gb_journal_job *j, const struct gb_exec_result *r);

/* cells.jsonl read back, by --resume and by the results stage: every line
 * that is a record (a JSON object with a "cell"), in file order with its
 * line number, and the numbers of the lines that are not (not JSON, NUL
 * bytes from a crash or a power loss, a torn last line). A bad line never
 * hides the lines after it; blank lines are neither. */
struct gb_jsonl {
    json_t **recs;
    size_t *lineno; /* 1-based line of recs[i] */
    size_t n;
    size_t *bad;    /* 1-based numbers of the bad lines */
    size_t nbad;
    bool torn;      /* the file does not end with a newline */
};
/* Read path into *j: 0 (an absent file reads as empty), or a negative
 * errno. Free with gb_jsonl_free. */
int gb_jsonl_load(const char *path, struct gb_jsonl *j);
void gb_jsonl_free(struct gb_jsonl *j);
/* Append "line 3 is not a record" or "lines 3, 17 and 18 are not a record"
 * (the first ten numbers, then "and N more") for j's bad lines to out. */
void gb_jsonl_bad_lines(const struct gb_jsonl *j, struct gb_buf *out);

#endif /* GREENBENCH_JOURNAL_H */
