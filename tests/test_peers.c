/* tests/test_peers.c: the peers (gevent, Go, State Threads), each
 * run as the harness runs a cell: a child process, its JSON object on the
 * last stdout line. Checks, not timings, at small N: every workload the peer
 * implements and its own checks (operations, tasks completed, bytes
 * received, most in flight, connections), --rounds (added up as ours add
 * them), --keepalive (joinall, pool: a connection per request, or one per
 * task / worker) and --hubs (noted and ignored: null), the JSON line's fields
 * against those of our own cell programs, and the protocol's failures (bad
 * options: exit 2; a workload the peer lacks: exit 2 with "workload X is not
 * implemented by peer Y"; a --url port outside 1-65535: exit 2 before
 * anything connects).
 *
 * One suite per peer; ctest runs `test-peers <peer>`. A peer whose program
 * is not in GREENBENCH_BIN_DIR makes the suite exit 77, which ctest reports
 * as skipped. The HTTP cases need bin/greenbench-server: without it they
 * say so and check nothing. */
#include <CUnit/CUnit.h>

#include "child_run.h"
#include "cell_json.h"
#include "server_child.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef GREENBENCH_BIN_DIR
#error "GREENBENCH_BIN_DIR must be defined (tests/CMakeLists.txt)"
#endif

#define SKIP_EXIT 77

typedef struct peer_info {
    const char *name;           /* The --impl value; the program is greenbench-peer-<name>. */
    const char *package;        /* The Debian package that brings it. */
    bool http;                  /* Implements joinall and pool. */
} peer_info;

static const peer_info peers[] = {
    { "gevent", "python3-gevent", true },
    { "go", "golang-go", true },
    { "st", "libst-dev", false },
    { "threads-preload", "libc6-dev", true },
};

static const peer_info *peer;   /* The suite's. */
static char program[4096];
static char impl_arg[32];       /* "--impl=<peer>", built once in start_peer. */

/* ---- running a program ---- */

typedef struct run_result {
    int status;                 /* Exit status; -1: killed by a signal or the time limit. */
    char out[32768];
    char err[16384];
    char last_line[8192];
    json_t *json;
    bool json_ok;
} run_result;

/* Run path with args (NULL-terminated), at most CHILD_RUN_TIMEOUT_S, its
 * stdout and stderr kept (explain() quotes the peer's own words). */
/* Run path with args; namespaces_of > 0: in that process's network and
 * mount namespaces (child_io). */
static void run_program_in(run_result *r, int namespaces_of, const char *path, const char *const *args)
{
    memset(r, 0, sizeof *r);
    child_io io = { .out = r->out,
                    .out_size = sizeof r->out,
                    .err = r->err,
                    .err_size = sizeof r->err,
                    .last_line = r->last_line,
                    .last_line_size = sizeof r->last_line,
                    .namespaces_of = namespaces_of };
    r->status = child_run(path, args, &io);
    char json_err[160];
    r->json_ok = (r->json = cell_json_parse(r->last_line, json_err, sizeof json_err)) != NULL;
}

static void run_program(run_result *r, const char *path, const char *const *args)
{
    run_program_in(r, 0, path, args);
}

/* Run the suite's peer with args, in the namespaces of process ns (0: ours). */
static void run_peer_in(run_result *r, int ns, const char *const *args)
{
    run_program_in(r, ns, program, args);
    if (getenv("GREENBENCH_TEST_VERBOSE") != NULL)
        fprintf(stderr, "\n%s%s\n", r->err, r->last_line);
}

static void run_peer(run_result *r, const char *const *args)
{
    run_peer_in(r, 0, args);
}

#define RUN(r, ...) run_peer((r), (const char *const[]){ __VA_ARGS__, NULL })

/* Say what went wrong, with the peer's own words, once per failed check. */
static void explain(const run_result *r, const char *what)
{
    fprintf(stderr, "\n  greenbench-peer-%s: %s (exit %d)\n  stderr: %.2000s\n  last line: %.2000s\n",
            peer->name, what, r->status, r->err, r->last_line);
}

/* ---- the JSON line ---- */

/* The fields every cell line has, in cell.c's order. */
static const char *const common_fields[] = {
    "workload", "impl",   "switch",    "loop", "n",    "concurrency", "delay_ms", "size",       "stack_kib",
    "cpus",     "rounds", "keepalive", "tls",  "ares", "hubs",        "stacks",   "live_bytes", "ok",
};
/* The checks joinall and pool write, in cell.c's order, after the timing fields. */
static const char *const fetch_fields[] = { "tasks_completed", "bytes_received", "errors", "max_in_flight",
                                            "connections" };
static const char *const timing_fields[] = { "wall_ns", "ops", "ns_per_op", "max_rss_kb", "cpu_ns" };

/* A successful cell of the workload: exit 0, a JSON line with ok:true,
 * every field of the protocol with its type, in cell.c's order. */
static bool check_ok(const run_result *r, const char *workload)
{
    if (r->status != 0 || !r->json_ok) {
        explain(r, r->json_ok ? "non-zero exit" : "no JSON object on the last stdout line");
        return false;
    }
    const json_t *o = r->json;
    size_t nc = sizeof common_fields / sizeof common_fields[0];
    size_t nt = sizeof timing_fields / sizeof timing_fields[0];
    bool good = json_object_size(o) >= nc + nt;
    for (size_t i = 0; good && i < nc; i++)
        good = strcmp(jkey(o, i), common_fields[i]) == 0;
    for (size_t i = 0; good && i < nt; i++)
        good = strcmp(jkey(o, nc + i), timing_fields[i]) == 0;    /* ok:true: no "error" between. */
    if (!good) {
        explain(r, "fields missing or out of cell.c's order");
        return false;
    }
    const json_t *ok = json_object_get(o, "ok");
    const char *w = jstr(o, "workload"), *impl = jstr(o, "impl");
    const json_t *ns = json_object_get(o, "ns_per_op");
    if (!jis(ok, J_BOOL) || !json_is_true(ok) || w == NULL || strcmp(w, workload) != 0 || impl == NULL ||
        strcmp(impl, peer->name) != 0 || jis(json_object_get(o, "switch"), J_NUMBER) ||
        jis(json_object_get(o, "loop"), J_NUMBER) || jint(o, "cpus") < 1 || jint(o, "rounds") < 1 ||
        jint(o, "n") < 1 || jint(o, "wall_ns") <= 0 || jint(o, "ops") < 1 || !jis(ns, J_NUMBER) ||
        json_number_value(ns) <= 0 || jint(o, "max_rss_kb") <= 0 || jint(o, "cpu_ns") < 0 ||
        !jis(json_object_get(o, "hubs"), J_NULL) ||
        !(jis(json_object_get(o, "keepalive"), J_NULL) || jint(o, "keepalive") >= 0)) {
        explain(r, "a protocol field is wrong");
        return false;
    }
    const char *key;
    const json_t *f;
    json_object_foreach((json_t *)o, key, f) {
        if (jis(f, J_NUMBER) && !json_is_integer(f) && strcmp(key, "ns_per_op") != 0) {
            explain(r, "a count that is not an integer");
            return false;
        }
    }
    if (strcmp(workload, "joinall") == 0 || strcmp(workload, "pool") == 0) {
        /* keepalive filled in (0 when not given); the checks in cell.c's order, then only the note. */
        size_t nf = sizeof fetch_fields / sizeof fetch_fields[0], at = nc + nt;
        good = jint(o, "keepalive") == 0 || jint(o, "keepalive") == 1;
        for (size_t i = 0; good && i < nf; i++)
            good = jkey(o, at + i) != NULL && strcmp(jkey(o, at + i), fetch_fields[i]) == 0 &&
                   jint(o, fetch_fields[i]) >= 0;
        /* Under the preload, the OS threads it ran on come next. */
        if (good && jkey(o, at + nf) != NULL && strcmp(jkey(o, at + nf), "os_threads") == 0)
            good = strcmp(peer->name, "threads-preload") == 0 && jint(o, "os_threads") >= 1 && nf++;
        good = good && (jkey(o, at + nf) == NULL || strcmp(jkey(o, at + nf), "note") == 0);
        if (!good) {
            explain(r, "joinall, pool: keepalive not 0 or 1, or the checks not in cell.c's order");
            return false;
        }
    }
    return true;
}

/* A failed cell: the exit status, ok:false and an error containing `words`. */
static bool check_failed(const run_result *r, int status, const char *words)
{
    const json_t *ok = r->json_ok ? json_object_get(r->json, "ok") : NULL;
    const char *error = r->json_ok ? jstr(r->json, "error") : NULL;
    if (r->status != status || ok == NULL || !jis(ok, J_BOOL) || json_is_true(ok) || error == NULL ||
        strstr(error, words) == NULL) {
        char what[256];
        snprintf(what, sizeof what, "expected exit %d, ok:false and an error with \"%s\"", status, words);
        explain(r, what);
        return false;
    }
    return true;
}

/* ---- suites: the peer, and the server for the HTTP cases ---- */

#define SERVER_DELAY_MS 5
#define SERVER_SIZE 1000

static server_child server = { .pid = -1 };
static char server_note[512];
static char url_arg[96];        /* "--url=<its URL>", once it runs. */

static int start_peer(const char *name)
{
    for (size_t i = 0; i < sizeof peers / sizeof peers[0]; i++)
        if (strcmp(peers[i].name, name) == 0)
            peer = &peers[i];
    snprintf(program, sizeof program, "%s/greenbench-peer-%s", GREENBENCH_BIN_DIR, name);
    snprintf(impl_arg, sizeof impl_arg, "--impl=%s", name);
    if (access(program, X_OK) != 0) {
        /* Found at configure time but gone now: skipped, as if absent. */
        fprintf(stderr, "peer %s: %s is missing: skipped (Debian package %s; then re-run cmake)\n", name, program,
                peer->package);
        exit(SKIP_EXIT);
    }
    server_note[0] = '\0';
    if (peer->http) {
        char path[4096], err[256];
        snprintf(path, sizeof path, "%s/greenbench-server", GREENBENCH_BIN_DIR);
        if (access(path, X_OK) != 0)
            snprintf(server_note, sizeof server_note, "no %.400s: the HTTP cases are skipped", path);
        else if (server_child_start(&server, path, SERVER_DELAY_MS, SERVER_SIZE, -1, false, err,
                                    sizeof err) != 0)
            snprintf(server_note, sizeof server_note, "%.200s did not start (%.200s): the HTTP cases are skipped",
                     path, err);
        else
            snprintf(url_arg, sizeof url_arg, "--url=%s", server.url);
    }
    return 0;
}

static int stop_peer(void)
{
    cell_json_free_all();
    if (server.pid > 0)
        server_child_stop(&server);
    return 0;
}

static int init_gevent(void) { return start_peer("gevent"); }
static int init_go(void) { return start_peer("go"); }
static int init_st(void) { return start_peer("st"); }
static int init_preload(void)
{
    return start_peer("threads-preload");
}

/* True when the HTTP cases can run; otherwise says why, once per case. */
static bool have_server(void)
{
    if (server.pid > 0)
        return true;
    fprintf(stderr, "\n  skipped: %s\n", server_note);
    return false;
}

/* ---- tests ---- */

static void test_help(void)
{
    run_result r;
    RUN(&r, "--help");
    CU_ASSERT_EQUAL(r.status, 0);
    const char *mine[] = { "switch", "yield", "spawn", "spawn-alive", "joinall", "pool", "dns" };
    for (size_t i = 0; i < sizeof mine / sizeof mine[0]; i++) {
        if (!peer->http && (strcmp(mine[i], "joinall") == 0 || strcmp(mine[i], "pool") == 0 ||
                            strcmp(mine[i], "dns") == 0))
            continue;
        char line[64];
        snprintf(line, sizeof line, "  %-12s --impl=%s", mine[i], peer->name);
        CU_ASSERT_PTR_NOT_NULL(strstr(r.out, line));
    }
}

/* A successful cell of the workload (check_ok, else the test ends here)
 * that did `ops` operations and completed `tasks` tasks without an error. */
static void check_counts(const run_result *r, const char *workload, long long ops, long long tasks)
{
    CU_ASSERT_FATAL(check_ok(r, workload));
    CU_ASSERT_EQUAL(jint(r->json, "ops"), ops);
    CU_ASSERT_EQUAL(jint(r->json, "tasks_completed"), tasks);
    CU_ASSERT_EQUAL(jint(r->json, "errors"), 0);
}

static void test_switch(void)
{
    run_result r;
    RUN(&r, "switch", impl_arg, "--n=2000");
    check_counts(&r, "switch", 4000, 2000);
    CU_ASSERT_EQUAL(jint(r.json, "n"), 2000);
    CU_ASSERT_PTR_NOT_NULL(jstr(r.json, "switch"));
    CU_ASSERT_PTR_NOT_NULL(jstr(r.json, "note"));
}

/* --cpus=1 restricts the process (Go: and GOMAXPROCS) to one CPU. */
static void test_switch_one_cpu(void)
{
    run_result r;
    RUN(&r, "switch", impl_arg, "--n", "500", "--cpus", "1");
    CU_ASSERT_FATAL(check_ok(&r, "switch"));
    CU_ASSERT_EQUAL(jint(r.json, "cpus"), 1);
    CU_ASSERT_EQUAL(jint(r.json, "ops"), 1000);
    if (strcmp(peer->name, "go") == 0)
        CU_ASSERT_PTR_NOT_NULL(strstr(jstr(r.json, "note"), "GOMAXPROCS=1"));
}

/* The same fields, in the same order, as our own thread cell's line for
 * the same workload and arguments (NULL-terminated, after the workload and
 * --impl), the optional note aside (every peer writes one), and the same
 * values where the line echoes the command (n, rounds) and, for joinall and
 * pool, keepalive and connections. Returns the peer's run, or NULL when
 * there is no thread cell to compare with. */
static const run_result *workload_fields_match_ours(const char *workload, const char *const *args)
{
    char threads[4096];
    snprintf(threads, sizeof threads, "%s/greenbench-cell-threads", GREENBENCH_BIN_DIR);
    if (access(threads, X_OK) != 0) {
        fprintf(stderr, "\n  skipped: no %s to compare with\n", threads);
        return NULL;
    }
    const char *ours_argv[16] = { workload, "--impl=threads" }, *theirs_argv[16] = { workload, impl_arg };
    size_t n = 2;
    for (; args[n - 2] != NULL && n < 15; n++)
        ours_argv[n] = theirs_argv[n] = args[n - 2];
    ours_argv[n] = theirs_argv[n] = NULL;
    static run_result ours, theirs;
    run_program(&ours, threads, ours_argv);
    run_peer(&theirs, theirs_argv);
    CU_ASSERT_FATAL(ours.json_ok && theirs.json_ok);
    bool same = true;
    for (size_t i = 0, j = 0; same; i++, j++) {
        const char *a = jkey(ours.json, i), *b = jkey(theirs.json, j);
        if (a != NULL && strcmp(a, "note") == 0)
            a = jkey(ours.json, ++i);
        if (b != NULL && strcmp(b, "note") == 0)
            b = jkey(theirs.json, ++j);
        /* The preload's one addition (cell.c: the OS threads it ran on). */
        if (b != NULL && strcmp(b, "os_threads") == 0 && strcmp(peer->name, "threads-preload") == 0)
            b = jkey(theirs.json, ++j);
        if (a == NULL || b == NULL) {
            same = a == b;
            break;
        }
        same = strcmp(a, b) == 0;
    }
    bool fetch = strcmp(workload, "joinall") == 0 || strcmp(workload, "pool") == 0;
    static const char *const echoed[] = { "n", "rounds", "keepalive", "connections" };
    for (size_t i = 0; same && i < (fetch ? 4 : 2); i++)
        same = jint(ours.json, echoed[i]) == jint(theirs.json, echoed[i]) &&
               jint(ours.json, echoed[i]) >= (i < 2 ? 1 : 0);
    if (!same)
        fprintf(stderr, "\n  ours:   %s\n  theirs: %s\n", ours.last_line, theirs.last_line);
    CU_ASSERT(same);
    return &theirs;
}

static const run_result *fields_match_ours(const char *const *args)
{
    return workload_fields_match_ours("switch", args);
}

static void test_fields_match_ours(void)
{
    const run_result *r = fields_match_ours((const char *const[]){ "--n=100", NULL });
    if (r != NULL)
        CU_ASSERT_EQUAL(jint(r->json, "rounds"), 1);
}

/* --rounds=2: the workload twice in one process, added up as ours add it
 * (docs/cell-protocol.md#rounds); --rounds=0 is a usage error. */
static void test_rounds(void)
{
    const run_result *f = fields_match_ours((const char *const[]){ "--n=100", "--rounds=2", NULL });
    if (f != NULL)
        CU_ASSERT_EQUAL(jint(f->json, "rounds"), 2);
    run_result r;
    RUN(&r, "switch", impl_arg, "--n=300", "--rounds=2");
    check_counts(&r, "switch", 1200, 600);
    CU_ASSERT_EQUAL(jint(r.json, "rounds"), 2);
    CU_ASSERT_EQUAL(jint(r.json, "n"), 300);
    RUN(&r, "spawn", impl_arg, "--n=200", "--rounds=2");
    check_counts(&r, "spawn", 400, 400);
    CU_ASSERT_EQUAL(jint(r.json, "rounds"), 2);
    RUN(&r, "yield", impl_arg, "--n=100", "--rounds=2", "--cpus=1");
    check_counts(&r, "yield", 400, 4);
    RUN(&r, "spawn-alive", impl_arg, "--n=50", "--rounds=2");
    check_counts(&r, "spawn-alive", 100, 100);
    CU_ASSERT(jint(r.json, "rss_per_task_bytes") >= 0);
    RUN(&r, "spawn", impl_arg, "--n=10", "--rounds=0");
    CU_ASSERT(check_failed(&r, 2, "--rounds=0"));
    CU_ASSERT_EQUAL(jint(r.json, "rounds"), 0);
}

static void test_yield(void)
{
    run_result r;
    RUN(&r, "yield", impl_arg, "--n=1000", "--cpus=1");
    check_counts(&r, "yield", 2000, 2);
}

static void test_spawn(void)
{
    run_result r;
    RUN(&r, "spawn", impl_arg, "--n=500");
    check_counts(&r, "spawn", 500, 500);
}

static void test_spawn_alive(void)
{
    run_result r;
    RUN(&r, "spawn-alive", impl_arg, "--n=300");
    check_counts(&r, "spawn-alive", 300, 300);
    CU_ASSERT(jint(r.json, "rss_per_task_bytes") >= 0);
}

static void test_joinall(void)
{
    if (!have_server())
        return;
    run_result r;
    char size[32], delay[32];
    snprintf(size, sizeof size, "--size=%d", SERVER_SIZE);
    snprintf(delay, sizeof delay, "--delay-ms=%d", SERVER_DELAY_MS);
    RUN(&r, "joinall", impl_arg, "--n=20", url_arg, size, delay);
    check_counts(&r, "joinall", 20, 20);
    CU_ASSERT_EQUAL(jint(r.json, "bytes_received"), 20LL * SERVER_SIZE);
    CU_ASSERT_EQUAL(jint(r.json, "size"), SERVER_SIZE);
    CU_ASSERT_EQUAL(jint(r.json, "delay_ms"), SERVER_DELAY_MS);
    long long most = jint(r.json, "max_in_flight");
    CU_ASSERT(most >= 1 && most <= 20);
}

static void test_pool(void)
{
    if (!have_server())
        return;
    run_result r;
    char size[32];
    snprintf(size, sizeof size, "--size=%d", SERVER_SIZE);
    RUN(&r, "pool", impl_arg, "--n=30", "--concurrency=4", url_arg, size);
    CU_ASSERT_FATAL(check_ok(&r, "pool"));
    CU_ASSERT_EQUAL(jint(r.json, "concurrency"), 4);
    CU_ASSERT_EQUAL(jint(r.json, "tasks_completed"), 30);
    CU_ASSERT_EQUAL(jint(r.json, "bytes_received"), 30LL * SERVER_SIZE);
    CU_ASSERT_EQUAL(jint(r.json, "errors"), 0);
    long long most = jint(r.json, "max_in_flight");
    CU_ASSERT(most >= 1 && most <= 4);
}

/* --keepalive=0 (and not given): a new connection per request, N of them;
 * --keepalive=1: joinall's tasks one each (N), pool's K workers one each (K,
 * as this server keeps them); the same requests, bytes and checks either way. */
static void test_keepalive(void)
{
    if (!have_server())
        return;
    char size[32];
    snprintf(size, sizeof size, "--size=%d", SERVER_SIZE);
    const char *const modes[] = { NULL, "--keepalive=0", "--keepalive=1" };
    for (size_t m = 0; m < 3; m++) {
        long long keepalive = m == 2 ? 1 : 0;
        run_result r;
        if (modes[m] == NULL)
            RUN(&r, "joinall", impl_arg, "--n=12", url_arg, size);
        else
            RUN(&r, "joinall", impl_arg, "--n=12", url_arg, size, modes[m]);
        check_counts(&r, "joinall", 12, 12);
        CU_ASSERT_EQUAL(jint(r.json, "keepalive"), keepalive);
        CU_ASSERT_EQUAL(jint(r.json, "connections"), 12);
        CU_ASSERT_EQUAL(jint(r.json, "bytes_received"), 12LL * SERVER_SIZE);
        CU_ASSERT(jis(json_object_get(r.json, "hubs"), J_NULL));
        long long most = jint(r.json, "max_in_flight");
        CU_ASSERT(most >= 1 && most <= 12);

        if (modes[m] == NULL)
            RUN(&r, "pool", impl_arg, "--n=24", "--concurrency=3", url_arg, size);
        else
            RUN(&r, "pool", impl_arg, "--n=24", "--concurrency=3", url_arg, size, modes[m]);
        check_counts(&r, "pool", 24, 24);
        CU_ASSERT_EQUAL(jint(r.json, "keepalive"), keepalive);
        CU_ASSERT_EQUAL(jint(r.json, "connections"), keepalive ? 3 : 24);
        CU_ASSERT_EQUAL(jint(r.json, "bytes_received"), 24LL * SERVER_SIZE);
        most = jint(r.json, "max_in_flight");
        CU_ASSERT(most >= 1 && most <= 3);
    }
    /* --rounds=2 adds the connections up, as the other counts. */
    run_result r;
    RUN(&r, "pool", impl_arg, "--n=8", "--concurrency=2", "--rounds=2", url_arg, size, "--keepalive=1");
    check_counts(&r, "pool", 16, 16);
    CU_ASSERT_EQUAL(jint(r.json, "connections"), 4);
}

/* --tls=1 against greenbench-server --tls, verified against its CA: the
 * same requests and bytes as over http, a handshake per connection (N for
 * joinall, K for a pool that keeps them); against another server's CA every
 * request fails verification, saying so; the URL's scheme and --tls must
 * agree, and --cacert needs --tls=1 (exit 2). */
static void test_tls(void)
{
    if (!have_server())
        return;
    char path[4096], err[256], size[32], url[128], ca[4200], other_ca[4200];
    snprintf(path, sizeof path, "%s/greenbench-server", GREENBENCH_BIN_DIR);
    snprintf(size, sizeof size, "--size=%d", SERVER_SIZE);
    server_child tls = { .pid = -1 }, other = { .pid = -1 };
    CU_ASSERT_FATAL(
        server_child_start(&tls, path, SERVER_DELAY_MS, SERVER_SIZE, -1, true, err, sizeof err) == 0);
    if (server_child_start(&other, path, SERVER_DELAY_MS, SERVER_SIZE, -1, true, err, sizeof err) != 0) {
        server_child_stop(&tls);
        CU_FAIL_FATAL("a second greenbench-server --tls did not start");
    }
    snprintf(url, sizeof url, "--url=%s", tls.url);
    snprintf(ca, sizeof ca, "--cacert=%s", tls.ca);
    snprintf(other_ca, sizeof other_ca, "--cacert=%s", other.ca);
    run_result r;
    RUN(&r, "joinall", impl_arg, "--n=12", "--tls=1", url, ca, size);
    check_counts(&r, "joinall", 12, 12);
    CU_ASSERT_EQUAL(jint(r.json, "tls"), 1);
    CU_ASSERT_EQUAL(jint(r.json, "connections"), 12);
    CU_ASSERT_EQUAL(jint(r.json, "bytes_received"), 12LL * SERVER_SIZE);
    RUN(&r, "pool", impl_arg, "--n=24", "--concurrency=3", "--keepalive=1", "--tls=1", url, ca, size);
    check_counts(&r, "pool", 24, 24);
    CU_ASSERT_EQUAL(jint(r.json, "connections"), 3);
    RUN(&r, "joinall", impl_arg, "--n=4", "--tls=1", url, other_ca, size);
    CU_ASSERT(check_failed(&r, 1, "TLS verification"));
    server_child_stop(&other);
    server_child_stop(&tls);
    RUN(&r, "joinall", impl_arg, "--n=4", url, size);
    CU_ASSERT(check_failed(&r, 2, "an https:// URL needs --tls=1"));
    RUN(&r, "joinall", impl_arg, "--n=4", "--tls=1", url_arg, size);
    CU_ASSERT(check_failed(&r, 2, "--tls=1 needs an https:// --url"));
    RUN(&r, "pool", impl_arg, "--n=4", "--tls=0", ca, url_arg, size);
    CU_ASSERT(check_failed(&r, 2, "--cacert needs --tls=1"));
    RUN(&r, "pool", impl_arg, "--n=4", "--tls=2", url_arg, size);
    CU_ASSERT(check_failed(&r, 2, "--tls=2: 0 (plain HTTP) or 1 (HTTPS)"));
}

/* joinall and pool, keep-alive or not, against our thread cell's line. */
static void test_fetch_fields_match_ours(void)
{
    if (!have_server())
        return;
    char size[32];
    snprintf(size, sizeof size, "--size=%d", SERVER_SIZE);
    workload_fields_match_ours("joinall", (const char *const[]){ "--n=4", url_arg, size, NULL });
    workload_fields_match_ours("pool",
                               (const char *const[]){ "--n=6", "--concurrency=2", url_arg, size, NULL });
    workload_fields_match_ours(
        "pool", (const char *const[]){ "--n=6", "--concurrency=2", url_arg, size, "--keepalive=1", NULL });
}

/* The same check as ours: a body of another length than --size fails the cell. */
static void test_joinall_wrong_size(void)
{
    if (!have_server())
        return;
    run_result r;
    char size[32];
    snprintf(size, sizeof size, "--size=%d", SERVER_SIZE + 1);
    RUN(&r, "joinall", impl_arg, "--n=3", url_arg, size);
    CU_ASSERT(check_failed(&r, 1, "--size="));
    CU_ASSERT(jint(r.json, "errors") >= 1);
}

/* --rounds=2 of joinall with the peer's own server (one per round, no
 * --url) and of pool with ours. */
static void test_fetch_rounds(void)
{
    if (!have_server())
        return;
    run_result r;
    RUN(&r, "joinall", impl_arg, "--n=5", "--rounds=2", "--delay-ms=1", "--size=1000");
    check_counts(&r, "joinall", 10, 10);
    CU_ASSERT_EQUAL(jint(r.json, "rounds"), 2);
    CU_ASSERT_EQUAL(jint(r.json, "bytes_received"), 10 * 1000);
    char size[32];
    snprintf(size, sizeof size, "--size=%d", SERVER_SIZE);
    RUN(&r, "pool", impl_arg, "--n=8", "--concurrency=4", "--rounds=2", url_arg, size);
    check_counts(&r, "pool", 16, 16);
    CU_ASSERT_EQUAL(jint(r.json, "bytes_received"), 16LL * SERVER_SIZE);
    long long most = jint(r.json, "max_in_flight");
    CU_ASSERT(most >= 1 && most <= 4);
}

/* A port outside 1-65535, not a number or empty: a usage error before
 * anything connects (Python would wrap 99999 round to 34463), in the words
 * of ours. */
static void test_url_port_range(void)
{
    for (size_t i = 0; i < nbad_port_urls; i++) {
        run_result r;
        RUN(&r, i % 2 ? "pool" : "joinall", impl_arg, "--n=3", bad_port_urls[i].arg);
        CU_ASSERT(check_failed(&r, 2, bad_port_urls[i].words));
        CU_ASSERT(r.json_ok && jis(json_object_get(r.json, "wall_ns"), J_NULL));
    }
}

static void test_not_implemented(void)
{
    char want[128];
    const char *workloads[] = { "joinall", "pool" };
    for (size_t i = 0; i < 2; i++) {
        run_result r;
        RUN(&r, workloads[i], impl_arg, "--n=3");
        snprintf(want, sizeof want, "workload %s is not implemented by peer %s", workloads[i], peer->name);
        CU_ASSERT(check_failed(&r, 2, want));
    }
}

/* Bad usage: exit 2, ok:false, a clear error, and still one JSON line. */
static void test_bad_usage(void)
{
    run_result r;
    RUN(&r, "switch", impl_arg, "--n=abc");
    CU_ASSERT(check_failed(&r, 2, "--n=abc"));
    RUN(&r, "no-such-workload", impl_arg);
    CU_ASSERT(check_failed(&r, 2, "unknown workload"));
    RUN(&r, "switch", impl_arg, "--bogus=1");
    CU_ASSERT(check_failed(&r, 2, "--bogus"));
    RUN(&r, "switch", "--impl=not-this-peer");
    CU_ASSERT(check_failed(&r, 2, "--impl"));
    RUN(&r, "switch", "--n=5");
    CU_ASSERT(check_failed(&r, 2, "--impl"));
    RUN(&r, "switch", impl_arg, "--cpus=100000");
    CU_ASSERT(check_failed(&r, 2, "--cpus"));
    RUN(&r, "switch", impl_arg, "--rounds=two");
    CU_ASSERT(check_failed(&r, 2, "--rounds=two"));
    CU_ASSERT(r.json_ok && jis(json_object_get(r.json, "rounds"), J_NULL));
}

/* --keepalive is 0 or 1, --hubs at least 1, in cell.c's words (exit 2, the
 * value as given in the line; a value that is no count: null). */
static void test_keepalive_hubs_usage(void)
{
    run_result r;
    RUN(&r, "pool", impl_arg, "--n=3", "--keepalive=2");
    CU_ASSERT(check_failed(&r, 2, "--keepalive=2: 0 (a new connection per request) or 1"));
    CU_ASSERT_EQUAL(jint(r.json, "keepalive"), 2);
    RUN(&r, "joinall", impl_arg, "--n=3", "--keepalive", "yes");
    CU_ASSERT(check_failed(&r, 2, "--keepalive=yes: expected a non-negative integer"));
    CU_ASSERT(r.json_ok && jis(json_object_get(r.json, "keepalive"), J_NULL));
    RUN(&r, "spawn", impl_arg, "--n=3", "--hubs=0");
    CU_ASSERT(check_failed(&r, 2, "--hubs=0: a green cell runs at least one hub"));
    CU_ASSERT_EQUAL(jint(r.json, "hubs"), 0);
    RUN(&r, "spawn", impl_arg, "--n=3", "--hubs=-1");
    CU_ASSERT(check_failed(&r, 2, "--hubs=-1: expected a non-negative integer"));
}

/* --hubs=2: gevent and Go have no hubs; noted on stderr, ignored, null in
 * the line. The State Threads peer is cell.c's, and does what cell.c does. */
static void test_hubs_ignored(void)
{
    run_result r;
    RUN(&r, "spawn", impl_arg, "--n=100", "--hubs=2");
    if (strcmp(peer->name, "st") == 0) {
        CU_ASSERT(r.status == 0 && r.json_ok && json_is_true(json_object_get(r.json, "ok")));
        return;
    }
    check_counts(&r, "spawn", 100, 100);
    CU_ASSERT(jis(json_object_get(r.json, "hubs"), J_NULL));
    CU_ASSERT(jis(json_object_get(r.json, "keepalive"), J_NULL));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "--hubs=2"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "ignored"));
}

/* The checks fail the cell, not only measure: --n=0 is refused (exit 1). */
static void test_n_zero(void)
{
    run_result r;
    RUN(&r, "spawn", impl_arg, "--n=0");
    CU_ASSERT(check_failed(&r, 1, "--n=0"));
}

/* ---- dns ---- */

/* A lookup pass that resolved all n names, at most k at a time. */
static void check_lookups(const run_result *r, long long n, long long k, long long ares)
{
    check_counts(r, "dns", n, n);
    CU_ASSERT_EQUAL(jint(r->json, "ares"), ares);
    CU_ASSERT_TRUE(jint(r->json, "max_in_flight") >= 1 &&
                   jint(r->json, "max_in_flight") <= (n < k ? n : k));
    CU_ASSERT_TRUE(jint(r->json, "rss_per_task_bytes") >= 0);
}

/* The peer against greenbench-dns in a network namespace of its own
 * (--private-net; where namespaces are refused, the getaddrinfo runs are
 * skipped): gevent with its thread pool and its c-ares resolver, Go with
 * its own (ares=1 is a usage error for it). */
static void test_dns(void)
{
    char path[4096], err[256];
    snprintf(path, sizeof path, "%s/greenbench-dns", GREENBENCH_BIN_DIR);
    char *private_argv[] = { path, "--delay-ms", "5", "--exit-on-stdin-eof", "--private-net", NULL };
    server_child dns = { .pid = -1 };
    int ns = 0;
    if (server_child_spawn(&dns, private_argv, NULL, 0, 10.0, err, sizeof err) == 0) {
        ns = dns.pid;
    } else {
        fprintf(stderr, "\n  greenbench-dns --private-net: %s: the getaddrinfo runs are skipped\n", err);
        private_argv[4] = NULL;
        CU_ASSERT_FATAL(server_child_spawn(&dns, private_argv, NULL, 0, 10.0, err, sizeof err) == 0);
    }
    char url[128];
    snprintf(url, sizeof url, "--url=%s", dns.url);
    bool gevent = strcmp(peer->name, "gevent") == 0;
    run_result r;
    if (ns > 0) {
        run_peer_in(&r, ns, (const char *const[]){ "dns", impl_arg, "--n=60", url, NULL });
        check_lookups(&r, 60, 60, 0);
        run_peer_in(&r, ns,
                    (const char *const[]){ "dns", impl_arg, "--n=20", "--concurrency=3", url, NULL });
        check_lookups(&r, 20, 3, 0);
    }
    /* In the namespace too where there is one: its port 53 is there. */
    run_peer_in(&r, ns, (const char *const[]){ "dns", impl_arg, "--n=100", "--ares=1", url, NULL });
    if (gevent) {
        check_lookups(&r, 100, 100, 1);
        CU_ASSERT_PTR_NOT_NULL(strstr(jstr(r.json, "note"), "ares"));
    } else {
        CU_ASSERT(check_failed(&r, 2, "--ares=1"));
    }
    RUN(&r, "dns", impl_arg, "--n=5");
    CU_ASSERT(check_failed(&r, 2, "--url=dns://"));
    RUN(&r, "dns", impl_arg, "--n=5", "--ares=2", url);
    CU_ASSERT(check_failed(&r, 2, "--ares=2"));
    server_child_stop(&dns);
}

/* ---- threads-preload: our thread program under libgreen-preload.so ---- */

/* Its green threads are not OS threads: at the end of a timed part of 200
 * fetches at once the process has one thread, and the resolver's workers
 * at most (4), where the thread baseline made 200. */
static void test_preload_os_threads(void)
{
    if (!have_server())
        return;
    run_result r;
    char size[32];
    snprintf(size, sizeof size, "--size=%d", SERVER_SIZE);
    RUN(&r, "joinall", impl_arg, "--n=200", url_arg, size);
    check_counts(&r, "joinall", 200, 200);
    long long threads = jint(r.json, "os_threads");
    CU_ASSERT(threads >= 1 && threads <= 1 + 4);
    CU_ASSERT_EQUAL(jint(r.json, "max_in_flight"), 200); /* one hub starts all before an answer */
}

/* Its pthreads run on the preload's stacks whatever their attribute says:
 * the JSON gives that size, and a --stack-kib is noted as ignored (it was
 * echoed as if used). */
static void test_preload_stack_size(void)
{
    run_result r;
    RUN(&r, "spawn", impl_arg, "--n=20", "--stack-kib=8192");
    check_counts(&r, "spawn", 20, 20);
    CU_ASSERT_EQUAL(jint(r.json, "stack_kib"), 64);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "--stack-kib=8192 does not apply under libgreen-preload.so"));
}

/* switch and yield wait in raw futexes and sched_yield, which the preload
 * cannot see: refused, as a peer refuses a workload it lacks. */
static void test_preload_not_implemented(void)
{
    static const char *const refused[] = { "switch", "yield", "spawn-alive", "dns" };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        run_result r;
        RUN(&r, refused[i], impl_arg, "--n=3");
        char want[128];
        snprintf(want, sizeof want, "workload %s is not implemented by peer %s", refused[i], peer->name);
        CU_ASSERT(check_failed(&r, 2, want));
    }
}

/* clang-format off */
#define COMMON_TESTS                                        \
    { "help", test_help },                                  \
    { "switch", test_switch },                              \
    { "switch_one_cpu", test_switch_one_cpu },              \
    { "fields_match_ours", test_fields_match_ours },        \
    { "rounds", test_rounds },                              \
    { "yield", test_yield },                                \
    { "spawn", test_spawn },                                \
    { "spawn_alive", test_spawn_alive },                    \
    { "bad_usage", test_bad_usage },                        \
    { "keepalive_hubs_usage", test_keepalive_hubs_usage },  \
    { "hubs_ignored", test_hubs_ignored },                  \
    { "n_zero", test_n_zero }
/* clang-format on */

static CU_TestInfo http_peer_tests[] = {
    COMMON_TESTS,
    { "joinall", test_joinall },
    { "pool", test_pool },
    { "joinall_wrong_size", test_joinall_wrong_size },
    { "fetch_rounds", test_fetch_rounds },
    { "keepalive", test_keepalive },
    { "tls", test_tls },
    { "fetch_fields_match_ours", test_fetch_fields_match_ours },
    { "url_port_range", test_url_port_range },
    { "dns", test_dns },
    CU_TEST_INFO_NULL,
};

static CU_TestInfo preload_tests[] = {
    { "spawn", test_spawn },
    { "stack_size", test_preload_stack_size },
    { "joinall", test_joinall },
    { "pool", test_pool },
    { "joinall_wrong_size", test_joinall_wrong_size },
    { "fetch_rounds", test_fetch_rounds },
    { "fetch_fields_match_ours", test_fetch_fields_match_ours },
    { "url_port_range", test_url_port_range },
    { "os_threads", test_preload_os_threads },
    { "not_implemented", test_preload_not_implemented },
    CU_TEST_INFO_NULL,
};

static CU_TestInfo st_tests[] = {
    COMMON_TESTS,
    { "not_implemented", test_not_implemented },
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo green_test_suites[] = {
    { .pName = "gevent", .pInitFunc = init_gevent, .pCleanupFunc = stop_peer, .pTests = http_peer_tests },
    { .pName = "go", .pInitFunc = init_go, .pCleanupFunc = stop_peer, .pTests = http_peer_tests },
    { .pName = "st", .pInitFunc = init_st, .pCleanupFunc = stop_peer, .pTests = st_tests },
    { .pName = "threads-preload",
      .pInitFunc = init_preload,
      .pCleanupFunc = stop_peer,
      .pTests = preload_tests },
    CU_SUITE_INFO_NULL,
};
