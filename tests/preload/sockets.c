/* tests/preload/sockets.c: blocking socket semantics a patched program must
 * still see, checked with and without the preload.
 *   timeout:  SO_RCVTIMEO 200 ms against a server that accepted (the kernel's
 *             backlog) and never answers: recv fails with EAGAIN after ~200 ms;
 *   refused:  a blocking connect to a closed port gives ECONNREFUSED;
 *   flags:    F_GETFL of a blocking socket shows no O_NONBLOCK; once the
 *             program sets it, recv fails at once with EAGAIN;
 *   echo:     a blocking send of 4 MiB to a peer that reads slowly arrives
 *             whole (a thread reads it);
 *   sndtimeo: SO_SNDTIMEO 200 ms bounds a blocking send to a peer that
 *             never reads (a partial count, or EAGAIN when nothing went)
 *             and a blocking connect to a listener whose accept queue is
 *             full (EINPROGRESS, as socket(7) says);
 *   closewake (preload only): close of a socket another thread is blocked
 *             in recv on wakes it with EBADF;
 *   waitall:  recv and recvmsg with MSG_WAITALL (a socket pair, TCP) return
 *             all 8 bytes a writer sends as 3, then 5 200 ms later;
 *   unixbacklog: blocking connects to a unix listener whose backlog (1) is
 *             full wait for its accepts, 300 ms later; with SO_SNDTIMEO
 *             200 ms and no accept, EAGAIN after it;
 *   pollhup:  poll of a pipe's read end asking for nothing reports POLLHUP
 *             when the writer closes 200 ms later (no timeout, and 3 s);
 *             asking for nothing on a readable socket it times out after
 *             300 ms without spinning;
 *   pollforever: poll(NULL, 0, -1) and select(0, ..., NULL) wait for a
 *             signal (EINTR after a 200 ms timer's handler);
 *   badtimeout: select, ppoll and pselect with a negative timeout or
 *             tv_nsec past a second fail at once with EINVAL;
 *   negtimeo: a negative SO_RCVTIMEO reads back as 0, and a read fails at
 *             once with EAGAIN, as Linux keeps it;
 *   dgramfull: blocking sendto on an unconnected unix datagram socket whose
 *             receiver's queue is full waits (the receiver drains after
 *             1 s) without spinning: CPU time well below the wall time.
 * Usage: sockets TEST. Exit 0 on success; prints what it saw. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "preload_prog.h"

/* A listening loopback socket; its address in *a. */
static int listener(struct sockaddr_in *a, int do_listen)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    socklen_t len = sizeof *a;
    *a = (struct sockaddr_in){ .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    if (fd < 0 || bind(fd, (struct sockaddr *)a, sizeof *a) != 0 ||
        getsockname(fd, (struct sockaddr *)a, &len) != 0 || (do_listen && listen(fd, 16) != 0)) {
        perror("listener");
        exit(2);
    }
    return fd;
}

static int connected(const struct sockaddr_in *a)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (const struct sockaddr *)a, sizeof *a) != 0) {
        perror("connect");
        exit(2);
    }
    return fd;
}

static int test_timeout(void)
{
    struct sockaddr_in a;
    int l = listener(&a, 1);
    int c = connected(&a);
    struct timeval tv = { 0, 200000 };
    setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char buf[16];
    double t0 = now();
    ssize_t n = recv(c, buf, sizeof buf, 0);
    int err = errno;
    double dt = now() - t0;
    printf("timeout: recv %zd errno %s after %.3f s\n", n, strerror(err), dt);
    close(c);
    close(l);
    return n == -1 && (err == EAGAIN || err == EWOULDBLOCK) && dt > 0.18 && dt < 0.6 ? 0 : 1;
}

static int test_refused(void)
{
    struct sockaddr_in a;
    int taken = listener(&a, 0);    /* Bound, not listening: refused. */
    int c = socket(AF_INET, SOCK_STREAM, 0);
    int r = connect(c, (struct sockaddr *)&a, sizeof a);
    int err = errno;
    printf("refused: connect %d errno %s\n", r, strerror(err));
    close(c);
    close(taken);
    return r == -1 && err == ECONNREFUSED ? 0 : 1;
}

static int test_flags(void)
{
    struct sockaddr_in a;
    int l = listener(&a, 1);
    int c = connected(&a);
    int fl = fcntl(c, F_GETFL);
    int blocking_shown = fl >= 0 && !(fl & O_NONBLOCK);
    fcntl(c, F_SETFL, fl | O_NONBLOCK);
    int nb_shown = (fcntl(c, F_GETFL) & O_NONBLOCK) != 0;
    char buf[4];
    double t0 = now();
    ssize_t n = recv(c, buf, sizeof buf, 0);
    int err = errno;
    printf("flags: blocking shown %d, non-blocking shown %d, recv %zd errno %s in %.3f s\n", blocking_shown,
           nb_shown, n, strerror(err), now() - t0);
    close(c);
    close(l);
    return blocking_shown && nb_shown && n == -1 && err == EAGAIN ? 0 : 1;
}

#define ECHO_BYTES (4 << 20)

static void *slow_reader(void *arg)
{
    int fd = *(int *)arg;
    static char buf[65536];
    size_t total = 0;
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n <= 0)
            break;
        total += (size_t)n;
        usleep(200);
    }
    return (void *)total;
}

static int test_echo(void)
{
    struct sockaddr_in a;
    int l = listener(&a, 1);
    int c = connected(&a);
    int s = accept(l, NULL, NULL);
    pthread_t t;
    pthread_create(&t, NULL, slow_reader, &s);
    char *data = calloc(1, ECHO_BYTES);
    ssize_t n = send(c, data, ECHO_BYTES, 0);
    close(c);
    void *total;
    pthread_join(t, &total);
    printf("echo: send %zd, read %zu\n", n, (size_t)total);
    close(s);
    close(l);
    free(data);
    return n == ECHO_BYTES && (size_t)total == ECHO_BYTES ? 0 : 1;
}

static void set_sndtimeo(int fd, long usec)
{
    struct timeval tv = { 0, usec };
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

/* A blocking send to a peer that never reads: SO_SNDTIMEO ends it. */
static int sndtimeo_send(void)
{
    struct sockaddr_in a;
    int l = listener(&a, 1);
    int c = connected(&a);
    int s = accept(l, NULL, NULL);
    /* Fixed buffers: with the kernel's autotuning, the two buffers of a
     * loopback connection can grow to hold nearly all 4 MiB, and at times
     * all of it (the send then never waits). */
    int small = 64 * 1024;
    setsockopt(c, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    setsockopt(s, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    set_sndtimeo(c, 200000);
    char *data = calloc(1, ECHO_BYTES);
    double t0 = now();
    ssize_t n = send(c, data, ECHO_BYTES, 0);
    int err = errno;
    double dt = now() - t0;
    printf("sndtimeo: send %zd of %d errno %s after %.3f s\n", n, ECHO_BYTES, n < 0 ? strerror(err) : "-",
           dt);
    free(data);
    close(c);
    close(s);
    close(l);
    int ended = (n > 0 && n < ECHO_BYTES) || (n == -1 && (err == EAGAIN || err == EWOULDBLOCK));
    return ended && dt > 0.18 && dt < 0.6 ? 0 : 1;
}

/* A blocking connect whose SYN the listener drops (its accept queue is
 * full): SO_SNDTIMEO ends it with EINPROGRESS. */
static int sndtimeo_connect(void)
{
    struct sockaddr_in a;
    int l = listener(&a, 0);
    if (listen(l, 0) != 0)
        return 1;
    int fill[4];
    for (int i = 0; i < 4; i++) { /* Non-blocking: they fill the queue, or wait in vain. */
        fill[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        connect(fill[i], (struct sockaddr *)&a, sizeof a);
    }
    usleep(50000);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    set_sndtimeo(c, 200000);
    double t0 = now();
    int r = connect(c, (struct sockaddr *)&a, sizeof a);
    int err = errno;
    double dt = now() - t0;
    printf("sndtimeo: connect %d errno %s after %.3f s\n", r, r < 0 ? strerror(err) : "-", dt);
    close(c);
    for (int i = 0; i < 4; i++)
        close(fill[i]);
    close(l);
    return r == -1 && err == EINPROGRESS && dt > 0.18 && dt < 0.6 ? 0 : 1;
}

static int test_sndtimeo(void)
{
    /* Meanwhile the ticker runs under thread patching only if the waits
     * above are the hub's, not the kernel's. */
    ticker_start();
    int rc = sndtimeo_send() | sndtimeo_connect();
    return rc | ticker_stop("sndtimeo", 20);
}

struct closewake {
    int fd;
    ssize_t n;
    int err;
};

static void *blocked_reader(void *arg)
{
    struct closewake *w = arg;
    char buf[4];
    w->n = recv(w->fd, buf, sizeof buf, 0);
    w->err = errno;
    return NULL;
}

static int test_closewake(void)
{
    struct sockaddr_in a;
    int l = listener(&a, 1);
    struct closewake w = { .fd = connected(&a) };
    pthread_t t;
    pthread_create(&t, NULL, blocked_reader, &w);
    usleep(100000);
    close(w.fd);
    pthread_join(t, NULL);
    printf("closewake: recv %zd errno %s\n", w.n, strerror(w.err));
    close(l);
    return w.n == -1 && w.err == EBADF ? 0 : 1;
}

/* ---- MSG_WAITALL ---- */

static void *write_in_two(void *arg)
{
    int fd = *(int *)arg;
    ssize_t a = write(fd, "abc", 3);
    usleep(200000);
    ssize_t b = write(fd, "defgh", 5);
    return (void *)(a + b);
}

/* recv (recvmsg when msg) of 8 bytes with MSG_WAITALL from rd while a
 * thread writes them into wr in two parts: all 8. */
static int waitall_on(const char *what, int rd, int wr, int msg)
{
    pthread_t t;
    pthread_create(&t, NULL, write_in_two, &wr);
    char buf[16] = "";
    ssize_t n;
    if (msg) {
        struct iovec iov = { .iov_base = buf, .iov_len = 8 };
        struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
        n = recvmsg(rd, &m, MSG_WAITALL);
    } else {
        n = recv(rd, buf, 8, MSG_WAITALL);
    }
    pthread_join(t, NULL);
    printf("waitall: %s 8 bytes = %zd '%s'\n", what, n, buf);
    return n == 8 && strcmp(buf, "abcdefgh") == 0 ? 0 : 1;
}

static int test_waitall(void)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
        return 1;
    int rc = waitall_on("socket pair recv", sv[0], sv[1], 0) |
             waitall_on("socket pair recvmsg", sv[0], sv[1], 1);
    close(sv[0]);
    close(sv[1]);
    struct sockaddr_in a;
    int l = listener(&a, 1);
    int c = connected(&a);
    int s = accept(l, NULL, NULL);
    rc |= waitall_on("TCP recv", s, c, 0) | waitall_on("TCP recvmsg", s, c, 1);
    close(c);
    close(s);
    close(l);
    return rc;
}

/* ---- a unix listener's full backlog ---- */

/* An abstract unix address of this process's own (no file to remove). */
static socklen_t unix_address(struct sockaddr_un *a, const char *what)
{
    *a = (struct sockaddr_un){ .sun_family = AF_UNIX };
    int n = snprintf(a->sun_path + 1, sizeof a->sun_path - 1, "greenbench-%s-%d", what, (int)getpid());
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
}

static void *accept_late(void *arg)
{
    int l = *(int *)arg;
    usleep(300000);
    for (int i = 0; i < 4; i++) {
        int c = accept(l, NULL, NULL);
        if (c < 0)
            break;
        close(c);
    }
    return NULL;
}

static int test_unixbacklog(void)
{
    struct sockaddr_un a;
    socklen_t alen = unix_address(&a, "backlog");
    int l = socket(AF_UNIX, SOCK_STREAM, 0);
    if (l < 0 || bind(l, (struct sockaddr *)&a, alen) != 0 || listen(l, 1) != 0)
        return 1;
    struct timeval two = { 2, 0 };  /* The acceptor gives up on connects that failed. */
    setsockopt(l, SOL_SOCKET, SO_RCVTIMEO, &two, sizeof two);
    pthread_t t;
    pthread_create(&t, NULL, accept_late, &l);
    int c[4], ok = 0;
    for (int i = 0; i < 4; i++) {
        c[i] = socket(AF_UNIX, SOCK_STREAM, 0);
        int r = connect(c[i], (struct sockaddr *)&a, alen);
        printf("unixbacklog: connect %d: %d %s\n", i, r, r < 0 ? strerror(errno) : "");
        ok += r == 0;
    }
    pthread_join(t, NULL);
    for (int i = 0; i < 4; i++)
        close(c[i]);
    /* Nobody accepts now: fill the backlog, then SO_SNDTIMEO ends the wait. */
    int fill[2];
    for (int i = 0; i < 2; i++) {
        fill[i] = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
        connect(fill[i], (struct sockaddr *)&a, alen);
    }
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    set_sndtimeo(s, 200000);
    double t0 = now();
    int r = connect(s, (struct sockaddr *)&a, alen);
    int err = errno;
    double dt = now() - t0;
    printf("unixbacklog: with SO_SNDTIMEO 200 ms and the backlog full: %d %s after %.3f s\n", r,
           r < 0 ? strerror(err) : "", dt);
    close(s);
    for (int i = 0; i < 2; i++)
        close(fill[i]);
    close(l);
    return ok == 4 && r == -1 && err == EAGAIN && dt > 0.18 && dt < 2 ? 0 : 1;
}

/* ---- poll's POLLHUP for an entry asking for nothing ---- */

static void *close_later(void *arg)
{
    usleep(200000);
    close(*(int *)arg);
    return NULL;
}

static int pollhup_after(int ms)
{
    int p[2];
    if (pipe(p) != 0)
        return 1;
    pthread_t t;
    pthread_create(&t, NULL, close_later, &p[1]);
    struct pollfd f = { .fd = p[0], .events = 0 };
    double t0 = now();
    int r = poll(&f, 1, ms);
    int err = errno;
    double dt = now() - t0;
    pthread_join(t, NULL);
    close(p[0]);
    printf("pollhup: poll(events 0, %d ms) = %d %s revents %#x after %.3f s\n", ms, r,
           r < 0 ? strerror(err) : "", f.revents, dt);
    return r == 1 && f.revents == POLLHUP && dt < 2 ? 0 : 1;
}

static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

static int test_pollhup(void)
{
    int rc = pollhup_after(-1) | pollhup_after(3000);
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0 || write(sv[1], "x", 1) != 1)
        return 1;
    struct pollfd f = { .fd = sv[0], .events = 0 };
    double t0 = now(), c0 = cpu_seconds();
    int r = poll(&f, 1, 300);
    double dt = now() - t0, cpu = cpu_seconds() - c0;
    printf("pollhup: poll(events 0, 300 ms) of a readable socket = %d revents %#x after %.3f s, %s\n", r,
           f.revents, dt, cpu < dt / 2 ? "CPU well below" : "spinning");
    close(sv[0]);
    close(sv[1]);
    return rc | !(r == 0 && dt > 0.25 && dt < 2 && cpu < dt / 2);
}

/* ---- waiting with nothing to wait for ---- */

static void on_alarm(int sig)
{
    (void)sig;
}

/* A 200 ms timer whose handler (no SA_RESTART) cuts the wait short. */
static void alarm_in_200ms(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval it = { .it_value = { 0, 200000 } };
    setitimer(ITIMER_REAL, &it, NULL);
}

static int test_pollforever(void)
{
    alarm_in_200ms();
    double t0 = now();
    int r = poll(NULL, 0, -1);
    int err = errno;
    double dt = now() - t0;
    printf("pollforever: poll(NULL, 0, -1) = %d %s after %s\n", r, strerror(err),
           dt > 0.18 ? "the signal" : "less");
    int rc = !(r == -1 && err == EINTR && dt > 0.18 && dt < 2);
    alarm_in_200ms();
    t0 = now();
    r = select(0, NULL, NULL, NULL, NULL);
    err = errno;
    dt = now() - t0;
    printf("pollforever: select(0, ..., NULL) = %d %s after %s\n", r, strerror(err),
           dt > 0.18 ? "the signal" : "less");
    return rc | !(r == -1 && err == EINTR && dt > 0.18 && dt < 2);
}

/* ---- timeouts the kernel refuses ---- */

static int test_badtimeout(void)
{
    alarm(10);                  /* A call that waits for ever dies of it. */
    int p[2];
    if (pipe(p) != 0)
        return 1;
    struct pollfd f = { .fd = p[0], .events = POLLIN };
    fd_set rd;
    struct timeval tv = { -1, 0 };
    struct timespec neg = { -1, 0 }, big = { 0, 2000000000L };
    int r[5], e[5];
    double t0 = now();
    FD_ZERO(&rd);
    FD_SET(p[0], &rd);
    r[0] = select(p[0] + 1, &rd, NULL, NULL, &tv);
    e[0] = errno;
    r[1] = ppoll(&f, 1, &neg, NULL);
    e[1] = errno;
    r[2] = ppoll(&f, 1, &big, NULL);
    e[2] = errno;
    FD_SET(p[0], &rd);
    r[3] = pselect(p[0] + 1, &rd, NULL, NULL, &neg, NULL);
    e[3] = errno;
    FD_SET(p[0], &rd);
    r[4] = pselect(p[0] + 1, &rd, NULL, NULL, &big, NULL);
    e[4] = errno;
    double dt = now() - t0;
    alarm(0);
    int bad = 0;
    for (int i = 0; i < 5; i++)
        bad |= r[i] != -1 || e[i] != EINVAL;
    printf(
        "badtimeout: select -1 s %s, ppoll -1 s %s, 2e9 ns %s, pselect -1 s %s, 2e9 ns %s, at once: %s\n",
        strerror(e[0]), strerror(e[1]), strerror(e[2]), strerror(e[3]), strerror(e[4]),
        dt < 1 ? "yes" : "no");
    close(p[0]);
    close(p[1]);
    return bad || dt >= 1;
}

/* ---- a negative SO_RCVTIMEO ---- */

static int test_negtimeo(void)
{
    alarm(10);
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
        return 1;
    struct timeval tv = { -1, 0 }, got = { 9, 9 };
    socklen_t len = sizeof got;
    int set = setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    getsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &got, &len);
    char buf[4];
    double t0 = now();
    ssize_t n = read(sv[0], buf, sizeof buf);
    int err = errno;
    double dt = now() - t0;
    alarm(0);
    printf("negtimeo: setsockopt %d, reads back %ld.%06ld; read %zd %s %s\n", set, (long)got.tv_sec,
           (long)got.tv_usec, n, strerror(err), dt < 1 ? "at once" : "late");
    close(sv[0]);
    close(sv[1]);
    return set == 0 && got.tv_sec == 0 && got.tv_usec == 0 && n == -1 && err == EAGAIN && dt < 1 ? 0 : 1;
}

/* ---- a full datagram receiver ---- */

#define DGRAMS 300

static void *drain_late(void *arg)
{
    int fd = *(int *)arg;
    char b[16];
    sleep(1);
    for (int i = 0; i < DGRAMS; i++)
        if (recv(fd, b, sizeof b, 0) < 0)
            break;
    return NULL;
}

static int test_dgramfull(void)
{
    struct sockaddr_un a;
    socklen_t alen = unix_address(&a, "dgram");
    int r = socket(AF_UNIX, SOCK_DGRAM, 0), s = socket(AF_UNIX, SOCK_DGRAM, 0);
    if (r < 0 || s < 0 || bind(r, (struct sockaddr *)&a, alen) != 0)
        return 1;
    pthread_t t;
    pthread_create(&t, NULL, drain_late, &r);
    double t0 = now(), c0 = cpu_seconds();
    int i = 0;
    while (i < DGRAMS && sendto(s, "x", 1, 0, (struct sockaddr *)&a, alen) == 1)
        i++;
    double dt = now() - t0, cpu = cpu_seconds() - c0;
    pthread_join(t, NULL);
    printf("dgramfull: sent %d of %d in %.2f s, CPU %s\n", i, DGRAMS, dt,
           cpu < dt / 3 ? "well below" : "as much");
    close(r);
    close(s);
    return i == DGRAMS && dt > 0.5 && cpu < dt / 3 ? 0 : 1;
}

int main(int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*run)(void);
    } tests[] = {
        { "timeout", test_timeout },       { "refused", test_refused },
        { "flags", test_flags },           { "echo", test_echo },
        { "sndtimeo", test_sndtimeo },     { "closewake", test_closewake },
        { "waitall", test_waitall },       { "unixbacklog", test_unixbacklog },
        { "pollhup", test_pollhup },       { "pollforever", test_pollforever },
        { "badtimeout", test_badtimeout }, { "negtimeo", test_negtimeo },
        { "dgramfull", test_dgramfull },
    };
    const char *t = argc > 1 ? argv[1] : "";
    for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++)
        if (strcmp(t, tests[i].name) == 0)
            return tests[i].run();
    fprintf(
        stderr,
        "usage: sockets timeout|refused|flags|echo|sndtimeo|closewake|waitall|unixbacklog|pollhup|pollforever|badtimeout|negtimeo|dgramfull\n");
    return 2;
}
