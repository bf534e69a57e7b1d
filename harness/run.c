/* harness/run.c: `greenbench run` (run.h): the plan, the run directory and
 * meta.json, the preflight, then the job loop: every repetition of every
 * cell in the plan's order, each appended to cells.jsonl as it ends, with
 * a progress line; ^C stops it and keeps everything. */
#include "run.h"

#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalog.h"
#include "cell.h"
#include "journal.h"
#include "json.h"
#include "meta.h"
#include "options.h"
#include "plan.h"
#include "programs.h"
#include "report.h"
#include "runner.h"
#include "server.h"
#include "util.h"

int gb_argc;     /* set by gb_main */
char **gb_argv;

static volatile int stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

/* run --help: the head, a line per axis, the tail. */
static const char run_help_head[] =
    "usage: greenbench run [--quick | --full] [FILTERS] [--reps N] [--timeout S]\n"
    "                      [--out DIR] [--seed N] [--no-plots] [--dry-run]\n"
    "       greenbench run --resume DIR\n"
    "\n"
    "Runs the benchmark matrix: every cell (workload x implementation x parameters)\n"
    "in its own child process, a warm-up round that is not counted, then N counted\n"
    "repetitions in a random interleaved order (the seed is recorded). Writes\n"
    "results/<timestamp>/: meta.json, cells.jsonl, summary.csv, plots/, report.md,\n"
    "report.html.\n"
    "\n"
    "Presets:\n"
    "  (none)     the default matrix: every workload, backend and the thread baseline;\n"
    "             5 repetitions; about 3 minutes on 2 cores\n"
    "  --quick    fewer sizes, one green backend pair but every switch backend;\n"
    "             3 repetitions; under 1 minute\n"
    "  --full     larger sizes up to N=100000; 10 repetitions; as long as it takes\n"
    "\n"
    "Filters (comma lists; each replaces the preset's values for that axis):\n"
    "  --workload W     %s\n"
    "  --impl I         green, threads, and the peers present (greenbench list)\n"
    "  --switch S       context-switch backends (asm, asm-nofpu, ucontext, boost)\n"
    "  --loop L         event-loop backends (libev, libuv)\n";
static const char run_help_tail[] =
    "\n"
    "Other options:\n"
    "  --reps N         counted repetitions per cell (default 5; quick 3; full 10)\n"
    "  --timeout S      seconds per repetition before its process group is killed\n"
    "                   (default 30; quick 20; full 600); 1.5, 90s, 2m accepted\n"
    "  --out DIR        output directory; must be new or empty\n"
    "  --seed N         seed of the run order (default: random, recorded)\n"
    "  --resume DIR     finish an interrupted run with the plan stored in DIR\n"
    "  --no-plots       skip gnuplot\n"
    "  --dry-run        print the cells and exit\n"
    "\n"
    "Environment: GREENBENCH_BIN_DIR (cell programs; default: beside this binary),\n"
    "GREENBENCH_RESULTS_DIR (default: results), GREENBENCH_GNUPLOT (gnuplot program).\n"
    "Exit status: 0 every repetition ran ok, 1 some failed or the run was\n"
    "interrupted (the report is still written), 2 bad usage.\n";

/* The help names the workloads each filter applies to, from the catalog. */
static void print_run_help(void)
{
    char *names = gb_workload_names(GB_PICK_ALL, 0, ", ", ", ");
    printf(run_help_head, names);
    free(names);
    for (int a = 0; a < GB_NAXES; a++) {
        const struct gb_axis *ax = &gb_axes[a];
        char *opt = gb_xasprintf("%s %s", ax->option, ax->metavar);
        names = gb_workload_names(ax->pick, 1u << a, ", ", ", ");
        printf("  %-16s ", opt);
        printf(ax->help, names);
        printf("\n");
        free(names);
        free(opt);
    }
    fputs(run_help_tail, stdout);
}

/* ---- progress ---- */

/* Seconds left: each remaining job costs what its cell cost last time (the
 * warm-up round measures every cell once), else the average so far. */
static double estimate_left(const struct gb_job *jobs, size_t njobs, size_t next,
                            const double *cell_s, double avg, const bool *skip)
{
    double left = 0;
    for (size_t k = next; k < njobs; k++)
        if (!skip[k])
            left += cell_s[jobs[k].cell] > 0 ? cell_s[jobs[k].cell] : avg;
    return left;
}

static void progress(bool tty, size_t idx, size_t total, const struct gb_cell *c, int rep,
                     int reps, int64_t started, size_t ran, double left_s, const char *outcome)
{
    char label[300], el[32], left[32];
    if (rep == 0)
        snprintf(label, sizeof label, "%s warm-up", c->key);
    else
        snprintf(label, sizeof label, "%s rep %d/%d", c->key, rep, reps);
    double elapsed = (double)(gb_now_ns() - started) / 1e9;
    gb_format_duration(el, sizeof el, elapsed);
    if (ran > 0)
        gb_format_duration(left, sizeof left, left_s);
    else
        snprintf(left, sizeof left, "?");
    if (tty && outcome == NULL)
        fprintf(stderr, "\r\033[K[%zu/%zu] %s  %s elapsed, ~%s left", idx, total, label, el, left);
    else if (tty)
        fprintf(stderr, "\r\033[K[%zu/%zu] %s: %s\n", idx, total, label, outcome);
    else if (outcome)
        fprintf(stderr, "[%zu/%zu] %s: %s  (%s elapsed, ~%s left)\n", idx, total, label, outcome,
                el, left);
    fflush(stderr);
}

/* ---- the job loop ---- */

/* The job loop's state. */
struct loop {
    struct gb_run_state *rs;
    struct gb_job *jobs;
    size_t njobs;
    bool *skip;          /* what an interrupted run already did (--resume) */
    size_t todo;
    double *cell_s;      /* seconds each cell's last repetition took */
    int64_t started;
    size_t ran, idx;     /* repetitions run, and the number of the current one */
    bool tty;
    int fd;              /* cells.jsonl */
    struct gb_servers sv;
};

/* One line saying how a repetition ended, into out (n bytes). */
static void outcome_text(const struct gb_exec_result *r, const struct gb_workload *w, char *out,
                         size_t n)
{
    if (r->status == GB_ST_OK) {
        double ns = gb_json_num(r->json, "ns_per_op", 0);
        char nsb[32];
        gb_format_ns(nsb, sizeof nsb, ns);
        snprintf(out, n, "ok, %s per %s", nsb, w ? w->op : "op");
    } else {
        /* The last stderr line says most about a failure. */
        char *copy = gb_xstrdup(r->stderr_tail ? r->stderr_tail : "");
        const char *last = gb_last_line(copy, "\n\r");
        snprintf(out, n, "%s: %.500s%s%.200s", gb_status_name(r->status), r->message,
                 *last ? "; stderr: " : "", last);
        free(copy);
    }
}

/* Run cell c once into *r: its program, its server when its workload needs
 * one, its argv (*cargv, *prog and *url, which the caller frees or
 * borrows). A cell that cannot start is a failed repetition. */
static void run_cell(struct loop *l, const struct gb_cell *c, const struct gb_workload *w,
                     struct gb_exec_result *r, char **prog, char ***cargv, const char **url)
{
    memset(r, 0, sizeof *r);
    r->exit_code = -1;
    char why[512];
    *prog = gb_cell_program(&l->rs->progs, c, why, sizeof why);
    *url = NULL;
    *cargv = NULL;
    if (*prog && w && w->needs_server) {
        struct gb_server *s =
            gb_servers_get(&l->sv, &l->rs->progs, c->delay_ms, c->size, why, sizeof why);
        if (s == NULL) {
            free(*prog);
            *prog = NULL;
        } else {
            *url = s->url;
        }
    }
    if (*prog == NULL) {
        r->status = GB_ST_FAILED;
        snprintf(r->message, sizeof r->message, "%s", why);
        r->stderr_tail = gb_xstrdup("");
    } else {
        *cargv = gb_cell_argv(c, *prog, *url);
        gb_exec(*cargv, l->rs->plan.timeout_s, &stop_requested, c->workload, r);
    }
}

/* Job j: run it, record it, count it, say how it went. false when ^C (or
 * SIGTERM) interrupted it: nothing is recorded then. */
static bool run_job(struct loop *l, size_t j)
{
    struct gb_run_state *rs = l->rs;
    const struct gb_cell *c = &rs->plan.cells[l->jobs[j].cell];
    int rep = l->jobs[j].rep, reps = rs->plan.reps;
    l->idx++;
    double avg = l->ran ? (double)(gb_now_ns() - l->started) / 1e9 / (double)l->ran : 0;
    if (l->tty)
        progress(true, l->idx, l->njobs, c, rep, reps, l->started, l->ran,
                 estimate_left(l->jobs, l->njobs, j, l->cell_s, avg, l->skip), NULL);
    char started_at[32];
    gb_utc_iso(started_at, sizeof started_at);
    const struct gb_workload *w = gb_workload_find(c->workload);
    struct gb_exec_result r;
    char *prog, **cargv;
    const char *url;
    run_cell(l, c, w, &r, &prog, &cargv, &url);
    bool interrupted = r.status == GB_ST_INTERRUPTED;
    if (!interrupted) {
        gb_journal_append(l->fd, c, rep, reps, j, cargv, url, started_at, &r);
        l->ran++;
        l->cell_s[l->jobs[j].cell] = (double)r.elapsed_ns / 1e9;
        avg = (double)(gb_now_ns() - l->started) / 1e9 / (double)l->ran;
        rs->jobs_done++;
        if (rep > 0) {
            if (r.status == GB_ST_OK)
                rs->reps_ok++;
            else
                rs->reps_failed++;
        }
        char outcome[1000];
        outcome_text(&r, w, outcome, sizeof outcome);
        if (!l->tty || r.status != GB_ST_OK)
            progress(l->tty, l->idx, l->njobs, c, rep, reps, l->started, l->ran,
                     estimate_left(l->jobs, l->njobs, j + 1, l->cell_s, avg, l->skip), outcome);
    }
    gb_exec_result_free(&r);
    gb_argv_free(cargv);
    free(prog);
    return !interrupted;
}

/* Every job not done yet, in order, until ^C or SIGTERM; those stop the
 * loop (stop_requested), and SIGPIPE is ignored from here on. */
static void run_jobs(struct loop *l)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    struct sigaction old_int, old_term;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    signal(SIGPIPE, SIG_IGN);
    stop_requested = 0;

    gb_servers_init(&l->sv, l->rs->dir);
    l->tty = isatty(2);
    l->started = gb_now_ns();
    l->idx = l->njobs - l->todo;
    l->cell_s = gb_xcalloc(l->rs->plan.ncells, sizeof *l->cell_s);
    for (size_t j = 0; j < l->njobs && !stop_requested; j++)
        if (!l->skip[j] && !run_job(l, j))
            break;
    if (l->tty)
        fprintf(stderr, "\r\033[K");
    free(l->skip);
    free(l->cell_s);
    gb_servers_stop(&l->sv);
    close(l->fd);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
}

/* ---- the command ---- */

static void print_plan(const struct gb_plan *pl, FILE *f)
{
    for (size_t i = 0; i < pl->ncells; i++)
        fprintf(f, "  %s\n", pl->cells[i].key);
}

/* --resume DIR: the plan in DIR/meta.json and what DIR/cells.jsonl holds.
 * 0, or GB_EXIT_USAGE said on stderr. */
static int resume(struct gb_run_state *rs, const char *dir, struct gb_done *done,
                  bool *needs_newline)
{
    char err[1024];
    rs->resumed = true;
    snprintf(rs->dir, sizeof rs->dir, "%s", dir);
    char *path = gb_xasprintf("%s/meta.json", rs->dir), *text;
    size_t len;
    int rc = gb_read_file(path, &text, &len);
    free(path);
    if (rc != 0) {
        fprintf(stderr, "greenbench run: --resume: cannot read %s/meta.json: %s\n", rs->dir,
                strerror(-rc));
        return GB_EXIT_USAGE;
    }
    if (gb_json_parse(text, len, &rs->old_meta, err, sizeof err) != 0 ||
        gb_plan_from_meta(rs->old_meta, &rs->plan, err, sizeof err) != 0) {
        fprintf(stderr, "greenbench run: --resume: %s/meta.json: %s\n", rs->dir, err);
        free(text);
        json_decref(rs->old_meta);
        return GB_EXIT_USAGE;
    }
    free(text);
    path = gb_xasprintf("%s/cells.jsonl", rs->dir);
    rc = gb_done_load(path, done, needs_newline);
    free(path);
    if (rc != 0) {
        fprintf(stderr, "greenbench run: --resume: cannot read %s/cells.jsonl: %s\n", rs->dir,
                strerror(-rc));
        return GB_EXIT_USAGE;
    }
    return 0;
}

/* Between the plan and the first job: the run directory of a fresh run,
 * the preflight, meta.json, cells.jsonl opened (l->fd), the jobs to skip.
 * 0, or the exit status, said on stderr. */
static int prepare(struct loop *l, const struct gb_run_opts *o, const struct gb_done *done,
                   bool needs_newline)
{
    struct gb_run_state *rs = l->rs;
    const struct gb_plan *pl = &rs->plan;
    char err[1024];
    if (!o->resume[0]) {
        int rc = gb_run_dir_make(o, rs->dir, sizeof rs->dir, err, sizeof err);
        if (rc != 0) {
            fprintf(stderr, "greenbench run: %s\n", err);
            return rc;
        }
    }
    if (pl->preset == GB_PRESET_FULL && !o->resume[0])
        fprintf(stderr, "greenbench: --full runs %zu cells x %d repetitions (%zu runs) with "
                        "sizes up to N=100000: it takes as long as it takes, possibly hours. "
                        "^C stops it and keeps everything; --resume %s finishes it.\n",
                pl->ncells, pl->reps, l->njobs, rs->dir);
    gb_run_preflight(rs);
    gb_utc_iso(rs->start_time, sizeof rs->start_time);
    rs->status = "running";
    rs->reps_ok = done->ok;
    rs->reps_failed = done->failed;
    int rc = gb_meta_write(rs);
    if (rc != 0) {
        fprintf(stderr, "greenbench run: --out: cannot write %s/meta.json: %s\n", rs->dir,
                strerror(-rc));
        return GB_EXIT_USAGE;
    }
    l->fd = gb_journal_open(rs->dir, needs_newline);
    if (l->fd < 0)
        return GB_EXIT_USAGE;
    l->skip = gb_xcalloc(l->njobs, sizeof *l->skip);
    for (size_t j = 0; j < l->njobs; j++) {
        l->skip[j] = gb_done_has(done, pl->cells[l->jobs[j].cell].key, l->jobs[j].rep);
        l->todo += !l->skip[j];
    }
    fprintf(stderr, "greenbench: %zu cells x (1 warm-up + %d reps) = %zu runs%s%zu to go; "
                    "seed %llu; results in %s\n",
            pl->ncells, pl->reps, l->njobs, o->resume[0] ? ", resuming: " : ", ", l->todo,
            (unsigned long long)pl->seed, rs->dir);
    return 0;
}

/* After the last job: meta.json's final state, the summaries, plots and
 * reports, and what to do next. The exit status. */
static int finish(struct gb_run_state *rs, const struct gb_done *done, bool plots)
{
    bool interrupted = stop_requested != 0;
    rs->jobs_done += done->n;
    gb_utc_iso(rs->end_time, sizeof rs->end_time);
    rs->status = interrupted ? "interrupted" : "complete";
    int rc = gb_meta_write(rs);
    if (rc != 0)
        fprintf(stderr, "greenbench: cannot update %s/meta.json: %s\n", rs->dir, strerror(-rc));

    int brc = gb_rebuild(rs->dir, plots, false);
    fprintf(stderr, "greenbench: %zu repetitions ok, %zu failed%s; results in %s\n", rs->reps_ok,
            rs->reps_failed, interrupted ? ", interrupted" : "", rs->dir);
    if (interrupted)
        fprintf(stderr, "greenbench: interrupted: everything measured is kept; finish with\n"
                        "  greenbench run --resume %s\n", rs->dir);
    if (interrupted || rs->reps_failed > 0 || brc != 0)
        return GB_EXIT_FAILED;
    return GB_EXIT_OK;
}

int gb_cmd_run(int argc, char **argv)
{
    struct gb_run_opts o;
    char err[1024];
    int rc = gb_run_opts_parse(argc, argv, &o, err, sizeof err);
    if (rc == -1) {
        print_run_help();
        return GB_EXIT_OK;
    }
    if (rc != 0) {
        fprintf(stderr, "greenbench run: %s\n", err);
        return GB_EXIT_USAGE;
    }
    struct gb_run_state rs;
    memset(&rs, 0, sizeof rs);
    rs.argc = gb_argv ? gb_argc : argc; /* the whole command line when run from main */
    rs.argv = gb_argv ? gb_argv : argv;
    rs.opts = &o;
    char bin[PATH_MAX];
    gb_bin_dir(bin, sizeof bin);
    gb_programs_scan(bin, &rs.progs);

    struct gb_done done;
    memset(&done, 0, sizeof done);
    bool needs_newline = false;
    if (o.resume[0]) {
        if (resume(&rs, o.resume, &done, &needs_newline) != 0)
            return GB_EXIT_USAGE;
    } else if (gb_plan_make(&o, &rs.progs, &rs.plan, err, sizeof err) != 0) {
        fprintf(stderr, "greenbench run: %s\n", err);
        return GB_EXIT_USAGE;
    }
    struct gb_plan *pl = &rs.plan;
    struct loop l = { .rs = &rs, .fd = -1 };
    l.jobs = gb_schedule(pl->ncells, pl->reps, pl->seed, &l.njobs);
    rs.jobs_total = l.njobs;
    if (o.dry_run) {
        printf("%zu cells x (1 warm-up + %d reps) = %zu runs, timeout %.3g s, seed %llu:\n",
               pl->ncells, pl->reps, l.njobs, pl->timeout_s, (unsigned long long)pl->seed);
        print_plan(pl, stdout);
        free(l.jobs);
        gb_plan_free(pl);
        return GB_EXIT_OK;
    }
    rc = prepare(&l, &o, &done, needs_newline);
    if (rc == 0) {
        run_jobs(&l);
        rc = finish(&rs, &done, !o.no_plots);
    }
    gb_done_free(&done);
    free(l.jobs);
    gb_plan_free(pl);
    json_decref(rs.old_meta);
    return rc;
}
