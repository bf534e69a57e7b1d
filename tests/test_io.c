/* tests/test_io.c: libgreen's cooperative I/O and DNS, over socketpairs,
 * pipes and a loopback listener (127.0.0.1 only). Linked once per
 * (context, loop) pair (ctest: io-<ctx>-<loop>). */
#include "green.h"
#include "fork_child.h"
#include "green_fixture.h"

#include <CUnit/CUnit.h>
#include <fcntl.h>
#include <float.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static void make_pair(int sv[2])
{
    CU_ASSERT_FATAL(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
}

typedef struct {
    int fd;
    size_t len;
    double timeout;
    double delay;
    char buf[256];
    ssize_t rc;
} io_job;

static void *reader(void *arg)
{
    io_job *j = arg;
    j->rc = green_read(j->fd, j->buf, j->len, j->timeout);
    return NULL;
}

static void *delayed_writer(void *arg)
{
    io_job *j = arg;
    green_sleep(j->delay);
    j->rc = green_write(j->fd, j->buf, j->len, j->timeout);
    return NULL;
}

static void test_read_waits_for_data(void)
{
    int sv[2];
    make_pair(sv);
    io_job r = { .fd = sv[0], .len = sizeof r.buf, .timeout = 5.0 };
    io_job w = { .fd = sv[1], .len = 5, .timeout = 5.0, .delay = 0.01 };
    memcpy(w.buf, "hello", 5);
    green_thread *g[2];
    CU_ASSERT_EQUAL_FATAL(green_spawn(&g[0], reader, &r), 0);
    CU_ASSERT_EQUAL_FATAL(green_spawn(&g[1], delayed_writer, &w), 0);
    CU_ASSERT_EQUAL(green_joinall(g, 2, 5.0), 2);
    CU_ASSERT_EQUAL(w.rc, 5);
    CU_ASSERT_EQUAL(r.rc, 5);
    CU_ASSERT(memcmp(r.buf, "hello", 5) == 0);
    green_release(g[0]);
    green_release(g[1]);
    close(sv[0]);
    close(sv[1]);
}

static void test_read_timeout(void)
{
    int sv[2];
    make_pair(sv);
    char c;
    CU_ASSERT_EQUAL(green_read(sv[0], &c, 1, 0), GREEN_ETIMEDOUT);
    double t0 = green_now();
    CU_ASSERT_EQUAL(green_read(sv[0], &c, 1, 0.02), GREEN_ETIMEDOUT);
    CU_ASSERT(green_now() - t0 >= 0.02);
    CU_ASSERT_EQUAL(green_recv(sv[0], &c, 1, 0, 0.005), GREEN_ETIMEDOUT);
    close(sv[0]);
    close(sv[1]);
}

static void test_peer_close(void)
{
    int sv[2];
    make_pair(sv);
    io_job r = { .fd = sv[0], .len = sizeof r.buf, .timeout = 5.0, .rc = 99 };
    green_thread *g;
    CU_ASSERT_EQUAL_FATAL(green_spawn(&g, reader, &r), 0);
    CU_ASSERT_EQUAL(green_yield(), 0);
    close(sv[1]);                               /* The peer goes away: EOF. */
    CU_ASSERT_EQUAL(green_join(g, 5.0, NULL), 0);
    CU_ASSERT_EQUAL(r.rc, 0);
    green_release(g);
    /* Writing to a closed peer: EPIPE, and no SIGPIPE. */
    CU_ASSERT_EQUAL(green_send(sv[0], "x", 1, 0, 1.0), GREEN_EPIPE);
    CU_ASSERT_EQUAL(green_write(sv[0], "x", 1, 1.0), GREEN_EPIPE);
    close(sv[0]);
}

/* A buffer far larger than the socket buffers: written in many parts while
 * a slow reader drains it; every byte arrives, in order. */
typedef struct {
    int fd;
    size_t got;
    int bad;
} drain_job;

static void *slow_drain(void *arg)
{
    drain_job *d = arg;
    unsigned char buf[16384];
    int turns = 0;
    for (;;) {
        ssize_t n = green_read(d->fd, buf, sizeof buf, 10.0);
        if (n <= 0)
            break;
        for (ssize_t i = 0; i < n; i++)
            d->bad += buf[i] != (unsigned char)((d->got + (size_t)i) * 7 % 251);
        d->got += (size_t)n;
        if (++turns % 64 == 0)
            green_sleep(0.0005);
    }
    return NULL;
}

static void test_partial_write_of_large_buffer(void)
{
    int sv[2];
    make_pair(sv);
    int small = 16384;
    setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    enum { LEN = 4 << 20 };
    unsigned char *big = malloc(LEN);
    CU_ASSERT_FATAL(big != NULL);
    for (size_t i = 0; i < LEN; i++)
        big[i] = (unsigned char)(i * 7 % 251);
    drain_job d = { .fd = sv[0] };
    green_thread *g;
    CU_ASSERT_EQUAL_FATAL(green_spawn(&g, slow_drain, &d), 0);
    CU_ASSERT_EQUAL(green_write(sv[1], big, LEN, 30.0), LEN);
    close(sv[1]);
    CU_ASSERT_EQUAL(green_join(g, 30.0, NULL), 0);
    CU_ASSERT_EQUAL(d.got, LEN);
    CU_ASSERT_EQUAL(d.bad, 0);
    green_release(g);
    close(sv[0]);
    /* Nobody reads: the write stops at the timeout with a short count. */
    make_pair(sv);
    double t0 = green_now();
    ssize_t n = green_write(sv[1], big, LEN, 0.02);
    CU_ASSERT(n > 0 && n < LEN);
    CU_ASSERT(green_now() - t0 >= 0.02);
    /* And a full buffer with timeout 0 reports the timeout itself. */
    CU_ASSERT_EQUAL(green_send(sv[1], big, LEN, 0, 0), GREEN_ETIMEDOUT);
    close(sv[0]);
    close(sv[1]);
    free(big);
}

/* A reader of fd r->fd, killed while it waits (and not yet run since). */
static green_thread *killed_reader(io_job *r)
{
    green_thread *g;
    CU_ASSERT_EQUAL_FATAL(green_spawn(&g, reader, r), 0);
    CU_ASSERT_EQUAL(green_sleep(0.002), 0);
    CU_ASSERT_EQUAL(r->rc, 99);
    CU_ASSERT_EQUAL(green_kill(g), 0);
    return g;
}

static void test_kill_while_waiting_on_io(void)
{
    int sv[2];
    make_pair(sv);
    io_job r = { .fd = sv[0], .len = 1, .timeout = GREEN_FOREVER, .rc = 99 };
    green_thread *g = killed_reader(&r);
    CU_ASSERT_EQUAL(green_join(g, 1.0, NULL), 0);
    CU_ASSERT_EQUAL(r.rc, GREEN_ECANCELED);
    green_release(g);
    /* The watcher is gone: data that comes now wakes nobody and stays. */
    CU_ASSERT_EQUAL(write(sv[1], "z", 1), 1);
    char c;
    CU_ASSERT_EQUAL(green_read(sv[0], &c, 1, 1.0), 1);
    CU_ASSERT_EQUAL(c, 'z');
    close(sv[0]);
    close(sv[1]);
}

/* As green.h says: kill the waiter, then close its fd. A socket opened
 * before the killed waiter runs again gets the same number, and a wait on
 * it must see its data (the libuv loop kept watching the closed file). */
static void test_killed_waiters_fd_closed_and_reused(void)
{
    int sv[2];
    make_pair(sv);
    io_job r = { .fd = sv[0], .len = 1, .timeout = GREEN_FOREVER, .rc = 99 };
    green_thread *g = killed_reader(&r);
    int old_fd = sv[0];
    close(sv[0]);
    close(sv[1]);
    make_pair(sv);
    CU_ASSERT_EQUAL(sv[0], old_fd);
    io_job w = { .fd = sv[1], .len = 1, .timeout = 1.0, .delay = 0.01, .buf = "n" };
    green_thread *wg;
    CU_ASSERT_EQUAL_FATAL(green_spawn(&wg, delayed_writer, &w), 0);
    char c = 0;
    CU_ASSERT_EQUAL(green_read(sv[0], &c, 1, 2.0), 1);
    CU_ASSERT_EQUAL(c, 'n');
    CU_ASSERT_EQUAL(green_join(g, 1.0, NULL), 0);
    CU_ASSERT_EQUAL(r.rc, GREEN_ECANCELED);
    CU_ASSERT_EQUAL(green_join(wg, 1.0, NULL), 0);
    green_release(g);
    green_release(wg);
    close(sv[0]);
    close(sv[1]);
}

static void test_reader_and_writer_on_one_socket(void)
{
    int sv[2];
    make_pair(sv);
    io_job r = { .fd = sv[0], .len = 3, .timeout = 5.0, .rc = 99 };
    io_job w = { .fd = sv[0], .len = 3, .timeout = 5.0, .delay = 0.001 };
    memcpy(w.buf, "abc", 3);
    green_thread *g[2];
    CU_ASSERT_EQUAL_FATAL(green_spawn(&g[0], reader, &r), 0);
    CU_ASSERT_EQUAL_FATAL(green_spawn(&g[1], delayed_writer, &w), 0);
    /* Join the writer rather than sleep past it: under valgrind on a loaded
     * machine a 5 ms sleep could end before the writer's 1 ms one. */
    CU_ASSERT_EQUAL(green_join(g[1], 5.0, NULL), 0);
    CU_ASSERT_EQUAL(w.rc, 3);                   /* Written while the reader waits. */
    CU_ASSERT_EQUAL(r.rc, 99);
    char buf[3];
    CU_ASSERT_EQUAL(green_read(sv[1], buf, 3, 1.0), 3);
    CU_ASSERT_EQUAL(green_write(sv[1], "xyz", 3, 1.0), 3);
    CU_ASSERT_EQUAL(green_joinall(g, 2, 5.0), 2);
    CU_ASSERT_EQUAL(r.rc, 3);
    CU_ASSERT(memcmp(r.buf, "xyz", 3) == 0);
    green_release(g[0]);
    green_release(g[1]);
    close(sv[0]);
    close(sv[1]);
}

static void test_pipes_and_wait_fd(void)
{
    int p[2];
    CU_ASSERT_FATAL(pipe(p) == 0);
    io_job r = { .fd = p[0], .len = 4, .timeout = 5.0 };
    io_job w = { .fd = p[1], .len = 4, .timeout = 5.0, .delay = 0.002 };
    memcpy(w.buf, "pipe", 4);
    green_thread *g[2];
    CU_ASSERT_EQUAL_FATAL(green_spawn(&g[0], reader, &r), 0);
    CU_ASSERT_EQUAL_FATAL(green_spawn(&g[1], delayed_writer, &w), 0);
    CU_ASSERT_EQUAL(green_joinall(g, 2, 5.0), 2);
    CU_ASSERT_EQUAL(r.rc, 4);
    CU_ASSERT(memcmp(r.buf, "pipe", 4) == 0);
    CU_ASSERT(fcntl(p[0], F_GETFL) & O_NONBLOCK);   /* Not a socket: made non-blocking. */
    green_release(g[0]);
    green_release(g[1]);
    char c;
    CU_ASSERT_EQUAL(green_recv(p[0], &c, 1, 0, 0.001), GREEN_ENOTSOCK);

    CU_ASSERT_EQUAL(green_wait_fd(p[0], 0, 1.0), GREEN_EINVAL);
    CU_ASSERT_EQUAL(green_wait_fd(p[0], 8, 1.0), GREEN_EINVAL);
    CU_ASSERT_EQUAL(green_wait_fd(p[0], GREEN_READ, 0), GREEN_ETIMEDOUT);
    CU_ASSERT_EQUAL(green_wait_fd(p[0], GREEN_READ, 0.005), GREEN_ETIMEDOUT);
    CU_ASSERT_EQUAL(green_wait_fd(p[1], GREEN_WRITE, 0), GREEN_WRITE);
    CU_ASSERT_EQUAL(green_wait_fd(p[1], GREEN_WRITE | GREEN_READ, 1.0), GREEN_WRITE);
    CU_ASSERT_EQUAL(write(p[1], "!", 1), 1);
    CU_ASSERT_EQUAL(green_wait_fd(p[0], GREEN_READ, 1.0), GREEN_READ);
    close(p[0]);
    close(p[1]);
    CU_ASSERT_EQUAL(green_wait_fd(p[0], GREEN_READ, 1.0), GREEN_EBADF);
    CU_ASSERT_EQUAL(green_wait_fd(-1, GREEN_READ, 1.0), GREEN_EBADF);
    FILE *f = tmpfile();
    CU_ASSERT_FATAL(f != NULL);
    CU_ASSERT_EQUAL(green_wait_fd(fileno(f), GREEN_READ, 1.0), GREEN_READ);   /* As poll(2). */
    fclose(f);
}

/* ---- green_wait_fd on any fd, and timeouts of any size ---- */

/* Run fn in a child process, on a new OS thread with a hub of its own (the
 * inherited hub's loop shares its epoll set with this process: the child
 * leaves it alone). The test passes if the child exits with 0. */
static void (*child_body)(void);

static void *hub_of_its_own(void *arg)
{
    (void)arg;
    CHILD_CHECK(green_init(NULL) == 0);
    child_body();
    CHILD_CHECK(green_fini() == 0);
    return NULL;
}

static void on_a_thread_of_its_own(void)
{
    pthread_t th;
    CHILD_CHECK(pthread_create(&th, NULL, hub_of_its_own, NULL) == 0);
    CHILD_CHECK(pthread_join(th, NULL) == 0);
}

static void run_in_child(void (*fn)(void))
{
    child_body = fn;
    CU_ASSERT(fork_child_ok(fork_child(on_a_thread_of_its_own, 60)));
}

static const int all_asks[] = { GREEN_READ, GREEN_WRITE, GREEN_READ | GREEN_WRITE };
static const double some_timeouts[] = { 1.0, 0, GREEN_FOREVER };

/* fds epoll cannot watch (poll(2) reports them always ready): ready at
 * once for everything asked, whatever the timeout, on every backend. */
static void test_wait_fd_on_fds_epoll_refuses(void)
{
    FILE *f = tmpfile();
    CU_ASSERT_FATAL(f != NULL);
    int fds[] = { fileno(f), open("/dev/null", O_RDWR), open("/dev/zero", O_RDONLY), open(".", O_RDONLY) };
    for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++) {
        CU_ASSERT_FATAL(fds[i] >= 0);
        for (size_t a = 0; a < sizeof all_asks / sizeof all_asks[0]; a++) {
            for (size_t t = 0; t < sizeof some_timeouts / sizeof some_timeouts[0]; t++) {
                int rc = green_wait_fd(fds[i], all_asks[a], some_timeouts[t]);
                if (rc != all_asks[a])
                    fprintf(stderr, "\n    fd %zu, events %d, timeout %g: %d (%s)\n", i, all_asks[a],
                            some_timeouts[t], rc, rc < 0 ? green_strerror(rc) : "ready");
                CU_ASSERT_EQUAL(rc, all_asks[a]);
            }
        }
    }
    fclose(f);
    for (size_t i = 1; i < sizeof fds / sizeof fds[0]; i++)
        close(fds[i]);
}

/* An fd number first waited on as a socket (so the loop has seen it),
 * closed, and reused by files epoll refuses, then by a socket again. */
static void reuse_fd_numbers(void)
{
    int sv[2];
    CHILD_CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    int n = sv[0];
    CHILD_CHECK(green_wait_fd(n, GREEN_READ, 0.005) == GREEN_ETIMEDOUT);
    close(sv[0]);
    close(sv[1]);
    FILE *f = tmpfile();
    CHILD_CHECK(f != NULL);
    int refused[] = { open("/dev/null", O_RDWR), fileno(f), open("/dev/zero", O_RDONLY) };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        CHILD_CHECK(refused[i] >= 0 && dup2(refused[i], n) == n);
        CHILD_CHECK(green_wait_fd(n, GREEN_READ, 1.0) == GREEN_READ);
        CHILD_CHECK(green_wait_fd(n, GREEN_READ | GREEN_WRITE, GREEN_FOREVER) == (GREEN_READ | GREEN_WRITE));
    }
    CHILD_CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    CHILD_CHECK(dup2(sv[0], n) == n);
    close(sv[0]);
    CHILD_CHECK(green_wait_fd(n, GREEN_READ, 0.005) == GREEN_ETIMEDOUT);
    CHILD_CHECK(write(sv[1], "x", 1) == 1);
    CHILD_CHECK(green_wait_fd(n, GREEN_READ, 1.0) == GREEN_READ);
    close(n);
    close(sv[1]);
}

static void test_wait_fd_on_reused_fd_number(void)
{
    run_in_child(reuse_fd_numbers);
}

typedef struct {
    int fd;
    int events;
    int rc;
} fd_waiter;

static void *wait_on_fd(void *arg)
{
    fd_waiter *w = arg;
    w->rc = green_wait_fd(w->fd, w->events, 5.0);
    return NULL;
}

/* A pipe whose writer closed with data still unread: the hang-up makes the
 * read end ready for everything asked, whether it came before the call or
 * while the call waits. */
static void test_wait_fd_hangup_reports_all(void)
{
    const int both = GREEN_READ | GREEN_WRITE;
    int p[2];
    CU_ASSERT_FATAL(pipe(p) == 0);
    CU_ASSERT_EQUAL(write(p[1], "x", 1), 1);
    close(p[1]);
    CU_ASSERT_EQUAL(green_wait_fd(p[0], both, 1.0), both);
    CU_ASSERT_EQUAL(green_wait_fd(p[0], both, 0), both);
    close(p[0]);

    CU_ASSERT_FATAL(pipe(p) == 0);
    fd_waiter w = { .fd = p[0], .events = both, .rc = 99 };
    green_thread *g;
    CU_ASSERT_EQUAL_FATAL(green_spawn(&g, wait_on_fd, &w), 0);
    CU_ASSERT_EQUAL(green_yield(), 0);          /* Now it waits in the loop. */
    CU_ASSERT_EQUAL(w.rc, 99);
    CU_ASSERT_EQUAL(write(p[1], "x", 1), 1);
    close(p[1]);
    CU_ASSERT_EQUAL(green_join(g, 5.0, NULL), 0);
    CU_ASSERT_EQUAL(w.rc, both);
    green_release(g);
    close(p[0]);
}

/* Timeouts far beyond what a loop library counts (libuv: 2^64 ms, about
 * 1.8e16 s): each call still waits, until it is killed. */
enum { WAIT_SLEEP, WAIT_EVENT, WAIT_FD, WAIT_RECV, WAIT_KINDS };

typedef struct {
    int kind;
    double timeout;
    green_event *ev;
    int fd;
    int rc;
} long_wait;

static void *wait_long(void *arg)
{
    long_wait *w = arg;
    char c;
    switch (w->kind) {
    case WAIT_SLEEP: w->rc = green_sleep(w->timeout); break;
    case WAIT_EVENT: w->rc = green_event_wait(w->ev, w->timeout); break;
    case WAIT_FD: w->rc = green_wait_fd(w->fd, GREEN_READ, w->timeout); break;
    default: w->rc = (int)green_recv(w->fd, &c, 1, 0, w->timeout); break;
    }
    return NULL;
}

static void test_huge_timeouts_wait(void)
{
    const double timeouts[] = { 1e17, 1e300, DBL_MAX };
    int sv[2];
    make_pair(sv);
    green_event *ev;
    CU_ASSERT_EQUAL_FATAL(green_event_new(&ev), 0);
    for (size_t t = 0; t < sizeof timeouts / sizeof timeouts[0]; t++) {
        long_wait w[WAIT_KINDS];
        green_thread *g[WAIT_KINDS];
        for (int k = 0; k < WAIT_KINDS; k++) {
            w[k] = (long_wait){ .kind = k, .timeout = timeouts[t], .ev = ev, .fd = sv[0], .rc = 99 };
            CU_ASSERT_EQUAL_FATAL(green_spawn(&g[k], wait_long, &w[k]), 0);
        }
        CU_ASSERT_EQUAL(green_sleep(0.05), 0);
        for (int k = 0; k < WAIT_KINDS; k++) {
            if (w[k].rc != 99)
                fprintf(stderr, "\n    wait %d, timeout %g: returned %d within 50 ms\n", k, timeouts[t], w[k].rc);
            CU_ASSERT_EQUAL(w[k].rc, 99);
            CU_ASSERT_EQUAL(green_kill(g[k]), 0);
        }
        CU_ASSERT_EQUAL(green_joinall(g, WAIT_KINDS, 5.0), WAIT_KINDS);
        for (int k = 0; k < WAIT_KINDS; k++) {
            CU_ASSERT_EQUAL(w[k].rc, GREEN_ECANCELED);
            green_release(g[k]);
        }
    }
    green_event_free(ev);
    close(sv[0]);
    close(sv[1]);
}

/* ---- a loopback listener ---- */

static int listen_loopback(struct sockaddr_in *addr)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    CU_ASSERT_FATAL(fd >= 0);
    memset(addr, 0, sizeof *addr);
    addr->sin_family = AF_INET;
    addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CU_ASSERT_FATAL(bind(fd, (struct sockaddr *)addr, sizeof *addr) == 0);
    socklen_t len = sizeof *addr;
    CU_ASSERT_FATAL(getsockname(fd, (struct sockaddr *)addr, &len) == 0);
    CU_ASSERT_FATAL(listen(fd, 128) == 0);
    return fd;
}

static void *echo_once(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char buf[64];
    ssize_t n = green_recv(fd, buf, sizeof buf, 0, 5.0);
    if (n > 0)
        green_send(fd, buf, (size_t)n, 0, 5.0);
    close(fd);
    return NULL;
}

typedef struct {
    int lfd;
    int n;
    int accepted;
} server_job;

static void *server(void *arg)
{
    server_job *s = arg;
    for (int i = 0; i < s->n; i++) {
        struct sockaddr_in peer;
        socklen_t len = sizeof peer;
        int c = green_accept(s->lfd, (struct sockaddr *)&peer, &len, 5.0);
        if (c < 0)
            break;
        CU_ASSERT(fcntl(c, F_GETFL) & O_NONBLOCK);
        s->accepted++;
        green_spawn(NULL, echo_once, (void *)(intptr_t)c);
    }
    return NULL;
}

typedef struct {
    struct sockaddr_in addr;
    int id;
    int ok;
} client_job;

static void *client(void *arg)
{
    client_job *c = arg;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return NULL;
    int err = green_connect(fd, (struct sockaddr *)&c->addr, sizeof c->addr, 5.0);
    CU_ASSERT_EQUAL(err, 0);
    if (err == 0) {
        char msg[32], back[32];
        int len = snprintf(msg, sizeof msg, "client %d", c->id);
        CU_ASSERT_EQUAL(green_send(fd, msg, (size_t)len, 0, 5.0), len);
        ssize_t got = 0;
        while (got < len) {
            ssize_t n = green_recv(fd, back + got, sizeof back - (size_t)got, 0, 5.0);
            if (n <= 0)
                break;
            got += n;
        }
        c->ok = got == len && memcmp(msg, back, (size_t)len) == 0;
    }
    close(fd);
    return NULL;
}

static void test_loopback_echo(void)
{
    struct sockaddr_in addr;
    int lfd = listen_loopback(&addr);
    enum { N = 20 };
    server_job s = { .lfd = lfd, .n = N };
    client_job c[N];
    green_thread *g[N + 1];
    CU_ASSERT_EQUAL_FATAL(green_spawn(&g[N], server, &s), 0);
    for (int i = 0; i < N; i++) {
        c[i] = (client_job){ .addr = addr, .id = i };
        CU_ASSERT_EQUAL_FATAL(green_spawn(&g[i], client, &c[i]), 0);
    }
    CU_ASSERT_EQUAL(green_joinall(g, N + 1, 10.0), N + 1);
    CU_ASSERT_EQUAL(s.accepted, N);
    int ok = 0;
    for (int i = 0; i < N; i++)
        ok += c[i].ok;
    CU_ASSERT_EQUAL(ok, N);
    for (int i = 0; i <= N; i++)
        green_release(g[i]);
    /* accept with nobody connecting: the timeout. */
    double t0 = green_now();
    CU_ASSERT_EQUAL(green_accept(lfd, NULL, NULL, 0.01), GREEN_ETIMEDOUT);
    CU_ASSERT(green_now() - t0 >= 0.01);
    CU_ASSERT_EQUAL(green_accept(lfd, NULL, NULL, 0), GREEN_ETIMEDOUT);
    close(lfd);
}

static void test_connect_refused(void)
{
    struct sockaddr_in addr;
    int lfd = listen_loopback(&addr);
    close(lfd);                                 /* Nobody listens on that port now. */
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_EQUAL(green_connect(fd, (struct sockaddr *)&addr, sizeof addr, 5.0), GREEN_ECONNREFUSED);
    close(fd);
    CU_ASSERT_EQUAL(green_connect(-1, (struct sockaddr *)&addr, sizeof addr, 5.0), GREEN_EBADF);
}

/* ---- DNS ---- */

static int ticks;

static void *ticker(void *arg)
{
    int *stop = arg;
    ticks++;
    while (!*stop && green_sleep(0.001) == 0)
        ticks++;
    return NULL;
}

static void test_getaddrinfo_localhost(void)
{
    int stop = 0;
    ticks = 0;
    green_thread *t;
    CU_ASSERT_EQUAL_FATAL(green_spawn(&t, ticker, &stop), 0);
    struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_STREAM };
    struct addrinfo *res = NULL;
    CU_ASSERT_EQUAL(green_getaddrinfo("localhost", "80", &hints, &res), 0);
    CU_ASSERT(ticks >= 1);      /* Spawned before the query: it ran meanwhile. */
    CU_ASSERT_PTR_NOT_NULL_FATAL(res);
    struct sockaddr_in *sin = (struct sockaddr_in *)res->ai_addr;
    CU_ASSERT_EQUAL(res->ai_family, AF_INET);
    CU_ASSERT_EQUAL(ntohl(sin->sin_addr.s_addr), INADDR_LOOPBACK);
    CU_ASSERT_EQUAL(ntohs(sin->sin_port), 80);
    freeaddrinfo(res);
    /* The ticker got the CPU while the query ran in a worker thread. */
    CU_ASSERT_TRUE(green_ended(t) == 0);
    stop = 1;
    CU_ASSERT_EQUAL(green_join(t, 1.0, NULL), 0);
    green_release(t);
    CU_ASSERT_EQUAL(green_getaddrinfo("localhost", NULL, NULL, NULL), GREEN_EINVAL);
}

typedef struct {
    int started;
} marker;

static void *note_start(void *arg)
{
    marker *m = arg;
    m->started = 1;
    return NULL;
}

static void test_getaddrinfo_nonexistent(void)
{
    /* Spawned before the query, it can only run while the query runs. */
    marker m = { 0 };
    green_thread *t;
    CU_ASSERT_EQUAL_FATAL(green_spawn(&t, note_start, &m), 0);
    struct addrinfo *res = (struct addrinfo *)&res;
    int rc = green_getaddrinfo("nonexistent.invalid", "80", NULL, &res);
    CU_ASSERT_EQUAL(m.started, 1);
    CU_ASSERT_PTR_NULL(res);
    /* Without a resolver the error may be EAI_AGAIN; with one, EAI_NONAME. */
    CU_ASSERT(rc == GREEN_EAI_NONAME || rc == GREEN_EAI_AGAIN || rc == GREEN_EAI_FAIL ||
              rc == GREEN_EAI_NODATA);
    CU_ASSERT(rc <= GREEN_EAI_FIRST && rc > GREEN_EAI_LAST);
    CU_ASSERT_STRING_NOT_EQUAL(green_strerror(rc), "unknown error");
    CU_ASSERT_EQUAL(green_join(t, 1.0, NULL), 0);
    green_release(t);
    /* A service that does not exist: a getaddrinfo error too, mapped. */
    struct addrinfo hints = { .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV };
    CU_ASSERT_EQUAL(green_getaddrinfo("not-a-number", "80", &hints, &res), GREEN_EAI_NONAME);
}

typedef struct {
    const char *name;
    int rc;
} dns_job;

static void *resolve(void *arg)
{
    dns_job *j = arg;
    struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_STREAM };
    struct addrinfo *res = NULL;
    j->rc = green_getaddrinfo(j->name, "http", &hints, &res);
    if (res != NULL)
        freeaddrinfo(res);
    return NULL;
}

static void test_getaddrinfo_many_and_killed(void)
{
    enum { N = 24 };
    dns_job j[N];
    green_thread *g[N];
    for (int i = 0; i < N; i++) {
        j[i] = (dns_job){ .name = i % 3 ? "localhost" : "127.0.0.1", .rc = 99 };
        CU_ASSERT_EQUAL_FATAL(green_spawn(&g[i], resolve, &j[i]), 0);
    }
    CU_ASSERT_EQUAL(green_yield(), 0);          /* All submitted; now kill two. */
    CU_ASSERT_EQUAL(green_kill(g[4]), 0);
    CU_ASSERT_EQUAL(green_kill(g[5]), 0);
    CU_ASSERT_EQUAL(green_joinall(g, N, 10.0), N);
    for (int i = 0; i < N; i++) {
        if (i == 4 || i == 5) {
            CU_ASSERT(j[i].rc == GREEN_ECANCELED || j[i].rc == 0);
        } else {
            CU_ASSERT_EQUAL(j[i].rc, 0);
        }
        green_release(g[i]);
    }
    /* One left waiting at green_fini: its answer is waited for and dropped. */
    dns_job last = { .name = "localhost", .rc = 99 };
    CU_ASSERT_EQUAL_FATAL(green_spawn(NULL, resolve, &last), 0);
    CU_ASSERT_EQUAL(green_yield(), 0);
    CU_ASSERT_EQUAL(green_fini(), 0);
    CU_ASSERT(last.rc == GREEN_ECANCELED || last.rc == 0);
    CU_ASSERT_EQUAL_FATAL(green_init(NULL), 0);
}

/* Two OS threads, a hub each, sharing the resolver's workers. */
typedef struct {
    int ok;
    int resolved;
} hub_job;

static void *hub_thread(void *arg)
{
    hub_job *j = arg;
    if (green_init(NULL) != 0)
        return NULL;
    enum { N = 8 };
    dns_job d[N];
    green_thread *g[N];
    int spawned = 0;
    for (int i = 0; i < N; i++) {
        d[i] = (dns_job){ .name = "localhost", .rc = 99 };
        spawned += green_spawn(&g[i], resolve, &d[i]) == 0;
    }
    if (spawned == N && green_joinall(g, N, 10.0) == N) {
        for (int i = 0; i < N; i++)
            j->resolved += d[i].rc == 0;
    }
    for (int i = 0; i < spawned; i++)
        green_release(g[i]);
    j->ok = green_fini() == 0;
    return NULL;
}

/* A connect the kernel cannot finish at once parks its green thread (the
 * others run) until the timeout. A listener with a backlog of 0 that never
 * accepts takes one connection; the kernel drops the SYNs after that, so
 * the next connect stays in progress. */
static void test_connect_in_progress_parks(void)
{
    struct sockaddr_in addr;
    int lfd = listen_loopback(&addr);
    CU_ASSERT_FATAL(listen(lfd, 0) == 0);
    int fillers[4], queued = 0;
    for (int i = 0; i < 4; i++) {
        fillers[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        CU_ASSERT_FATAL(fillers[i] >= 0);
        queued += connect(fillers[i], (struct sockaddr *)&addr, sizeof addr) == 0;
    }
    int stop = 0;
    ticks = 0;
    green_thread *t;
    CU_ASSERT_EQUAL_FATAL(green_spawn(&t, ticker, &stop), 0);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    CU_ASSERT_FATAL(fd >= 0);
    double t0 = green_now();
    CU_ASSERT_EQUAL(green_connect(fd, (struct sockaddr *)&addr, sizeof addr, 0.2), GREEN_ETIMEDOUT);
    double took = green_now() - t0;
    CU_ASSERT(took >= 0.2);
    CU_ASSERT(took < 0.9);      /* Before the SYN's first retransmission (1 s). */
    CU_ASSERT(ticks >= 10);     /* The ticker ran while the connect waited. */
    CU_ASSERT(queued <= 1);     /* Else the listener took more than the test assumes. */
    stop = 1;
    CU_ASSERT_EQUAL(green_join(t, 1.0, NULL), 0);
    green_release(t);
    close(fd);
    for (int i = 0; i < 4; i++)
        close(fillers[i]);
    close(lfd);
}

static void test_two_hubs_in_two_threads(void)
{
    /* The suite's hub stays on this thread; two more run beside it. */
    pthread_t th[2];
    hub_job j[2] = { { 0 }, { 0 } };
    for (int i = 0; i < 2; i++)
        CU_ASSERT_FATAL(pthread_create(&th[i], NULL, hub_thread, &j[i]) == 0);
    dns_job mine = { .name = "localhost", .rc = 99 };
    green_thread *g;
    CU_ASSERT_EQUAL_FATAL(green_spawn(&g, resolve, &mine), 0);
    CU_ASSERT_EQUAL(green_join(g, 10.0, NULL), 0);
    green_release(g);
    for (int i = 0; i < 2; i++) {
        pthread_join(th[i], NULL);
        CU_ASSERT(j[i].ok);
        CU_ASSERT_EQUAL(j[i].resolved, 8);
    }
    CU_ASSERT_EQUAL(mine.rc, 0);
}

static CU_TestInfo io_tests[] = {
    { "read_waits_for_data", test_read_waits_for_data },
    { "read_timeout", test_read_timeout },
    { "peer_close", test_peer_close },
    { "partial_write_of_large_buffer", test_partial_write_of_large_buffer },
    { "kill_while_waiting_on_io", test_kill_while_waiting_on_io },
    { "killed_waiters_fd_closed_and_reused", test_killed_waiters_fd_closed_and_reused },
    { "reader_and_writer_on_one_socket", test_reader_and_writer_on_one_socket },
    { "pipes_and_wait_fd", test_pipes_and_wait_fd },
    { "wait_fd_on_fds_epoll_refuses", test_wait_fd_on_fds_epoll_refuses },
    { "wait_fd_on_reused_fd_number", test_wait_fd_on_reused_fd_number },
    { "wait_fd_hangup_reports_all", test_wait_fd_hangup_reports_all },
    { "huge_timeouts_wait", test_huge_timeouts_wait },
    { "loopback_echo", test_loopback_echo },
    { "connect_refused", test_connect_refused },
    { "getaddrinfo_localhost", test_getaddrinfo_localhost },
    { "getaddrinfo_nonexistent", test_getaddrinfo_nonexistent },
    { "getaddrinfo_many_and_killed", test_getaddrinfo_many_and_killed },
    { "connect_in_progress_parks", test_connect_in_progress_parks },
    { "two_hubs_in_two_threads", test_two_hubs_in_two_threads },
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo green_test_suites[] = {
    { .pName = "io", .pTests = io_tests, .pSetUpFunc = green_fixture_setup,
      .pTearDownFunc = green_fixture_teardown },
    CU_SUITE_INFO_NULL,
};
