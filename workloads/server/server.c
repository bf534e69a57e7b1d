/* workloads/server/server.c: greenbench-server, the local HTTP/1.1 server
 * that the joinall and pool workloads fetch from.
 *
 *   greenbench-server [--delay-ms D] [--size BYTES] [--port P] [--threads T]
 *                     [--cpus LIST | --cpu N|last] [--exit-on-stdin-eof]
 *                     [--tls [--tls-dir DIR] [--tls-key-type T] | --cert FILE --key FILE]
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
 * GET /__greenbench/window answers, at once, a JSON object of what was
 * served and how late since the previous one (window_json below).
 *
 * It must not be the bottleneck: --threads T event loops (libev on epoll,
 * every wait a watcher), each with its own listening socket on the same
 * port (SO_REUSEPORT: the kernel spreads new connections over them by a
 * hash of the addresses), its own connections, delays and counters, each
 * pinned to a CPU of --cpus. Loop 0 runs in the main thread, which also
 * takes the signals and watches stdin; the others in threads of their own
 * that block SIGTERM and SIGINT. An answer on a new connection costs a
 * loop 20-30 µs of CPU on a 2-CPU VM (accept4, recv, sendmsg, close; some
 * 10 µs on a kept one), so a burst of 10 000 connections is 200 ms and
 * more of one loop's time, during which answers come due; loops on CPUs of
 * their own share that, and the window (GET /__greenbench/window) says how
 * late the answers left, so that a run can tell when the server rather
 * than the client set the pace. The delay runs from the moment the request
 * was parsed: every delayed connection of a loop sits in its min-heap by due
 * time, and one timerfd, set to the earliest, wakes the loop. Not an
 * ev_timer per request: libev's epoll backend waits in whole milliseconds
 * rounded up and never less than 1 ms, so those fired 0.7 ms late on
 * average at 10 000 requests per second here (a timerfd has no such
 * rounding). So 10 000 delayed requests at once cost 10 000 heap entries,
 * not threads, and a response leaves D after its request plus the loop's
 * wake-up and the time to serve the others due at the same moment. The
 * listen backlog is the most the kernel allows (net.core.somaxconn) and the
 * soft RLIMIT_NOFILE is raised to the hard one. Statistics go to stderr at
 * exit. Requests are parsed by request.c, which the tests and fuzz targets
 * call on bytes alone.
 *
 * With --tls (or --cert and --key) it speaks HTTPS instead, printing
 * "https://127.0.0.1:PORT/" and, when it made a throwaway CA (tls.c), a
 * second line "ca: PATH" naming the CA's certificate for clients to verify
 * with. Each connection then has an SSL in accept state over its socket
 * (SSL_set_fd: SIGPIPE is ignored, see main), driven by the same watcher:
 * the handshake happens inside the first SSL_read, and any SSL_read or
 * SSL_write that wants the other direction (SSL_ERROR_WANT_READ /
 * WANT_WRITE) switches the watcher to it, to be retried when it fires. The
 * HTTP side (request.c, the states below) does not know. */
#include "server/request.h"
#include "server/delays.h"
#include "server/ending.h"
#include "server/shedding.h"
#include "server/tls.h"
#include "option_error.h"
#include "sysinfo.h"

#include <ev.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define INLINE_IN 1024          /* Request bytes kept in the connection itself. */
#define MAX_IN 16384            /* Largest request head accepted (then 431). */
#define BODY_CHUNK 65536        /* Body bytes per write at most. */
#define ACCEPTS_PER_WAKE 4096   /* Drain the accept queue, but let timers run too. */
#define ACCEPTS_PER_CLOCK 16    /* Accepts between two looks at the earliest due delay. */
#define MAX_THREADS 256         /* --threads at most (the harness's window keeps as many). */
#define TLS_RECORD 16384        /* Most plaintext bytes in one TLS record. */

/* The lateness histogram, in whole microseconds: exact below HIST_LINEAR,
 * then HIST_SUB buckets per power of two, each 1/64 of its lower bound
 * wide; a percentile read at a bucket's middle is within 1/128 (0.8 %) of
 * the true value, or 1 µs. Lateness past 2^HIST_TOP_BIT µs (19 h) shares
 * the last bucket. */
#define HIST_LINEAR 128
#define HIST_SUB 64
#define HIST_LINEAR_BITS 7
#define HIST_TOP_BIT 36
#define HIST_BUCKETS (HIST_LINEAR + (HIST_TOP_BIT - HIST_LINEAR_BITS) * HIST_SUB)

enum conn_state { READING, DELAYING, WRITING, LINGERING };

typedef struct conn conn;
struct conn {
    ev_io io;                   /* Readable while READING, writable while WRITING. */
    ev_timer linger_timer;      /* The bound on LINGERING. */
    delay_entry delay;          /* While DELAYING: when to answer, in the loop's delays. */
    conn *prev, *next;          /* In the loop's conns while open; next: free list after. */
    int fd;
    enum conn_state state;
    int io_events;              /* What io waits for now, 0 if stopped. */
    bool keep_alive;            /* After this response. */
    bool linger;                /* Drain the client's input before closing (after an error). */
    bool counted; /* In the window's connections (at its first request not a window's). */
    bool answer_due; /* An answer to count once its first byte is out. */
    long long answer_late_ns; /* How late it left its delay; -1: it had none. */
    char *in;                   /* inline_in, or a MAX_IN heap buffer. */
    size_t in_len, in_cap;
    long long discard;          /* Request body bytes still to skip. */
    long long body_left;        /* Response body bytes still to send. */
    long long size;             /* This request's body size. */
    char *json; /* A window's body (malloc'd), sent instead of filler bytes; else NULL. */
    SSL *ssl; /* With --tls: the connection's TLS; else NULL. */
    bool tls_done; /* No more SSL calls but SSL_free: after a fatal error, or close_notify sent. */
    char head[320];             /* This response's status line and headers (and an error's message). */
    size_t head_len, head_off;
    char inline_in[INLINE_IN];
};

/* What a loop counted since the last window request: its own thread adds,
 * under its lock; the thread that answers a window request takes and
 * clears it, loop by loop, under the same lock. An uncontended lock is tens
 * of nanoseconds, against the microseconds each answer costs in system
 * calls, and every loop's counts stay consistent with each other. */
struct window_counts {
    long long requests, delayed, late_sum_ns, late_max_ns, late_over_1ms, connections;
    uint64_t hist[HIST_BUCKETS];
};

/* One event loop and all it serves. Everything but lock and win is used
 * by its own thread only (and by the main thread after that has ended). */
typedef struct srvloop {
    int index, cpu; /* cpu: pinned there, or -1. */
    pthread_t thread;
    struct ev_loop *loop;
    int listen_fd;
    ev_io accept_io;
    accept_pause pause; /* Out of descriptors: shed, pause accepting. */
    ev_async stop; /* Loops 1..T-1: the main thread asks them to end. */
    conn *conns; /* Open connections, to close at exit. */
    conn *free_conns;
    /* The connections waiting out their delay, earliest due first, and the
     * timerfd that wakes the loop when the earliest is due. */
    delays delays;
    ev_io delays_io; /* On delays.timer_fd. */
    /* Since the start, for the lines at exit. */
    long long accepted, requests, bad_requests, resets;
    long long tls_failed; /* Connections ended by a TLS error (a failed handshake, mostly). */
    long long delayed, late_sum_ns, late_max_ns, late_over_1ms; /* Answers after a delay: how late. */
    pthread_mutex_t lock;
    struct window_counts win; /* Under lock. */
} srvloop;

#define CPU_LAST (-2)

static struct {
    long long delay_ms, size;
    long long threads; /* --threads */
    long long burn_us; /* --burn-us: CPU time spent on each answer (tests make a slow server) */
    const char *cpu_arg; /* --cpu or --cpus as given, NULL: not given; "--cpu" or "--cpus" in cpu_opt. */
    const char *cpu_opt;
    int port;
    bool exit_on_stdin_eof;
    /* --tls: cert and key as given, or the throwaway ones made in tls_dir
     * (made_dir: a temporary directory of ours, removed at exit). */
    bool tls;
    const char *cert, *key, *tls_dir_arg;
    const char *key_type; /* --tls-key-type, default p256. */
    char tls_dir[4096], cert_path[4096], key_path[4096], ca_path[4096];
    bool made_dir;
    SSL_CTX *tls_ctx; /* Shared by every loop: an SSL_CTX is thread-safe once set up. */
    server_ending ending; /* SIGTERM, SIGINT, and stdin with --exit-on-stdin-eof. */
    srvloop *loops;
    int nloops;
} srv = { .threads = 1 };

/* The current window: when it started, and the process's CPU time then. */
static struct {
    pthread_mutex_t lock; /* One window request at a time, from whichever loop. */
    long long start_ns, start_cpu_ns;
} window = { .lock = PTHREAD_MUTEX_INITIALIZER };

static char body[BODY_CHUNK];
/* Connections open now in all loops, and the most at once. */
static atomic_llong conns_open, conns_peak;

static void on_conn_io(struct ev_loop *loop, ev_io *w, int revents);
static void on_linger_end(struct ev_loop *loop, ev_timer *w, int revents);

static srvloop *loop_of(struct ev_loop *loop)
{
    return ev_userdata(loop);
}

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* ---- counting ---- */

static size_t hist_index(long long late_ns)
{
    unsigned long long us = late_ns > 0 ? (unsigned long long)late_ns / 1000 : 0;
    if (us < HIST_LINEAR)
        return (size_t)us;
    int bit = 63 - __builtin_clzll(us);
    if (bit >= HIST_TOP_BIT)
        return HIST_BUCKETS - 1;
    return HIST_LINEAR + (size_t)(bit - HIST_LINEAR_BITS) * HIST_SUB +
           (size_t)((us >> (bit - (HIST_LINEAR_BITS - 1))) & (HIST_SUB - 1));
}

/* The middle of bucket i, in nanoseconds. */
static double hist_middle_ns(size_t i)
{
    if (i < HIST_LINEAR)
        return ((double)i + 0.5) * 1000.0;
    size_t j = i - HIST_LINEAR;
    int shift = (int)(j / HIST_SUB) + 1; /* Width 2^shift µs. */
    double low = (double)((HIST_SUB + j % HIST_SUB) << shift);
    return (low + (double)(1ULL << shift) / 2.0) * 1000.0;
}

/* A response of 200 starts to leave now: late_ns after its delay ended, or
 * -1 when it had none. */
/* An answer is counted when its first byte goes out: a client gone
 * before that was answered nothing. */
static void count_when_sent(conn *c, long long late_ns)
{
    c->answer_due = true;
    c->answer_late_ns = late_ns;
}

static void count_answer(srvloop *l, long long late_ns)
{
    l->requests++;
    if (late_ns >= 0) {
        l->delayed++;
        l->late_sum_ns += late_ns;
        l->late_over_1ms += late_ns > 1000000;
        if (late_ns > l->late_max_ns)
            l->late_max_ns = late_ns;
    }
    pthread_mutex_lock(&l->lock);
    l->win.requests++;
    if (late_ns >= 0) {
        l->win.delayed++;
        l->win.late_sum_ns += late_ns;
        l->win.late_over_1ms += late_ns > 1000000;
        if (late_ns > l->win.late_max_ns)
            l->win.late_max_ns = late_ns;
        l->win.hist[hist_index(late_ns)]++;
    }
    pthread_mutex_unlock(&l->lock);
}

static void count_connection(srvloop *l, conn *c)
{
    if (c->counted)
        return;
    c->counted = true;
    pthread_mutex_lock(&l->lock);
    l->win.connections++;
    pthread_mutex_unlock(&l->lock);
}

/* User + system CPU time of the whole process, every thread. */
static long long process_cpu_ns(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return 0;
    return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000LL +
           (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000LL;
}

/* Close the current window and start the next: every loop's counts, taken
 * and cleared under its lock, as one JSON object (malloc'd, *len bytes;
 * NULL when out of memory; workloads/README.md): requests (200s, window
 * requests not counted), delayed (of those, after a delay), late_mean_ms,
 * late_p99_ms, late_max_ms and late_over_1ms (how late the delayed ones
 * left), connections (that brought a request not a window's), cpu_ns (the
 * process's user + system time) and window_ns (wall time) since the last
 * window, and loops: per loop its requests, delayed, late_over_1ms,
 * connections and cpu (-1: not pinned). */
static char *window_json(size_t *len)
{
    struct loop_part {
        long long requests, delayed, late_over_1ms, connections;
    } *parts = calloc((size_t)srv.nloops, sizeof *parts);
    struct window_counts *sum = calloc(1, sizeof *sum);
    size_t cap = 512 + (size_t)srv.nloops * 160;
    char *out = malloc(cap);
    if (parts == NULL || sum == NULL || out == NULL) {
        free(parts);
        free(sum);
        free(out);
        return NULL;
    }
    pthread_mutex_lock(&window.lock);
    for (int i = 0; i < srv.nloops; i++) {
        srvloop *l = &srv.loops[i];
        pthread_mutex_lock(&l->lock);
        struct window_counts *w = &l->win;
        parts[i] = (struct loop_part){ w->requests, w->delayed, w->late_over_1ms, w->connections };
        sum->requests += w->requests;
        sum->delayed += w->delayed;
        sum->late_sum_ns += w->late_sum_ns;
        sum->late_over_1ms += w->late_over_1ms;
        sum->connections += w->connections;
        if (w->late_max_ns > sum->late_max_ns)
            sum->late_max_ns = w->late_max_ns;
        for (size_t b = 0; b < HIST_BUCKETS; b++)
            sum->hist[b] += w->hist[b];
        memset(w, 0, sizeof *w);
        pthread_mutex_unlock(&l->lock);
    }
    long long now = now_ns(), cpu = process_cpu_ns();
    long long window_ns = now - window.start_ns, cpu_ns = cpu - window.start_cpu_ns;
    window.start_ns = now;
    window.start_cpu_ns = cpu;
    pthread_mutex_unlock(&window.lock);

    /* p99: the nearest rank, read at its bucket's middle, never past the maximum. */
    double p99_ns = 0;
    if (sum->delayed > 0) {
        uint64_t rank = (uint64_t)((99 * sum->delayed + 99) / 100), seen = 0;
        for (size_t b = 0; b < HIST_BUCKETS; b++) {
            seen += sum->hist[b];
            if (seen >= rank) {
                p99_ns = hist_middle_ns(b);
                break;
            }
        }
        if (p99_ns > (double)sum->late_max_ns)
            p99_ns = (double)sum->late_max_ns;
    }
    double mean_ms = sum->delayed > 0 ? (double)sum->late_sum_ns / (double)sum->delayed / 1e6 : 0.0;
    size_t n =
        (size_t)snprintf(out, cap,
                         "{\"requests\":%lld,\"delayed\":%lld,\"late_mean_ms\":%.6f,\"late_p99_ms\":%.6f,"
                         "\"late_max_ms\":%.6f,\"late_over_1ms\":%lld,\"connections\":%lld,"
                         "\"cpu_ns\":%lld,\"window_ns\":%lld,\"loops\":[",
                         sum->requests, sum->delayed, mean_ms, p99_ns / 1e6, (double)sum->late_max_ns / 1e6,
                         sum->late_over_1ms, sum->connections, cpu_ns, window_ns);
    for (int i = 0; i < srv.nloops && n < cap; i++)
        n += (size_t)snprintf(
            out + n, cap - n,
            "%s{\"requests\":%lld,\"delayed\":%lld,\"late_over_1ms\":%lld,\"connections\":%lld,"
            "\"cpu\":%d}",
            i ? "," : "", parts[i].requests, parts[i].delayed, parts[i].late_over_1ms, parts[i].connections,
            srv.loops[i].cpu);
    if (n < cap)
        n += (size_t)snprintf(out + n, cap - n, "]}\n");
    free(parts);
    free(sum);
    if (n >= cap) { /* Cannot happen: cap has room for every field. */
        free(out);
        return NULL;
    }
    *len = n;
    return out;
}

/* ---- connections ---- */

static conn *conn_new(srvloop *l, int fd)
{
    conn *c = l->free_conns;
    if (c != NULL)
        l->free_conns = c->next;
    else if ((c = malloc(sizeof *c)) == NULL)
        return NULL;
    c->prev = NULL;
    c->next = l->conns;
    if (l->conns != NULL)
        l->conns->prev = c;
    l->conns = c;
    c->fd = fd;
    c->state = READING;
    c->io_events = 0;
    c->keep_alive = true;
    c->linger = false;
    c->counted = false;
    c->answer_due = false;
    c->in = c->inline_in;
    c->in_len = 0;
    c->in_cap = INLINE_IN;
    c->discard = 0;
    c->json = NULL;
    c->ssl = NULL;
    c->tls_done = false;
    ev_init(&c->io, on_conn_io);
    ev_init(&c->linger_timer, on_linger_end);
    /* Open across the loops, and the most at once, for the line at exit. */
    long long open = atomic_fetch_add_explicit(&conns_open, 1, memory_order_relaxed) + 1;
    long long peak = atomic_load_explicit(&conns_peak, memory_order_relaxed);
    while (open > peak && !atomic_compare_exchange_weak_explicit(
                              &conns_peak, &peak, open, memory_order_relaxed, memory_order_relaxed)) {
    }
    return c;
}

static void conn_close(srvloop *l, conn *c)
{
    ev_io_stop(l->loop, &c->io);
    ev_timer_stop(l->loop, &c->linger_timer);
    if (c->state == DELAYING)
        delays_remove(&l->delays, &c->delay);
    if (c->ssl != NULL) {
        /* close_notify, once and best effort: a client whose socket is
         * full, or gone, does not hold us up. */
        ERR_clear_error();
        if (!c->tls_done && SSL_is_init_finished(c->ssl))
            SSL_shutdown(c->ssl);
        ERR_clear_error();
        SSL_free(c->ssl);
        c->ssl = NULL;
    }
    close(c->fd);
    if (c->in != c->inline_in)
        free(c->in);
    free(c->json);
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        l->conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    c->next = l->free_conns;
    l->free_conns = c;
    atomic_fetch_sub_explicit(&conns_open, 1, memory_order_relaxed);
}

/* Wait for events on c's fd (0: stop waiting). */
static void conn_watch(srvloop *l, conn *c, int events)
{
    if (c->io_events == events)
        return;
    ev_io_stop(l->loop, &c->io);
    c->io_events = events;
    if (events != 0) {
        ev_io_set(&c->io, c->fd, events);
        ev_io_start(l->loop, &c->io);
    }
}

/* ---- TLS ---- */

/* An SSL call on c returned rc <= 0: -1 with errno EAGAIN when it is to be
 * retried once c's fd is ready the way OpenSSL wants (the watcher is set to
 * that here), 0 when the client closed (close_notify, or an end of file:
 * SSL_OP_IGNORE_UNEXPECTED_EOF), -1 with errno ECONNRESET (or the socket's
 * own errno) when the socket failed under TLS, or -1 with errno EPROTO when
 * TLS itself failed (counted in tls_failed). The error queue is left
 * empty, so that no other connection of this thread reads it. */
static ssize_t tls_status(srvloop *l, conn *c, int rc)
{
    int e = SSL_get_error(c->ssl, rc);
    ERR_clear_error();
    switch (e) {
    case SSL_ERROR_WANT_READ:
        conn_watch(l, c, EV_READ);
        errno = EAGAIN;
        return -1;
    case SSL_ERROR_WANT_WRITE:
        conn_watch(l, c, EV_WRITE);
        errno = EAGAIN;
        return -1;
    case SSL_ERROR_ZERO_RETURN: return 0;
    case SSL_ERROR_SYSCALL:
        /* The socket failed (ECONNRESET, EPIPE): the client left, as
         * without TLS. No SSL_shutdown after this. */
        c->tls_done = true;
        if (errno == 0 || errno == EAGAIN || errno == EWOULDBLOCK)
            errno = ECONNRESET;
        return -1;
    default:
        /* SSL_ERROR_SSL: the protocol failed (a handshake the client
         * refused, a bad record). No SSL_shutdown after this either. */
        c->tls_done = true;
        l->tls_failed++;
        errno = EPROTO;
        return -1;
    }
}

/* recv(2) for c, through its TLS when it has one. */
static ssize_t conn_recv(srvloop *l, conn *c, char *buf, size_t len)
{
    if (c->ssl == NULL)
        return recv(c->fd, buf, len, 0);
    ERR_clear_error();
    int n = SSL_read(c->ssl, buf, len < INT32_MAX ? (int)len : INT32_MAX);
    return n > 0 ? n : tls_status(l, c, n);
}

/* sendmsg(2) for c through its TLS: the first TLS_RECORD bytes of iov[n],
 * gathered into one record. A retry after EAGAIN gathers the same bytes
 * again (SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER allows the new address). */
static ssize_t tls_send(srvloop *l, conn *c, const struct iovec *iov, int n)
{
    char rec[TLS_RECORD];
    size_t len = 0;
    for (int i = 0; i < n && len < sizeof rec; i++) {
        size_t k = iov[i].iov_len < sizeof rec - len ? iov[i].iov_len : sizeof rec - len;
        memcpy(rec + len, iov[i].iov_base, k);
        len += k;
    }
    ERR_clear_error();
    int sent = SSL_write(c->ssl, rec, (int)len);
    if (sent > 0)
        return sent;
    ssize_t rc = tls_status(l, c, sent);
    if (rc == 0) { /* close_notify while we write: the client has gone. */
        errno = ECONNRESET;
        rc = -1;
    }
    return rc;
}

/* ---- delays ---- */

/* c waits until due_ns, then is answered. Returns false if out of memory. */
static bool delay_add(srvloop *l, conn *c, long long due_ns)
{
    if (!delays_add(&l->delays, &c->delay, due_ns))
        return false;
    c->state = DELAYING;
    return true;
}

static conn *conn_of_delay(delay_entry *e)
{
    return (conn *)((char *)e - offsetof(conn, delay));
}

/* ---- requests ---- */

/* Prepare an error response whose body says why; the connection closes
 * after it. The message travels in c->head, in the same write as the head
 * (HEAD gets the head only). request.c's messages fit there with room. */
static void error_response(srvloop *l, conn *c, const gb_request *r)
{
    int status = r->status;
    const char *why = r->why;
    bool head_only = r->head_only;
    const char *reason = status == 405 ? "Method Not Allowed"
                       : status == 431 ? "Request Header Fields Too Large" : "Bad Request";
    const char *allow = status != 405 ? "" : r->window ? "Allow: GET\r\n" : "Allow: GET, HEAD\r\n";
    c->keep_alive = false;
    c->linger = true;
    c->size = 0;
    c->body_left = 0;
    c->head_len = (size_t)snprintf(c->head, sizeof c->head,
                                   "HTTP/1.1 %d %s\r\n%sContent-Type: text/plain\r\nContent-Length: %zu\r\n"
                                   "Connection: close\r\n\r\n%s%s%s",
                                   status, reason, allow, sizeof "greenbench-server: \n" - 1 + strlen(why),
                                   head_only ? "" : "greenbench-server: ", head_only ? "" : why,
                                   head_only ? "" : "\n");
    c->head_off = 0;
    l->bad_requests++;
}

/* Spend us microseconds of CPU: --burn-us, a server as slow as the tests
 * need one to be (the harness's server-bound detection). */
static void burn(long long us)
{
    long long until = now_ns() + us * 1000;
    while (us > 0 && now_ns() < until)
        ;
}

static void ok_response(conn *c, bool head_only)
{
    burn(srv.burn_us);
    c->body_left = head_only ? 0 : c->size;
    c->head_len = (size_t)snprintf(c->head, sizeof c->head,
                                   "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                                   "Content-Length: %lld\r\nConnection: %s\r\n\r\n",
                                   c->size, c->keep_alive ? "keep-alive" : "close");
    c->head_off = 0;
}

/* A window request: the JSON goes out as the body, at once; nothing counts
 * it. Returns false when out of memory. */
static bool window_response(conn *c)
{
    size_t len;
    c->json = window_json(&len);
    if (c->json == NULL)
        return false;
    c->size = (long long)len;
    c->body_left = c->size;
    c->head_len =
        (size_t)snprintf(c->head, sizeof c->head,
                         "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                         "Content-Length: %zu\r\nCache-Control: no-store\r\nConnection: %s\r\n\r\n",
                         len, c->keep_alive ? "keep-alive" : "close");
    c->head_off = 0;
    return true;
}

enum taken { TAKEN_NONE, TAKEN_OK, TAKEN_ERROR, TAKEN_WINDOW };

/* Take one request from c->in. Returns TAKEN_NONE: more bytes needed;
 * otherwise a response is prepared (c->head, c->size, c->keep_alive; for
 * TAKEN_OK *delay_ms its delay; TAKEN_WINDOW: an answer to send at once). */
static enum taken take_request(srvloop *l, conn *c, long long *delay_ms)
{
    /* Skip the body of the previous request, if it had one. */
    if (c->discard > 0) {
        size_t skip = c->in_len < (size_t)c->discard ? c->in_len : (size_t)c->discard;
        memmove(c->in, c->in + skip, c->in_len - skip);
        c->in_len -= skip;
        c->discard -= (long long)skip;
        if (c->discard > 0)
            return TAKEN_NONE;
    }
    *delay_ms = 0;
    /* A method is upper-case letters: anything else first is no HTTP, and
     * would wait for a blank line that never comes (a TLS ClientHello
     * starts with 0x16). */
    if (c->in_len > 0 && (c->in[0] < 'A' || c->in[0] > 'Z')) {
        count_connection(l, c);
        error_response(l, c,
                       &(gb_request){ .status = 400,
                                      .why = c->in[0] == 0x16
                                                 ? "a TLS handshake: this server speaks plain HTTP"
                                                 : "not an HTTP request line" });
        c->in_len = 0;
        return TAKEN_ERROR;
    }
    size_t head_len = gb_request_head_end(c->in, c->in_len);
    if (head_len == 0) {
        if (c->in_len < c->in_cap)
            return TAKEN_NONE;
        if (c->in_cap < MAX_IN) {
            char *big = malloc(MAX_IN);
            if (big != NULL) {
                memcpy(big, c->in, c->in_len);
                c->in = big;
                c->in_cap = MAX_IN;
                return TAKEN_NONE;
            }
        }
        count_connection(l, c);
        error_response(l, c, &(gb_request){ .status = 431, .why = "request head over 16384 bytes" });
        c->in_len = 0;
        return TAKEN_ERROR;
    }
    gb_request r = { .delay_ms = srv.delay_ms, .size = srv.size };
    gb_request_parse(c->in, head_len, &r);
    /* Consume the head; keep what follows (a body to skip, pipelined requests). */
    memmove(c->in, c->in + head_len, c->in_len - head_len);
    c->in_len -= head_len;
    if (!r.window)
        count_connection(l, c);
    if (r.status != 200) {
        error_response(l, c, &r);
        return TAKEN_ERROR;
    }
    c->keep_alive = r.keep_alive;
    c->discard = r.content_length;
    if (r.window) {
        if (window_response(c))
            return TAKEN_WINDOW;
        error_response(l, c, &(gb_request){ .status = 400, .why = "out of memory for the window" });
        return TAKEN_ERROR;
    }
    *delay_ms = r.delay_ms;
    c->size = r.size;
    ok_response(c, r.head_only);
    return TAKEN_OK;
}

/* ---- responses ---- */

/* Write what can be written now. Returns false if c was closed, or is
 * lingering after an error: either way there is nothing more to serve. */
static bool write_some(srvloop *l, conn *c)
{
    for (;;) {
        struct iovec iov[2];
        int n = 0;
        if (c->head_off < c->head_len)
            iov[n++] = (struct iovec){ c->head + c->head_off, c->head_len - c->head_off };
        if (c->body_left > 0 && c->json != NULL)
            iov[n++] = (struct iovec){ c->json + (c->size - c->body_left), (size_t)c->body_left };
        else if (c->body_left > 0)
            iov[n++] = (struct iovec){ body, c->body_left < BODY_CHUNK ? (size_t)c->body_left : BODY_CHUNK };
        if (n == 0)
            break;
        struct msghdr msg = { .msg_iov = iov, .msg_iovlen = (size_t)n };
        ssize_t sent = c->ssl != NULL ? tls_send(l, c, iov, n) : sendmsg(c->fd, &msg, MSG_NOSIGNAL);
        if (sent < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                if (c->ssl == NULL) /* tls_send has set what TLS waits for. */
                    conn_watch(l, c, EV_WRITE);
                return true;
            }
            if (errno != EPROTO)
                l->resets++; /* EPIPE, ECONNRESET: the client left. */
            conn_close(l, c);
            return false;
        }
        if (c->answer_due && sent > 0) {
            c->answer_due = false;
            count_answer(l, c->answer_late_ns);
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
    free(c->json);
    c->json = NULL;
    if (!c->keep_alive && c->linger) {
        /* After an error the client may still be sending (a head too
         * large, a body): closing now, with its bytes unread, would send
         * a reset that can destroy our answer before it is read. Stop
         * writing, read and drop until the client closes, 2 s at most.
         * With TLS, close_notify first (best effort), then the same on the
         * socket below it. */
        if (c->ssl != NULL && !c->tls_done) {
            ERR_clear_error();
            SSL_shutdown(c->ssl);
            ERR_clear_error();
            c->tls_done = true;
        }
        shutdown(c->fd, SHUT_WR);
        c->state = LINGERING;
        c->in_len = 0;
        conn_watch(l, c, EV_READ);
        ev_timer_set(&c->linger_timer, 2.0, 0.0);
        ev_timer_start(l->loop, &c->linger_timer);
        return false;
    }
    if (!c->keep_alive) {
        conn_close(l, c);
        return false;
    }
    c->state = READING;
    return true;
}

/* Answer the requests in c->in, as far as they go. Returns false if c was closed. */
static bool serve(srvloop *l, conn *c)
{
    while (c->state == READING) {
        long long delay_ms;
        enum taken t = take_request(l, c, &delay_ms);
        if (t == TAKEN_NONE) {
            conn_watch(l, c, EV_READ);
            /* Bytes OpenSSL has read already make the socket no more
             * readable: come back for them without waiting for it. */
            if (c->ssl != NULL && SSL_has_pending(c->ssl))
                ev_feed_event(l->loop, &c->io, EV_READ);
            return true;
        }
        if (t == TAKEN_OK && delay_ms > 0) {
            /* Time the delay from now, not from when the loop last woke:
             * with thousands of requests per wake-up those differ. */
            conn_watch(l, c, 0);
            if (!delay_add(l, c, now_ns() + delay_ms * 1000000)) {
                conn_close(l, c);
                return false;
            }
            return true;
        }
        if (t == TAKEN_OK)
            count_when_sent(c, -1);
        c->state = WRITING;
        if (!write_some(l, c))
            return false;
    }
    return true;
}

static void on_linger_end(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)revents;
    conn_close(loop_of(loop), (conn *)((char *)w - offsetof(conn, linger_timer)));
}

/* The timerfd fired: answer every connection now due, then set the timerfd
 * to the next one. */
static void on_delays_due(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)w;
    (void)revents;
    srvloop *l = loop_of(loop);
    delays_timer_fired(&l->delays);
    long long now;
    delay_entry *e;
    while ((e = delays_next_due(&l->delays, now = now_ns())) != NULL) {
        conn *c = conn_of_delay(e);
        /* How late this answer leaves: the wake-up, and those served first. */
        count_when_sent(c, now - e->due_ns);
        c->state = WRITING;
        if (write_some(l, c))
            serve(l, c);
    }
    /* Only now: a pipelined request queued above is never due before the
     * time that fired, so delays_add left the timerfd alone. */
    delays_rearm(&l->delays);
}

static void on_conn_io(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)revents;
    srvloop *l = loop_of(loop);
    conn *c = (conn *)w;        /* io is the first member. */
    if (c->state == WRITING) {
        if (write_some(l, c))
            serve(l, c);
        return;
    }
    if (c->state == LINGERING) {
        char drop[4096];
        ssize_t n;
        while ((n = recv(c->fd, drop, sizeof drop, 0)) > 0)
            ;
        if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
            conn_close(l, c);
        return;
    }
    /* READING: take what has come. */
    for (;;) {
        if (c->in_len == c->in_cap && c->discard > 0) {
            c->in_len = 0;                  /* All of it is body to skip. */
        }
        ssize_t n = conn_recv(l, c, c->in + c->in_len, c->in_cap - c->in_len);
        if (n > 0) {
            c->in_len += (size_t)n;
            if (!serve(l, c) || c->state != READING)
                return;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n < 0 && errno != EPROTO && c->in_len > 0)
            l->resets++; /* Gone mid-request: an idle connection's reset is a client done. */
        conn_close(l, c); /* End of file, reset or a TLS error: the client is done. */
        return;
    }
}

/* ---- accepting ---- */

static void on_accept(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)revents;
    srvloop *l = loop_of(loop);
    for (int i = 0; i < ACCEPTS_PER_WAKE; i++) {
        /* A burst of connections must not hold up answers that are due:
         * each accept and its request cost 10-30 µs, so 4 096 of them
         * would make those answers up to 100 ms late. The queue stays
         * readable, and the loop serves the due delays first (their
         * watcher has the higher priority), then comes back here. */
        if (i % ACCEPTS_PER_CLOCK == ACCEPTS_PER_CLOCK - 1 && delays_first(&l->delays) != NULL &&
            now_ns() >= delays_first(&l->delays)->due_ns)
            return;
        int fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            accept_pause_if_out_of_fds(&l->pause, loop, errno, "greenbench-server");
            return;                         /* EAGAIN: the queue is empty. */
        }
        conn *c = conn_new(l, fd);
        if (c == NULL) {
            close(fd);
            continue;
        }
        l->accepted++;
        if (srv.tls_ctx != NULL) {
            c->ssl = SSL_new(srv.tls_ctx);
            if (c->ssl == NULL || SSL_set_fd(c->ssl, fd) != 1) {
                ERR_clear_error();
                conn_close(l, c);
                continue;
            }
            SSL_set_accept_state(c->ssl);
        }
        /* The request has usually come with the connection: read it now,
         * which saves an epoll_ctl and a loop round when it has (and one
         * recv that says EAGAIN when it has not). */
        conn_watch(l, c, EV_READ);
        on_conn_io(loop, &c->io, EV_READ);
    }
}

/* ---- stopping ---- */

static void on_stop_async(struct ev_loop *loop, ev_async *w, int revents)
{
    (void)w;
    (void)revents;
    ev_break(loop, EVBREAK_ALL);
}

/* ---- options ---- */

static void usage(void)
{
    printf("usage: greenbench-server [--delay-ms D] [--size BYTES] [--port P] [--threads T]\n"
           "                         [--cpus LIST | --cpu N|last] [--exit-on-stdin-eof] [--burn-us U]\n"
           "                         [--tls [--tls-dir DIR] [--tls-key-type T] | --cert FILE --key FILE]\n"
           "Serves HTTP/1.1 on 127.0.0.1:P (P=0, the default: the kernel picks), printing\n"
           "http://127.0.0.1:PORT/ as the first line; each GET gets --size bytes (default 1024)\n"
           "after --delay-ms milliseconds (default 0). Per request: /?delay_ms=D&size=BYTES.\n"
           "--threads runs T event loops (default 1, at most %d), each in its own thread with\n"
           "its own listening socket on the same port (SO_REUSEPORT: the kernel spreads new\n"
           "connections over them).\n"
           "--cpus pins loop i to the i-th CPU of LIST, round-robin when there are more loops\n"
           "than CPUs: a list of CPUs and ranges such as 3, 2-3, 8-15 or 1,3 ('last': the last\n"
           "CPU it may use). --cpu N|last is --cpus with one CPU (the harness asks for 'last'\n"
           "and keeps green cells off that CPU). Without either the loops are not pinned.\n"
           "GET " GB_WINDOW_PATH " answers a JSON object of what was served since the\n"
           "previous such request (or the start): requests, delayed, late_mean_ms, late_p99_ms,\n"
           "late_max_ms, late_over_1ms, connections, cpu_ns, window_ns and per loop in loops.\n"
           "--burn-us spends U microseconds of CPU on each answer: a slow server, for tests.\n"
           "--tls serves HTTPS instead, printing https://127.0.0.1:PORT/ as the first line\n"
           "and 'ca: PATH' as the second: a throwaway CA made at start, whose certificate\n"
           "PATH is (curl --cacert PATH), and a leaf it signed for localhost and 127.0.0.1,\n"
           "both on ECDSA P-256 keys (--tls-key-type p384, rsa2048, rsa3072 or rsa4096 for\n"
           "others), valid for a day. They go into --tls-dir DIR (kept: ca.pem, leaf.pem,\n"
           "leaf.key), by default a temporary directory removed at exit.\n"
           "--cert FILE --key FILE (PEM; they imply --tls) serve that certificate chain and\n"
           "key instead, and no 'ca:' line is printed.\n"
           "SIGTERM or SIGINT stops it; so does the end of its stdin, with --exit-on-stdin-eof.\n",
           MAX_THREADS);
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
    enum {
        OPT_DELAY_MS = 256,
        OPT_SIZE,
        OPT_PORT,
        OPT_THREADS,
        OPT_CPU,
        OPT_CPUS,
        OPT_EXIT_ON_STDIN_EOF,
        OPT_BURN_US,
        OPT_TLS,
        OPT_TLS_DIR,
        OPT_TLS_KEY_TYPE,
        OPT_CERT,
        OPT_KEY,
        OPT_HELP
    };
    static const struct option options[] = {
        { "delay-ms", required_argument, NULL, OPT_DELAY_MS },
        { "size", required_argument, NULL, OPT_SIZE },
        { "port", required_argument, NULL, OPT_PORT },
        { "threads", required_argument, NULL, OPT_THREADS },
        { "cpu", required_argument, NULL, OPT_CPU },
        { "cpus", required_argument, NULL, OPT_CPUS },
        { "exit-on-stdin-eof", no_argument, NULL, OPT_EXIT_ON_STDIN_EOF },
        { "burn-us", required_argument, NULL, OPT_BURN_US },
        { "tls", no_argument, NULL, OPT_TLS },
        { "tls-dir", required_argument, NULL, OPT_TLS_DIR },
        { "tls-key-type", required_argument, NULL, OPT_TLS_KEY_TYPE },
        { "cert", required_argument, NULL, OPT_CERT },
        { "key", required_argument, NULL, OPT_KEY },
        { "help", no_argument, NULL, OPT_HELP },
        { NULL, 0, NULL, 0 },
    };
    opterr = 0;
    int c, at;
    while ((c = getopt_long(argc, argv, ":h", options, &at)) != -1) {
        long long v, min = 0, max, *out;
        switch (c) {
        case OPT_DELAY_MS: out = &srv.delay_ms, max = GB_MAX_DELAY_MS; break;
        case OPT_SIZE: out = &srv.size, max = GB_MAX_SIZE; break;
        case OPT_PORT: out = &v, max = 65535; break;
        case OPT_THREADS: out = &srv.threads, min = 1, max = MAX_THREADS; break;
        case OPT_BURN_US: out = &srv.burn_us, max = 1000000; break;
        case OPT_CPU:
        case OPT_CPUS: {
            const char *name = c == OPT_CPU ? "--cpu" : "--cpus";
            if (srv.cpu_arg != NULL && strcmp(srv.cpu_opt, name) != 0)
                return usage_error("--cpu and --cpus: give one of them");
            srv.cpu_arg = optarg;
            srv.cpu_opt = name;
            continue;
        }
        case OPT_EXIT_ON_STDIN_EOF:
            srv.exit_on_stdin_eof = true;
            continue;
        case OPT_TLS: srv.tls = true; continue;
        case OPT_TLS_DIR: srv.tls_dir_arg = optarg, srv.tls = true; continue;
        case OPT_TLS_KEY_TYPE: srv.key_type = optarg, srv.tls = true; continue;
        case OPT_CERT: srv.cert = optarg, srv.tls = true; continue;
        case OPT_KEY: srv.key = optarg, srv.tls = true; continue;
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
        if (!gb_parse_num(optarg, optarg + strlen(optarg), max, out) || *out < min)
            return usage_error("--%s=%s: expected an integer from %lld to %lld", options[at].name, optarg,
                               min, max);
        if (out == &v)
            srv.port = (int)v;
    }
    if (optind < argc)
        return usage_error("unexpected argument '%s'", argv[optind]);
    if ((srv.cert != NULL) != (srv.key != NULL))
        return usage_error("%s without %s: give both, or neither for a throwaway CA",
                           srv.cert != NULL ? "--cert" : "--key", srv.cert != NULL ? "--key" : "--cert");
    if (srv.cert != NULL && (srv.tls_dir_arg != NULL || srv.key_type != NULL))
        return usage_error("--%s is for the throwaway CA: not with --cert and --key",
                           srv.tls_dir_arg != NULL ? "tls-dir" : "tls-key-type");
    if (srv.key_type != NULL && !gb_tls_key_type_known(srv.key_type))
        return usage_error("--tls-key-type=%s: expected p256, p384, rsa2048, rsa3072 or rsa4096",
                           srv.key_type);
    if ((srv.cert != NULL && srv.cert[0] == '\0') || (srv.key != NULL && srv.key[0] == '\0') ||
        (srv.tls_dir_arg != NULL && srv.tls_dir_arg[0] == '\0'))
        return usage_error("--cert, --key and --tls-dir take a path, not an empty value");
    return 0;
}

/* ---- TLS setup ---- */

/* At exit: remove the throwaway CA's temporary directory, if we made one. */
static void remove_tls_dir(void)
{
    if (!srv.made_dir)
        return;
    unlink(srv.ca_path);
    unlink(srv.cert_path);
    unlink(srv.key_path);
    rmdir(srv.tls_dir);
    srv.made_dir = false;
}

/* --tls: the certificates (made into tls_dir unless given) and the
 * context every loop shares. Returns 0, 1 (our failure, said) or 2 (bad
 * input: a usage error, said). */
static int tls_setup(void)
{
    char err[8192 + 256];
    if (srv.cert == NULL) {
        if (srv.tls_dir_arg != NULL) {
            snprintf(srv.tls_dir, sizeof srv.tls_dir, "%s", srv.tls_dir_arg);
            if (mkdir(srv.tls_dir, 0700) != 0 && errno != EEXIST) {
                usage_error("--tls-dir=%s: %s", srv.tls_dir_arg, strerror(errno));
                return 2;
            }
        } else {
            const char *tmp = getenv("TMPDIR");
            snprintf(srv.tls_dir, sizeof srv.tls_dir, "%s/greenbench-server-tls-XXXXXX",
                     tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
            if (mkdtemp(srv.tls_dir) == NULL) {
                fprintf(stderr, "greenbench-server: cannot make a directory for the CA (%s): %s\n",
                        srv.tls_dir, strerror(errno));
                return 1;
            }
            srv.made_dir = true;
            atexit(remove_tls_dir);
        }
        snprintf(srv.ca_path, sizeof srv.ca_path, "%.4000s/ca.pem", srv.tls_dir);
        snprintf(srv.cert_path, sizeof srv.cert_path, "%.4000s/leaf.pem", srv.tls_dir);
        snprintf(srv.key_path, sizeof srv.key_path, "%.4000s/leaf.key", srv.tls_dir);
        if (gb_tls_make_certs(srv.tls_dir, srv.key_type != NULL ? srv.key_type : "p256", err, sizeof err) !=
            0) {
            if (srv.made_dir) {
                fprintf(stderr, "greenbench-server: %s\n", err);
                return 1;
            }
            usage_error("--tls-dir=%s: %s", srv.tls_dir_arg, err);
            return 2;
        }
        srv.cert = srv.cert_path;
        srv.key = srv.key_path;
    }
    srv.tls_ctx = gb_tls_ctx_new(srv.cert, srv.key, err, sizeof err);
    if (srv.tls_ctx == NULL) {
        usage_error("%s", err);
        return 2;
    }
    return 0;
}

/* The CPUs of --cpus (or --cpu) into cpus[], as many as *n (at most
 * CPU_SETSIZE): numbers, ranges A-B and 'last' (the last CPU of our
 * affinity at start), separated by commas. --cpu takes one CPU or 'last'.
 * Returns 0, or -1 having said what is wrong. */
static int parse_cpu_list(const char *arg, const char *opt, const cpu_set_t *allowed, int *cpus, int *n)
{
    int last = -1;
    for (int cpu = CPU_SETSIZE - 1; cpu >= 0 && last < 0; cpu--)
        if (CPU_ISSET(cpu, allowed))
            last = cpu;
    bool single = strcmp(opt, "--cpu") == 0;
    *n = 0;
    const char *s = arg;
    do {
        const char *end = s + strcspn(s, ",");
        const char *dash = memchr(s, '-', (size_t)(end - s));
        long long lo, hi;
        if ((size_t)(end - s) == 4 && memcmp(s, "last", 4) == 0) {
            if (last < 0)
                goto bad;
            lo = hi = last;
        } else if (dash == NULL) {
            if (!gb_parse_num(s, end, CPU_SETSIZE - 1, &lo))
                goto bad;
            hi = lo;
        } else if (single || !gb_parse_num(s, dash, CPU_SETSIZE - 1, &lo) ||
                   !gb_parse_num(dash + 1, end, CPU_SETSIZE - 1, &hi) || hi < lo) {
            goto bad;
        }
        for (long long cpu = lo; cpu <= hi; cpu++) {
            if (*n == CPU_SETSIZE)
                goto bad;
            cpus[(*n)++] = (int)cpu;
        }
        s = *end == ',' ? end + 1 : end;
        if (*end == ',' && (single || *s == '\0'))
            goto bad;
    } while (*s != '\0');
    if (*n > 0)
        return 0;
bad:
    if (single)
        return usage_error("--cpu=%s: expected a CPU number from 0 to %d, or 'last'", arg, CPU_SETSIZE - 1);
    return usage_error(
        "--cpus=%s: expected a list of CPUs from 0 to %d such as 3, 2-3, 8-15 or 1,3 (or 'last')", arg,
        CPU_SETSIZE - 1);
}

/* Pin this thread to cpu. A CPU need not be in the affinity we inherited
 * (a cell pinned to its first CPU starts us on its last); the kernel
 * refuses one that is offline or outside our cpuset. 0, or -errno. */
static int pin_self(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return sched_setaffinity(0, sizeof set, &set) == 0 ? 0 : -errno;
}

/* Give each loop its CPU from --cpus / --cpu (none: -1), every CPU tried
 * on this thread first so that a refused one is a usage error now rather
 * than a thread that cannot start, and this thread left on loop 0's.
 * Returns 0, or -1 having said why. */
static int assign_cpus(void)
{
    for (int i = 0; i < srv.nloops; i++)
        srv.loops[i].cpu = -1;
    if (srv.cpu_arg == NULL)
        return 0;
    cpu_set_t allowed;
    if (sched_getaffinity(0, sizeof allowed, &allowed) != 0) {
        perror("greenbench-server: sched_getaffinity");
        return -1;
    }
    static int cpus[CPU_SETSIZE];
    int n;
    if (parse_cpu_list(srv.cpu_arg, srv.cpu_opt, &allowed, cpus, &n) != 0)
        return -1;
    for (int i = 0; i < n; i++) {
        int rc = pin_self(cpus[i]);
        if (rc != 0)
            return usage_error("%s=%s: CPU %d is not a CPU this process may run on (%s)", srv.cpu_opt,
                               srv.cpu_arg, cpus[i], strerror(-rc));
    }
    for (int i = 0; i < srv.nloops; i++)
        srv.loops[i].cpu = cpus[i % n];
    int rc = pin_self(srv.loops[0].cpu);
    if (rc != 0) {
        fprintf(stderr, "greenbench-server: cannot run on CPU %d: %s\n", srv.loops[0].cpu, strerror(-rc));
        return -1;
    }
    return 0;
}

/* ---- setting up ---- */

/* A listening socket on 127.0.0.1:port (SO_REUSEPORT with more than one
 * loop, so that every loop's socket binds the same port), with the largest
 * backlog the kernel grants (listen(2) silently caps it at
 * net.core.somaxconn). Returns it with *addr its address, or -1 having said
 * why. */
static int listen_loopback(int port, int backlog, struct sockaddr_in *addr)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        perror("greenbench-server: socket");
        return -1;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);     /* Inherited by accepted sockets. */
    if (srv.nloops > 1 && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
        perror("greenbench-server: setsockopt(SO_REUSEPORT)");
        close(fd);
        return -1;
    }
    *addr = (struct sockaddr_in){ .sin_family = AF_INET,
                                  .sin_port = htons((uint16_t)port),
                                  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t alen = sizeof *addr;
    if (bind(fd, (struct sockaddr *)addr, sizeof *addr) != 0 || listen(fd, backlog) != 0 ||
        getsockname(fd, (struct sockaddr *)addr, &alen) != 0) {
        fprintf(stderr, "greenbench-server: cannot listen on 127.0.0.1:%d: %s\n", port, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

/* With SO_REUSEPORT, a second server of the same user on a fixed port
 * would join the first one's sockets and take part of its connections;
 * a plain socket, bound first, finds the port taken as one loop does.
 * Returns 0, or -1 having said why. */
static int fixed_port_free(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        perror("greenbench-server: socket");
        return -1;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = { .sin_family = AF_INET,
                                .sin_port = htons((uint16_t)port),
                                .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    int rc = bind(fd, (struct sockaddr *)&addr, sizeof addr);
    if (rc != 0)
        fprintf(stderr, "greenbench-server: cannot listen on 127.0.0.1:%d: %s\n", port, strerror(errno));
    close(fd);
    return rc == 0 ? 0 : -1;
}

/* Loop l's libev loop and watchers: accepts, due delays, and for the
 * others than loop 0 the main thread's request to stop. Returns 0, or -1
 * having said why. */
static int loop_setup(srvloop *l)
{
    l->loop = l->index == 0 ? ev_default_loop(EVBACKEND_EPOLL) : ev_loop_new(EVBACKEND_EPOLL);
    if (l->loop == NULL)
        l->loop = l->index == 0 ? ev_default_loop(EVFLAG_AUTO) : ev_loop_new(EVFLAG_AUTO);
    if (l->loop == NULL) {
        fprintf(stderr, "greenbench-server: cannot make a libev loop\n");
        return -1;
    }
    ev_set_userdata(l->loop, l);
    ev_io_init(&l->accept_io, on_accept, l->listen_fd, EV_READ);
    ev_io_start(l->loop, &l->accept_io);
    int err = delays_init(&l->delays);
    if (err != 0) {
        fprintf(stderr, "greenbench-server: timerfd_create: %s\n", strerror(-err));
        return -1;
    }
    ev_io_init(&l->delays_io, on_delays_due, l->delays.timer_fd, EV_READ);
    ev_set_priority(&l->delays_io, EV_MAXPRI); /* Due answers before new connections. */
    ev_io_start(l->loop, &l->delays_io);
    accept_pause_init(&l->pause, &l->accept_io);
    if (l->index > 0) {
        ev_async_init(&l->stop, on_stop_async);
        ev_async_start(l->loop, &l->stop);
    }
    return 0;
}

/* Loop 0's other watchers: SIGTERM/SIGINT, and the parent's end of stdin
 * when asked. */
static void main_watchers(struct ev_loop *loop)
{
    server_ending_start(&srv.ending, loop, srv.exit_on_stdin_eof);
}

/* After its loop: close every connection, the listening socket and the timerfd. */
static void loop_close(srvloop *l)
{
    close(l->listen_fd);
    accept_pause_close(&l->pause, l->loop);
    while (l->conns != NULL)
        conn_close(l, l->conns);
    ev_io_stop(l->loop, &l->delays_io);
    delays_free(&l->delays);
    while (l->free_conns != NULL) {
        conn *c = l->free_conns;
        l->free_conns = c->next;
        free(c);
    }
}

static void *loop_thread(void *arg)
{
    srvloop *l = arg;
    ev_run(l->loop, 0);
    loop_close(l);
    ev_loop_destroy(l->loop);
    return NULL;
}

/* Start loops 1..T-1, each in a thread of its own on its CPU, SIGTERM and
 * SIGINT blocked there: loop 0's thread takes them. Returns 0, or -1 having
 * said why. */
static int start_threads(void)
{
    sigset_t stop, old;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, &old);
    int rc = 0;
    for (int i = 1; i < srv.nloops && rc == 0; i++) {
        srvloop *l = &srv.loops[i];
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        if (l->cpu >= 0) {
            cpu_set_t set;
            CPU_ZERO(&set);
            CPU_SET(l->cpu, &set);
            pthread_attr_setaffinity_np(&attr, sizeof set, &set);
        }
        rc = pthread_create(&l->thread, &attr, loop_thread, l);
        pthread_attr_destroy(&attr);
        if (rc != 0) {
            fprintf(stderr, "greenbench-server: cannot start loop %d's thread: %s\n", i, strerror(rc));
            srv.nloops = i; /* Those started are stopped and reported. */
            rc = -1;
        }
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc;
}

/* "on CPU 3", "on any CPU"; with more than one loop "2 loops on CPUs 2,3". */
static void describe_cpus(char *out, size_t n)
{
    if (srv.nloops == 1) {
        if (srv.loops[0].cpu < 0)
            snprintf(out, n, "on any CPU");
        else
            snprintf(out, n, "on CPU %d", srv.loops[0].cpu);
        return;
    }
    if (srv.loops[0].cpu < 0) {
        snprintf(out, n, "%d loops on any CPU", srv.nloops);
        return;
    }
    size_t at = (size_t)snprintf(out, n, "%d loops on CPUs ", srv.nloops);
    for (int i = 0; i < srv.nloops && at < n; i++)
        at += (size_t)snprintf(out + at, n - at, "%s%d", i ? "," : "", srv.loops[i].cpu);
}

/* After the loops: say what was served and how late, all loops together,
 * then one line per loop when there are several. */
static void report(void)
{
    long long accepted = 0, peak = atomic_load(&conns_peak), requests = 0, bad = 0, resets = 0, shed = 0;
    long long delayed = 0, late_sum = 0, late_max = 0, over = 0;
    for (int i = 0; i < srv.nloops; i++) {
        srvloop *l = &srv.loops[i];
        accepted += l->accepted;
        requests += l->requests;
        bad += l->bad_requests;
        resets += l->resets;
        shed += l->pause.shed;
        delayed += l->delayed;
        late_sum += l->late_sum_ns;
        over += l->late_over_1ms;
        if (l->late_max_ns > late_max)
            late_max = l->late_max_ns;
    }
    fprintf(
        stderr,
        "greenbench-server: stopped: %lld connections (%lld at most at once), %lld requests answered, "
        "%lld bad requests, %lld clients gone before their response, %lld shed for lack of descriptors\n",
        accepted, peak, requests, bad, resets, shed);
    if (delayed > 0)
        fprintf(stderr,
                "greenbench-server: %lld delayed answers left %.3f ms after they were due on average, "
                "%.3f ms at most; %lld (%.2f%%) more than 1 ms late\n",
                delayed, (double)late_sum / (double)delayed / 1e6, (double)late_max / 1e6, over,
                100.0 * (double)over / (double)delayed);
    if (srv.tls_ctx != NULL) {
        long long failed = 0;
        for (int i = 0; i < srv.nloops; i++)
            failed += srv.loops[i].tls_failed;
        fprintf(stderr,
                "greenbench-server: %lld connections ended by a TLS error (a failed handshake, mostly)\n",
                failed);
    }
    for (int i = 0; srv.nloops > 1 && i < srv.nloops; i++) {
        srvloop *l = &srv.loops[i];
        char cpu[32] = "";
        if (l->cpu >= 0)
            snprintf(cpu, sizeof cpu, " (CPU %d)", l->cpu);
        fprintf(
            stderr,
            "greenbench-server: loop %d%s: %lld connections, %lld requests answered, %lld delayed answers "
            "%.3f ms late on average, %.3f ms at most, %lld more than 1 ms late\n",
            i, cpu, l->accepted, l->requests, l->delayed,
            l->delayed > 0 ? (double)l->late_sum_ns / (double)l->delayed / 1e6 : 0.0,
            (double)l->late_max_ns / 1e6, l->late_over_1ms);
    }
}

/* Every loop's listening socket and watchers: the first binds --port (0:
 * the kernel picks), the others the port it got. The port, or -1 having
 * said why. */
static int listen_all(int backlog)
{
    struct sockaddr_in addr;
    int port = srv.port;
    if (srv.nloops > 1 && port != 0 && fixed_port_free(port) != 0)
        return -1;
    for (int i = 0; i < srv.nloops; i++) {
        srvloop *l = &srv.loops[i];
        l->listen_fd = listen_loopback(port, backlog, &addr);
        if (l->listen_fd < 0)
            return -1;
        port = ntohs(addr.sin_port);
        if (loop_setup(l) != 0)
            return -1;
    }
    return port;
}

int main(int argc, char **argv)
{
    srv.size = 1024;
    if (parse_args(argc, argv) != 0)
        return 2;
    if (srv.tls) {
        int trc = tls_setup();
        if (trc != 0)
            return trc;
    }
    srv.nloops = (int)srv.threads;
    srv.loops = calloc((size_t)srv.nloops, sizeof *srv.loops);
    if (srv.loops == NULL) {
        fprintf(stderr, "greenbench-server: out of memory\n");
        return 1;
    }
    for (int i = 0; i < srv.nloops; i++) {
        srv.loops[i].index = i;
        srv.loops[i].listen_fd = srv.loops[i].pause.spare_fd = srv.loops[i].delays.timer_fd = -1;
        pthread_mutex_init(&srv.loops[i].lock, NULL);
    }
    if (assign_cpus() != 0)
        return 2;
    char where[64 + 8 * MAX_THREADS];
    describe_cpus(where, sizeof where);
    signal(SIGPIPE, SIG_IGN);
    for (size_t i = 0; i < sizeof body; i++)
        body[i] = "abcdefghijklmnopqrstuvwxyz0123456789\n"[i % 37];

    unsigned long long nofile = raise_nofile_limit();

    long long somaxconn = sys_read_ll("/proc/sys/net/core/somaxconn");
    int backlog = somaxconn > SOMAXCONN ? (int)(somaxconn < 1 << 30 ? somaxconn : 1 << 30) : SOMAXCONN;
    int port = listen_all(backlog);
    if (port < 0)
        return 1;
    main_watchers(srv.loops[0].loop);
    window.start_ns = now_ns();
    window.start_cpu_ns = process_cpu_ns();
    int rc = start_threads() == 0 ? 0 : 1;

    if (rc == 0) {
        /* One write: a reader that closes the pipe after the first line
         * must not make the second fail halfway. */
        if (srv.tls_ctx == NULL)
            printf("http://127.0.0.1:%d/\n", port);
        else if (srv.ca_path[0] != '\0')
            printf("https://127.0.0.1:%d/\nca: %s\n", port, srv.ca_path);
        else
            printf("https://127.0.0.1:%d/\n", port);
        fflush(stdout);
        fprintf(stderr,
                "greenbench-server: listening on 127.0.0.1:%d; delay %lld ms, size %lld bytes; backlog %d "
                "(net.core.somaxconn %lld, net.ipv4.tcp_max_syn_backlog %lld); RLIMIT_NOFILE %llu; %s\n",
                port, srv.delay_ms, srv.size, backlog, somaxconn,
                sys_read_ll("/proc/sys/net/ipv4/tcp_max_syn_backlog"), nofile, where);
        ev_run(srv.loops[0].loop, 0);
    }
    for (int i = 1; i < srv.nloops; i++) {
        ev_async_send(srv.loops[i].loop, &srv.loops[i].stop);
        pthread_join(srv.loops[i].thread, NULL);
    }
    loop_close(&srv.loops[0]);
    report();
    ev_loop_destroy(srv.loops[0].loop);
    for (int i = 0; i < srv.nloops; i++)
        pthread_mutex_destroy(&srv.loops[i].lock);
    free(srv.loops);
    SSL_CTX_free(srv.tls_ctx);
    return rc;
}
