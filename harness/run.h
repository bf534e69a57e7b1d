/* harness/run.h: the run stage: `greenbench run`. Plans the cells (plan.h),
 * makes the run directory and records the run (meta.h), then runs every
 * repetition of every cell as a child process (runner.h) in the plan's
 * seeded, interleaved order, one uncounted warm-up round first, appending
 * each result to cells.jsonl as it ends (journal.h), with the local servers
 * it needs (server.h); then rebuilds the summaries, plots and reports
 * (report.h). ^C stops after writing what was measured; --resume DIR
 * finishes the plan in DIR/meta.json. */
#ifndef GREENBENCH_RUN_H
#define GREENBENCH_RUN_H

/* greenbench run [OPTIONS]: exit 0 (every repetition ok), 1 (some failed,
 * or interrupted; the report is still written) or 2 (bad usage). */
int gb_cmd_run(int argc, char **argv);

/* The whole command line, as main() got it (for meta.json); 0 and NULL
 * when gb_cmd_run is called otherwise (it records its own argv then). */
extern int gb_argc;
extern char **gb_argv;

#endif /* GREENBENCH_RUN_H */
