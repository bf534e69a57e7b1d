/* harness/run.c: `greenbench run`. Plans the cells, checks the output
 * directory and the machine, then runs every repetition of every cell as a
 * child process in a seeded, interleaved order (one uncounted warm-up round
 * first), appending each result to cells.jsonl as it ends. ^C stops after
 * writing what was measured; --resume DIR finishes the plan in DIR/meta.json. */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifndef GB_SOURCE_DIR
#define GB_SOURCE_DIR "."
#endif

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

/* ---- the plan ---- */

struct plan {
    struct gb_cell *cells;
    size_t ncells;
    int reps;
    double timeout_s;
    uint64_t seed;
    enum gb_preset preset;
};

static uint64_t random_seed(void)
{
    uint64_t s = 0;
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        if (read(fd, &s, sizeof s) != (ssize_t)sizeof s)
            s = 0;
        close(fd);
    }
    if (s == 0)
        s = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32) ^ (uint64_t)gb_now_ns();
    return s & ((1ULL << 53) - 1); /* exact in any JSON reader */
}

static void plan_to_json(struct gb_jw *w, const struct plan *pl, const struct gb_run_opts *o)
{
    gb_jw_obj(w);
    gb_jw_key(w, "preset");
    gb_jw_str(w, gb_preset_name(pl->preset));
    gb_jw_key(w, "reps");
    gb_jw_int(w, pl->reps);
    gb_jw_key(w, "warmup_reps");
    gb_jw_int(w, 1);
    gb_jw_key(w, "timeout_s");
    gb_jw_num(w, pl->timeout_s);
    gb_jw_key(w, "seed");
    char seed[32];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)pl->seed);
    gb_jw_str(w, seed);
    gb_jw_key(w, "order");
    gb_jw_str(w, "round 0 = one warm-up per cell, then one round per repetition; each round "
                 "a fresh shuffle (xorshift64*, seed above)");
    if (o) {
        gb_jw_key(w, "filters");
        gb_jw_obj(w);
        const struct gb_names *names[] = { &o->workloads, &o->impls, &o->switches, &o->loops };
        const char *nn[] = { "workload", "impl", GB_KEY_SWITCH, "loop" };
        for (size_t i = 0; i < 4; i++) {
            if (!names[i]->n)
                continue;
            gb_jw_key(w, nn[i]);
            gb_jw_arr(w);
            for (size_t j = 0; j < names[i]->n; j++)
                gb_jw_str(w, names[i]->v[j]);
            gb_jw_arr_end(w);
        }
        for (int a = 0; a < GB_NAXES; a++) {
            const struct gb_longs *values = gb_opts_axis(o, a);
            if (!values->n)
                continue;
            gb_jw_key(w, gb_axes[a].name);
            gb_jw_arr(w);
            for (size_t j = 0; j < values->n; j++)
                gb_jw_int(w, values->v[j]);
            gb_jw_arr_end(w);
        }
        gb_jw_obj_end(w);
    }
    gb_jw_key(w, "cells");
    gb_jw_arr(w);
    for (size_t i = 0; i < pl->ncells; i++)
        gb_cell_to_json(w, &pl->cells[i]);
    gb_jw_arr_end(w);
    gb_jw_obj_end(w);
}

static int plan_from_meta(const struct gb_json *meta, struct plan *pl, char *err, size_t errlen)
{
    const struct gb_json *p = gb_json_get(meta, "plan");
    const struct gb_json *cells = gb_json_get(p, "cells");
    if (p == NULL || cells == NULL || cells->type != GB_JSON_ARRAY || cells->count == 0) {
        snprintf(err, errlen, "meta.json has no plan with cells");
        return -EINVAL;
    }
    memset(pl, 0, sizeof *pl);
    pl->reps = (int)gb_json_num(p, "reps", 0);
    pl->timeout_s = gb_json_num(p, "timeout_s", 0);
    pl->seed = strtoull(gb_json_str(p, "seed", "0"), NULL, 10);
    const char *preset = gb_json_str(p, "preset", "default");
    pl->preset = strcmp(preset, "quick") == 0 ? GB_PRESET_QUICK
                 : strcmp(preset, "full") == 0 ? GB_PRESET_FULL : GB_PRESET_DEFAULT;
    if (pl->reps < 1 || pl->timeout_s <= 0) {
        snprintf(err, errlen, "meta.json: plan has no valid reps or timeout_s");
        return -EINVAL;
    }
    pl->cells = gb_xcalloc(cells->count, sizeof *pl->cells);
    for (size_t i = 0; i < cells->count; i++) {
        if (gb_cell_from_json(cells->items[i], &pl->cells[i]) != 0) {
            snprintf(err, errlen, "meta.json: plan cell %zu is malformed", i);
            free(pl->cells);
            pl->cells = NULL;
            return -EINVAL;
        }
    }
    pl->ncells = cells->count;
    return 0;
}

/* ---- meta.json ---- */

static void jw_argv(struct gb_jw *w, int argc, char **argv)
{
    gb_jw_arr(w);
    for (int i = 0; i < argc; i++)
        gb_jw_str(w, argv[i]);
    gb_jw_arr_end(w);
}

static void jw_git(struct gb_jw *w)
{
    char *rev[] = { "git", "-C", GB_SOURCE_DIR, "rev-parse", "HEAD", NULL };
    char *commit = gb_command_line1(rev);
    char *out = NULL;
    char *st[] = { "git", "-C", GB_SOURCE_DIR, "status", "--porcelain", "--untracked-files=no", NULL };
    int rc = gb_run_capture(st, false, 5000, &out);
    gb_jw_obj(w);
    gb_jw_key(w, "commit");
    gb_jw_str(w, commit);
    gb_jw_key(w, "dirty");
    if (rc == 0)
        gb_jw_bool(w, out[0] != '\0');
    else
        gb_jw_null(w);
    gb_jw_key(w, "source_dir");
    gb_jw_str(w, GB_SOURCE_DIR);
    gb_jw_obj_end(w);
    free(commit);
    free(out);
}

static void jw_programs(struct gb_jw *w, const struct gb_programs *p)
{
    gb_jw_obj(w);
    gb_jw_key(w, "bin_dir");
    gb_jw_str(w, p->bin_dir);
    gb_jw_key(w, "green");
    gb_jw_arr(w);
    for (size_t i = 0; i < p->npairs; i++) {
        char s[80];
        snprintf(s, sizeof s, "%s/%s", p->pairs[i].sw, p->pairs[i].loop);
        gb_jw_str(w, s);
    }
    gb_jw_arr_end(w);
    gb_jw_key(w, "threads");
    gb_jw_bool(w, p->threads);
    gb_jw_key(w, "server");
    gb_jw_bool(w, p->server);
    gb_jw_key(w, "peers");
    gb_jw_obj(w);
    for (size_t i = 0; i < gb_npeers; i++) {
        gb_jw_key(w, gb_peers[i].name);
        gb_jw_bool(w, p->peer_found[i]);
    }
    gb_jw_obj_end(w);
    gb_jw_obj_end(w);
}

struct run_state {
    char dir[PATH_MAX];
    struct plan plan;
    struct gb_programs progs;
    struct gb_preflight pf;
    struct rlimit nofile_before, nofile_after;
    char start_time[32], end_time[32];
    const char *status;
    int argc;
    char **argv;
    /* meta.json less the run's own state: read on --resume, built once by a
     * fresh run's first write (it costs processes: git, version probes). */
    struct gb_json *old_meta;
    bool resumed;
    const struct gb_run_opts *opts;
    size_t jobs_total, jobs_done, reps_ok, reps_failed;
};

static const char *const own_meta_keys[] = {
    "status", "end_time", "resumed", "counts", NULL,
};

/* What a fresh run records once, at its start, as a tree. gb_jw_value writes
 * it back as gb_jw_* wrote it (integers below 1e15, doubles in their shortest
 * exact form), so meta.json reads as before. NULL only if our own writer's
 * output would not parse. */
static struct gb_json *fresh_meta(const struct run_state *rs)
{
    struct gb_buf b;
    gb_buf_init(&b);
    struct gb_jw w;
    gb_jw_init(&w, &b, 0);
    gb_jw_obj(&w);
    gb_jw_key(&w, "schema_version");
    gb_jw_int(&w, GB_SCHEMA_VERSION);
    gb_jw_key(&w, "tool");
    gb_jw_str(&w, "greenbench");
    gb_jw_key(&w, "command_line");
    jw_argv(&w, rs->argc, rs->argv);
    char cwd[PATH_MAX];
    gb_jw_key(&w, "cwd");
    gb_jw_str(&w, getcwd(cwd, sizeof cwd) ? cwd : NULL);
    gb_jw_key(&w, "git");
    jw_git(&w);
    gb_jw_key(&w, "versions");
    gb_versions_to_json(&w, &rs->progs);
    gb_jw_key(&w, "machine");
    gb_machine_to_json(&w);
    gb_jw_key(&w, "preflight");
    gb_preflight_to_json(&w, &rs->pf);
    gb_jw_key(&w, "rlimit_nofile");
    gb_jw_obj(&w);
    gb_jw_key(&w, "soft_before");
    gb_jw_int(&w, (long long)rs->nofile_before.rlim_cur);
    gb_jw_key(&w, "soft_for_cells");
    gb_jw_int(&w, (long long)rs->nofile_after.rlim_cur);
    gb_jw_obj_end(&w);
    gb_jw_key(&w, "programs");
    jw_programs(&w, &rs->progs);
    gb_jw_key(&w, "start_time");
    gb_jw_str(&w, rs->start_time);
    gb_jw_key(&w, "seed");
    char seed[32];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)rs->plan.seed);
    gb_jw_str(&w, seed);
    gb_jw_key(&w, "plan");
    plan_to_json(&w, &rs->plan, rs->opts);
    gb_jw_obj_end(&w);
    struct gb_json *v = NULL;
    if (gb_json_parse(b.data, b.len, &v, NULL, 0) != 0)
        v = NULL;
    gb_buf_free(&b);
    return v;
}

/* Written at the start and at the end of a run (fresh or resumed): what was
 * recorded first is kept as it is, the run's state is updated. */
static int write_meta(struct run_state *rs)
{
    if (rs->old_meta == NULL && (rs->old_meta = fresh_meta(rs)) == NULL)
        return -EINVAL;
    struct gb_buf b;
    gb_buf_init(&b);
    struct gb_jw w;
    gb_jw_init(&w, &b, 2);
    gb_jw_obj(&w);
    for (size_t i = 0; i < rs->old_meta->count; i++) {
        bool own = false;
        for (const char *const *k = own_meta_keys; *k; k++)
            own |= strcmp(*k, rs->old_meta->keys[i]) == 0;
        if (own)
            continue;
        gb_jw_key(&w, rs->old_meta->keys[i]);
        gb_jw_value(&w, rs->old_meta->items[i]);
    }
    if (rs->resumed) {
        gb_jw_key(&w, "resumed");
        gb_jw_arr(&w);
        const struct gb_json *prev = gb_json_get(rs->old_meta, "resumed");
        for (size_t i = 0; prev && prev->type == GB_JSON_ARRAY && i < prev->count; i++)
            gb_jw_value(&w, prev->items[i]);
        gb_jw_obj(&w);
        gb_jw_key(&w, "time");
        gb_jw_str(&w, rs->start_time);
        gb_jw_key(&w, "command_line");
        jw_argv(&w, rs->argc, rs->argv);
        gb_jw_key(&w, "preflight");
        gb_preflight_to_json(&w, &rs->pf);
        gb_jw_obj_end(&w);
        gb_jw_arr_end(&w);
    }
    gb_jw_key(&w, "status");
    gb_jw_str(&w, rs->status);
    gb_jw_key(&w, "end_time");
    gb_jw_str(&w, rs->end_time[0] ? rs->end_time : NULL);
    gb_jw_key(&w, "counts");
    gb_jw_obj(&w);
    gb_jw_key(&w, "jobs");
    gb_jw_int(&w, (long long)rs->jobs_total);
    gb_jw_key(&w, "done");
    gb_jw_int(&w, (long long)rs->jobs_done);
    gb_jw_key(&w, "ok");
    gb_jw_int(&w, (long long)rs->reps_ok);
    gb_jw_key(&w, "failed");
    gb_jw_int(&w, (long long)rs->reps_failed);
    gb_jw_obj_end(&w);
    gb_jw_obj_end(&w);
    gb_buf_puts(&b, "\n");
    char *path = gb_xasprintf("%s/meta.json", rs->dir);
    int rc = gb_write_file_atomic(path, b.data, b.len);
    free(path);
    gb_buf_free(&b);
    return rc;
}

/* ---- output directory ---- */

static int make_run_dir(const struct gb_run_opts *o, char *dir, size_t n, char *err, size_t errlen)
{
    if (o->out[0]) {
        int st = gb_dir_state(o->out);
        if (st == 2) {
            snprintf(err, errlen,
                     "--out: '%.400s' exists and is not empty (a run never overwrites another; "
                     "give a new directory, or --resume %.400s to finish an interrupted run)",
                     o->out, o->out);
            return GB_EXIT_USAGE;
        }
        if (st == 3) {
            snprintf(err, errlen, "--out: '%.400s' exists and is not a directory", o->out);
            return GB_EXIT_USAGE;
        }
        int rc = gb_mkdir_p(o->out);
        if (rc != 0) {
            snprintf(err, errlen, "--out: cannot create '%.400s': %s", o->out, strerror(-rc));
            return GB_EXIT_USAGE;
        }
        snprintf(dir, n, "%s", o->out);
    } else {
        const char *root = getenv("GREENBENCH_RESULTS_DIR");
        if (root == NULL || *root == '\0')
            root = "results";
        int rc = gb_mkdir_p(root);
        if (rc != 0) {
            snprintf(err, errlen, "--out: cannot create the results directory '%s': %s", root,
                     strerror(-rc));
            return GB_EXIT_USAGE;
        }
        char stamp[32];
        time_t t = time(NULL);
        struct tm tm;
        localtime_r(&t, &tm);
        strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
        for (int i = 1;; i++) {
            if (i == 1)
                snprintf(dir, n, "%s/%s", root, stamp);
            else
                snprintf(dir, n, "%s/%s-%d", root, stamp, i);
            if (mkdir(dir, 0755) == 0)
                break;
            if (errno != EEXIST || i > 1000) {
                snprintf(err, errlen, "--out: cannot create '%.400s': %s", dir, strerror(errno));
                return GB_EXIT_USAGE;
            }
        }
    }
    /* Writable? Find out before anything runs. */
    char *probe = gb_xasprintf("%s/.greenbench-write-test", dir);
    int rc = gb_write_file(probe, "", 0);
    unlink(probe);
    free(probe);
    if (rc != 0) {
        snprintf(err, errlen, "--out: cannot write in '%.400s': %s", dir, strerror(-rc));
        return GB_EXIT_USAGE;
    }
    return 0;
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

/* ---- the record of one repetition ---- */

static void write_record(int fd, const struct gb_cell *c, int rep, int reps, size_t job,
                         char **argv, const char *url, const char *started,
                         const struct gb_exec_result *r)
{
    struct gb_buf b;
    gb_buf_init(&b);
    struct gb_jw w;
    gb_jw_init(&w, &b, 0);
    gb_jw_obj(&w);
    gb_jw_key(&w, "schema");
    gb_jw_int(&w, GB_SCHEMA_VERSION);
    gb_jw_key(&w, "cell");
    gb_jw_str(&w, c->key);
    gb_jw_key(&w, "rep");
    gb_jw_int(&w, rep);
    gb_jw_key(&w, "reps");
    gb_jw_int(&w, reps);
    gb_jw_key(&w, "warmup");
    gb_jw_bool(&w, rep == 0);
    gb_jw_key(&w, "job");
    gb_jw_int(&w, (long long)job);
    gb_jw_key(&w, "params");
    gb_cell_to_json(&w, c);
    gb_jw_key(&w, "argv");
    if (argv) {
        gb_jw_arr(&w);
        for (char **a = argv; *a; a++)
            gb_jw_str(&w, *a);
        gb_jw_arr_end(&w);
    } else {
        gb_jw_null(&w);
    }
    gb_jw_key(&w, "server_url");
    gb_jw_str(&w, url);
    gb_jw_key(&w, "started");
    gb_jw_str(&w, started);
    gb_jw_key(&w, "status");
    gb_jw_str(&w, gb_status_name(r->status));
    gb_jw_key(&w, "message");
    gb_jw_str(&w, r->message[0] ? r->message : NULL);
    gb_jw_key(&w, "exit_code");
    if (r->exit_code >= 0)
        gb_jw_int(&w, r->exit_code);
    else
        gb_jw_null(&w);
    gb_jw_key(&w, "signal");
    if (r->signal)
        gb_jw_int(&w, r->signal);
    else
        gb_jw_null(&w);
    gb_jw_key(&w, "elapsed_ns");
    gb_jw_int(&w, r->elapsed_ns);
    gb_jw_key(&w, "rusage");
    gb_jw_obj(&w);
    gb_jw_key(&w, "maxrss_kb");
    gb_jw_int(&w, r->maxrss_kb);
    gb_jw_key(&w, "utime_ns");
    gb_jw_int(&w, r->utime_ns);
    gb_jw_key(&w, "stime_ns");
    gb_jw_int(&w, r->stime_ns);
    gb_jw_obj_end(&w);
    gb_jw_key(&w, "stderr_tail");
    gb_jw_str(&w, r->stderr_tail);
    if (r->stdout_tail) {
        gb_jw_key(&w, "stdout_tail");
        gb_jw_str(&w, r->stdout_tail);
    }
    gb_jw_key(&w, "result");
    gb_jw_value(&w, r->json); /* re-written: always valid UTF-8, one line; NULL: null */
    gb_jw_obj_end(&w);
    gb_buf_puts(&b, "\n");
    /* One write per line, then to disk: nothing measured is lost. */
    int rc = gb_write_all(fd, b.data, b.len);
    if (rc != 0)
        fprintf(stderr, "greenbench: writing cells.jsonl: %s\n", strerror(-rc));
    fdatasync(fd);
    gb_buf_free(&b);
}

/* (key, rep) pairs already in cells.jsonl, for --resume. */
struct done_set {
    char **keys;
    int *reps;
    size_t n;
    size_t ok, failed;
};

static bool done_has(const struct done_set *d, const char *key, int rep)
{
    for (size_t i = 0; i < d->n; i++)
        if (d->reps[i] == rep && strcmp(d->keys[i], key) == 0)
            return true;
    return false;
}

static int load_done(const char *path, struct done_set *d, bool *needs_newline)
{
    memset(d, 0, sizeof *d);
    *needs_newline = false;
    char *text;
    size_t len;
    int rc = gb_read_file(path, &text, &len);
    if (rc == -ENOENT)
        return 0;
    if (rc != 0)
        return rc;
    *needs_newline = len > 0 && text[len - 1] != '\n';
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        struct gb_json *v;
        if (gb_json_parse(line, strlen(line), &v, NULL, 0) != 0)
            continue; /* a torn last line: that repetition runs again */
        const char *key = gb_json_str(v, "cell", NULL);
        if (key) {
            d->keys = gb_xrealloc(d->keys, (d->n + 1) * sizeof *d->keys);
            d->reps = gb_xrealloc(d->reps, (d->n + 1) * sizeof *d->reps);
            d->keys[d->n] = gb_xstrdup(key);
            d->reps[d->n] = (int)gb_json_num(v, "rep", -1);
            if (d->reps[d->n] > 0) {
                if (strcmp(gb_json_str(v, "status", ""), "ok") == 0)
                    d->ok++;
                else
                    d->failed++;
            }
            d->n++;
        }
        gb_json_free(v);
    }
    free(text);
    return 0;
}

static void done_free(struct done_set *d)
{
    for (size_t i = 0; i < d->n; i++)
        free(d->keys[i]);
    free(d->keys);
    free(d->reps);
}

/* ---- servers ---- */

struct servers {
    struct gb_server s[32];
    size_t n;
    int log_fd;
};

static struct gb_server *server_for(struct servers *sv, const struct gb_programs *p, long delay,
                                    long size, char *why, size_t whylen)
{
    struct gb_server *s = NULL;
    for (size_t i = 0; i < sv->n && s == NULL; i++)
        if (sv->s[i].delay_ms == delay && sv->s[i].size == size)
            s = &sv->s[i];
    if (s != NULL) {
        if (gb_server_alive(s))
            return s;
        fprintf(stderr, "greenbench: %s; starting it again\n", s->error);
    } else if (!p->server) {
        snprintf(why, whylen, "greenbench-server is not in %.400s", p->bin_dir);
        return NULL;
    } else if (sv->n == sizeof sv->s / sizeof sv->s[0]) {
        snprintf(why, whylen, "too many distinct (delay, size) servers");
        return NULL;
    } else {
        s = &sv->s[sv->n];      /* Taken only once the server is up. */
    }
    char *prog = gb_xasprintf("%s/greenbench-server", p->bin_dir);
    int rc = gb_server_start(prog, delay, size, sv->log_fd, s);
    free(prog);
    if (rc != 0) {
        snprintf(why, whylen, "local HTTP server: %s", s->error);
        return NULL;
    }
    if (s == &sv->s[sv->n])
        sv->n++;
    return s;
}

/* ---- the command ---- */

static void print_plan(const struct plan *pl, FILE *f)
{
    for (size_t i = 0; i < pl->ncells; i++)
        fprintf(f, "  %s\n", pl->cells[i].key);
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
    struct run_state rs;
    memset(&rs, 0, sizeof rs);
    rs.argc = gb_argv ? gb_argc : argc; /* the whole command line when run from main */
    rs.argv = gb_argv ? gb_argv : argv;
    rs.opts = &o;
    char bin[PATH_MAX];
    gb_bin_dir(bin, sizeof bin);
    gb_programs_scan(bin, &rs.progs);

    struct done_set done;
    memset(&done, 0, sizeof done);
    bool needs_newline = false;
    if (o.resume[0]) {
        rs.resumed = true;
        snprintf(rs.dir, sizeof rs.dir, "%s", o.resume);
        char *path = gb_xasprintf("%s/meta.json", rs.dir), *text;
        size_t len;
        rc = gb_read_file(path, &text, &len);
        free(path);
        if (rc != 0) {
            fprintf(stderr, "greenbench run: --resume: cannot read %s/meta.json: %s\n", rs.dir,
                    strerror(-rc));
            return GB_EXIT_USAGE;
        }
        if (gb_json_parse(text, len, &rs.old_meta, err, sizeof err) != 0 ||
            plan_from_meta(rs.old_meta, &rs.plan, err, sizeof err) != 0) {
            fprintf(stderr, "greenbench run: --resume: %s/meta.json: %s\n", rs.dir, err);
            free(text);
            gb_json_free(rs.old_meta);
            return GB_EXIT_USAGE;
        }
        free(text);
        path = gb_xasprintf("%s/cells.jsonl", rs.dir);
        rc = load_done(path, &done, &needs_newline);
        free(path);
        if (rc != 0) {
            fprintf(stderr, "greenbench run: --resume: cannot read %s/cells.jsonl: %s\n", rs.dir,
                    strerror(-rc));
            return GB_EXIT_USAGE;
        }
    } else {
        rc = gb_matrix_expand(&o, &rs.progs, &rs.plan.cells, &rs.plan.ncells, err, sizeof err);
        if (rc != 0) {
            fprintf(stderr, "greenbench run: %s\n", err);
            return GB_EXIT_USAGE;
        }
        rs.plan.preset = o.preset;
        rs.plan.reps = (int)(o.reps > 0 ? o.reps : gb_preset_reps(o.preset));
        rs.plan.timeout_s = o.timeout_s > 0 ? o.timeout_s : gb_preset_timeout(o.preset);
        rs.plan.seed = o.seed_set ? o.seed : random_seed();
    }
    struct plan *pl = &rs.plan;
    size_t njobs;
    struct gb_job *jobs = gb_schedule(pl->ncells, pl->reps, pl->seed, &njobs);
    rs.jobs_total = njobs;
    if (o.dry_run) {
        printf("%zu cells x (1 warm-up + %d reps) = %zu runs, timeout %.3g s, seed %llu:\n",
               pl->ncells, pl->reps, njobs, pl->timeout_s, (unsigned long long)pl->seed);
        print_plan(pl, stdout);
        free(jobs);
        free(pl->cells);
        return GB_EXIT_OK;
    }
    if (!o.resume[0]) {
        rc = make_run_dir(&o, rs.dir, sizeof rs.dir, err, sizeof err);
        if (rc != 0) {
            fprintf(stderr, "greenbench run: %s\n", err);
            free(jobs);
            free(pl->cells);
            return rc;
        }
    }
    if (pl->preset == GB_PRESET_FULL && !o.resume[0])
        fprintf(stderr, "greenbench: --full runs %zu cells x %d repetitions (%zu runs) with "
                        "sizes up to N=100000: it takes as long as it takes, possibly hours. "
                        "^C stops it and keeps everything; --resume %s finishes it.\n",
                pl->ncells, pl->reps, njobs, rs.dir);

    /* Preflight: read, warn, change nothing but this process's own soft
     * RLIMIT_NOFILE, raised to the hard limit for the cells (as Go does). */
    long max_sockets = 0, max_tasks = 0;
    for (size_t i = 0; i < pl->ncells; i++) {
        const struct gb_cell *c = &pl->cells[i];
        const struct gb_workload *w = gb_workload_find(c->workload);
        if (w == NULL)
            continue;
        if (gb_cell_axis(c, w->sockets) > max_sockets)
            max_sockets = gb_cell_axis(c, w->sockets);
        if (gb_cell_axis(c, w->tasks) > max_tasks)
            max_tasks = gb_cell_axis(c, w->tasks);
    }
    getrlimit(RLIMIT_NOFILE, &rs.nofile_before);
    gb_preflight(max_sockets, max_tasks, &rs.pf);
    rs.nofile_after = rs.nofile_before;
    if (rs.nofile_after.rlim_cur < rs.nofile_after.rlim_max) {
        rs.nofile_after.rlim_cur = rs.nofile_after.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rs.nofile_after) != 0)
            rs.nofile_after = rs.nofile_before;
    }
    for (size_t i = 0; i < rs.pf.n; i++)
        if (rs.pf.r[i].level == 2)
            fprintf(stderr, "greenbench: warning: %s = %s: %s\n", rs.pf.r[i].name,
                    rs.pf.r[i].value, rs.pf.r[i].advice);

    gb_utc_iso(rs.start_time, sizeof rs.start_time);
    rs.status = "running";
    rs.reps_ok = done.ok;
    rs.reps_failed = done.failed;
    rc = write_meta(&rs);
    if (rc != 0) {
        fprintf(stderr, "greenbench run: --out: cannot write %s/meta.json: %s\n", rs.dir,
                strerror(-rc));
        free(jobs);
        return GB_EXIT_USAGE;
    }
    char *cells_path = gb_xasprintf("%s/cells.jsonl", rs.dir);
    int fd = open(cells_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) {
        fprintf(stderr, "greenbench run: cannot open %s: %s\n", cells_path, strerror(errno));
        free(cells_path);
        free(jobs);
        return GB_EXIT_USAGE;
    }
    if (needs_newline && write(fd, "\n", 1) != 1)
        fprintf(stderr, "greenbench: cannot repair the last line of %s\n", cells_path);
    free(cells_path);

    /* What an interrupted run already did (--resume) is skipped. */
    bool *skip = gb_xcalloc(njobs, sizeof *skip);
    size_t todo = 0;
    for (size_t j = 0; j < njobs; j++) {
        skip[j] = done_has(&done, pl->cells[jobs[j].cell].key, jobs[j].rep);
        todo += !skip[j];
    }
    fprintf(stderr, "greenbench: %zu cells x (1 warm-up + %d reps) = %zu runs%s%zu to go; "
                    "seed %llu; results in %s\n",
            pl->ncells, pl->reps, njobs, o.resume[0] ? ", resuming: " : ", ", todo,
            (unsigned long long)pl->seed, rs.dir);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    struct sigaction old_int, old_term;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    signal(SIGPIPE, SIG_IGN);
    stop_requested = 0;

    struct servers sv;
    memset(&sv, 0, sizeof sv);
    char *log_path = gb_xasprintf("%s/server.log", rs.dir);
    sv.log_fd = -1;
    bool tty = isatty(2);
    int64_t started = gb_now_ns();
    size_t ran = 0, idx = njobs - todo;
    double *cell_s = gb_xcalloc(pl->ncells, sizeof *cell_s);
    for (size_t j = 0; j < njobs && !stop_requested; j++) {
        const struct gb_cell *c = &pl->cells[jobs[j].cell];
        int rep = jobs[j].rep;
        if (skip[j])
            continue;
        idx++;
        double avg = ran ? (double)(gb_now_ns() - started) / 1e9 / (double)ran : 0;
        if (tty)
            progress(true, idx, njobs, c, rep, pl->reps, started, ran,
                     estimate_left(jobs, njobs, j, cell_s, avg, skip), NULL);
        char started_at[32];
        gb_utc_iso(started_at, sizeof started_at);
        struct gb_exec_result r;
        memset(&r, 0, sizeof r);
        r.exit_code = -1;
        char why[512];
        char *prog = gb_cell_program(&rs.progs, c, why, sizeof why);
        const struct gb_workload *w = gb_workload_find(c->workload);
        const char *url = NULL;
        char **cargv = NULL;
        if (prog && w && w->needs_server) {
            if (sv.log_fd < 0)
                sv.log_fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
            struct gb_server *s = server_for(&sv, &rs.progs, c->delay_ms, c->size, why, sizeof why);
            if (s == NULL) {
                free(prog);
                prog = NULL;
            } else {
                url = s->url;
            }
        }
        if (prog == NULL) {
            r.status = GB_ST_FAILED;
            snprintf(r.message, sizeof r.message, "%s", why);
            r.stderr_tail = gb_xstrdup("");
        } else {
            cargv = gb_cell_argv(c, prog, url);
            gb_exec(cargv, pl->timeout_s, &stop_requested, c->workload, &r);
        }
        if (r.status == GB_ST_INTERRUPTED) {
            gb_exec_result_free(&r);
            gb_argv_free(cargv);
            free(prog);
            break;
        }
        write_record(fd, c, rep, pl->reps, j, cargv, url, started_at, &r);
        ran++;
        cell_s[jobs[j].cell] = (double)r.elapsed_ns / 1e9;
        avg = (double)(gb_now_ns() - started) / 1e9 / (double)ran;
        rs.jobs_done++;
        if (rep > 0) {
            if (r.status == GB_ST_OK)
                rs.reps_ok++;
            else
                rs.reps_failed++;
        }
        char outcome[1000];
        if (r.status == GB_ST_OK) {
            double ns = gb_json_num(r.json, "ns_per_op", 0);
            char nsb[32];
            gb_format_ns(nsb, sizeof nsb, ns);
            snprintf(outcome, sizeof outcome, "ok, %s per %s", nsb,
                     w ? w->op : "op");
        } else {
            /* The last stderr line says most about a failure. */
            char *copy = gb_xstrdup(r.stderr_tail ? r.stderr_tail : "");
            const char *last = gb_last_line(copy, "\n\r");
            snprintf(outcome, sizeof outcome, "%s: %.500s%s%.200s", gb_status_name(r.status), r.message,
                     *last ? "; stderr: " : "", last);
            free(copy);
        }
        if (!tty || r.status != GB_ST_OK)
            progress(tty, idx, njobs, c, rep, pl->reps, started, ran,
                     estimate_left(jobs, njobs, j + 1, cell_s, avg, skip), outcome);
        gb_exec_result_free(&r);
        gb_argv_free(cargv);
        free(prog);
    }
    if (tty)
        fprintf(stderr, "\r\033[K");
    free(skip);
    free(cell_s);
    for (size_t i = 0; i < sv.n; i++)
        gb_server_stop(&sv.s[i]);
    if (sv.log_fd >= 0)
        close(sv.log_fd);
    free(log_path);
    close(fd);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);

    bool interrupted = stop_requested != 0;
    rs.jobs_done += done.n;
    gb_utc_iso(rs.end_time, sizeof rs.end_time);
    rs.status = interrupted ? "interrupted" : "complete";
    rc = write_meta(&rs);
    if (rc != 0)
        fprintf(stderr, "greenbench: cannot update %s/meta.json: %s\n", rs.dir, strerror(-rc));

    int brc = gb_rebuild(rs.dir, !o.no_plots, false);
    fprintf(stderr, "greenbench: %zu repetitions ok, %zu failed%s; results in %s\n", rs.reps_ok,
            rs.reps_failed, interrupted ? ", interrupted" : "", rs.dir);
    if (interrupted)
        fprintf(stderr, "greenbench: interrupted: everything measured is kept; finish with\n"
                        "  greenbench run --resume %s\n", rs.dir);
    done_free(&done);
    free(jobs);
    free(pl->cells);
    gb_json_free(rs.old_meta);
    if (interrupted || rs.reps_failed > 0 || brc != 0)
        return GB_EXIT_FAILED;
    return GB_EXIT_OK;
}
