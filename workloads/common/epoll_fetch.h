/* workloads/common/epoll_fetch.h: the engine of greenbench-cell-epoll, the
 * joinall and pool workloads with no runtime at all: one thread, one epoll
 * instance, non-blocking sockets and a state machine per connection
 * (connecting, with https the TLS handshake too, sending the request,
 * reading the response through http.h's parser, done). It sends the bytes
 * the other variants send, parses and checks the response the same way,
 * and fills the same fetch_task records, so that fetch_tally words its
 * errors as it does for them. What a one-hub runtime can at best approach.
 * epoll_fetch.c is the engine alone (http.h, http_tls.h and the fetch_task
 * record, nothing of cell.c), so that tests link it. */
#ifndef GREEN_EPOLL_FETCH_H
#define GREEN_EPOLL_FETCH_H

#include "cell.h"
#include "fetch.h"

#include <stdbool.h>

typedef struct epoll_fetch epoll_fetch;

/* What one run counted. */
typedef struct epoll_fetch_counts {
    long long peak;             /* The most requests in flight at once. */
    long long connections;      /* TCP connections set up (connect completed; with
                                   TLS, the handshake too). */
    long long reconnects;       /* Requests whose kept connection the server had closed,
                                   made again on a new one (counted in connections). */
} epoll_fetch_counts;

/* An engine for requests to t (which must outlive it) with room for k
 * connections at once. keepalive: a connection serves the slot's next
 * request too ("Connection: keep-alive"), until the server says it closes;
 * otherwise each request has its own connection ("Connection: close", as
 * t->request has it), ended by the client with a reset once the whole
 * response is in. An https target (t->tls) is fetched through OpenSSL
 * (http_tls.h; http_tls_init made its context), verified, each connection
 * keeping its session while it is kept. Returns 0, or a negative errno (out
 * of memory, no epoll instance). */
int epoll_fetch_new(epoll_fetch **e, const http_target *t, long long k, bool keepalive);

/* Run tasks[0, n) with at most k (<= the engine's) in flight: k slots start
 * the first k, and a slot that finishes takes the next. A request's
 * deadline is t->timeout from its start; each task ends with its outcome
 * in err (0, a negative errno, an HTTP_E* code) and res, as http_fetch
 * fills them. Connections kept alive stay open for epoll_fetch_close_all
 * (or the next run); the others are closed before it returns. Returns 0
 * with *counts, or a negative errno when epoll_wait itself failed. */
int epoll_fetch_run(epoll_fetch *e, fetch_task *tasks, long long n, long long k,
                    epoll_fetch_counts *counts);

/* Close the connections kept alive (with a reset, as every connection);
 * epoll_fetch_free does too. */
void epoll_fetch_close_all(epoll_fetch *e);

void epoll_fetch_free(epoll_fetch *e);

/* The cell side (epoll_workloads.c): joinall (pool false: all --n at
 * once) or pool (at most --concurrency at once) around the engine: the
 * setup of fetch.h (defaults, server, limits), --keepalive (0 when not
 * given), the untimed warm-up of FETCH_WARMUP requests, the timed run, the
 * tally and the checks of every variant, and the `connections` count of the
 * timed part. --hubs and --stack-kib do not apply (one thread, no hub, no
 * stacks): a note on stderr, null in the JSON line. Returns 0 or -1 with r
 * failed. */
int epoll_fetch_workload(cell_params *p, cell_result *r, bool pool);

#endif /* GREEN_EPOLL_FETCH_H */
