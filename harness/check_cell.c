/* harness/check_cell.c: `greenbench check-cell` (check_cell.h). Each check
 * is one line, "ok   WHAT" or "FAIL WHAT: why", so that whoever writes a
 * peer sees exactly what the harness would hold against it. The cells run
 * through gb_exec, as `run` runs them, with the same classification; what
 * is checked is what docs/cell-protocol.md says, field by field. */
#include "check_cell.h"

#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalog.h"
#include "cell.h"
#include "json.h"
#include "options.h"
#include "peers_ext.h"
#include "programs.h"
#include "runner.h"
#include "server.h"
#include "util.h"

static const char check_help[] =
    "usage: greenbench check-cell PEER|COMMAND [--impl=NAME] [--workload=W,...] [--timeout=S]\n"
    "                             [--peers-dir=DIR] [--peer NAME=FILE.conf|NAME=COMMAND]\n"
    "\n"
    "Checks that a program obeys the cell protocol (docs/cell-protocol.md): runs each of\n"
    "its workloads at a small size and with bad input, as `greenbench run` would, and\n"
    "prints one line per check, \"ok\" or \"FAIL\" with the reason:\n"
    "  - the last stdout line is one JSON object with every required field, of its type;\n"
    "  - \"ok\" agrees with the exit status, and the run succeeded;\n"
    "  - the counts agree with the parameters (ops, tasks, bytes, requests in flight),\n"
    "    and with --rounds=3 add up three rounds (run gives --rounds to short cells);\n"
    "  - joinall and pool fetch from the --url given (a greenbench-server started here,\n"
    "    whose own request count is compared), not from a server of their own;\n"
    "  - an unknown option, an unknown workload, another --impl and a bad --url are\n"
    "    usage errors (exit 2, with the JSON line); --n=0 fails; --help exits 0;\n"
    "  - every run ends within the timeout (default 20 s; --timeout).\n"
    "A FAIL of a run that failed or wrote no JSON line is followed by its stderr's last\n"
    "lines. When every workload is refused as a usage error, the --impl is the likely\n"
    "fault: it says so, and which --impl the program's error names.\n"
    "PEER is a peer's name (built in, from a peers file: greenbench list, or from --peer,\n"
    "as run takes it; PEER may then be left out); COMMAND a\n"
    "program path or a command (\"python3 cell.py\"), whose --impl is --impl=NAME or its\n"
    "file name without greenbench-peer- / greenbench-cell-. Its workloads are the\n"
    "peer's, or --workload's; else every workload, those it answers with a usage\n"
    "error (exit 2) being reported as not implemented. dns is not checked (it needs\n"
    "greenbench-dns's network namespace).\n"
    "Exit status: 0 every check passed, 1 some failed, 2 bad usage.\n";

/* What is checked: the program, its --impl, its workloads. */
struct target {
    char **cmd;              /* the program (absolute) and its own words */
    char impl[GB_NAME];
    struct gb_names workloads;
    struct gb_names ran;     /* those that ran at their small size */
    bool listed;             /* the workloads are the peer's or --workload's: each must run */
    double timeout_s;
    char bin[PATH_MAX];
    struct gb_server server; /* for joinall and pool; started on first need */
    bool server_up, server_failed;
    int checks, failed;
    size_t refused;          /* workloads skipped: a usage error (exit 2) */
    bool impl_guessed;       /* the impl is the program's file name: no --impl given */
    char refusal[256];       /* the first one's error */
};

/* One line: "ok   what" or "FAIL what: why". */
static void report(struct target *t, bool pass, const char *what, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void report(struct target *t, bool pass, const char *what, const char *fmt, ...)
{
    t->checks++;
    t->failed += !pass;
    printf("%s %s", pass ? "ok  " : "FAIL", what);
    if (fmt && *fmt) {
        va_list ap;
        va_start(ap, fmt);
        printf(": ");
        vprintf(fmt, ap);
        va_end(ap);
    }
    printf("\n");
    fflush(stdout);
}

/* ---- the JSON line's fields (docs/cell-protocol.md, "Output") ---- */

enum ftype { F_STR_OR_NULL, F_INT_OR_NULL, F_NUM_OR_NULL, F_BOOL, F_INT, F_STR, F_NUM };
static const char *const ftype_text[] = {
    "a string or null", "an integer or null", "a number or null", "a boolean",
    "an integer",       "a string",           "a number",
};
static const struct field {
    const char *name;
    enum ftype type;
    bool required;
} fields[] = {
    { "workload", F_STR_OR_NULL, true },
    { "impl", F_STR_OR_NULL, true },
    { "switch", F_STR_OR_NULL, true },
    { "loop", F_STR_OR_NULL, true },
    { "n", F_INT_OR_NULL, true },
    { "concurrency", F_INT_OR_NULL, true },
    { "delay_ms", F_INT_OR_NULL, true },
    { "size", F_INT_OR_NULL, true },
    { "stack_kib", F_INT_OR_NULL, true },
    { "cpus", F_INT_OR_NULL, true },
    { "rounds", F_INT_OR_NULL, true },
    { "keepalive", F_INT_OR_NULL, true },
    { "tls", F_INT_OR_NULL, true },
    { "ares", F_INT_OR_NULL, true },
    { "hubs", F_INT_OR_NULL, true },
    { "stacks", F_STR_OR_NULL, true },
    { "live_bytes", F_INT_OR_NULL, true },
    { "ok", F_BOOL, true },
    { "error", F_STR, false },
    { "wall_ns", F_INT_OR_NULL, true },
    { "ops", F_INT_OR_NULL, true },
    { "ns_per_op", F_NUM_OR_NULL, true },
    { "max_rss_kb", F_INT, true },
    { "cpu_ns", F_INT_OR_NULL, true },
    { "tasks_completed", F_INT, false },
    { "bytes_received", F_INT, false },
    { "errors", F_INT, false },
    { "max_in_flight", F_INT, false },
    { "connections", F_INT, false },
    { "rss_per_task_bytes", F_INT, false },
    { "os_threads", F_INT, false },
    { "floor", F_STR, false },
    { "floor_ns_per_op", F_NUM, false },
    { "cold_ns_per_op", F_NUM, false },
    { "note", F_STR, false },
};

static bool of_type(const json_t *v, enum ftype t)
{
    switch (t) {
    case F_STR_OR_NULL: return json_is_string(v) || json_is_null(v);
    case F_INT_OR_NULL: return json_is_integer(v) || json_is_null(v);
    case F_NUM_OR_NULL: return json_is_number(v) || json_is_null(v);
    case F_BOOL: return json_is_boolean(v);
    case F_INT: return json_is_integer(v);
    case F_STR: return json_is_string(v);
    case F_NUM: return json_is_number(v);
    }
    return false;
}

static const char *json_kind(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number with a fraction";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "null";
    }
    return "?";
}

/* The first fault of the line's fields into why (n bytes): a required one
 * missing, one of the wrong type, no "error" beside "ok": false. */
static bool fields_ok(const json_t *o, char *why, size_t n)
{
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        const json_t *v = json_object_get(o, fields[i].name);
        if (v == NULL && fields[i].required) {
            snprintf(why, n, "field \"%s\" missing from the JSON line", fields[i].name);
            return false;
        }
        if (v && !of_type(v, fields[i].type)) {
            snprintf(why, n, "field \"%s\" is %s, not %s", fields[i].name, json_kind(v),
                     ftype_text[fields[i].type]);
            return false;
        }
    }
    if (json_is_false(json_object_get(o, "ok")) && !json_object_get(o, "error")) {
        snprintf(why, n, "\"ok\": false without an \"error\" string");
        return false;
    }
    return true;
}

/* ---- running the program ---- */

/* cmd, workload (NULL: none) and --impl, then the extra arguments
 * (NULL-terminated). Free with gb_argv_free. */
static char **cell_argv(const struct target *t, const char *workload, const char *impl, ...)
{
    size_t n = 0, cap = 32;
    char **argv = gb_xcalloc(cap, sizeof *argv);
    for (char **w = t->cmd; *w && n < cap - 4; w++)
        argv[n++] = gb_xstrdup(*w);
    if (workload)
        argv[n++] = gb_xstrdup(workload);
    if (impl)
        argv[n++] = gb_xasprintf("--impl=%s", impl);
    va_list ap;
    va_start(ap, impl);
    for (const char *a; (a = va_arg(ap, const char *)) != NULL && n < cap - 1;)
        argv[n++] = gb_xstrdup(a);
    va_end(ap);
    return argv;
}

static volatile int never_stop;

static void run(const struct target *t, char **argv, struct gb_exec_result *r)
{
    gb_exec(argv, t->timeout_s, &never_stop, NULL, 0, r);
}

/* What went wrong with r when it has no JSON object to check, into why:
 * a timeout, a signal, or the last line (garbage, or nothing) with the
 * parser's reason. false when there is a JSON line. */
static bool no_json(const struct gb_exec_result *r, char *why, size_t n)
{
    if (r->status == GB_ST_TIMEOUT)
        snprintf(why, n, "no exit within %s", r->message + strlen("no result within "));
    else if (r->status == GB_ST_CRASHED)
        snprintf(why, n, "%s", r->message);
    else if (r->json == NULL) {
        char *copy = gb_xstrdup(r->stdout_tail ? r->stdout_tail : "");
        const char *last = gb_last_line(copy, "\n\r ");
        /* The parser's words, as run records them ("offset 300: invalid
         * token near 'NaN'"): a clipped line start rarely shows the fault. */
        char reason[200] = "";
        json_t *v = NULL;
        if (*last && gb_json_parse(last, strlen(last), &v, reason, sizeof reason) == 0)
            snprintf(reason, sizeof reason, "it is %s", json_kind(v));
        json_decref(v);
        snprintf(why, n, "the last stdout line is not a JSON object (exit status %d): ", r->exit_code);
        size_t at = strlen(why);
        if (!*last)
            snprintf(why + at, n - at, "stdout is empty");
        else
            snprintf(why + at, n - at, "'%.120s'%s%s%s%s", last, strlen(last) > 120 ? "..." : "",
                     *reason ? " (" : "", reason, *reason ? ")" : "");
        free(copy);
    } else
        return false;
    return true;
}

/* After a FAIL line: the last lines of the program's stderr, where a peer
 * says why it failed (a Python traceback ends there), as run's progress
 * line shows its last one. */
#define STDERR_LINES 6
static void print_stderr(const struct gb_exec_result *r)
{
    char *copy = gb_xstrdup(r->stderr_tail ? r->stderr_tail : "");
    gb_last_line(copy, "\n\r \t"); /* trailing blanks cut */
    char *start = copy + strlen(copy);
    for (int lines = 0; start > copy; start--)
        if (start[-1] == '\n' && ++lines == STDERR_LINES)
            break;
    if (*start) {
        printf("     its stderr%s:\n", start > copy ? " ends" : "");
        for (char *l = start, *next; l; l = next) {
            next = strchr(l, '\n');
            if (next)
                *next++ = '\0';
            printf("     | %.300s\n", l);
        }
    } else {
        printf("     its stderr is empty\n");
    }
    free(copy);
}

/* ---- the workloads: a small size each, and what its counts must be ---- */

static const struct small {
    const char *workload;
    const char *n;    /* --n */
    long ops_per_n;   /* ops = N * this (switch, yield: 2N one-way switches) */
    bool tasks;       /* tasks_completed = N */
} smalls[] = {
    { "switch", "1000", 2, false },   { "yield", "1000", 2, false }, { "spawn", "100", 1, true },
    { "spawn-alive", "50", 1, true }, { "joinall", "20", 1, true },  { "pool", "20", 1, true },
};
#define POOL_K 4
#define HTTP_SIZE 100

static const struct small *small_for(const char *workload)
{
    for (size_t i = 0; i < sizeof smalls / sizeof smalls[0]; i++)
        if (strcmp(smalls[i].workload, workload) == 0)
            return &smalls[i];
    return NULL;
}

static bool http(const char *workload)
{
    const struct gb_workload *w = gb_workload_find(workload);
    return w && w->server == GB_SERVER_HTTP;
}

/* greenbench-server from the bin directory, as the harness starts it; NULL
 * (said once) when it cannot run. */
static struct gb_server *server(struct target *t)
{
    if (t->server_up || t->server_failed)
        return t->server_up ? &t->server : NULL;
    char *prog = gb_xasprintf("%s/greenbench-server", t->bin);
    struct gb_server_spec spec = { .delay_ms = 1, .size = HTTP_SIZE, .threads = 1 };
    t->server_up = gb_server_start(prog, &spec, -1, &t->server) == 0;
    t->server_failed = !t->server_up;
    if (!t->server_up)
        report(t, false, "greenbench-server", "cannot start %s: %s", prog, t->server.error);
    free(prog);
    return t->server_up ? &t->server : NULL;
}

/* The counts of an ok line against the parameters, --n=n and --rounds=R
 * (1: not given): the first fault into why. */
static bool counts_ok(const json_t *o, const struct target *t, const char *wl, long n, long rounds,
                      char *why, size_t len)
{
    const struct small *s = small_for(wl);
    long long ops = (long long)gb_json_num(o, "ops", -1), wall = (long long)gb_json_num(o, "wall_ns", -1);
    double nspo = gb_json_num(o, "ns_per_op", NAN);
    long long tasks = (long long)gb_json_num(o, "tasks_completed", -1);
    long long inflight = (long long)gb_json_num(o, "max_in_flight", -1);
    long long bytes = (long long)gb_json_num(o, "bytes_received", -1);
    long long conns = (long long)gb_json_num(o, "connections", -1);
    const char *got_wl = gb_json_str(o, "workload", ""), *got_impl = gb_json_str(o, "impl", "");
    long long all = (long long)n * rounds; /* N over the rounds: docs/cell-protocol.md, "Rounds" */
    if (strcmp(got_wl, wl) != 0 || strcmp(got_impl, t->impl) != 0)
        snprintf(why, len, "the line is for workload '%s' impl '%s', not '%s' '%s'", got_wl, got_impl, wl,
                 t->impl);
    else if ((long)gb_json_num(o, "n", -1) != n || gb_json_num(o, "rounds", -1) != rounds) {
        if (rounds == 1)
            snprintf(why, len, "\"n\" is %g and \"rounds\" %g: --n=%ld was given, and no --rounds (1)",
                     gb_json_num(o, "n", -1), gb_json_num(o, "rounds", -1), n);
        else
            snprintf(why, len, "\"n\" is %g and \"rounds\" %g: --n=%ld --rounds=%ld was given",
                     gb_json_num(o, "n", -1), gb_json_num(o, "rounds", -1), n, rounds);
    } else if (rounds > 1 && ops == n * s->ops_per_n)
        snprintf(why, len,
                 "\"rounds\" is %ld but \"ops\" is %lld, one round's: it ran the workload once. "
                 "--rounds=%ld must run it %ld times in the process and add the rounds up (ops = %lld)",
                 rounds, ops, rounds, rounds, all * s->ops_per_n);
    else if (wall <= 0 || ops != all * s->ops_per_n)
        snprintf(why, len,
                 "\"ops\" is %lld and \"wall_ns\" %lld: want ops = %lld (--n=%ld%s) and wall_ns > 0", ops,
                 wall, all * s->ops_per_n, n, rounds > 1 ? " over the rounds" : "");
    else if (!(fabs(nspo - (double)wall / (double)ops) <= 0.001 + 1e-6 * nspo))
        snprintf(why, len, "\"ns_per_op\" is %g, not wall_ns / ops = %.3f", nspo,
                 (double)wall / (double)ops);
    else if (json_object_get(o, "errors") && gb_json_num(o, "errors", -1) != 0)
        snprintf(why, len, "\"errors\" is %g although \"ok\" is true", gb_json_num(o, "errors", -1));
    else if (!(gb_json_num(o, "cpu_ns", 0) >= 0))
        snprintf(why, len, "\"cpu_ns\" is %g: below 0", gb_json_num(o, "cpu_ns", 0));
    else if (!(gb_json_num(o, "rss_per_task_bytes", 0) >= 0))
        snprintf(why, len, "\"rss_per_task_bytes\" is %g: below 0",
                 gb_json_num(o, "rss_per_task_bytes", 0));
    else if (s->tasks && tasks != all)
        snprintf(why, len, "\"tasks_completed\" is %lld, not --n=%ld%s", tasks, n,
                 rounds > 1 ? " times the rounds" : "");
    else if (http(wl) && bytes != all * HTTP_SIZE)
        snprintf(why, len, "\"bytes_received\" is %lld, not %lld requests x %d bytes", bytes, all,
                 HTTP_SIZE);
    else if (http(wl) && (inflight < 1 || inflight > (strcmp(wl, "pool") == 0 ? POOL_K : n)))
        snprintf(why, len, "\"max_in_flight\" is %lld: want 1 to %ld (%s)", inflight,
                 strcmp(wl, "pool") == 0 ? POOL_K : n, strcmp(wl, "pool") == 0 ? "K" : "N");
    else if (http(wl) && conns != all)
        snprintf(why, len, "\"connections\" is %lld, not one per request (%lld, --keepalive=0)", conns,
                 all);
    else
        return true;
    return false;
}

/* One run of wl at its small size, rounds R (1: no --rounds) into *r,
 * against the server (*sv, NULL for a workload without one) whose window
 * it starts. false when it needs the server and there is none. */
static bool run_small(struct target *t, const char *wl, long rounds, struct gb_server **sv,
                      struct gb_exec_result *r)
{
    const struct small *s = small_for(wl);
    char why[512], nopt[32], ropt[32], url[160] = "", size[32], k[32];
    snprintf(nopt, sizeof nopt, "--n=%s", s->n);
    snprintf(ropt, sizeof ropt, "--rounds=%ld", rounds);
    *sv = http(wl) ? server(t) : NULL;
    if (http(wl) && *sv == NULL)
        return false;
    if (*sv) {
        struct gb_server_window win;
        snprintf(url, sizeof url, "--url=%s", (*sv)->url);
        gb_server_window(*sv, &win, why, sizeof why); /* starts this cell's window */
    }
    snprintf(size, sizeof size, "--size=%d", HTTP_SIZE);
    snprintf(k, sizeof k, "--concurrency=%d", POOL_K);
    const char *r_arg = rounds > 1 ? ropt : NULL, *k_arg = strcmp(wl, "pool") == 0 ? k : NULL;
    char **argv = *sv ? cell_argv(t, wl, t->impl, nopt, url, size, "--delay-ms=1", k_arg ? k_arg : r_arg,
                                  k_arg ? r_arg : NULL, NULL)
                      : cell_argv(t, wl, t->impl, nopt, r_arg, NULL);
    run(t, argv, r);
    gb_argv_free(argv);
    return true;
}

/* The first failure of r that is no protocol fault of its line: no JSON,
 * "ok" against the exit status, a failed run; reported (what), with the
 * program's stderr. false when there is none. */
static bool run_failed(struct target *t, const char *what, const struct gb_exec_result *r)
{
    char why[512];
    if (no_json(r, why, sizeof why)) {
        report(t, false, what, "%s", why);
    } else if (!fields_ok(r->json, why, sizeof why)) {
        report(t, false, what, "%s", why);
        return true;
    } else if (json_is_true(json_object_get(r->json, "ok")) != (r->exit_code == 0)) {
        report(t, false, what, "\"ok\": %s but exit status %d",
               json_is_true(json_object_get(r->json, "ok")) ? "true" : "false", r->exit_code);
    } else if (r->exit_code != 0) {
        report(t, false, what, "the cell failed (exit status %d): %s", r->exit_code,
               gb_json_str(r->json, "error", "?"));
    } else {
        return false;
    }
    print_stderr(r);
    return true;
}

/* The run of one workload at its small size: the line, ok against the
 * exit status, the counts, the server's own count. false when it does
 * not run (its usage checks then use another workload). */
static bool check_run(struct target *t, const char *wl)
{
    const struct small *s = small_for(wl);
    char what[96], why[512];
    struct gb_server *sv;
    struct gb_exec_result r;
    if (!run_small(t, wl, 1, &sv, &r))
        return false;
    snprintf(what, sizeof what, "%s --n=%s", wl, s->n);
    bool ran = false;
    bool refused = r.json && r.exit_code == 2 && json_is_false(json_object_get(r.json, "ok"));
    const char *error = refused ? gb_json_str(r.json, "error", "?") : "";
    if (refused && !t->listed) {
        printf("skip %s: not implemented, it says (exit 2: %s)\n", wl, error);
        if (t->refused++ == 0)
            snprintf(t->refusal, sizeof t->refusal, "%s", error);
    } else if (run_failed(t, what, &r)) {
        /* A workload it must run, refused for its --impl: counted as the
         * unlisted refusals are, so that none_ran says which to give. */
        if (refused && strstr(error, "--impl=") != NULL && t->refused++ == 0)
            snprintf(t->refusal, sizeof t->refusal, "%s", error);
    } else {
        ran = true;
        report(t, true, what, "the JSON line has every field, of its type; ok agrees with exit status 0");
        long n = strtol(s->n, NULL, 10);
        bool counts = counts_ok(r.json, t, wl, n, 1, why, sizeof why);
        snprintf(what, sizeof what, "%s counts", wl);
        report(t, counts, what, "%s", counts ? "agree with the parameters" : why);
        struct gb_server_window win;
        if (sv && gb_server_window(sv, &win, why, sizeof why) != 0) {
            report(t, false, "--url", "the server's window: %s", why);
        } else if (sv) {
            snprintf(what, sizeof what, "%s --url", wl);
            report(t, win.requests >= n, what, "the server at --url answered %lld requests%s%ld",
                   win.requests, win.requests >= n ? " for " : ", fewer than the cell's --n=", n);
        }
    }
    gb_exec_result_free(&r);
    return ran;
}

/* --rounds=R, which run gives every cell whose timed part is short: R runs
 * in one process, added up (docs/cell-protocol.md, "Rounds"). A program
 * that echoes R but runs once would make every such figure R times too
 * small. */
#define CHECK_ROUNDS 3
static void check_rounds(struct target *t, const char *wl)
{
    const struct small *s = small_for(wl);
    char what[96], why[512];
    struct gb_server *sv;
    struct gb_exec_result r;
    if (!run_small(t, wl, CHECK_ROUNDS, &sv, &r))
        return;
    snprintf(what, sizeof what, "%s --rounds=%d", wl, CHECK_ROUNDS);
    if (!run_failed(t, what, &r)) {
        long n = strtol(s->n, NULL, 10);
        bool counts = counts_ok(r.json, t, wl, n, CHECK_ROUNDS, why, sizeof why);
        struct gb_server_window win;
        if (counts && sv && gb_server_window(sv, &win, why, sizeof why) == 0 &&
            win.requests < (long long)n * CHECK_ROUNDS) {
            snprintf(why, sizeof why,
                     "the server at --url answered %lld requests, fewer than %d rounds of --n=%ld",
                     win.requests, CHECK_ROUNDS, n);
            counts = false;
        }
        report(t, counts, what, "%s", counts ? "rounds, ops and the counts add up over the rounds" : why);
    }
    gb_exec_result_free(&r);
}

/* One bad command line: the exit status it must have (want_exit, or 1 or
 * 2 when want_exit is -1) and a JSON line with every field. */
static void check_bad(struct target *t, const char *what, int want_exit, char **argv)
{
    struct gb_exec_result r;
    char why[512];
    run(t, argv, &r);
    gb_argv_free(argv);
    bool exit_ok = want_exit >= 0 ? r.exit_code == want_exit : r.exit_code == 1 || r.exit_code == 2;
    if (no_json(&r, why, sizeof why))
        report(t, false, what, "%s", why);
    else if (!exit_ok)
        report(t, false, what, "exit status %d, not %s%s", r.exit_code,
               want_exit == 2 ? "2 (a usage error exits 2)" : "1 or 2",
               r.exit_code == 0 ? " (it succeeded)" : "");
    else if (!fields_ok(r.json, why, sizeof why))
        report(t, false, what, "%s", why);
    else if (!json_is_false(json_object_get(r.json, "ok")))
        report(t, false, what, "exit status %d but \"ok\" is not false", r.exit_code);
    else
        report(t, true, what, "exit status %d, \"ok\": false, \"error\": %s", r.exit_code,
               gb_json_str(r.json, "error", ""));
    gb_exec_result_free(&r);
}

/* The usage errors, on workload wl (one that runs), and --help. */
static void check_usage(struct target *t, const char *wl)
{
    check_bad(t, "usage: an unknown option", 2, cell_argv(t, wl, t->impl, "--no-such-option=1", NULL));
    check_bad(t, "usage: an unknown workload", 2, cell_argv(t, "no-such-workload", t->impl, NULL));
    check_bad(t, "usage: another --impl", 2, cell_argv(t, wl, "no-such-impl", NULL));
    check_bad(t, "usage: --keepalive=2", 2, cell_argv(t, wl, t->impl, "--keepalive=2", NULL));
    check_bad(t, "--n=0 fails", -1, cell_argv(t, wl, t->impl, "--n=0", NULL));
    for (size_t i = 0; i < t->ran.n; i++)
        if (http(t->ran.v[i])) {
            check_bad(t, "usage: --url with port 99999", 2,
                      cell_argv(t, t->ran.v[i], t->impl, "--n=1", "--url=http://127.0.0.1:99999/", NULL));
            break;
        }
    struct gb_exec_result r;
    char **argv = cell_argv(t, NULL, NULL, "--help", NULL);
    run(t, argv, &r);
    gb_argv_free(argv);
    report(t, r.exit_code == 0, "--help", r.exit_code == 0 ? "exit status 0" : "exit status %d, not 0%s",
           r.exit_code, r.status == GB_ST_TIMEOUT ? " (it did not exit)" : "");
    gb_exec_result_free(&r);
}

/* Every workload was refused with a usage error: most likely the --impl,
 * which the program's error names when it follows the protocol ("this
 * program runs --impl=NAME"): say so, and which to give. */
static void none_ran(struct target *t)
{
    char name[GB_NAME] = "";
    /* The name the protocol's words give, else the first --impl= (which
     * may be the one asked: "--impl=x: this program runs --impl=y"). */
    const char *at = strstr(t->refusal, "runs --impl=");
    at = at != NULL ? at + strlen("runs ") : strstr(t->refusal, "--impl=");
    if (at) {
        at += strlen("--impl=");
        size_t len = strspn(at, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.");
        if (len > 0 && len < sizeof name)
            snprintf(name, sizeof name, "%.*s", (int)len, at);
        if (strcmp(name, t->impl) == 0)
            name[0] = '\0';
    }
    report(t, false, "workloads",
           "none ran: the program refused every one with a usage error (exit 2) under --impl=%s%s, the "
           "first with '%s': %s%s%s",
           t->impl, t->impl_guessed ? " (its file name: no --impl was given)" : "", t->refusal,
           name[0] ? "give --impl=" : "is --impl=NAME the one it answers to? Give it with --impl=NAME",
           name, name[0] ? ", the name its error gives" : "");
}

/* ---- the command line ---- */

/* "greenbench-peer-foo" -> "foo": the --impl a program answers to, by the
 * project's naming. */
static void impl_from_program(const char *prog, char *out, size_t n)
{
    const char *base = strrchr(prog, '/') ? strrchr(prog, '/') + 1 : prog;
    static const char *const prefixes[] = { "greenbench-peer-", "greenbench-cell-", NULL };
    for (const char *const *p = prefixes; *p; p++)
        if (strncmp(base, *p, strlen(*p)) == 0)
            base += strlen(*p);
    snprintf(out, n, "%s", base);
}

/* PEER or COMMAND into t: a registered peer's program, name and workloads,
 * or the command's. 0, or GB_EXIT_USAGE said on stderr. */
static int pick_target(struct target *t, const char *what, const char *impl)
{
    const struct gb_peer *peer = strpbrk(what, "/ ") ? NULL : gb_peer_find(what);
    char err[PATH_MAX + 256];
    if (peer) {
        char *prog = peer->program[0] == '/' ? gb_xstrdup(peer->program)
                                             : gb_xasprintf("%s/%s", t->bin, peer->program);
        size_t nargs = 0;
        while (peer->args && peer->args[nargs])
            nargs++;
        t->cmd = gb_xcalloc(nargs + 2, sizeof *t->cmd);
        t->cmd[0] = prog;
        for (size_t i = 0; i < nargs; i++)
            t->cmd[i + 1] = gb_xstrdup(peer->args[i]);
        if (!gb_is_executable(prog)) {
            fprintf(stderr, "greenbench check-cell: peer %s: %s is not built (%s)\n", what, prog,
                    peer->note);
            return GB_EXIT_USAGE;
        }
        snprintf(t->impl, sizeof t->impl, "%s", impl ? impl : peer->name);
        for (size_t w = 0; w < gb_nworkloads && !t->listed; w++) /* --workload: those instead */
            if (gb_peer_runs(peer, gb_workloads[w].name))
                gb_name_add(t->workloads.v, &t->workloads.n, gb_workloads[w].name);
        return 0;
    }
    const char *broken = strpbrk(what, "/ ") ? NULL : gb_peers_ext_broken_why(what);
    if (broken) { /* a peers file of the default folder, skipped */
        fprintf(stderr, "greenbench check-cell: peer %s is not registered: %s\n", what, broken);
        return GB_EXIT_USAGE;
    }
    char cwd[PATH_MAX];
    t->cmd = gb_peer_command(what, getcwd(cwd, sizeof cwd) ? cwd : ".", err, sizeof err);
    if (t->cmd == NULL) {
        fprintf(stderr, "greenbench check-cell: %s%s\n", err,
                strpbrk(what, "/ ") ? "" : " (nor is it a peer: greenbench list)");
        return GB_EXIT_USAGE;
    }
    if (impl)
        snprintf(t->impl, sizeof t->impl, "%s", impl);
    else
        impl_from_program(t->cmd[0], t->impl, sizeof t->impl);
    t->impl_guessed = impl == NULL;
    return 0;
}

enum { OPT_IMPL = 256, OPT_WORKLOAD, OPT_TIMEOUT, OPT_PEERS_DIR, OPT_PEER, OPT_HELP };

/* The options into t (and *what, *impl, *dir, *peer). 0, -1 after --help,
 * or GB_EXIT_USAGE said on stderr. */
static int parse(int argc, char **argv, struct target *t, const char **what, const char **impl,
                 const char **dir, const char **peer)
{
    static const struct option lo[] = {
        { "impl", required_argument, NULL, OPT_IMPL },
        { "peer", required_argument, NULL, OPT_PEER },
        { "workload", required_argument, NULL, OPT_WORKLOAD },
        { "timeout", required_argument, NULL, OPT_TIMEOUT },
        { "peers-dir", required_argument, NULL, OPT_PEERS_DIR },
        { "help", no_argument, NULL, OPT_HELP },
        { NULL, 0, NULL, 0 },
    };
    opterr = 0;
    optind = 0;
    char err[512] = "";
    int c, at = 1;
    while ((c = getopt_long(argc, argv, "-:h", lo, NULL)) != -1 && !err[0]) {
        char *end;
        switch (c) {
        case 1:
            if (*what)
                snprintf(err, sizeof err,
                         "unexpected argument '%s': one PEER or COMMAND (quote a command with arguments)",
                         optarg);
            *what = optarg;
            break;
        case 'h':
        case OPT_HELP: fputs(check_help, stdout); return -1;
        case OPT_IMPL: *impl = optarg; break;
        case OPT_PEERS_DIR: *dir = optarg; break;
        case OPT_PEER:
            if (*peer)
                snprintf(err, sizeof err, "--peer: one peer at a time");
            *peer = optarg;
            break;
        case OPT_WORKLOAD:
            if (gb_parse_names("--workload", optarg, &t->workloads, err, sizeof err) == 0)
                t->listed = true;
            break;
        case OPT_TIMEOUT:
            t->timeout_s = strtod(optarg, &end);
            if (*end || !(t->timeout_s > 0))
                snprintf(err, sizeof err, "--timeout: seconds above 0, not '%s'", optarg);
            break;
        case ':': snprintf(err, sizeof err, "%s needs a value", argv[at]); break;
        default: snprintf(err, sizeof err, "unknown option '%s'", argv[at]); break;
        }
        at = optind;
    }
    for (size_t i = 0; !err[0] && i < t->workloads.n; i++)
        if (gb_workload_find(t->workloads.v[i]) == NULL)
            snprintf(err, sizeof err, "--workload: unknown workload '%s'", t->workloads.v[i]);
    if (!err[0] && *what == NULL && *peer == NULL)
        snprintf(err, sizeof err, "which program? give a PEER or a COMMAND");
    if (err[0]) {
        fprintf(stderr, "greenbench check-cell: %s (see greenbench check-cell --help)\n", err);
        return GB_EXIT_USAGE;
    }
    return 0;
}

int gb_cmd_check_cell(int argc, char **argv)
{
    struct target t = { .timeout_s = 20 };
    const char *what = NULL, *impl = NULL, *dir = NULL, *peer = NULL;
    int rc = parse(argc, argv, &t, &what, &impl, &dir, &peer);
    if (rc != 0)
        return rc < 0 ? GB_EXIT_OK : rc;
    char err[1024], peer_name[GB_NAME + 64] = "";
    char *specs[] = { (char *)peer };
    if (gb_peers_ext_load(dir, specs, peer ? 1 : 0, &t.workloads, err, sizeof err) != 0) {
        fprintf(stderr, "greenbench check-cell: %s\n", err);
        return GB_EXIT_USAGE;
    }
    if (what == NULL) { /* The --peer's NAME (loaded: NAME=... is well-formed). */
        snprintf(peer_name, sizeof peer_name, "%.*s", (int)strcspn(peer, "="), peer);
        what = peer_name;
    }
    gb_bin_dir(t.bin, sizeof t.bin);
    bool listed = t.listed;
    if ((rc = pick_target(&t, what, impl)) != 0) {
        gb_argv_free(t.cmd);
        return rc;
    }
    /* A peer's workloads, or --workload's, must run; with neither, every
     * workload is tried and a usage error says "not this one". */
    t.listed = listed || t.workloads.n > 0;
    if (t.workloads.n == 0)
        for (size_t w = 0; w < gb_nworkloads; w++)
            gb_name_add(t.workloads.v, &t.workloads.n, gb_workloads[w].name);
    printf("check-cell: %s, --impl=%s, timeout %g s\n", t.cmd[0], t.impl, t.timeout_s);
    size_t checked = 0;
    for (size_t i = 0; i < t.workloads.n; i++) {
        const char *wl = t.workloads.v[i];
        if (small_for(wl) == NULL) {
            const struct gb_workload *w = gb_workload_find(wl);
            printf("skip %s: not checked here (%s; `greenbench run --impl=%s --workload=%s` runs it)\n", wl,
                   w && w->server == GB_SERVER_DNS ? "it needs greenbench-dns's network namespace"
                                                   : "check-cell has no small size for it (smalls[], "
                                                     "harness/check_cell.c)",
                   t.impl, wl);
            continue;
        }
        checked++;
        if (check_run(&t, wl)) {
            gb_name_add(t.ran.v, &t.ran.n, wl);
            check_rounds(&t, wl);
        }
    }
    /* Every workload refused: most likely the --impl, under which every
     * usage check would pass for the wrong reason. */
    bool all_refused = t.ran.n == 0 && t.refused > 0 && t.refused == checked;
    if (all_refused)
        none_ran(&t);
    else if (t.ran.n == 0)
        report(&t, false, "workloads", "none of them ran");
    if (all_refused)
        printf("skip usage: every workload was refused, so a usage error would prove nothing\n");
    else
        check_usage(&t, t.ran.n ? t.ran.v[0] : t.workloads.v[0]);
    if (t.server_up)
        gb_server_stop(&t.server);
    printf("check-cell: %d checks, %d failed: %s\n", t.checks, t.failed,
           t.failed ? "it does not obey the cell protocol" : "it obeys the cell protocol");
    gb_argv_free(t.cmd);
    return t.failed ? GB_EXIT_FAILED : GB_EXIT_OK;
}
