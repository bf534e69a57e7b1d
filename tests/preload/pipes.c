/* tests/preload/pipes.c: pipes, socket pairs, dups, epoll, pthread_kill and
 * pthread_cancel as a blocking program uses them, checked with and without
 * the preload (preload_test.sh runs it unpatched, patched and
 * thread-patched).
 *   pipe, socketpair: a writer sends 5 messages 100 ms apart, a reader
 *             waits in a blocking read (recv on the pair) and a ticker
 *             counts 10 ms sleeps meanwhile;
 *   bigwrite: a blocking 1 MiB write into a pipe whose reader drains it
 *             slowly arrives whole and intact;
 *   sendfile: the same 1 MiB from a file with sendfile into a socket pair,
 *             from the file position and from an offset;
 *   dup:      a read through dup/dup2/dup3/F_DUPFD_CLOEXEC of a pipe end
 *             and a dup of a socket waits while the ticker ticks; O_NONBLOCK
 *             set with F_SETFL on one fd shows on its dup and is obeyed
 *             there (EAGAIN), cleared on the dup shows on the first;
 *             dup3's O_CLOEXEC is the new fd's;
 *   stdio:    printf into a pipe end dup'ed onto stdout, fgets on a
 *             FILE that fdopen made of a pipe end, and head(1)
 *             exec'd (and posix_spawn'd) with a pipe end as its stdout, writing more than the
 *             pipe holds while the parent reads slowly: the pipe is really
 *             blocking there, every byte arrives;
 *   dup2wake (preload only): dup2 onto a pipe end another thread is
 *             blocked in read on wakes it with EBADF, as close does;
 *   epoll:    epoll_wait on a pipe a writer thread fills returns its 3
 *             events while the ticker ticks; epoll_wait, epoll_pwait and
 *             epoll_pwait2 with 200 ms and nothing ready return 0 after
 *             about 200 ms;
 *   kill:     pthread_kill(t, 0) answers 0 for a live thread and for an
 *             ended one not yet joined (glibc since 2.34); a signal sent
 *             with pthread_kill runs its handler;
 *   cancel:   pthread_cancel of a thread blocked in read(2), in
 *             nanosleep and in pthread_cond_wait: pthread_join gives
 *             PTHREAD_CANCELED; the cond waiter's cleanup handlers run,
 *             innermost first, the mutex held again (one unlocks it), and
 *             pthread_exit runs those still pushed; a
 *             thread that disabled cancellation goes on through its read
 *             and ends at pthread_testcancel once it enables it; a thread
 *             waiting for a mutex (no cancellation point) gets it first;
 *   splice:   blocking splice from a socket pair into a pipe and from a
 *             pipe into a socket pair, and tee from a pipe into another,
 *             each moving 5 messages a writer sends 100 ms apart: each call
 *             waits for the next one, the bytes arrive as sent, and the
 *             ticker ticks meanwhile;
 *   mmsg:     blocking recvmmsg on a datagram socket pair gets all 5
 *             messages a writer sends 100 ms apart (after one with
 *             MSG_WAITFORONE); blocking sendmmsg of 2 messages of 512 KiB
 *             into a stream socket pair a reader drains slowly sends both
 *             whole;
 *   signals:  a handler installed with sigaction (no SA_RESTART) cuts
 *             short a read of an empty pipe, a poll and a nanosleep with
 *             EINTR (nanosleep's time left said), and sigaction gives the
 *             handler back; one installed with signal() (SA_RESTART) lets
 *             the read go on through two signals until the second's
 *             handler writes, errno untouched, while poll still gets
 *             EINTR; after siginterrupt(SIGALRM, 1), signal()'s handler
 *             cuts the read short, and one installed with sigaction a
 *             sem_wait, while a sem_post in a handler (installed with
 *             signal()) ends the main thread's and another thread's
 *             sem_wait; pthread_kill's
 *             signal cuts its target
 *             thread's read short, not the main thread's nanosleep;
 *   all:      every test above but dup2wake (for the stats line).
 * Lines starting "threads" give the OS threads seen while the threads
 * ran, "ticks" the ticker's count; the rest is the same in every mode.
 * Usage: pipes TEST. Exit 0 on success. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <poll.h>
#include <semaphore.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "preload_prog.h"

/* ---- pipe, socketpair ---- */

#define MESSAGES 5

struct pair {
    int rd, wr;
    int use_socket_calls;   /* recv/send instead of read/write. */
    int got;                /* Messages read intact. */
    int threads;
};

static void *pair_writer(void *arg)
{
    struct pair *p = arg;
    for (int i = 0; i < MESSAGES; i++) {
        usleep(100000);
        char msg[16];
        int n = snprintf(msg, sizeof msg, "msg %d", i);
        ssize_t w =
            p->use_socket_calls ? send(p->wr, msg, (size_t)n + 1, 0) : write(p->wr, msg, (size_t)n + 1);
        if (w != n + 1)
            return NULL;
    }
    return NULL;
}

static void *pair_reader(void *arg)
{
    struct pair *p = arg;
    for (int i = 0; i < MESSAGES; i++) {
        char buf[16], want[16];
        int n = snprintf(want, sizeof want, "msg %d", i);
        size_t have = 0;
        while (have < (size_t)n + 1) {
            ssize_t r = p->use_socket_calls ? recv(p->rd, buf + have, (size_t)n + 1 - have, 0)
                                            : read(p->rd, buf + have, (size_t)n + 1 - have);
            if (r <= 0)
                return NULL;
            have += (size_t)r;
        }
        if (i == 2)
            p->threads = os_threads();
        if (memcmp(buf, want, (size_t)n + 1) == 0)
            p->got++;
    }
    return NULL;
}

static int run_pair(const char *test, int fds[2], int socket_calls)
{
    struct pair p = { .rd = fds[0], .wr = fds[1], .use_socket_calls = socket_calls };
    ticker_start();
    pthread_t r, w;
    pthread_create(&r, NULL, pair_reader, &p);
    pthread_create(&w, NULL, pair_writer, &p);
    pthread_join(w, NULL);
    pthread_join(r, NULL);
    int bad = ticker_stop(test, 10);
    printf("threads %s: %d\n", test, p.threads);
    printf("%s: %d of %d messages\n", test, p.got, MESSAGES);
    close(fds[0]);
    close(fds[1]);
    return bad | (p.got != MESSAGES);
}

static int test_pipe(void)
{
    int fds[2];
    if (pipe(fds) != 0)
        return 1;
    return run_pair("pipe", fds, 0);
}

static int test_socketpair(void)
{
    int fds[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0)
        return 1;
    return run_pair("socketpair", fds, 1);
}

/* ---- bigwrite ---- */

#define BIG (1 << 20)

static unsigned char pattern(size_t i)
{
    return (unsigned char)(i * 7 % 251);
}

static void *slow_drain(void *arg)
{
    int fd = *(int *)arg;
    static unsigned char buf[16384];
    size_t total = 0, wrong = 0;
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n <= 0)
            break;
        for (ssize_t i = 0; i < n; i++)
            wrong += buf[i] != pattern(total + (size_t)i);
        total += (size_t)n;
        usleep(1000);
    }
    return (void *)(wrong == 0 ? total : 0);
}

static int test_bigwrite(void)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
        return 1;
    unsigned char *data = malloc(BIG);
    for (size_t i = 0; i < BIG; i++)
        data[i] = pattern(i);
    pthread_t t;
    pthread_create(&t, NULL, slow_drain, &fds[0]);
    ssize_t n = write(fds[1], data, BIG);
    close(fds[1]);
    void *total;
    pthread_join(t, &total);
    close(fds[0]);
    free(data);
    printf("bigwrite: write %zd of %d, read %zu intact\n", n, BIG, (size_t)total);
    return n == BIG && (size_t)total == BIG ? 0 : 1;
}

/* sendfile of a 1 MiB file into a socket pair the reader drains slowly,
 * once from the file position and once from an offset: a blocking socket
 * takes all of it (under the preload the socket is really non-blocking:
 * the preload must wait, not hand the program EAGAIN or a short count). */
static int test_sendfile(void)
{
    char path[] = "/tmp/preload-sendfile-XXXXXX";
    int file = mkstemp(path);
    if (file < 0)
        return 1;
    unlink(path);
    unsigned char *data = malloc(BIG);
    for (size_t i = 0; i < BIG; i++)
        data[i] = pattern(i);
    int bad = write(file, data, BIG) != BIG;
    free(data);
    for (int from_offset = 0; from_offset <= 1; from_offset++) {
        int s[2];
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, s) != 0)
            return 1;
        pthread_t t;
        pthread_create(&t, NULL, slow_drain, &s[0]);
        off_t off = 0;
        lseek(file, 0, SEEK_SET);
        ssize_t n = sendfile(s[1], file, from_offset ? &off : NULL, BIG);
        close(s[1]);
        void *total;
        pthread_join(t, &total);
        close(s[0]);
        printf("sendfile %s: %zd of %d, read %zu intact%s\n",
               from_offset ? "from an offset" : "from the position", n, BIG, (size_t)total,
               from_offset && off == BIG ? ", offset at the end" : "");
        bad |= n != BIG || (size_t)total != BIG || (from_offset && off != BIG);
    }
    close(file);
    return bad;
}

/* ---- splice, tee, sendmmsg, recvmmsg ---- */

/* What pair_writer sends: "msg 0\0msg 1\0..."; its length. */
static size_t messages_text(char *out)
{
    size_t len = 0;
    for (int i = 0; i < MESSAGES; i++)
        len += (size_t)sprintf(out + len, "msg %d", i) + 1;
    return len;
}

static int read_exact(int fd, char *buf, size_t n)
{
    for (size_t have = 0; have < n;) {
        ssize_t r = read(fd, buf + have, n - have);
        if (r <= 0)
            return -1;
        have += (size_t)r;
    }
    return 0;
}

/* Move pair_writer's messages from `from` to `to` with blocking splice
 * (tee_to >= 0: with tee into tee_to instead, then read from both), read
 * them from `out`, and say how many bytes came as sent. */
static int move_messages(const char *what, int from, int to, int out, int wr, int socket_calls, int tee_out)
{
    char want[64], got[64], copy[64];
    size_t total = messages_text(want), have = 0;
    struct pair w = { .wr = wr, .use_socket_calls = socket_calls };
    pthread_t t;
    pthread_create(&t, NULL, pair_writer, &w);
    int same = 1;
    while (have < total) {
        ssize_t n =
            tee_out >= 0 ? tee(from, to, total - have, 0) : splice(from, NULL, to, NULL, total - have, 0);
        if (n <= 0 || read_exact(out, got + have, (size_t)n) != 0)
            break;
        if (tee_out >= 0)  /* tee copied: the source still holds the bytes. */
            same &= read_exact(tee_out, copy, (size_t)n) == 0 && memcmp(copy, got + have, (size_t)n) == 0;
        have += (size_t)n;
    }
    pthread_join(t, NULL);
    same &= have == total && memcmp(got, want, total) == 0;
    printf("%s: %zu of %zu bytes%s\n", what, have, total, same ? ", as sent" : ", not as sent");
    return !same;
}

static int test_splice(void)
{
    int s[2], p[2], q[2], bad = 0;
    ticker_start();
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, s) != 0 || pipe(p) != 0)
        return 1;
    bad |= move_messages("splice socket to pipe", s[0], p[1], p[0], s[1], 1, -1);
    bad |= move_messages("splice pipe to socket", p[0], s[0], s[1], p[1], 0, -1);
    if (pipe(q) != 0)
        return 1;
    bad |= move_messages("tee pipe to pipe", p[0], q[1], q[0], p[1], 0, p[0]);
    for (int i = 0; i < 2; i++) {
        close(s[i]);
        close(p[i]);
        close(q[i]);
    }
    return ticker_stop("splice", 10) | bad;
}

#define MMSG_BIG (512 * 1024)

static int test_mmsg(void)
{
    int d[2], bad = 0;
    ticker_start();
    if (socketpair(AF_UNIX, SOCK_DGRAM, 0, d) != 0)
        return 1;
    struct pair w = { .wr = d[1], .use_socket_calls = 1 };
    pthread_t t;
    pthread_create(&t, NULL, pair_writer, &w);
    char bufs[MESSAGES][16];
    struct iovec iov[MESSAGES];
    struct mmsghdr vec[MESSAGES];
    memset(vec, 0, sizeof vec);
    for (int i = 0; i < MESSAGES; i++) {
        iov[i] = (struct iovec){ bufs[i], sizeof bufs[i] };
        vec[i].msg_hdr.msg_iov = &iov[i];
        vec[i].msg_hdr.msg_iovlen = 1;
    }
    int first = recvmmsg(d[0], vec, MESSAGES, MSG_WAITFORONE, NULL);
    int rest = first > 0 ? recvmmsg(d[0], vec + first, MESSAGES - (unsigned)first, 0, NULL) : -1;
    pthread_join(t, NULL);
    int intact = 0;
    for (int i = 0; i < MESSAGES && first > 0 && rest > 0 && i < first + rest; i++) {
        char want[16];
        int n = snprintf(want, sizeof want, "msg %d", i) + 1;
        intact += vec[i].msg_len == (unsigned)n && memcmp(bufs[i], want, (size_t)n) == 0;
    }
    printf("recvmmsg: %d with MSG_WAITFORONE, then %d; %d of %d intact\n", first, rest, intact, MESSAGES);
    bad |= first != 1 || rest != MESSAGES - 1 || intact != MESSAGES;
    close(d[0]);
    close(d[1]);

    int s[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, s) != 0)
        return 1;
    unsigned char *data = malloc(2 * MMSG_BIG);
    for (size_t i = 0; i < 2 * MMSG_BIG; i++)
        data[i] = pattern(i);
    pthread_create(&t, NULL, slow_drain, &s[0]);
    struct iovec big[2] = { { data, MMSG_BIG }, { data + MMSG_BIG, MMSG_BIG } };
    struct mmsghdr out[2];
    memset(out, 0, sizeof out);
    for (int i = 0; i < 2; i++) {
        out[i].msg_hdr.msg_iov = &big[i];
        out[i].msg_hdr.msg_iovlen = 1;
    }
    int sent = sendmmsg(s[1], out, 2, 0);
    close(s[1]);
    void *total;
    pthread_join(t, &total);
    close(s[0]);
    free(data);
    printf("sendmmsg: %d of 2 messages, %u and %u bytes, read %zu intact\n", sent, out[0].msg_len,
           out[1].msg_len, (size_t)total);
    bad |= sent != 2 || out[0].msg_len != MMSG_BIG || out[1].msg_len != MMSG_BIG ||
           (size_t)total != 2 * MMSG_BIG;
    return ticker_stop("mmsg", 10) | bad;
}

/* ---- dup ---- */

struct late {
    int fd;
    int socket_calls;
};

/* Writes "late" after 100 ms. */
static void *late_writer(void *arg)
{
    struct late *l = arg;
    usleep(100000);
    ssize_t n = l->socket_calls ? send(l->fd, "late", 4, 0) : write(l->fd, "late", 4);
    return (void *)(intptr_t)(n == 4);
}

/* A blocking read through rd (a dup) while a thread writes to wr late. */
static int read_through(const char *what, int rd, int wr, int socket_calls)
{
    struct late l = { .fd = wr, .socket_calls = socket_calls };
    pthread_t t;
    pthread_create(&t, NULL, late_writer, &l);
    char buf[8] = "";
    ssize_t n = read(rd, buf, sizeof buf);
    pthread_join(t, NULL);
    int ok = n == 4 && memcmp(buf, "late", 4) == 0;
    printf("dup: read through %s: %s\n", what, ok ? "late" : "?");
    return !ok;
}

static int nonblock_shown(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    return fl >= 0 && (fl & O_NONBLOCK) != 0;
}

/* O_NONBLOCK set on a shows on b, and a read on b obeys it; cleared on b,
 * it shows on a. */
static int shared_flags(const char *what, int a, int b)
{
    fcntl(a, F_SETFL, fcntl(a, F_GETFL) | O_NONBLOCK);
    int on_b = nonblock_shown(b);
    char c;
    ssize_t n = read(b, &c, 1);
    int err = errno;
    fcntl(b, F_SETFL, fcntl(b, F_GETFL) & ~O_NONBLOCK);
    int off_a = !nonblock_shown(a);
    int ok = on_b && n == -1 && err == EAGAIN && off_a;
    printf("dup: %s: O_NONBLOCK shared %s, read %s\n", what, on_b && off_a ? "yes" : "no",
           n == -1 && err == EAGAIN ? "EAGAIN" : "?");
    return !ok;
}

static int test_dup(void)
{
    int p[2], s[2];
    if (pipe(p) != 0 || socketpair(AF_UNIX, SOCK_STREAM, 0, s) != 0)
        return 1;
    ticker_start();
    int bad = 0;
    int d = dup(p[0]);
    bad |= read_through("dup", d, p[1], 0);
    bad |= shared_flags("dup", p[0], d);
    close(d);

    int d2 = dup2(p[0], 40);
    bad |= d2 != 40 || dup2(d2, d2) != d2 || dup2(-1, d2) != -1;  /* Onto itself, a bad fd: nothing. */
    bad |= read_through("dup2", d2, p[1], 0);
    bad |= shared_flags("dup2", d2, p[0]);
    close(d2);

    int d3 = dup3(p[0], 41, O_CLOEXEC);
    int cloexec = d3 == 41 && (fcntl(d3, F_GETFD) & FD_CLOEXEC) && !(fcntl(p[0], F_GETFD) & FD_CLOEXEC);
    printf("dup: dup3 O_CLOEXEC %s, onto itself %s\n", cloexec ? "its own" : "?",
           dup3(d3, d3, 0) == -1 && errno == EINVAL ? "EINVAL" : "?");
    bad |= !cloexec;
    bad |= read_through("dup3", d3, p[1], 0);
    bad |= shared_flags("dup3", p[0], d3);
    close(d3);

    int df = fcntl(p[0], F_DUPFD_CLOEXEC, 50);
    bad |= df < 50 || read_through("F_DUPFD_CLOEXEC", df, p[1], 0);
    bad |= shared_flags("F_DUPFD_CLOEXEC", df, p[0]);
    close(df);

    int ds = dup(s[0]);
    bad |= read_through("dup of a socket", ds, s[1], 1);
    bad |= shared_flags("dup of a socket", s[0], ds);
    close(ds);
    /* The first fds are still there and blocking. */
    bad |= read_through("the first pipe end", p[0], p[1], 0);
    close(p[0]);
    close(p[1]);
    close(s[0]);
    close(s[1]);
    bad |= ticker_stop("dup", 25);
    return bad;
}

struct blocked {
    int fd;
    ssize_t n;
    int err;
};

static void *blocked_read(void *arg)
{
    struct blocked *b = arg;
    char c;
    b->n = read(b->fd, &c, 1);
    b->err = errno;
    return NULL;
}

static int test_dup2wake(void)
{
    int p[2], q[2];
    if (pipe(p) != 0 || pipe(q) != 0)
        return 1;
    struct blocked b = { .fd = p[0] };
    pthread_t t;
    pthread_create(&t, NULL, blocked_read, &b);
    usleep(100000);
    int r = dup2(q[0], p[0]);
    pthread_join(t, NULL);
    printf("dup2wake: dup2 %s, read %zd errno %s\n", r == p[0] ? "ok" : "?", b.n, strerror(b.err));
    return r == p[0] && b.n == -1 && b.err == EBADF ? 0 : 1;
}

/* ---- stdio: a pipe end dup'ed onto a standard stream ---- */

/* O_NONBLOCK in the kernel's flags of fd (/proc/self/fdinfo), whatever
 * F_GETFL shows. */
static int really_nonblocking(int fd)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fdinfo/%d", fd);
    FILE *f = fopen(path, "r");
    char line[128];
    unsigned flags = 0;
    while (f != NULL && fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "flags: %o", &flags) == 1)
            break;
    if (f != NULL)
        fclose(f);
    return (flags & O_NONBLOCK) != 0;
}

#define CHILD_BYTES 300000

/* Read what child pid writes into pipe p, slowly; 1 unless it wrote
 * CHILD_BYTES and exited with 0. */
static int slow_read_child(const char *how, int p[2], pid_t pid)
{
    close(p[1]);
    static char big[16384];
    size_t total = 0;
    ssize_t n;
    while ((n = read(p[0], big, sizeof big)) > 0) {
        total += (size_t)n;
        usleep(2000);
    }
    close(p[0]);
    int status = -1;
    if (pid > 0)
        waitpid(pid, &status, 0);
    printf("stdio: %s head wrote %zu of %d bytes into a pipe, exit status %d\n", how, total, CHILD_BYTES,
           WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    return total != CHILD_BYTES || status != 0;
}

/* printf into a pipe dup'ed onto stdout, and a child that execs head(1)
 * with a pipe as its stdout, more than the pipe holds, read slowly: stdio
 * and the exec'd program see a blocking pipe. */
static int test_stdio(void)
{
    int p[2], saved = dup(STDOUT_FILENO);
    if (pipe(p) != 0 || saved < 0)
        return 1;
    fflush(stdout);
    dup2(p[1], STDOUT_FILENO);
    int real_nb = really_nonblocking(STDOUT_FILENO) || really_nonblocking(p[1]);
    printf("hello through stdio\n");
    fflush(stdout);
    dup2(saved, STDOUT_FILENO);
    close(saved);
    char buf[64] = "";
    ssize_t n = read(p[0], buf, sizeof buf - 1);
    int said = n == 20 && strcmp(buf, "hello through stdio\n") == 0;
    printf("stdio: printf into a pipe on stdout: %s, really non-blocking there: %s\n",
           said ? "read back" : "?", real_nb ? "yes" : "no");
    close(p[0]);
    close(p[1]);

    if (pipe(p) != 0 || write(p[1], "a line\n", 7) != 7)
        return 1;
    FILE *f = fdopen(p[0], "r");
    int file_nb = really_nonblocking(p[0]);
    char line[16] = "";
    int got = f != NULL && fgets(line, sizeof line, f) != NULL && strcmp(line, "a line\n") == 0;
    close(p[1]);
    int eof = f != NULL && fgets(line, sizeof line, f) == NULL && feof(f) && !ferror(f);
    printf("stdio: fdopen of a pipe: a line %s, then EOF %s, really non-blocking there: %s\n",
           got ? "read" : "?", eof ? "yes" : "no", file_nb ? "yes" : "no");
    if (f != NULL)
        fclose(f);
    real_nb |= file_nb;
    said &= got && eof;

    if (pipe(p) != 0)
        return 1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(p[1], STDOUT_FILENO);
        close(p[0]);
        close(p[1]);
        execlp("head", "head", "-c", "300000", "/dev/zero", (char *)NULL);
        _exit(127);
    }
    int bad = slow_read_child("exec'd", p, pid);

    if (pipe(p) != 0)
        return 1;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, p[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&fa, p[0]);
    posix_spawn_file_actions_addclose(&fa, p[1]);
    char *argv[] = { "head", "-c", "300000", "/dev/zero", NULL };
    if (posix_spawnp(&pid, "head", &fa, NULL, argv, environ) != 0)
        pid = -1;
    posix_spawn_file_actions_destroy(&fa);
    bad |= slow_read_child("posix_spawn'd", p, pid);
    return !said || real_nb || bad;
}

/* ---- epoll ---- */

static void *three_writes(void *arg)
{
    int fd = *(int *)arg;
    for (int i = 0; i < 3; i++) {
        usleep(100000);
        if (write(fd, "e", 1) != 1)
            break;
    }
    return NULL;
}

/* One call of kind 0 epoll_wait, 1 epoll_pwait, 2 epoll_pwait2. */
static int epoll_call(int kind, int ep, struct epoll_event *evs, int max, int ms)
{
    sigset_t mask;
    sigemptyset(&mask);
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    switch (kind) {
    case 0: return epoll_wait(ep, evs, max, ms);
    case 1: return epoll_pwait(ep, evs, max, ms, &mask);
    default: return epoll_pwait2(ep, evs, max, &ts, &mask);
    }
}

static int test_epoll(void)
{
    int p[2];
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0 || pipe(p) != 0)
        return 1;
    struct epoll_event ev = { .events = EPOLLIN, .data.fd = p[0] };
    if (epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev) != 0)
        return 1;
    ticker_start();
    pthread_t t;
    pthread_create(&t, NULL, three_writes, &p[1]);
    int events = 0, bytes = 0, bad = 0;
    double t0 = now();
    while (bytes < 3 && now() - t0 < 5) {
        struct epoll_event out[4];
        int n = epoll_call(bytes % 3, ep, out, 4, 2000);
        for (int i = 0; i < n; i++) {
            char c;
            events += out[i].data.fd == p[0] && (out[i].events & EPOLLIN);
            bytes += read(p[0], &c, 1) == 1;
        }
        bad |= n < 0;
    }
    pthread_join(t, NULL);
    bad |= ticker_stop("epoll", 10);
    printf("epoll: %d events, %d bytes of 3\n", events, bytes);
    bad |= events != 3 || bytes != 3;
    const char *name[] = { "epoll_wait", "epoll_pwait", "epoll_pwait2" };
    for (int kind = 0; kind < 3; kind++) {
        struct epoll_event out[4];
        t0 = now();
        int n = epoll_call(kind, ep, out, 4, 200);
        double dt = now() - t0;
        int ok = n == 0 && dt > 0.18 && dt < 1.0;
        printf("epoll: %s 200 ms, nothing ready: %s\n", name[kind], ok ? "0 after ~200 ms" : "?");
        if (!ok)
            fprintf(stderr, "epoll: %s gave %d after %.3f s\n", name[kind], n, dt);
        bad |= !ok;
    }
    close(ep);
    close(p[0]);
    close(p[1]);
    return bad;
}

/* ---- pthread_kill ---- */

static volatile sig_atomic_t usr1_seen;

static void on_usr1(int sig)
{
    (void)sig;
    usr1_seen++;
}

static void *nap(void *arg)
{
    usleep((useconds_t)(long)arg);
    return NULL;
}

static int test_kill(void)
{
    signal(SIGUSR1, on_usr1);
    pthread_t live, ended;
    pthread_create(&live, NULL, nap, (void *)300000L);
    pthread_create(&ended, NULL, nap, (void *)0L);
    usleep(100000);
    int rl = pthread_kill(live, 0);
    int re = pthread_kill(ended, 0);
    int rs = pthread_kill(live, SIGUSR1);
    for (int i = 0; i < 100 && usr1_seen == 0; i++)
        usleep(1000);
    pthread_join(live, NULL);
    pthread_join(ended, NULL);
    printf("kill: live %s, ended %s, SIGUSR1 %s, handler ran %d\n", strerror(rl), strerror(re),
           strerror(rs), (int)usr1_seen);
    return rl == 0 && (re == 0 || re == ESRCH) && rs == 0 && usr1_seen == 1 ? 0 : 1;
}

/* ---- signals ---- */

static volatile sig_atomic_t alarms;
static int alarm_pipe = -1;     /* The handler writes a byte here at its second signal. */

static void on_alarm(int sig)
{
    (void)sig;
    if (++alarms == 2 && alarm_pipe >= 0)
        (void)!write(alarm_pipe, "x", 1);
}

/* SIGALRM in first_ms, then every every_ms (0: once; both 0: disarmed). */
static void alarm_in(int first_ms, int every_ms)
{
    struct itimerval t = {
        .it_value = { first_ms / 1000, first_ms % 1000 * 1000 },
        .it_interval = { every_ms / 1000, every_ms % 1000 * 1000 },
    };
    setitimer(ITIMER_REAL, &t, NULL);
}

/* pthread_kill's signal is its target's: it cuts that thread's read short,
 * not the main thread's sleep meanwhile. */
static int aimed_pipe[2];
static ssize_t aimed_read;
static int aimed_errno;
static volatile sig_atomic_t usr2_seen;

static void on_usr2(int sig)
{
    (void)sig;
    usr2_seen++;
}

static void *aimed_reader(void *arg)
{
    (void)arg;
    char c;
    errno = 0;
    aimed_read = read(aimed_pipe[0], &c, 1);
    aimed_errno = errno;
    return NULL;
}

static void *aimer(void *arg)
{
    usleep(100000);
    pthread_kill(*(pthread_t *)arg, SIGUSR2);
    return NULL;
}

static int aimed_signal(void)
{
    if (pipe(aimed_pipe) != 0)
        return 1;
    struct sigaction sa = { .sa_handler = on_usr2 };
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR2, &sa, NULL);
    pthread_t reader, sender;
    pthread_create(&reader, NULL, aimed_reader, NULL);
    pthread_create(&sender, NULL, aimer, &reader);
    struct timespec nap = { 0, 300 * 1000 * 1000 };
    int r_sleep = nanosleep(&nap, NULL);
    pthread_join(sender, NULL);
    pthread_join(reader, NULL);
    signal(SIGUSR2, SIG_DFL);
    close(aimed_pipe[0]);
    close(aimed_pipe[1]);
    printf(
        "signals: pthread_kill: the target's read %zd (%s), the main thread's nanosleep %d, handler ran %d\n",
        aimed_read, strerror(aimed_errno), r_sleep, (int)usr2_seen);
    return aimed_read == -1 && aimed_errno == EINTR && r_sleep == 0 && usr2_seen == 1 ? 0 : 1;
}

/* sem_post in a handler, the async-signal-safe wake-up: it ends the main
 * thread's sem_wait, which the signal interrupted, and another thread's.
 * (glibc's sem_wait, interrupted, returns 0 when it was posted meanwhile
 * and EINTR otherwise, SA_RESTART or not.) */
static sem_t posted;

static void post_on_alarm(int sig)
{
    (void)sig;
    sem_post(&posted);
}

static void *sem_waiter(void *arg)
{
    (void)arg;
    return (void *)(intptr_t)sem_wait(&posted);
}

static int posted_in_handler(void)
{
    sem_init(&posted, 0, 0);
    signal(SIGALRM, post_on_alarm);
    alarm_in(100, 0);
    int r_main = sem_wait(&posted);
    pthread_t t;
    pthread_create(&t, NULL, sem_waiter, NULL);
    alarm_in(100, 0);
    struct timespec nap = { 0, 300 * 1000 * 1000 };
    nanosleep(&nap, NULL);  /* SA_RESTART: not cut short, the handler posts meanwhile. */
    void *r_thread = (void *)-1;
    int r_join = pthread_join(t, &r_thread);
    signal(SIGALRM, SIG_DFL);
    sem_destroy(&posted);
    printf(
        "signals: sem_post in a handler: the main thread's sem_wait %d, another thread's %d (joined: %s)\n",
        r_main, (int)(intptr_t)r_thread, strerror(r_join));
    return r_main == 0 && r_join == 0 && r_thread == NULL ? 0 : 1;
}

static int test_signals(void)
{
    int p[2];
    if (pipe(p) != 0)
        return 1;
    struct pollfd pfd = { .fd = p[0], .events = POLLIN };
    char c;
    struct sigaction sa = { .sa_handler = on_alarm }, old;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, NULL);
    sigaction(SIGALRM, NULL, &old);
    int same = old.sa_handler == on_alarm && !(old.sa_flags & (SA_SIGINFO | SA_RESTART));
    /* Without SA_RESTART every wait ends with EINTR. */
    alarm_in(100, 0);
    ssize_t n = read(p[0], &c, 1);
    int e_read = errno;
    alarm_in(100, 0);
    int r_poll = poll(&pfd, 1, 5000);
    int e_poll = errno;
    alarm_in(100, 0);
    struct timespec req = { 3, 0 }, rem = { 0, 0 };
    int r_sleep = nanosleep(&req, &rem);
    int e_sleep = errno;
    printf("signals: sigaction gives back the handler: %s\n", same ? "yes" : "no");
    printf("signals: no SA_RESTART: read %zd (%s), poll %d (%s), nanosleep %d (%s), 2 s < left < 3 s: %s\n",
           n, strerror(e_read), r_poll, strerror(e_poll), r_sleep, strerror(e_sleep),
           rem.tv_sec == 2 ? "yes" : "no");
    /* signal() sets SA_RESTART: a read goes on through signals, until the
     * second one's byte, and errno stays as it was; poll never restarts. */
    signal(SIGALRM, on_alarm);
    alarms = 0;
    alarm_pipe = p[1];
    alarm_in(100, 100);
    errno = 0;
    n = read(p[0], &c, 1);
    e_read = errno;
    alarm_in(0, 0);
    alarm_pipe = -1;
    int seen = alarms;
    alarm_in(100, 0);
    r_poll = poll(&pfd, 1, 5000);
    e_poll = errno;
    /* A semaphore's wait too (under thread patching, the preload's). */
    sem_t sem;
    sem_init(&sem, 0, 0);
    sigaction(SIGALRM, &sa, NULL);
    alarm_in(100, 0);
    int r_sem = sem_wait(&sem);
    int e_sem = errno;
    sem_destroy(&sem);
    printf("signals: no SA_RESTART: sem_wait %d (%s)\n", r_sem, strerror(e_sem));
    /* siginterrupt(sig, 1): signal()'s handler interrupts from then on
     * (deprecated in glibc, still called by programs). */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    siginterrupt(SIGALRM, 1);
#pragma GCC diagnostic pop
    signal(SIGALRM, on_alarm);
    alarm_in(100, 0);
    ssize_t n2 = read(p[0], &c, 1);
    int e_read2 = errno;
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    siginterrupt(SIGALRM, 0);
#pragma GCC diagnostic pop
    signal(SIGALRM, SIG_DFL);
    printf("signals: SA_RESTART: read %zd after %d signals (errno %s), poll %d (%s)\n", n, seen,
           e_read == 0 ? "untouched" : strerror(e_read), r_poll, strerror(e_poll));
    printf("signals: siginterrupt: read %zd (%s)\n", n2, strerror(e_read2));
    close(p[0]);
    close(p[1]);
    int aimed = aimed_signal() | posted_in_handler();
    return r_sem == -1 && e_sem == EINTR && same && e_read == 0 && n == 1 && seen == 2 && r_poll == -1 &&
                   e_poll == EINTR && n2 == -1 && e_read2 == EINTR && r_sleep == -1 && e_sleep == EINTR &&
                   rem.tv_sec == 2 && aimed == 0
               ? 0
               : 1;
}

/* ---- pthread_cancel ---- */

static int cancel_pipe[2];
static pthread_mutex_t cancel_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t cond_lock = PTHREAD_MUTEX_INITIALIZER;   /* Left held by the canceled waiter. */
static pthread_cond_t cancel_cond = PTHREAD_COND_INITIALIZER;
static volatile int past_read, got_mutex, relocked;

static void *cancel_reader(void *arg)
{
    (void)arg;
    char c;
    return (void *)(intptr_t)read(cancel_pipe[0], &c, 1);    /* Never: canceled. */
}

static void *cancel_sleeper(void *arg)
{
    (void)arg;
    struct timespec ts = { 10, 0 };
    nanosleep(&ts, NULL);
    return (void *)1;
}

static char cleanups[8];
static int ncleanups, cleanup_unlock;

static void note_cleanup(void *arg)
{
    if (ncleanups < (int)sizeof cleanups - 1)
        cleanups[ncleanups++] = *(const char *)arg;
}

/* The cleanup handler of a cond waiter: it holds the mutex again. */
static void unlock_cleanup(void *m)
{
    note_cleanup("u");
    cleanup_unlock = pthread_mutex_unlock(m);
}

static void *cancel_cond_waiter(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&cond_lock);
    pthread_cleanup_push(unlock_cleanup, &cond_lock);
    pthread_cleanup_push(note_cleanup, "n");
    for (;;)
        pthread_cond_wait(&cancel_cond, &cond_lock);
    pthread_cleanup_pop(0);
    pthread_cleanup_pop(0);
    return (void *)1;
}

/* pthread_exit runs the handlers still pushed, not those popped. */
static void *exiter(void *arg)
{
    (void)arg;
    pthread_cleanup_push(note_cleanup, "a");
    pthread_cleanup_push(note_cleanup, "b");
    pthread_cleanup_push(note_cleanup, "x");
    pthread_cleanup_pop(0);
    usleep(1000);
    pthread_exit((void *)7);
    pthread_cleanup_pop(0);
    pthread_cleanup_pop(0);
    return NULL;
}

static void *cancel_disabled(void *arg)
{
    (void)arg;
    int old;
    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old);
    char c;
    if (read(cancel_pipe[0], &c, 1) == 1 && old == PTHREAD_CANCEL_ENABLE)
        past_read = 1;
    pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, NULL);
    pthread_testcancel();
    return (void *)1;
}

static void *cancel_locker(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&cancel_lock);
    got_mutex = 1;
    pthread_mutex_unlock(&cancel_lock);
    pthread_testcancel();
    return (void *)1;
}

/* Start fn, let it block, cancel it, join: 1 when it ended canceled. */
static int cancel_one(const char *what, void *(*fn)(void *), int (*meanwhile)(void))
{
    pthread_t t;
    pthread_create(&t, NULL, fn, NULL);
    usleep(100000);
    int rc = pthread_cancel(t);
    usleep(50000);
    int ok = meanwhile == NULL || meanwhile() == 0;
    void *res = NULL;
    int rj = pthread_join(t, &res);
    int canceled = rc == 0 && rj == 0 && res == PTHREAD_CANCELED && ok;
    printf("cancel: %s: %s\n", what, canceled ? "PTHREAD_CANCELED" : "?");
    return canceled;
}

static int write_one(void)
{
    return write(cancel_pipe[1], "x", 1) != 1;
}

static int unlock_it(void)
{
    return pthread_mutex_unlock(&cancel_lock);
}

static int test_cancel(void)
{
    if (pipe(cancel_pipe) != 0)
        return 1;
    int good = cancel_one("in read", cancel_reader, NULL);
    good &= cancel_one("in nanosleep", cancel_sleeper, NULL);
    good &= cancel_one("in pthread_cond_wait", cancel_cond_waiter, NULL);
    /* The canceled cond waiter holds the mutex again, as glibc makes it,
     * and its handlers run innermost first: the outer one unlocks it. */
    relocked = cleanup_unlock == 0 && pthread_mutex_trylock(&cond_lock) == 0 && strcmp(cleanups, "nu") == 0;
    printf("cancel: cond waiter's cleanup handlers %s, its mutex held again and released: %s\n", cleanups,
           relocked ? "yes" : "no");
    pthread_t t;
    void *res = NULL;
    ncleanups = 0;
    memset(cleanups, 0, sizeof cleanups);
    pthread_create(&t, NULL, exiter, NULL);
    pthread_join(t, &res);
    printf("cancel: pthread_exit: result %ld, cleanup handlers %s\n", (long)res, cleanups);
    relocked &= res == (void *)7 && strcmp(cleanups, "ba") == 0;
    good &= cancel_one("disabled, then pthread_testcancel", cancel_disabled, write_one);
    printf("cancel: disabled: the read went on: %s\n", past_read ? "yes" : "no");
    pthread_mutex_lock(&cancel_lock);
    good &= cancel_one("waiting for a mutex, then pthread_testcancel", cancel_locker, unlock_it);
    printf("cancel: mutex taken first: %s\n", got_mutex ? "yes" : "no");
    close(cancel_pipe[0]);
    close(cancel_pipe[1]);
    return good && relocked && past_read && got_mutex ? 0 : 1;
}

/* ---- a pipe handed to an exec'd program by number ---- */

/* sh, started without the preload in its environment, reads a line from a
 * pipe it is given by number (not close-on-exec, as Python's pass_fds
 * gives one), which the parent writes 100 ms later: sh must find the pipe
 * blocking, and the parent's end of it stays as it was. Started with fork
 * and execle, and fork and execv. */
static int inherit_one(const char *how)
{
    int p[2];
    if (pipe(p) != 0)
        return 1;
    char script[96];
    snprintf(script, sizeof script, "read line <&%d && echo \"%s: $line\"", p[0], how);
    char *argv[] = { "sh", "-c", script, NULL };
    char *env[] = { "PATH=/usr/bin:/bin", NULL };
    int before = really_nonblocking(p[0]);
    pid_t pid = fork();
    if (pid == 0) {
        close(p[1]);
        if (strcmp(how, "execle") == 0)
            execle("/bin/sh", "sh", "-c", script, (char *)NULL, env);
        else if (unsetenv("LD_PRELOAD") == 0)
            execv("/bin/sh", argv);
        _exit(127);
    }
    usleep(100000);
    ssize_t w = write(p[1], "the line\n", 9);
    close(p[1]);
    int status = -1;
    if (pid > 0)
        waitpid(pid, &status, 0);
    int same = really_nonblocking(p[0]) == before;
    close(p[0]);
    printf("inherit %s: the parent's end %s\n", how, same ? "as before" : "changed");
    return w != 9 || pid <= 0 || status != 0 || !same;
}

/* An exec that fails (no such program) leaves this process's pipe as it
 * was: a read that must wait (the writer is a thread, 100 ms later) waits
 * in the hub, not in the kernel, with the writer left to run. */
static int write_fd = -1;

static void *write_later(void *arg)
{
    (void)arg;
    usleep(100000);
    ssize_t w = write(write_fd, "ok", 2);
    return (void *)(intptr_t)w;
}

static int inherit_failed_exec(void)
{
    int p[2];
    if (pipe(p) != 0)
        return 1;
    int before = really_nonblocking(p[0]);
    char *argv[] = { "no-such-program", NULL };
    int r = execv("/nonexistent/no-such-program", argv);
    int e = errno;
    int same = really_nonblocking(p[0]) == before;
    write_fd = p[1];
    pthread_t t;
    pthread_create(&t, NULL, write_later, NULL);
    char buf[2];
    ssize_t n = read(p[0], buf, sizeof buf);
    void *w = NULL;
    pthread_join(t, &w);
    close(p[0]);
    close(p[1]);
    printf("inherit failed exec: %s, the pipe %s, read %zd\n", e == ENOENT ? "ENOENT" : strerror(e),
           same ? "as before" : "changed", n);
    return r != -1 || e != ENOENT || !same || n != 2 || (intptr_t)w != 2;
}

static int test_inherit(void)
{
    return inherit_one("execle") | inherit_one("execv") | inherit_failed_exec();
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char *t = argc > 1 ? argv[1] : "";
    static const struct {
        const char *name;
        int (*fn)(void);
    } tests[] = {
        { "pipe", test_pipe },         { "socketpair", test_socketpair },
        { "bigwrite", test_bigwrite }, { "dup", test_dup },
        { "stdio", test_stdio },       { "epoll", test_epoll },
        { "kill", test_kill },         { "cancel", test_cancel },
        { "sendfile", test_sendfile }, { "splice", test_splice },
        { "mmsg", test_mmsg },         { "signals", test_signals },
        { "inherit", test_inherit },
    };
    if (strcmp(t, "dup2wake") == 0)
        return test_dup2wake();
    int all = strcmp(t, "all") == 0, rc = 0, found = 0;
    for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) {
        if (all || strcmp(t, tests[i].name) == 0) {
            found = 1;
            rc |= tests[i].fn();
        }
    }
    if (!found)
        fprintf(
            stderr,
            "usage: pipes "
            "pipe|socketpair|bigwrite|sendfile|splice|mmsg|dup|dup2wake|stdio|epoll|kill|cancel|signals|inherit|all\n");
    return found ? rc : 2;
}
