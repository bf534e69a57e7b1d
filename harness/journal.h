/* harness/journal.h: cells.jsonl from the run stage's side: one record
 * appended per repetition as it ends, and, for --resume, the (cell, rep)
 * pairs a run already holds (docs/results-format.md, "cells.jsonl"). The
 * results stage reads the same file back (results.h). */
#ifndef GREENBENCH_JOURNAL_H
#define GREENBENCH_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "cell.h"
#include "runner.h"

/* Open dir/cells.jsonl for appending (made if absent), and end a torn last
 * line first when needs_newline. The descriptor, or -1 said on stderr. */
int gb_journal_open(const char *dir, bool needs_newline);
/* Append the record of repetition rep (0: the warm-up) of reps of cell c,
 * job number job of the order, to fd (cells.jsonl, opened O_APPEND): argv
 * as run (NULL: it could not start), the server's url (NULL: none), the
 * UTC time it started and its outcome r. One write per line, then
 * fdatasync: nothing measured is lost. A failed write is said on stderr. */
void gb_journal_append(int fd, const struct gb_cell *c, int rep, int reps, size_t job,
                       char **argv, const char *url, const char *started,
                       const struct gb_exec_result *r);

/* The (key, rep) pairs already in cells.jsonl, and how many counted
 * repetitions among them were ok and failed. */
struct gb_done {
    char **keys;
    int *reps;
    size_t n;
    size_t ok, failed;
};
/* Read path into *d (empty when there is no such file); *needs_newline when
 * its last line is torn (no newline). 0 or a negative errno. Lines that do
 * not parse are skipped: those repetitions run again. */
int gb_done_load(const char *path, struct gb_done *d, bool *needs_newline);
bool gb_done_has(const struct gb_done *d, const char *key, int rep);
void gb_done_free(struct gb_done *d);

#endif /* GREENBENCH_JOURNAL_H */
