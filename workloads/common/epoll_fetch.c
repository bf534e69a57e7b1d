/* workloads/common/epoll_fetch.c: the joinall and pool engine of
 * greenbench-cell-epoll (epoll_fetch.h): one thread, one epoll instance,
 * non-blocking sockets, a state machine per connection.
 *
 * The system calls are the fewest this design allows, since this program is
 * the ceiling the green variants are held against. A new connection costs
 * socket, connect, send, one epoll_ctl, recv, setsockopt and close, plus its
 * share of the epoll_waits:
 *  - the request is sent straight after connect(2): on loopback the
 *    handshake has usually completed by the time connect returns
 *    EINPROGRESS, so the first wait is for the answer, not for the connect
 *    (send fails with EAGAIN when it has not, and the connection then waits
 *    for EPOLLOUT);
 *  - the socket is added to the epoll set once, edge-triggered, after the
 *    request has gone out, for EPOLLIN alone (EPOLLOUT only when a send had
 *    to wait), and never modified or deleted (close takes it out);
 *  - a read shorter than the buffer drained the socket: edge-triggered
 *    epoll reports any byte that comes after it, so no recv is spent on
 *    EAGAIN (the responses come in one read).
 * Deadlines are kept in one list in start order: every request has the same
 * timeout, so the earliest deadline is always its head, and epoll_wait's
 * timeout is the time to it.
 *
 * https (t->tls): the same machine, with the TLS handshake as the last part
 * of connecting and SSL_write / SSL_read for send / recv, each driven by the
 * events its SSL_ERROR_WANT_READ / WANT_WRITE asks for. A read shorter than
 * the buffer proves nothing there (SSL_read gives one record at a time), so
 * reads go on until OpenSSL wants more from the socket. */
#include "epoll_fetch.h"
#include "http/http_tls.h"

#include <errno.h>
#include <limits.h>
#include <openssl/err.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Events taken per epoll_wait: a few per thousand ready connections. */
#define MAX_EVENTS 1024

enum conn_state {
    IDLE,                       /* No request: a kept connection, or none (fd -1). */
    CONNECTING,                 /* connect(2) made (and with TLS the handshake under way);
                                   no byte of the request accepted yet. */
    SENDING,                    /* Connected, some of the request still to send. */
    READING                     /* The request sent; the response through the parser. */
};

typedef struct conn {
    struct conn *prev, *next;   /* In the deadline list while a request is in flight. */
    long long deadline_ns;      /* CLOCK_MONOTONIC. */
    long long task;             /* The task being served, -1 when IDLE. */
    int fd;                     /* -1 when there is no connection. */
    SSL *ssl;                   /* With TLS, fd's session (kept with it); NULL otherwise. */
    uint32_t gen;               /* Bumped at every close: events of an older socket are stale. */
    uint32_t mask;              /* What fd is registered for, 0 when it is not. */
    enum conn_state state;
    bool reused;                /* This request runs on a connection an earlier one used. */
    bool retried;               /* ... and that connection was closed under it, once. */
    bool got_bytes;             /* Some of the response came. */
    size_t sent;                /* Bytes of the request sent. */
    http_parser parser;         /* Points into itself: a conn never moves. */
} conn;

struct epoll_fetch {
    const http_target *t;
    const char *request;        /* What every request sends. */
    size_t request_len;
    bool keepalive;
    int epfd;
    long long cap;              /* conns[] room. */
    conn *conns;
    struct epoll_event *events;
    int nevents;
    long long timeout_ns;
    /* The run in progress. */
    fetch_task *tasks;
    long long n, next, done, in_flight, peak, connections, reconnects;
    conn *head, *tail;          /* The deadline list, earliest first. */
    char keep_request[sizeof(((http_target *)0)->request) + 16];
    char buf[HTTP_READ_CHUNK];  /* Every response is read into it: one thread. */
};

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* t->request for a connection that is kept: its "Connection: close" made
 * "Connection: keep-alive" (the server keeps an HTTP/1.1 connection unless
 * told to close it). A request without that header is sent as it is. */
static void make_keepalive_request(epoll_fetch *e)
{
    static const char close_hdr[] = "\r\nConnection: close\r\n";
    static const char keep_hdr[] = "\r\nConnection: keep-alive\r\n";
    const char *req = e->t->request;
    const char *at = strstr(req, close_hdr);
    size_t len = e->t->request_len;
    if (at == NULL || len - (sizeof close_hdr - 1) + (sizeof keep_hdr - 1) >= sizeof e->keep_request) {
        e->request = req;
        e->request_len = len;
        return;
    }
    size_t before = (size_t)(at - req), after = len - before - (sizeof close_hdr - 1);
    memcpy(e->keep_request, req, before);
    memcpy(e->keep_request + before, keep_hdr, sizeof keep_hdr - 1);
    memcpy(e->keep_request + before + sizeof keep_hdr - 1, at + sizeof close_hdr - 1, after);
    e->request = e->keep_request;
    e->request_len = before + (sizeof keep_hdr - 1) + after;
    e->keep_request[e->request_len] = '\0';
}

int epoll_fetch_new(epoll_fetch **out, const http_target *t, long long k, bool keepalive)
{
    *out = NULL;
    if (k < 1 || k > INT32_MAX)
        return -EINVAL;
    epoll_fetch *e = calloc(1, sizeof *e);
    if (e == NULL)
        return -ENOMEM;
    e->t = t;
    e->keepalive = keepalive;
    e->epfd = -1;
    e->cap = k;
    e->nevents = k < MAX_EVENTS ? (int)k : MAX_EVENTS;
    e->timeout_ns = (long long)(t->timeout * 1e9);
    e->conns = calloc((size_t)k, sizeof *e->conns);
    e->events = calloc((size_t)e->nevents, sizeof *e->events);
    if (e->conns == NULL || e->events == NULL) {
        epoll_fetch_free(e);
        return -ENOMEM;
    }
    for (long long i = 0; i < k; i++) {
        e->conns[i].fd = -1;
        e->conns[i].task = -1;
    }
    e->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (e->epfd < 0) {
        int err = -errno;
        epoll_fetch_free(e);
        return err;
    }
    if (keepalive) {
        make_keepalive_request(e);
    } else {
        e->request = t->request;
        e->request_len = t->request_len;
    }
    *out = e;
    return 0;
}

void epoll_fetch_free(epoll_fetch *e)
{
    if (e == NULL)
        return;
    if (e->epfd >= 0) {         /* Made after the slots were set up: they can be closed. */
        epoll_fetch_close_all(e);
        close(e->epfd);
    }
    free(e->conns);
    free(e->events);
    free(e);
}

/* ---- the deadline list ---- */

static void list_append(epoll_fetch *e, conn *c)
{
    c->next = NULL;
    c->prev = e->tail;
    if (e->tail != NULL)
        e->tail->next = c;
    else
        e->head = c;
    e->tail = c;
}

static void list_remove(epoll_fetch *e, conn *c)
{
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        e->head = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    else
        e->tail = c->prev;
    c->prev = c->next = NULL;
}

/* ---- one connection ---- */

/* End the connection with a reset, as http_fetch does (http.c): neither
 * side keeps it in TIME_WAIT, which would run the ephemeral ports out
 * across repetitions. Every byte the server sent has been read, or the
 * request failed. close() takes it out of the epoll set. */
static void close_conn(conn *c)
{
    if (c->fd < 0)
        return;
    /* No close_notify: the response was read to its end, or the request
     * failed; the reset ends it for the server as it does in plain HTTP. */
    SSL_free(c->ssl);
    c->ssl = NULL;
    http_close_reset(c->fd);
    c->fd = -1;
    c->gen++;
    c->mask = 0;
}

void epoll_fetch_close_all(epoll_fetch *e)
{
    for (long long i = 0; i < e->cap; i++)
        close_conn(&e->conns[i]);
}

/* The request of c ends with err (0: the whole response came): its task's
 * outcome as http_fetch would give it, the response's own checks included.
 * The connection is kept for the slot's next request only with keep-alive,
 * after a good response the server did not say it closes. */
static void finish(epoll_fetch *e, conn *c, int err)
{
    fetch_task *t = &e->tasks[c->task];
    const http_parser *p = &c->parser;
    if (c->state == READING) {
        t->res.status = p->status;
        t->res.stage = p->head_done ? HTTP_AT_BODY : HTTP_AT_HEAD;
        t->res.body_bytes = p->body_bytes;
        if (err == 0 && p->status != 200)
            err = HTTP_ESTATUS;
        if (err == 0 && e->t->expect_size >= 0 && p->body_bytes != e->t->expect_size)
            err = HTTP_ESIZE;
    } else {
        t->res.status = 0;
        t->res.stage = c->state == CONNECTING ? HTTP_AT_CONNECT : HTTP_AT_SEND;
        t->res.body_bytes = 0;
    }
    t->err = err;
    list_remove(e, c);
    e->in_flight--;
    e->done++;
    c->task = -1;
    if (!e->keepalive || err != 0 || p->server_closes)
        close_conn(c);
    c->state = IDLE;
}

/* Have fd reported for `events` too (edge-triggered). Returns 0 or a
 * negative errno. */
static int watch(epoll_fetch *e, conn *c, uint32_t events)
{
    if ((c->mask & events) == events)
        return 0;
    int op = c->mask == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
    c->mask |= events;
    struct epoll_event ev = { .events = c->mask | EPOLLET,
                              .data.u64 = (uint64_t)(c - e->conns) | (uint64_t)c->gen << 32 };
    return epoll_ctl(e->epfd, op, c->fd, &ev) == 0 ? 0 : -errno;
}

/* A kept connection the server closed between two requests fails the
 * second before any byte of its response: that request goes again, once,
 * on a new connection, as HTTP clients do with an idempotent request. */
static bool may_retry(const epoll_fetch *e, const conn *c, int err)
{
    return e->keepalive && c->reused && !c->retried && !c->got_bytes &&
           (err == -ECONNRESET || err == -EPIPE || err == HTTP_ETRUNCATED || err == HTTP_ETLS_TRUNCATED);
}

/* ---- the socket, plain or through c->ssl ----
 * Each returns bytes moved (> 0), 0 at the end of the stream (recv), or a
 * negative code: -EAGAIN with the events to wait for in *want, a negative
 * errno, or HTTP_ETLS_*. */

static ssize_t tls_result(conn *c, int ret, uint32_t *want)
{
    if (ret > 0)
        return ret;
    int st = http_tls_status(c->ssl, ret);
    if (st != SSL_ERROR_WANT_READ && st != SSL_ERROR_WANT_WRITE)
        return st;
    /* A want to write waits for EPOLLIN too, as the plain send does: the
     * response needs it later, and the mask only widens, so this spares
     * an epoll_ctl. */
    *want = st == SSL_ERROR_WANT_READ ? EPOLLIN : EPOLLIN | EPOLLOUT;
    return -EAGAIN;
}

static ssize_t conn_send(conn *c, const char *buf, size_t len, uint32_t *want)
{
    if (c->ssl != NULL) {
        ERR_clear_error();
        errno = 0;      /* http_tls_status reads it for SSL_ERROR_SYSCALL. */
        ssize_t n = tls_result(c, SSL_write(c->ssl, buf, (int)len), want);
        return n != 0 ? n : HTTP_ETLS_PROTOCOL;         /* A close_notify is no answer. */
    }
    for (;;) {
        ssize_t n = send(c->fd, buf, len, MSG_NOSIGNAL);
        if (n >= 0)
            return n;
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return -errno;
        *want = EPOLLIN | EPOLLOUT;     /* Still connecting, or the send buffer is full. */
        return -EAGAIN;
    }
}

static ssize_t conn_recv(conn *c, char *buf, size_t len, uint32_t *want)
{
    if (c->ssl != NULL) {
        ERR_clear_error();
        errno = 0;
        return tls_result(c, SSL_read(c->ssl, buf, (int)len), want);     /* 0: close_notify. */
    }
    for (;;) {
        ssize_t n = recv(c->fd, buf, len, 0);
        if (n >= 0)
            return n;
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return -errno;
        *want = EPOLLIN;
        return -EAGAIN;
    }
}

/* ---- the request's steps ----
 * Each returns -EAGAIN with the events to wait for in *want, or 0 when the
 * handshake is done or the whole response came, or else how the request
 * failed. */

/* TLS: the handshake on the connected (or connecting) socket. The
 * connection counts once it is done, as the thread variants count theirs. */
static int handshake(epoll_fetch *e, conn *c, uint32_t *want)
{
    ERR_clear_error();
    errno = 0;
    int ret = SSL_do_handshake(c->ssl);
    if (ret != 1) {
        int err = (int)tls_result(c, ret, want);
        return err != 0 ? err : HTTP_ETLS_PROTOCOL;     /* A close_notify before the handshake ended. */
    }
    c->state = SENDING;
    e->connections++;
    return 0;
}

/* Send the request as far as it goes (c->sent moves only with bytes taken,
 * so after a want SSL_write gets the same arguments again, as OpenSSL
 * requires). Once all of it is out, the answer comes later (the server's
 * delay): no read now, a wait for EPOLLIN, which, added after the request
 * went out, reports an answer already there at once. */
static int send_request(epoll_fetch *e, conn *c, uint32_t *want)
{
    while (c->sent < e->request_len) {
        ssize_t n = conn_send(c, e->request + c->sent, e->request_len - c->sent, want);
        if (n < 0)
            return (int)n;      /* While CONNECTING: connect's error (refused, ...). */
        if (c->state == CONNECTING) {
            c->state = SENDING;
            e->connections++;
        }
        c->sent += (size_t)n;
    }
    c->state = READING;
    *want = EPOLLIN;
    return -EAGAIN;
}

/* Read what has come of the response. */
static int read_response(epoll_fetch *e, conn *c, uint32_t *want)
{
    for (;;) {
        ssize_t got = conn_recv(c, e->buf, sizeof e->buf, want);
        if (got > 0) {
            c->got_bytes = true;
            int r = http_parser_feed(&c->parser, e->buf, (size_t)got);
            if (r != 0)
                return r < 0 ? r : 0;
            if (c->ssl == NULL && (size_t)got < sizeof e->buf) {
                *want = EPOLLIN;
                return -EAGAIN; /* Drained: the next byte brings a new edge. */
            }
            continue;
        }
        if (got < 0)
            return (int)got;
        int r = http_parser_eof(&c->parser);
        close_conn(c);          /* A body the server ended by closing: nothing to keep. */
        return r < 0 ? r : 0;
    }
}

static void open_conn(epoll_fetch *e, conn *c);

static void retry(epoll_fetch *e, conn *c)
{
    close_conn(c);
    c->retried = true;
    e->reconnects++;
    http_parser_init(&c->parser);
    open_conn(e, c);
}

/* Take c's request as far as it goes without waiting. */
static void advance(epoll_fetch *e, conn *c)
{
    uint32_t want = EPOLLIN;
    int err = 0;
    if (c->state == CONNECTING && c->ssl != NULL)
        err = handshake(e, c, &want);
    if (err == 0)
        err = c->state == READING ? read_response(e, c, &want) : send_request(e, c, &want);
    if (err == -EAGAIN && (err = watch(e, c, want)) == 0)
        return;
    if (may_retry(e, c, err))
        retry(e, c);
    else
        finish(e, c, err);
}

/* A new connection for c's request, and its request sent as far as it goes. */
static void open_conn(epoll_fetch *e, conn *c)
{
    c->reused = false;
    c->sent = 0;
    c->state = CONNECTING;
    int fd = socket(e->t->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        finish(e, c, -errno);
        return;
    }
    c->fd = fd;
    if (connect(fd, (const struct sockaddr *)&e->t->addr, e->t->addrlen) != 0 && errno != EINPROGRESS) {
        finish(e, c, -errno);
        return;
    }
    /* The handshake starts at once too: its first write waits for the
     * connect as the plain request's does. */
    if (e->t->tls && (c->ssl = http_tls_new(e->t, fd)) == NULL) {
        finish(e, c, -ENOMEM);
        return;
    }
    advance(e, c);
}

/* Start task on c: on its kept connection, or a new one. */
static void start(epoll_fetch *e, conn *c, long long task)
{
    c->task = task;
    c->deadline_ns = now_ns() + e->timeout_ns;
    list_append(e, c);
    if (++e->in_flight > e->peak)
        e->peak = e->in_flight;
    http_parser_init(&c->parser);
    c->got_bytes = false;
    c->retried = false;
    if (c->fd >= 0) {
        c->reused = true;
        c->sent = 0;
        c->state = SENDING;
        advance(e, c);
    } else {
        open_conn(e, c);
    }
}

/* While c is free and tasks are left, give it the next. A loop, not a
 * recursion: a request can fail at once (a refused connect), and the next
 * is started here again. */
static void serve(epoll_fetch *e, conn *c)
{
    while (c->task < 0 && e->next < e->n)
        start(e, c, e->next++);
}

/* An event on a kept connection between requests: the server closed it
 * (or sent what nobody asked for: with TLS, a close_notify or an alert,
 * whose bytes the raw read spoils, but the connection goes anyway). Let
 * the next request open a new one. */
static void idle_event(conn *c)
{
    char byte;
    ssize_t got = recv(c->fd, &byte, 1, MSG_DONTWAIT);
    if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;     /* A late edge of the last response: nothing more came. */
    close_conn(c);
}

int epoll_fetch_run(epoll_fetch *e, fetch_task *tasks, long long n, long long k, epoll_fetch_counts *counts)
{
    if (k > e->cap)
        k = e->cap;
    e->tasks = tasks;
    e->n = n;
    e->next = e->done = e->in_flight = e->peak = e->connections = e->reconnects = 0;
    e->head = e->tail = NULL;
    for (long long i = 0; i < k && e->next < n; i++)
        serve(e, &e->conns[i]);
    int rc = 0;
    while (e->done < n) {
        int timeout = -1;
        if (e->head != NULL) {
            long long left = e->head->deadline_ns - now_ns();
            long long ms = left <= 0 ? 0 : (left + 999999) / 1000000;
            timeout = ms > INT_MAX ? INT_MAX : (int)ms;
        }
        int got = epoll_wait(e->epfd, e->events, e->nevents, timeout);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            rc = -errno;
            break;
        }
        for (int i = 0; i < got; i++) {
            uint64_t data = e->events[i].data.u64;
            conn *c = &e->conns[data & 0xffffffffu];
            if (c->fd < 0 || c->gen != (uint32_t)(data >> 32))
                continue;       /* A socket closed since. */
            if (c->task >= 0)
                advance(e, c);
            else
                idle_event(c);
            serve(e, c);
        }
        /* The requests past their deadline, earliest first; those that take
         * their slots start with deadlines later than now. */
        long long now = e->head != NULL ? now_ns() : 0;
        while (e->head != NULL && e->head->deadline_ns <= now) {
            conn *c = e->head;
            finish(e, c, -ETIMEDOUT);
            serve(e, c);
        }
    }
    /* Requests a failed wait left behind end here; kept connections stay
     * open for epoll_fetch_close_all, outside the timed part, as the other
     * implementations close theirs. */
    for (long long i = 0; i < e->cap; i++) {
        conn *c = &e->conns[i];
        if (c->task >= 0) {
            list_remove(e, c);
            c->task = -1;
            close_conn(c);
        }
        c->state = IDLE;
    }
    e->in_flight = 0;
    counts->peak = e->peak;
    counts->connections = e->connections;
    counts->reconnects = e->reconnects;
    return rc;
}
