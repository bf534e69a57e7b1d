/* tests/test_harness_run.c: the greenbench binary end to end, against the
 * fake cell programs of tests/fake_cells/ (GREENBENCH_BIN_DIR points it
 * there): cells that crash, hang, print garbage or fail are recorded and the
 * run goes on; ^C keeps everything and --resume finishes; a --quick run
 * writes every file it should (SVGs pass xmllint, PNGs have a PNG
 * signature); report, compare, list, cell and the usage errors.
 * Suites: faults, interrupt, e2e (one ctest entry each). */
#include <CUnit/CUnit.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "catalog.h"
#include "csv.h"
#include "journal.h"
#include "json.h"
#include "plot.h"
#include "process.h"
#include "util.h"

#ifndef GB_TEST_GREENBENCH
#error "GB_TEST_GREENBENCH: path of the greenbench binary"
#endif
#ifndef GB_TEST_FAKE_BIN
#error "GB_TEST_FAKE_BIN: directory of the fake cell programs"
#endif

static char tmp[256];

static int setup(void)
{
    snprintf(tmp, sizeof tmp, "/tmp/gb-test-run-XXXXXX");
    return mkdtemp(tmp) ? 0 : -1;
}

static int teardown(void)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    return system(cmd) == 0 ? 0 : -1;
}

/* ---- helpers ---- */

extern char **environ;

/* Does environment entry e ("NAME=value") or edit e ("NAME=value", "NAME")
 * name the variable of edit, whose name is len bytes long. */
static bool names(const char *e, const char *edit, size_t len)
{
    return strncmp(e, edit, len) == 0 && (e[len] == '=' || e[len] == '\0');
}

/* greenbench's environment: ours, with GREENBENCH_BIN_DIR on the fake cell
 * programs and without GB_FAKE or GB_FAKE_SERVER, then env's entries
 * ("NAME=value" sets, "NAME" unsets; a later one wins). The strings are
 * borrowed; the caller frees the array. */
static char **child_env(const char *const env[])
{
    static char bin[600];
    snprintf(bin, sizeof bin, "GREENBENCH_BIN_DIR=%s", GB_TEST_FAKE_BIN);
    const char *edits[64] = { bin, "GB_FAKE", "GB_FAKE_SERVER" };
    size_t ne = 3, n = 0;
    for (size_t i = 0; env && env[i] && ne < 64; i++)
        edits[ne++] = env[i];
    while (environ[n])
        n++;
    char **out = gb_xcalloc(n + ne + 1, sizeof *out);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        bool edited = false;
        for (size_t j = 0; j < ne; j++)
            edited |= names(environ[i], edits[j], strcspn(edits[j], "="));
        if (!edited)
            out[k++] = environ[i];
    }
    for (size_t j = 0; j < ne; j++) {
        size_t len = strcspn(edits[j], "=");
        bool later = false;
        for (size_t l = j + 1; l < ne; l++)
            later |= names(edits[l], edits[j], len);
        if (!later && edits[j][len] == '=')
            out[k++] = (char *)edits[j];
    }
    return out;
}

/* Start greenbench with args, stdout and stderr into the files, stdin from
 * /dev/null, in child_env(env); through the harness's own process helper.
 * p->pid is 0 when it could not be started. */
static void spawn_gb(const char *const env[], const char *const args[], const char *out_path,
                     const char *err_path, struct gb_proc *p)
{
    char *argv[64];
    size_t n = 0;
    argv[n++] = GB_TEST_GREENBENCH;
    for (size_t i = 0; args[i] && n < 63; i++)
        argv[n++] = (char *)args[i];
    argv[n] = NULL;
    int o = open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int e = open(err_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    char **envp = child_env(env);
    struct gb_proc_opts opts = {
        .out = GB_PROC_FD, .out_fd = o, .err = GB_PROC_FD, .err_fd = e, .envp = envp,
    };
    char why[128];
    if (gb_proc_start(argv, &opts, p, why, sizeof why) != 0)
        p->pid = 0;
    free(envp);
    if (o >= 0)
        close(o);
    if (e >= 0)
        close(e);
}

/* Wait up to timeout_s more for it: its exit status, 128 + the signal that
 * ended it, or -1 when it ran out of time (it is killed) or never started. */
static int wait_gb(struct gb_proc *p, int timeout_s)
{
    if (p->pid <= 0)
        return -1;
    struct gb_proc_wait_opts w = {
        .timeout_s = (double)(gb_now_ns() - p->start_ns) / 1e9 + timeout_s,
    };
    struct gb_proc_end e;
    gb_proc_wait(p, &w, &e);
    gb_proc_end_free(&e);
    if (e.timed_out)
        return -1;
    return WIFEXITED(e.status) ? WEXITSTATUS(e.status) : 128 + WTERMSIG(e.status);
}

static char *slurp(const char *path)
{
    char *text = NULL;
    if (gb_read_file(path, &text, NULL) != 0)
        return NULL;
    return text;
}

/* Run greenbench to completion; *out and *err hold its output (caller frees). */
static int run_gb(const char *const env[], const char *const args[], char **out, char **err)
{
    char op[512], ep[512];
    snprintf(op, sizeof op, "%s/stdout.txt", tmp);
    snprintf(ep, sizeof ep, "%s/stderr.txt", tmp);
    struct gb_proc p;
    spawn_gb(env, args, op, ep, &p);
    int rc = wait_gb(&p, 240);
    char *o = slurp(op), *e = slurp(ep);
    if (out)
        *out = o;
    else
        free(o);
    if (err)
        *err = e;
    else
        free(e);
    return rc;
}

static char *path_in(const char *dir, const char *name)
{
    return gb_xasprintf("%s/%s", dir, name);
}

/* The text of dir/name (caller frees); NULL when it cannot be read. */
static char *slurp_in(const char *dir, const char *name)
{
    char *p = path_in(dir, name);
    char *text = slurp(p);
    free(p);
    return text;
}

/* The column of c's header row named name: true with *col set; false, *col
 * left as it was, when there is none. Callers start *col at 0 (the cell
 * key), so that a missing column fails their checks without a crash. */
static bool csv_col(const struct gb_csv *c, const char *name, size_t *col)
{
    for (size_t j = 0; j < c->ncols[0]; j++) {
        if (strcmp(c->cells[0][j], name) == 0) {
            *col = j;
            return true;
        }
    }
    return false;
}

static bool exists(const char *dir, const char *name)
{
    char *p = path_in(dir, name);
    struct stat st;
    bool ok = stat(p, &st) == 0 && st.st_size > 0;
    free(p);
    return ok;
}

struct lines {
    json_t **v; /* NULL for a line that is not JSON */
    size_t n, bad;
};

static struct lines read_jsonl(const char *dir)
{
    struct lines l = { 0 };
    char *text = slurp_in(dir, "cells.jsonl");
    if (text == NULL)
        return l;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        json_t *v = NULL;
        if (gb_json_parse(line, strlen(line), &v, NULL, 0) != 0)
            v = NULL;
        l.v = gb_xrealloc(l.v, (l.n + 1) * sizeof *l.v);
        l.v[l.n++] = v;
        if (v == NULL)
            l.bad++;
    }
    free(text);
    return l;
}

static void lines_free(struct lines *l)
{
    for (size_t i = 0; i < l->n; i++)
        json_decref(l->v[i]);
    free(l->v);
}

static json_t *read_json(const char *dir, const char *name)
{
    char *text = slurp_in(dir, name);
    json_t *v = NULL;
    if (text && gb_json_parse(text, strlen(text), &v, NULL, 0) != 0)
        v = NULL;
    free(text);
    return v;
}

static bool has_xmllint(void)
{
    return system("command -v xmllint >/dev/null 2>&1") == 0;
}

static bool is_png(const char *path)
{
    unsigned char sig[8] = { 0 };
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return false;
    size_t n = fread(sig, 1, 8, f);
    fclose(f);
    static const unsigned char want[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
    return n == 8 && memcmp(sig, want, 8) == 0;
}

static size_t count_substr(const char *s, const char *needle)
{
    size_t n = 0;
    for (const char *p = s; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

/* The records of one cell key. */
static size_t records_of(const struct lines *l, const char *key, const char *status)
{
    size_t n = 0;
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i] && strcmp(gb_json_str(l->v[i], "cell", ""), key) == 0 &&
            (!status || strcmp(gb_json_str(l->v[i], "status", ""), status) == 0))
            n++;
    return n;
}

static const json_t *first_record(const struct lines *l, const char *key)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i] && strcmp(gb_json_str(l->v[i], "cell", ""), key) == 0)
            return l->v[i];
    return NULL;
}

/* ---- faults ---- */

/* test_faults_recorded's cells.jsonl: every failure under its status,
 * with what the cell said, and the cells that ran fine as ok. */
static void check_fault_records(const char *dir)
{
    struct lines l = read_jsonl(dir);
    /* 4 switch (asm, ucontext, threads x2) + 4 x 3 others = 16 cells x 3 runs */
    CU_ASSERT_EQUAL(l.n, 48);
    CU_ASSERT_EQUAL(l.bad, 0);
    CU_ASSERT_EQUAL(records_of(&l, "spawn threads n=100", "crashed"), 3);
    const json_t *r = first_record(&l, "spawn threads n=100");
    CU_ASSERT_DOUBLE_EQUAL(gb_json_num(r, "signal", 0), SIGSEGV, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(gb_json_str(r, "message", ""), "signal 11"));
    CU_ASSERT_PTR_NOT_NULL(strstr(gb_json_str(r, "stderr_tail", ""), "about to crash"));
    CU_ASSERT_EQUAL(records_of(&l, "spawn-alive green ucontext/libev n=100", "crashed"), 3);
    CU_ASSERT_EQUAL(records_of(&l, "yield green asm/libuv n=100", "timeout"), 3);
    CU_ASSERT_EQUAL(records_of(&l, "switch green ucontext n=100", "garbled"), 3);
    r = first_record(&l, "switch green ucontext n=100");
    CU_ASSERT_PTR_NOT_NULL(strstr(gb_json_str(r, "stdout_tail", ""), "not JSON"));
    CU_ASSERT_EQUAL(records_of(&l, "spawn green ucontext/libev n=100", "garbled"), 3);
    r = first_record(&l, "spawn green ucontext/libev n=100");
    CU_ASSERT_PTR_NOT_NULL(strstr(gb_json_str(r, "message", ""), "not a JSON object: stdout is empty"));
    CU_ASSERT_EQUAL(records_of(&l, "spawn-alive threads n=100", "failed"), 3);
    r = first_record(&l, "spawn-alive threads n=100");
    CU_ASSERT_PTR_NOT_NULL(strstr(gb_json_str(r, "message", ""), "fake failure"));
    CU_ASSERT_TRUE(json_is_object(json_object_get(r, "result"))); /* the JSON is kept */
    CU_ASSERT_EQUAL(records_of(&l, "spawn-alive green asm/libuv n=100", "failed"), 3);
    r = first_record(&l, "spawn-alive green asm/libuv n=100");
    CU_ASSERT_PTR_NOT_NULL(strstr(gb_json_str(r, "message", ""), "exit status 3"));
    CU_ASSERT_EQUAL(records_of(&l, "yield threads n=100", "garbled"), 3);
    r = first_record(&l, "yield threads n=100");
    CU_ASSERT_PTR_NOT_NULL(strstr(gb_json_str(r, "message", ""), "'other'"));
    /* A flood of stderr: ok, and only its tail is kept. */
    CU_ASSERT_EQUAL(records_of(&l, "spawn green asm/libev n=100", "ok"), 3);
    r = first_record(&l, "spawn green asm/libev n=100");
    CU_ASSERT_TRUE(strlen(gb_json_str(r, "stderr_tail", "")) <= 2000);
    CU_ASSERT_PTR_NOT_NULL(strstr(gb_json_str(r, "stderr_tail", ""), "flood line 3999"));
    /* Everything else ran fine. */
    CU_ASSERT_EQUAL(records_of(&l, "switch green asm n=100", "ok"), 3);
    CU_ASSERT_EQUAL(records_of(&l, "yield green asm/libev n=100", "ok"), 3);
    lines_free(&l);
}

/* test_faults_recorded's summary.csv: the counted repetitions' statuses. */
static void check_fault_summary(const char *dir)
{
    char *csv = slurp_in(dir, "summary.csv");
    CU_ASSERT_PTR_NOT_NULL_FATAL(csv);
    struct gb_csv c;
    CU_ASSERT_EQUAL(gb_csv_parse(csv, &c), 17);
    size_t col_crashed = 0, col_failed = 0, col_ok = 0;
    bool have_cols = csv_col(&c, "crashed", &col_crashed);
    have_cols &= csv_col(&c, "reps_failed", &col_failed);
    have_cols &= csv_col(&c, "reps_ok", &col_ok);
    CU_ASSERT_TRUE(have_cols);
    bool found = false;
    for (size_t r2 = 1; r2 < c.rows; r2++) {
        CU_ASSERT_EQUAL(c.ncols[r2], c.ncols[0]);
        if (strcmp(c.cells[r2][0], "spawn threads n=100") == 0) {
            found = true;
            CU_ASSERT_STRING_EQUAL(c.cells[r2][col_crashed], "2"); /* warm-up not counted */
            CU_ASSERT_STRING_EQUAL(c.cells[r2][col_failed], "2");
            CU_ASSERT_STRING_EQUAL(c.cells[r2][col_ok], "0");
        }
    }
    CU_ASSERT_TRUE(found);
    gb_csv_free(&c);
    free(csv);
}

/* test_faults_recorded's reports list the failures, escaped in HTML. */
static void check_fault_reports(const char *dir)
{
    char *md = slurp_in(dir, "report.md");
    CU_ASSERT_PTR_NOT_NULL_FATAL(md);
    CU_ASSERT_PTR_NOT_NULL(strstr(md, "spawn threads n=100, repetition 1: crashed"));
    CU_ASSERT_PTR_NOT_NULL(strstr(md, "about to crash"));
    free(md);
    char *html = slurp_in(dir, "report.html");
    CU_ASSERT_PTR_NOT_NULL_FATAL(html);
    /* The cell's error text "fake failure <&> \"quoted\"" arrives escaped. */
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "fake failure &lt;&amp;&gt; &quot;quoted&quot;"));
    CU_ASSERT_PTR_NULL(strstr(html, "fake failure <&>"));
    free(html);
}

static void test_faults_recorded(void)
{
    char *dir = path_in(tmp, "faults");
    const char *env[] = {
        "GB_FAKE=crash@/spawn/threads/,hang@/yield/green/asm/libuv/,garbage@/switch/green/ucontext/,"
        "fail@/spawn-alive/threads/,exit3@/spawn-alive/green/asm/libuv/,wrong@/yield/threads/,"
        "nojson@/spawn/green/ucontext/,abort@/spawn-alive/green/ucontext/,stderrflood@/spawn/green/asm/libev/",
        NULL,
    };
    const char *args[] = { "run",        "--workload=switch,yield,spawn,spawn-alive",
                           "--n=100",    "--stacks=private",
                           "--reps=2",   "--timeout=2",
                           "--no-plots", "--seed=7",
                           "--out",      dir,
                           NULL };
    char *err = NULL;
    int rc = run_gb(env, args, NULL, &err);
    CU_ASSERT_EQUAL(rc, GB_EXIT_FAILED); /* some failed; the run finished */
    CU_ASSERT_PTR_NOT_NULL(err && strstr(err, "crashed"));
    check_fault_records(dir);
    check_fault_summary(dir);
    check_fault_reports(dir);
    free(err);
    free(dir);
}

/* Figures no repetition can have are garbled, not ok: they never reach the
 * statistics. A negative time, a ns_per_op that is not wall_ns / ops, and
 * a cell that echoes --rounds=R but runs one round. And a cell whose
 * warm-up is a usage error is not repeated, but makes the run fail. */
static void test_impossible_figures_garbled(void)
{
    char *dir = path_in(tmp, "impossible");
    const char *env[] = {
        "GB_FAKE=negative@/switch/green/asm/,lie@/spawn/threads/,oneround@/yield/green/,usage@/spawn/green/",
        NULL,
    };
    const char *args[] = { "run",
                           "--workload=switch,spawn,yield",
                           "--impl=green,threads",
                           "--switch=asm",
                           "--loop=libev",
                           "--n=100",
                           "--stacks=private",
                           "--reps=2",
                           "--no-plots",
                           "--seed=7",
                           "--out",
                           dir,
                           NULL };
    char *err = NULL;
    CU_ASSERT_EQUAL(run_gb(env, args, NULL, &err), GB_EXIT_FAILED);
    struct lines l = read_jsonl(dir);
    CU_ASSERT_EQUAL(records_of(&l, "switch green asm n=100", "garbled"), 3);
    CU_ASSERT_PTR_NOT_NULL(strstr(gb_json_str(first_record(&l, "switch green asm n=100"), "message", ""),
                                  "impossible figures: \"wall_ns\" is -"));
    CU_ASSERT_EQUAL(records_of(&l, "spawn threads n=100", "garbled"), 3);
    CU_ASSERT_PTR_NOT_NULL(strstr(gb_json_str(first_record(&l, "spawn threads n=100"), "message", ""),
                                  "\"ns_per_op\" is 1, not wall_ns / ops"));
    /* Its warm-up runs one round, as asked: only the repetitions lie. */
    CU_ASSERT_EQUAL(records_of(&l, "yield green asm/libev n=100", "ok"), 1);
    CU_ASSERT_EQUAL(records_of(&l, "yield green asm/libev n=100", "garbled"), 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "each round must do the whole work"));
    CU_ASSERT_EQUAL(records_of(&l, "switch threads cpus=1 n=100", "ok"), 3);
    /* A usage error in the warm-up would be one in every repetition. */
    CU_ASSERT_EQUAL(records_of(&l, "spawn green asm/libev n=100", "failed"), 1);
    CU_ASSERT_EQUAL(records_of(&l, "spawn green asm/libev n=100", "ok"), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "; 1 cell refused its parameters in the warm-up"));
    lines_free(&l);
    free(err);
    free(dir);
}

/* The same for the other figures a result echoes or measures: an n or an
 * impl it was not given, a CPU time below 0, errors in an ok result. A
 * cell that gives no CPU time has no CPU figures: wait4's, which covers
 * the whole process, is not divided by the timed part's time. And exit 2
 * alone is not a usage error. */
static void test_impossible_secondary_figures_garbled(void)
{
    char *dir = path_in(tmp, "secondary");
    const char *env[] = {
        "GB_FAKE=othern@/switch/green/asm/,otherimpl@/spawn/threads/,negcpu@/yield/green/,errors@/spawn/green/,"
        "nocpu@/switch/threads/,exit2@/yield/threads/",
        NULL,
    };
    const char *args[] = { "run",
                           "--workload=switch,spawn,yield",
                           "--impl=green,threads",
                           "--switch=asm",
                           "--loop=libev",
                           "--n=100",
                           "--stacks=private",
                           "--reps=2",
                           "--no-plots",
                           "--out",
                           dir,
                           NULL };
    CU_ASSERT_EQUAL(run_gb(env, args, NULL, NULL), GB_EXIT_FAILED);
    struct lines l = read_jsonl(dir);
    static const char *const garbled[][2] = {
        { "switch green asm n=100", "impossible figures: \"n\" is 1000, not the --n=100 it was given" },
        { "spawn threads n=100", "\"impl\" is 'other', not the --impl=threads it was given" },
        { "yield green asm/libev n=100", "\"cpu_ns\" is -" },
        { "spawn green asm/libev n=100", "\"errors\" is 3 although \"ok\" is true" },
    };
    for (size_t i = 0; i < sizeof garbled / sizeof garbled[0]; i++) {
        CU_ASSERT_EQUAL(records_of(&l, garbled[i][0], "garbled"), 3);
        const char *message = gb_json_str(first_record(&l, garbled[i][0]), "message", "");
        if (strstr(message, garbled[i][1]) == NULL)
            fprintf(stderr, "\n  %s: '%s'\n", garbled[i][0], message);
        CU_ASSERT_PTR_NOT_NULL(strstr(message, garbled[i][1]));
    }
    CU_ASSERT_EQUAL(records_of(&l, "switch threads cpus=1 n=100", "ok"), 3);
    /* Exit status 2 without the cell's "ok": false line is a failure, not
     * a refusal of its parameters: it is repeated. */
    CU_ASSERT_EQUAL(records_of(&l, "yield threads n=100", "failed"), 3);
    lines_free(&l);
    char *csv = slurp_in(dir, "summary.csv");
    CU_ASSERT_PTR_NOT_NULL_FATAL(csv);
    struct gb_csv c;
    CU_ASSERT_FATAL(gb_csv_parse(csv, &c) > 0);
    size_t col_cores = 0, col_cpu_op = 0;
    CU_ASSERT_FATAL(csv_col(&c, "cores_used", &col_cores) && csv_col(&c, "cpu_ns_per_op", &col_cpu_op));
    bool found = false;
    for (size_t r = 1; r < c.rows; r++) {
        if (strcmp(c.cells[r][0], "switch threads cpus=1 n=100") != 0)
            continue;
        found = true;
        CU_ASSERT_STRING_EQUAL(c.cells[r][col_cores], "");
        CU_ASSERT_STRING_EQUAL(c.cells[r][col_cpu_op], "");
    }
    CU_ASSERT_TRUE(found);
    gb_csv_free(&c);
    free(csv);
    free(dir);
}

static void test_server_failure(void)
{
    char *dir = path_in(tmp, "noserver");
    const char *env[] = { "GB_FAKE_SERVER=noport", NULL };
    const char *args[] = { "run", "--workload=joinall", "--impl=threads", "--n=10", "--reps=1",
                           "--no-plots", "--out", dir, NULL };
    int rc = run_gb(env, args, NULL, NULL);
    CU_ASSERT_EQUAL(rc, GB_EXIT_FAILED);
    struct lines l = read_jsonl(dir);
    CU_ASSERT_EQUAL(l.n, 2);
    for (size_t i = 0; i < l.n; i++) {
        CU_ASSERT_STRING_EQUAL(gb_json_str(l.v[i], "status", ""), "failed");
        CU_ASSERT_PTR_NOT_NULL(strstr(gb_json_str(l.v[i], "message", ""), "server"));
    }
    lines_free(&l);
    free(dir);
}

/* ---- interrupt ---- */

/* Start greenbench with args (its stdout and stderr into tmp/<tag>-*.txt,
 * the stderr's path into ep) and wait, up to 20 s, until dir/cells.jsonl
 * has at least records lines. The lines it has then. */
static size_t start_run(const char *const env[], const char *const args[], const char *dir, const char *tag,
                        size_t records, struct gb_proc *gb, char *ep, size_t eplen)
{
    char op[512];
    snprintf(op, sizeof op, "%s/%s-stdout.txt", tmp, tag);
    snprintf(ep, eplen, "%s/%s-stderr.txt", tmp, tag);
    spawn_gb(env, args, op, ep, gb);
    struct lines l = { 0 };
    for (int i = 0; i < 1000; i++) {
        usleep(20000);
        lines_free(&l);
        l = read_jsonl(dir);
        if (l.n >= records)
            break;
    }
    size_t n = l.n;
    lines_free(&l);
    return n;
}

static void test_sigint_and_resume(void)
{
    char *dir = path_in(tmp, "interrupted");
    const char *env[] = { "GB_FAKE=slow@/", "GB_FAKE_SLOW_MS=120", NULL };
    const char *args[] = {
        "run", "--workload=spawn", "--n=100,1000", "--reps=3", "--no-plots", "--out", dir, NULL
    };
    char ep[512];
    struct gb_proc gb;
    /* 8 cells x 4 runs x 120 ms; ^C once a few are in. */
    start_run(env, args, dir, "int", 5, &gb, ep, sizeof ep);
    gb_proc_signal(&gb, SIGINT);
    int rc = wait_gb(&gb, 60);
    CU_ASSERT_EQUAL(rc, GB_EXIT_FAILED);
    char *err = slurp(ep);
    CU_ASSERT_PTR_NOT_NULL(err && strstr(err, "--resume"));
    free(err);
    struct lines l = read_jsonl(dir);
    size_t before = l.n;
    CU_ASSERT_TRUE(before >= 5 && before < 32);
    CU_ASSERT_EQUAL(l.bad, 0);
    lines_free(&l);
    json_t *meta = read_json(dir, "meta.json");
    CU_ASSERT_STRING_EQUAL(gb_json_str(meta, "status", ""), "interrupted");
    json_decref(meta);
    CU_ASSERT_TRUE(exists(dir, "summary.csv"));
    CU_ASSERT_TRUE(exists(dir, "report.md"));
    CU_ASSERT_TRUE(exists(dir, "report.html"));
    char *p = path_in(dir, "cells.jsonl");
    char *prefix = slurp(p);

    /* A torn last line, as a crash of the harness itself would leave. */
    FILE *f = fopen(p, "a");
    fputs("{\"cell\":\"spawn thr", f);
    fclose(f);

    const char *env2[] = { "GB_FAKE=slow@/", "GB_FAKE_SLOW_MS=1", NULL };
    const char *args2[] = { "run", "--resume", dir, "--no-plots", NULL };
    rc = run_gb(env2, args2, NULL, NULL);
    CU_ASSERT_EQUAL(rc, GB_EXIT_OK);
    char *all = slurp(p);
    CU_ASSERT_PTR_NOT_NULL_FATAL(all);
    CU_ASSERT_EQUAL(strncmp(all, prefix, strlen(prefix)), 0); /* nothing measured is lost */
    free(all);
    free(prefix);
    l = read_jsonl(dir);
    CU_ASSERT_EQUAL(l.n, 33);
    CU_ASSERT_EQUAL(l.bad, 1); /* the torn line, kept as it was */
    /* Every (cell, rep) exactly once. */
    for (size_t i = 0; i < l.n; i++) {
        if (!l.v[i])
            continue;
        size_t same = 0;
        for (size_t j = 0; j < l.n; j++)
            if (l.v[j] && strcmp(gb_json_str(l.v[i], "cell", ""), gb_json_str(l.v[j], "cell", "")) == 0 &&
                gb_json_num(l.v[i], "rep", -1) == gb_json_num(l.v[j], "rep", -2))
                same++;
        CU_ASSERT_EQUAL(same, 1);
    }
    lines_free(&l);
    meta = read_json(dir, "meta.json");
    CU_ASSERT_STRING_EQUAL(gb_json_str(meta, "status", ""), "complete");
    const json_t *res = json_object_get(meta, "resumed");
    CU_ASSERT_TRUE(json_is_array(res) && json_array_size(res) == 1);
    CU_ASSERT_DOUBLE_EQUAL(gb_json_num(json_object_get(meta, "counts"), "ok", 0), 24, 0);
    json_decref(meta);
    char *md = slurp_in(dir, "report.md");
    CU_ASSERT_PTR_NOT_NULL(md && strstr(md, "is not a record (skipped)"));
    free(md);

    /* Resuming a finished run runs nothing. */
    rc = run_gb(env2, args2, NULL, NULL);
    CU_ASSERT_EQUAL(rc, GB_EXIT_OK);
    l = read_jsonl(dir);
    CU_ASSERT_EQUAL(l.n, 33);
    lines_free(&l);
    free(p);
    free(dir);
}

/* SIGTERM while the capacity is measured, before the first repetition (a
 * wrk whose version probe takes seconds, on PATH): the run stops, says so
 * and leaves meta.json "interrupted", which --resume finishes; the killed
 * run left a folder that could be neither resumed nor reused. */
static void test_signal_before_jobs(void)
{
    char *dir = path_in(tmp, "early-stop");
    char *bin = path_in(tmp, "slow-wrk"), *wrk = path_in(bin, "wrk"), *mark = path_in(tmp, "early-wrk");
    CU_ASSERT_EQUAL_FATAL(mkdir(bin, 0755), 0);
    FILE *f = fopen(wrk, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fprintf(f, "#!/bin/sh\n[ -e '%s' ] || { touch '%s'; sleep 3; }\necho 'wrk slow'\nexit 1\n", mark, mark);
    fclose(f);
    CU_ASSERT_EQUAL_FATAL(chmod(wrk, 0755), 0);
    char *path = gb_xasprintf("PATH=%s:%s", bin, getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
    const char *env[] = { path, NULL };
    const char *args[] = { "run",      "--workload=joinall", "--impl=threads", "--n=10",
                           "--reps=1", "--no-plots",         "--out",          dir,
                           NULL };
    char op[512], ep[512];
    snprintf(op, sizeof op, "%s/early-stdout.txt", tmp);
    snprintf(ep, sizeof ep, "%s/early-stderr.txt", tmp);
    struct gb_proc gb;
    spawn_gb(env, args, op, ep, &gb);
    struct stat st;
    for (int i = 0; i < 1500 && stat(mark, &st) != 0; i++)
        usleep(20000);
    CU_ASSERT_EQUAL_FATAL(stat(mark, &st), 0);
    gb_proc_signal(&gb, SIGTERM);
    CU_ASSERT_EQUAL(wait_gb(&gb, 60), GB_EXIT_FAILED);
    char *err = slurp(ep);
    CU_ASSERT_PTR_NOT_NULL(err && strstr(err, "interrupted by SIGTERM"));
    CU_ASSERT_PTR_NOT_NULL(err && strstr(err, "--resume"));
    free(err);
    json_t *meta = read_json(dir, "meta.json");
    CU_ASSERT_STRING_EQUAL(meta ? gb_json_str(meta, "status", "") : "", "interrupted");
    json_decref(meta);
    const char *resume[] = { "run", "--resume", dir, "--no-plots", NULL };
    CU_ASSERT_EQUAL(run_gb(env, resume, NULL, NULL), GB_EXIT_OK);
    struct lines l = read_jsonl(dir);
    CU_ASSERT_EQUAL(l.n, 2); /* the warm-up and the repetition */
    lines_free(&l);
    meta = read_json(dir, "meta.json");
    CU_ASSERT_STRING_EQUAL(meta ? gb_json_str(meta, "status", "") : "", "complete");
    json_decref(meta);
    free(path);
    free(mark);
    free(wrk);
    free(bin);
    free(dir);
}

/* --resume DIR while DIR's run still goes is refused (exit 2): two
 * processes appending to one cells.jsonl recorded every repetition twice.
 * A repetition recorded twice all the same counts once in summary.csv. */
static void test_resume_while_running(void)
{
    char *dir = path_in(tmp, "busy");
    const char *env[] = { "GB_FAKE=slow@/", "GB_FAKE_SLOW_MS=150", NULL };
    const char *args[] = { "run",      "--workload=switch", "--impl=threads", "--n=1000",
                           "--reps=3", "--no-plots",        "--out",          dir,
                           NULL };
    char ep[512];
    struct gb_proc gb;
    start_run(env, args, dir, "busy", 1, &gb, ep, sizeof ep);
    char *err = NULL;
    const char *resume[] = { "run", "--resume", dir, "--no-plots", NULL };
    CU_ASSERT_EQUAL(run_gb(env, resume, NULL, &err), GB_EXIT_USAGE);
    CU_ASSERT_PTR_NOT_NULL(err && strstr(err, "another greenbench is running or resuming this run"));
    free(err);
    CU_ASSERT_EQUAL(wait_gb(&gb, 120), GB_EXIT_OK);
    struct lines l = read_jsonl(dir);
    CU_ASSERT_EQUAL(l.n, 8); /* 2 cells (cpus=1,2) x (warm-up + 3) */
    lines_free(&l);

    /* Its last record once more: still 3 repetitions in summary.csv. */
    char *p = path_in(dir, "cells.jsonl"), *text = slurp(p);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    text[strlen(text) - 1] = '\0';
    FILE *f = fopen(p, "a");
    fprintf(f, "%s\n", strrchr(text, '\n') + 1);
    fclose(f);
    const char *report[] = { "report", "--no-plots", dir, NULL };
    run_gb(NULL, report, NULL, NULL);
    char *csv = slurp_in(dir, "summary.csv");
    struct gb_csv c;
    CU_ASSERT_TRUE_FATAL(csv && gb_csv_parse(csv, &c) == 3);
    size_t reps = 0;
    CU_ASSERT_TRUE(csv_col(&c, "reps", &reps));
    for (size_t i = 1; i < c.rows; i++)
        CU_ASSERT_STRING_EQUAL(c.cells[i][reps], "3");
    gb_csv_free(&c);
    free(csv);
    free(text);
    free(p);
    free(dir);
}

/* A power loss leaves a tail of NUL bytes where a line was being written:
 * the line is reported by its number and skipped, and never hides the
 * lines after it (resume would run them again, uncounted). */
static void test_nul_bytes_hide_nothing(void)
{
    char *dir = path_in(tmp, "nul");
    const char *env[] = { "GB_FAKE_NOISE=0", NULL };
    const char *args[] = { "run",      "--workload=spawn", "--impl=threads", "--n=100,1000",
                           "--reps=3", "--no-plots",       "--out",          dir,
                           NULL };
    CU_ASSERT_EQUAL_FATAL(run_gb(env, args, NULL, NULL), GB_EXIT_OK);
    char *p = path_in(dir, "cells.jsonl");
    char *text = NULL;
    size_t len = 0;
    CU_ASSERT_EQUAL_FATAL(gb_read_file(p, &text, &len), 0);
    /* 64 NUL bytes and a newline after the third line. */
    const char *third = text;
    for (int i = 0; i < 3; i++)
        third = strchr(third, '\n') + 1;
    struct gb_buf b;
    gb_buf_init(&b);
    gb_buf_add(&b, text, (size_t)(third - text));
    char zeros[64] = { 0 };
    gb_buf_add(&b, zeros, sizeof zeros);
    gb_buf_add(&b, "\n", 1);
    gb_buf_add(&b, third, len - (size_t)(third - text));
    CU_ASSERT_EQUAL_FATAL(gb_write_file(p, b.data, b.len), 0);
    gb_buf_free(&b);
    free(text);
    struct gb_jsonl j;
    CU_ASSERT_EQUAL_FATAL(gb_jsonl_load(p, &j), 0);
    CU_ASSERT_EQUAL(j.n, 8); /* 2 cells x (1 warm-up + 3) */
    CU_ASSERT_EQUAL_FATAL(j.nbad, 1);
    CU_ASSERT_EQUAL(j.bad[0], 4);
    gb_jsonl_free(&j);

    char *err = NULL;
    const char *rargs[] = { "report", "--no-plots", dir, NULL };
    CU_ASSERT_EQUAL(run_gb(NULL, rargs, NULL, &err), GB_EXIT_OK);
    CU_ASSERT_PTR_NOT_NULL(err && strstr(err, "line 4 is not a record"));
    free(err);
    char *md = slurp_in(dir, "report.md");
    CU_ASSERT_PTR_NOT_NULL(md && strstr(md, "line 4 is not a record"));
    free(md);
    char *csv = slurp_in(dir, "summary.csv");
    CU_ASSERT_PTR_NOT_NULL(csv && strstr(csv, "spawn threads n=1000,spawn,threads,,,1000,,,,,,,,,,,3,3,0"));
    free(csv);

    const char *resume[] = { "run", "--resume", dir, "--no-plots", NULL };
    CU_ASSERT_EQUAL(run_gb(env, resume, NULL, NULL), GB_EXIT_OK);
    CU_ASSERT_EQUAL_FATAL(gb_jsonl_load(p, &j), 0);
    CU_ASSERT_EQUAL(j.n, 8); /* nothing ran again */
    gb_jsonl_free(&j);
    free(p);
    free(dir);
}

/* A hang-up (a closed terminal, an ssh drop) stops the run as ^C does. */
/* Signals once the jobs have ended (a second ^C, or timeout(1) signalling
 * the whole group) leave the report to be written: a slow gnuplot holds the
 * run in its last stage while two SIGINTs come. It ends as it would have,
 * its meta.json complete and no half-written file left. */
static void test_late_signals_wait_for_the_report(void)
{
    char *dir = path_in(tmp, "late-signals");
    char *mark = path_in(tmp, "late-signals-plotting");
    char *slow = path_in(tmp, "slow-gnuplot");
    const char *real = gb_gnuplot();
    FILE *f = fopen(slow, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    /* The version probe before the run is not the plotting. */
    fprintf(f, "#!/bin/sh\n[ \"$1\" = --version ] || { touch '%s'; sleep 1; }\n%s%s \"$@\"\n", mark,
            real ? "exec " : "exit 0 # ", real ? real : "");
    fclose(f);
    CU_ASSERT_EQUAL_FATAL(chmod(slow, 0755), 0);
    char gnuplot[600];
    snprintf(gnuplot, sizeof gnuplot, "GREENBENCH_GNUPLOT=%s", slow);
    const char *env[] = { gnuplot, NULL };
    const char *args[] = {
        "run", "--workload=switch", "--impl=green", "--switch=asm", "--reps=1", "--out", dir, NULL
    };
    char op[512], ep[512];
    snprintf(op, sizeof op, "%s/late-stdout.txt", tmp);
    snprintf(ep, sizeof ep, "%s/late-stderr.txt", tmp);
    struct gb_proc gb;
    spawn_gb(env, args, op, ep, &gb);
    struct stat st;
    for (int i = 0; i < 1500 && stat(mark, &st) != 0; i++)
        usleep(20000);
    CU_ASSERT_EQUAL_FATAL(stat(mark, &st), 0);
    kill(gb.pid, SIGINT);
    usleep(5000);
    kill(gb.pid, SIGINT);
    int rc = wait_gb(&gb, 60);
    CU_ASSERT_EQUAL(rc, GB_EXIT_OK);
    char *err = slurp(ep);
    if (rc != GB_EXIT_OK)
        fprintf(stderr, "\n  exit %d; stderr:\n%s\n", rc, err ? err : "(none)");
    json_t *meta = read_json(dir, "meta.json");
    CU_ASSERT_STRING_EQUAL(meta ? gb_json_str(meta, "status", "") : "", "complete");
    json_decref(meta);
    CU_ASSERT_TRUE(exists(dir, "report.html"));
    CU_ASSERT_FALSE(exists(dir, "meta.json.tmp"));
    CU_ASSERT_FALSE(exists(dir, "report.html.tmp"));
    CU_ASSERT_PTR_NOT_NULL(err && strstr(err, "writing the summary and the report: a moment"));
    free(err);
    free(slow);
    free(mark);
    free(dir);
}

static void test_sighup_keeps_everything(void)
{
    char *dir = path_in(tmp, "hangup");
    const char *env[] = { "GB_FAKE=slow@/", "GB_FAKE_SLOW_MS=150", NULL };
    const char *args[] = {
        "run", "--workload=spawn", "--n=100,1000", "--reps=3", "--no-plots", "--out", dir, NULL
    };
    char ep[512];
    struct gb_proc gb;
    size_t before = start_run(env, args, dir, "hup", 3, &gb, ep, sizeof ep);
    gb_proc_signal(&gb, SIGHUP);
    CU_ASSERT_EQUAL(wait_gb(&gb, 60), GB_EXIT_FAILED);
    char *err = slurp(ep);
    CU_ASSERT_PTR_NOT_NULL(err && strstr(err, "interrupted by hang-up"));
    CU_ASSERT_PTR_NOT_NULL(err && strstr(err, "greenbench run --resume"));
    free(err);
    struct lines l = read_jsonl(dir);
    CU_ASSERT_TRUE(l.n >= before && l.n < 32);
    lines_free(&l);
    json_t *meta = read_json(dir, "meta.json");
    CU_ASSERT_STRING_EQUAL(gb_json_str(meta, "status", ""), "interrupted");
    json_decref(meta);
    CU_ASSERT_TRUE(exists(dir, "report.html"));
    free(dir);
}

/* ---- e2e ---- */

/* The charts a --quick run draws, from the catalog: each row's chart
 * (workloads/catalog.def, .plot) that has points (a bar chart always; a line
 * chart when the quick preset gives its x axis a value above 0, as
 * harness/plot.c's line_data asks), then the harness's own two. Returns how
 * many; kinds holds them, NULL-terminated. */
#define QUICK_KINDS_MAX 64
static size_t quick_plot_kinds(const char *kinds[], size_t max)
{
    size_t nk = 0;
    for (size_t w = 0; w < gb_nworkloads && nk + 3 < max; w++) {
        const struct gb_workload *wk = &gb_workloads[w];
        if (wk->plot.chart == GB_CHART_NONE)
            continue;
        bool points = wk->plot.chart == GB_CHART_BARS;
        for (int a = 0; a < GB_NAXES && !points; a++) {
            if (wk->plot.x != 1u << a)
                continue;
            const struct gb_preset_values *pv = &wk->preset[GB_PRESET_QUICK];
            const long *v = gb_preset_axis(pv, (enum gb_axis_id)a);
            for (size_t i = 0; i < gb_preset_count(v); i++)
                points |= v[i] > 0;
            for (size_t i = 0; a == GB_AXIS_N && i < gb_preset_count(pv->n_threads); i++)
                points |= pv->n_threads[i] > 0;
        }
        bool dup = false;
        for (size_t k = 0; k < nk; k++)
            dup |= strcmp(kinds[k], wk->plot.kind) == 0;
        if (points && !dup)
            kinds[nk++] = wk->plot.kind;
    }
    kinds[nk++] = "overview";
    kinds[nk++] = "efficiency";
    kinds[nk] = NULL;
    return nk;
}

/* A quick run's meta.json: what ran, on what, with which stop rule.
 * Returns the number of cells in its plan. */
static size_t check_quick_meta(const char *dir)
{
    json_t *meta = read_json(dir, "meta.json");
    CU_ASSERT_PTR_NOT_NULL_FATAL(meta);
    CU_ASSERT_DOUBLE_EQUAL(gb_json_num(meta, "schema_version", 0), GB_SCHEMA_VERSION, 0);
    CU_ASSERT_STRING_EQUAL(gb_json_str(meta, "status", ""), "complete");
    CU_ASSERT_STRING_EQUAL(gb_json_str(meta, "seed", ""), "11");
    CU_ASSERT_TRUE(json_is_array(json_object_get(meta, "command_line")));
    CU_ASSERT_TRUE(json_is_object(json_object_get(meta, "git")));
    CU_ASSERT_PTR_NOT_NULL(gb_json_str(meta, "start_time", NULL));
    CU_ASSERT_PTR_NOT_NULL(gb_json_str(meta, "end_time", NULL));
    const json_t *vers = json_object_get(meta, "versions");
    static const char *const vkeys[] = { "compiler", "c_flags", "libev", "libuv", "boost_context",
                                         "cunit", "gnuplot", "peers", NULL };
    for (size_t i = 0; vkeys[i]; i++)
        CU_ASSERT_PTR_NOT_NULL(json_object_get(vers, vkeys[i]));
    CU_ASSERT_PTR_NOT_NULL(gb_json_str(json_object_get(meta, "machine"), "cpu_model", NULL));
    CU_ASSERT_TRUE(gb_json_num(json_object_get(meta, "machine"), "cpus_online", 0) >= 1);
    const json_t *readings = json_object_get(json_object_get(meta, "preflight"), "readings");
    CU_ASSERT_TRUE(json_array_size(readings) >= 8);
    const json_t *cells = json_object_get(json_object_get(meta, "plan"), "cells");
    CU_ASSERT_PTR_NOT_NULL_FATAL(cells);
    size_t ncells = json_array_size(cells);
    CU_ASSERT_TRUE(ncells >= 20);
    /* --quick: 4 to 8 repetitions, target +-10%: the fake cells' 2% noise
     * settles every cell at 6, the fewest whose interval covers 95%. */
    const json_t *plan = json_object_get(meta, "plan");
    CU_ASSERT_DOUBLE_EQUAL(gb_json_num(plan, "min_reps", 0), 4, 0);
    CU_ASSERT_DOUBLE_EQUAL(gb_json_num(plan, "max_reps", 0), 8, 0);
    CU_ASSERT_DOUBLE_EQUAL(gb_json_num(plan, "target_ci", 0), 0.10, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(gb_json_num(plan, "budget_s", 0), 40, 0);
    json_decref(meta);
    return ncells;
}

/* Its cells.jsonl: one line per run, warm-ups included, and --rounds where
 * a run was short. */
static void check_quick_jsonl(const char *dir, size_t ncells)
{
    /* cells.jsonl: one line per run, warm-ups included; results kept. */
    struct lines l = read_jsonl(dir);
    CU_ASSERT_EQUAL(l.n, ncells * 7);
    CU_ASSERT_EQUAL(l.bad, 0);
    size_t warmups = 0, joinall = 0;
    for (size_t i = 0; i < l.n; i++) {
        const json_t *r = l.v[i];
        CU_ASSERT_STRING_EQUAL(gb_json_str(r, "status", ""), "ok");
        const json_t *res = json_object_get(r, "result");
        CU_ASSERT_TRUE(json_is_number(json_object_get(res, "ns_per_op")));
        CU_ASSERT_TRUE(gb_json_num(json_object_get(r, "rusage"), "maxrss_kb", 0) > 0);
        warmups += json_is_true(json_object_get(r, "warmup"));
        if (strcmp(gb_json_str(r, "cell", ""), "") && strncmp(gb_json_str(r, "cell", ""), "joinall", 7) == 0) {
            joinall++;
            CU_ASSERT_PTR_NOT_NULL(strstr(gb_json_str(r, "server_url", ""), "http://127.0.0.1:"));
            CU_ASSERT_TRUE(gb_json_num(res, "bytes_received", 0) > 1024); /* it reached the server */
        }
    }
    CU_ASSERT_EQUAL(warmups, ncells);
    CU_ASSERT_TRUE(joinall > 0);
    /* A cell whose warm-up's timed part was under 5 ms ran ceil(5 ms / it)
     * rounds per counted repetition, but a workload whose figure is memory
     * per task (spawn-alive: a memory snapshot) never. */
    size_t with_rounds = 0;
    for (size_t i = 0; i < l.n; i++) {
        const json_t *r = l.v[i];
        if (json_is_true(json_object_get(r, "warmup")))
            continue;
        const json_t *warm = NULL;
        for (size_t j = 0; j < l.n; j++)
            if (json_is_true(json_object_get(l.v[j], "warmup")) &&
                strcmp(gb_json_str(l.v[j], "cell", ""), gb_json_str(r, "cell", "")) == 0)
                warm = l.v[j];
        CU_ASSERT_PTR_NOT_NULL_FATAL(warm);
        double wall = gb_json_num(json_object_get(warm, "result"), "wall_ns", 0);
        const struct gb_workload *w =
            gb_workload_find(gb_json_str(json_object_get(r, "params"), "workload", ""));
        CU_ASSERT_PTR_NOT_NULL_FATAL(w);
        bool memory = w->metric == GB_METRIC_RSS_PER_TASK;
        long want = wall < 5e6 && !memory ? (long)ceil(5e6 / wall) : 1;
        long rounds = (long)gb_json_num(r, "rounds", 0);
        CU_ASSERT_EQUAL(rounds, want);
        CU_ASSERT_EQUAL((long)gb_json_num(json_object_get(r, "result"), "rounds", 0), want);
        const json_t *argv = json_object_get(r, "argv");
        const char *last = json_string_value(json_array_get(argv, json_array_size(argv) - 1));
        char flag[64];
        snprintf(flag, sizeof flag, "--rounds=%ld", want);
        CU_ASSERT_TRUE(want == 1 ? strncmp(last, "--rounds", 8) != 0 : strcmp(last, flag) == 0);
        with_rounds += want > 1;
    }
    CU_ASSERT_TRUE(with_rounds > 0);
    lines_free(&l);
}

/* summary.csv has every column results-format.md names. */
static void check_summary_columns(const struct gb_csv *c)
{
    static const char *const need[] = { "cell",
                                        "workload",
                                        "impl",
                                        "median_ns_per_op",
                                        "mean_ns_per_op",
                                        "stddev_ns_per_op",
                                        "cv",
                                        "min_ns_per_op",
                                        "max_ns_per_op",
                                        "ci_low_ns_per_op",
                                        "ci_high_ns_per_op",
                                        "ci_level",
                                        "outliers_mild",
                                        "outliers_severe",
                                        "reps_ok",
                                        "reps_failed",
                                        "peak_rss_kb",
                                        "ops_per_cpu_s",
                                        "rss_per_task_bytes",
                                        "metric",
                                        "ci_rel_half_width",
                                        "target_ci",
                                        "stop_reason",
                                        "rounds",
                                        "spent_s",
                                        "floor",
                                        "floor_ns_per_op",
                                        "of_floor",
                                        "of_floor_ci_low",
                                        "of_floor_ci_high",
                                        "cold_ns_per_op",
                                        "cold_ns_per_op_ci_low",
                                        "cold_ns_per_op_ci_high",
                                        "os_threads_peak",
                                        NULL };
    for (size_t i = 0; need[i]; i++) {
        size_t col;
        CU_ASSERT_TRUE(csv_col(c, need[i], &col));
    }
}

/* Its summary.csv (the text csv). */
static void check_quick_summary(const char *csv, size_t ncells)
{
    /* summary.csv: RFC 4180, a header, one row per cell. */
    CU_ASSERT_PTR_NOT_NULL(strstr(csv, "\r\n"));
    struct gb_csv c;
    CU_ASSERT_EQUAL(gb_csv_parse(csv, &c), (int)ncells + 1);
    check_summary_columns(&c);
    size_t col_med = 0, col_lo = 0, col_hi = 0, col_ok = 0, col_stop = 0;
    csv_col(&c, "stop_reason", &col_stop);
    csv_col(&c, "median_ns_per_op", &col_med);
    csv_col(&c, "ci_low_ns_per_op", &col_lo);
    csv_col(&c, "ci_high_ns_per_op", &col_hi);
    csv_col(&c, "reps_ok", &col_ok);
    /* The floor's five columns, then the spawn's cold figure's three, then
     * os_threads_peak come last; a green switch cell has the floor's (the
     * fake cells' floor is 1.05 times below, each with 2% noise), every
     * other cell has them empty. */
    size_t col_floor = 0, col_of = 0, col_of_lo = 0, col_of_hi = 0, col_fns = 0, floors = 0;
    CU_ASSERT_TRUE(csv_col(&c, "floor", &col_floor) && col_floor == c.ncols[0] - 9);
    csv_col(&c, "floor_ns_per_op", &col_fns);
    csv_col(&c, "of_floor", &col_of);
    csv_col(&c, "of_floor_ci_low", &col_of_lo);
    csv_col(&c, "of_floor_ci_high", &col_of_hi);
    size_t col_cold = 0, colds = 0, threads_colds = 0;
    CU_ASSERT_TRUE(csv_col(&c, "cold_ns_per_op", &col_cold) && col_cold == c.ncols[0] - 4);
    size_t col_threads = 0;
    CU_ASSERT_TRUE(csv_col(&c, "os_threads_peak", &col_threads) && col_threads == c.ncols[0] - 1);
    for (size_t r = 1; r < c.rows; r++) {
        CU_ASSERT_EQUAL_FATAL(c.ncols[r], c.ncols[0]);
        double med = atof(c.cells[r][col_med]), lo = atof(c.cells[r][col_lo]),
               hi = atof(c.cells[r][col_hi]);
        CU_ASSERT_TRUE(lo <= med && med <= hi && med > 0);
        CU_ASSERT_STRING_EQUAL(c.cells[r][col_ok], "6");
        CU_ASSERT_STRING_EQUAL(c.cells[r][col_stop], "converged");
        char **row = c.cells[r];
        if (strncmp(row[0], "switch green ", 13) == 0) {
            bool nofpu = strncmp(row[0], "switch green asm-nofpu ", 23) == 0;
            bool uc = strncmp(row[0], "switch green ucontext ", 22) == 0;
            CU_ASSERT_STRING_EQUAL(row[col_floor], nofpu ? "regs" : uc ? "swapcontext" : "regs+fp");
            double of = atof(row[col_of]), of_lo = atof(row[col_of_lo]), of_hi = atof(row[col_of_hi]);
            CU_ASSERT_TRUE(of > 1.0 && of < 1.1 && of_lo <= of && of <= of_hi);
            CU_ASSERT_DOUBLE_EQUAL(atof(row[col_fns]) * of, med, 0.1 * med);
            floors++;
        } else {
            for (size_t k = col_floor; k < col_cold; k++)
                CU_ASSERT_STRING_EQUAL(row[k], "");
        }
        /* The first pass: a green spawn cell with one hub has it (the fake
         * cells' is 3 times their figure, 2% noise each), every other cell
         * (threads, several hubs) has it empty. */
        bool one_hub = !strstr(row[0], " cpus=") || strstr(row[0], " cpus=1 ");
        if (strncmp(row[0], "spawn green ", 12) == 0 && one_hub) {
            double cold = atof(row[col_cold]), cold_lo = atof(row[col_cold + 1]),
                   cold_hi = atof(row[col_cold + 2]);
            CU_ASSERT_TRUE(cold_lo <= cold && cold <= cold_hi);
            CU_ASSERT_DOUBLE_EQUAL(cold, 3 * med, 0.1 * 3 * med);
            colds++;
        } else {
            for (size_t k = col_cold; k < col_threads; k++)
                CU_ASSERT_STRING_EQUAL(row[k], "");
            threads_colds += strncmp(row[0], "spawn threads ", 14) == 0;
        }
    }
    CU_ASSERT_TRUE(floors >= 2); /* asm and ucontext at least */
    CU_ASSERT_TRUE(colds >= 2);  /* asm/libev and asm/libuv at least */
    CU_ASSERT_TRUE(threads_colds >= 1);
    gb_csv_free(&c);
}

/* Its plots/ (pdir). */
static void check_quick_plots(const char *pdir)
{
    /* Plots: SVG that xmllint accepts, PNG with a PNG signature, .gp and .dat. */
    if (!has_xmllint())
        CU_FAIL("xmllint is not installed (Debian: apt-get install libxml2-utils)");
    CU_ASSERT_TRUE(exists(pdir, "style.gp"));
    const char *plot_kinds[QUICK_KINDS_MAX];
    quick_plot_kinds(plot_kinds, sizeof plot_kinds / sizeof plot_kinds[0]);
    for (size_t i = 0; plot_kinds[i]; i++) {
        char name[64];
        const char *exts[] = { "gp", "dat", "svg", "png" };
        for (size_t e = 0; e < 4; e++) {
            snprintf(name, sizeof name, "%s.%s", plot_kinds[i], exts[e]);
            CU_ASSERT_TRUE(exists(pdir, name));
            if (!exists(pdir, name))
                fprintf(stderr, "\n  missing plots/%s\n", name);
        }
        char *svg = gb_xasprintf("%s/%s.svg", pdir, plot_kinds[i]);
        char *cmd = gb_xasprintf("xmllint --noout '%s'", svg);
        if (has_xmllint())
            CU_ASSERT_EQUAL(system(cmd), 0);
        free(cmd);
        free(svg);
        char *png = gb_xasprintf("%s/%s.png", pdir, plot_kinds[i]);
        CU_ASSERT_TRUE(is_png(png));
        free(png);
    }
    /* A line chart with .ideal has its ideal line's data beside it. */
    for (size_t w = 0; w < gb_nworkloads; w++) {
        const struct gb_workload *wk = &gb_workloads[w];
        bool drawn = false;
        for (size_t i = 0; plot_kinds[i]; i++)
            drawn |= wk->plot.kind && strcmp(plot_kinds[i], wk->plot.kind) == 0;
        if (!drawn || !wk->plot.ideal)
            continue;
        char name[64];
        snprintf(name, sizeof name, "%s_ideal.dat", wk->plot.kind);
        CU_ASSERT_TRUE(exists(pdir, name));
        if (!exists(pdir, name))
            fprintf(stderr, "\n  missing plots/%s (%s's ideal line)\n", name, wk->name);
    }
    /* The .gp scripts redraw with plain gnuplot, in place. */
    char *cmd = gb_xasprintf("cd '%s' && rm -f spawn.svg && gnuplot spawn.gp 2>/dev/null && test -s spawn.svg", pdir);
    CU_ASSERT_EQUAL(system(cmd), 0);
    free(cmd);
}

/* Its report.html and report.md (the text md). */
static void check_quick_reports(const char *dir, const char *md)
{
    /* Reports: self-contained HTML with the plots inline; Markdown. */
    char *html = slurp_in(dir, "report.html");
    CU_ASSERT_PTR_NOT_NULL_FATAL(html);
    CU_ASSERT_EQUAL(strncmp(html, "<!DOCTYPE html>", 15), 0);
    /* Every chart drawn, inline. */
    const char *plot_kinds[QUICK_KINDS_MAX];
    size_t nkinds = quick_plot_kinds(plot_kinds, sizeof plot_kinds / sizeof plot_kinds[0]);
    CU_ASSERT_EQUAL(count_substr(html, "data:image/svg+xml;base64,"), nkinds);
    CU_ASSERT_PTR_NULL(strstr(html, "<script"));
    CU_ASSERT_PTR_NULL(strstr(html, "src=\"plots/")); /* nothing outside the file */
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "Ratios between coroutines and threads depend on the machine"));
    /* A table of what an op costs per throughput workload, with the
     * columns its axes and cells have: dns's resolver variant and memory. */
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "What a request costs the client: joinall"));
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "What a lookup costs the client: dns"));
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "× without ares"));
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "memory per lookup in flight"));
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "</html>"));
    free(html);
    CU_ASSERT_PTR_NOT_NULL(strstr(md, "![Context switch cost per backend](plots/switch.svg)"));
    CU_ASSERT_PTR_NOT_NULL(strstr(md, "| --- |"));
    /* Findings first, right after the title and the command. */
    char *first = strstr(md, "\n## ");
    CU_ASSERT_PTR_NOT_NULL(first && strncmp(first, "\n## Findings\n", 13) == 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(md, "× faster ("));
    CU_ASSERT_PTR_NULL(strstr(md, "e+0")); /* numbers people read */
    /* A findings row per green switch backend against its floor, and the
     * switch table's floor columns. */
    CU_ASSERT_PTR_NOT_NULL(strstr(md, "| asm | its floor (regs+fp) | "));
    CU_ASSERT_PTR_NOT_NULL(strstr(md, "| ucontext | its floor (swapcontext) | "));
    CU_ASSERT_PTR_NOT_NULL(strstr(md, "× its floor (1."));
    CU_ASSERT_PTR_NOT_NULL(strstr(md, "| its floor | of its floor |"));
    /* The spawn table's first-pass column, in that table alone, filled for
     * its green rows and empty for threads. */
    const char *spawn_t = strstr(md, "\n### spawn\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(spawn_t);
    const char *cold_col = strstr(md, "| first N (cold) |");
    CU_ASSERT_TRUE(cold_col != NULL && cold_col > spawn_t && cold_col < strstr(spawn_t + 1, "\n### "));
    CU_ASSERT_EQUAL(count_substr(md, "| first N (cold) |"), 1);
    const char *green_row = strstr(spawn_t, "\n| green asm/libev | n=");
    const char *threads_row = strstr(spawn_t, "\n| threads | n=");
    CU_ASSERT_PTR_NOT_NULL_FATAL(green_row);
    CU_ASSERT_PTR_NOT_NULL_FATAL(threads_row);
    const char *eol = strchr(green_row + 1, '\n');
    CU_ASSERT_TRUE(eol != NULL && strncmp(eol - 5, " ns |", 5) == 0);
    eol = strchr(threads_row + 1, '\n');
    CU_ASSERT_TRUE(eol != NULL && strncmp(eol - 4, "|  |", 4) == 0);
}

/* `greenbench report DIR` rebuilds summary.csv (csv) and report.md (md)
 * from the stored files, plots in pdir too. */
static void check_report_rebuilds(const char *dir, const char *pdir, const char *csv, const char *md)
{
    /* `greenbench report DIR` rebuilds everything from the stored files,
     * with what greenbench-server said in server.log (the fake server of
     * this run says nothing the report quotes: add a line of the real one). */
    CU_ASSERT_PTR_NOT_NULL(strstr(md, "## Local HTTP server")); /* where it ran */
    CU_ASSERT_PTR_NULL(strstr(md, "What it said, in order"));
    char *lp = path_in(dir, "server.log");
    FILE *log = fopen(lp, "a");
    CU_ASSERT_PTR_NOT_NULL_FATAL(log);
    fputs("greenbench-server: 12 delayed answers left 0.250 ms after they were due on average\n", log);
    fclose(log);
    free(lp);
    char *sp = path_in(dir, "summary.csv"), *mp = path_in(dir, "report.md");
    unlink(sp);
    unlink(mp);
    char *svg = gb_xasprintf("%s/switch.svg", pdir);
    unlink(svg);
    free(svg);
    const char *rargs[] = { "report", dir, NULL };
    CU_ASSERT_EQUAL(run_gb(NULL, rargs, NULL, NULL), GB_EXIT_OK);
    char *csv2 = slurp(sp), *md2 = slurp(mp);
    CU_ASSERT_PTR_NOT_NULL(csv2);
    CU_ASSERT_STRING_EQUAL(csv2 ? csv2 : "", csv);
    /* The same report, plus what the server said. */
    static const char said[] = "What it said, in order:\n\n"
                               "- 12 delayed answers left 0.250 ms after they were due on average\n\n";
    char *section = md2 ? strstr(md2, said) : NULL;
    CU_ASSERT_PTR_NOT_NULL_FATAL(section);
    memmove(section, section + strlen(said), strlen(section + strlen(said)) + 1);
    CU_ASSERT_STRING_EQUAL(md2, md);
    CU_ASSERT_TRUE(exists(pdir, "switch.svg"));
    free(csv2);
    free(md2);
    free(sp);
    free(mp);
}

static void test_quick_run_files(void)
{
    char *dir = path_in(tmp, "quick");
    const char *args[] = { "run", "--quick", "--seed=11", "--out", dir, NULL };
    char *err = NULL;
    int rc = run_gb(NULL, args, NULL, &err);
    CU_ASSERT_EQUAL(rc, GB_EXIT_OK);
    if (rc != GB_EXIT_OK && err)
        fprintf(stderr, "\n%s\n", err);
    free(err);

    size_t ncells = check_quick_meta(dir);
    check_quick_jsonl(dir, ncells);
    char *csv = slurp_in(dir, "summary.csv");
    CU_ASSERT_PTR_NOT_NULL_FATAL(csv);
    check_quick_summary(csv, ncells);
    char *pdir = path_in(dir, "plots");
    check_quick_plots(pdir);
    char *md = slurp_in(dir, "report.md");
    CU_ASSERT_PTR_NOT_NULL_FATAL(md);
    check_quick_reports(dir, md);
    check_report_rebuilds(dir, pdir, csv, md);
    free(md);
    free(pdir);
    free(csv);
    free(dir);
}

/* test_compare's CSV: the x2 cell is "slower" at 2, the others the same. */
static void check_compare_csv(const char *csvp)
{
    char *csv = slurp(csvp);
    CU_ASSERT_PTR_NOT_NULL_FATAL(csv);
    struct gb_csv c;
    CU_ASSERT_EQUAL(gb_csv_parse(csv, &c), 5); /* header + 4 cells */
    size_t col_v = 0, col_r = 0;
    csv_col(&c, "verdict", &col_v);
    csv_col(&c, "ratio", &col_r);
    for (size_t r = 1; r < c.rows; r++) {
        const char *key = c.cells[r][0], *verdict = c.cells[r][col_v];
        double ratio = atof(c.cells[r][col_r]);
        if (strcmp(key, "spawn green asm/libev n=100") == 0) {
            CU_ASSERT_STRING_EQUAL(verdict, "slower");
            CU_ASSERT_DOUBLE_EQUAL(ratio, 2, 0.01);
        } else {
            CU_ASSERT_STRING_EQUAL(verdict, "same within noise");
            CU_ASSERT_DOUBLE_EQUAL(ratio, 1, 0.01);
        }
    }
    gb_csv_free(&c);
    free(csv);
}

/* Three repetitions a side cannot reach p < 0.05: said so, not "same". */
static void check_compare_too_few(const char *const *env_a, const char *const *env_b)
{
    char *c3 = path_in(tmp, "cmp-c"), *d3 = path_in(tmp, "cmp-d");
    const char *args_c[] = { "run",      "--workload=spawn", "--impl=threads", "--n=100",
                             "--reps=3", "--no-plots",       "--out",          c3,
                             NULL };
    const char *args_d[] = { "run",      "--workload=spawn", "--impl=threads", "--n=100",
                             "--reps=3", "--no-plots",       "--out",          d3,
                             NULL };
    CU_ASSERT_EQUAL(run_gb(env_a, args_c, NULL, NULL), GB_EXIT_OK);
    CU_ASSERT_EQUAL(run_gb(env_b, args_d, NULL, NULL), GB_EXIT_OK);
    const char *few[] = { "compare", c3, d3, NULL };
    char *out = NULL;
    CU_ASSERT_EQUAL(run_gb(NULL, few, &out, NULL), GB_EXIT_OK);
    CU_ASSERT_PTR_NOT_NULL(out && strstr(out, "too few repetitions to tell"));
    CU_ASSERT_PTR_NULL(out && strstr(out, "same within noise"));
    free(out);
    free(c3);
    free(d3);
}

/* No cell in common with run a: an error, not an empty table. */
static void check_compare_disjoint(const char *a, const char *const *env)
{
    char *e = path_in(tmp, "cmp-e");
    const char *args_e[] = {
        "run", "--workload=switch", "--impl=threads", "--reps=2", "--no-plots", "--out", e, NULL
    };
    CU_ASSERT_EQUAL(run_gb(env, args_e, NULL, NULL), GB_EXIT_OK);
    const char *disjoint[] = { "compare", a, e, NULL };
    char *err = NULL, *out = NULL;
    CU_ASSERT_EQUAL(run_gb(NULL, disjoint, &out, &err), GB_EXIT_FAILED);
    CU_ASSERT_PTR_NOT_NULL(err && strstr(err, "no cell is in both runs"));
    CU_ASSERT_PTR_NOT_NULL(out && strstr(out, "| cell |") == NULL);
    free(out);
    free(err);
    free(e);
}

/* The median of column col of summary.csv's row for key (NAN: none). */
static double summary_value(const char *dir, const char *key, const char *col)
{
    char *csv = slurp_in(dir, "summary.csv");
    struct gb_csv c;
    double v = NAN;
    size_t at = 0;
    if (csv != NULL && gb_csv_parse(csv, &c) > 0) {
        for (size_t r = 1; csv_col(&c, col, &at) && r < c.rows; r++)
            if (strcmp(c.cells[r][0], key) == 0)
                v = atof(c.cells[r][at]);
        gb_csv_free(&c);
    }
    free(csv);
    return v;
}

/* A per-iteration workload at two n: its finding and its overview bar are
 * at the largest n, as documented, even when a smaller n did better (here
 * green's n=10000 made 3 times slower: the finding took the lowest median
 * at any n, and the overview the first cell in plan order). */
static void test_headline_at_largest_n(void)
{
    char *dir = path_in(tmp, "largest-n");
    const char *env[] = { "GB_FAKE_NOISE=0.01", NULL };
    const char *args[] = { "run",
                           "--workload=switch",
                           "--impl=green,threads",
                           "--switch=asm",
                           "--n=100,10000",
                           "--reps=6",
                           "--out",
                           dir,
                           NULL };
    CU_ASSERT_EQUAL_FATAL(run_gb(env, args, NULL, NULL), GB_EXIT_OK);
    struct lines l = read_jsonl(dir);
    struct gb_buf b;
    gb_buf_init(&b);
    for (size_t i = 0; i < l.n; i++) {
        json_t *res = json_object_get(l.v[i], "result");
        if (strcmp(gb_json_str(l.v[i], "cell", ""), "switch green asm n=10000") == 0 && json_is_object(res))
            for (size_t k = 0; k < 2; k++) {
                const char *f = k ? "wall_ns" : "ns_per_op";
                json_object_set_new(res, f, json_real(gb_json_num(res, f, 0) * 3));
            }
        gb_json_dump_new(&b, json_incref(l.v[i]), GB_JSON_LINE);
        gb_buf_puts(&b, "\n");
    }
    lines_free(&l);
    char *path = gb_xasprintf("%s/cells.jsonl", dir);
    CU_ASSERT_EQUAL_FATAL(gb_write_file_atomic(path, b.data, b.len), 0);
    free(path);
    gb_buf_free(&b);
    const char *report[] = { "report", dir, NULL };
    CU_ASSERT_EQUAL_FATAL(run_gb(NULL, report, NULL, NULL), GB_EXIT_OK);
    char *md = slurp_in(dir, "report.md");
    CU_ASSERT_PTR_NOT_NULL(md && strstr(md, "| switch n=10000 | asm | threads cpus=1 |"));
    free(md);
    /* The overview's switch bar: green's n=10000 over its threads baseline at that n. */
    double want = summary_value(dir, "switch green asm n=10000", "median_ns_per_op") /
                  summary_value(dir, "switch threads cpus=1 n=10000", "median_ns_per_op");
    char *dat = slurp_in(dir, "plots/overview.dat");
    double got = NAN; /* The line "0 RATIO LOW HIGH" (not the label's "0 \"switch\""). */
    for (const char *at = dat; at != NULL && (at = strstr(at, "\n0 ")) != NULL; at++)
        if (at[3] >= '0' && at[3] <= '9')
            got = atof(at + 3);
    if (!(fabs(got / want - 1) < 0.05))
        fprintf(stderr, "\n  overview's switch bar %g, want about %g\n", got, want);
    CU_ASSERT(fabs(got / want - 1) < 0.05);
    free(dat);
    free(dir);
}

static void test_compare(void)
{
    char *a = path_in(tmp, "cmp-a"), *b = path_in(tmp, "cmp-b");
    const char *args_a[] = { "run", "--workload=spawn", "--n=100", "--reps=6", "--no-plots", "--out", a,
                             NULL };
    const char *args_b[] = { "run", "--workload=spawn", "--n=100", "--reps=6", "--no-plots", "--out", b,
                             NULL };
    /* Noise-free fakes: "same" cells are identical, the x2 one exactly twice. */
    const char *env_a[] = { "GB_FAKE_NOISE=0", NULL };
    const char *env_b[] = { "GB_FAKE_NOISE=0", "GB_FAKE=x2@/spawn/green/asm/libev/", NULL };
    CU_ASSERT_EQUAL(run_gb(env_a, args_a, NULL, NULL), GB_EXIT_OK);
    CU_ASSERT_EQUAL(run_gb(env_b, args_b, NULL, NULL), GB_EXIT_OK);
    char *csvp = path_in(tmp, "cmp.csv");
    const char *args[] = { "compare", "--csv", csvp, a, b, NULL };
    char *out = NULL;
    CU_ASSERT_EQUAL(run_gb(NULL, args, &out, NULL), GB_EXIT_OK);
    CU_ASSERT_PTR_NOT_NULL_FATAL(out);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "| cell |"));
    free(out);
    check_compare_csv(csvp);
    const char *bad[] = { "compare", a, NULL };
    CU_ASSERT_EQUAL(run_gb(NULL, bad, NULL, NULL), GB_EXIT_USAGE);

    /* The CSV goes into DIR_A by default, or into the directory --out names. */
    const char *plain[] = { "compare", a, b, NULL };
    CU_ASSERT_EQUAL(run_gb(NULL, plain, NULL, NULL), GB_EXIT_OK);
    CU_ASSERT_TRUE(exists(a, "compare-cmp-a-vs-cmp-b.csv"));
    const char *into[] = { "compare", "--out", tmp, a, b, NULL };
    CU_ASSERT_EQUAL(run_gb(NULL, into, NULL, NULL), GB_EXIT_OK);
    CU_ASSERT_TRUE(exists(tmp, "compare-cmp-a-vs-cmp-b.csv"));

    check_compare_too_few(env_a, env_b);
    check_compare_disjoint(a, env_a);
    free(csvp);
    free(a);
    free(b);
}

/* A small run of the fake threads spawn cell into tmp/name (the caller
 * frees the path). */
static char *small_run(const char *name)
{
    char *dir = path_in(tmp, name);
    const char *args[] = { "run",      "--workload=spawn", "--impl=threads", "--n=100",
                           "--reps=2", "--no-plots",       "--out",          dir,
                           NULL };
    CU_ASSERT_EQUAL_FATAL(run_gb(NULL, args, NULL, NULL), GB_EXIT_OK);
    return dir;
}

/* A copy of run dir as tmp/name without its file drop (NULL: whole). */
static char *copy_run(const char *dir, const char *name, const char *drop)
{
    char *copy = path_in(tmp, name);
    char *cmd = gb_xasprintf("cp -r '%s' '%s'", dir, copy);
    CU_ASSERT_EQUAL_FATAL(system(cmd), 0);
    free(cmd);
    if (drop) {
        char *p = path_in(copy, drop);
        CU_ASSERT_EQUAL(unlink(p), 0);
        free(p);
    }
    return copy;
}

/* Is dir/name's text still text (NULL: the file was never there). */
static void check_unchanged(const char *dir, const char *name, const char *text)
{
    char *now = slurp_in(dir, name);
    CU_ASSERT_PTR_NOT_NULL(now);
    CU_ASSERT_STRING_EQUAL(now ? now : "", text ? text : "(missing)");
    free(now);
}

/* compare's --out never lands among a run's files: a file named in run b,
 * or below it, is refused and b left as it was; b itself, a folder not made
 * yet and an earlier comparison are fine. */
static void test_compare_out_spares_runs(void)
{
    char *a = small_run("out-a"), *b = small_run("out-b");
    char *cells = slurp_in(b, "cells.jsonl"), *meta = slurp_in(b, "meta.json");
    static const char *const in_b[] = { "cells.jsonl", "meta.json", "summary.csv", "new/x.csv" };
    for (size_t i = 0; i < sizeof in_b / sizeof in_b[0]; i++) {
        char *out = path_in(b, in_b[i]), *err = NULL;
        const char *args[] = { "compare", "--out", out, a, b, NULL };
        CU_ASSERT_EQUAL(run_gb(NULL, args, NULL, &err), GB_EXIT_USAGE);
        CU_ASSERT_PTR_NOT_NULL(err && strstr(err, "is in the run folder"));
        free(err);
        free(out);
    }
    check_unchanged(b, "cells.jsonl", cells);
    check_unchanged(b, "meta.json", meta);
    char *made = path_in(b, "new");
    CU_ASSERT_FALSE(gb_is_dir(made));
    free(made);
    const char *folder[] = { "compare", "--out", b, a, b, NULL };
    CU_ASSERT_EQUAL(run_gb(NULL, folder, NULL, NULL), GB_EXIT_OK);
    CU_ASSERT_TRUE(exists(b, "compare-out-a-vs-out-b.csv"));
    /* A folder not there yet is made, as run --out makes its own. */
    char *fresh = gb_xasprintf("%s/cmp-new/", tmp), *err = NULL;
    const char *into[] = { "compare", "--out", fresh, a, b, NULL };
    CU_ASSERT_EQUAL(run_gb(NULL, into, NULL, &err), GB_EXIT_OK);
    CU_ASSERT_PTR_NULL(err && strstr(err, "cannot write"));
    CU_ASSERT_TRUE(exists(fresh, "compare-out-a-vs-out-b.csv"));
    free(err);
    /* A file outside runs, a comparison made before, is replaced. */
    char *old = path_in(tmp, "old.csv");
    CU_ASSERT_EQUAL(gb_write_file(old, "old\n", 4), 0);
    const char *again[] = { "compare", "--out", old, a, b, NULL };
    CU_ASSERT_EQUAL(run_gb(NULL, again, NULL, NULL), GB_EXIT_OK);
    char *csv = slurp(old);
    CU_ASSERT_PTR_NOT_NULL(csv && strncmp(csv, "cell,", 5) == 0 ? csv : NULL);
    free(csv);
    free(old);
    free(fresh);
    free(cells);
    free(meta);
    free(a);
    free(b);
}

/* A folder without meta.json (report would invent the plan), without
 * cells.jsonl (it would report no results over the real ones) or without
 * either: report and compare refuse it alike, exit 2, and rewrite nothing. */
static void test_partial_runs_refused(void)
{
    char *run = small_run("whole");
    char *md = slurp_in(run, "report.md"), *csv = slurp_in(run, "summary.csv");
    char *no_meta = copy_run(run, "no-meta", "meta.json");
    char *no_cells = copy_run(run, "no-cells", "cells.jsonl");
    char *empty = path_in(tmp, "no-run");
    CU_ASSERT_EQUAL_FATAL(mkdir(empty, 0755), 0);
    /* JSON, but not a run's meta.json: a report made up a plan for it. */
    char *list_meta = copy_run(run, "list-meta", "meta.json"),
         *bad_plan = copy_run(run, "bad-plan", "meta.json");
    char *p = path_in(list_meta, "meta.json");
    CU_ASSERT_EQUAL(gb_write_file(p, "[]\n", 3), 0);
    free(p);
    json_t *meta = read_json(run, "meta.json");
    json_object_set_new(meta, "plan", json_string("x"));
    struct gb_buf b;
    gb_buf_init(&b);
    gb_json_dump_new(&b, meta, GB_JSON_DOC);
    p = path_in(bad_plan, "meta.json");
    CU_ASSERT_EQUAL(gb_write_file(p, b.data, b.len), 0);
    free(p);
    gb_buf_free(&b);
    const struct {
        const char *dir, *says;
    } cases[] = {
        { no_meta, "its meta.json (the plan, the machine and the times of the run) is missing" },
        { no_cells, "its cells.jsonl (every repetition measured) is missing" },
        { empty, "is not a greenbench run (it has no meta.json and no cells.jsonl)" },
        { list_meta, "list-meta/meta.json is not a greenbench run's meta.json" },
        { bad_plan, "bad-plan/meta.json is not a greenbench run's meta.json" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *err = NULL;
        const char *rep[] = { "report", cases[i].dir, NULL };
        CU_ASSERT_EQUAL(run_gb(NULL, rep, NULL, &err), GB_EXIT_USAGE);
        CU_ASSERT_PTR_NOT_NULL(err && strstr(err, cases[i].says));
        CU_ASSERT_PTR_NOT_NULL(err && strstr(err, "nothing was rewritten"));
        free(err);
        const char *cmp[] = { "compare", run, cases[i].dir, NULL };
        CU_ASSERT_EQUAL(run_gb(NULL, cmp, NULL, &err), GB_EXIT_USAGE);
        CU_ASSERT_PTR_NOT_NULL(err && strstr(err, cases[i].says));
        free(err);
    }
    check_unchanged(no_meta, "report.md", md);
    check_unchanged(no_meta, "summary.csv", csv);
    check_unchanged(no_cells, "report.md", md);
    check_unchanged(no_cells, "summary.csv", csv);
    check_unchanged(list_meta, "summary.csv", csv);
    check_unchanged(bad_plan, "summary.csv", csv);
    check_unchanged(bad_plan, "report.md", md);
    CU_ASSERT_FALSE(exists(empty, "report.md"));
    CU_ASSERT_FALSE(exists(run, "compare-whole-vs-no-meta.csv"));
    free(md);
    free(csv);
    free(no_meta);
    free(no_cells);
    free(list_meta);
    free(bad_plan);
    free(empty);
    free(run);
}

/* A run interrupted before its first repetition (cells.jsonl empty): its
 * cells are compared with no figures, a p too, not a p of 0, which reads
 * as the most significant. */
static void test_compare_row_without_results(void)
{
    char *run = small_run("ran"), *none = copy_run(run, "ran-none", NULL);
    char *cells = path_in(none, "cells.jsonl"), *csvp = path_in(tmp, "none.csv"), *out = NULL;
    CU_ASSERT_EQUAL(gb_write_file(cells, "", 0), 0);
    const char *args[] = { "compare", "--out", csvp, run, none, NULL };
    CU_ASSERT_EQUAL(run_gb(NULL, args, &out, NULL), GB_EXIT_OK);
    CU_ASSERT_PTR_NOT_NULL(out && strstr(out, "| n/a | n/a | n/a | n/a | no results to compare |"));
    free(out);
    char *text = slurp(csvp);
    struct gb_csv c;
    CU_ASSERT_EQUAL_FATAL(gb_csv_parse(text ? text : "", &c), 2); /* header + the cell */
    size_t col_p = 0, col_u = 0, col_v = 0;
    CU_ASSERT_TRUE(csv_col(&c, "p_value", &col_p) && csv_col(&c, "u", &col_u) &&
                   csv_col(&c, "verdict", &col_v));
    CU_ASSERT_STRING_EQUAL(c.cells[1][col_p], "");
    CU_ASSERT_STRING_EQUAL(c.cells[1][col_u], "");
    CU_ASSERT_STRING_EQUAL(c.cells[1][col_v], "no results to compare");
    gb_csv_free(&c);
    free(text);
    free(csvp);
    free(cells);
    free(none);
    free(run);
}

/* report on a merged folder says what it wrote, as it does for a run. */
static void test_report_of_a_merge_says_so(void)
{
    char *run = small_run("merge-src"), *merged = path_in(tmp, "merged"), *err = NULL;
    const char *merge[] = { "merge", "--no-plots", merged, run, NULL };
    CU_ASSERT_EQUAL_FATAL(run_gb(NULL, merge, NULL, NULL), GB_EXIT_OK);
    const char *rep[] = { "report", "--no-plots", merged, NULL };
    CU_ASSERT_EQUAL(run_gb(NULL, rep, NULL, &err), GB_EXIT_OK);
    char *said = gb_xasprintf("greenbench: wrote %s/summary.csv, %s/ratios.csv, %s/cross-host.csv, "
                              "%s/report.md and each host's run in %s/hosts/\n",
                              merged, merged, merged, merged, merged);
    CU_ASSERT_STRING_EQUAL(err ? err : "", said);
    free(said);
    free(err);
    free(merged);
    free(run);
}

/* The harness samples every repetition's OS threads: a threads cell whose
 * fake holds 8 threads beside its main one for 150 ms peaks at 9 or more in
 * every record (the warm-up's too), a green one at 1; summary.csv's
 * os_threads_peak is the largest of the counted ok ones, and the report
 * shows it. */
static void test_os_threads_sampled(void)
{
    char *dir = path_in(tmp, "threads");
    const char *env[] = { "GB_FAKE=threads@/yield/threads/,slow@/yield/green/", "GB_FAKE_THREADS=8",
                          "GB_FAKE_THREADS_MS=150", "GB_FAKE_SLOW_MS=150", NULL };
    const char *args[] = {
        "run",     "--workload=yield", "--impl=green,threads", "--switch=asm", "--loop=libev",
        "--n=100", "--reps=2",         "--no-plots",           "--out",        dir,
        NULL
    };
    char *err = NULL;
    int rc = run_gb(env, args, NULL, &err);
    CU_ASSERT_EQUAL(rc, GB_EXIT_OK);
    if (rc != GB_EXIT_OK && err)
        fprintf(stderr, "\n%s\n", err);
    free(err);
    struct lines l = read_jsonl(dir);
    size_t threads = 0, green = 0;
    for (size_t i = 0; i < l.n; i++) {
        const char *key = gb_json_str(l.v[i], "cell", "");
        double peak = gb_json_num(l.v[i], "os_threads_peak", 0);
        if (strncmp(key, "yield threads ", 14) == 0) {
            CU_ASSERT_TRUE(peak >= 9);
            threads++;
        } else if (strncmp(key, "yield green ", 12) == 0) {
            CU_ASSERT_EQUAL(peak, 1);
            green++;
        }
    }
    CU_ASSERT_EQUAL(threads, 3);
    CU_ASSERT_EQUAL(green, 3);
    lines_free(&l);
    char *csv = slurp_in(dir, "summary.csv");
    struct gb_csv c;
    CU_ASSERT_EQUAL_FATAL(gb_csv_parse(csv ? csv : "", &c), 3);
    size_t col = 0;
    CU_ASSERT_TRUE(csv_col(&c, "os_threads_peak", &col));
    for (size_t r = 1; r < c.rows; r++) {
        long v = atol(c.cells[r][col]);
        bool is_threads = strncmp(c.cells[r][0], "yield threads ", 14) == 0;
        CU_ASSERT_TRUE(is_threads ? v >= 9 : v == 1);
    }
    gb_csv_free(&c);
    free(csv);
    char *md = slurp_in(dir, "report.md");
    CU_ASSERT_PTR_NOT_NULL(md && strstr(md, "| peak RSS | OS threads (peak) |"));
    free(md);
    free(dir);
}

/* The mates' matrix: spawn and yield, green and threads, spawn's threads
 * cells noisy (1 to 1000 times, at random), 4 to 7 repetitions, ±10%; budget
 * NULL: none. Its exit status; its stdout and stderr in *out and *err. */
static int run_mates(const char *dir, const char *budget, char **out, char **err)
{
    const char *env[] = { "GB_FAKE=noisy@/spawn/threads/", "GB_FAKE_NOISE=0", NULL };
    const char *args[] = { "run",
                           "--workload=spawn,yield",
                           "--impl=green,threads",
                           "--switch=asm",
                           "--loop=libev",
                           "--n=100,1000",
                           "--min-reps=4",
                           "--max-reps=7",
                           "--target-ci=0.1",
                           "--no-plots",
                           "--out",
                           dir,
                           budget,
                           NULL };
    return run_gb(env, args, out, err);
}

/* A converged cell repeats on while a cell doing the same work still
 * repeats: spawn's green cells (no noise) converge, but its noisy threads
 * cells do not, so each n's green cell runs every round its threads cell
 * runs and stops as converged; yield's cells, all quiet, stop at 6, past
 * the minimum of 4: the fewest repetitions whose interval of the median
 * covers 95% (4 cover 87.5%, however narrow). */
static void test_converged_waits_for_its_mates(void)
{
    char *dir = path_in(tmp, "mates");
    char *out = NULL, *err = NULL;
    int rc = run_mates(dir, NULL, &out, &err);
    CU_ASSERT_EQUAL(rc, GB_EXIT_OK);
    if (rc != GB_EXIT_OK && err)
        fprintf(stderr, "\n%s\n", err);
    CU_ASSERT_PTR_NOT_NULL(err && strstr(err, "or that of a cell doing the same work"));
    /* The two noisy cells, wide at the most repetitions: the terminal and
     * the report say so, and why. */
    CU_ASSERT_PTR_NOT_NULL(out && strstr(out, "2 of 8 cells stopped with the interval of their median "
                                              "wider than ±10% (they reached --max-reps=7)"));
    char *md = slurp_in(dir, "report.md");
    CU_ASSERT_PTR_NOT_NULL(md &&
                           strstr(md, "2 cells stopped before the interval of their median was "
                                      "within ±10% (they reached --max-reps=7); widest: spawn threads"));
    free(md);
    free(out);
    free(err);
    char *csv = slurp_in(dir, "summary.csv");
    struct gb_csv c;
    CU_ASSERT_EQUAL_FATAL(gb_csv_parse(csv ? csv : "", &c), 9);
    size_t col_ok = 0, col_stop = 0;
    CU_ASSERT_TRUE(csv_col(&c, "reps_ok", &col_ok) && csv_col(&c, "stop_reason", &col_stop));
    size_t seen = 0;
    for (size_t r = 1; r < c.rows; r++) {
        const char *key = c.cells[r][0], *ok = c.cells[r][col_ok], *stop = c.cells[r][col_stop];
        if (strncmp(key, "spawn threads ", 14) == 0) {
            CU_ASSERT_STRING_EQUAL(ok, "7");
            CU_ASSERT_STRING_EQUAL(stop, "max-reps");
        } else if (strncmp(key, "spawn green ", 12) == 0) {
            CU_ASSERT_STRING_EQUAL(ok, "7");
            CU_ASSERT_STRING_EQUAL(stop, "converged");
        } else {
            CU_ASSERT_STRING_EQUAL(ok, "6");
            CU_ASSERT_STRING_EQUAL(stop, "converged");
        }
        seen++;
    }
    CU_ASSERT_EQUAL(seen, 8);
    gb_csv_free(&c);
    free(csv);
    free(dir);
}

/* Out of budget instead: the noisy cells stop at the fewest repetitions,
 * and the terminal says what would narrow them. */
static void test_budget_stops_wide_cells(void)
{
    char *dir = path_in(tmp, "mates-budget");
    char *out = NULL;
    int rc = run_mates(dir, "--budget=0.05s", &out, NULL);
    CU_ASSERT_EQUAL(rc, GB_EXIT_OK);
    CU_ASSERT_PTR_NOT_NULL(out && strstr(out, "2 of 8 cells stopped with the interval of their median "
                                              "wider than ±10% (the 0.05 s budget ran out: a longer "
                                              "--budget narrows them)"));
    if (out && !strstr(out, "budget ran out"))
        fprintf(stderr, "\n%s\n", out);
    free(out);
    free(dir);
}

/* --dry-run says the repetitions the run would make: a fixed count as
 * given (it said 20 for --reps=2), a range as the stop rule has it. */
static void test_dry_run_says_the_plan(void)
{
    const char *fixed[] = { "run",          "--workload=yield", "--impl=green", "--switch=asm",
                            "--loop=libev", "--reps=2",         "--dry-run",    NULL };
    char *out = NULL;
    CU_ASSERT_EQUAL(run_gb(NULL, fixed, &out, NULL), GB_EXIT_OK);
    CU_ASSERT_PTR_NOT_NULL(out && strstr(out, "1 cell x (1 warm-up + 2 repetitions), timeout"));
    free(out);
    const char *range[] = { "run",
                            "--workload=yield",
                            "--impl=green",
                            "--switch=asm,ucontext",
                            "--loop=libev",
                            "--min-reps=3",
                            "--max-reps=9",
                            "--dry-run",
                            NULL };
    CU_ASSERT_EQUAL(run_gb(NULL, range, &out, NULL), GB_EXIT_OK);
    CU_ASSERT_PTR_NOT_NULL(out && strstr(out, "2 cells x (1 warm-up + 3 to 9 repetitions), timeout"));
    free(out);
}

static void test_without_gnuplot(void)
{
    char *dir = path_in(tmp, "nognuplot");
    const char *env[] = { "GREENBENCH_GNUPLOT=", NULL };
    const char *args[] = { "run", "--workload=switch", "--reps=2", "--out", dir, NULL };
    char *err = NULL;
    CU_ASSERT_EQUAL(run_gb(env, args, NULL, &err), GB_EXIT_OK);
    CU_ASSERT_PTR_NOT_NULL(err && strstr(err, "plots skipped"));
    CU_ASSERT_PTR_NOT_NULL(err && strstr(err, "apt-get install gnuplot"));
    char *pdir = path_in(dir, "plots");
    CU_ASSERT_TRUE(exists(pdir, "switch.gp"));
    CU_ASSERT_TRUE(exists(pdir, "switch.dat"));
    CU_ASSERT_FALSE(exists(pdir, "switch.svg"));
    CU_ASSERT_TRUE(exists(dir, "summary.csv"));
    char *md = slurp_in(dir, "report.md");
    CU_ASSERT_PTR_NOT_NULL(md && strstr(md, "Plots were skipped"));
    free(md);
    free(pdir);
    free(err);
    free(dir);
}

/* A refused --out or results root says which it was: a run's folder is
 * one --resume finishes, another folder is not; the results root comes
 * from GREENBENCH_RESULTS_DIR when --out was not given. */
static void test_out_refusals_name_the_cause(void)
{
    char *dir = path_in(tmp, "a-run");
    mkdir(dir, 0755);
    char *meta = path_in(dir, "meta.json");
    gb_write_file(meta, "{}", 2);
    const char *args[] = { "run", "--workload=switch", "--out", dir, NULL };
    char *err = NULL;
    CU_ASSERT_EQUAL(run_gb(NULL, args, NULL, &err), GB_EXIT_USAGE);
    CU_ASSERT_PTR_NOT_NULL(err && strstr(err, "holds a run"));
    CU_ASSERT_PTR_NOT_NULL(err && strstr(err, "--resume"));
    free(err);
    char root_env[600];
    snprintf(root_env, sizeof root_env, "GREENBENCH_RESULTS_DIR=%s", meta);
    const char *env[] = { root_env, NULL };
    const char *bare[] = { "run", "--workload=switch", NULL };
    CU_ASSERT_EQUAL(run_gb(env, bare, NULL, &err), GB_EXIT_USAGE);
    CU_ASSERT_PTR_NOT_NULL(err && strstr(err, "(GREENBENCH_RESULTS_DIR)"));
    CU_ASSERT_PTR_NULL(err && strstr(err, "--out:"));
    free(err);
    free(meta);
    free(dir);
}

static void test_out_dir_rules(void)
{
    /* Not empty: refused before anything runs, and left as it was. */
    char *dir = path_in(tmp, "taken");
    mkdir(dir, 0755);
    char *keep = path_in(dir, "keep.txt");
    gb_write_file(keep, "mine", 4);
    const char *args[] = { "run", "--workload=switch", "--out", dir, NULL };
    char *err = NULL;
    CU_ASSERT_EQUAL(run_gb(NULL, args, NULL, &err), GB_EXIT_USAGE);
    CU_ASSERT_PTR_NOT_NULL(err && strstr(err, "--out"));
    CU_ASSERT_PTR_NOT_NULL(err && strstr(err, "not empty"));
    CU_ASSERT_PTR_NULL(err && strstr(err, "--resume")); /* it is no run to finish */
    CU_ASSERT_EQUAL(gb_dir_state(dir), 2);
    CU_ASSERT_FALSE(exists(dir, "meta.json"));
    free(err);
    /* Not writable. */
    const char *args2[] = { "run", "--workload=switch", "--out", "/proc/greenbench-test/run", NULL };
    CU_ASSERT_EQUAL(run_gb(NULL, args2, NULL, &err), GB_EXIT_USAGE);
    CU_ASSERT_PTR_NOT_NULL(err && strstr(err, "--out"));
    free(err);
    /* The default: results/<timestamp>/, never the same directory twice. */
    char *root = path_in(tmp, "results");
    char *envv = gb_xasprintf("GREENBENCH_RESULTS_DIR=%s", root);
    const char *env[] = { envv, NULL };
    const char *args3[] = { "run", "--workload=switch", "--impl=threads", "--cpus=1", "--reps=1",
                            "--no-plots", NULL };
    CU_ASSERT_EQUAL(run_gb(env, args3, NULL, NULL), GB_EXIT_OK);
    CU_ASSERT_EQUAL(run_gb(env, args3, NULL, NULL), GB_EXIT_OK);
    char *cmd = gb_xasprintf("test $(ls '%s' | wc -l) -eq 2 && test $(ls '%s'/*/meta.json | wc -l) -eq 2",
                             root, root);
    CU_ASSERT_EQUAL(system(cmd), 0);
    free(cmd);
    free(envv);
    free(root);
    /* --resume of something that is not a run. */
    const char *args4[] = { "run", "--resume", "/nonexistent-greenbench-run", NULL };
    CU_ASSERT_EQUAL(run_gb(NULL, args4, NULL, NULL), GB_EXIT_USAGE);
    free(keep);
    free(dir);
}

static void test_cli(void)
{
    static const char *const helps[][3] = {
        { "--help", NULL }, { "run", "--help" }, { "list", "--help" }, { "report", "--help" },
        { "compare", "--help" }, { "cell", "--help" }, { "server", "--help" },
    };
    for (size_t i = 0; i < sizeof helps / sizeof helps[0]; i++) {
        char *out = NULL;
        CU_ASSERT_EQUAL(run_gb(NULL, helps[i], &out, NULL), GB_EXIT_OK);
        CU_ASSERT_PTR_NOT_NULL(out && strstr(out, "usage"));
        free(out);
    }
    const char *none[] = { NULL };
    CU_ASSERT_EQUAL(run_gb(NULL, none, NULL, NULL), GB_EXIT_USAGE);
    const char *bogus[] = { "bogus", NULL };
    CU_ASSERT_EQUAL(run_gb(NULL, bogus, NULL, NULL), GB_EXIT_USAGE);

    /* run --help names the backends built (the fake bin's), not a list of its own. */
    char *out = NULL;
    const char *run_help[] = { "run", "--help", NULL };
    CU_ASSERT_EQUAL(run_gb(NULL, run_help, &out, NULL), GB_EXIT_OK);
    CU_ASSERT_PTR_NOT_NULL(out && strstr(out, "context-switch backends (built: asm, ucontext)"));
    CU_ASSERT_PTR_NOT_NULL(out && strstr(out, "event-loop backends (built: libev, libuv)"));
    free(out);
    out = NULL;
    const char *list[] = { "list", NULL };
    CU_ASSERT_EQUAL(run_gb(NULL, list, &out, NULL), GB_EXIT_OK);
    CU_ASSERT_PTR_NOT_NULL(out && strstr(out, "Context-switch backends compiled in: asm, ucontext"));
    CU_ASSERT_PTR_NOT_NULL(out && strstr(out, "boost: not built"));
    CU_ASSERT_PTR_NOT_NULL(out && strstr(out, "gevent   missing: greenbench-peer-gevent"));
    CU_ASSERT_PTR_NOT_NULL(out && strstr(out, "spawn-alive"));
    /* Each workload's unit follows its row's metric: spawn-alive's figure
     * is memory per task, not time. */
    for (size_t w = 0; out && w < gb_nworkloads; w++) {
        char head[128], unit[128];
        snprintf(head, sizeof head, "\n  %s: ", gb_workloads[w].name);
        gb_workload_unit(&gb_workloads[w], unit, sizeof unit);
        const char *at = strstr(out, head), *next = at ? strchr(at + 1, '\n') : NULL;
        const char *line_end = next ? strchr(next + 1, '\n') : NULL;
        const char *u = next ? strstr(next, "; unit: ") : NULL;
        bool ok =
            u && u < line_end && strncmp(u + 8, unit, strlen(unit)) == 0 && u[8 + strlen(unit)] == '\n';
        CU_ASSERT_TRUE(ok);
        if (!ok)
            fprintf(stderr, "\n  list: %s's unit is not '%s'\n", gb_workloads[w].name, unit);
    }
    char unit[128];
    gb_workload_unit(gb_workload_find("spawn-alive"), unit, sizeof unit);
    CU_ASSERT_STRING_EQUAL(unit, "bytes of memory (RSS) per task");
    free(out);
}

/* cell picks the program and execs it; run, report and cell refuse bad
 * input before anything runs. */
static void test_cli_cell_and_errors(void)
{
    char *out = NULL;
    const char *cell[] = { "cell", "spawn", "--impl=green", "--switch=ucontext", "--n=10", NULL };
    CU_ASSERT_EQUAL(run_gb(NULL, cell, &out, NULL), GB_EXIT_OK);
    char *last = out ? strrchr(out, '{') : NULL;
    json_t *v = NULL;
    CU_ASSERT_TRUE(last && gb_json_parse(last, strlen(last), &v, NULL, 0) == 0);
    CU_ASSERT_STRING_EQUAL(gb_json_str(v, "switch", ""), "ucontext");
    CU_ASSERT_STRING_EQUAL(gb_json_str(v, "loop", ""), "");
    json_decref(v);
    free(out);
    const char *cell_sw[] = { "cell", "switch", "--impl=green", "--switch=asm", NULL };
    CU_ASSERT_EQUAL(run_gb(NULL, cell_sw, NULL, NULL), GB_EXIT_OK);
    const char *cell_bad1[] = { "cell", "spawn", NULL };
    const char *cell_bad2[] = { "cell", "nosuch", "--impl=green", NULL };
    const char *cell_bad3[] = { "cell", "spawn", "--impl=green", "--switch=boost", NULL };
    char *err = NULL;
    CU_ASSERT_EQUAL(run_gb(NULL, cell_bad1, NULL, &err), GB_EXIT_USAGE);
    CU_ASSERT_PTR_NOT_NULL(err && strstr(err, "--impl"));
    free(err);
    CU_ASSERT_EQUAL(run_gb(NULL, cell_bad2, NULL, &err), GB_EXIT_USAGE);
    CU_ASSERT_PTR_NOT_NULL(err && strstr(err, "valid: switch"));
    free(err);
    CU_ASSERT_EQUAL(run_gb(NULL, cell_bad3, NULL, &err), GB_EXIT_USAGE);
    CU_ASSERT_PTR_NOT_NULL(err && strstr(err, "boost"));
    free(err);

    const char *dry[] = { "run", "--quick", "--dry-run", NULL };
    CU_ASSERT_EQUAL(run_gb(NULL, dry, &out, NULL), GB_EXIT_OK);
    CU_ASSERT_PTR_NOT_NULL(out && strstr(out, "switch threads cpus=1 n=5000"));
    free(out);
    const char *bad_n[] = { "run", "--n=abc", NULL };
    CU_ASSERT_EQUAL(run_gb(NULL, bad_n, NULL, &err), GB_EXIT_USAGE);
    CU_ASSERT_PTR_NOT_NULL(err && strstr(err, "--n"));
    free(err);
    const char *rep[] = { "report", "/nonexistent-greenbench-run", NULL };
    CU_ASSERT_EQUAL(run_gb(NULL, rep, NULL, NULL), GB_EXIT_USAGE);
    /* A folder that is not a run: said so, exit 2, nothing written there. */
    char *notrun = path_in(tmp, "not-a-run");
    CU_ASSERT_EQUAL_FATAL(mkdir(notrun, 0755), 0);
    const char *rep2[] = { "report", notrun, NULL };
    CU_ASSERT_EQUAL(run_gb(NULL, rep2, NULL, &err), GB_EXIT_USAGE);
    CU_ASSERT_PTR_NOT_NULL(err && strstr(err, "is not a greenbench run"));
    free(err);
    CU_ASSERT_FALSE(exists(notrun, "report.md"));
    free(notrun);
    /* More CPUs than there are: found before anything runs. */
    const char *cpus[] = { "run", "--cpus=4096", "--dry-run", NULL };
    CU_ASSERT_EQUAL(run_gb(NULL, cpus, NULL, &err), GB_EXIT_USAGE);
    CU_ASSERT_PTR_NOT_NULL(err && strstr(err, "--cpus: 4096 is more than the"));
    free(err);
}

static CU_TestInfo fault_tests[] = {
    { "faults_recorded", test_faults_recorded },
    { "impossible_figures_garbled", test_impossible_figures_garbled },
    { "impossible_secondary_figures_garbled", test_impossible_secondary_figures_garbled },
    { "server_failure", test_server_failure },
    CU_TEST_INFO_NULL,
};

static CU_TestInfo interrupt_tests[] = {
    { "sigint_and_resume", test_sigint_and_resume },
    { "sighup_keeps_everything", test_sighup_keeps_everything },
    { "late_signals_wait_for_the_report", test_late_signals_wait_for_the_report },
    { "nul_bytes_hide_nothing", test_nul_bytes_hide_nothing },
    { "signal_before_jobs", test_signal_before_jobs },
    { "resume_while_running", test_resume_while_running },
    CU_TEST_INFO_NULL,
};

static CU_TestInfo e2e_tests[] = {
    { "quick_run_files", test_quick_run_files },
    { "headline_at_largest_n", test_headline_at_largest_n },
    { "compare", test_compare },
    { "compare_out_spares_runs", test_compare_out_spares_runs },
    { "partial_runs_refused", test_partial_runs_refused },
    { "compare_row_without_results", test_compare_row_without_results },
    { "report_of_a_merge_says_so", test_report_of_a_merge_says_so },
    { "os_threads_sampled", test_os_threads_sampled },
    { "converged_waits_for_its_mates", test_converged_waits_for_its_mates },
    { "budget_stops_wide_cells", test_budget_stops_wide_cells },
    { "dry_run_says_the_plan", test_dry_run_says_the_plan },
    { "without_gnuplot", test_without_gnuplot },
    { "out_dir_rules", test_out_dir_rules },
    { "out_refusals_name_the_cause", test_out_refusals_name_the_cause },
    { "cli", test_cli },
    { "cli_cell_and_errors", test_cli_cell_and_errors },
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo green_test_suites[] = {
    { .pName = "faults", .pInitFunc = setup, .pCleanupFunc = teardown, .pTests = fault_tests },
    { .pName = "interrupt", .pInitFunc = setup, .pCleanupFunc = teardown, .pTests = interrupt_tests },
    { .pName = "e2e", .pInitFunc = setup, .pCleanupFunc = teardown, .pTests = e2e_tests },
    CU_SUITE_INFO_NULL,
};
