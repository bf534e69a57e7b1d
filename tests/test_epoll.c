/* tests/test_epoll.c: greenbench-cell-epoll, joinall and pool with no
 * runtime (workloads/common/epoll_fetch.c), three suites.
 *
 * "cell": the program run as the harness runs it (a child process, its JSON
 * object on the last stdout line) against the suite's greenbench-server, at
 * small N: the counts (tasks, bytes, errors, the most in flight, the
 * connections with and without --keepalive), the fields in cell.c's order,
 * --rounds, and the failures (usage errors, a closed port, a wrong --size,
 * too few descriptors).
 *
 * "engine": epoll_fetch.c in this process against a server of this test's
 * own (a thread), for what greenbench-server never does: a request that
 * never gets an answer (the deadline), and a server that closes kept
 * connections, with "Connection: close" or without a word.
 *
 * "tls": both again over https (--tls=1) against a greenbench-server --tls
 * of the suite's: the counts (a kept connection keeps its session), bodies
 * of many records, and a certificate from a CA not trusted (another such
 * server's) failing with its reason. */
#include <CUnit/CUnit.h>

#include "cell_json.h"
#include "child_run.h"
#include "closed_port.h"
#include "epoll_fetch.h"
#include "http/http_tls.h"
#include "server_child.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef GREENBENCH_BIN_DIR
#error "GREENBENCH_BIN_DIR must be defined (tests/CMakeLists.txt)"
#endif

#define CELL "greenbench-cell-epoll"

/* ---- running the cell ---- */

typedef struct cell_run {
    int status;                 /* Exit status; -1: killed or did not run. */
    char out[16384];
    char err[16384];
    char last_line[4096];
    json_t *json;
} cell_run;

/* The suite's server (20 ms delay, 1000-byte bodies) and "--url=<its URL>". */
static server_child server = { .pid = -1 };
static char url_arg[160];

#define SERVER_DELAY_MS 20
#define SERVER_SIZE 1000

static void run_cell_limits(cell_run *c, long nofile, const char *const *args)
{
    char path[4096], why[160];
    snprintf(path, sizeof path, "%s/%s", GREENBENCH_BIN_DIR, CELL);
    memset(c, 0, sizeof *c);
    child_io io = { .nofile = nofile,
                    .out = c->out,
                    .out_size = sizeof c->out,
                    .err = c->err,
                    .err_size = sizeof c->err,
                    .last_line = c->last_line,
                    .last_line_size = sizeof c->last_line };
    c->status = child_run(path, args, &io);
    c->json = cell_json_parse(c->last_line, why, sizeof why);
    /* --help prints no JSON, by design. */
    if (c->json == NULL && strcmp(args[0], "--help") != 0)
        fprintf(stderr, "\n  bad JSON (%s): %s\n  stderr: %s\n", why, c->last_line, c->err);
}

#define RUN(c, ...) run_cell_limits((c), 0, (const char *const[]){ __VA_ARGS__, NULL })

/* Every field of the protocol in cell.c's order (write_result); the line
 * must give them in this order, with no other. */
/* clang-format off */
static const char *const fields[] = {
    "workload", "impl", "switch", "loop", "n", "concurrency", "delay_ms", "size", "stack_kib", "cpus",
    "rounds", "keepalive", "tls", "ares", "hubs", "stacks", "live_bytes", "ok", "error", "wall_ns", "ops", "ns_per_op", "max_rss_kb", "cpu_ns",
    "tasks_completed", "bytes_received", "errors", "max_in_flight", "connections", "rss_per_task_bytes",
    "note", NULL,
};
/* clang-format on */

static void check_field_order(const cell_run *c)
{
    CU_ASSERT_PTR_NOT_NULL_FATAL(c->json);
    int last = -1;
    const char *key;
    for (size_t i = 0; (key = jkey(c->json, i)) != NULL; i++) {
        int at = -1;
        for (int k = 0; fields[k] != NULL && at < 0; k++)
            if (strcmp(fields[k], key) == 0)
                at = k;
        if (at < 0 || at <= last)
            fprintf(stderr, "\n  field '%s' unknown or out of order: %s\n", key, c->last_line);
        CU_ASSERT_TRUE(at > last);
        if (at >= 0)
            last = at;
    }
    /* Every line has the fields up to ok, whatever happened. */
    for (int k = 0; strcmp(fields[k], "ok") != 0; k++)
        CU_ASSERT_PTR_NOT_NULL(json_object_get(c->json, fields[k]));
}

/* A good run of workload with n requests of SERVER_SIZE bytes. */
static void check_success(const cell_run *c, const char *workload, long long n)
{
    if (c->status != 0)
        fprintf(stderr, "\n  %s failed (exit %d): %s\n  stderr: %s\n", workload, c->status, c->last_line,
                c->err);
    CU_ASSERT_EQUAL_FATAL(c->status, 0);
    check_field_order(c);
    const json_t *o = c->json;
    CU_ASSERT_TRUE(json_is_true(json_object_get(o, "ok")));
    CU_ASSERT_PTR_NULL(json_object_get(o, "error"));
    CU_ASSERT_STRING_EQUAL(jstr(o, "workload"), workload);
    CU_ASSERT_STRING_EQUAL(jstr(o, "impl"), "epoll");
    CU_ASSERT_TRUE(jis(json_object_get(o, "switch"), J_NULL));
    CU_ASSERT_TRUE(jis(json_object_get(o, "loop"), J_NULL));
    CU_ASSERT_TRUE(jis(json_object_get(o, "hubs"), J_NULL));
    CU_ASSERT_TRUE(jis(json_object_get(o, "stack_kib"), J_NULL));
    CU_ASSERT_EQUAL(jint(o, "n"), n);
    CU_ASSERT_TRUE(jint(o, "keepalive") == 0 || jint(o, "keepalive") == 1);
    CU_ASSERT_TRUE(jint(o, "tls") == 0 || jint(o, "tls") == 1);
    CU_ASSERT_TRUE(jint(o, "wall_ns") > 0);
    CU_ASSERT_TRUE(jint(o, "cpu_ns") >= 0);
    CU_ASSERT_TRUE(jint(o, "cpus") >= 1);
    CU_ASSERT_TRUE(jint(o, "max_rss_kb") > 0);
    const json_t *per_op = json_object_get(o, "ns_per_op");
    CU_ASSERT_TRUE(json_is_real(per_op) || json_is_integer(per_op));
    long long rounds = jint(o, "rounds");
    CU_ASSERT_EQUAL(jint(o, "ops"), rounds * n);
    CU_ASSERT_EQUAL(jint(o, "tasks_completed"), rounds * n);
    CU_ASSERT_EQUAL(jint(o, "bytes_received"), rounds * n * jint(o, "size"));
    CU_ASSERT_EQUAL(jint(o, "errors"), 0);
    CU_ASSERT_PTR_NULL(json_object_get(o, "rss_per_task_bytes"));
}

/* A failed run: the exit status, ok:false, an error containing words. */
static void check_failure(const cell_run *c, int status, const char *words)
{
    const char *said = c->json != NULL ? jstr(c->json, "error") : NULL;
    if (c->status != status || said == NULL || strstr(said, words) == NULL)
        fprintf(stderr, "\n  expected exit %d and an error with '%s'; got exit %d: %s\n", status, words,
                c->status, c->last_line);
    CU_ASSERT_EQUAL(c->status, status);
    check_field_order(c);
    CU_ASSERT_TRUE(json_is_false(json_object_get(c->json, "ok")));
    CU_ASSERT_PTR_NOT_NULL_FATAL(said);
    CU_ASSERT_PTR_NOT_NULL(strstr(said, words));
}

/* ---- the cell ---- */

static void test_joinall(void)
{
    cell_run c;
    RUN(&c, "joinall", "--impl=epoll", "--n=20", url_arg, "--size=1000", "--delay-ms=20");
    check_success(&c, "joinall", 20);
    CU_ASSERT_EQUAL(jint(c.json, "delay_ms"), SERVER_DELAY_MS);
    CU_ASSERT_EQUAL(jint(c.json, "keepalive"), 0);
    CU_ASSERT_TRUE(jis(json_object_get(c.json, "concurrency"), J_NULL));
    /* One thread starts all 20 before the first answer, 20 ms later. */
    CU_ASSERT_EQUAL(jint(c.json, "max_in_flight"), 20);
    CU_ASSERT_EQUAL(jint(c.json, "connections"), 20);
}

static void test_joinall_keepalive(void)
{
    /* One request per task: kept connections are never reused. */
    cell_run c;
    RUN(&c, "joinall", "--impl=epoll", "--n=12", url_arg, "--size=1000", "--keepalive=1");
    check_success(&c, "joinall", 12);
    CU_ASSERT_EQUAL(jint(c.json, "keepalive"), 1);
    CU_ASSERT_EQUAL(jint(c.json, "max_in_flight"), 12);
    CU_ASSERT_EQUAL(jint(c.json, "connections"), 12);
}

static void test_pool(void)
{
    cell_run c;
    RUN(&c, "pool", "--impl=epoll", "--n=20", "--concurrency=5", url_arg, "--size=1000");
    check_success(&c, "pool", 20);
    CU_ASSERT_EQUAL(jint(c.json, "concurrency"), 5);
    CU_ASSERT_EQUAL(jint(c.json, "keepalive"), 0);
    CU_ASSERT_EQUAL(jint(c.json, "max_in_flight"), 5);
    CU_ASSERT_EQUAL(jint(c.json, "connections"), 20);
}

static void test_pool_keepalive(void)
{
    /* Each of the 5 slots keeps its connection for all its requests. */
    cell_run c;
    RUN(&c, "pool", "--impl=epoll", "--n=20", "--concurrency=5", url_arg, "--size=1000", "--keepalive=1");
    check_success(&c, "pool", 20);
    CU_ASSERT_EQUAL(jint(c.json, "keepalive"), 1);
    CU_ASSERT_EQUAL(jint(c.json, "max_in_flight"), 5);
    CU_ASSERT_EQUAL(jint(c.json, "connections"), 5);
    RUN(&c, "pool", "--impl=epoll", "--n=20", "--concurrency=5", url_arg, "--size=1000", "--keepalive=0");
    check_success(&c, "pool", 20);
    CU_ASSERT_EQUAL(jint(c.json, "keepalive"), 0);
    CU_ASSERT_EQUAL(jint(c.json, "connections"), 20);
}

static void test_pool_k_above_n(void)
{
    cell_run c;
    RUN(&c, "pool", "--impl=epoll", "--n=3", "--concurrency=10", url_arg, "--size=1000");
    check_success(&c, "pool", 3);
    CU_ASSERT_TRUE(jint(c.json, "max_in_flight") >= 1 && jint(c.json, "max_in_flight") <= 3);
    CU_ASSERT_EQUAL(jint(c.json, "connections"), 3);
}

static void test_own_server_large_bodies(void)
{
    /* No --url: the cell starts its own server. Bodies of 100 000 bytes
     * take several reads each. */
    cell_run c;
    RUN(&c, "joinall", "--impl=epoll", "--n=6", "--delay-ms=1", "--size=100000");
    check_success(&c, "joinall", 6);
    CU_ASSERT_EQUAL(jint(c.json, "bytes_received"), 600000);
    CU_ASSERT_PTR_NOT_NULL(strstr(jstr(c.json, "note"), "its own greenbench-server"));
    RUN(&c, "pool", "--impl=epoll", "--n=8", "--concurrency=3", "--delay-ms=1", "--size=100000",
        "--keepalive=1");
    check_success(&c, "pool", 8);
    CU_ASSERT_EQUAL(jint(c.json, "connections"), 3);
}

static void test_rounds(void)
{
    static cell_run one, two;   /* Static: 36 KiB each. */
    RUN(&one, "joinall", "--impl=epoll", "--n=5", url_arg, "--size=1000");
    check_success(&one, "joinall", 5);
    RUN(&two, "joinall", "--impl=epoll", "--n=5", url_arg, "--size=1000", "--rounds=2");
    check_success(&two, "joinall", 5);
    CU_ASSERT_EQUAL(jint(two.json, "rounds"), 2);
    CU_ASSERT_EQUAL(jint(two.json, "ops"), 2 * jint(one.json, "ops"));
    CU_ASSERT_EQUAL(jint(two.json, "tasks_completed"), 10);
    CU_ASSERT_EQUAL(jint(two.json, "bytes_received"), 10 * SERVER_SIZE);
    CU_ASSERT_EQUAL(jint(two.json, "connections"), 10);
    CU_ASSERT_EQUAL(jint(two.json, "max_in_flight"), 5);

    RUN(&one, "pool", "--impl=epoll", "--n=10", "--concurrency=5", url_arg, "--size=1000", "--keepalive=1");
    check_success(&one, "pool", 10);
    RUN(&two, "pool", "--impl=epoll", "--n=10", "--concurrency=5", url_arg, "--size=1000", "--keepalive=1",
        "--rounds=2");
    check_success(&two, "pool", 10);
    CU_ASSERT_EQUAL(jint(two.json, "ops"), 20);
    CU_ASSERT_EQUAL(jint(two.json, "tasks_completed"), 2 * jint(one.json, "tasks_completed"));
    CU_ASSERT_EQUAL(jint(two.json, "bytes_received"), 2 * jint(one.json, "bytes_received"));
    CU_ASSERT_EQUAL(jint(two.json, "connections"), 2 * jint(one.json, "connections"));
    CU_ASSERT_EQUAL(jint(two.json, "connections"), 10);
    CU_ASSERT_EQUAL(jint(two.json, "max_in_flight"), 5);
}

static void test_not_applicable(void)
{
    /* --hubs, --stack-kib and --switch mean nothing here: a note on stderr
     * (once, whatever the rounds), null in the line, and the run goes on. */
    cell_run c;
    RUN(&c, "pool", "--impl=epoll", "--n=6", "--concurrency=2", url_arg, "--size=1000", "--hubs=4",
        "--stack-kib=64", "--switch=asm", "--rounds=2");
    check_success(&c, "pool", 6);
    CU_ASSERT_TRUE(jis(json_object_get(c.json, "hubs"), J_NULL));
    CU_ASSERT_TRUE(jis(json_object_get(c.json, "stack_kib"), J_NULL));
    const char *hubs = strstr(c.err, "--hubs=4 does not apply");
    CU_ASSERT_PTR_NOT_NULL(hubs);
    if (hubs != NULL)
        CU_ASSERT_PTR_NULL(strstr(hubs + 1, "--hubs=4 does not apply"));
    CU_ASSERT_PTR_NOT_NULL(strstr(c.err, "--stack-kib=64 does not apply"));
    CU_ASSERT_PTR_NOT_NULL(strstr(c.err, "--switch=asm does not apply"));
}

static void test_wrong_size(void)
{
    cell_run c;
    RUN(&c, "joinall", "--impl=epoll", "--n=5", url_arg, "--size=999");
    check_failure(&c, 1, "--size=999");
    CU_ASSERT_EQUAL(jint(c.json, "errors"), 5);
    CU_ASSERT_EQUAL(jint(c.json, "tasks_completed"), 0);
}

static void test_closed_port(void)
{
    int fd;
    char url[160];
    snprintf(url, sizeof url, "--url=http://127.0.0.1:%d/", closed_port(&fd));
    cell_run c;
    RUN(&c, "joinall", "--impl=epoll", "--n=5", url);
    check_failure(&c, 1, "connection refused");
    CU_ASSERT_EQUAL(jint(c.json, "errors"), 5);
    RUN(&c, "pool", "--impl=epoll", "--n=5", "--concurrency=2", url, "--keepalive=1");
    check_failure(&c, 1, "connection refused");
    close(fd);
}

static void test_usage_errors(void)
{
    cell_run c;
    RUN(&c, "joinall", "--impl=epoll", "--n=0", url_arg);
    check_failure(&c, 2, "--n=0");
    RUN(&c, "pool", "--impl=epoll", "--n=0", url_arg);
    check_failure(&c, 2, "--n=0");
    RUN(&c, "pool", "--impl=epoll", "--n=10", "--concurrency=0", url_arg);
    check_failure(&c, 2, "--concurrency=0");
    RUN(&c, "pool", "--impl=epoll", "--n=10", "--keepalive=2", url_arg);
    check_failure(&c, 2, "--keepalive=2");
    RUN(&c, "pool", "--impl=epoll", "--n=10", "--cpus=0", url_arg);
    check_failure(&c, 2, "--cpus=0: a cell runs on at least one CPU");
    RUN(&c, "joinall", "--impl=epoll", "--n=5", "--url=ftp://127.0.0.1/");
    check_failure(&c, 2, "http://");
    for (size_t i = 0; i < nbad_port_urls; i++) {
        RUN(&c, "pool", "--impl=epoll", "--n=5", bad_port_urls[i].arg);
        check_failure(&c, 2, bad_port_urls[i].words);
    }
    /* What this program does not have. */
    RUN(&c, "spawn", "--impl=epoll", "--n=5");
    check_failure(&c, 2, "unknown workload");
    RUN(&c, "joinall", "--impl=green", "--n=5", url_arg);
    check_failure(&c, 2, "no --impl=green");
}

static void test_too_few_files(void)
{
    cell_run c;
    run_cell_limits(&c, 100, (const char *const[]){ "joinall", "--impl=epoll", "--n=2000", url_arg, NULL });
    check_failure(&c, 1, "RLIMIT_NOFILE");
}

static void test_help(void)
{
    cell_run c;
    RUN(&c, "--help");
    CU_ASSERT_EQUAL(c.status, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(c.out, "joinall      --impl=epoll"));
    CU_ASSERT_PTR_NOT_NULL(strstr(c.out, "pool         --impl=epoll"));
}

/* ---- the engine, against a server of our own ---- */

enum mode {
    SILENT,                     /* Read the request, never answer. */
    CLOSE_SAYING,               /* Answer with "Connection: close", then close. */
    CLOSE_SILENTLY              /* Answer with "Connection: keep-alive", then close anyway. */
};

#define OWN_SIZE 100

static struct {
    int listen_fd;
    enum mode mode;
    SSL_CTX *tls;               /* Set: https, each connection's handshake first (SILENT: none). */
    atomic_bool stop;
    atomic_long accepted, answered;
    pthread_t thread;
    char url[64];
} own = { .listen_fd = -1 };

static ssize_t own_recv(SSL *ssl, int fd, char *buf, size_t len)
{
    return ssl != NULL ? SSL_read(ssl, buf, (int)len) : recv(fd, buf, len, 0);
}

/* One connection at a time, each to its end: enough for these tests, whose
 * connections serve one request each; SILENT ones are held until stop. */
static void *own_server(void *arg)
{
    (void)arg;
    int held[64], nheld = 0;
    while (!atomic_load(&own.stop)) {
        struct pollfd pfd = { .fd = own.listen_fd, .events = POLLIN };
        if (poll(&pfd, 1, 20) <= 0)
            continue;
        int fd = accept4(own.listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
            continue;
        atomic_fetch_add(&own.accepted, 1);
        SSL *ssl = NULL;
        if (own.tls != NULL && own.mode != SILENT) {
            ssl = SSL_new(own.tls);
            if (ssl == NULL || SSL_set_fd(ssl, fd) != 1 || SSL_accept(ssl) != 1) {
                SSL_free(ssl);
                close(fd);
                continue;
            }
        }
        char in[2048];
        size_t len = 0;
        while (len < sizeof in - 1 && !(own.tls != NULL && own.mode == SILENT)) {
            ssize_t got = own_recv(ssl, fd, in + len, sizeof in - 1 - len);
            if (got <= 0)
                break;
            len += (size_t)got;
            in[len] = '\0';
            if (strstr(in, "\r\n\r\n") != NULL)
                break;
        }
        if (own.mode == SILENT) {
            if (nheld < 64)
                held[nheld++] = fd;
            else
                close(fd);
            continue;
        }
        char out[512];
        int n =
            snprintf(out, sizeof out, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: %s\r\n\r\n%0*d",
                     OWN_SIZE, own.mode == CLOSE_SAYING ? "close" : "keep-alive", OWN_SIZE, 0);
        if ((ssl != NULL ? SSL_write(ssl, out, n) : send(fd, out, (size_t)n, MSG_NOSIGNAL)) == n)
            atomic_fetch_add(&own.answered, 1);
        SSL_free(ssl); /* No close_notify: closed "without a word" in TLS too. */
        close(fd);
    }
    for (int i = 0; i < nheld; i++)
        close(held[i]);
    return NULL;
}

static void own_start(enum mode mode)
{
    own.listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    CU_ASSERT_FATAL(own.listen_fd >= 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t alen = sizeof a;
    CU_ASSERT_FATAL(bind(own.listen_fd, (struct sockaddr *)&a, sizeof a) == 0);
    CU_ASSERT_FATAL(listen(own.listen_fd, 64) == 0);
    CU_ASSERT_FATAL(getsockname(own.listen_fd, (struct sockaddr *)&a, &alen) == 0);
    snprintf(own.url, sizeof own.url, "%s://127.0.0.1:%d/", own.tls != NULL ? "https" : "http",
             ntohs(a.sin_port));
    own.mode = mode;
    atomic_store(&own.stop, false);
    atomic_store(&own.accepted, 0);
    atomic_store(&own.answered, 0);
    CU_ASSERT_FATAL(pthread_create(&own.thread, NULL, own_server, NULL) == 0);
}

static void own_stop(void)
{
    atomic_store(&own.stop, true);
    pthread_join(own.thread, NULL);
    close(own.listen_fd);
    own.listen_fd = -1;
    own.tls = NULL;
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Run n requests, k at once, to url with the given timeout. */
static int engine_run(const char *url, double timeout, long long n, long long k, bool keepalive,
                      fetch_task *tasks, epoll_fetch_counts *counts)
{
    http_target t;
    char err[256];
    CU_ASSERT_FATAL(http_target_init(&t, url, OWN_SIZE, timeout, err, sizeof err) == 0);
    epoll_fetch *e;
    CU_ASSERT_FATAL(epoll_fetch_new(&e, &t, k, keepalive) == 0);
    for (long long i = 0; i < n; i++)
        tasks[i] = (fetch_task){ .err = FETCH_ENOTRUN };
    int rc = epoll_fetch_run(e, tasks, n, k, counts);
    epoll_fetch_free(e);
    return rc;
}

static void test_engine_deadline(void)
{
    /* Nothing answers: every request ends at its deadline, not before,
     * and the run does not wait much past it. */
    own_start(SILENT);
    fetch_task tasks[3];
    epoll_fetch_counts counts;
    double t0 = mono_s();
    CU_ASSERT_EQUAL(engine_run(own.url, 0.3, 3, 3, false, tasks, &counts), 0);
    double took = mono_s() - t0;
    own_stop();
    CU_ASSERT_TRUE(took >= 0.3);
    CU_ASSERT_TRUE(took < 2.0);
    for (int i = 0; i < 3; i++) {
        CU_ASSERT_EQUAL(tasks[i].err, -ETIMEDOUT);
        CU_ASSERT_EQUAL(tasks[i].res.stage, HTTP_AT_HEAD);
        CU_ASSERT_EQUAL(tasks[i].res.body_bytes, 0);
    }
    CU_ASSERT_EQUAL(counts.peak, 3);
    CU_ASSERT_EQUAL(counts.connections, 3);
}

static void check_all_good(const fetch_task *tasks, long long n)
{
    for (long long i = 0; i < n; i++) {
        if (tasks[i].err != 0)
            fprintf(stderr, "\n  task %lld: %s\n", i, http_strerror(tasks[i].err));
        CU_ASSERT_EQUAL(tasks[i].err, 0);
        CU_ASSERT_EQUAL(tasks[i].res.status, 200);
        CU_ASSERT_EQUAL(tasks[i].res.body_bytes, OWN_SIZE);
        CU_ASSERT_EQUAL(tasks[i].res.stage, HTTP_AT_BODY);
    }
}

static void test_engine_server_says_close(void)
{
    /* Keep-alive asked, "Connection: close" answered: a new connection
     * for each request, no request lost. */
    own_start(CLOSE_SAYING);
    fetch_task tasks[8];
    epoll_fetch_counts counts;
    CU_ASSERT_EQUAL(engine_run(own.url, 10.0, 8, 2, true, tasks, &counts), 0);
    own_stop();
    check_all_good(tasks, 8);
    CU_ASSERT_EQUAL(counts.connections, 8);
    CU_ASSERT_EQUAL(counts.reconnects, 0);
    CU_ASSERT_EQUAL(atomic_load(&own.accepted), 8);
    CU_ASSERT_TRUE(counts.peak >= 1 && counts.peak <= 2);
}

static void test_engine_server_closes_silently(void)
{
    /* Keep-alive promised, the connection closed anyway: the next request
     * on it fails before any answer and goes again on a new connection. */
    own_start(CLOSE_SILENTLY);
    fetch_task tasks[8];
    epoll_fetch_counts counts;
    CU_ASSERT_EQUAL(engine_run(own.url, 10.0, 8, 2, true, tasks, &counts), 0);
    own_stop();
    check_all_good(tasks, 8);
    CU_ASSERT_EQUAL(counts.connections, 8);
    CU_ASSERT_EQUAL(counts.reconnects, 8 - 2);     /* All but each slot's first. */
    CU_ASSERT_EQUAL(atomic_load(&own.answered), 8);
}

static void test_engine_refused(void)
{
    int fd;
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/", closed_port(&fd));
    fetch_task tasks[4];
    epoll_fetch_counts counts;
    CU_ASSERT_EQUAL(engine_run(url, 10.0, 4, 2, false, tasks, &counts), 0);
    close(fd);
    for (int i = 0; i < 4; i++) {
        CU_ASSERT_EQUAL(tasks[i].err, -ECONNREFUSED);
        CU_ASSERT_EQUAL(tasks[i].res.stage, HTTP_AT_CONNECT);
    }
    CU_ASSERT_EQUAL(counts.connections, 0);
}

/* ---- over TLS ---- */

/* The suite's https server (OWN_SIZE bodies, so that the engine's checks
 * hold too) and one more, whose CA the first's certificate does not chain
 * to. */
static server_child tls_server = { .pid = -1 }, other_server = { .pid = -1 };
static char tls_url_arg[160], tls_cacert_arg[4200], other_cacert_arg[4200];

static void test_tls_cell(void)
{
    cell_run c;
    RUN(&c, "joinall", "--impl=epoll", "--n=20", "--tls=1", tls_url_arg, tls_cacert_arg, "--size=100");
    check_success(&c, "joinall", 20);
    CU_ASSERT_EQUAL(jint(c.json, "tls"), 1);
    CU_ASSERT_EQUAL(jint(c.json, "max_in_flight"), 20);
    CU_ASSERT_EQUAL(jint(c.json, "connections"), 20);
    /* One handshake per slot with keep-alive, one per request without. */
    RUN(&c, "pool", "--impl=epoll", "--n=20", "--concurrency=5", "--tls=1", tls_url_arg, tls_cacert_arg,
        "--size=100", "--keepalive=1");
    check_success(&c, "pool", 20);
    CU_ASSERT_EQUAL(jint(c.json, "max_in_flight"), 5);
    CU_ASSERT_EQUAL(jint(c.json, "connections"), 5);
    RUN(&c, "pool", "--impl=epoll", "--n=20", "--concurrency=5", "--tls=1", tls_url_arg, tls_cacert_arg,
        "--size=100", "--keepalive=0");
    check_success(&c, "pool", 20);
    CU_ASSERT_EQUAL(jint(c.json, "connections"), 20);
}

static void test_tls_cell_own_server_large_bodies(void)
{
    /* No --url: its own server --tls, and its CA. 100 000 bytes are
     * several records, more than one read each. */
    cell_run c;
    RUN(&c, "pool", "--impl=epoll", "--n=8", "--concurrency=3", "--tls=1", "--delay-ms=1", "--size=100000",
        "--keepalive=1");
    check_success(&c, "pool", 8);
    CU_ASSERT_EQUAL(jint(c.json, "bytes_received"), 800000);
    CU_ASSERT_EQUAL(jint(c.json, "connections"), 3);
    CU_ASSERT_PTR_NOT_NULL(strstr(jstr(c.json, "note"), "greenbench-server --tls"));
}

static void test_tls_cell_unknown_ca(void)
{
    cell_run c;
    RUN(&c, "joinall", "--impl=epoll", "--n=5", "--tls=1", tls_url_arg, other_cacert_arg, "--size=100");
    check_failure(&c, 1, "TLS verification: unknown certificate authority");
    CU_ASSERT_EQUAL(jint(c.json, "errors"), 5);
    CU_ASSERT_EQUAL(jint(c.json, "connections"), 0);
}

/* The engine in this process: OpenSSL's context is the process's, made
 * here with ca trusted. */
static void engine_tls_init(const char *ca)
{
    char err[256];
    if (http_tls_init(ca, err, sizeof err) != 0)
        fprintf(stderr, "\n  %s\n", err);
    CU_ASSERT_EQUAL_FATAL(http_tls_init(ca, err, sizeof err), 0);
}

static void test_tls_engine(void)
{
    static fetch_task tasks[20];
    epoll_fetch_counts counts;
    engine_tls_init(tls_server.ca);
    CU_ASSERT_EQUAL(engine_run(tls_server.url, 10.0, 20, 20, false, tasks, &counts), 0);
    check_all_good(tasks, 20);
    CU_ASSERT_EQUAL(counts.connections, 20);
    CU_ASSERT_EQUAL(engine_run(tls_server.url, 10.0, 20, 4, true, tasks, &counts), 0);
    check_all_good(tasks, 20);
    CU_ASSERT_EQUAL(counts.connections, 4);
    CU_ASSERT_EQUAL(counts.reconnects, 0);
    /* A name rather than an address: SNI, and the certificate's DNS name. */
    char url[96];
    snprintf(url, sizeof url, "https://localhost:%s", strrchr(tls_server.url, ':') + 1);
    CU_ASSERT_EQUAL(engine_run(url, 10.0, 4, 2, true, tasks, &counts), 0);
    check_all_good(tasks, 4);
    CU_ASSERT_EQUAL(counts.connections, 2);
    http_tls_fini();
}

static void test_tls_engine_unknown_ca(void)
{
    fetch_task tasks[4];
    epoll_fetch_counts counts;
    engine_tls_init(other_server.ca);
    CU_ASSERT_EQUAL(engine_run(tls_server.url, 10.0, 4, 2, true, tasks, &counts), 0);
    http_tls_fini();
    for (int i = 0; i < 4; i++) {
        CU_ASSERT_EQUAL(tasks[i].err, HTTP_ETLS_UNKNOWN_CA);
        CU_ASSERT_EQUAL(tasks[i].res.stage, HTTP_AT_CONNECT);
    }
    CU_ASSERT_EQUAL(counts.connections, 0);
}

/* The suite's server's certificate and key (beside its CA) for our own
 * server: an https one that closes kept connections, or never answers. */
static SSL_CTX *own_tls_ctx(void)
{
    char dir[4096], cert[4200], key[4200];
    snprintf(dir, sizeof dir, "%s", tls_server.ca);
    *strrchr(dir, '/') = '\0';
    snprintf(cert, sizeof cert, "%s/leaf.pem", dir);
    snprintf(key, sizeof key, "%s/leaf.key", dir);
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (ctx != NULL && (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
                        SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1)) {
        SSL_CTX_free(ctx);
        ctx = NULL;
    }
    return ctx;
}

static void test_tls_engine_server_closes_silently(void)
{
    /* The reconnect-once rule over TLS: the next request on a kept
     * connection meets a truncated stream or a reset, and goes again. */
    SSL_CTX *ctx = own_tls_ctx();
    CU_ASSERT_PTR_NOT_NULL_FATAL(ctx);
    engine_tls_init(tls_server.ca);
    own.tls = ctx;
    own_start(CLOSE_SILENTLY);
    fetch_task tasks[8];
    epoll_fetch_counts counts;
    CU_ASSERT_EQUAL(engine_run(own.url, 10.0, 8, 2, true, tasks, &counts), 0);
    own_stop();
    http_tls_fini();
    SSL_CTX_free(ctx);
    check_all_good(tasks, 8);
    CU_ASSERT_EQUAL(counts.connections, 8);
    CU_ASSERT_EQUAL(counts.reconnects, 8 - 2);
    CU_ASSERT_EQUAL(atomic_load(&own.answered), 8);
}

static void test_tls_engine_handshake_deadline(void)
{
    /* A server that never answers the ClientHello: the deadline ends the
     * request while connecting, and no connection counts. */
    SSL_CTX *ctx = own_tls_ctx();
    CU_ASSERT_PTR_NOT_NULL_FATAL(ctx);
    engine_tls_init(tls_server.ca);
    own.tls = ctx;
    own_start(SILENT);
    fetch_task tasks[3];
    epoll_fetch_counts counts;
    double t0 = mono_s();
    CU_ASSERT_EQUAL(engine_run(own.url, 0.3, 3, 3, false, tasks, &counts), 0);
    double took = mono_s() - t0;
    own_stop();
    http_tls_fini();
    SSL_CTX_free(ctx);
    CU_ASSERT_TRUE(took >= 0.3 && took < 2.0);
    for (int i = 0; i < 3; i++) {
        CU_ASSERT_EQUAL(tasks[i].err, -ETIMEDOUT);
        CU_ASSERT_EQUAL(tasks[i].res.stage, HTTP_AT_CONNECT);
    }
    CU_ASSERT_EQUAL(counts.connections, 0);
}

/* ---- suites ---- */

static int cell_init(void)
{
    char path[4096], err[256];
    signal(SIGPIPE, SIG_IGN);
    snprintf(path, sizeof path, "%s/greenbench-server", GREENBENCH_BIN_DIR);
    if (server_child_start(&server, path, SERVER_DELAY_MS, SERVER_SIZE, -1, false, err, sizeof err) != 0) {
        fprintf(stderr, "test_epoll: %s\n", err);
        return -1;
    }
    snprintf(url_arg, sizeof url_arg, "--url=%s", server.url);
    return 0;
}

static int cell_cleanup(void)
{
    cell_json_free_all();
    return server_child_stop(&server) == 0 ? 0 : -1;
}

static int tls_init(void)
{
    char path[4096], err[256];
    signal(SIGPIPE, SIG_IGN);
    snprintf(path, sizeof path, "%s/greenbench-server", GREENBENCH_BIN_DIR);
    if (server_child_start(&tls_server, path, SERVER_DELAY_MS, OWN_SIZE, -1, true, err, sizeof err) != 0 ||
        server_child_start(&other_server, path, -1, -1, -1, true, err, sizeof err) != 0) {
        fprintf(stderr, "test_epoll: %s\n", err);
        if (tls_server.pid > 0)
            server_child_stop(&tls_server);
        return -1;
    }
    snprintf(tls_url_arg, sizeof tls_url_arg, "--url=%s", tls_server.url);
    snprintf(tls_cacert_arg, sizeof tls_cacert_arg, "--cacert=%s", tls_server.ca);
    snprintf(other_cacert_arg, sizeof other_cacert_arg, "--cacert=%s", other_server.ca);
    return 0;
}

static int tls_cleanup(void)
{
    cell_json_free_all();
    int a = server_child_stop(&tls_server), b = server_child_stop(&other_server);
    return a == 0 && b == 0 ? 0 : -1;
}

static int engine_init(void)
{
    signal(SIGPIPE, SIG_IGN);
    return 0;
}

static CU_TestInfo cell_tests[] = {
    { "joinall", test_joinall },
    { "joinall_keepalive", test_joinall_keepalive },
    { "pool", test_pool },
    { "pool_keepalive", test_pool_keepalive },
    { "pool_k_above_n", test_pool_k_above_n },
    { "own_server_large_bodies", test_own_server_large_bodies },
    { "rounds", test_rounds },
    { "not_applicable", test_not_applicable },
    { "wrong_size", test_wrong_size },
    { "closed_port", test_closed_port },
    { "usage_errors", test_usage_errors },
    { "too_few_files", test_too_few_files },
    { "help", test_help },
    CU_TEST_INFO_NULL,
};

static CU_TestInfo engine_tests[] = {
    { "deadline", test_engine_deadline },
    { "server_says_close", test_engine_server_says_close },
    { "server_closes_silently", test_engine_server_closes_silently },
    { "refused", test_engine_refused },
    CU_TEST_INFO_NULL,
};

static CU_TestInfo tls_tests[] = {
    { "cell", test_tls_cell },
    { "cell_own_server_large_bodies", test_tls_cell_own_server_large_bodies },
    { "cell_unknown_ca", test_tls_cell_unknown_ca },
    { "engine", test_tls_engine },
    { "engine_unknown_ca", test_tls_engine_unknown_ca },
    { "engine_server_closes_silently", test_tls_engine_server_closes_silently },
    { "engine_handshake_deadline", test_tls_engine_handshake_deadline },
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo green_test_suites[] = {
    { .pName = "cell", .pInitFunc = cell_init, .pCleanupFunc = cell_cleanup, .pTests = cell_tests },
    { .pName = "engine", .pInitFunc = engine_init, .pTests = engine_tests },
    { .pName = "tls", .pInitFunc = tls_init, .pCleanupFunc = tls_cleanup, .pTests = tls_tests },
    CU_SUITE_INFO_NULL,
};
