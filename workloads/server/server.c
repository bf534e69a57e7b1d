/* workloads/server/server.c: greenbench-server, the local HTTP/1.1 server
 * that the joinall and pool workloads fetch from.
 *
 *   greenbench-server [--delay-ms D] [--size BYTES] [--port P] [--cpu N|last]
 *
 * Listens on 127.0.0.1 only (port 0: the kernel picks), prints
 * "http://127.0.0.1:PORT/" as its first stdout line, and answers each GET
 * (or HEAD) with a body of --size bytes after --delay-ms milliseconds. A
 * query overrides both per request: /?delay_ms=5&size=100. Connections are
 * kept or closed as the client asks (HTTP/1.1: kept unless
 * "Connection: close"; HTTP/1.0: closed unless "keep-alive"); pipelined
 * requests are answered in order. SIGTERM or SIGINT ends it cleanly (exit 0),
 * and so, with --exit-on-stdin-eof, does the end of its stdin: a parent that
 * keeps the other end of a pipe there cannot leave it running by dying.
 *
 * It must not be the bottleneck: one process, one libev loop on epoll,
 * every wait a watcher. The delay runs from the moment the request was
 * parsed: every delayed connection sits in one min-heap by due time, and
 * one timerfd, set to the earliest, wakes the loop. Not an ev_timer per
 * request: libev's epoll backend waits in whole milliseconds rounded up and
 * never less than 1 ms, so those fired 0.7 ms late on average at 10 000
 * requests per second here (a timerfd has no such rounding). So 10 000
 * delayed requests at once cost 10 000 heap entries, not threads, and a
 * response leaves D after its request plus the loop's wake-up and the time
 * to serve the others due at the same moment. The listen backlog is the most
 * the kernel allows (net.core.somaxconn) and the soft RLIMIT_NOFILE is
 * raised to the hard one. Statistics go to stderr at exit. Requests are
 * parsed by request.c, which the tests and fuzz targets call on bytes alone. */
#include "server/request.h"
#include "option_error.h"
#include "sysinfo.h"

#include <ev.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define INLINE_IN 1024          /* Request bytes kept in the connection itself. */
#define MAX_IN 16384            /* Largest request head accepted (then 431). */
#define BODY_CHUNK 65536        /* Body bytes per write at most. */
#define ACCEPTS_PER_WAKE 4096   /* Drain the accept queue, but let timers run too. */

enum conn_state { READING, DELAYING, WRITING, LINGERING };

typedef struct conn conn;
struct conn {
    ev_io io;                   /* Readable while READING, writable while WRITING. */
    ev_timer linger_timer;      /* The bound on LINGERING. */
    long long due_ns;           /* While DELAYING: when to answer (CLOCK_MONOTONIC). */
    size_t delay_slot;          /* While DELAYING: its index in delays.heap. */
    conn *prev, *next;          /* In srv.conns while open; next: free list after. */
    int fd;
    enum conn_state state;
    int io_events;              /* What io waits for now, 0 if stopped. */
    bool keep_alive;            /* After this response. */
    bool linger;                /* Drain the client's input before closing (after an error). */
    char *in;                   /* inline_in, or a MAX_IN heap buffer. */
    size_t in_len, in_cap;
    long long discard;          /* Request body bytes still to skip. */
    long long body_left;        /* Response body bytes still to send. */
    long long size;             /* This request's body size. */
    char head[320];             /* This response's status line and headers (and an error's message). */
    size_t head_len, head_off;
    char inline_in[INLINE_IN];
};

#define CPU_ANY (-1)
#define CPU_LAST (-2)

static struct {
    long long delay_ms, size;
    long long cpu;              /* --cpu: a CPU number, CPU_LAST or CPU_ANY. */
    int port;
    int listen_fd, spare_fd;    /* spare_fd: kept open to shed connections on EMFILE. */
    ev_io accept_io;
    ev_timer accept_retry;      /* Accepting paused after EMFILE / ENFILE. */
    ev_signal sigterm, sigint;
    ev_io parent_io;            /* stdin, with --exit-on-stdin-eof. */
    bool exit_on_stdin_eof;
    conn *conns;                /* Open connections, to close at exit. */
    conn *free_conns;
    long long open_conns, peak_conns, accepted, requests, bad_requests, resets, shed;
    long long delayed, late_sum_ns, late_max_ns, late_over_1ms;    /* Answers after a delay: how late. */
} srv = { .cpu = CPU_ANY, .listen_fd = -1, .spare_fd = -1 };

/* The connections waiting out their delay, earliest due first, and the
 * timerfd that wakes the loop when the earliest is due. */
static struct {
    conn **heap;
    size_t len, cap;
    int timer_fd;
    ev_io timer_io;
    long long armed_ns;         /* What timer_fd is set to; 0 when it has fired or is unset. */
} delays = { .timer_fd = -1 };

static char body[BODY_CHUNK];

static void on_conn_io(struct ev_loop *loop, ev_io *w, int revents);
static void on_linger_end(struct ev_loop *loop, ev_timer *w, int revents);
static void delay_remove(conn *c);

/* ---- connections ---- */

static conn *conn_new(int fd)
{
    conn *c = srv.free_conns;
    if (c != NULL)
        srv.free_conns = c->next;
    else if ((c = malloc(sizeof *c)) == NULL)
        return NULL;
    c->prev = NULL;
    c->next = srv.conns;
    if (srv.conns != NULL)
        srv.conns->prev = c;
    srv.conns = c;
    c->fd = fd;
    c->state = READING;
    c->io_events = 0;
    c->keep_alive = true;
    c->linger = false;
    c->in = c->inline_in;
    c->in_len = 0;
    c->in_cap = INLINE_IN;
    c->discard = 0;
    ev_init(&c->io, on_conn_io);
    ev_init(&c->linger_timer, on_linger_end);
    if (++srv.open_conns > srv.peak_conns)
        srv.peak_conns = srv.open_conns;
    return c;
}

static void conn_close(struct ev_loop *loop, conn *c)
{
    ev_io_stop(loop, &c->io);
    ev_timer_stop(loop, &c->linger_timer);
    if (c->state == DELAYING)
        delay_remove(c);
    close(c->fd);
    if (c->in != c->inline_in)
        free(c->in);
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        srv.conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    c->next = srv.free_conns;
    srv.free_conns = c;
    srv.open_conns--;
}

/* Wait for events on c's fd (0: stop waiting). */
static void conn_watch(struct ev_loop *loop, conn *c, int events)
{
    if (c->io_events == events)
        return;
    ev_io_stop(loop, &c->io);
    c->io_events = events;
    if (events != 0) {
        ev_io_set(&c->io, c->fd, events);
        ev_io_start(loop, &c->io);
    }
}

/* ---- delays ---- */

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Set the timerfd to fire at due_ns (absolute, so time spent between
 * reading the clock and this call is not added). */
static void delay_arm(long long due_ns)
{
    struct itimerspec at = { .it_value = { .tv_sec = due_ns / 1000000000, .tv_nsec = due_ns % 1000000000 } };
    if (timerfd_settime(delays.timer_fd, TFD_TIMER_ABSTIME, &at, NULL) != 0)
        perror("greenbench-server: timerfd_settime");
    delays.armed_ns = due_ns;
}

static void heap_place(size_t i, conn *c)
{
    delays.heap[i] = c;
    c->delay_slot = i;
}

static void heap_sift_up(size_t i)
{
    conn *c = delays.heap[i];
    while (i > 0 && delays.heap[(i - 1) / 2]->due_ns > c->due_ns) {
        heap_place(i, delays.heap[(i - 1) / 2]);
        i = (i - 1) / 2;
    }
    heap_place(i, c);
}

static void heap_sift_down(size_t i)
{
    conn *c = delays.heap[i];
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= delays.len)
            break;
        if (child + 1 < delays.len && delays.heap[child + 1]->due_ns < delays.heap[child]->due_ns)
            child++;
        if (delays.heap[child]->due_ns >= c->due_ns)
            break;
        heap_place(i, delays.heap[child]);
        i = child;
    }
    heap_place(i, c);
}

/* c waits until due_ns, then is answered. Returns false if out of memory. */
static bool delay_add(conn *c, long long due_ns)
{
    if (delays.len == delays.cap) {
        size_t cap = delays.cap ? 2 * delays.cap : 1024;
        conn **heap = realloc(delays.heap, cap * sizeof *heap);
        if (heap == NULL)
            return false;
        delays.heap = heap;
        delays.cap = cap;
    }
    c->state = DELAYING;
    c->due_ns = due_ns;
    delays.heap[delays.len] = c;
    heap_sift_up(delays.len++);
    /* With one delay for all, each new due time is the latest: the timerfd
     * is set once per wake-up, not once per request. */
    if (delays.armed_ns == 0 || due_ns < delays.armed_ns)
        delay_arm(due_ns);
    return true;
}

/* Take c out of the heap. The timerfd may then fire for nothing; it is set
 * again from the heap when it does. */
static void delay_remove(conn *c)
{
    size_t i = c->delay_slot;
    conn *last = delays.heap[--delays.len];
    if (last == c)
        return;
    heap_place(i, last);
    if (i > 0 && delays.heap[(i - 1) / 2]->due_ns > last->due_ns)
        heap_sift_up(i);
    else
        heap_sift_down(i);
}

/* ---- requests ---- */

/* Prepare an error response whose body says why; the connection closes
 * after it. The message travels in c->head, in the same write as the head
 * (HEAD gets the head only). request.c's messages fit there with room. */
static void error_response(conn *c, int status, const char *why, bool head_only)
{
    const char *reason = status == 405 ? "Method Not Allowed"
                       : status == 431 ? "Request Header Fields Too Large" : "Bad Request";
    c->keep_alive = false;
    c->linger = true;
    c->size = 0;
    c->body_left = 0;
    c->head_len = (size_t)snprintf(c->head, sizeof c->head,
                                   "HTTP/1.1 %d %s\r\n%sContent-Type: text/plain\r\nContent-Length: %zu\r\n"
                                   "Connection: close\r\n\r\n%s%s%s",
                                   status, reason, status == 405 ? "Allow: GET, HEAD\r\n" : "",
                                   sizeof "greenbench-server: \n" - 1 + strlen(why),
                                   head_only ? "" : "greenbench-server: ", head_only ? "" : why, head_only ? "" : "\n");
    c->head_off = 0;
    srv.bad_requests++;
}

static void ok_response(conn *c, bool head_only)
{
    c->body_left = head_only ? 0 : c->size;
    c->head_len = (size_t)snprintf(c->head, sizeof c->head,
                                   "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                                   "Content-Length: %lld\r\nConnection: %s\r\n\r\n",
                                   c->size, c->keep_alive ? "keep-alive" : "close");
    c->head_off = 0;
    srv.requests++;
}

/* Take one request from c->in. Returns 0: more bytes needed; 1: a response
 * is prepared (c->head, c->size, c->keep_alive; *delay_ms its delay). */
static int take_request(conn *c, long long *delay_ms)
{
    /* Skip the body of the previous request, if it had one. */
    if (c->discard > 0) {
        size_t skip = c->in_len < (size_t)c->discard ? c->in_len : (size_t)c->discard;
        memmove(c->in, c->in + skip, c->in_len - skip);
        c->in_len -= skip;
        c->discard -= (long long)skip;
        if (c->discard > 0)
            return 0;
    }
    size_t head_len = gb_request_head_end(c->in, c->in_len);
    if (head_len == 0) {
        if (c->in_len < c->in_cap)
            return 0;
        if (c->in_cap < MAX_IN) {
            char *big = malloc(MAX_IN);
            if (big != NULL) {
                memcpy(big, c->in, c->in_len);
                c->in = big;
                c->in_cap = MAX_IN;
                return 0;
            }
        }
        *delay_ms = 0;
        error_response(c, 431, "request head over 16384 bytes", false);
        c->in_len = 0;
        return 1;
    }
    gb_request r = { .delay_ms = srv.delay_ms, .size = srv.size };
    gb_request_parse(c->in, head_len, &r);
    /* Consume the head; keep what follows (a body to skip, pipelined requests). */
    memmove(c->in, c->in + head_len, c->in_len - head_len);
    c->in_len -= head_len;
    if (r.status != 200) {
        *delay_ms = 0;
        error_response(c, r.status, r.why, r.head_only);
        return 1;
    }
    *delay_ms = r.delay_ms;
    c->size = r.size;
    c->keep_alive = r.keep_alive;
    c->discard = r.content_length;
    ok_response(c, r.head_only);
    return 1;
}

/* ---- responses ---- */

/* Write what can be written now. Returns false if c was closed, or is
 * lingering after an error: either way there is nothing more to serve. */
static bool write_some(struct ev_loop *loop, conn *c)
{
    for (;;) {
        struct iovec iov[2];
        int n = 0;
        if (c->head_off < c->head_len)
            iov[n++] = (struct iovec){ c->head + c->head_off, c->head_len - c->head_off };
        if (c->body_left > 0)
            iov[n++] = (struct iovec){ body, c->body_left < BODY_CHUNK ? (size_t)c->body_left : BODY_CHUNK };
        if (n == 0)
            break;
        struct msghdr msg = { .msg_iov = iov, .msg_iovlen = (size_t)n };
        ssize_t sent = sendmsg(c->fd, &msg, MSG_NOSIGNAL);
        if (sent < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                conn_watch(loop, c, EV_WRITE);
                return true;
            }
            srv.resets++;           /* EPIPE, ECONNRESET: the client left. */
            conn_close(loop, c);
            return false;
        }
        size_t head_part = c->head_len - c->head_off;
        if ((size_t)sent <= head_part) {
            c->head_off += (size_t)sent;
        } else {
            c->head_off = c->head_len;
            c->body_left -= (long long)((size_t)sent - head_part);
        }
    }
    /* The response is out. */
    if (!c->keep_alive && c->linger) {
        /* After an error the client may still be sending (a head too
         * large, a body): closing now, with its bytes unread, would send
         * a reset that can destroy our answer before it is read. Stop
         * writing, read and drop until the client closes, 2 s at most. */
        shutdown(c->fd, SHUT_WR);
        c->state = LINGERING;
        c->in_len = 0;
        conn_watch(loop, c, EV_READ);
        ev_timer_set(&c->linger_timer, 2.0, 0.0);
        ev_timer_start(loop, &c->linger_timer);
        return false;
    }
    if (!c->keep_alive) {
        conn_close(loop, c);
        return false;
    }
    c->state = READING;
    return true;
}

/* Answer the requests in c->in, as far as they go. Returns false if c was closed. */
static bool serve(struct ev_loop *loop, conn *c)
{
    while (c->state == READING) {
        long long delay_ms;
        if (take_request(c, &delay_ms) == 0) {
            conn_watch(loop, c, EV_READ);
            return true;
        }
        if (delay_ms > 0) {
            /* Time the delay from now, not from when the loop last woke:
             * with thousands of requests per wake-up those differ. */
            conn_watch(loop, c, 0);
            if (!delay_add(c, now_ns() + delay_ms * 1000000)) {
                conn_close(loop, c);
                return false;
            }
            return true;
        }
        c->state = WRITING;
        if (!write_some(loop, c))
            return false;
    }
    return true;
}

static void on_linger_end(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)revents;
    conn_close(loop, (conn *)((char *)w - offsetof(conn, linger_timer)));
}

/* The timerfd fired: answer every connection now due, then set the timerfd
 * to the next one. */
static void on_delays_due(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)w;
    (void)revents;
    uint64_t expirations;
    if (read(delays.timer_fd, &expirations, sizeof expirations) < 0 && errno != EAGAIN)
        perror("greenbench-server: read(timerfd)");
    long long now;
    while (delays.len > 0 && (now = now_ns()) >= delays.heap[0]->due_ns) {
        conn *c = delays.heap[0];
        /* How late this answer leaves: the wake-up, and those served first. */
        long long late = now - c->due_ns;
        srv.delayed++;
        srv.late_sum_ns += late;
        srv.late_over_1ms += late > 1000000;
        if (late > srv.late_max_ns)
            srv.late_max_ns = late;
        delay_remove(c);
        c->state = WRITING;
        if (write_some(loop, c))
            serve(loop, c);
    }
    /* Only now: a pipelined request queued above is never due before the
     * time that fired, so delay_add left the timerfd alone and it is set
     * once, here. */
    delays.armed_ns = 0;
    if (delays.len > 0)
        delay_arm(delays.heap[0]->due_ns);
}

static void on_conn_io(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)revents;
    conn *c = (conn *)w;        /* io is the first member. */
    if (c->state == WRITING) {
        if (write_some(loop, c))
            serve(loop, c);
        return;
    }
    if (c->state == LINGERING) {
        char drop[4096];
        ssize_t n;
        while ((n = recv(c->fd, drop, sizeof drop, 0)) > 0)
            ;
        if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
            conn_close(loop, c);
        return;
    }
    /* READING: take what has come. */
    for (;;) {
        if (c->in_len == c->in_cap && c->discard > 0) {
            c->in_len = 0;                  /* All of it is body to skip. */
        }
        ssize_t n = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, 0);
        if (n > 0) {
            c->in_len += (size_t)n;
            if (!serve(loop, c) || c->state != READING)
                return;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n < 0)
            srv.resets++;
        conn_close(loop, c);                /* End of file or reset: the client is done. */
        return;
    }
}

/* ---- accepting ---- */

static void on_accept(struct ev_loop *loop, ev_io *w, int revents);

static void on_accept_retry(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)w;
    (void)revents;
    ev_io_start(loop, &srv.accept_io);
}

static void on_accept(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)revents;
    for (int i = 0; i < ACCEPTS_PER_WAKE; i++) {
        int fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EMFILE || errno == ENFILE) {
                /* Out of descriptors: take the connection with the spare one
                 * and close it, so the client hears at once instead of
                 * waiting in the queue; then pause accepting for a moment. */
                if (srv.spare_fd >= 0) {
                    close(srv.spare_fd);
                    int shed = accept(w->fd, NULL, NULL);
                    if (shed >= 0)
                        close(shed);
                    srv.spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
                }
                if (srv.shed++ == 0)
                    fprintf(stderr, "greenbench-server: out of file descriptors (RLIMIT_NOFILE); shedding connections\n");
                ev_io_stop(loop, w);
                ev_timer_set(&srv.accept_retry, 0.01, 0.0);
                ev_timer_start(loop, &srv.accept_retry);
            }
            return;                         /* EAGAIN: the queue is empty. */
        }
        conn *c = conn_new(fd);
        if (c == NULL) {
            close(fd);
            continue;
        }
        srv.accepted++;
        /* The request has usually come with the connection: read it now,
         * which saves an epoll_ctl and a loop round when it has (and one
         * recv that says EAGAIN when it has not). */
        conn_watch(loop, c, EV_READ);
        on_conn_io(loop, &c->io, EV_READ);
    }
}

/* ---- main ---- */

static void on_stop_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
    (void)w;
    (void)revents;
    ev_break(loop, EVBREAK_ALL);
}

/* --exit-on-stdin-eof: the parent holds our stdin's other end; when it
 * ends, however it ends, so do we, and no server outlives its cell. */
static void on_parent_input(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)revents;
    char buf[256];
    ssize_t n = read(w->fd, buf, sizeof buf);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        ev_io_stop(loop, w);
        ev_break(loop, EVBREAK_ALL);
    }
}

/* --cpu: run on one CPU only. A number need not be in the affinity we
 * inherited (a cell pinned to its first CPU starts us on its last); the
 * kernel refuses one that is offline or outside our cpuset. Returns the CPU,
 * or -1 with a message. */
static int pin_to_cpu(long long want)
{
    cpu_set_t set;
    int cpu = (int)want;
    if (want == CPU_LAST) {
        if (sched_getaffinity(0, sizeof set, &set) != 0) {
            perror("greenbench-server: sched_getaffinity");
            return -1;
        }
        for (cpu = CPU_SETSIZE - 1; cpu > 0 && !CPU_ISSET(cpu, &set); cpu--)
            ;
    }
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof set, &set) != 0) {
        fprintf(stderr, "greenbench-server: --cpu=%d: not a CPU this process may run on (%s)\n", cpu,
                strerror(errno));
        return -1;
    }
    return cpu;
}

static void usage(void)
{
    printf("usage: greenbench-server [--delay-ms D] [--size BYTES] [--port P] [--cpu N|last]\n"
           "                         [--exit-on-stdin-eof]\n"
           "Serves HTTP/1.1 on 127.0.0.1:P (P=0, the default: the kernel picks), printing\n"
           "http://127.0.0.1:PORT/ as the first line; each GET gets --size bytes (default 1024)\n"
           "after --delay-ms milliseconds (default 0). Per request: /?delay_ms=D&size=BYTES.\n"
           "--cpu runs it on CPU N only, or on the last CPU it may use (the harness asks for\n"
           "'last' and keeps green cells off that CPU).\n"
           "SIGTERM or SIGINT stops it; so does the end of its stdin, with --exit-on-stdin-eof.\n");
}

static int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "greenbench-server: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, " (see greenbench-server --help)\n");
    va_end(ap);
    return -1;
}

static int parse_args(int argc, char **argv)
{
    enum { OPT_DELAY_MS = 256, OPT_SIZE, OPT_PORT, OPT_CPU, OPT_EXIT_ON_STDIN_EOF, OPT_HELP };
    static const struct option options[] = {
        { "delay-ms", required_argument, NULL, OPT_DELAY_MS },
        { "size", required_argument, NULL, OPT_SIZE },
        { "port", required_argument, NULL, OPT_PORT },
        { "cpu", required_argument, NULL, OPT_CPU },
        { "exit-on-stdin-eof", no_argument, NULL, OPT_EXIT_ON_STDIN_EOF },
        { "help", no_argument, NULL, OPT_HELP },
        { NULL, 0, NULL, 0 },
    };
    opterr = 0;
    int c, at;
    while ((c = getopt_long(argc, argv, ":h", options, &at)) != -1) {
        long long v, max, *out;
        switch (c) {
        case OPT_DELAY_MS: out = &srv.delay_ms, max = GB_MAX_DELAY_MS; break;
        case OPT_SIZE: out = &srv.size, max = GB_MAX_SIZE; break;
        case OPT_PORT: out = &v, max = 65535; break;
        case OPT_CPU:
            if (strcmp(optarg, "last") == 0) {
                srv.cpu = CPU_LAST;
                continue;
            }
            out = &srv.cpu, max = CPU_SETSIZE - 1;
            break;
        case OPT_EXIT_ON_STDIN_EOF:
            srv.exit_on_stdin_eof = true;
            continue;
        case 'h':
        case OPT_HELP:
            usage();
            exit(0);
        default: { /* ':' or '?': a missing value, or an unknown option. */
            char why[160];
            option_error(why, sizeof why, c, argv);
            return usage_error("%s", why);
        }
        }
        if (!gb_parse_num(optarg, optarg + strlen(optarg), max, out))
            return usage_error("--%s=%s: expected an integer from 0 to %lld", options[at].name, optarg,
                               max);
        if (out == &v)
            srv.port = (int)v;
    }
    if (optind < argc)
        return usage_error("unexpected argument '%s'", argv[optind]);
    return 0;
}

/* The listening socket on 127.0.0.1:srv.port, with the largest backlog the
 * kernel grants (listen(2) silently caps it at net.core.somaxconn). Returns
 * it with *addr its address, or -1 having said why. */
static int listen_loopback(struct sockaddr_in *addr, int *backlog, long long *somaxconn)
{
    *somaxconn = sys_read_ll("/proc/sys/net/core/somaxconn");
    *backlog = *somaxconn > SOMAXCONN ? (int)(*somaxconn < 1 << 30 ? *somaxconn : 1 << 30) : SOMAXCONN;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        perror("greenbench-server: socket");
        return -1;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);     /* Inherited by accepted sockets. */
    *addr = (struct sockaddr_in){ .sin_family = AF_INET,
                                  .sin_port = htons((uint16_t)srv.port),
                                  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t alen = sizeof *addr;
    if (bind(fd, (struct sockaddr *)addr, sizeof *addr) != 0 || listen(fd, *backlog) != 0 ||
        getsockname(fd, (struct sockaddr *)addr, &alen) != 0) {
        fprintf(stderr, "greenbench-server: cannot listen on 127.0.0.1:%d: %s\n", srv.port, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

/* The loop's watchers: accepts, due delays, SIGTERM/SIGINT, and the
 * parent's end of stdin when asked. Returns 0, or -1 having said why. */
static int start_watchers(struct ev_loop *loop)
{
    ev_io_init(&srv.accept_io, on_accept, srv.listen_fd, EV_READ);
    ev_io_start(loop, &srv.accept_io);
    delays.timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (delays.timer_fd < 0) {
        perror("greenbench-server: timerfd_create");
        return -1;
    }
    ev_io_init(&delays.timer_io, on_delays_due, delays.timer_fd, EV_READ);
    ev_io_start(loop, &delays.timer_io);
    ev_init(&srv.accept_retry, on_accept_retry);
    ev_signal_init(&srv.sigterm, on_stop_signal, SIGTERM);
    ev_signal_start(loop, &srv.sigterm);
    ev_signal_init(&srv.sigint, on_stop_signal, SIGINT);
    ev_signal_start(loop, &srv.sigint);
    if (srv.exit_on_stdin_eof) {
        fcntl(STDIN_FILENO, F_SETFL, fcntl(STDIN_FILENO, F_GETFL) | O_NONBLOCK);
        ev_io_init(&srv.parent_io, on_parent_input, STDIN_FILENO, EV_READ);
        ev_io_start(loop, &srv.parent_io);
    }
    return 0;
}

/* After the loop: close everything, then say what was served and how late. */
static void stop_and_report(struct ev_loop *loop)
{
    close(srv.listen_fd);
    if (srv.spare_fd >= 0)
        close(srv.spare_fd);
    while (srv.conns != NULL)
        conn_close(loop, srv.conns);
    ev_io_stop(loop, &delays.timer_io);
    close(delays.timer_fd);
    free(delays.heap);
    fprintf(stderr,
            "greenbench-server: stopped: %lld connections (%lld at most at once), %lld requests answered, "
            "%lld bad requests, %lld clients gone before their response, %lld shed for lack of descriptors\n",
            srv.accepted, srv.peak_conns, srv.requests, srv.bad_requests, srv.resets, srv.shed);
    if (srv.delayed > 0)
        fprintf(stderr,
                "greenbench-server: %lld delayed answers left %.3f ms after they were due on average, "
                "%.3f ms at most; %lld (%.2f%%) more than 1 ms late\n",
                srv.delayed, (double)srv.late_sum_ns / (double)srv.delayed / 1e6, (double)srv.late_max_ns / 1e6,
                srv.late_over_1ms, 100.0 * (double)srv.late_over_1ms / (double)srv.delayed);
    while (srv.free_conns != NULL) {
        conn *c = srv.free_conns;
        srv.free_conns = c->next;
        free(c);
    }
}

int main(int argc, char **argv)
{
    srv.size = 1024;
    if (parse_args(argc, argv) != 0)
        return 2;
    char where[32] = "on any CPU";
    if (srv.cpu != CPU_ANY) {
        int cpu = pin_to_cpu(srv.cpu);
        if (cpu < 0)
            return 2;
        snprintf(where, sizeof where, "on CPU %d", cpu);
    }
    signal(SIGPIPE, SIG_IGN);
    for (size_t i = 0; i < sizeof body; i++)
        body[i] = "abcdefghijklmnopqrstuvwxyz0123456789\n"[i % 37];

    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    getrlimit(RLIMIT_NOFILE, &rl);
    srv.spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

    struct sockaddr_in addr;
    int backlog;
    long long somaxconn;
    srv.listen_fd = listen_loopback(&addr, &backlog, &somaxconn);
    if (srv.listen_fd < 0)
        return 1;
    struct ev_loop *loop = ev_default_loop(EVBACKEND_EPOLL);
    if (loop == NULL)
        loop = ev_default_loop(EVFLAG_AUTO);
    if (loop == NULL) {
        fprintf(stderr, "greenbench-server: cannot make a libev loop\n");
        return 1;
    }
    if (start_watchers(loop) != 0)
        return 1;

    printf("http://127.0.0.1:%d/\n", ntohs(addr.sin_port));
    fflush(stdout);
    fprintf(stderr,
            "greenbench-server: listening on 127.0.0.1:%d; delay %lld ms, size %lld bytes; backlog %d "
            "(net.core.somaxconn %lld, net.ipv4.tcp_max_syn_backlog %lld); RLIMIT_NOFILE %llu; %s\n",
            ntohs(addr.sin_port), srv.delay_ms, srv.size, backlog, somaxconn,
            sys_read_ll("/proc/sys/net/ipv4/tcp_max_syn_backlog"), (unsigned long long)rl.rlim_cur, where);

    ev_run(loop, 0);
    stop_and_report(loop);
    ev_loop_destroy(loop);
    return 0;
}
