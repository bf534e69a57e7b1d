/* tests/test_loop.c: the event-loop contract (backends/loop/loop.h), linked
 * once against every loop backend (ctest: loop-<name>). */
#include "fork_child.h"
#include "loop.h"

#include <CUnit/CUnit.h>
#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static green_loop *new_loop(void)
{
    green_loop *loop = NULL;
    CU_ASSERT_FATAL(green_loop_new(&loop, NULL, NULL) == 0);
    CU_ASSERT_FATAL(loop != NULL);
    return loop;
}

static void make_pair(int sv[2])
{
    CU_ASSERT_FATAL(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) == 0);
}

/* Watchers that count their calls. */
typedef struct {
    green_loop_io io;
    int calls;
    int revents;
} io_rec;

static int fire_seq;

static void on_io(green_loop_io *io, int revents)
{
    io_rec *r = (io_rec *)io;
    r->calls++;
    r->revents = revents;
}

typedef struct {
    green_loop_timer t;
    int calls;
    int order;
    double fired_at;
} timer_rec;

static void on_timer(green_loop_timer *t)
{
    timer_rec *r = (timer_rec *)t;
    r->calls++;
    r->order = ++fire_seq;
    r->fired_at = now();
}

/* Run blocking iterations until cond holds (at most ~n of them). */
#define RUN_UNTIL(loop, cond)                                   \
    do {                                                        \
        for (int _i = 0; _i < 1000 && !(cond); _i++)            \
            green_loop_run((loop), 1);                          \
    } while (0)

static void test_name(void)
{
    const char *name = green_loop_name();
    CU_ASSERT_PTR_NOT_NULL_FATAL(name);
    /* The name CMake registered it under (green_add_loop_backend). */
    CU_ASSERT_STRING_EQUAL(name, GREEN_TEST_LOOP);
}

static void test_empty_loop_does_not_block(void)
{
    green_loop *loop = new_loop();
    double t0 = now();
    CU_ASSERT_EQUAL(green_loop_run(loop, 1), 0);
    CU_ASSERT_EQUAL(green_loop_run(loop, 0), 0);
    CU_ASSERT(now() - t0 < 0.5);
    green_loop_free(loop);
}

static void test_io_read_is_one_shot(void)
{
    green_loop *loop = new_loop();
    int sv[2];
    make_pair(sv);
    io_rec r = { 0 };
    CU_ASSERT_EQUAL(green_loop_io_start(loop, &r.io, sv[0], GREEN_LOOP_READ, on_io), 0);
    CU_ASSERT_EQUAL(green_loop_run(loop, 0), 1);     /* Nothing to read: still waiting. */
    CU_ASSERT_EQUAL(r.calls, 0);
    CU_ASSERT_EQUAL(write(sv[1], "x", 1), 1);
    RUN_UNTIL(loop, r.calls > 0);
    CU_ASSERT_EQUAL(r.calls, 1);
    CU_ASSERT_EQUAL(r.revents, GREEN_LOOP_READ);
    /* Still readable, but the watcher fired once and is stopped. */
    CU_ASSERT_EQUAL(green_loop_run(loop, 0), 0);
    CU_ASSERT_EQUAL(r.calls, 1);
    green_loop_io_stop(loop, &r.io);                 /* After firing: a no-op. */
    /* And it can be started again. */
    CU_ASSERT_EQUAL(green_loop_io_start(loop, &r.io, sv[0], GREEN_LOOP_READ, on_io), 0);
    RUN_UNTIL(loop, r.calls > 1);
    CU_ASSERT_EQUAL(r.calls, 2);
    close(sv[0]);
    close(sv[1]);
    green_loop_free(loop);
}

static void test_io_write_ready(void)
{
    green_loop *loop = new_loop();
    int sv[2];
    make_pair(sv);
    io_rec r = { 0 };
    CU_ASSERT_EQUAL(green_loop_io_start(loop, &r.io, sv[0], GREEN_LOOP_WRITE, on_io), 0);
    RUN_UNTIL(loop, r.calls > 0);
    CU_ASSERT_EQUAL(r.calls, 1);
    CU_ASSERT_EQUAL(r.revents, GREEN_LOOP_WRITE);
    close(sv[0]);
    close(sv[1]);
    green_loop_free(loop);
}

static void test_io_stop_before_fire(void)
{
    green_loop *loop = new_loop();
    int sv[2];
    make_pair(sv);
    io_rec r = { 0 };
    CU_ASSERT_EQUAL(green_loop_io_start(loop, &r.io, sv[0], GREEN_LOOP_READ, on_io), 0);
    green_loop_io_stop(loop, &r.io);
    green_loop_io_stop(loop, &r.io);                 /* Twice: still fine. */
    CU_ASSERT_EQUAL(write(sv[1], "x", 1), 1);
    CU_ASSERT_EQUAL(green_loop_run(loop, 0), 0);
    CU_ASSERT_EQUAL(green_loop_run(loop, 1), 0);
    CU_ASSERT_EQUAL(r.calls, 0);
    close(sv[0]);
    close(sv[1]);
    green_loop_free(loop);
}

static void test_io_reader_and_writer_on_one_fd(void)
{
    green_loop *loop = new_loop();
    int sv[2];
    make_pair(sv);
    io_rec rd = { 0 }, wr = { 0 };
    CU_ASSERT_EQUAL(green_loop_io_start(loop, &rd.io, sv[0], GREEN_LOOP_READ, on_io), 0);
    CU_ASSERT_EQUAL(green_loop_io_start(loop, &wr.io, sv[0], GREEN_LOOP_WRITE, on_io), 0);
    RUN_UNTIL(loop, wr.calls > 0);
    CU_ASSERT_EQUAL(wr.calls, 1);
    CU_ASSERT_EQUAL(wr.revents, GREEN_LOOP_WRITE);
    CU_ASSERT_EQUAL(rd.calls, 0);                    /* The reader still waits. */
    CU_ASSERT_EQUAL(green_loop_run(loop, 0), 1);
    CU_ASSERT_EQUAL(rd.calls, 0);
    CU_ASSERT_EQUAL(write(sv[1], "x", 1), 1);
    RUN_UNTIL(loop, rd.calls > 0);
    CU_ASSERT_EQUAL(rd.calls, 1);
    CU_ASSERT_EQUAL(rd.revents, GREEN_LOOP_READ);
    CU_ASSERT_EQUAL(wr.calls, 1);
    close(sv[0]);
    close(sv[1]);
    green_loop_free(loop);
}

static void test_io_two_readers_both_fire(void)
{
    green_loop *loop = new_loop();
    int sv[2];
    make_pair(sv);
    io_rec a = { 0 }, b = { 0 };
    CU_ASSERT_EQUAL(green_loop_io_start(loop, &a.io, sv[0], GREEN_LOOP_READ, on_io), 0);
    CU_ASSERT_EQUAL(green_loop_io_start(loop, &b.io, sv[0], GREEN_LOOP_READ, on_io), 0);
    green_loop_io_stop(loop, &a.io);                 /* Stop one: the other still waits. */
    CU_ASSERT_EQUAL(green_loop_io_start(loop, &a.io, sv[0], GREEN_LOOP_READ, on_io), 0);
    CU_ASSERT_EQUAL(write(sv[1], "x", 1), 1);
    RUN_UNTIL(loop, a.calls > 0 && b.calls > 0);
    CU_ASSERT_EQUAL(a.calls, 1);
    CU_ASSERT_EQUAL(b.calls, 1);
    close(sv[0]);
    close(sv[1]);
    green_loop_free(loop);
}

static void test_io_read_and_write_in_one_watcher(void)
{
    green_loop *loop = new_loop();
    int sv[2];
    make_pair(sv);
    CU_ASSERT_EQUAL(write(sv[1], "x", 1), 1);
    io_rec r = { 0 };
    CU_ASSERT_EQUAL(green_loop_io_start(loop, &r.io, sv[0], GREEN_LOOP_READ | GREEN_LOOP_WRITE, on_io), 0);
    RUN_UNTIL(loop, r.calls > 0);
    CU_ASSERT_EQUAL(r.calls, 1);
    CU_ASSERT(r.revents & GREEN_LOOP_WRITE);
    CU_ASSERT_EQUAL(r.revents & ~(GREEN_LOOP_READ | GREEN_LOOP_WRITE), 0);
    close(sv[0]);
    close(sv[1]);
    green_loop_free(loop);
}

static void test_io_peer_close_is_readable(void)
{
    green_loop *loop = new_loop();
    int sv[2];
    make_pair(sv);
    io_rec r = { 0 };
    CU_ASSERT_EQUAL(green_loop_io_start(loop, &r.io, sv[0], GREEN_LOOP_READ, on_io), 0);
    close(sv[1]);
    RUN_UNTIL(loop, r.calls > 0);
    CU_ASSERT_EQUAL(r.calls, 1);
    CU_ASSERT(r.revents & GREEN_LOOP_READ);
    char c;
    CU_ASSERT_EQUAL(read(sv[0], &c, 1), 0);          /* EOF. */
    close(sv[0]);
    green_loop_free(loop);
}

/* A callback that starts a new watcher on the same, still-readable fd: the
 * new one must not fire within the same dispatch (no endless loop). */
typedef struct {
    green_loop_io io;
    green_loop *loop;
    int fd;
    int calls;
} rearm_rec;

static void on_rearm(green_loop_io *io, int revents)
{
    (void)revents;
    rearm_rec *r = (rearm_rec *)io;
    r->calls++;
    if (r->calls < 3)
        CU_ASSERT_EQUAL(green_loop_io_start(r->loop, &r->io, r->fd, GREEN_LOOP_READ, on_rearm), 0);
}

static void test_io_restart_from_callback(void)
{
    green_loop *loop = new_loop();
    int sv[2];
    make_pair(sv);
    CU_ASSERT_EQUAL(write(sv[1], "x", 1), 1);
    rearm_rec r = { .loop = loop, .fd = sv[0] };
    CU_ASSERT_EQUAL(green_loop_io_start(loop, &r.io, sv[0], GREEN_LOOP_READ, on_rearm), 0);
    RUN_UNTIL(loop, r.calls > 0);
    CU_ASSERT(r.calls >= 1 && r.calls <= 2);
    RUN_UNTIL(loop, r.calls >= 3);
    CU_ASSERT_EQUAL(r.calls, 3);
    CU_ASSERT_EQUAL(green_loop_run(loop, 0), 0);
    close(sv[0]);
    close(sv[1]);
    green_loop_free(loop);
}

/* GREEN_LOOP_POLLABLE is the caller's word, not an event: a socket waited
 * on with it waits as without, and revents never has it. */
static void test_io_pollable_word(void)
{
    green_loop *loop = new_loop();
    int sv[2];
    make_pair(sv);
    io_rec r = { 0 };
    CU_ASSERT_EQUAL(green_loop_io_start(loop, &r.io, sv[0], GREEN_LOOP_READ | GREEN_LOOP_POLLABLE, on_io), 0);
    CU_ASSERT_EQUAL(green_loop_run(loop, 0), 1);
    CU_ASSERT_EQUAL(r.calls, 0);
    CU_ASSERT_EQUAL(write(sv[1], "x", 1), 1);
    RUN_UNTIL(loop, r.calls > 0);
    CU_ASSERT_EQUAL(r.calls, 1);
    CU_ASSERT_EQUAL(r.revents, GREEN_LOOP_READ);
    CU_ASSERT_EQUAL(green_loop_io_start(loop, &r.io, sv[0], GREEN_LOOP_POLLABLE, on_io), -EINVAL);
    close(sv[0]);
    close(sv[1]);
    green_loop_free(loop);
}

static void test_io_bad_arguments(void)
{
    green_loop *loop = new_loop();
    io_rec r = { 0 };
    CU_ASSERT_EQUAL(green_loop_io_start(loop, &r.io, -1, GREEN_LOOP_READ, on_io), -EINVAL);
    CU_ASSERT_EQUAL(green_loop_io_start(loop, &r.io, 0, 0, on_io), -EINVAL);
    CU_ASSERT_EQUAL(green_loop_io_start(loop, &r.io, 0, GREEN_LOOP_READ, NULL), -EINVAL);
    CU_ASSERT_EQUAL(green_loop_run(loop, 0), 0);
    green_loop_free(loop);
}

/* ---- fds epoll cannot watch, hang-ups, reused fd numbers ---- */

/* Run fn in a child process; the test passes if it exits with 0. */
static void run_in_child(void (*fn)(void))
{
    CU_ASSERT(fork_child_ok(fork_child(fn, 60)));
}

/* Start a watcher on fd for events and run until it fires: its revents,
 * or -1 if it did not fire, or the start's error. */
static int fire_once(green_loop *loop, int fd, int events)
{
    io_rec r = { 0 };
    int rc = green_loop_io_start(loop, &r.io, fd, events, on_io);
    if (rc != 0)
        return rc;
    RUN_UNTIL(loop, r.calls > 0);
    green_loop_io_stop(loop, &r.io);
    return r.calls == 1 ? r.revents : -1;
}

static const int all_asks[] = { GREEN_LOOP_READ, GREEN_LOOP_WRITE, GREEN_LOOP_READ | GREEN_LOOP_WRITE };

/* epoll refuses regular files, directories, /dev/null and /dev/zero (poll(2)
 * reports them always ready): every backend reports them ready at once, for
 * exactly what was asked, one-shot as any watcher. */
static void check_refused_fd(green_loop *loop, int fd)
{
    for (size_t i = 0; i < sizeof all_asks / sizeof all_asks[0]; i++)
        CU_ASSERT_EQUAL(fire_once(loop, fd, all_asks[i]), all_asks[i]);
    /* Stopped before the loop ran: never fires. */
    io_rec r = { 0 };
    CU_ASSERT_EQUAL(green_loop_io_start(loop, &r.io, fd, GREEN_LOOP_READ, on_io), 0);
    green_loop_io_stop(loop, &r.io);
    CU_ASSERT_EQUAL(green_loop_run(loop, 0), 0);
    CU_ASSERT_EQUAL(r.calls, 0);
    /* Two at once, and a restart from the callback fires in a later
     * iteration, not in the same one over and over. */
    io_rec a = { 0 }, b = { 0 };
    CU_ASSERT_EQUAL(green_loop_io_start(loop, &a.io, fd, GREEN_LOOP_READ, on_io), 0);
    CU_ASSERT_EQUAL(green_loop_io_start(loop, &b.io, fd, GREEN_LOOP_WRITE, on_io), 0);
    RUN_UNTIL(loop, a.calls > 0 && b.calls > 0);
    CU_ASSERT(a.calls == 1 && a.revents == GREEN_LOOP_READ);
    CU_ASSERT(b.calls == 1 && b.revents == GREEN_LOOP_WRITE);
    rearm_rec re = { .loop = loop, .fd = fd };
    CU_ASSERT_EQUAL(green_loop_io_start(loop, &re.io, fd, GREEN_LOOP_READ, on_rearm), 0);
    RUN_UNTIL(loop, re.calls > 0);
    CU_ASSERT(re.calls >= 1 && re.calls <= 2);
    RUN_UNTIL(loop, re.calls >= 3);
    CU_ASSERT_EQUAL(re.calls, 3);
    CU_ASSERT_EQUAL(green_loop_run(loop, 0), 0);
}

static void test_io_fd_epoll_refuses_is_ready(void)
{
    green_loop *loop = new_loop();
    FILE *f = tmpfile();
    CU_ASSERT_FATAL(f != NULL);
    check_refused_fd(loop, fileno(f));
    fclose(f);
    const char *paths[] = { "/dev/null", "/dev/zero", "." };
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        int fd = open(paths[i], i < 2 ? O_RDWR : O_RDONLY);
        CU_ASSERT_FATAL(fd >= 0);
        check_refused_fd(loop, fd);
        close(fd);
    }
    green_loop_free(loop);
}

/* A hang-up that comes with data still unread (EPOLLIN|EPOLLHUP) counts as
 * ready for everything asked, not only for reading: whether it happened
 * before the start or while the watcher waits. */
static void test_io_hangup_reports_all_asked(void)
{
    green_loop *loop = new_loop();
    const int both = GREEN_LOOP_READ | GREEN_LOOP_WRITE;
    int p[2];
    CU_ASSERT_FATAL(pipe(p) == 0);
    CU_ASSERT_EQUAL(write(p[1], "x", 1), 1);
    close(p[1]);
    CU_ASSERT_EQUAL(fire_once(loop, p[0], both), both);
    close(p[0]);

    CU_ASSERT_FATAL(pipe(p) == 0);
    io_rec r = { 0 };
    CU_ASSERT_EQUAL(green_loop_io_start(loop, &r.io, p[0], both, on_io), 0);
    CU_ASSERT_EQUAL(green_loop_run(loop, 0), 1);     /* Waiting, watched by the poller. */
    CU_ASSERT_EQUAL(r.calls, 0);
    CU_ASSERT_EQUAL(write(p[1], "x", 1), 1);
    close(p[1]);
    RUN_UNTIL(loop, r.calls > 0);
    CU_ASSERT_EQUAL(r.calls, 1);
    CU_ASSERT_EQUAL(r.revents, both);
    close(p[0]);
    /* A reader and a writer-and-reader on one hung-up socket: each gets
     * what it asked. */
    int sv[2];
    make_pair(sv);
    io_rec rd = { 0 }, rw = { 0 };
    CU_ASSERT_EQUAL(green_loop_io_start(loop, &rd.io, sv[0], GREEN_LOOP_READ, on_io), 0);
    CU_ASSERT_EQUAL(green_loop_io_start(loop, &rw.io, sv[0], both, on_io), 0);
    CU_ASSERT_EQUAL(write(sv[1], "x", 1), 1);
    close(sv[1]);
    RUN_UNTIL(loop, rd.calls > 0 && rw.calls > 0);
    CU_ASSERT(rd.calls == 1 && rd.revents == GREEN_LOOP_READ);
    CU_ASSERT(rw.calls == 1 && rw.revents == both);
    close(sv[0]);
    green_loop_free(loop);
}

/* An fd number first watched as a socket, closed, and reused by files epoll
 * refuses, then by a socket again: each time the answer for what the
 * number is now (libuv keeps one poll handle per number). */
static void reuse_fd_numbers(void)
{
    green_loop *loop = NULL;
    CHILD_CHECK(green_loop_new(&loop, NULL, NULL) == 0);
    int sv[2];
    CHILD_CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) == 0);
    int n = sv[0];
    io_rec first = { 0 };
    CHILD_CHECK(green_loop_io_start(loop, &first.io, n, GREEN_LOOP_READ, on_io) == 0);
    CHILD_CHECK(green_loop_run(loop, 0) == 1 && first.calls == 0);    /* Watched by epoll. */
    CHILD_CHECK(write(sv[1], "x", 1) == 1);
    RUN_UNTIL(loop, first.calls > 0);
    CHILD_CHECK(first.calls == 1 && first.revents == GREEN_LOOP_READ);
    close(sv[1]);
    FILE *f = tmpfile();
    CHILD_CHECK(f != NULL);
    int refused[] = { open("/dev/null", O_RDWR), fileno(f), open("/dev/zero", O_RDONLY) };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        CHILD_CHECK(refused[i] >= 0 && dup2(refused[i], n) == n);
        CHILD_CHECK(fire_once(loop, n, GREEN_LOOP_READ) == GREEN_LOOP_READ);
        CHILD_CHECK(fire_once(loop, n, GREEN_LOOP_READ | GREEN_LOOP_WRITE) ==
                    (GREEN_LOOP_READ | GREEN_LOOP_WRITE));
    }
    /* A socket again: it waits for data, as a socket does. */
    CHILD_CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) == 0);
    CHILD_CHECK(dup2(sv[0], n) == n);
    close(sv[0]);
    io_rec r = { 0 };
    CHILD_CHECK(green_loop_io_start(loop, &r.io, n, GREEN_LOOP_READ, on_io) == 0);
    CHILD_CHECK(green_loop_run(loop, 0) == 1 && r.calls == 0);
    CHILD_CHECK(write(sv[1], "y", 1) == 1);
    RUN_UNTIL(loop, r.calls > 0);
    CHILD_CHECK(r.calls == 1 && r.revents == GREEN_LOOP_READ);
    green_loop_free(loop);
}

static void test_io_fd_number_reused(void)
{
    run_in_child(reuse_fd_numbers);
}

static void test_timer_not_early(void)
{
    green_loop *loop = new_loop();
    timer_rec r = { 0 };
    double t0 = now();
    CU_ASSERT_EQUAL(green_loop_timer_start(loop, &r.t, 0.020, on_timer), 0);
    CU_ASSERT_EQUAL(green_loop_run(loop, 0), 1);
    RUN_UNTIL(loop, r.calls > 0);
    CU_ASSERT_EQUAL(r.calls, 1);
    CU_ASSERT(r.fired_at - t0 >= 0.020);
    CU_ASSERT(r.fired_at - t0 < 2.0);                /* Generous: sanitizers, valgrind. */
    CU_ASSERT_EQUAL(green_loop_run(loop, 0), 0);     /* One-shot. */
    green_loop_timer_stop(loop, &r.t);               /* After firing: a no-op. */
    green_loop_free(loop);
}

static void test_timer_order(void)
{
    green_loop *loop = new_loop();
    timer_rec a = { 0 }, b = { 0 }, c = { 0 };
    fire_seq = 0;
    CU_ASSERT_EQUAL(green_loop_timer_start(loop, &a.t, 0.030, on_timer), 0);
    CU_ASSERT_EQUAL(green_loop_timer_start(loop, &b.t, 0.010, on_timer), 0);
    CU_ASSERT_EQUAL(green_loop_timer_start(loop, &c.t, 0.020, on_timer), 0);
    RUN_UNTIL(loop, a.calls && b.calls && c.calls);
    CU_ASSERT_EQUAL(b.order, 1);
    CU_ASSERT_EQUAL(c.order, 2);
    CU_ASSERT_EQUAL(a.order, 3);
    green_loop_free(loop);
}

static void test_timer_zero_and_invalid(void)
{
    green_loop *loop = new_loop();
    timer_rec r = { 0 };
    CU_ASSERT_EQUAL(green_loop_timer_start(loop, &r.t, -1.0, on_timer), -EINVAL);
    CU_ASSERT_EQUAL(green_loop_timer_start(loop, &r.t, NAN, on_timer), -EINVAL);
    CU_ASSERT_EQUAL(green_loop_timer_start(loop, &r.t, INFINITY, on_timer), -EINVAL);
    CU_ASSERT_EQUAL(green_loop_timer_start(loop, &r.t, 0.0, on_timer), 0);
    RUN_UNTIL(loop, r.calls > 0);
    CU_ASSERT_EQUAL(r.calls, 1);
    green_loop_free(loop);
}

/* Timeouts beyond what the library can count (libuv: 2^64 ms, about
 * 1.8e16 s) wait at least as long as asked, as good as for ever. */
static void test_timer_beyond_range_waits(void)
{
    green_loop *loop = new_loop();
    const double afters[] = { 1e17, 1e300, DBL_MAX };
    enum { N = sizeof afters / sizeof afters[0] };
    timer_rec huge[N], witness = { 0 };
    memset(huge, 0, sizeof huge);
    for (int i = 0; i < N; i++)
        CU_ASSERT_EQUAL(green_loop_timer_start(loop, &huge[i].t, afters[i], on_timer), 0);
    CU_ASSERT_EQUAL(green_loop_timer_start(loop, &witness.t, 0.050, on_timer), 0);
    RUN_UNTIL(loop, witness.calls > 0);
    CU_ASSERT_EQUAL(witness.calls, 1);
    for (int i = 0; i < N; i++)
        CU_ASSERT_EQUAL(huge[i].calls, 0);
    CU_ASSERT_EQUAL(green_loop_run(loop, 0), 1);     /* Still pending. */
    for (int i = 0; i < N; i++)
        green_loop_timer_stop(loop, &huge[i].t);
    CU_ASSERT_EQUAL(green_loop_run(loop, 0), 0);
    green_loop_free(loop);
}

static void test_timer_stop(void)
{
    green_loop *loop = new_loop();
    timer_rec r = { 0 }, keep = { 0 };
    CU_ASSERT_EQUAL(green_loop_timer_start(loop, &r.t, 0.005, on_timer), 0);
    CU_ASSERT_EQUAL(green_loop_timer_start(loop, &keep.t, 0.020, on_timer), 0);
    green_loop_timer_stop(loop, &r.t);
    green_loop_timer_stop(loop, &r.t);
    RUN_UNTIL(loop, keep.calls > 0);
    CU_ASSERT_EQUAL(r.calls, 0);
    CU_ASSERT_EQUAL(keep.calls, 1);
    /* A stopped timer's storage can be started again. */
    CU_ASSERT_EQUAL(green_loop_timer_start(loop, &r.t, 0.001, on_timer), 0);
    RUN_UNTIL(loop, r.calls > 0);
    CU_ASSERT_EQUAL(r.calls, 1);
    green_loop_free(loop);
}

/* A blocking run whose iteration found a due timer must not then block
 * until the next timer (libuv's UV_RUN_ONCE runs due timers before it polls). */
static void test_run_returns_after_due_timer(void)
{
    green_loop *loop = new_loop();
    timer_rec due = { 0 }, later = { 0 };
    CU_ASSERT_EQUAL(green_loop_timer_start(loop, &later.t, 5.0, on_timer), 0);
    CU_ASSERT_EQUAL(green_loop_timer_start(loop, &due.t, 0.001, on_timer), 0);
    struct timespec ts = { 0, 5 * 1000 * 1000 };
    nanosleep(&ts, NULL);                            /* Now it is due. */
    double t0 = now();
    CU_ASSERT_EQUAL(green_loop_run(loop, 1), 1);
    CU_ASSERT_EQUAL(due.calls, 1);
    CU_ASSERT(now() - t0 < 1.0);
    /* Same with an fd that is ready. */
    int sv[2];
    make_pair(sv);
    CU_ASSERT_EQUAL(write(sv[1], "x", 1), 1);
    io_rec r = { 0 };
    CU_ASSERT_EQUAL(green_loop_io_start(loop, &r.io, sv[0], GREEN_LOOP_READ, on_io), 0);
    t0 = now();
    green_loop_run(loop, 1);
    if (r.calls == 0)
        green_loop_run(loop, 1);
    CU_ASSERT_EQUAL(r.calls, 1);
    CU_ASSERT(now() - t0 < 1.0);
    green_loop_timer_stop(loop, &later.t);
    close(sv[0]);
    close(sv[1]);
    green_loop_free(loop);
}

/* A callback that hogs the thread makes the other timers late, not lost. */
static void on_hog(green_loop_timer *t)
{
    on_timer(t);
    double until = now() + 0.100;
    while (now() < until)
        ;
}

static void test_timer_late_not_lost(void)
{
    green_loop *loop = new_loop();
    enum { N = 50 };
    timer_rec hog = { 0 }, r[N];
    memset(r, 0, sizeof r);
    double t0 = now();
    CU_ASSERT_EQUAL(green_loop_timer_start(loop, &hog.t, 0.0, on_hog), 0);
    for (int i = 0; i < N; i++)
        CU_ASSERT_EQUAL(green_loop_timer_start(loop, &r[i].t, 0.001 + 0.001 * (i % 10), on_timer), 0);
    int all = 0;
    for (int k = 0; k < 1000 && !all; k++) {
        green_loop_run(loop, 1);
        all = 1;
        for (int i = 0; i < N; i++)
            all &= r[i].calls == 1;
    }
    CU_ASSERT(all);
    for (int i = 0; i < N; i++)
        CU_ASSERT(r[i].fired_at - t0 >= 0.100);
    green_loop_free(loop);
}

static void test_many_timers(void)
{
    green_loop *loop = new_loop();
    enum { N = 5000 };
    timer_rec *r = calloc(N, sizeof *r);
    double *delay = calloc(N, sizeof *delay);
    CU_ASSERT_FATAL(r != NULL && delay != NULL);
    unsigned seed = 12345;
    double t0 = now();
    for (int i = 0; i < N; i++) {
        delay[i] = (double)(rand_r(&seed) % 20) * 1e-3;
        CU_ASSERT_EQUAL(green_loop_timer_start(loop, &r[i].t, delay[i], on_timer), 0);
    }
    for (int i = 0; i < N; i += 3)
        green_loop_timer_stop(loop, &r[i].t);
    while (green_loop_run(loop, 1))
        ;
    int ok = 1, early = 0;
    for (int i = 0; i < N; i++) {
        ok &= r[i].calls == (i % 3 == 0 ? 0 : 1);
        if (r[i].calls && r[i].fired_at - t0 < delay[i])
            early++;
    }
    CU_ASSERT(ok);
    CU_ASSERT_EQUAL(early, 0);
    free(r);
    free(delay);
    green_loop_free(loop);
}

/* ---- wakes from other threads ---- */

typedef struct {
    int wakes;
    green_loop *loop;
} wake_state;

static void on_wake(green_loop *loop, void *data)
{
    wake_state *w = data;
    CU_ASSERT_PTR_EQUAL(loop, w->loop);
    w->wakes++;
}

static void *waker(void *arg)
{
    green_loop *loop = arg;
    struct timespec ts = { 0, 20 * 1000 * 1000 };
    nanosleep(&ts, NULL);
    green_loop_wake(loop);
    return NULL;
}

static void test_wake_from_thread(void)
{
    wake_state w = { 0 };
    green_loop *loop = NULL;
    CU_ASSERT_FATAL(green_loop_new(&loop, on_wake, &w) == 0);
    w.loop = loop;
    /* Off: a lone wake watcher does not keep the loop alive. */
    CU_ASSERT_EQUAL(green_loop_run(loop, 1), 0);
    green_loop_keepalive(loop, 1);
    CU_ASSERT_EQUAL(green_loop_run(loop, 0), 1);
    pthread_t th;
    CU_ASSERT_FATAL(pthread_create(&th, NULL, waker, loop) == 0);
    double t0 = now();
    RUN_UNTIL(loop, w.wakes > 0);                    /* Blocks until the wake. */
    CU_ASSERT_EQUAL(w.wakes, 1);
    CU_ASSERT(now() - t0 >= 0.010);
    pthread_join(th, NULL);
    green_loop_keepalive(loop, 0);
    CU_ASSERT_EQUAL(green_loop_run(loop, 0), 0);
    /* A wake from the loop's own thread works too. */
    green_loop_wake(loop);
    green_loop_keepalive(loop, 1);
    RUN_UNTIL(loop, w.wakes > 1);
    CU_ASSERT_EQUAL(w.wakes, 2);
    green_loop_keepalive(loop, 0);
    green_loop_free(loop);
}

static void test_wake_interrupts_timer_wait(void)
{
    wake_state w = { 0 };
    green_loop *loop = NULL;
    CU_ASSERT_FATAL(green_loop_new(&loop, on_wake, &w) == 0);
    w.loop = loop;
    timer_rec r = { 0 };
    CU_ASSERT_EQUAL(green_loop_timer_start(loop, &r.t, 10.0, on_timer), 0);
    pthread_t th;
    CU_ASSERT_FATAL(pthread_create(&th, NULL, waker, loop) == 0);
    double t0 = now();
    RUN_UNTIL(loop, w.wakes > 0);
    CU_ASSERT(now() - t0 < 5.0);
    CU_ASSERT_EQUAL(r.calls, 0);
    pthread_join(th, NULL);
    green_loop_timer_stop(loop, &r.t);
    green_loop_free(loop);
}

static CU_TestInfo loop_tests[] = {
    { "name", test_name },
    { "empty_loop_does_not_block", test_empty_loop_does_not_block },
    { "io_read_is_one_shot", test_io_read_is_one_shot },
    { "io_write_ready", test_io_write_ready },
    { "io_stop_before_fire", test_io_stop_before_fire },
    { "io_reader_and_writer_on_one_fd", test_io_reader_and_writer_on_one_fd },
    { "io_two_readers_both_fire", test_io_two_readers_both_fire },
    { "io_read_and_write_in_one_watcher", test_io_read_and_write_in_one_watcher },
    { "io_peer_close_is_readable", test_io_peer_close_is_readable },
    { "io_restart_from_callback", test_io_restart_from_callback },
    { "io_pollable_word", test_io_pollable_word },
    { "io_bad_arguments", test_io_bad_arguments },
    { "io_fd_epoll_refuses_is_ready", test_io_fd_epoll_refuses_is_ready },
    { "io_hangup_reports_all_asked", test_io_hangup_reports_all_asked },
    { "io_fd_number_reused", test_io_fd_number_reused },
    { "timer_not_early", test_timer_not_early },
    { "timer_order", test_timer_order },
    { "timer_zero_and_invalid", test_timer_zero_and_invalid },
    { "timer_stop", test_timer_stop },
    { "timer_beyond_range_waits", test_timer_beyond_range_waits },
    { "run_returns_after_due_timer", test_run_returns_after_due_timer },
    { "timer_late_not_lost", test_timer_late_not_lost },
    { "many_timers", test_many_timers },
    { "wake_from_thread", test_wake_from_thread },
    { "wake_interrupts_timer_wait", test_wake_interrupts_timer_wait },
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo green_test_suites[] = {
    { .pName = "loop", .pTests = loop_tests },
    CU_SUITE_INFO_NULL,
};
