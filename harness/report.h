/* harness/report.h: the report stage: report.md and report.html of a
 * loaded run, one function per section in report.c
 * (docs/results-format.md, "report.md and report.html"), and `greenbench
 * report DIR`, which rebuilds summary.csv, the plots and both reports from
 * the stored files. */
#ifndef GREENBENCH_REPORT_H
#define GREENBENCH_REPORT_H

#include <stdbool.h>
#include <stdio.h>

#include "results.h"

/* rd->dir/report.md and report.html (atomically); plots_drawn: > 0 drawn,
 * 0 none, < 0 gnuplot missing. 0, or the last write's negative errno (each
 * failure said on stderr). */
int gb_write_reports(const struct gb_rundata *rd, int plots_drawn);
/* The findings against OS threads, one line per workload, for a terminal. */
void gb_print_headlines(const struct gb_rundata *rd, FILE *f);
/* Everything from the stored files of dir: summary.csv, the plots (drawn
 * when plots), report.md, report.html; what was written is said on stderr,
 * unless GB_REBUILD_QUIET; GB_REBUILD_HEADLINES prints the headlines and
 * where the report is on stdout instead. 0 or a negative errno (said on
 * stderr). */
enum { GB_REBUILD_QUIET = 1, GB_REBUILD_HEADLINES = 2 };
int gb_rebuild(const char *dir, bool plots, unsigned flags);
/* greenbench report [--no-plots] DIR: exit 0, 1 (a write failed) or 2. */
int gb_cmd_report(int argc, char **argv);

#endif /* GREENBENCH_REPORT_H */
