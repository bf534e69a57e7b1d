/* harness/run.c: `greenbench run` (run.h): the plan, the run directory and
 * meta.json, the preflight, then the job loop: every repetition of every
 * cell in the plan's order, each appended to cells.jsonl as it ends, with
 * a progress line; ^C stops it and keeps everything. */
#include "run.h"

#include <limits.h>
#include <math.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "campaign.h"
#include "catalog.h"
#include "cell.h"
#include "journal.h"
#include "json.h"
#include "merge.h"
#include "meta.h"
#include "options.h"
#include "peers_ext.h"
#include "plan.h"
#include "programs.h"
#include "report.h"
#include "results.h"
#include "runner.h"
#include "server.h"
#include "units.h"
#include "util.h"

int gb_argc;     /* set by gb_main */
char **gb_argv;

static volatile int stop_requested;

/* run --help: the head, a line per axis, the tail. */
static const char run_help_head[] =
    "usage: greenbench run [--quick | --full] [FILTERS] [REPETITIONS] [--timeout S]\n"
    "                      [--out DIR] [--seed N] [--no-plots] [--dry-run]\n"
    "       greenbench run --resume DIR\n"
    "       greenbench run --emit parallel|slurm --out CAMPAIGN [--quick | --full] [FILTERS] ...\n"
    "       greenbench run --shard CAMPAIGN/shards/NNN.json [--out DIR] [--no-plots] [--peers-dir DIR]\n"
    "\n"
    "Runs the benchmark matrix: every cell (workload x implementation x parameters)\n"
    "in its own child process, a warm-up round that is not counted, then rounds of\n"
    "counted repetitions, each round in a random order (the seed is recorded), until\n"
    "each cell's median is known well enough (REPETITIONS below). Writes\n"
    "results/<timestamp>/: meta.json, cells.jsonl, summary.csv, plots/, report.md,\n"
    "report.html.\n"
    "\n"
    "Presets:\n"
    "  (none)     the default matrix: every workload, backend and the thread baseline;\n"
    "             6 to 30 repetitions, target +-5%%, budget 4.5 min; about 5 minutes on 2 cores\n"
    "  --quick    fewer sizes, one green backend pair but every switch backend;\n"
    "             4 to 8 repetitions, target +-10%%, budget 40 s; about 1 minute\n"
    "  --full     larger sizes up to N=100000; 10 to 100 repetitions, target +-2%%,\n"
    "             no budget; as long as it takes\n"
    "\n"
    "Filters (comma lists; each replaces the preset's values for that axis):\n"
    "  --workload W     %s\n"
    "  --impl I         green, threads, epoll (no runtime: the ceiling; joinall, pool) and\n"
    "                   the peers present (greenbench list)\n"
    "  --switch S       context-switch backends (built: %s)\n"
    "  --loop L         event-loop backends (built: %s)\n";
static const char run_help_tail[] =
    "\n"
    "Repetitions (each cell: at least MIN; then one more per round while the interval\n"
    "of its median, or that of a cell doing the same work, is wider than +-TARGET of\n"
    "the median or covers less than 95% (fewer than 6 repetitions), up to MAX, within\n"
    "the budget):\n"
    "  --min-reps MIN   counted repetitions every cell has (default 6; quick 4; full 10)\n"
    "  --max-reps MAX   at most (default 30; quick 8; full 100)\n"
    "  --target-ci X    relative half-width of the median's interval to reach: 0.05 or 5%\n"
    "                   (default 5%; quick 10%; full 2%)\n"
    "  --budget T       process time all repetitions may take before no cell repeats\n"
    "                   more (one cell: at most 3 times its share); 90s, 4m; 0 or none:\n"
    "                   no budget (default 4.5m; quick 40s; full none)\n"
    "  --reps N         exactly N counted repetitions per cell, no more, no fewer\n"

    "\n"
    "Other options:\n"
    "  --timeout S      seconds per repetition before its process group is killed\n"
    "                   (default 30; quick 20; full 600); 1.5, 90s, 2m accepted\n"
    "  --out DIR        output directory; must be new or empty\n"
    "  --seed N         seed of the run order (default: random, recorded)\n"
    "  --resume DIR     finish an interrupted run with the plan stored in DIR\n"
    "  --no-plots       skip gnuplot\n"
    "  --emit ENGINE    plan as above but run nothing: write a campaign for many machines\n"
    "                   into --out CAMPAIGN: plan.json, shards/NNN.json (one per comparison\n"
    "                   group: a workload and its work parameters with every implementation\n"
    "                   and backend, so each ratio is measured on one machine) and a\n"
    "                   launcher: ENGINE parallel: run-parallel.sh (GNU parallel over ssh,\n"
    "                   one shard per host at a time); slurm: run-slurm.sbatch (a job array)\n"
    "  --shard FILE     run one shard of a campaign as an ordinary run (into --out DIR,\n"
    "                   else results/<timestamp>); DIR holding that shard's run resumes it\n"
    "  --dry-run        print the cells and exit\n"
    "  --peer NAME=COMMAND  also run an external peer: a program obeying the cell protocol,\n"
    "                   answering to --impl=NAME, on the workloads --workload names\n"
    "                   (COMMAND relative to this directory, or found in PATH); or\n"
    "                   NAME=FILE.conf, a peers file. Repeatable. docs/peers.md\n"
    "  --peers-dir DIR  the peers files NAME.conf to register (default GREENBENCH_PEERS_DIR,\n"
    "                   else $XDG_CONFIG_HOME/greenbench/peers.d, ~/.config/greenbench/peers.d)\n"
    "\n"
    "Environment: GREENBENCH_BIN_DIR (cell programs; default: beside this binary),\n"
    "GREENBENCH_RESULTS_DIR (default: results), GREENBENCH_GNUPLOT (gnuplot program),\n"
    "GREENBENCH_HOST_ID (the host's id in meta.json's host; default: the host name).\n"
    "A cell whose timed part lasts under 5 ms runs its workload several times per\n"
    "repetition (--rounds, sized from its warm-up). ^C, SIGTERM or a hang-up stop the\n"
    "run and keep everything; --resume finishes it. Once the repetitions have ended\n"
    "they no longer stop it: the summary and the report are written first.\n"
    "Exit status: 0 every repetition ran ok, 1 some failed or the run was\n"
    "interrupted (the report is still written), 2 bad usage.\n";

/* The help names the workloads each filter applies to, from the catalog. */
/* names[n] as "a, b", or "none" (out: n bytes). */
static void name_list(char *out, size_t len, const char (*names)[GB_NAME], size_t n)
{
    snprintf(out, len, "%s", n == 0 ? "none" : "");
    for (size_t i = 0; i < n; i++)
        snprintf(out + strlen(out), len - strlen(out), "%s%s", i ? ", " : "", names[i]);
}

/* The backends are those of the cell programs built, so that a backend
 * added with its CMake line shows up here with nothing else changed. */
static void print_run_help(void)
{
    char bin[PATH_MAX], switches[512], loops[512];
    struct gb_programs progs;
    gb_bin_dir(bin, sizeof bin);
    gb_programs_scan(bin, &progs);
    name_list(switches, sizeof switches, progs.switches, progs.nswitches);
    name_list(loops, sizeof loops, progs.loops, progs.nloops);
    char *names = gb_workload_names(GB_PICK_ALL, 0, ", ", ", ");
    printf(run_help_head, names, switches, loops);
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

/* ---- each cell's repetitions so far ---- */

/* What the job loop knows of one cell: read back from cells.jsonl on
 * --resume, then kept up to date as its repetitions end. */
struct cell_state {
    bool warmed;       /* its warm-up is recorded */
    long rounds;       /* --rounds of its counted repetitions (gb_plan_rounds) */
    double warm_ops;   /* the ops of its warm-up's one round; 0: not known */
    bool refused;      /* its warm-up was a usage error: not repeated */
    int *reps;         /* the counted repetitions recorded, by number */
    size_t nreps;
    int ok, failed;
    double *values;    /* the headline value of each ok repetition */
    size_t nvalues;
    double spent_s;    /* process time of its repetitions, warm-up included */
    double last_s;     /* of its last one: what the next will cost */
    enum gb_stop stop;
};

static bool has_rep(const struct cell_state *cs, int rep)
{
    for (size_t i = 0; i < cs->nreps; i++)
        if (cs->reps[i] == rep)
            return true;
    return false;
}

/* Count a repetition of cell c: rep (0: the warm-up), its status, exit
 * status (-1: none), process time and result (NULL: none). A warm-up that
 * ends in a usage error (exit status 2: the program refuses these
 * parameters, or does not implement the workload) would end every
 * repetition alike: the cell is not repeated. */
static void cell_add(struct cell_state *cs, const struct gb_plan *pl, const struct gb_cell *c, int rep,
                     bool ok, int exit_code, double elapsed_s, const json_t *result)
{
    cs->spent_s += elapsed_s;
    cs->last_s = elapsed_s;
    if (rep == 0) {
        cs->warmed = true;
        /* A usage error is exit 2 with the cell's "ok": false line: an
         * interpreter that could not start its script exits 2 too. */
        cs->refused = !ok && exit_code == GB_EXIT_USAGE && json_is_false(json_object_get(result, "ok"));
        if (cs->refused)
            cs->stop = GB_STOP_FAILURES;
        /* The warm-up runs one round: its timed part sizes the others. */
        cs->rounds = ok ? gb_plan_rounds(pl, c->workload, gb_json_num(result, "wall_ns", NAN)) : 1;
        cs->warm_ops = ok ? gb_json_num(result, "ops", 0) : 0;
        return;
    }
    cs->reps = gb_xrealloc(cs->reps, (cs->nreps + 1) * sizeof *cs->reps);
    cs->reps[cs->nreps++] = rep;
    if (!ok) {
        cs->failed++;
        return;
    }
    cs->ok++;
    double v = gb_result_metric(c->workload, result);
    if (isfinite(v)) {
        cs->values = gb_xrealloc(cs->values, (cs->nvalues + 1) * sizeof *cs->values);
        cs->values[cs->nvalues++] = v;
    }
}

/* cs's stop reason now, in a run that has spent run_s. */
static enum gb_stop cell_stop(const struct cell_state *cs, const struct gb_plan *pl, double run_s)
{
    struct gb_stats st;
    gb_stats_compute(cs->values, cs->nvalues, GB_CI_LEVEL, &st);
    return gb_stop_check(&pl->stop, pl->ncells, cs->ok, cs->failed, gb_rel_half_width(&st), st.ci_level,
                         cs->spent_s, run_s);
}

/* ---- progress ---- */

/* The job loop's state. */
struct loop {
    struct gb_run_state *rs;
    struct cell_state *cells; /* one per cell of the plan */
    double run_s;             /* process time of every repetition recorded */
    size_t recorded;          /* records in cells.jsonl: the next job's number */
    size_t idx, planned;      /* this job's number in this session, and the jobs planned so far */
    int64_t started;
    bool tty;
    int fd;                   /* cells.jsonl */
    struct gb_servers sv;
};

/* Seconds left, at least (the jobs planned, then the counted repetitions
 * every cell has to have) and at most (then every cell still repeating up
 * to max_reps, within the budget): what each cell's last repetition cost,
 * or the average so far. */
static void estimate_left(const struct loop *l, int round, size_t left_this_round, double *lo, double *hi)
{
    const struct gb_plan *pl = &l->rs->plan;
    double avg = 0;
    size_t n = 0;
    for (size_t i = 0; i < pl->ncells; i++)
        if (l->cells[i].last_s > 0) {
            avg += l->cells[i].last_s;
            n++;
        }
    avg = n ? avg / (double)n : 0;
    double more = 0;
    *lo = 0;
    for (size_t i = 0; i < pl->ncells; i++) {
        const struct cell_state *cs = &l->cells[i];
        double each = cs->last_s > 0 ? cs->last_s : avg;
        int done = (int)cs->nreps, missing = pl->stop.min_reps - done + !cs->warmed;
        *lo += each * (missing > 0 ? missing : 0);
        if (cs->stop == GB_STOP_NONE)
            more += each * (pl->stop.max_reps - (done > pl->stop.min_reps ? done : pl->stop.min_reps));
    }
    if (round > pl->stop.min_reps)
        *lo = avg * (double)left_this_round;
    if (pl->stop.budget_s > 0)
        more = fmin(more, fmax(0, pl->stop.budget_s - l->run_s - *lo));
    *hi = *lo + more;
}

static void progress(const struct loop *l, const struct gb_cell *c, int rep, int round,
                     size_t left_this_round, const char *outcome)
{
    const struct gb_plan *pl = &l->rs->plan;
    char label[300], el[32], left[64], lo_s[32], hi_s[32];
    if (rep == 0)
        snprintf(label, sizeof label, "%s warm-up", c->key);
    else if (rep <= pl->stop.min_reps)
        snprintf(label, sizeof label, "%s rep %d/%d", c->key, rep, pl->stop.min_reps);
    else
        snprintf(label, sizeof label, "%s rep %d", c->key, rep);
    gb_format_duration(el, sizeof el, (double)(gb_now_ns() - l->started) / 1e9);
    double lo, hi;
    estimate_left(l, round, left_this_round, &lo, &hi);
    gb_format_duration(lo_s, sizeof lo_s, lo);
    gb_format_duration(hi_s, sizeof hi_s, hi);
    if (hi - lo >= 1)
        snprintf(left, sizeof left, "%s-%s", lo_s, hi_s);
    else
        snprintf(left, sizeof left, "%s", lo_s);
    if (l->tty && outcome == NULL)
        fprintf(stderr, "\r\033[K[%zu/%zu] %s  %s elapsed, ~%s left", l->idx, l->planned, label, el, left);
    else if (l->tty)
        fprintf(stderr, "\r\033[K[%zu/%zu] %s: %s\n", l->idx, l->planned, label, outcome);
    else if (outcome)
        fprintf(stderr, "[%zu/%zu] %s: %s  (%s elapsed, ~%s left)\n", l->idx, l->planned, label, outcome,
                el, left);
    fflush(stderr);
}

/* ---- the job loop ---- */

/* One line saying how a repetition ended, into out (n bytes). */
static void outcome_text(const struct gb_exec_result *r, const struct gb_workload *w, char *out,
                         size_t n)
{
    if (r->status == GB_ST_OK) {
        double ns = gb_json_num(r->json, "ns_per_op", 0);
        char nsb[32];
        gb_fmt_time(nsb, sizeof nsb, ns);
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

/* Run cell c once into *r with rounds workload runs: its program, its
 * server when its workload needs one, its argv (*cargv, *prog and *url,
 * which the caller frees or borrows). A cell that cannot start is a failed
 * repetition. */
static void run_cell(struct loop *l, const struct gb_cell *c, const struct gb_workload *w, long rounds,
                     struct gb_exec_result *r, char **prog, char ***cargv, const char **url,
                     json_t **window, long long *server_cpu_ns)
{
    *server_cpu_ns = -1;
    memset(r, 0, sizeof *r);
    r->exit_code = -1;
    char why[512];
    *prog = gb_cell_program(&l->rs->progs, c, why, sizeof why);
    *url = NULL;
    *cargv = NULL;
    struct gb_server *s = NULL;
    *window = NULL;
    if (*prog && w && w->server != GB_SERVER_NONE) {
        const char *cpus = strcmp(l->rs->server_cpus, "last") == 0 ? NULL : l->rs->server_cpus;
        struct gb_server_spec spec = { .delay_ms = c->delay_ms,
                                       .size = c->size,
                                       .threads = l->rs->server_threads,
                                       .cpus = cpus,
                                       .tls = c->tls == 1,
                                       .dns = w->server == GB_SERVER_DNS };
        s = gb_servers_get(&l->sv, &l->rs->progs, &spec, why, sizeof why);
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
        return;
    }
    /* The server's window over this repetition alone: one request starts
     * it, one after ends it (a server without the window endpoint gives
     * none). */
    struct gb_server_window sw;
    bool windowed = s && gb_server_window(s, &sw, why, sizeof why) == 0;
    *cargv = gb_cell_argv(c, *prog, *url, s && s->tls ? s->ca : NULL, rounds);
    /* A server without a window: its CPU time over the repetition. */
    long long cpu_before = s && s->dns ? gb_server_cpu_ns(s) : -1;
    gb_exec(*cargv, l->rs->plan.timeout_s, &stop_requested, c->workload, gb_server_namespaces(s), r);
    if (windowed && gb_server_window(s, &sw, why, sizeof why) == 0)
        *window = gb_server_window_json(&sw);
    long long cpu_after = cpu_before >= 0 ? gb_server_cpu_ns(s) : -1;
    if (cpu_after >= cpu_before && cpu_before >= 0)
        *server_cpu_ns = cpu_after - cpu_before;
}

/* Repetition rep (0: the warm-up) of cell i in round `round`: run it,
 * record it, count it, say how it went. false when a signal interrupted
 * it: nothing is recorded then. */
static bool run_job(struct loop *l, size_t i, int rep, int round, size_t left_this_round)
{
    struct gb_run_state *rs = l->rs;
    const struct gb_cell *c = &rs->plan.cells[i];
    struct cell_state *cs = &l->cells[i];
    l->idx++;
    if (l->tty)
        progress(l, c, rep, round, left_this_round, NULL);
    char started_at[32];
    gb_utc_iso(started_at, sizeof started_at);
    const struct gb_workload *w = gb_workload_find(c->workload);
    long rounds = rep == 0 ? 1 : cs->rounds;
    struct gb_exec_result r;
    char *prog, **cargv;
    const char *url;
    json_t *window;
    long long server_cpu_ns;
    run_cell(l, c, w, rounds, &r, &prog, &cargv, &url, &window, &server_cpu_ns);
    gb_exec_check_figures(
        &r, &(struct gb_exec_asked){ .rounds = rounds,
                                     .one_round_ops = rep > 0 && cs->warm_ops > 0 ? cs->warm_ops : NAN,
                                     .n = c->n,
                                     .impl = c->impl });
    bool interrupted = r.status == GB_ST_INTERRUPTED;
    if (!interrupted) {
        struct gb_journal_job j = {
            .cell = c,
            .rep = rep,
            .max_reps = rs->plan.stop.max_reps,
            .rounds = rounds,
            .job = l->recorded++,
            .argv = cargv,
            .url = url,
            .started = started_at,
            .server = window,
            .server_cpu_ns = server_cpu_ns,
        };
        gb_journal_append(l->fd, &j, &r);
        double elapsed_s = (double)r.elapsed_ns / 1e9;
        l->run_s += elapsed_s;
        cell_add(cs, &rs->plan, c, rep, r.status == GB_ST_OK, r.exit_code, elapsed_s, r.json);
        if (cs->refused)
            l->planned -= (size_t)rs->plan.stop.min_reps;
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
            progress(l, c, rep, round, left_this_round - 1, outcome);
    }
    gb_exec_result_free(&r);
    gb_argv_free(cargv);
    json_decref(window);
    free(prog);
    return !interrupted;
}

/* Does cell i run in round `round`: its warm-up in round 0, then one
 * counted repetition per round while it has not stopped, each once. */
static bool in_round(const struct loop *l, size_t i, int round)
{
    const struct cell_state *cs = &l->cells[i];
    if (round == 0)
        return !cs->warmed;
    if (cs->refused)
        return false;
    if (has_rep(cs, round))
        return false;
    return round <= l->rs->plan.stop.min_reps || cs->stop == GB_STOP_NONE;
}

/* Does a cell that measures the same work as cell i still repeat by its
 * own rule (own: every cell's). */
static bool mate_repeats(const struct gb_plan *pl, const enum gb_stop *own, size_t i)
{
    for (size_t j = 0; j < pl->ncells; j++)
        if (j != i && own[j] == GB_STOP_NONE && gb_cell_same_work(&pl->cells[i], &pl->cells[j]))
            return true;
    return false;
}

/* After a round at or past the minimum: every cell's stop reason; how many
 * still repeat. A converged cell repeats on while a cell it is compared
 * with (the same work) still does: the rounds interleave cells so that a
 * slow spell of the machine falls on all of them alike, which holds only
 * while they run in the same rounds: stopping alone, a cell keeps the
 * spell it converged in while its partners go on into another
 * (docs/results-format.md, "Repetitions"). */
static size_t update_stops(struct loop *l)
{
    const struct gb_plan *pl = &l->rs->plan;
    enum gb_stop *own = gb_xcalloc(pl->ncells + 1, sizeof *own);
    for (size_t i = 0; i < pl->ncells; i++) {
        const struct cell_state *cs = &l->cells[i];
        own[i] = cs->stop != GB_STOP_NONE ? cs->stop : cell_stop(cs, pl, l->run_s);
    }
    size_t going = 0;
    for (size_t i = 0; i < pl->ncells; i++) {
        struct cell_state *cs = &l->cells[i];
        if (cs->stop == GB_STOP_NONE && !(own[i] == GB_STOP_CONVERGED && mate_repeats(pl, own, i)))
            cs->stop = own[i];
        going += cs->stop == GB_STOP_NONE;
    }
    free(own);
    return going;
}

/* The line before an extra round: how many cells still repeat, and why. */
static void announce_round(const struct loop *l, int round, size_t n)
{
    const struct gb_plan *pl = &l->rs->plan;
    char target[32], spent[32], budget[32];
    gb_fmt_pct(target, sizeof target, pl->stop.target_ci);
    gb_format_duration(spent, sizeof spent, l->run_s);
    gb_format_duration(budget, sizeof budget, pl->stop.budget_s);
    fprintf(stderr,
            "%sgreenbench: repetition %d: %zu of %zu cells still repeat (their median's "
            "interval, or that of a cell doing the same work, is wider than ±%s); %s spent%s%s\n",
            l->tty ? "\r\033[K" : "", round, n, pl->ncells, target, spent,
            pl->stop.budget_s > 0 ? " of a budget of " : "", pl->stop.budget_s > 0 ? budget : "");
}

/* Round after round until every cell has stopped or a signal came: round
 * 0 the warm-ups, then a counted repetition of every cell still repeating,
 * each round in its own seeded order, so that drift over time spreads over
 * every cell alike. */
static void run_rounds(struct loop *l)
{
    const struct gb_plan *pl = &l->rs->plan;
    size_t *order = gb_xcalloc(pl->ncells + 1, sizeof *order);
    for (int round = 0; round <= pl->stop.max_reps && !stop_requested; round++) {
        size_t n = 0;
        for (size_t i = 0; i < pl->ncells; i++)
            if (in_round(l, i, round))
                order[n++] = i;
        gb_round_order(order, n, pl->seed, round);
        if (round > pl->stop.min_reps && n > 0)
            announce_round(l, round, n);
        if (round > pl->stop.min_reps)
            l->planned += n;
        for (size_t k = 0; k < n && !stop_requested; k++)
            if (!run_job(l, order[k], round, round, n - k))
                break;
        if (round >= pl->stop.min_reps && !stop_requested && update_stops(l) == 0)
            break;
    }
    free(order);
}

/* The signal that stopped the run (0: none). */
static volatile sig_atomic_t stop_signal;

static void on_stop_signal(int sig)
{
    stop_signal = sig;
    stop_requested = 1;
}

/* Once the jobs have ended: stopping now would leave meta.json "running"
 * and the report half written, and what is left takes seconds. */
static void on_late_signal(int sig)
{
    (void)sig;
    static const char msg[] = "\ngreenbench: writing the summary and the report: a moment\n";
    ssize_t said = write(2, msg, sizeof msg - 1);
    (void)said;
}

/* SIGINT (^C), SIGTERM and SIGHUP (a closed terminal, an ssh drop) to
 * handler, with flags; SIGPIPE ignored. */
static void catch_stops(void (*handler)(int), int flags)
{
    static const int stops[] = { SIGINT, SIGTERM, SIGHUP };
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sa.sa_flags = flags;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < 3; i++)
        sigaction(stops[i], &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

static const char *signal_word(int sig)
{
    return sig == SIGHUP ? "hang-up" : sig == SIGTERM ? "SIGTERM" : "^C";
}

/* Every job not done yet until the rounds end or a stop signal comes
 * (caught since before the run folder was made: gb_cmd_run); from then on
 * the signals only say the report is coming. */
static void run_jobs(struct loop *l)
{
    gb_servers_init(&l->sv, l->rs->dir);
    l->tty = isatty(2);
    l->started = gb_now_ns();
    run_rounds(l);
    if (l->tty)
        fprintf(stderr, "\r\033[K");
    gb_servers_stop(&l->sv);
    close(l->fd);
    catch_stops(on_late_signal, SA_RESTART);
}

/* ---- the command ---- */

/* --dry-run's answer: the counts, then every cell's key. */
static void print_plan(const struct gb_plan *pl, FILE *f)
{
    char reps[48];
    if (pl->stop.min_reps < pl->stop.max_reps)
        snprintf(reps, sizeof reps, "%d to %d", pl->stop.min_reps, pl->stop.max_reps);
    else
        snprintf(reps, sizeof reps, "%d", pl->stop.min_reps);
    fprintf(f, "%zu cell%s x (1 warm-up + %s repetitions), timeout %.3g s, seed %llu:\n", pl->ncells,
            pl->ncells == 1 ? "" : "s", reps, pl->timeout_s, (unsigned long long)pl->seed);
    for (size_t i = 0; i < pl->ncells; i++)
        fprintf(f, "  %s\n", pl->cells[i].key);
}

/* --resume DIR: the plan in DIR/meta.json and what DIR/cells.jsonl holds
 * (*lines). 0, or GB_EXIT_USAGE said on stderr. */
static int resume(struct gb_run_state *rs, const char *dir, struct gb_jsonl *lines)
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
    /* A merged host's folder (merge.c's write_host marks it; one of before
     * the mark has merge.json two folders up) holds copies of its sources'
     * records: resumed, it would leave them and the merge apart. */
    char *top = gb_xasprintf("%s/../..", rs->dir);
    bool merged = json_object_get(rs->old_meta, "merged") != NULL || gb_merge_is(top);
    free(top);
    if (merged) {
        fprintf(stderr,
                "greenbench run: '%s' is a host's folder of a merged run (greenbench merge), not a run "
                "to resume: finish the folders it was merged from (its report and meta.json's "
                "merged.sources say which, and how), then merge them again into a new folder\n",
                rs->dir);
        json_decref(rs->old_meta);
        rs->old_meta = NULL;
        gb_plan_free(&rs->plan);
        return GB_EXIT_USAGE;
    }
    path = gb_xasprintf("%s/cells.jsonl", rs->dir);
    rc = gb_jsonl_load(path, lines);
    if (rc != 0) {
        fprintf(stderr, "greenbench run: --resume: cannot read %s: %s\n", path, strerror(-rc));
        free(path);
        return GB_EXIT_USAGE;
    }
    if (lines->nbad) {
        struct gb_buf b;
        gb_buf_init(&b);
        gb_jsonl_bad_lines(lines, &b);
        fprintf(stderr, "greenbench: %s: %s (skipped; those repetitions run again)\n", path,
                gb_buf_str(&b));
        gb_buf_free(&b);
    }
    free(path);
    return 0;
}

/* Does dir hold a run of the shard whose campaign is c (same plan hash,
 * same shard): then --shard FILE --out dir resumes it. */
static bool shard_run_in(const char *dir, const json_t *c)
{
    char *path = gb_xasprintf("%s/meta.json", dir), *text;
    size_t len;
    json_t *meta = NULL;
    bool same = false;
    if (gb_read_file(path, &text, &len) == 0) {
        if (gb_json_parse(text, len, &meta, NULL, 0) == 0) {
            const json_t *m = json_object_get(meta, "campaign");
            same = strcmp(gb_json_str(m, "plan_hash", "-"), gb_json_str(c, "plan_hash", "")) == 0 &&
                   gb_json_num(m, "shard", -1) == gb_json_num(c, "shard", -2);
        }
        free(text);
    }
    json_decref(meta);
    free(path);
    return same;
}

/* --shard FILE: its plan and campaign into rs; when --out holds this
 * shard's run already, resume it (o->resume set). 0, or GB_EXIT_USAGE
 * said on stderr. */
static int shard_plan(struct gb_run_state *rs, struct gb_run_opts *o, struct gb_jsonl *lines)
{
    char err[1024];
    if (gb_shard_load(o->shard, &rs->plan, &rs->campaign, err, sizeof err) != 0) {
        fprintf(stderr, "greenbench run: %s\n", err);
        return GB_EXIT_USAGE;
    }
    if (!o->out[0] || !shard_run_in(o->out, rs->campaign))
        return 0;
    fprintf(stderr, "greenbench: %s holds this shard's run: resuming it\n", o->out);
    gb_plan_free(&rs->plan);
    json_decref(rs->campaign);
    rs->campaign = NULL;
    snprintf(o->resume, sizeof o->resume, "%s", o->out);
    o->out[0] = '\0';
    return resume(rs, o->resume, lines);
}

/* The cells' states from the records already in cells.jsonl. */
static void load_done(struct loop *l, const struct gb_jsonl *lines)
{
    struct gb_run_state *rs = l->rs;
    const struct gb_plan *pl = &rs->plan;
    for (size_t k = 0; k < lines->n; k++) {
        const json_t *v = lines->recs[k];
        const char *key = gb_json_str(v, "cell", "");
        size_t i = 0;
        while (i < pl->ncells && strcmp(pl->cells[i].key, key) != 0)
            i++;
        int rep = (int)gb_json_num(v, "rep", -1);
        if (i == pl->ncells || rep < 0 || (rep > 0 && has_rep(&l->cells[i], rep)))
            continue; /* not of this plan, or a duplicate */
        bool ok = strcmp(gb_json_str(v, "status", ""), "ok") == 0;
        double elapsed_s = gb_json_num(v, "elapsed_ns", 0) / 1e9;
        const json_t *result = json_object_get(v, "result");
        cell_add(&l->cells[i], pl, &pl->cells[i], rep, ok, (int)gb_json_num(v, "exit_code", -1), elapsed_s,
                 json_is_object(result) ? result : NULL);
        l->run_s += elapsed_s;
        rs->jobs_done++;
        if (rep > 0 && ok)
            rs->reps_ok++;
        else if (rep > 0)
            rs->reps_failed++;
    }
    l->recorded = lines->n;
    for (size_t i = 0; i < pl->ncells; i++) {
        const struct cell_state *cs = &l->cells[i];
        int missing = cs->refused ? 0 : pl->stop.min_reps - (int)cs->nreps;
        l->planned += !cs->warmed + (size_t)(missing > 0 ? missing : 0);
    }
    if (lines->n) /* rounds at or past the minimum that ended before the interruption */
        update_stops(l);
}

/* The local server's loops and their CPUs: on a machine with up to 2 CPUs
 * one loop on the last ("last"); else one loop on each of the last
 * gb_server_cpus() CPUs this process may use. A resumed run keeps what
 * meta.json says. */
static void server_setup(struct gb_run_state *rs)
{
    const json_t *old = json_object_get(rs->old_meta, "server");
    if (json_is_object(old)) {
        rs->server_threads = (int)gb_json_num(old, "threads", 1);
        snprintf(rs->server_cpus, sizeof rs->server_cpus, "%s", gb_json_str(old, "cpus", "last"));
        return;
    }
    long ncpu = gb_allowed_cpus(), n = gb_server_cpus(ncpu);
    rs->server_threads = (int)n;
    snprintf(rs->server_cpus, sizeof rs->server_cpus, "last");
    cpu_set_t set;
    if (n <= 1 || sched_getaffinity(0, sizeof set, &set) != 0)
        return;
    int cpus[CPU_SETSIZE], k = 0;
    for (int c = 0; c < CPU_SETSIZE; c++)
        if (CPU_ISSET(c, &set))
            cpus[k++] = c;
    struct gb_buf b;
    gb_buf_init(&b);
    for (int i = k - (int)n; i < k; i++)
        gb_buf_printf(&b, "%s%d", i > k - (int)n ? "," : "", cpus[i]);
    snprintf(rs->server_cpus, sizeof rs->server_cpus, "%s", gb_buf_str(&b));
    gb_buf_free(&b);
}

/* wrk against the local server before a fresh run that fetches from it
 * (not --quick: it takes about 8 s), into meta.json's server_capacity; a
 * failure is recorded and said, and the run goes on. A stop signal ends
 * it with nothing recorded. */
static void measure_capacity(struct gb_run_state *rs)
{
    bool served = false;
    for (size_t i = 0; i < rs->plan.ncells && !served; i++) {
        const struct gb_workload *w = gb_workload_find(rs->plan.cells[i].workload);
        served = w && w->server == GB_SERVER_HTTP;
    }
    if (!served || rs->resumed || rs->plan.preset == GB_PRESET_QUICK || stop_requested)
        return;
    fprintf(stderr, "greenbench: measuring the local server's capacity with wrk (about 8 s)\n");
    char err[512];
    json_t *cap = NULL;
    if (gb_server_capacity(&rs->progs, rs->dir, &stop_requested, &cap, err, sizeof err) != 0) {
        if (stop_requested)
            return;
        fprintf(stderr, "greenbench: no capacity figure: %s\n", err);
        cap = json_object();
        json_object_set_new(cap, "error", gb_json_text(err));
    }
    json_object_set_new(rs->old_meta, "server_capacity", cap);
}

/* meta.json with status (rs->old_meta made by the first write): 0, or
 * GB_EXIT_USAGE said on stderr. */
static int write_meta(struct gb_run_state *rs, const char *status)
{
    rs->status = status;
    int rc = gb_meta_write(rs);
    if (rc != 0) {
        fprintf(stderr, "greenbench run: --out: cannot write %s/meta.json: %s\n", rs->dir, strerror(-rc));
        return GB_EXIT_USAGE;
    }
    return 0;
}

/* The line that says what the run will do. */
static void announce_run(const struct gb_run_state *rs, const struct gb_run_opts *o)
{
    const struct gb_plan *pl = &rs->plan;
    char budget[32], target[32];
    gb_format_duration(budget, sizeof budget, pl->stop.budget_s);
    gb_fmt_pct(target, sizeof target, pl->stop.target_ci);
    if (pl->stop.min_reps < pl->stop.max_reps)
        fprintf(stderr,
                "greenbench: %zu cell%s x (1 warm-up + %d to %d repetitions: more while the "
                "median's interval, or that of a cell doing the same work, is wider than "
                "±%s%s%s)%s; seed %llu; results in %s\n",
                pl->ncells, pl->ncells == 1 ? "" : "s", pl->stop.min_reps, pl->stop.max_reps, target,
                pl->stop.budget_s > 0 ? ", within a budget of " : "", pl->stop.budget_s > 0 ? budget : "",
                o->resume[0] ? ", resuming" : "", (unsigned long long)pl->seed, rs->dir);
    else
        fprintf(stderr,
                "greenbench: %zu cell%s x (1 warm-up + %d repetitions)%s; seed %llu; "
                "results in %s\n",
                pl->ncells, pl->ncells == 1 ? "" : "s", pl->stop.min_reps, o->resume[0] ? ", resuming" : "",
                (unsigned long long)pl->seed, rs->dir);
}

/* Between the plan and the first job: cells.jsonl opened and locked
 * (l->fd; a fresh run's folder made first), the preflight, meta.json, what
 * is done already. A stop signal before the folder is made ends the
 * command; from then on meta.json says "interrupted" until the long steps
 * (the capacity) are over, so that --resume finishes a run stopped, or
 * killed, in them. 0, or the exit status, said on stderr. */
static int prepare(struct loop *l, const struct gb_run_opts *o, const struct gb_jsonl *lines)
{
    struct gb_run_state *rs = l->rs;
    const struct gb_plan *pl = &rs->plan;
    char err[1024];
    if (o->resume[0] && (l->fd = gb_journal_open(rs->dir, lines->torn)) < 0)
        return GB_EXIT_USAGE;
    gb_run_preflight(rs);
    if (!o->resume[0]) {
        if (stop_requested) {
            fprintf(stderr, "greenbench: interrupted by %s before the run began: nothing was written\n",
                    signal_word(stop_signal));
            return GB_EXIT_FAILED;
        }
        int rc = gb_run_dir_make(o, rs->dir, sizeof rs->dir, err, sizeof err);
        if (rc != 0) {
            fprintf(stderr, "greenbench run: %s\n", err);
            return rc;
        }
        if ((l->fd = gb_journal_open(rs->dir, false)) < 0)
            return GB_EXIT_USAGE;
    }
    l->cells = gb_xcalloc(pl->ncells + 1, sizeof *l->cells);
    load_done(l, lines);
    if (pl->preset == GB_PRESET_FULL && !o->resume[0])
        fprintf(stderr,
                "greenbench: --full runs %zu cells x (1 warm-up + %d to %d repetitions) "
                "with sizes up to N=100000 and no time budget: it takes as long as it "
                "takes, possibly hours. ^C stops it and keeps everything; --resume %s "
                "finishes it.\n",
                pl->ncells, pl->stop.min_reps, pl->stop.max_reps, rs->dir);
    server_setup(rs);
    gb_utc_iso(rs->start_time, sizeof rs->start_time);
    rs->jobs_total = l->recorded + l->planned;
    int rc = write_meta(rs, "interrupted");
    if (rc != 0)
        return rc;
    measure_capacity(rs);
    if ((rc = write_meta(rs, "running")) != 0)
        return rc;
    announce_run(rs, o);
    return 0;
}

/* After the last job: meta.json's final state, the summaries, plots and
 * reports, the headline figures, and what to do next. The exit status. */
static int finish(const struct loop *l, bool plots)
{
    struct gb_run_state *rs = l->rs;
    bool interrupted = stop_requested != 0;
    size_t refused = 0;
    for (size_t i = 0; i < rs->plan.ncells; i++)
        refused += l->cells[i].refused;
    gb_utc_iso(rs->end_time, sizeof rs->end_time);
    rs->status = interrupted ? "interrupted" : "complete";
    rs->jobs_total = rs->jobs_done;
    int rc = gb_meta_write(rs);
    if (rc != 0)
        fprintf(stderr, "greenbench: cannot update %s/meta.json: %s\n", rs->dir, strerror(-rc));

    int brc = gb_rebuild(rs->dir, plots, GB_REBUILD_HEADLINES);
    char refusals[160] = "";
    if (refused > 0)
        snprintf(refusals, sizeof refusals,
                 "; %zu cell%s refused %s parameters in the warm-up (a usage error, not repeated: "
                 "the report's Failures)",
                 refused, refused == 1 ? "" : "s", refused == 1 ? "its" : "their");
    fprintf(stderr, "greenbench: %zu repetition%s ok, %zu failed%s%s%s; results in %s\n", rs->reps_ok,
            rs->reps_ok == 1 ? "" : "s", rs->reps_failed, refusals, interrupted ? ", interrupted by " : "",
            interrupted ? signal_word(stop_signal) : "", rs->dir);
    if (interrupted)
        fprintf(stderr, "greenbench: interrupted: everything measured is kept; finish with\n"
                        "  greenbench run --resume %s\n", rs->dir);
    if (interrupted || rs->reps_failed > 0 || refused > 0 || brc != 0)
        return GB_EXIT_FAILED;
    return GB_EXIT_OK;
}

static void free_cells(struct loop *l)
{
    for (size_t i = 0; l->cells && i < l->rs->plan.ncells; i++) {
        free(l->cells[i].reps);
        free(l->cells[i].values);
    }
    free(l->cells);
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
    /* External peers first: the programs scan, the plan and meta.json see
     * them as rows of gb_peers. A resumed run takes its meta.json's. */
    if (!o.resume[0] &&
        gb_peers_ext_load(o.peers_dir, o.peers, o.npeers, &o.workloads, err, sizeof err) != 0) {
        fprintf(stderr, "greenbench run: %s\n", err);
        return GB_EXIT_USAGE;
    }
    if (!o.resume[0] && !o.dry_run && !o.emit[0])
        gb_peers_ext_setup();
    char bin[PATH_MAX];
    gb_bin_dir(bin, sizeof bin);
    gb_programs_scan(bin, &rs.progs);
    gb_peers_ext_mark(&rs.progs);

    struct gb_jsonl lines;
    memset(&lines, 0, sizeof lines);
    if (o.resume[0]) {
        if (gb_peers_ext_check_resume(o.resume, err, sizeof err) != 0) {
            fprintf(stderr, "greenbench run: %s\n", err);
            return GB_EXIT_USAGE;
        }
        if (resume(&rs, o.resume, &lines) != 0)
            return GB_EXIT_USAGE;
        gb_peers_ext_from_meta(rs.old_meta);
        gb_programs_scan(bin, &rs.progs);
        gb_peers_ext_mark(&rs.progs);
    } else if (o.shard[0]) {
        if (shard_plan(&rs, &o, &lines) != 0)
            return GB_EXIT_USAGE;
        gb_programs_scan(bin, &rs.progs); /* with the shard's external peers */
        gb_peers_ext_mark(&rs.progs);
    } else if (gb_plan_make(&o, &rs.progs, &rs.plan, err, sizeof err) != 0) {
        fprintf(stderr, "greenbench run: %s\n", err);
        return GB_EXIT_USAGE;
    }
    struct gb_plan *pl = &rs.plan;
    if (o.emit[0]) {
        rc = gb_campaign_emit(pl, &o, &rs.progs);
        gb_plan_free(pl);
        return rc;
    }
    struct loop l = { .rs = &rs, .fd = -1 };
    if (o.dry_run) {
        print_plan(pl, stdout);
        gb_plan_free(pl);
        return GB_EXIT_OK;
    }
    catch_stops(on_stop_signal, 0);
    rc = prepare(&l, &o, &lines);
    gb_jsonl_free(&lines);
    if (rc == 0) {
        run_jobs(&l);
        rc = finish(&l, !o.no_plots);
    }
    free_cells(&l);
    gb_plan_free(pl);
    json_decref(rs.old_meta);
    json_decref(rs.campaign);
    return rc;
}
