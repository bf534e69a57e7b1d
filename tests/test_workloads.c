/* tests/test_workloads.c: every workload of one cell program, run as the
 * harness runs it (a child process, the JSON object on its last stdout
 * line), at small N: the JSON parsed strictly, every field's type and
 * their order checked, and the workload's own checks; --rounds adds the
 * rounds up. Also the protocol's failures: --n=0, --concurrency=0,
 * --rounds=0, a closed port, a port outside 1-65535, too few file
 * descriptors, unknown workloads and options, and (green programs) a
 * --switch or --loop that names another backend pair.
 *
 * Which program: $GREENBENCH_CELL, a file name in GREENBENCH_BIN_DIR (ctest
 * sets it: one entry per backend pair, and one for greenbench-cell-threads).
 * Suite "workloads" runs against every program; suite "protocol" tests
 * cell.c and the shared setup, the same code in every program, so ctest
 * runs it against the thread program and one green program only. */
#include <CUnit/CUnit.h>

#include "child_run.h"
#include "cell_json.h"
#include "server_child.h"

#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef GREENBENCH_BIN_DIR
#error "GREENBENCH_BIN_DIR must be defined (tests/CMakeLists.txt)"
#endif

/* ---- running a cell ---- */

typedef struct cell_run {
    int status;                 /* Exit status; -1: killed or did not run. */
    char out[16384];            /* Its stdout. */
    char last_line[4096];
    json_t *json;
    bool json_ok;
    char json_err[160];
} cell_run;

static const char *cell_name(void)
{
    const char *name = getenv("GREENBENCH_CELL");
    return name != NULL && name[0] != '\0' ? name : "greenbench-cell-threads";
}

static bool is_green(void)
{
    return strcmp(cell_name(), "greenbench-cell-threads") != 0;
}

/* The suites' own server (20 ms delay, 1000-byte bodies), started in
 * suite_init, and "--url=<its URL>", built there once for every test. */
static char url_arg[160];
static server_child server = { .pid = -1 };

#define SERVER_DELAY_MS 20
#define SERVER_SIZE 1000

/* Every workload a cell program implements. */
static const char *const workloads[] = { "switch", "yield", "spawn", "spawn-alive", "joinall", "pool", NULL };

/* Run the cell program with args (a NULL-terminated list), at most
 * CHILD_RUN_TIMEOUT_S, its stderr dropped (child_run.h); nofile > 0 sets
 * RLIMIT_NOFILE (soft and hard) for it. */
static void run_cell_limits(cell_run *c, long nofile, const char *const *args)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", GREENBENCH_BIN_DIR, cell_name());
    memset(c, 0, sizeof *c);
    child_io io = { .nofile = nofile, .out = c->out, .out_size = sizeof c->out,
                    .last_line = c->last_line, .last_line_size = sizeof c->last_line };
    c->status = child_run(path, args, &io);
    c->json_ok = (c->json = cell_json_parse(c->last_line, c->json_err, sizeof c->json_err)) != NULL;
    /* --help prints no JSON, by design: not worth a complaint. */
    const char *last = path;
    for (const char *const *a = args; *a != NULL; a++)
        last = *a;
    if (!c->json_ok && strcmp(last, "--help") != 0)
        fprintf(stderr, "\n  %s: bad JSON (%s): %s\n", cell_name(), c->json_err, c->last_line);
}

static void run_cell(cell_run *c, const char *const *args)
{
    run_cell_limits(c, 0, args);
}

#define RUN(c, ...) run_cell((c), (const char *const[]){ __VA_ARGS__, NULL })

/* ---- validating the JSON line ---- */

static bool type_is(const json_t *o, const char *key, enum jtype t, bool nullable)
{
    const json_t *f = json_object_get(o, key);
    if (f == NULL) {
        fprintf(stderr, "\n  field '%s' is missing\n", key);
        return false;
    }
    if (jis(f, t) || (nullable && jis(f, J_NULL)))
        return true;
    fprintf(stderr, "\n  field '%s' has the wrong type\n", key);
    return false;
}

static bool count_is(const json_t *o, const char *key, bool nullable)
{
    const json_t *f = json_object_get(o, key);
    if (!type_is(o, key, J_NUMBER, nullable))
        return false;
    if (jis(f, J_NUMBER) && (!json_is_integer(f) || json_number_value(f) < 0)) {
        fprintf(stderr, "\n  field '%s' is not a non-negative integer\n", key);
        return false;
    }
    return true;
}

/* Every field of the protocol, with its type, in cell.c's order (the
 * optional ones may be left out); no field outside the list. */
static void check_protocol_fields(const cell_run *c, const char *workload)
{
    const json_t *o = c->json;
    /* clang-format off */
    static const char *const known[] = {
        "workload", "impl", "switch", "loop", "n", "concurrency", "delay_ms", "size", "stack_kib", "cpus",
        "rounds", "ok", "error", "wall_ns", "ops", "ns_per_op", "max_rss_kb", "cpu_ns", "tasks_completed",
        "bytes_received", "errors", "max_in_flight", "rss_per_task_bytes", "note", NULL,
    };
    /* clang-format on */
    CU_ASSERT_TRUE_FATAL(c->json_ok);
    const char *key;
    const json_t *value;
    int last = -1;              /* The place in known of the key before. */
    json_object_foreach((json_t *)o, key, value) {
        int at = -1;
        for (int k = 0; known[k] != NULL && at < 0; k++)
            if (strcmp(known[k], key) == 0)
                at = k;
        if (at < 0)
            fprintf(stderr, "\n  unknown field '%s'\n", key);
        else if (at <= last)
            fprintf(stderr, "\n  field '%s' out of order: %s\n", key, c->last_line);
        CU_ASSERT_TRUE(at > last);
        if (at >= 0)
            last = at;
    }
    /* The fields every line has, whatever happened. */
    for (int k = 0; known[k] != NULL && strcmp(known[k], "tasks_completed") != 0; k++)
        if (strcmp(known[k], "error") != 0)
            CU_ASSERT_PTR_NOT_NULL(json_object_get(o, known[k]));
    CU_ASSERT_TRUE(type_is(o, "workload", J_STRING, false));
    if (workload != NULL && jstr(o, "workload") != NULL)
        CU_ASSERT_STRING_EQUAL(jstr(o, "workload"), workload);
    /* impl is null only when --impl was not given (a usage error). */
    CU_ASSERT_TRUE(type_is(o, "impl", J_STRING, workload == NULL));
    CU_ASSERT_TRUE(type_is(o, "switch", J_STRING, true));
    CU_ASSERT_TRUE(type_is(o, "loop", J_STRING, true));
    static const char *const params[] = { "n",         "concurrency", "delay_ms", "size",
                                          "stack_kib", "cpus",        "rounds",   NULL };
    for (const char *const *k = params; *k; k++)
        CU_ASSERT_TRUE(count_is(o, *k, true));
    CU_ASSERT_TRUE(type_is(o, "ok", J_BOOL, false));
    CU_ASSERT_TRUE(count_is(o, "wall_ns", true));
    CU_ASSERT_TRUE(count_is(o, "ops", true));
    CU_ASSERT_TRUE(type_is(o, "ns_per_op", J_NUMBER, true));
    CU_ASSERT_TRUE(count_is(o, "max_rss_kb", false));
    CU_ASSERT_TRUE(count_is(o, "cpu_ns", true));
    static const char *const checks[] = { "tasks_completed", "bytes_received", "errors", "max_in_flight",
                                          "rss_per_task_bytes", NULL };
    for (const char *const *k = checks; *k; k++) {
        if (json_object_get(o, *k) != NULL)
            CU_ASSERT_TRUE(count_is(o, *k, false));
    }
    if (json_object_get(o, "note") != NULL)
        CU_ASSERT_TRUE(type_is(o, "note", J_STRING, false));
    const json_t *ok = json_object_get(o, "ok");
    if (ok != NULL && jis(ok, J_BOOL) && !json_is_true(ok))
        CU_ASSERT_TRUE(type_is(o, "error", J_STRING, false));
    if (ok != NULL && jis(ok, J_BOOL) && json_is_true(ok))
        CU_ASSERT_PTR_NULL(json_object_get(o, "error"));
}

/* A successful run: exit 0, ok:true, the timing fields set, the backends named. */
static void check_success(const cell_run *c, const char *workload, long long n)
{
    if (c->status != 0 || !c->json_ok || json_object_get(c->json, "ok") == NULL || !json_is_true(json_object_get(c->json, "ok")))
        fprintf(stderr, "\n  %s %s failed (exit %d): %s\n", cell_name(), workload, c->status, c->last_line);
    CU_ASSERT_EQUAL_FATAL(c->status, 0);
    check_protocol_fields(c, workload);
    const json_t *o = c->json;
    CU_ASSERT_TRUE(json_is_true(json_object_get(o, "ok")));
    CU_ASSERT_EQUAL(jint(o, "n"), n);
    CU_ASSERT_TRUE(jint(o, "wall_ns") > 0);
    CU_ASSERT_TRUE(jint(o, "ops") > 0);
    CU_ASSERT_TRUE(jis(json_object_get(o, "ns_per_op"), J_NUMBER));
    CU_ASSERT_TRUE(jint(o, "cpus") >= 1);
    CU_ASSERT_TRUE(jint(o, "rounds") >= 1);
    /* The stack size used is recorded wherever one is chosen: every green
     * thread, and the threads the thread variants create per task. */
    if (is_green() || (strcmp(workload, "switch") != 0 && strcmp(workload, "yield") != 0))
        CU_ASSERT_TRUE(jint(o, "stack_kib") > 0);
    CU_ASSERT_EQUAL(jint(o, "errors"), 0);
    CU_ASSERT_TRUE(jint(o, "cpu_ns") >= 0);
    CU_ASSERT_STRING_EQUAL(jstr(o, "impl"), is_green() ? "green" : "threads");
    if (is_green()) {
        /* greenbench-cell-<switch>-<loop>: switch may hold a '-', loop not. */
        const char *pair = cell_name() + strlen("greenbench-cell-");
        const char *dash = strrchr(pair, '-');
        const char *sw = jstr(o, "switch"), *lp = jstr(o, "loop");
        CU_ASSERT_PTR_NOT_NULL_FATAL(sw);
        CU_ASSERT_TRUE(strlen(sw) == (size_t)(dash - pair) && strncmp(sw, pair, (size_t)(dash - pair)) == 0);
        if (strcmp(workload, "switch") == 0) {
            CU_ASSERT_TRUE(jis(json_object_get(o, "loop"), J_NULL));
        } else {
            CU_ASSERT_PTR_NOT_NULL_FATAL(lp);
            CU_ASSERT_STRING_EQUAL(lp, dash + 1);
        }
    } else {
        CU_ASSERT_TRUE(jis(json_object_get(o, "switch"), J_NULL));
        CU_ASSERT_TRUE(jis(json_object_get(o, "loop"), J_NULL));
    }
}

/* A failed run: the exit status, ok:false, and an error containing `words`. */
static void check_failure(const cell_run *c, int status, const char *words)
{
    const char *said = c->json_ok ? jstr(c->json, "error") : NULL;
    if (c->status != status || (said != NULL && strstr(said, words) == NULL))
        fprintf(stderr, "\n  expected exit %d and an error with '%s'; got exit %d: %s\n", status, words, c->status,
                c->last_line);
    CU_ASSERT_EQUAL(c->status, status);
    check_protocol_fields(c, NULL);
    CU_ASSERT_FALSE(json_is_true(json_object_get(c->json, "ok")));
    const char *error = jstr(c->json, "error");
    CU_ASSERT_PTR_NOT_NULL_FATAL(error);
    CU_ASSERT_PTR_NOT_NULL(strstr(error, words));
}

static const char *impl_arg(void)
{
    return is_green() ? "--impl=green" : "--impl=threads";
}

/* Thread variants get small stacks here: ThreadSanitizer maps shadow for
 * every thread's whole stack, which makes 8 MiB stacks slow to create.
 * Green variants keep libgreen's default. Always the last argument of a
 * RUN: NULL ends the list. */
static const char *stack_arg(void)
{
    return is_green() ? NULL : "--stack-kib=256";
}

/* ---- the workloads ---- */

static void test_switch(void)
{
    cell_run c;
    RUN(&c, "switch", impl_arg(), "--n=500");
    check_success(&c, "switch", 500);
    CU_ASSERT_EQUAL(jint(c.json, "rounds"), 1);
    CU_ASSERT_EQUAL(jint(c.json, "ops"), 1000);
    CU_ASSERT_EQUAL(jint(c.json, "tasks_completed"), 500);
}

static void test_yield(void)
{
    cell_run c;
    RUN(&c, "yield", impl_arg(), "--n=1000");
    check_success(&c, "yield", 1000);
    CU_ASSERT_EQUAL(jint(c.json, "ops"), 2000);
    if (is_green())
        CU_ASSERT_EQUAL(jint(c.json, "tasks_completed"), 2000);
}

static void test_spawn(void)
{
    cell_run c;
    RUN(&c, "spawn", impl_arg(), "--n=30", "--stack-kib=128");
    check_success(&c, "spawn", 30);
    CU_ASSERT_EQUAL(jint(c.json, "ops"), 30);
    CU_ASSERT_EQUAL(jint(c.json, "tasks_completed"), 30);
    CU_ASSERT_EQUAL(jint(c.json, "stack_kib"), 128);
}

static void test_spawn_alive(void)
{
    cell_run c;
    RUN(&c, "spawn-alive", impl_arg(), "--n=30", stack_arg());
    check_success(&c, "spawn-alive", 30);
    CU_ASSERT_EQUAL(jint(c.json, "tasks_completed"), 30);
    /* Every task holds at least a page of stack. */
    CU_ASSERT_TRUE(jint(c.json, "rss_per_task_bytes") >= 2048);
    CU_ASSERT_TRUE(jint(c.json, "rss_per_task_bytes") < 10 * 1024 * 1024);
}

/* --rounds=3 against one round of the same cell: three times the
 * operations and the tasks, the same parameters, rounds 3. */
static void check_rounds(const char *workload, const char *n_arg, long long n)
{
    static cell_run one, three;     /* Static: 24 KiB each. */
    RUN(&one, workload, impl_arg(), n_arg, stack_arg());
    check_success(&one, workload, n);
    RUN(&three, workload, impl_arg(), n_arg, "--rounds=3", stack_arg());
    check_success(&three, workload, n);
    const json_t *a = one.json, *b = three.json;
    CU_ASSERT_EQUAL(jint(a, "rounds"), 1);
    CU_ASSERT_EQUAL(jint(b, "rounds"), 3);
    CU_ASSERT_EQUAL(jint(b, "ops"), 3 * jint(a, "ops"));
    CU_ASSERT_EQUAL(jint(b, "tasks_completed"), 3 * jint(a, "tasks_completed"));
    CU_ASSERT_EQUAL(jint(b, "stack_kib"), jint(a, "stack_kib"));
    CU_ASSERT_EQUAL(jint(b, "cpus"), jint(a, "cpus"));
    /* ns_per_op is the whole wall time over the whole count. */
    double per_op = json_number_value(json_object_get(b, "ns_per_op"));
    double want = (double)jint(b, "wall_ns") / (double)jint(b, "ops");
    CU_ASSERT_DOUBLE_EQUAL(per_op, want, 0.001 + want * 1e-9);
}

static void test_rounds(void)
{
    check_rounds("switch", "--n=200", 200);
    check_rounds("yield", "--n=200", 200);
    check_rounds("spawn", "--n=40", 40);
    /* The ones the test names, in so many words. */
    static cell_run c;
    RUN(&c, "spawn", impl_arg(), "--n=40", "--rounds=3", stack_arg());
    check_success(&c, "spawn", 40);
    CU_ASSERT_EQUAL(jint(c.json, "ops"), 120);
    CU_ASSERT_EQUAL(jint(c.json, "tasks_completed"), 120);
    RUN(&c, "switch", impl_arg(), "--n=200", "--rounds=3");
    check_success(&c, "switch", 200);
    CU_ASSERT_EQUAL(jint(c.json, "ops"), 1200);
    RUN(&c, "yield", impl_arg(), "--n=200", "--rounds=3");
    check_success(&c, "yield", 200);
    CU_ASSERT_EQUAL(jint(c.json, "ops"), 1200);
    /* Every workload, twice in one process: spawn-alive's memory figure is
     * the first round's; joinall without --url starts and stops its own
     * server in each round. */
    RUN(&c, "spawn-alive", impl_arg(), "--n=30", "--rounds=2", stack_arg());
    check_success(&c, "spawn-alive", 30);
    CU_ASSERT_EQUAL(jint(c.json, "ops"), 60);
    CU_ASSERT_EQUAL(jint(c.json, "tasks_completed"), 60);
    CU_ASSERT_TRUE(jint(c.json, "rss_per_task_bytes") >= 0);
    RUN(&c, "joinall", impl_arg(), "--n=5", "--rounds=2", "--delay-ms=1", "--size=1000", stack_arg());
    check_success(&c, "joinall", 5);
    CU_ASSERT_EQUAL(jint(c.json, "ops"), 10);
    CU_ASSERT_EQUAL(jint(c.json, "tasks_completed"), 10);
    CU_ASSERT_EQUAL(jint(c.json, "bytes_received"), 10 * 1000);
    CU_ASSERT_TRUE(jint(c.json, "max_in_flight") >= 1 && jint(c.json, "max_in_flight") <= 5);
    RUN(&c, "pool", impl_arg(), "--n=10", "--concurrency=5", "--rounds=2", url_arg, "--size=1000",
        stack_arg());
    check_success(&c, "pool", 10);
    CU_ASSERT_EQUAL(jint(c.json, "ops"), 20);
    CU_ASSERT_EQUAL(jint(c.json, "bytes_received"), 20 * SERVER_SIZE);
    CU_ASSERT_EQUAL(jint(c.json, "max_in_flight"), 5);
}

static void check_fetches(const cell_run *c, const char *workload, long long n)
{
    check_success(c, workload, n);
    CU_ASSERT_EQUAL(jint(c->json, "ops"), n);
    CU_ASSERT_EQUAL(jint(c->json, "tasks_completed"), n);
    CU_ASSERT_EQUAL(jint(c->json, "bytes_received"), n * SERVER_SIZE);
    CU_ASSERT_EQUAL(jint(c->json, "size"), SERVER_SIZE);
}

static void test_joinall(void)
{
    cell_run c;
    RUN(&c, "joinall", impl_arg(), "--n=20", url_arg, "--size=1000", "--delay-ms=20", stack_arg());
    check_fetches(&c, "joinall", 20);
    CU_ASSERT_EQUAL(jint(c.json, "delay_ms"), SERVER_DELAY_MS);
    /* One hub starts all 20 before the first answer comes 20 ms later;
     * threads may not all be up in time on a slow machine. */
    if (is_green())
        CU_ASSERT_EQUAL(jint(c.json, "max_in_flight"), 20);
    CU_ASSERT_TRUE(jint(c.json, "max_in_flight") >= 1 && jint(c.json, "max_in_flight") <= 20);
}

static void test_pool(void)
{
    cell_run c;
    RUN(&c, "pool", impl_arg(), "--n=20", "--concurrency=5", url_arg, "--size=1000", stack_arg());
    check_fetches(&c, "pool", 20);
    CU_ASSERT_EQUAL(jint(c.json, "concurrency"), 5);
    /* 20 ms per request: all 5 are in flight at once, never a 6th. */
    CU_ASSERT_EQUAL(jint(c.json, "max_in_flight"), 5);
}

static void test_pool_k_above_n(void)
{
    cell_run c;
    RUN(&c, "pool", impl_arg(), "--n=3", "--concurrency=10", url_arg, "--size=1000", stack_arg());
    check_fetches(&c, "pool", 3);
    CU_ASSERT_TRUE(jint(c.json, "max_in_flight") <= 3);
}

static void test_joinall_own_server(void)
{
    /* No --url: the cell starts greenbench-server beside it itself. */
    cell_run c;
    RUN(&c, "joinall", impl_arg(), "--n=10", "--delay-ms=5", "--size=1000", stack_arg());
    check_fetches(&c, "joinall", 10);
    CU_ASSERT_EQUAL(jint(c.json, "delay_ms"), 5);
    const char *note = jstr(c.json, "note");
    CU_ASSERT_PTR_NOT_NULL_FATAL(note);
    /* Its server runs on the last CPU we may use, even though a green cell
     * narrows itself to the first before it starts the server. */
    const char *on = strstr(note, " on CPU ");
    int server_cpu = -1;
    CU_ASSERT_FATAL(on != NULL && sscanf(on, " on CPU %d", &server_cpu) == 1);
    cpu_set_t set;
    CU_ASSERT_FATAL(sched_getaffinity(0, sizeof set, &set) == 0);
    int last = CPU_SETSIZE - 1;
    while (last > 0 && !CPU_ISSET(last, &set))
        last--;
    CU_ASSERT_EQUAL(server_cpu, last);
}

static void test_wrong_size(void)
{
    /* The server sends 1000 bytes; the cell was told 999. */
    cell_run c;
    RUN(&c, "joinall", impl_arg(), "--n=5", url_arg, "--size=999", stack_arg());
    check_failure(&c, 1, "--size=999");
    CU_ASSERT_EQUAL(jint(c.json, "errors"), 5);
}

/* ---- the failures of the protocol ---- */

static void test_n_zero(void)
{
    for (const char *const *w = workloads; *w; w++) {
        cell_run c;
        RUN(&c, *w, impl_arg(), "--n=0", url_arg);
        check_failure(&c, 2, "--n=0");
    }
}

static void test_rounds_zero(void)
{
    cell_run c;
    RUN(&c, "spawn", impl_arg(), "--n=10", "--rounds=0");
    check_failure(&c, 2, "--rounds=0");
    CU_ASSERT_EQUAL(jint(c.json, "rounds"), 0);
    RUN(&c, "spawn", impl_arg(), "--n=10", "--rounds=many");
    check_failure(&c, 2, "--rounds=many");
    CU_ASSERT_TRUE(jis(json_object_get(c.json, "rounds"), J_NULL));
    /* A usage error of the workload's own keeps its words, round or not. */
    RUN(&c, "spawn", impl_arg(), "--n=0", "--rounds=2");
    check_failure(&c, 2, "--n=0");
    CU_ASSERT_EQUAL(jint(c.json, "rounds"), 2);
    CU_ASSERT_PTR_NULL(strstr(jstr(c.json, "error"), "round "));
}

static void test_concurrency_zero(void)
{
    cell_run c;
    RUN(&c, "pool", impl_arg(), "--n=10", "--concurrency=0", url_arg);
    check_failure(&c, 2, "--concurrency=0");
}

/* A port nothing listens on: bound, never listening, so connect is refused. */
static int closed_port(int *fd_out)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof a;
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_FATAL(bind(fd, (struct sockaddr *)&a, sizeof a) == 0);
    CU_ASSERT_FATAL(getsockname(fd, (struct sockaddr *)&a, &len) == 0);
    *fd_out = fd;
    return ntohs(a.sin_port);
}

static void test_closed_port(void)
{
    int fd;
    char url[160];
    snprintf(url, sizeof url, "--url=http://127.0.0.1:%d/", closed_port(&fd));
    cell_run c;
    RUN(&c, "joinall", impl_arg(), "--n=5", url);
    check_failure(&c, 1, "connection refused");
    CU_ASSERT_EQUAL(jint(c.json, "errors"), 5);
    RUN(&c, "pool", impl_arg(), "--n=5", "--concurrency=2", url);
    check_failure(&c, 1, "connection refused");
    close(fd);
}

static void test_bad_url(void)
{
    cell_run c;
    RUN(&c, "joinall", impl_arg(), "--n=5", "--url=ftp://127.0.0.1/");
    check_failure(&c, 2, "http://");
    RUN(&c, "joinall", impl_arg(), "--n=5", "--url=http://127.0.0.1:99999999/");
    check_failure(&c, 2, "port");
    /* A port outside 1-65535 is refused before anything connects, never
     * wrapped around to another one. */
    for (size_t i = 0; i < nbad_port_urls; i++) {
        RUN(&c, "pool", impl_arg(), "--n=5", bad_port_urls[i].arg);
        check_failure(&c, 2, bad_port_urls[i].words);
        CU_ASSERT_TRUE(jis(json_object_get(c.json, "wall_ns"), J_NULL));
    }
}

static void test_too_few_files(void)
{
    /* 2000 connections at once with 100 descriptors: refused at once,
     * naming the limit. */
    cell_run c;
    run_cell_limits(&c, 100, (const char *const[]){ "joinall", impl_arg(), "--n=2000", url_arg, NULL });
    check_failure(&c, 1, "RLIMIT_NOFILE");
}

static void test_usage_errors(void)
{
    cell_run c;
    RUN(&c, "no-such-workload", impl_arg());
    check_failure(&c, 2, "unknown workload");
    RUN(&c, "spawn", impl_arg(), "--no-such-option=1");
    check_failure(&c, 2, "unknown option");
    /* Last on the line, or before a word: still an unknown option. */
    RUN(&c, "spawn", impl_arg(), "--no-such-option");
    check_failure(&c, 2, "unknown option '--no-such-option'");
    RUN(&c, "spawn", impl_arg(), "--no-such-option", "1");
    check_failure(&c, 2, "unknown option '--no-such-option'");
    RUN(&c, "spawn", impl_arg(), "--n");
    check_failure(&c, 2, "--n needs a value");
    RUN(&c, "spawn", impl_arg(), "--n=ten");
    check_failure(&c, 2, "--n=ten");
    RUN(&c, "spawn");
    check_failure(&c, 2, "--impl");
    RUN(&c, "spawn", is_green() ? "--impl=threads" : "--impl=green");
    check_failure(&c, 2, "no --impl=");
}

static void test_backend_mismatch(void)
{
    if (!is_green())
        return;     /* The thread program has no backends to mismatch. */
    const char *pair = cell_name() + strlen("greenbench-cell-");
    const char *other_switch = strncmp(pair, "ucontext-", 9) == 0 ? "--switch=asm" : "--switch=ucontext";
    const char *other_loop = strcmp(strrchr(pair, '-') + 1, "libuv") == 0 ? "--loop=libev" : "--loop=libuv";
    cell_run c;
    RUN(&c, "yield", "--impl=green", other_switch, "--n=10");
    check_failure(&c, 2, "built with");
    RUN(&c, "yield", "--impl=green", other_loop, "--n=10");
    check_failure(&c, 2, "built with");
    /* The right names are accepted. */
    char sw[96], lp[64];
    snprintf(sw, sizeof sw, "--switch=%.*s", (int)(strrchr(pair, '-') - pair), pair);
    snprintf(lp, sizeof lp, "--loop=%s", strrchr(pair, '-') + 1);
    RUN(&c, "yield", "--impl=green", sw, lp, "--n=10");
    check_success(&c, "yield", 10);
}

static void test_help(void)
{
    cell_run c;
    RUN(&c, "--help");
    CU_ASSERT_EQUAL(c.status, 0);
    for (const char *const *w = workloads; *w; w++)
        CU_ASSERT_PTR_NOT_NULL(strstr(c.out, *w));
}

/* ---- suite ---- */

static int suite_init(void)
{
    char path[4096], err[256];
    signal(SIGPIPE, SIG_IGN);
    snprintf(path, sizeof path, "%s/greenbench-server", GREENBENCH_BIN_DIR);
    if (server_child_start(&server, path, SERVER_DELAY_MS, SERVER_SIZE, -1, err, sizeof err) != 0) {
        fprintf(stderr, "test_workloads: %s\n", err);
        return -1;
    }
    snprintf(url_arg, sizeof url_arg, "--url=%s", server.url);
    return 0;
}

static int suite_cleanup(void)
{
    cell_json_free_all();
    return server_child_stop(&server) == 0 ? 0 : -1;
}

static CU_TestInfo workload_tests[] = {
    { "switch", test_switch },
    { "yield", test_yield },
    { "spawn", test_spawn },
    { "spawn_alive", test_spawn_alive },
    { "rounds", test_rounds },
    { "joinall", test_joinall },
    { "pool", test_pool },
    { "pool_k_above_n", test_pool_k_above_n },
    { "joinall_own_server", test_joinall_own_server },
    { "wrong_size", test_wrong_size },
    { "backend_mismatch", test_backend_mismatch },
    CU_TEST_INFO_NULL,
};

static CU_TestInfo protocol_tests[] = {
    { "n_zero", test_n_zero },
    { "rounds_zero", test_rounds_zero },
    { "concurrency_zero", test_concurrency_zero },
    { "closed_port", test_closed_port },
    { "bad_url", test_bad_url },
    { "too_few_files", test_too_few_files },
    { "usage_errors", test_usage_errors },
    { "help", test_help },
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo green_test_suites[] = {
    { .pName = "workloads", .pInitFunc = suite_init, .pCleanupFunc = suite_cleanup, .pTests = workload_tests },
    { .pName = "protocol", .pInitFunc = suite_init, .pCleanupFunc = suite_cleanup, .pTests = protocol_tests },
    CU_SUITE_INFO_NULL,
};
