/* tests/test_server.c: greenbench-server, run as a child process as the
 * harness runs it: its first stdout line, GET and HEAD, the per-request
 * query, delays of mixed lengths, keep-alive and close, pipelining, bad
 * requests, large bodies, a clean exit on SIGTERM and SIGINT (saying how
 * late its delayed answers left), curl when it is installed, and 1 000
 * concurrent connections whose delays must all hold within a stated
 * tolerance. The threads suite: --threads 2 started through the harness
 * (harness/server.c), both loops serving, the window endpoint's counts
 * (GET /__greenbench/window, read with the harness's gb_server_window),
 * keep-alive, lateness, the lines at exit, bad --threads and --cpus, and
 * the harness's servers keyed by threads and CPUs. Also the HTTP client's
 * parser (workloads/common/http/http.c) on responses split at every byte. */
#include <CUnit/CUnit.h>

#include "http/http.h"
#include "results.h"            /* harness/results.h: gb_server_window_late */
#include "server.h"             /* harness/server.h: the harness's side of the server */
#include "server_child.h"
#include "run_program.h"

#include <jansson.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef GREENBENCH_BIN_DIR
#error "GREENBENCH_BIN_DIR must be defined (tests/CMakeLists.txt)"
#endif

#define SIZE 1000

extern char **environ;

static server_child server = { .pid = -1 };
static char server_path[4096];

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* GET path from the server with the cells' blocking client. */
static int fetch(const char *path, long long expect_size, http_result *res)
{
    char url[256], err[256];
    snprintf(url, sizeof url, "%.*s%s", (int)strlen(server.url) - 1, server.url, path);
    http_target t;
    if (http_target_init(&t, url, expect_size, 10.0, err, sizeof err) != 0) {
        fprintf(stderr, "\n  %s\n", err);
        return -1;
    }
    static char buf[HTTP_READ_CHUNK];
    return http_fetch(&http_io_blocking, &t, buf, sizeof buf, res);
}

/* Connect a blocking socket to the server at url, 5 s timeouts. */
static int connect_to(const char *url)
{
    char err[256];
    http_target t;
    CU_ASSERT_FATAL(http_target_init(&t, url, -1, 5.0, err, sizeof err) == 0);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    CU_ASSERT_FATAL(fd >= 0);
    struct timeval tv = { .tv_sec = 5 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    CU_ASSERT_FATAL(connect(fd, (struct sockaddr *)&t.addr, t.addrlen) == 0);
    return fd;
}

static int connect_server(void)
{
    return connect_to(server.url);
}

/* Send request on a new connection to url and read until the server
 * closes it. Returns the bytes read (into out, NUL-terminated), -1 on a
 * timeout. */
static ssize_t exchange_to_close_at(const char *url, const char *request, char *out, size_t len)
{
    int fd = connect_to(url);
    CU_ASSERT_FATAL(send(fd, request, strlen(request), MSG_NOSIGNAL) == (ssize_t)strlen(request));
    size_t got = 0;
    for (;;) {
        ssize_t n = recv(fd, out + got, len - 1 - got, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            close(fd);
            return -1;
        }
        if (n == 0)
            break;
        got += (size_t)n;
        if (got == len - 1)
            break;
    }
    out[got] = '\0';
    close(fd);
    return (ssize_t)got;
}

/* The same with the server suite's server. */
static ssize_t exchange_to_close(const char *request, char *out, size_t len)
{
    return exchange_to_close_at(server.url, request, out, len);
}

/* Read one whole response from fd. Returns its body length, or a negative code. */
static long long read_response(int fd, int *status)
{
    http_parser p;
    http_parser_init(&p);
    char buf[4096];
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n < 0)
            return -errno;
        int r = n == 0 ? http_parser_eof(&p) : http_parser_feed(&p, buf, (size_t)n);
        if (r < 0)
            return r;
        if (r == 1)
            break;
    }
    *status = p.status;
    return p.body_bytes;
}

static bool starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* ---- tests ---- */

static void test_first_line(void)
{
    CU_ASSERT_EQUAL(strncmp(server.url, "http://127.0.0.1:", 17), 0);
    CU_ASSERT_EQUAL(server.url[strlen(server.url) - 1], '/');
    CU_ASSERT_TRUE(atoi(server.url + 17) > 0);
}

static void test_get(void)
{
    http_result res;
    CU_ASSERT_EQUAL(fetch("/", SIZE, &res), 0);
    CU_ASSERT_EQUAL(res.status, 200);
    CU_ASSERT_EQUAL(res.body_bytes, SIZE);
    CU_ASSERT_EQUAL(fetch("/any/path/at/all", SIZE, &res), 0);
}

static void test_query_overrides(void)
{
    http_result res;
    double t0 = now_s();
    CU_ASSERT_EQUAL(fetch("/?delay_ms=100&size=5", 5, &res), 0);
    double took = now_s() - t0;
    CU_ASSERT_EQUAL(res.body_bytes, 5);
    CU_ASSERT_TRUE(took >= 0.099);
    CU_ASSERT_TRUE(took < 0.600);
    CU_ASSERT_EQUAL(fetch("/?size=0", 0, &res), 0);
    CU_ASSERT_EQUAL(res.body_bytes, 0);
}

static void test_large_body(void)
{
    /* More than the socket buffers take at once: the server's write path
     * waits for the client to drain. */
    http_result res;
    CU_ASSERT_EQUAL(fetch("/?size=20000000", 20000000, &res), 0);
    CU_ASSERT_EQUAL(res.body_bytes, 20000000);
}

static void test_size_mismatch_detected(void)
{
    http_result res;
    CU_ASSERT_EQUAL(fetch("/", SIZE + 1, &res), HTTP_ESIZE);
}

static void test_head(void)
{
    char out[4096];
    ssize_t n = exchange_to_close("HEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", out, sizeof out);
    CU_ASSERT_TRUE_FATAL(n > 0);
    CU_ASSERT_EQUAL(strncmp(out, "HTTP/1.1 200", 12), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "Content-Length: 1000\r\n"));
    /* No body: the response ends with its blank line. */
    CU_ASSERT_EQUAL(strstr(out, "\r\n\r\n") + 4, out + n);
}

static void test_bad_requests(void)
{
    char out[4096];
    CU_ASSERT_TRUE(exchange_to_close("POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc", out, sizeof out) > 0);
    CU_ASSERT_EQUAL(strncmp(out, "HTTP/1.1 405", 12), 0);
    CU_ASSERT_TRUE(exchange_to_close("garbage\r\n\r\n", out, sizeof out) > 0);
    CU_ASSERT_EQUAL(strncmp(out, "HTTP/1.1 400", 12), 0);
    /* No blank line to wait for: a TLS ClientHello's first bytes are
     * answered at once, and say why. */
    CU_ASSERT_TRUE(exchange_to_close("\x16\x03\x01\x02\x00\x01", out, sizeof out) > 0);
    CU_ASSERT_EQUAL(strncmp(out, "HTTP/1.1 400", 12), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "a TLS handshake: this server speaks plain HTTP"));
    CU_ASSERT_TRUE(exchange_to_close("GET /?delay_ms=soon HTTP/1.1\r\n\r\n", out, sizeof out) > 0);
    CU_ASSERT_EQUAL(strncmp(out, "HTTP/1.1 400", 12), 0);
    /* A head larger than the server takes: 431, then the connection closes. */
    static char big[20000 + 64];
    memset(big, 'a', sizeof big);
    memcpy(big, "GET / HTTP/1.1\r\nX-Big: ", 23);
    big[sizeof big - 1] = '\0';
    CU_ASSERT_TRUE(exchange_to_close(big, out, sizeof out) > 0);
    CU_ASSERT_EQUAL(strncmp(out, "HTTP/1.1 431", 12), 0);
}

static void test_keep_alive(void)
{
    /* HTTP/1.1 keeps the connection: three requests on one. */
    int fd = connect_server(), status = 0;
    const char *req = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    for (int i = 0; i < 3; i++) {
        CU_ASSERT_EQUAL(send(fd, req, strlen(req), MSG_NOSIGNAL), (ssize_t)strlen(req));
        CU_ASSERT_EQUAL(read_response(fd, &status), SIZE);
        CU_ASSERT_EQUAL(status, 200);
    }
    close(fd);
}

static void test_pipelining_and_close(void)
{
    /* Two requests in one write, the second asking to close: two answers
     * in order, then the server closes. */
    char out[8192];
    ssize_t n = exchange_to_close("GET /?size=7 HTTP/1.1\r\nHost: x\r\n\r\n"
                                  "GET /?size=9 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                                  out, sizeof out);
    CU_ASSERT_TRUE_FATAL(n > 0);
    CU_ASSERT_EQUAL(count_of(out, "HTTP/1.1 200 OK"), 2);
    char *second = strstr(out + 1, "HTTP/1.1 200");
    CU_ASSERT_PTR_NOT_NULL_FATAL(second);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "Content-Length: 7\r\nConnection: keep-alive"));
    CU_ASSERT_PTR_NOT_NULL(strstr(second, "Content-Length: 9\r\nConnection: close"));
}

/* Issue 10, item 10: a head ends at its first blank line, LF or CRLF. An
 * LF-only request pipelined before a CRLF one was parsed up to the CRLF
 * one's blank line, and the CRLF request was never answered. */
static void test_pipelining_lf_endings(void)
{
    char out[8192];
    ssize_t n = exchange_to_close("GET /?size=3 HTTP/1.1\nHost: x\n\n"
                                  "GET /?size=5 HTTP/1.1\r\nHost: x\r\n\r\n"
                                  "GET /?size=7 HTTP/1.1\r\nHost: x\r\n\n"
                                  "GET /?size=9 HTTP/1.1\nConnection: close\r\n\r\n",
                                  out, sizeof out);
    CU_ASSERT_TRUE_FATAL(n > 0);
    CU_ASSERT_EQUAL(count_of(out, "HTTP/1.1 200 OK"), 4);
    const char *at = out;
    for (int size = 3; size <= 9; size += 2) {
        char want[32];
        snprintf(want, sizeof want, "Content-Length: %d\r\n", size);
        at = strstr(at, want);
        CU_ASSERT_PTR_NOT_NULL_FATAL(at);
    }
}

/* The response in text is an error whose body is the message its
 * Content-Length counts: "greenbench-server: ...\n", or none for HEAD. */
static void check_error_body(const char *text, const char *status, bool head_only)
{
    CU_ASSERT_EQUAL_FATAL(strncmp(text, status, strlen(status)), 0);
    const char *cl = strstr(text, "Content-Length: "), *body = strstr(text, "\r\n\r\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(cl);
    CU_ASSERT_PTR_NOT_NULL_FATAL(body);
    body += 4;
    size_t len = strtoul(cl + 16, NULL, 10);
    CU_ASSERT_TRUE(len > 20);
    if (head_only) {
        CU_ASSERT_EQUAL(body[0], '\0');
        return;
    }
    CU_ASSERT_EQUAL(strlen(body), len);
    CU_ASSERT_EQUAL(strncmp(body, "greenbench-server: ", 19), 0);
    CU_ASSERT_EQUAL(body[len - 1], '\n');
    if (strncmp(body, "greenbench-server: ", 19) != 0)
        fprintf(stderr, "\n  %s body: '%.40s'\n", status, body);
}

/* Issue 10, item 11: 400, 405 and 431 answered with the filler bytes of a
 * 200 as their body, not the message their Content-Length was counted for. */
static void test_error_bodies(void)
{
    static char out[4096];
    CU_ASSERT_TRUE(exchange_to_close("POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc", out, sizeof out) > 0);
    check_error_body(out, "HTTP/1.1 405", false);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "\r\nAllow: GET, HEAD\r\n"));
    CU_ASSERT_TRUE(exchange_to_close("garbage\r\n\r\n", out, sizeof out) > 0);
    check_error_body(out, "HTTP/1.1 400", false);
    CU_ASSERT_TRUE(exchange_to_close("GET /?size=-1 HTTP/1.1\r\n\r\n", out, sizeof out) > 0);
    check_error_body(out, "HTTP/1.1 400", false);
    CU_ASSERT_TRUE(exchange_to_close("GET / HTTP/1.1\r\nContent-Length: many\r\n\r\n", out, sizeof out) > 0);
    check_error_body(out, "HTTP/1.1 400", false);
    CU_ASSERT_TRUE(exchange_to_close("HEAD /?size=x HTTP/1.1\r\n\r\n", out, sizeof out) > 0);
    check_error_body(out, "HTTP/1.1 400", true);
    static char big[20000 + 64];
    memset(big, 'a', sizeof big);
    memcpy(big, "GET / HTTP/1.1\r\nX-Big: ", 23);
    big[sizeof big - 1] = '\0';
    CU_ASSERT_TRUE(exchange_to_close(big, out, sizeof out) > 0);
    check_error_body(out, "HTTP/1.1 431", false);
}

static void test_http10_closes(void)
{
    char out[4096];
    ssize_t n = exchange_to_close("GET / HTTP/1.0\r\n\r\n", out, sizeof out);
    CU_ASSERT_TRUE_FATAL(n > 0);        /* -1 would mean the server kept it open. */
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "Connection: close"));
}

/* Delays of different lengths at once, sent longest first, two of them
 * abandoned while they wait: every other response comes in the order of its
 * delay and no sooner than it (the server keeps one queue ordered by due
 * time; an abandoned one must leave it without disturbing the rest). */
static void test_mixed_delays(void)
{
    static const int delay_ms[] = { 400, 250, 300, 50, 150, 100, 200, 10 };
    enum { N = sizeof delay_ms / sizeof delay_ms[0] };
    const bool abandon[N] = { [2] = true, [5] = true };
    struct pollfd pfd[N];
    double sent[N], done[N];
    for (int i = 0; i < N; i++) {
        char request[128];
        snprintf(request, sizeof request, "GET /?delay_ms=%d&size=10 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                 delay_ms[i]);
        pfd[i] = (struct pollfd){ .fd = connect_server(), .events = POLLIN };
        sent[i] = now_s();
        CU_ASSERT_FATAL(send(pfd[i].fd, request, strlen(request), MSG_NOSIGNAL) == (ssize_t)strlen(request));
        done[i] = 0;
    }
    usleep(20 * 1000);          /* Both abandoned ones are queued by now. */
    for (int i = 0; i < N; i++) {
        if (abandon[i]) {
            close(pfd[i].fd);
            pfd[i].fd = -1;     /* poll ignores it. */
        }
    }
    int left = N - 2;
    while (left > 0) {
        int n = poll(pfd, N, 5000);
        CU_ASSERT_FATAL(n > 0);
        for (int i = 0; i < N; i++) {
            if (pfd[i].fd < 0 || !(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            int status = 0;
            CU_ASSERT_EQUAL(read_response(pfd[i].fd, &status), 10);
            CU_ASSERT_EQUAL(status, 200);
            done[i] = now_s();
            close(pfd[i].fd);
            pfd[i].fd = -1;
            left--;
        }
    }
    for (int i = 0; i < N; i++) {
        if (abandon[i])
            continue;
        double took_ms = (done[i] - sent[i]) * 1000.0;
        CU_ASSERT_TRUE(took_ms >= delay_ms[i] - 0.1);
        CU_ASSERT_TRUE(took_ms < delay_ms[i] + 300);
        for (int j = 0; j < N; j++) {
            if (!abandon[j] && delay_ms[j] < delay_ms[i] && done[j] > done[i]) {
                fprintf(stderr, "\n  the %d ms response came after the %d ms one\n", delay_ms[j], delay_ms[i]);
                CU_FAIL("responses out of delay order");
            }
        }
    }
}

/* 1 000 connections at once, each asking for a DELAY_MS delay. Every
 * response must come no sooner than the delay and, on a loaded 2-core
 * machine under a sanitizer, no later than the delay + MAX_LATE_MS; the
 * median no later than delay + MEDIAN_LATE_MS. */
#define CONNS 1000
#define DELAY_MS 200
#define MAX_LATE_MS 400
#define MEDIAN_LATE_MS 100

struct probe {
    int fd;
    int state;                  /* 0 connecting, 1 reading, 2 done, 3 failed */
    double sent, done;
    http_parser p;
};

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void test_thousand_connections(void)
{
    static struct probe probes[CONNS];
    char err[256], request[256];
    http_target t;
    CU_ASSERT_FATAL(http_target_init(&t, server.url, -1, 5.0, err, sizeof err) == 0);
    snprintf(request, sizeof request, "GET /?delay_ms=%d HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", DELAY_MS);
    size_t request_len = strlen(request);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    CU_ASSERT_FATAL(ep >= 0);
    for (int i = 0; i < CONNS; i++) {
        struct probe *pr = &probes[i];
        pr->state = 0;
        http_parser_init(&pr->p);
        pr->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        CU_ASSERT_FATAL(pr->fd >= 0);
        int rc = connect(pr->fd, (struct sockaddr *)&t.addr, t.addrlen);
        CU_ASSERT_FATAL(rc == 0 || errno == EINPROGRESS);
        struct epoll_event ev = { .events = EPOLLOUT | EPOLLIN, .data.u32 = (uint32_t)i };
        CU_ASSERT_FATAL(epoll_ctl(ep, EPOLL_CTL_ADD, pr->fd, &ev) == 0);
    }
    int left = CONNS;
    double give_up = now_s() + 30.0;
    static char buf[65536];
    while (left > 0 && now_s() < give_up) {
        struct epoll_event evs[256];
        int n = epoll_wait(ep, evs, 256, 1000);
        for (int k = 0; k < n; k++) {
            struct probe *pr = &probes[evs[k].data.u32];
            if (pr->state == 0 && (evs[k].events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
                int soerr = 0;
                socklen_t sl = sizeof soerr;
                getsockopt(pr->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
                /* The clock is read before the send: the server cannot
                 * start its timer any earlier. */
                pr->sent = now_s();
                if (soerr != 0 || send(pr->fd, request, request_len, MSG_NOSIGNAL) != (ssize_t)request_len) {
                    pr->state = 3;
                } else {
                    pr->state = 1;
                    struct epoll_event ev = { .events = EPOLLIN, .data.u32 = evs[k].data.u32 };
                    epoll_ctl(ep, EPOLL_CTL_MOD, pr->fd, &ev);
                    continue;
                }
            } else if (pr->state == 1) {
                ssize_t got = recv(pr->fd, buf, sizeof buf, 0);
                if (got < 0 && errno == EAGAIN)
                    continue;
                int r = got < 0 ? -1 : got == 0 ? http_parser_eof(&pr->p) : http_parser_feed(&pr->p, buf, (size_t)got);
                if (r == 0)
                    continue;
                pr->done = now_s();
                pr->state = r == 1 && pr->p.status == 200 && pr->p.body_bytes == SIZE ? 2 : 3;
            } else {
                continue;
            }
            epoll_ctl(ep, EPOLL_CTL_DEL, pr->fd, NULL);
            close(pr->fd);
            pr->fd = -1;
            left--;
        }
    }
    close(ep);
    static double late_ms[CONNS];
    int ok = 0, early = 0;
    for (int i = 0; i < CONNS; i++) {
        if (probes[i].fd >= 0)
            close(probes[i].fd);
        if (probes[i].state != 2)
            continue;
        double ms = (probes[i].done - probes[i].sent) * 1000.0;
        /* The server starts its timer after our send: never early. Both
         * read CLOCK_MONOTONIC; 0.1 ms is for rounding in the loop's clock. */
        early += ms < DELAY_MS - 0.1;
        late_ms[ok++] = ms - DELAY_MS;
    }
    CU_ASSERT_EQUAL_FATAL(ok, CONNS);
    qsort(late_ms, (size_t)ok, sizeof late_ms[0], cmp_double);
    fprintf(stderr, "\n  %d connections, delay %d ms: late by min %.2f, median %.2f, p99 %.2f, max %.2f ms\n",
            CONNS, DELAY_MS, late_ms[0], late_ms[ok / 2], late_ms[ok * 99 / 100], late_ms[ok - 1]);
    CU_ASSERT_EQUAL(early, 0);
    CU_ASSERT_TRUE(late_ms[ok / 2] <= MEDIAN_LATE_MS);
    CU_ASSERT_TRUE(late_ms[ok - 1] <= MAX_LATE_MS);
}

static void test_curl(void)
{
    if (access("/usr/bin/curl", X_OK) != 0) {
        fprintf(stderr, "\n  curl not installed: skipped\n");
        return;
    }
    char cmd[512], out[128] = "";
    snprintf(cmd, sizeof cmd, "/usr/bin/curl -s -m 10 -o /dev/null -w '%%{http_code} %%{size_download}' '%s'",
             server.url);
    FILE *f = popen(cmd, "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    if (fgets(out, sizeof out, f) == NULL)
        out[0] = '\0';
    CU_ASSERT_EQUAL(pclose(f), 0);
    CU_ASSERT_STRING_EQUAL(out, "200 1000");
}

/* Run greenbench-server with args, stop it with sig once it printed its
 * URL; returns its exit status. */
static int exit_status_after(int sig)
{
    server_child s;
    char err[256];
    CU_ASSERT_FATAL(server_child_start(&s, server_path, 0, 10, -1, false, err, sizeof err) == 0);
    kill(s.pid, sig);
    int status;
    CU_ASSERT_FATAL(waitpid(s.pid, &status, 0) == s.pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* At exit the server says how late its delayed answers left: after one
 * request with a 50 ms delay, the line counts one answer, not early, and
 * not absurdly late. */
static void test_lateness_report(void)
{
    char path[] = "/tmp/greenbench-test-server-XXXXXX";
    int log = mkstemp(path);
    CU_ASSERT_FATAL(log >= 0);
    unlink(path);
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    dup2(log, STDERR_FILENO);           /* The child inherits it. */
    server_child s;
    char err[256];
    int started = server_child_start(&s, server_path, 50, 10, -1, false, err, sizeof err);
    dup2(saved, STDERR_FILENO);
    close(saved);
    CU_ASSERT_FATAL(started == 0);
    http_target t;
    CU_ASSERT_FATAL(http_target_init(&t, s.url, 10, 5.0, err, sizeof err) == 0);
    static char buf[HTTP_READ_CHUNK];
    http_result res;
    CU_ASSERT_EQUAL(http_fetch(&http_io_blocking, &t, buf, sizeof buf, &res), 0);
    CU_ASSERT_EQUAL(server_child_stop(&s), 0);
    char text[4096];
    ssize_t n = pread(log, text, sizeof text - 1, 0);
    close(log);
    CU_ASSERT_FATAL(n > 0);
    text[n] = '\0';
    const char *line = strstr(text, "1 delayed answers left ");
    double late_ms = -1;
    CU_ASSERT_PTR_NOT_NULL_FATAL(line);
    CU_ASSERT_EQUAL(sscanf(line, "1 delayed answers left %lf ms", &late_ms), 1);
    CU_ASSERT(late_ms >= 0 && late_ms < 500);
}

static void test_signals(void)
{
    CU_ASSERT_EQUAL(exit_status_after(SIGTERM), 0);
    CU_ASSERT_EQUAL(exit_status_after(SIGINT), 0);
}

/* A bad command line gets exit status 2 and one line: "PROGRAM: what is
 * wrong (see PROGRAM --help)", naming what is wrong with `what`. */
static void check_bad_command_line(char *const argv[], const char *program, const char *what)
{
    char out[4096], line[512];
    CU_ASSERT_EQUAL(run_program(argv, out, sizeof out), 2);
    snprintf(line, sizeof line, "%s: ", program);
    CU_ASSERT_EQUAL(strncmp(out, line, strlen(line)), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, what));
    snprintf(line, sizeof line, " (see %s --help)\n", program);
    CU_ASSERT(strlen(out) > strlen(line) && strcmp(out + strlen(out) - strlen(line), line) == 0);
    CU_ASSERT_EQUAL(count_of(out, "\n"), 1);
    if (strstr(out, what) == NULL || count_of(out, "\n") != 1)
        fprintf(stderr, "\n  %s said: %s", program, out);
}

/* --help: the usage on stdout, exit status 0. */
static void check_help(char *path)
{
    char out[4096];
    CU_ASSERT_EQUAL(run_program((char *[]){ path, "--help", NULL }, out, sizeof out), 0);
    CU_ASSERT_EQUAL(strncmp(out, "usage: ", 7), 0);
}

/* greenbench-fetch's path into path; false (said) when it is not built. */
static bool fetch_built(char *path, size_t len)
{
    snprintf(path, len, "%s/greenbench-fetch", GREENBENCH_BIN_DIR);
    if (access(path, X_OK) == 0)
        return true;
    fprintf(stderr, "\n  greenbench-fetch not built: skipped\n");
    return false;
}

static void test_bad_options(void)
{
    const char *me = "greenbench-server";
    char *path = server_path;
    check_bad_command_line((char *[]){ path, "--delay-ms=soon", NULL }, me,
                           "--delay-ms=soon: expected an integer");
    check_bad_command_line((char *[]){ path, "--port", "70000", NULL }, me, "--port=70000");
    check_bad_command_line((char *[]){ path, "--what", "1", NULL }, me, "unknown option '--what'");
    check_bad_command_line((char *[]){ path, "-x", NULL }, me, "unknown option '-x'");
    check_bad_command_line((char *[]){ path, "--size", NULL }, me, "--size needs a value");
    check_bad_command_line((char *[]){ path, "--exit-on-stdin-eof=1", NULL }, me,
                           "--exit-on-stdin-eof takes no value");
    check_bad_command_line((char *[]){ path, "8080", NULL }, me, "unexpected argument '8080'");
    check_help(path);
}

static void test_fetch_bad_options(void)
{
    char path[4096];
    if (!fetch_built(path, sizeof path))
        return;
    const char *me = "greenbench-fetch";
    check_bad_command_line((char *[]){ path, NULL }, me, "no URL given");
    check_bad_command_line((char *[]){ path, "--pool=0", "http://x/", NULL }, me, "--pool=0");
    check_bad_command_line((char *[]){ path, "--timeout=soon", "http://x/", NULL }, me, "--timeout=soon");
    check_bad_command_line((char *[]){ path, "--bogus", "http://x/", NULL }, me,
                           "unknown option '--bogus'");
    check_bad_command_line((char *[]){ path, "http://x/", "--pool", NULL }, me, "--pool needs a value");
    check_bad_command_line((char *[]){ path, "--pool=99999999999999999999999", "http://x/", NULL }, me,
                           "--pool=99999999999999999999999: expected an integer from 1 to");
    /* libgreen's own variables, named when they are wrong (green_init says only EINVAL). */
    setenv("GREEN_STACKS", "bogus", 1);
    check_bad_command_line(
        (char *[]){ path, "--dns-servers=127.0.0.1:53", "--resolver=ares", "http://x/", NULL }, me,
        "GREEN_STACKS=bogus: expected private, copy or copy:K");
    unsetenv("GREEN_STACKS");
    setenv("GREEN_RESOLVER", "ares", 1);
    setenv("GREEN_DNS_SERVERS", "garbage", 1);
    check_bad_command_line((char *[]){ path, "http://x/", NULL }, me,
                           "GREEN_DNS_SERVERS=garbage: expected IP[:PORT]");
    unsetenv("GREEN_RESOLVER");
    unsetenv("GREEN_DNS_SERVERS");
    check_help(path);
}

static void test_bench_bad_options(void)
{
    /* One program per backend pair: whichever is built first will do. */
    char path[4096] = "", program[256] = "";
    DIR *dir = opendir(GREENBENCH_BIN_DIR);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    for (struct dirent *e; (e = readdir(dir)) != NULL && program[0] == '\0';)
        if (strncmp(e->d_name, "greenbench-bench-runtime-", 25) == 0)
            snprintf(program, sizeof program, "%s", e->d_name);
    closedir(dir);
    if (program[0] == '\0') {
        fprintf(stderr, "\n  no greenbench-bench-runtime-* built: skipped\n");
        return;
    }
    snprintf(path, sizeof path, "%s/%s", GREENBENCH_BIN_DIR, program);
    check_bad_command_line((char *[]){ path, "--switches=many", NULL }, program, "--switches=many");
    check_bad_command_line((char *[]){ path, "--reps=0", NULL }, program, "--reps=0");
    check_bad_command_line((char *[]){ path, "--spawn", NULL }, program, "--spawn needs a value");
    check_bad_command_line((char *[]){ path, "--alive=10", "--bogus", NULL }, program,
                           "unknown option '--bogus'");
    check_help(path);
}

/* The seed program (examples/fetch.c) on the README's URLs: the client's
 * green flavour with libgreen's resolver. The unresolvable name fails on
 * its own, https is refused, the rest arrive whole, twice (joinall, then a
 * pool of 2 that never runs more than 2). */
static void test_seed_program(void)
{
    char path[4096];
    if (!fetch_built(path, sizeof path))
        return;
    char sized[128], delayed[128], line[256];
    snprintf(sized, sizeof sized, "%s?size=5000", server.url);
    snprintf(delayed, sizeof delayed, "%s?delay_ms=100", server.url);
    static char out[16384];
    int status = run_program(
        (char *[]){ path, sized, "http://nonexistent.invalid/", delayed, "https://127.0.0.1:1/", NULL },
        out, sizeof out);
    CU_ASSERT_EQUAL(status, 1);
    snprintf(line, sizeof line, "5000 bytes received from %s.\n", sized);
    CU_ASSERT_EQUAL(count_of(out, line), 2);
    snprintf(line, sizeof line, "%d bytes received from %s.\n", SIZE, delayed);
    CU_ASSERT_EQUAL(count_of(out, line), 2);
    CU_ASSERT_EQUAL(count_of(out, "http://nonexistent.invalid/ failed: nonexistent.invalid: "), 2);
    /* https goes through TLS now: here, to a port no one listens on. */
    CU_ASSERT_EQUAL(
        count_of(out, "https://127.0.0.1:1/ failed: connect to 127.0.0.1 port 1: connection refused"), 2);
    CU_ASSERT_EQUAL(count_of(out, "== joinall: 4 of 4 ended, 2 failed, "), 1);
    CU_ASSERT_EQUAL(count_of(out, "(in flight: 3)"), 0);
    CU_ASSERT_EQUAL(count_of(out, "at most 2 in flight (pool size 2)\n"), 1);
    if (status != 1)
        fprintf(stderr, "\n  greenbench-fetch said:\n%s", out);
}

/* A port outside 1-65535 fails that URL alone, before it connects, with
 * the port and the range named; the other URLs are fetched as ever. */
static void test_fetch_port_out_of_range(void)
{
    char path[4096];
    if (!fetch_built(path, sizeof path))
        return;
    static const char *const bad[][2] = {
        { "http://127.0.0.1:99999/", "port 99999 is out of range (1-65535)" },
        { "http://127.0.0.1:0/", "port 0 is out of range (1-65535)" },
        { "http://127.0.0.1:65536/", "port 65536 is out of range (1-65535)" },
        { "http://127.0.0.1:x1/", "port 'x1' is not a number (1-65535)" },
        { "http://127.0.0.1:/", "empty port after ':' (1-65535)" },
    };
    static char out[16384];
    char line[256];
    int status = run_program((char *[]){ path, (char *)bad[0][0], (char *)bad[1][0], server.url,
                                         (char *)bad[2][0], (char *)bad[3][0], (char *)bad[4][0], NULL },
                             out, sizeof out);
    CU_ASSERT_EQUAL(status, 1);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(line, sizeof line, "%s failed: %s\n", bad[i][0], bad[i][1]);
        CU_ASSERT_EQUAL(count_of(out, line), 2);
    }
    snprintf(line, sizeof line, "%d bytes received from %s.\n", SIZE, server.url);
    CU_ASSERT_EQUAL(count_of(out, line), 2);
    CU_ASSERT_EQUAL(count_of(out, "== joinall: 6 of 6 ended, 5 failed, "), 1);
    if (status != 1 || count_of(out, line) != 2)
        fprintf(stderr, "\n  greenbench-fetch said:\n%s", out);
}

/* An https:// URL whose server takes the connection but never answers
 * the handshake (a listener that accepts nobody; the kernel connects):
 * the failure names the handshake, not the connect. */
static void test_fetch_tls_handshake_timeout(void)
{
    char path[4096];
    if (!fetch_built(path, sizeof path))
        return;
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t alen = sizeof addr;
    CU_ASSERT_FATAL(lfd >= 0 && bind(lfd, (struct sockaddr *)&addr, sizeof addr) == 0 &&
                    listen(lfd, 8) == 0 && getsockname(lfd, (struct sockaddr *)&addr, &alen) == 0);
    char url[64], line[256];
    snprintf(url, sizeof url, "https://127.0.0.1:%d/", ntohs(addr.sin_port));
    static char out[16384];
    int status = run_program((char *[]){ path, "--timeout=0.5", "--pool=1", url, NULL }, out, sizeof out);
    close(lfd);
    CU_ASSERT_EQUAL(status, 1);
    snprintf(
        line, sizeof line,
        "%s failed: TLS handshake with 127.0.0.1 port %d: connected, but no TLS handshake by the deadline",
        url, ntohs(addr.sin_port));
    CU_ASSERT_EQUAL(count_of(out, line), 2);
    if (count_of(out, line) != 2)
        fprintf(stderr, "\n  greenbench-fetch said:\n%s", out);
}

/* ---- the client's parser, on its own ---- */

static const char response[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\ncontent-length:  12\r\n"
                               "Connection: keep-alive\r\n\r\nhello, world";

static void test_parser_every_split(void)
{
    size_t len = strlen(response);
    for (size_t cut = 0; cut <= len; cut++) {
        for (size_t cut2 = cut; cut2 <= len; cut2 += 7) {
            http_parser p;
            http_parser_init(&p);
            int r = http_parser_feed(&p, response, cut);
            if (r == 0)
                r = http_parser_feed(&p, response + cut, cut2 - cut);
            if (r == 0)
                r = http_parser_feed(&p, response + cut2, len - cut2);
            CU_ASSERT_EQUAL(r, 1);
            CU_ASSERT_EQUAL(p.status, 200);
            CU_ASSERT_EQUAL(p.content_length, 12);
            CU_ASSERT_EQUAL(p.body_bytes, 12);
            CU_ASSERT_FALSE(p.server_closes);
        }
    }
}

static int parse_all(const char *text, http_parser *p)
{
    http_parser_init(p);
    int r = http_parser_feed(p, text, strlen(text));
    return r == 0 ? http_parser_eof(p) : r;
}

static void test_parser_errors(void)
{
    http_parser p;
    CU_ASSERT_EQUAL(parse_all("SMTP ready\r\n\r\n", &p), HTTP_EBADRESPONSE);
    CU_ASSERT_EQUAL(parse_all("HTTP/1.1 2x0 OK\r\n\r\n", &p), HTTP_EBADRESPONSE);
    CU_ASSERT_EQUAL(parse_all("HTTP/1.1 2000 OK\r\n\r\n", &p), HTTP_EBADRESPONSE); /* Three digits. */
    CU_ASSERT_EQUAL(parse_all("HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n", &p), HTTP_EBADLENGTH);
    CU_ASSERT_EQUAL(parse_all("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", &p), HTTP_EBADLENGTH);

    CU_ASSERT_EQUAL(parse_all("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nabc", &p), HTTP_ETRUNCATED);
    CU_ASSERT_EQUAL(parse_all("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nabc", &p), HTTP_ETOOLONG);
    CU_ASSERT_EQUAL(parse_all("HTTP/1.1 200 OK\r\nContent-Len", &p), HTTP_ETRUNCATED);
    /* No Content-Length: the body runs to end of file. */
    CU_ASSERT_EQUAL(parse_all("HTTP/1.0 200 OK\r\n\r\nabcdef", &p), 1);
    CU_ASSERT_EQUAL(p.body_bytes, 6);
    CU_ASSERT_TRUE(p.server_closes);
    CU_ASSERT_EQUAL(parse_all("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", &p), 1);
    CU_ASSERT_EQUAL(p.status, 404);
    static char huge[HTTP_MAX_HEAD + 100];
    memset(huge, 'x', sizeof huge - 1);
    memcpy(huge, "HTTP/1.1 200 OK\r\nX: ", 20);
    huge[sizeof huge - 1] = '\0';
    http_parser_init(&p);
    CU_ASSERT_EQUAL(http_parser_feed(&p, huge, strlen(huge)), HTTP_EHEADTOOBIG);
    /* With room of the caller's, the same head is taken whole. */
    static char room[4 * HTTP_MAX_HEAD];
    static char big[2 * HTTP_MAX_HEAD];
    int at = snprintf(big, sizeof big, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX: ");
    memset(big + at, 'y', sizeof big - (size_t)at);
    memcpy(big + sizeof big - 6, "\r\n\r\nok", 6);
    http_parser_init_head(&p, room, sizeof room);
    CU_ASSERT_EQUAL(http_parser_feed(&p, big, sizeof big), 1);
    CU_ASSERT_EQUAL(p.status, 200);
    CU_ASSERT_EQUAL(p.body_bytes, 2);
}

/* Feed len bytes of text whole, then byte by byte: both must end alike.
 * Returns the outcome of the whole feed, *p its parser. */
static int parse_both_ways(const char *text, size_t len, http_parser *p)
{
    http_parser_init(p);
    int whole = http_parser_feed(p, text, len);
    if (whole == 0)
        whole = http_parser_eof(p);
    http_parser q;
    http_parser_init(&q);
    int bytes = 0;
    for (size_t i = 0; i < len && bytes >= 0; i++)
        bytes = http_parser_feed(&q, text + i, 1);
    if (bytes == 0)
        bytes = http_parser_eof(&q);
    CU_ASSERT_EQUAL(bytes, whole);
    CU_ASSERT_EQUAL(q.head_len, p->head_len);
    CU_ASSERT_EQUAL(q.body_bytes, p->body_bytes);
    return whole;
}

/* Interim responses (1xx, no body) before the final one are skipped, as
 * RFC 9110 has clients do: a CDN's 103 Early Hints was taken for the
 * response, and the fetch failed with "HTTP status 103". */
static void test_parser_interim_responses(void)
{
    http_parser p;
    static const char hints[] = "HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n"
                                "HTTP/1.1 100 Continue\n\n"
                                "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    CU_ASSERT_EQUAL(parse_both_ways(hints, sizeof hints - 1, &p), 1);
    CU_ASSERT_EQUAL(p.status, 200);
    CU_ASSERT_EQUAL(p.body_bytes, 2);
    CU_ASSERT_EQUAL(p.interim_bytes,
                    strlen("HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n"
                           "HTTP/1.1 100 Continue\n\n"));
    CU_ASSERT_EQUAL(p.head_len, strlen("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n"));
    /* An interim response alone is no response; nor is 101 one we asked for. */
    static const char alone[] = "HTTP/1.1 100 Continue\r\n\r\n";
    CU_ASSERT_EQUAL(parse_both_ways(alone, sizeof alone - 1, &p), HTTP_ETRUNCATED);
    CU_ASSERT_EQUAL(p.status, 0);
    static const char upgrade[] = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n";
    CU_ASSERT_EQUAL(parse_both_ways(upgrade, sizeof upgrade - 1, &p), HTTP_EBADRESPONSE);
}

/* The head ends at its first blank line, whichever line endings it uses,
 * however the response is cut. "\r\n\r\n" was searched for first, so an
 * LF-only head whose body held "\r\n\r\n" ran into the body (fed whole, not
 * fed byte by byte), and "\n\r\n" ended no head at all. The last two were
 * found by fuzz-http-response (tests/fuzz/corpus/http-response/regress-*). */
static void test_parser_first_blank_line(void)
{
    http_parser p;
    static const char lf_head[] = "HTTP/1.1 200 OK\nContent-Length: 6\n\nab\r\n\r\n";
    CU_ASSERT_EQUAL(parse_both_ways(lf_head, sizeof lf_head - 1, &p), 1);
    CU_ASSERT_EQUAL(p.body_bytes, 6);
    static const char mixed[] = "HTTP/1.1 200 OK\nContent-Length: 2\n\r\nok";
    CU_ASSERT_EQUAL(parse_both_ways(mixed, sizeof mixed - 1, &p), 1);
    CU_ASSERT_EQUAL(p.body_bytes, 2);
    static const char crlf_then_lf[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\nok";
    CU_ASSERT_EQUAL(parse_both_ways(crlf_then_lf, sizeof crlf_then_lf - 1, &p), 1);
    CU_ASSERT_EQUAL(p.body_bytes, 2);
    static const char split[] = "ft\n\xb4\x00\n\nos&#i\r\n\r\nze=\x9c\xc1";
    CU_ASSERT_EQUAL(parse_both_ways(split, sizeof split - 1, &p), HTTP_EBADRESPONSE);
    CU_ASSERT_EQUAL(p.head_len, 7);
    CU_ASSERT_EQUAL(parse_both_ways("\n", 1, &p), HTTP_EBADRESPONSE);
    CU_ASSERT_EQUAL(p.head_len, 1);
}

static const char chunked[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n"
                              "5\r\nhello\r\n7;name=value\r\n, world\r\n0\r\nX-Trailer: 1\r\n\r\n";

/* A chunked body counts its data alone, however it is cut; the chunks'
 * sizes, extensions and trailer are no part of it, and Transfer-Encoding
 * overrides Content-Length. */
static void test_parser_chunked_every_split(void)
{
    size_t len = strlen(chunked);
    for (size_t cut = 0; cut <= len; cut++) {
        for (size_t cut2 = cut; cut2 <= len; cut2 += 5) {
            http_parser p;
            http_parser_init(&p);
            int r = http_parser_feed(&p, chunked, cut);
            if (r == 0)
                r = http_parser_feed(&p, chunked + cut, cut2 - cut);
            if (r == 0)
                r = http_parser_feed(&p, chunked + cut2, len - cut2);
            CU_ASSERT_EQUAL(r, 1);
            CU_ASSERT_TRUE(p.chunked);
            CU_ASSERT_EQUAL(p.content_length, -1);
            CU_ASSERT_EQUAL(p.body_bytes, 12);
        }
    }
}

#define CHUNKED_HEAD "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"

static void test_parser_chunked_forms(void)
{
    http_parser p;
    /* LF line ends, hex of either case, leading zeros, no trailer. */
    static const char lf[] = "HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n3\nabc\n0\n\n";
    CU_ASSERT_EQUAL(parse_both_ways(lf, sizeof lf - 1, &p), 1);
    CU_ASSERT_EQUAL(p.body_bytes, 3);
    static const char cases[] = CHUNKED_HEAD "A\r\n0123456789\r\n000b\r\n0123456789a\r\n0\r\n\r\n";
    CU_ASSERT_EQUAL(parse_both_ways(cases, sizeof cases - 1, &p), 1);
    CU_ASSERT_EQUAL(p.body_bytes, 21);
    /* The size line may end in blanks or extensions; the data may hold CRLFs. */
    static const char ext[] = CHUNKED_HEAD "4 \r\n\r\n\r\n\r\n2\t;a;b=\"c\"\r\nok\r\n0;last\r\n\r\n";
    CU_ASSERT_EQUAL(parse_both_ways(ext, sizeof ext - 1, &p), 1);
    CU_ASSERT_EQUAL(p.body_bytes, 6);
    /* An empty body, trailers after it. */
    static const char empty[] = CHUNKED_HEAD "0\r\nA: 1\r\nB: 2\n\r\n";
    CU_ASSERT_EQUAL(parse_both_ways(empty, sizeof empty - 1, &p), 1);
    CU_ASSERT_EQUAL(p.body_bytes, 0);
    /* Chunked as the last of several codings; any other last, or none, and
     * the body runs to end of file, Content-Length or not. */
    static const char last[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked \r\n\r\n"
                               "1\r\nx\r\n0\r\n\r\n";
    CU_ASSERT_EQUAL(parse_all(last, &p), 1);
    CU_ASSERT_EQUAL(p.body_bytes, 1);
    static const char not_last[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n"
                                   "Content-Length: 2\r\n\r\nabcde";
    CU_ASSERT_EQUAL(parse_all(not_last, &p), 1);
    CU_ASSERT_FALSE(p.chunked);
    CU_ASSERT_EQUAL(p.body_bytes, 5);
    CU_ASSERT_EQUAL(parse_all("HTTP/1.1 200 OK\r\nTransfer-Encoding: notchunked\r\n\r\n0\r\n\r\n", &p), 1);
    CU_ASSERT_FALSE(p.chunked);
}

static void test_parser_chunked_errors(void)
{
    http_parser p;
    static const char *const bad[] = {
        CHUNKED_HEAD "\r\n",                    /* No size. */
        CHUNKED_HEAD "g\r\n",                   /* Not hex. */
        CHUNKED_HEAD "-1\r\n",
        CHUNKED_HEAD "3x\r\nabc\r\n0\r\n\r\n",  /* Junk after the size. */
        CHUNKED_HEAD "3\rabc\r\n0\r\n\r\n",     /* A CR without its LF. */
        CHUNKED_HEAD "3\r\nabcd\r\n0\r\n\r\n",  /* More data than the size said. */
        CHUNKED_HEAD "3\r\nabc\r0\r\n\r\n",
        CHUNKED_HEAD "0\r\n\rX",                /* The final blank line's CR without LF. */
        CHUNKED_HEAD "10000000000000000\r\n",   /* 2^64: no body is that long. */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CU_ASSERT_EQUAL(parse_both_ways(bad[i], strlen(bad[i]), &p), HTTP_EBADCHUNK);
    }
    /* Cut anywhere before the final blank line: truncated. */
    static const char whole[] = CHUNKED_HEAD "3\r\nabc\r\n0\r\nT: 1\r\n\r\n";
    size_t head = strlen(CHUNKED_HEAD);
    for (size_t len = head; len < sizeof whole - 1; len++) {
        /* The data, "abc", lies from head + 3 to head + 6. */
        size_t data = len <= head + 3 ? 0 : len - head - 3;
        CU_ASSERT_EQUAL(parse_both_ways(whole, len, &p), HTTP_ETRUNCATED);
        CU_ASSERT_EQUAL(p.body_bytes, (long long)(data < 3 ? data : 3));
    }
    /* Bytes past the end are too many, as past a Content-Length. */
    static const char more[] = CHUNKED_HEAD "0\r\n\r\nX";
    CU_ASSERT_EQUAL(parse_both_ways(more, sizeof more - 1, &p), HTTP_ETOOLONG);
    CU_ASSERT_EQUAL(parse_all("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", &p), 1);
}

static void test_url_parsing(void)
{
    http_target t;
    char err[256];
    CU_ASSERT_EQUAL(http_target_init(&t, "http://127.0.0.1:8080/a?b=1", -1, 1.0, err, sizeof err), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(t.request, "GET /a?b=1 HTTP/1.1\r\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(t.request, "Host: 127.0.0.1:8080\r\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(t.request, "Connection: close\r\n\r\n"));
    CU_ASSERT_EQUAL(ntohs(((struct sockaddr_in *)&t.addr)->sin_port), 8080);
    CU_ASSERT_EQUAL(http_target_init(&t, "http://127.0.0.1", -1, 1.0, err, sizeof err), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(t.request, "GET / HTTP/1.1\r\n"));
    CU_ASSERT_EQUAL(ntohs(((struct sockaddr_in *)&t.addr)->sin_port), 80);
    /* A cell's request, byte for byte. */
    CU_ASSERT_EQUAL(http_target_init(&t, "http://127.0.0.1:8080/", -1, 1.0, err, sizeof err), 0);
    CU_ASSERT_STRING_EQUAL(t.request, "GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: greenbench\r\n"
                                      "Accept: */*\r\nConnection: close\r\n\r\n");
    CU_ASSERT_EQUAL(t.request_len, strlen(t.request));
    CU_ASSERT_EQUAL(http_target_init(&t, "http://[::1]:81/", -1, 1.0, err, sizeof err), 0);
    CU_ASSERT_EQUAL(t.addr.ss_family, AF_INET6);
    CU_ASSERT_EQUAL(http_target_init(&t, "https://127.0.0.1/", -1, 1.0, err, sizeof err), 0);
    CU_ASSERT_TRUE(t.tls);
    CU_ASSERT_EQUAL(ntohs(((struct sockaddr_in *)&t.addr)->sin_port), 443);
    CU_ASSERT_EQUAL(http_target_init(&t, "127.0.0.1:80", -1, 1.0, err, sizeof err), -1);
    CU_ASSERT_EQUAL(http_target_init(&t, "http://127.0.0.1:/", -1, 1.0, err, sizeof err), -1);
    CU_ASSERT_EQUAL(http_target_init(&t, "http://127.0.0.1:65536/", -1, 1.0, err, sizeof err), -1);
    CU_ASSERT_EQUAL(http_target_init(&t, "http:///", -1, 1.0, err, sizeof err), -1);
    CU_ASSERT_EQUAL(strcmp(err, "--url=http:///: no host, or a host too long"), 0);
}

/* Parsing alone resolves nothing: the host and port are left for the
 * caller's resolver, the request is made all the same. */
static void test_url_parsing_alone(void)
{
    http_target t;
    char err[256];
    CU_ASSERT_EQUAL(
        http_target_parse(&t, "http://nonexistent.invalid:8080/a?b=1", -1, 1.0, err, sizeof err), 0);
    CU_ASSERT_STRING_EQUAL(t.host, "nonexistent.invalid");
    CU_ASSERT_STRING_EQUAL(t.port, "8080");
    CU_ASSERT_EQUAL(t.addrlen, 0);
    CU_ASSERT_TRUE(starts_with(t.request, "GET /a?b=1 HTTP/1.1\r\nHost: nonexistent.invalid:8080\r\n"));
    CU_ASSERT_EQUAL(http_target_parse(&t, "http://[::1]:81", -1, 1.0, err, sizeof err), 0);
    CU_ASSERT_STRING_EQUAL(t.host, "::1");
    CU_ASSERT_STRING_EQUAL(t.port, "81");
    CU_ASSERT_PTR_NOT_NULL(strstr(t.request, "Host: [::1]:81\r\n"));
    /* A query without a path gets one; the fragment is not sent. */
    CU_ASSERT_EQUAL(http_target_parse(&t, "http://h?q=1#top", -1, 1.0, err, sizeof err), 0);
    CU_ASSERT_STRING_EQUAL(t.host, "h");
    CU_ASSERT_STRING_EQUAL(t.port, "80");
    CU_ASSERT_TRUE(starts_with(t.request, "GET /?q=1 HTTP/1.1\r\nHost: h\r\n"));
    CU_ASSERT_EQUAL(http_target_parse(&t, "http://h/p#top", -1, 1.0, err, sizeof err), 0);
    CU_ASSERT_TRUE(starts_with(t.request, "GET /p HTTP/1.1\r\n"));
    /* https: port 443 unless given, and marked for a TLS flavour. */
    CU_ASSERT_EQUAL(http_target_parse(&t, "https://h/", -1, 1.0, err, sizeof err), 0);
    CU_ASSERT_TRUE(t.tls);
    CU_ASSERT_STRING_EQUAL(t.port, "443");
    CU_ASSERT_EQUAL(http_target_parse(&t, "http://h/", -1, 1.0, err, sizeof err), 0);
    CU_ASSERT_FALSE(t.tls);
    CU_ASSERT_EQUAL(http_target_parse(&t, "http://[::1]x/", -1, 1.0, err, sizeof err), -1);
    CU_ASSERT_EQUAL(http_target_parse(&t, "http://[::1/", -1, 1.0, err, sizeof err), -1);
    CU_ASSERT_EQUAL(http_target_parse(&t, "http://[]/", -1, 1.0, err, sizeof err), -1);
    CU_ASSERT_EQUAL(http_target_parse(&t, "http://:80/", -1, 1.0, err, sizeof err), -1);
    /* An address from any resolver: the target is then ready to fetch. */
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(8080) };
    struct addrinfo ai = { .ai_family = AF_INET,
                           .ai_addr = (struct sockaddr *)&sin,
                           .ai_addrlen = sizeof sin };
    http_target_set_addr(&t, &ai);
    CU_ASSERT_EQUAL(t.addrlen, sizeof sin);
    CU_ASSERT_EQUAL(ntohs(((struct sockaddr_in *)&t.addr)->sin_port), 8080);
}

/* A port is decimal, 1 to 65535, leading zeros allowed; anything else is
 * refused with the port and the range named, never wrapped round. */
static void test_url_port_range(void)
{
    http_target t;
    char err[256];
    static const char *const good[][2] = {
        { "http://h:1/", "1" },          { "http://h:65535/", "65535" }, { "http://h:00080/", "80" },
        { "http://[::1]:8080", "8080" }, { "http://h:443?q", "443" },
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        CU_ASSERT_EQUAL(http_target_parse(&t, good[i][0], -1, 1.0, err, sizeof err), 0);
        CU_ASSERT_STRING_EQUAL(t.port, good[i][1]);
    }
    static const char *const bad[][2] = {
        { "http://h:99999/", "port 99999 is out of range (1-65535)" },
        { "http://h:0/", "port 0 is out of range (1-65535)" },
        { "http://h:000/", "port 000 is out of range (1-65535)" },
        { "http://h:65536/", "port 65536 is out of range (1-65535)" },
        { "http://h:4294967376/", "port 4294967376 is out of range (1-65535)" },
        { "http://h:99999999999999999999999/", "port 99999999999999999999999 is out of range (1-65535)" },
        { "http://h:8o/", "port '8o' is not a number (1-65535)" },
        { "http://h:-1/", "port '-1' is not a number (1-65535)" },
        { "http://h:/", "empty port after ':' (1-65535)" },
        { "http://[::1]:/", "empty port after ':' (1-65535)" },
        { "http://[::1]:65536/", "port 65536 is out of range (1-65535)" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CU_ASSERT_EQUAL(http_target_parse(&t, bad[i][0], -1, 1.0, err, sizeof err), -1);
        CU_ASSERT_STRING_EQUAL(err, bad[i][1]);
    }
    CU_ASSERT_EQUAL(http_target_init(&t, "http://127.0.0.1:99999/", -1, 1.0, err, sizeof err), -1);
    CU_ASSERT_STRING_EQUAL(err, "--url=http://127.0.0.1:99999/: port 99999 is out of range (1-65535)");
}

/* The cells resolve once, before timing, and a name that does not resolve
 * is their usage error. */
static void test_url_resolution(void)
{
    http_target t;
    char err[256];
    CU_ASSERT_EQUAL(http_target_init(&t, "http://localhost:9/", -1, 1.0, err, sizeof err), 0);
    CU_ASSERT_TRUE(t.addr.ss_family == AF_INET || t.addr.ss_family == AF_INET6);
    CU_ASSERT_EQUAL(http_target_init(&t, "http://nonexistent.invalid/", -1, 1.0, err, sizeof err), -1);
    CU_ASSERT_TRUE(
        starts_with(err, "--url=http://nonexistent.invalid/: cannot resolve 'nonexistent.invalid': "));
}

/* ---- several loops, and the window ---- */

/* The threads suite's server: --threads 2 on the first and the last CPU
 * this process may use (one CPU: both loops on it), started the harness's
 * way (harness/server.c), its stderr into a file read at the end. */
static struct gb_server tserver;
static char tserver_cpus[64];
static int tserver_log = -1;

/* The window now (which starts the next), through the harness's client. */
static void take_window(const char *url, struct gb_server_window *w)
{
    char err[256];
    int rc = gb_server_window_url(url, NULL, w, err, sizeof err);
    if (rc != 0)
        fprintf(stderr, "\n  window: %s\n", err);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
}

/* n GETs of path, each on a new connection, one after the other. */
static void sequential_gets(const char *url, const char *path, int n, long long size)
{
    char full[256], err[256];
    snprintf(full, sizeof full, "%.*s%s", (int)strlen(url) - 1, url, path);
    http_target t;
    CU_ASSERT_FATAL(http_target_init(&t, full, size, 10.0, err, sizeof err) == 0);
    static char buf[HTTP_READ_CHUNK];
    for (int i = 0; i < n; i++) {
        http_result res;
        CU_ASSERT_EQUAL_FATAL(http_fetch(&http_io_blocking, &t, buf, sizeof buf, &res), 0);
    }
}

/* n connections at once to url, each sending request and reading one
 * answer of size bytes. Returns how many arrived whole within 30 s. */
static int concurrent_gets(const char *url, const char *request, int n, long long size)
{
    char err[256];
    http_target t;
    CU_ASSERT_FATAL(http_target_init(&t, url, -1, 5.0, err, sizeof err) == 0);
    struct probe *probes = calloc((size_t)n, sizeof *probes);
    CU_ASSERT_PTR_NOT_NULL_FATAL(probes);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    CU_ASSERT_FATAL(ep >= 0);
    size_t request_len = strlen(request);
    for (int i = 0; i < n; i++) {
        struct probe *pr = &probes[i];
        http_parser_init(&pr->p);
        pr->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        CU_ASSERT_FATAL(pr->fd >= 0);
        int rc = connect(pr->fd, (struct sockaddr *)&t.addr, t.addrlen);
        CU_ASSERT_FATAL(rc == 0 || errno == EINPROGRESS);
        struct epoll_event ev = { .events = EPOLLOUT, .data.u32 = (uint32_t)i };
        CU_ASSERT_FATAL(epoll_ctl(ep, EPOLL_CTL_ADD, pr->fd, &ev) == 0);
    }
    int left = n, ok = 0;
    double give_up = now_s() + 30.0;
    static char buf[65536];
    while (left > 0 && now_s() < give_up) {
        struct epoll_event evs[256];
        int got = epoll_wait(ep, evs, 256, 1000);
        for (int k = 0; k < got; k++) {
            struct probe *pr = &probes[evs[k].data.u32];
            if (pr->state == 0) {
                if (send(pr->fd, request, request_len, MSG_NOSIGNAL) != (ssize_t)request_len) {
                    pr->state = 3;
                } else {
                    pr->state = 1;
                    struct epoll_event ev = { .events = EPOLLIN, .data.u32 = evs[k].data.u32 };
                    epoll_ctl(ep, EPOLL_CTL_MOD, pr->fd, &ev);
                    continue;
                }
            } else {
                ssize_t r = recv(pr->fd, buf, sizeof buf, 0);
                if (r < 0 && errno == EAGAIN)
                    continue;
                int st = r < 0    ? -1
                         : r == 0 ? http_parser_eof(&pr->p)
                                  : http_parser_feed(&pr->p, buf, (size_t)r);
                if (st == 0)
                    continue;
                pr->state = st == 1 && pr->p.status == 200 && pr->p.body_bytes == size ? 2 : 3;
                ok += pr->state == 2;
            }
            epoll_ctl(ep, EPOLL_CTL_DEL, pr->fd, NULL);
            close(pr->fd);
            pr->fd = -1;
            left--;
        }
    }
    for (int i = 0; i < n; i++)
        if (probes[i].fd >= 0)
            close(probes[i].fd);
    close(ep);
    free(probes);
    return ok;
}

static int threads_init(void)
{
    signal(SIGPIPE, SIG_IGN);
    snprintf(server_path, sizeof server_path, "%s/greenbench-server", GREENBENCH_BIN_DIR);
    cpu_set_t set;
    int first = -1, last = -1;
    if (sched_getaffinity(0, sizeof set, &set) == 0)
        for (int c = 0; c < CPU_SETSIZE; c++)
            if (CPU_ISSET(c, &set)) {
                first = first < 0 ? c : first;
                last = c;
            }
    if (first < 0)
        return -1;
    if (first == last)
        snprintf(tserver_cpus, sizeof tserver_cpus, "%d", first);
    else
        snprintf(tserver_cpus, sizeof tserver_cpus, "%d,%d", first, last);
    char path[] = "/tmp/greenbench-test-server-XXXXXX";
    tserver_log = mkstemp(path);
    if (tserver_log < 0)
        return -1;
    unlink(path);
    if (gb_server_start(server_path,
                        &(struct gb_server_spec){ .size = SIZE, .threads = 2, .cpus = tserver_cpus },
                        tserver_log, &tserver) != 0) {
        fprintf(stderr, "test_server: %s\n", tserver.error);
        return -1;
    }
    return 0;
}

static int threads_cleanup(void)
{
    gb_server_stop(&tserver);
    if (tserver_log >= 0)
        close(tserver_log);
    return 0;
}

/* The window as it goes over the wire: a 200 of application/json whose
 * body is one object with every field; a HEAD of it is refused (taking a
 * window starts the next: not for HEAD), and neither counts as a request. */
static void test_window_answer(void)
{
    char out[8192];
    struct gb_server_window w;
    take_window(tserver.url, &w);
    ssize_t n = exchange_to_close_at(tserver.url,
                                     "GET /__greenbench/window HTTP/1.1\r\nHost: x\r\n"
                                     "Connection: close\r\n\r\n",
                                     out, sizeof out);
    CU_ASSERT_TRUE_FATAL(n > 0);
    CU_ASSERT_EQUAL(strncmp(out, "HTTP/1.1 200 OK\r\n", 17), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "\r\nContent-Type: application/json\r\n"));
    const char *body = strstr(out, "\r\n\r\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(body);
    json_error_t jerr;
    json_t *o = json_loads(body + 4, 0, &jerr);
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    static const char *const fields[] = { "requests",    "delayed",     "late_mean_ms",
                                          "late_p99_ms", "late_max_ms", "late_over_1ms",
                                          "connections", "cpu_ns",      "window_ns" };
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        CU_ASSERT_TRUE(json_is_number(json_object_get(o, fields[i])));
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(o, "requests")), 0);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(o, "connections")), 0);
    CU_ASSERT_TRUE(json_integer_value(json_object_get(o, "window_ns")) > 0);
    const json_t *loops = json_object_get(o, "loops");
    CU_ASSERT_EQUAL(json_array_size(loops), 2);
    for (size_t i = 0; i < json_array_size(loops); i++) {
        CU_ASSERT_TRUE(json_is_integer(json_object_get(json_array_get(loops, i), "requests")));
        CU_ASSERT_TRUE(json_is_integer(json_object_get(json_array_get(loops, i), "late_over_1ms")));
    }
    json_decref(o);

    n = exchange_to_close_at(tserver.url, "HEAD /__greenbench/window HTTP/1.1\r\nHost: x\r\n\r\n", out,
                             sizeof out);
    CU_ASSERT_TRUE_FATAL(n > 0);
    CU_ASSERT_EQUAL(strncmp(out, "HTTP/1.1 405", 12), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "\r\nAllow: GET\r\n"));
    take_window(tserver.url, &w);
    CU_ASSERT_EQUAL(w.requests, 0);
    CU_ASSERT_EQUAL(w.connections, 0);
}

/* 200 connections, one after the other: the kernel spreads them over both
 * loops' sockets by a hash of their addresses, so both answer some (the
 * chance that one gets none is 2^-199); the window counts every request and
 * connection once, and the next window starts at zero. */
static void test_threads_both_loops_serve(void)
{
    struct gb_server_window w;
    take_window(tserver.url, &w);
    sequential_gets(tserver.url, "/", 200, SIZE);
    take_window(tserver.url, &w);
    CU_ASSERT_EQUAL(w.requests, 200);
    CU_ASSERT_EQUAL(w.connections, 200);
    CU_ASSERT_EQUAL(w.delayed, 0);
    CU_ASSERT_EQUAL(w.late_over_1ms, 0);
    CU_ASSERT_EQUAL_FATAL(w.nloops, 2);
    CU_ASSERT_TRUE(w.loops[0].requests > 0);
    CU_ASSERT_TRUE(w.loops[1].requests > 0);
    CU_ASSERT_EQUAL(w.loops[0].requests + w.loops[1].requests, 200);
    CU_ASSERT_EQUAL(w.loops[0].connections + w.loops[1].connections, 200);
    fprintf(stderr, "\n  200 connections: %lld on loop 0, %lld on loop 1; %.3f ms of CPU in %.3f ms",
            w.loops[0].requests, w.loops[1].requests, (double)w.cpu_ns / 1e6, (double)w.window_ns / 1e6);
    CU_ASSERT_TRUE(w.window_ns > 0);
    CU_ASSERT_TRUE(w.cpu_ns >= 0 && w.cpu_ns <= 2 * w.window_ns + 20000000);

    take_window(tserver.url, &w);
    CU_ASSERT_EQUAL(w.requests, 0);
    CU_ASSERT_EQUAL(w.connections, 0);
    CU_ASSERT_EQUAL(w.delayed, 0);
    CU_ASSERT_EQUAL(w.loops[0].requests + w.loops[1].requests, 0);
    CU_ASSERT_TRUE(w.window_ns < 2000000000LL);
}

/* A second server with several loops on a port the first holds is
 * refused as one loop is: SO_REUSEPORT would have let it join the first
 * one's sockets and take part of its connections. */
static void test_threads_port_taken(void)
{
    int port = 0;
    CU_ASSERT_FATAL(sscanf(tserver.url, "http://127.0.0.1:%d", &port) == 1);
    char port_arg[16], out[1024];
    snprintf(port_arg, sizeof port_arg, "%d", port);
    int rc = run_program(
        (char *[]){ server_path, "--port", port_arg, "--threads", "2", "--exit-on-stdin-eof", NULL }, out,
        sizeof out);
    CU_ASSERT_EQUAL(rc, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "Address already in use"));
    if (rc != 1)
        fprintf(stderr, "\n  the second server: exit %d, '%s'\n", rc, out);
}

/* Each loop pins itself where --cpus said. */
static void test_threads_pinned(void)
{
    struct gb_server_window w;
    take_window(tserver.url, &w);
    CU_ASSERT_EQUAL_FATAL(w.nloops, 2);
    int first = -1, last = -1;
    CU_ASSERT_FATAL(sscanf(tserver_cpus, "%d,%d", &first, &last) >= 1);
    CU_ASSERT_EQUAL(w.loops[0].cpu, first);
    CU_ASSERT_EQUAL(w.loops[1].cpu, last < 0 ? first : last);
}

/* Keep-alive: every request on a connection counts, the connection once;
 * a window request on it counts as neither. */
static void test_threads_keep_alive_counted(void)
{
    struct gb_server_window w;
    take_window(tserver.url, &w);
    char err[256];
    http_target t;
    CU_ASSERT_FATAL(http_target_init(&t, tserver.url, -1, 5.0, err, sizeof err) == 0);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), status = 0;
    struct timeval tv = { .tv_sec = 5 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    CU_ASSERT_FATAL(connect(fd, (struct sockaddr *)&t.addr, t.addrlen) == 0);
    const char *req = "GET /?delay_ms=2 HTTP/1.1\r\nHost: x\r\n\r\n";
    for (int i = 0; i < 5; i++) {
        CU_ASSERT_EQUAL(send(fd, req, strlen(req), MSG_NOSIGNAL), (ssize_t)strlen(req));
        CU_ASSERT_EQUAL(read_response(fd, &status), SIZE);
        CU_ASSERT_EQUAL(status, 200);
    }
    /* The window on the same connection: it sees the five. */
    const char *wreq = "GET /__greenbench/window HTTP/1.1\r\nHost: x\r\n\r\n";
    CU_ASSERT_EQUAL(send(fd, wreq, strlen(wreq), MSG_NOSIGNAL), (ssize_t)strlen(wreq));
    CU_ASSERT_TRUE(read_response(fd, &status) > 0);
    CU_ASSERT_EQUAL(status, 200);
    close(fd);
    take_window(tserver.url, &w);   /* What came after that window: nothing. */
    CU_ASSERT_EQUAL(w.requests, 0);
    CU_ASSERT_EQUAL(w.connections, 0);
}

/* The same, read from the window the connection itself took. */
static void test_threads_keep_alive_window(void)
{
    struct gb_server_window w;
    take_window(tserver.url, &w);
    char out[8192];
    ssize_t n =
        exchange_to_close_at(tserver.url,
                             "GET /?size=3 HTTP/1.1\r\nHost: x\r\n\r\n"
                             "GET /?size=3&delay_ms=1 HTTP/1.1\r\nHost: x\r\n\r\n"
                             "GET /__greenbench/window HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                             out, sizeof out);
    CU_ASSERT_TRUE_FATAL(n > 0);
    const char *body = strstr(out, "{\"requests\":");
    CU_ASSERT_PTR_NOT_NULL_FATAL(body);
    json_t *o = json_loads(body, JSON_DISABLE_EOF_CHECK, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(o, "requests")), 2);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(o, "delayed")), 1);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(o, "connections")), 1);
    json_decref(o);
}

/* 400 connections at once, each delayed 30 ms: all counted as delayed,
 * how late they left small (the bounds allow for a loaded 2-CPU machine
 * under a sanitizer) and consistent: p99 and the mean no more than the
 * maximum, the count over 1 ms the loops' sum. */
static void test_threads_lateness_counted(void)
{
    enum { N = 400 };
    struct gb_server_window w;
    take_window(tserver.url, &w);
    const char *request = "GET /?delay_ms=30 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    CU_ASSERT_EQUAL(concurrent_gets(tserver.url, request, N, SIZE), N);
    take_window(tserver.url, &w);
    fprintf(stderr,
            "\n  %d at once, 30 ms: late by mean %.3f, p99 %.3f, max %.3f ms; %lld over 1 ms (%lld + %lld)",
            N, w.late_mean_ms, w.late_p99_ms, w.late_max_ms, w.late_over_1ms, w.loops[0].late_over_1ms,
            w.loops[1].late_over_1ms);
    CU_ASSERT_EQUAL(w.requests, N);
    CU_ASSERT_EQUAL(w.delayed, N);
    CU_ASSERT_EQUAL(w.connections, N);
    CU_ASSERT_TRUE(w.late_mean_ms >= 0 && w.late_mean_ms <= w.late_max_ms);
    CU_ASSERT_TRUE(w.late_p99_ms >= 0 && w.late_p99_ms <= w.late_max_ms);
    CU_ASSERT_TRUE(w.late_p99_ms >= w.late_mean_ms * 0.5);
    CU_ASSERT_TRUE(w.late_mean_ms < MEDIAN_LATE_MS);
    CU_ASSERT_TRUE(w.late_max_ms < MAX_LATE_MS);
    CU_ASSERT_TRUE(w.late_over_1ms >= 0 && w.late_over_1ms <= N);
    CU_ASSERT_EQUAL(w.loops[0].late_over_1ms + w.loops[1].late_over_1ms, w.late_over_1ms);
    CU_ASSERT_EQUAL(w.loops[0].delayed + w.loops[1].delayed, N);
}

/* The harness's client fails in bounded time, saying why: nothing
 * listening, a URL it cannot use, a server that never answers. */
static void test_window_client_errors(void)
{
    struct gb_server_window w;
    char err[256];
    /* A port just closed: nothing listens there. */
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t alen = sizeof a;
    CU_ASSERT_FATAL(bind(fd, (struct sockaddr *)&a, sizeof a) == 0);
    CU_ASSERT_FATAL(getsockname(fd, (struct sockaddr *)&a, &alen) == 0);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/", ntohs(a.sin_port));
    close(fd);
    CU_ASSERT_EQUAL(gb_server_window_url(url, NULL, &w, err, sizeof err), -ECONNREFUSED);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "connect"));
    CU_ASSERT_EQUAL(gb_server_window_url("http://localhost:80/", NULL, &w, err, sizeof err), -EINVAL);
    CU_ASSERT_EQUAL(gb_server_window_url("127.0.0.1:80", NULL, &w, err, sizeof err), -EINVAL);
    /* Listening, never answering: the kernel completes the connection. */
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    a.sin_port = 0;
    CU_ASSERT_FATAL(bind(fd, (struct sockaddr *)&a, sizeof a) == 0 && listen(fd, 4) == 0);
    CU_ASSERT_FATAL(getsockname(fd, (struct sockaddr *)&a, &alen) == 0);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/", ntohs(a.sin_port));
    double t0 = now_s();
    CU_ASSERT_EQUAL(gb_server_window_url(url, NULL, &w, err, sizeof err), -ETIMEDOUT);
    double took = now_s() - t0;
    CU_ASSERT_TRUE(took >= 1.9 && took < 3.0);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "no answer within 2 s"));
    close(fd);
    CU_ASSERT_EQUAL(gb_server_window(&tserver, &w, err, sizeof err), 0);
}

/* A server started the harness's way, its stderr into a file: the file. */
static int start_logged(const struct gb_server_spec *spec, struct gb_server *s)
{
    char path[] = "/tmp/greenbench-test-server-XXXXXX";
    int log = mkstemp(path);
    CU_ASSERT_FATAL(log >= 0);
    unlink(path);
    CU_ASSERT_FATAL(gb_server_start(server_path, spec, log, s) == 0);
    return log;
}

/* Stop it, and read what it said into text (len bytes). */
static void stop_logged(struct gb_server *s, int log, char *text, size_t len)
{
    gb_server_stop(s);
    ssize_t n = pread(log, text, len - 1, 0);
    close(log);
    CU_ASSERT_FATAL(n > 0);
    text[n] = '\0';
}

/* Stopped, the server says what it said before, for all loops together,
 * then one line per loop. */
static void test_threads_report_lines(void)
{
    char err[256];
    struct gb_server s;
    int log = start_logged(
        &(struct gb_server_spec){ .delay_ms = 5, .size = 10, .threads = 3, .cpus = tserver_cpus }, &s);
    for (int i = 0; i < 30; i++) {
        http_target t;
        CU_ASSERT_FATAL(http_target_init(&t, s.url, 10, 5.0, err, sizeof err) == 0);
        static char buf[HTTP_READ_CHUNK];
        http_result res;
        CU_ASSERT_EQUAL(http_fetch(&http_io_blocking, &t, buf, sizeof buf, &res), 0);
    }
    char text[8192];
    stop_logged(&s, log, text, sizeof text);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "; 3 loops on CPUs "));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "greenbench-server: stopped: 30 connections"));
    /* One after another: at most two open at once (a close not yet seen
     * by its loop), not the sum of the three loops' own peaks. */
    const char *peak = strstr(text, "connections (");
    CU_ASSERT(peak != NULL && atoi(peak + strlen("connections (")) <= 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, ", 30 requests answered, "));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "greenbench-server: 30 delayed answers left "));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "greenbench-server: loop 0 (CPU "));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "greenbench-server: loop 2 (CPU "));
    CU_ASSERT_PTR_NULL(strstr(text, "greenbench-server: loop 3"));
    /* Three loops on two CPUs (or one): round-robin, loop 2 on the first. */
    char want[64];
    snprintf(want, sizeof want, "greenbench-server: loop 2 (CPU %d): ", atoi(tserver_cpus));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, want));
    if (strstr(text, "greenbench-server: loop 2 (CPU ") == NULL)
        fprintf(stderr, "\n  the server said:\n%s", text);
}

/* --threads and --cpus: values the server cannot use are usage errors. */
static void test_threads_bad_options(void)
{
    const char *me = "greenbench-server";
    char *p = server_path;
    check_bad_command_line((char *[]){ p, "--threads", "0", NULL }, me,
                           "--threads=0: expected an integer from 1 to 256");
    check_bad_command_line((char *[]){ p, "--threads=257", NULL }, me, "--threads=257");
    check_bad_command_line((char *[]){ p, "--threads=two", NULL }, me, "--threads=two");
    check_bad_command_line((char *[]){ p, "--threads", NULL }, me, "--threads needs a value");
    static const char *const lists[] = { "",   "a",    "1-",   "-1",   "3-1",   "1,",
                                         ",1", "1,,2", "0-2x", "1024", "0-1024" };
    for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++) {
        char arg[64], what[64];
        snprintf(arg, sizeof arg, "--cpus=%s", lists[i]);
        snprintf(what, sizeof what, "--cpus=%s: expected a list of CPUs", lists[i]);
        check_bad_command_line((char *[]){ p, arg, NULL }, me, what);
    }
    check_bad_command_line((char *[]){ p, "--cpu=1-2", NULL }, me, "--cpu=1-2: expected a CPU number");
    check_bad_command_line((char *[]){ p, "--cpu=0,1", NULL }, me, "--cpu=0,1: expected a CPU number");
    check_bad_command_line((char *[]){ p, "--cpu=0", "--cpus=0", NULL }, me, "--cpu and --cpus: give one");
    /* CPUs this process may not run on (unless the machine has 1024). */
    if (sysconf(_SC_NPROCESSORS_CONF) < 1024) {
        check_bad_command_line((char *[]){ p, "--cpus=0,1023", NULL }, me,
                               "--cpus=0,1023: CPU 1023 is not a CPU this process may run on");
        check_bad_command_line((char *[]){ p, "--cpu", "1023", NULL }, me,
                               "--cpu=1023: CPU 1023 is not a CPU this process may run on");
    }
}

/* Close fd with a reset, as the cells close kept connections. */
static void close_with_reset(int fd)
{
    struct linger now = { .l_onoff = 1, .l_linger = 0 };
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &now, sizeof now);
    close(fd);
}

/* The line at exit counts what was answered and who left too early:
 * three kept requests, each read whole, then a reset of the idle
 * connection (a client done, not gone); and a delayed request whose client
 * resets before its answer (gone, and answered nothing). */
static void test_exit_line_answers_and_gone(void)
{
    struct gb_server s;
    int log = start_logged(&(struct gb_server_spec){ .delay_ms = 0, .size = 10, .threads = 1 }, &s);
    int fd = connect_to(s.url);
    for (int i = 0; i < 3; i++) {
        const char *get = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
        CU_ASSERT_FATAL(send(fd, get, strlen(get), MSG_NOSIGNAL) == (ssize_t)strlen(get));
        char in[1024];
        size_t got = 0;
        for (const char *end = NULL; end == NULL || got < (size_t)(end + 4 - in) + 10;) {
            ssize_t n = recv(fd, in + got, sizeof in - 1 - got, 0);
            CU_ASSERT_FATAL(n > 0);
            got += (size_t)n;
            in[got] = '\0';
            end = strstr(in, "\r\n\r\n");
        }
    }
    close_with_reset(fd);
    fd = connect_to(s.url);
    const char *late = "GET /?delay_ms=300 HTTP/1.1\r\nHost: x\r\n\r\n";
    CU_ASSERT_FATAL(send(fd, late, strlen(late), MSG_NOSIGNAL) == (ssize_t)strlen(late));
    usleep(50 * 1000);
    close_with_reset(fd);
    usleep(400 * 1000); /* Its answer falls due, and finds it gone. */
    char text[8192];
    stop_logged(&s, log, text, sizeof text);
    const char *want = ", 3 requests answered, 0 bad requests, 1 clients gone before their response";
    CU_ASSERT_PTR_NOT_NULL(strstr(text, want));
    if (strstr(text, want) == NULL)
        fprintf(stderr, "\n  the server said:\n%s", text);
}

/* A CA of its own, for "verified against the wrong CA": openssl(1). */
static void make_other_ca(const char *path)
{
    char cmd[9000];
    snprintf(cmd, sizeof cmd,
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /dev/null "
             "-out '%s' -subj /CN=other -days 1 2>/dev/null",
             path);
    CU_ASSERT_EQUAL_FATAL(system(cmd), 0);
}

/* The harness keys its servers by (delay, size, threads, CPUs, TLS) and
 * starts each with the options asked for. */
static void test_harness_servers_keyed(void)
{
    char why[512];
    struct gb_programs p;
    memset(&p, 0, sizeof p);
    snprintf(p.bin_dir, sizeof p.bin_dir, "%s", GREENBENCH_BIN_DIR);
    p.server = true;
    char dir[] = "/tmp/greenbench-test-servers-XXXXXX";
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    struct gb_servers sv;
    gb_servers_init(&sv, dir);
    struct gb_server *one =
        gb_servers_get(&sv, &p, &(struct gb_server_spec){ .size = 10 }, why, sizeof why);
    CU_ASSERT_PTR_NOT_NULL_FATAL(one);
    CU_ASSERT_EQUAL(one->threads, 1);
    CU_ASSERT_STRING_EQUAL(one->cpus, "last");
    const struct gb_server_spec two_loops = { .size = 10, .threads = 2, .cpus = tserver_cpus };
    CU_ASSERT_PTR_EQUAL(
        gb_servers_get(&sv, &p, &(struct gb_server_spec){ .size = 10, .cpus = "last" }, why, sizeof why),
        one);
    struct gb_server *two = gb_servers_get(&sv, &p, &two_loops, why, sizeof why);
    CU_ASSERT_PTR_NOT_NULL_FATAL(two);
    CU_ASSERT_PTR_NOT_EQUAL(two, one);
    CU_ASSERT_PTR_EQUAL(gb_servers_get(&sv, &p, &two_loops, why, sizeof why), two);
    CU_ASSERT_EQUAL(sv.n, 2);
    struct gb_server_window w;
    take_window(two->url, &w);
    CU_ASSERT_EQUAL(w.nloops, 2);
    take_window(one->url, &w);
    CU_ASSERT_EQUAL(w.nloops, 1);
    /* TLS is a server of its own: https, its CA in the run's folder, its
     * window read over TLS verified against that CA. */
    struct gb_server *tls =
        gb_servers_get(&sv, &p, &(struct gb_server_spec){ .size = 10, .tls = true }, why, sizeof why);
    CU_ASSERT_PTR_NOT_NULL_FATAL(tls);
    CU_ASSERT_PTR_NOT_EQUAL(tls, one);
    CU_ASSERT_EQUAL(strncmp(tls->url, "https://127.0.0.1:", 18), 0);
    char ca[4200];
    snprintf(ca, sizeof ca, "%s/tls-2/ca.pem", dir);
    CU_ASSERT_STRING_EQUAL(tls->ca, ca);
    CU_ASSERT_EQUAL(gb_server_window(tls, &w, why, sizeof why), 0);
    CU_ASSERT_EQUAL(w.nloops, 1);
    /* The plain window asked of it, or its window against another CA, fail. */
    CU_ASSERT_EQUAL(gb_server_window_url(tls->url, NULL, &w, why, sizeof why), -EINVAL);
    char other[4200];
    snprintf(other, sizeof other, "%s/other.pem", dir);
    make_other_ca(other);
    CU_ASSERT_EQUAL(gb_server_window_url(tls->url, other, &w, why, sizeof why), -EPROTO);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "TLS verification"));
    /* A server that cannot start: why, and no slot taken. */
    CU_ASSERT_PTR_NULL(gb_servers_get(
        &sv, &p, &(struct gb_server_spec){ .size = 10, .threads = 2, .cpus = "1023" }, why, sizeof why));
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "local HTTP server"));
    CU_ASSERT_EQUAL(sv.n, 3);
    gb_servers_stop(&sv);
    char rm[8400];
    snprintf(rm, sizeof rm, "rm -rf '%s/tls-2' '%s'", dir, other);
    CU_ASSERT_EQUAL(system(rm), 0);
    snprintf(why, sizeof why, "%s/server.log", dir);
    FILE *f = fopen(why, "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    static char text[16384];
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = '\0';
    fclose(f);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "2 loops on CPUs"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "CPU 1023 is not a CPU this process may run on"));
    unlink(why);
    rmdir(dir);
}

/* ---- suites ---- */

static int server_init(void)
{
    char err[256];
    signal(SIGPIPE, SIG_IGN);
    /* 1 000 sockets here, 1 000 in the server. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    snprintf(server_path, sizeof server_path, "%s/greenbench-server", GREENBENCH_BIN_DIR);
    if (server_child_start(&server, server_path, 0, SIZE, -1, false, err, sizeof err) != 0) {
        fprintf(stderr, "test_server: %s\n", err);
        return -1;
    }
    return 0;
}

static int server_cleanup(void)
{
    /* A clean exit after all of the above is a test too. */
    return server_child_stop(&server) == 0 ? 0 : -1;
}

static CU_TestInfo server_tests[] = {
    { "first_line", test_first_line },
    { "get", test_get },
    { "query_overrides", test_query_overrides },
    { "large_body", test_large_body },
    { "size_mismatch_detected", test_size_mismatch_detected },
    { "head", test_head },
    { "bad_requests", test_bad_requests },
    { "keep_alive", test_keep_alive },
    { "pipelining_and_close", test_pipelining_and_close },
    { "pipelining_lf_endings", test_pipelining_lf_endings },
    { "error_bodies", test_error_bodies },
    { "http10_closes", test_http10_closes },
    { "mixed_delays", test_mixed_delays },
    { "thousand_connections", test_thousand_connections },
    { "curl", test_curl },
    { "lateness_report", test_lateness_report },
    { "signals", test_signals },
    { "bad_options", test_bad_options },
    { "fetch_bad_options", test_fetch_bad_options },
    { "bench_bad_options", test_bench_bad_options },
    { "seed_program", test_seed_program },
    { "fetch_port_out_of_range", test_fetch_port_out_of_range },
    { "fetch_tls_handshake_timeout", test_fetch_tls_handshake_timeout },
    CU_TEST_INFO_NULL,
};

static CU_TestInfo client_tests[] = {
    { "parser_every_split", test_parser_every_split },
    { "parser_errors", test_parser_errors },
    { "parser_first_blank_line", test_parser_first_blank_line },
    { "parser_interim_responses", test_parser_interim_responses },
    { "parser_chunked_every_split", test_parser_chunked_every_split },
    { "parser_chunked_forms", test_parser_chunked_forms },
    { "parser_chunked_errors", test_parser_chunked_errors },
    { "url_parsing", test_url_parsing },
    { "url_parsing_alone", test_url_parsing_alone },
    { "url_port_range", test_url_port_range },
    { "url_resolution", test_url_resolution },
    CU_TEST_INFO_NULL,
};

/* A server with --burn-us U on one CPU: its pid into *pid and its URL into
 * url (n bytes). 0, or -1. */
static int start_burning_server(long long us, pid_t *pid, char *url, size_t n)
{
    char burn[32];
    snprintf(burn, sizeof burn, "%lld", us);
    char size[32];
    snprintf(size, sizeof size, "%d", SIZE);
    char *argv[] = { server_path, "--delay-ms", "10",        "--size", size,
                     "--cpu",     "last",       "--burn-us", burn,     NULL };
    int out[2];
    if (pipe(out) != 0)
        return -1;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_addclose(&fa, out[0]);
    int rc = posix_spawn(pid, server_path, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(out[1]);
    FILE *f = rc == 0 ? fdopen(out[0], "r") : NULL;
    bool ok = f && fgets(url, (int)n, f) != NULL;
    if (f)
        fclose(f);
    else
        close(out[0]);
    url[strcspn(url, "\n")] = '\0';
    return ok ? 0 : -1;
}

/* The harness's rule (gb_server_window_late) on real windows: a server
 * that spends 400 us of CPU on each of 500 answers due at once answers them
 * up to 200 ms late: server-bound; 200 answers one at a time with no
 * delay are not. */
static void test_server_bound_detected(void)
{
    pid_t pid;
    char url[256];
    CU_ASSERT_EQUAL_FATAL(start_burning_server(400, &pid, url, sizeof url), 0);
    struct gb_server_window w;
    take_window(url, &w);
    const char *request = "GET /?delay_ms=10 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    CU_ASSERT_EQUAL(concurrent_gets(url, request, 500, SIZE), 500);
    take_window(url, &w);
    json_t *j = gb_server_window_json(&w);
    fprintf(stderr, "\n  burning 400 us each: p99 %.3f ms late, %lld of %lld over 1 ms", w.late_p99_ms,
            w.late_over_1ms, w.requests);
    CU_ASSERT_TRUE(gb_server_window_late(j, 10));
    json_decref(j);
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);

    take_window(tserver.url, &w);
    sequential_gets(tserver.url, "/?delay_ms=0", 200, SIZE);
    take_window(tserver.url, &w);
    j = gb_server_window_json(&w);
    fprintf(stderr, "\n  quiet: p99 %.3f ms late, %lld of %lld over 1 ms", w.late_p99_ms, w.late_over_1ms,
            w.requests);
    CU_ASSERT_EQUAL(w.requests, 200);
    CU_ASSERT_FALSE(gb_server_window_late(j, 0));
    json_decref(j);
}

static CU_TestInfo threads_tests[] = {
    { "window_answer", test_window_answer },
    { "threads_both_loops_serve", test_threads_both_loops_serve },
    { "threads_pinned", test_threads_pinned },
    { "threads_port_taken", test_threads_port_taken },
    { "threads_keep_alive_counted", test_threads_keep_alive_counted },
    { "threads_keep_alive_window", test_threads_keep_alive_window },
    { "threads_lateness_counted", test_threads_lateness_counted },
    { "window_client_errors", test_window_client_errors },
    { "threads_report_lines", test_threads_report_lines },
    { "exit_line_answers_and_gone", test_exit_line_answers_and_gone },
    { "threads_bad_options", test_threads_bad_options },
    { "harness_servers_keyed", test_harness_servers_keyed },
    { "server_bound_detected", test_server_bound_detected },
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo green_test_suites[] = {
    { .pName = "server", .pInitFunc = server_init, .pCleanupFunc = server_cleanup, .pTests = server_tests },
    { .pName = "threads",
      .pInitFunc = threads_init,
      .pCleanupFunc = threads_cleanup,
      .pTests = threads_tests },
    { .pName = "http_client", .pTests = client_tests },
    CU_SUITE_INFO_NULL,
};
