/* workloads/common/fetch.h: what the joinall and pool workloads share, green and
 * thread variants alike: defaults, the server (the harness's --url, or one
 * the cell starts itself), the limit checks, the per-task record and the
 * tally of checks into the result. The fetching itself is http.h's. */
#ifndef GREEN_FETCH_H
#define GREEN_FETCH_H

#include "cell.h"
#include "http/http.h"
#include "server_child.h"

#include <stdatomic.h>
#include <stdbool.h>

/* The outcome of a task that never ran (it could not get a stack, or was
 * killed first): every task starts with it. */
#define FETCH_ENOTRUN (-4100)

/* One request's outcome, written by the task that made it:
 * task->err = http_fetch(..., &task->res). */
typedef struct fetch_task {
    int err;                    /* 0, http_fetch's code, or FETCH_ENOTRUN. */
    http_result res;            /* Status, body bytes received, connections opened. */
    http_conn conn;             /* joinall --keepalive=1: the connection the task kept open,
                                   closed after the timed part (fetch_tasks_close). */
} fetch_task;

/* How a variant makes its requests: its http_io for http:// and for
 * https://, and the process-wide TLS set-up the latter needs (made once,
 * before timing; init returns 0, or -1 with why in err). The epoll engine
 * drives its sockets itself: its tables are NULL. */
typedef struct fetch_flavour {
    const http_io *plain, *tls;
    int (*tls_init)(const char *ca_file, char *err, size_t errlen);
    void (*tls_fini)(void);
} fetch_flavour;

/* Blocking sockets, and blocking OpenSSL (http_tls.h): the thread variants'. */
extern const fetch_flavour fetch_blocking;

typedef struct fetch_setup {
    http_target target;
    server_child server;        /* Ours, when no --url was given. */
    bool own_server;
    bool keepalive;             /* --keepalive=1: connections are kept and reused. */
    bool tls;                   /* --tls=1: https, verified; the flavour's TLS is set up. */
    const fetch_flavour *flavour;
    const http_io *io;          /* The flavour's for this target: plain or tls. */
    long long n, k;             /* Requests, and how many at once at most. */
} fetch_setup;

/* Fill in the defaults (n; k when pool is true; keepalive 0, tls 0), check
 * them, find the server (or start one, with --delay-ms and --size, default
 * 10 ms and 1024 bytes, and --tls), set up f's TLS with --tls=1 (against
 * --cacert, or the CA of the server we started), and check that k
 * connections at once fit the machine's limits. Returns 0, or -1 with r
 * failed (and nothing left to tear down). */
int fetch_setup_init(fetch_setup *s, cell_params *p, cell_result *r, bool pool, const fetch_flavour *f);

/* Append a sentence to the result's note (kept in static storage). */
void fetch_note_add(cell_result *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Check the most requests in flight at once against k, the most allowed:
 * more fails r; fewer (the pool never filled) goes into the note. */
int fetch_check_in_flight(const fetch_setup *s, cell_result *r, long long peak);

/* Make n tasks ready to run: FETCH_ENOTRUN until a task says otherwise, no
 * connection kept. */
void fetch_tasks_reset(fetch_task *tasks, long long n);

/* Close the connections n tasks kept (http_conn_close, through s->io). */
void fetch_tasks_close(const fetch_setup *s, fetch_task *tasks, long long n);

/* Stop our server, if we started one, and undo the flavour's TLS set-up. */
void fetch_setup_close(fetch_setup *s);

/* Sum the tasks into r's checks (tasks_completed, bytes_received, errors,
 * connections); fail r with the first error, worded for a person, if any
 * task failed. Returns 0 when all succeeded. */
int fetch_tally(const fetch_setup *s, const fetch_task *tasks, long long n, cell_result *r);

/* After the timed part's tally: say in the note how many requests found
 * their kept connection closed and made a new one, if any did. */
void fetch_note_reconnects(const fetch_task *tasks, long long n, cell_result *r);

/* Requests in flight now and at most, shared by the threads of a thread
 * variant (a green variant counts with plain integers: one hub, one thread). */
typedef struct fetch_gauge {
    atomic_llong now, peak;
} fetch_gauge;

static inline void fetch_gauge_enter(fetch_gauge *g)
{
    long long v = atomic_fetch_add_explicit(&g->now, 1, memory_order_relaxed) + 1;
    long long peak = atomic_load_explicit(&g->peak, memory_order_relaxed);
    while (v > peak && !atomic_compare_exchange_weak_explicit(&g->peak, &peak, v, memory_order_relaxed,
                                                              memory_order_relaxed))
        ;
}

static inline void fetch_gauge_leave(fetch_gauge *g)
{
    atomic_fetch_sub_explicit(&g->now, 1, memory_order_relaxed);
}

/* Seconds one request may take before it counts as failed: the bound on
 * every wait of these workloads. */
#define FETCH_TIMEOUT_S 30.0

/* A thread variant's read buffer: on the stack of the thread that fetches,
 * as a blocking program keeps it. Not in static TLS: glibc zeroes a
 * program's TLS in the stack of every thread it makes, so 16 KiB there
 * made every thread of the thread cell, spawn's and dns's too, touch 4
 * pages more (spawn-alive: 24 879 bytes per thread against 8 479). Green
 * threads share their hub's (green_common.c). */
#define FETCH_THREAD_SCRATCH(name) char name[HTTP_READ_CHUNK]

/* The smallest stack a fetching thread may have (KiB, for
 * threads_attr_init): its read buffer (on its stack: fetch_thread_scratch)
 * and as much again for the calls; with --tls=1 the 64 KiB
 * on which green threads make the same OpenSSL handshakes (libgreen's
 * default stack). */
#define FETCH_THREAD_MIN_STACK_KIB(s) ((s)->tls ? 64 : 2 * HTTP_READ_CHUNK / 1024)

/* Warm-up requests before the timed part (connections, stacks, the server's
 * memory, the page cache of our own code). */
#define FETCH_WARMUP 16

#endif /* GREEN_FETCH_H */
