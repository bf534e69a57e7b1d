/* workloads/common/http/http.h: the one HTTP/1.1 client of every C cell variant.
 *
 * http.c holds everything but the system calls: URL parsing, the request,
 * the response parser and the fetch driver, http_fetch(). The calls come
 * through a small table, struct http_io, in two flavours (examples/fetch.c,
 * the seed program, uses the green one):
 *   http_blocking.c  blocking sockets with SO_SNDTIMEO / SO_RCVTIMEO (thread variants)
 *   http_green.c     libgreen's cooperative sockets (green variants)
 * so that green and thread variants send the same bytes and parse the same
 * way; only how they wait differs. One indirect call per system call costs
 * nothing next to the system call (~1 us on the project's machines).
 *
 * http_fetch makes every request on a new connection ("Connection: close"),
 * reads it to the last byte of the body, checks it and ends the connection
 * with a reset; http_fetch_keep reuses a connection the caller keeps
 * (keep-alive, --keepalive=1). Errors are negative codes: a negative errno
 * for the system's (-ECONNREFUSED, -ETIMEDOUT, ...) or an HTTP_E* below for
 * the response's. */
#ifndef GREEN_HTTP_H
#define GREEN_HTTP_H

#include <netdb.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

/* Errors of the response itself, below libgreen's and errno's ranges. */
enum {
    HTTP_EBADRESPONSE = -4000,  /* Not an HTTP/1.x response. */
    HTTP_ESTATUS = -4001,       /* A status other than 200. */
    HTTP_ESIZE = -4002,         /* Body length differs from what was expected. */
    HTTP_ETRUNCATED = -4003,    /* The server closed before the whole body. */
    HTTP_EHEADTOOBIG = -4004,   /* Response head over its room (HTTP_MAX_HEAD, or max_head). */
    HTTP_EBADCHUNK = -4005,     /* A chunked body that breaks its grammar. */
    HTTP_ETOOLONG = -4006,      /* More body than Content-Length said, or bytes past the last chunk. */
    HTTP_EBADLENGTH = -4007,    /* A Content-Length that is not a count of bytes (up to 2^50). */
    /* https:// (--tls=1): the same reasons libgreen's GREEN_ETLS_* give, so
     * that green, thread and epoll cells word a failure alike. */
    HTTP_ETLS_VERIFY = -4010,        /* Verification failed, for a reason not below. */
    HTTP_ETLS_UNKNOWN_CA = -4011,    /* No chain to a trusted CA (--cacert). */
    HTTP_ETLS_NAME_MISMATCH = -4012, /* The certificate is not for the URL's host. */
    HTTP_ETLS_CERT_EXPIRED = -4013,
    HTTP_ETLS_NOT_YET_VALID = -4014,
    HTTP_ETLS_PROTOCOL = -4015,      /* A malformed record, no common version, an alert. */
    HTTP_ETLS_TRUNCATED = -4016,     /* The peer closed without close_notify mid-record. */
    HTTP_ETLS_HANDSHAKE_TIMEOUT = -4017 /* Connected, but no handshake by the deadline (green). */
};

#define HTTP_MAX_HEAD 1024
/* Bytes asked for per read: the same for both flavours. */
#define HTTP_READ_CHUNK 16384

/* Where and what to fetch; made once, before timing, shared read-only by
 * every task (and every thread). */
typedef struct http_target {
    struct sockaddr_storage addr;
    socklen_t addrlen;
    char host[256];             /* The URL's host ([] taken off an IPv6 one) and port, */
    char port[6];               /* as getaddrinfo takes them. */
    char url[512];
    /* The whole GET request, ready to send: with "Connection: close"
     * (http_fetch), and with "Connection: keep-alive" (http_fetch_keep). */
    char request[768];
    size_t request_len;
    char keep_request[768];
    size_t keep_request_len;
    long long expect_size;      /* Body length every response must have; -1: Content-Length's. */
    double timeout;             /* Seconds one fetch may take, connect to last byte. */
    size_t max_head;            /* Longest response head taken; HTTP_MAX_HEAD unless set
                                   larger after http_target_parse (public servers send
                                   more than the local one's ~100 bytes). */
    bool tls;                   /* An https:// URL: fetch it through a TLS flavour. */
} http_target;

/* Parse url ("http://HOST[:PORT][/PATH][?QUERY][#FRAGMENT]", or https://
 * with t->tls set; HOST a numeric address, [IPv6], or a name; PORT decimal,
 * 1 to 65535, 80 (443 for https) when left out) and build the request;
 * t->addr is left empty. Returns 0, or -1 with what
 * is wrong with url in err ("port 99999 is out of range (1-65535)"). */
int http_target_parse(http_target *t, const char *url, long long expect_size, double timeout,
                      char *err, size_t errlen);

/* What every flavour asks getaddrinfo for t->host and t->port. */
extern const struct addrinfo http_addr_hints;

/* Fetch from ai's address. */
void http_target_set_addr(http_target *t, const struct addrinfo *ai);

/* http_target_parse, then resolve the host once with getaddrinfo(3) and use
 * its first address: what the cells do, before timing. Blocks while it
 * resolves. Returns 0, or -1 with a message in err ("--url=URL: ..."). */
int http_target_init(http_target *t, const char *url, long long expect_size, double timeout,
                     char *err, size_t errlen);

/* http_green.c: the addresses of t->host and t->port through libgreen's
 * resolver, which parks only the calling green thread, so that a slow or
 * failing name holds up no other fetch. Returns 0 with *res (to be freed
 * with freeaddrinfo), or green_getaddrinfo's code (GREEN_EAI_NONAME, ...). */
int http_resolve_green(const http_target *t, struct addrinfo **res);

/* ---- the response parser (exposed for the tests) ---- */

typedef struct http_parser {
    char *head;                 /* Status line and headers, to the first blank line (LF or CRLF): */
    size_t head_cap;            /* head_room, or storage the caller gave (http_parser_init_head). */
    char head_room[HTTP_MAX_HEAD];
    size_t head_len;
    size_t interim_bytes; /* Of the interim (1xx) responses before this head, skipped. */
    bool head_done;
    int status;
    long long content_length;   /* -1: none given (or Transfer-Encoding), the body runs to end of file. */
    long long body_bytes;       /* Of a chunked body, the chunks' data alone. */
    bool server_closes;         /* "Connection: close" in the response. */
    bool chunked;               /* Transfer-Encoding ending in chunked. */
    int chunk_state;            /* Where the chunked decoder is (http.c). */
    unsigned long long chunk_left;  /* Of the chunk size being read, or of the chunk's data. */
} http_parser;

/* Ready p for a response whose head fits HTTP_MAX_HEAD bytes; p must not
 * be copied while in use (head points into it). */
void http_parser_init(http_parser *p);

/* The same with the caller's storage of cap bytes for the head. */
void http_parser_init_head(http_parser *p, char *head, size_t cap);

/* Feed the next len bytes of the response. Returns 1 when the response is
 * complete (the whole body seen: Content-Length's bytes, or a chunked body
 * to its last chunk and trailer), 0 when more is needed, or an HTTP_E* code. */
int http_parser_feed(http_parser *p, const char *data, size_t len);

/* The connection reached end of file: 1 if that completes the response (a
 * body without Content-Length), or HTTP_ETRUNCATED. */
int http_parser_eof(http_parser *p);

/* ---- fetching ---- */

/* The system calls under http_fetch. deadline is in seconds of
 * CLOCK_MONOTONIC (now() + timeout); each call fails with -ETIMEDOUT once it
 * has passed. */
typedef struct http_io {
    double (*now)(void);
    /* A new socket connected to t->addr: the fd, or a negative error. */
    int (*connect)(const http_target *t, double deadline);
    /* Send all of buf: len, or a negative error. */
    ssize_t (*send)(int fd, const void *buf, size_t len, double deadline);
    /* Receive up to len bytes: the count (0: end of file), or a negative error. */
    ssize_t (*recv)(int fd, void *buf, size_t len, double deadline);
    /* End the connection on fd; NULL: close it with a reset. */
    void (*close)(int fd);
} http_io;

extern const http_io http_io_blocking;   /* http_blocking.c */
extern const http_io http_io_green;      /* http_green.c: only in green programs */
/* http_green.c: https through libgreen's green_tls, verifying the server's
 * certificate and name (t->host) against ca_file, or the system's store when
 * NULL; its errors are turned into HTTP_ETLS_* codes. http_green_tls_init
 * makes the configuration, once per process, before any hub starts (the
 * hubs share it): returns 0, or -1 with why in err. */
extern const http_io http_io_green_tls;
int http_green_tls_init(const char *ca_file, char *err, size_t errlen);
void http_green_tls_fini(void);

/* https through OpenSSL called directly, blocking (http_tls.c), for the
 * thread variants: http_tls_init first, once per process. */
extern const http_io http_io_blocking_tls;

/* ---- for the flavours ---- */

/* CLOCK_MONOTONIC in seconds (the blocking flavours' now). */
double http_mono_now(void);

/* A --cacert the TLS flavours can open: 0, or -1 with "--cacert=F: No
 * such file or directory" (strerror) in err. NULL (the system's store): 0. */
int http_cacert_check(const char *ca_file, char *err, size_t errlen);

/* Close fd with a reset (see http.c): how every flavour ends a connection. */
void http_close_reset(int fd);

/* Per-connection state of a TLS flavour, by socket: http_io's calls take an
 * fd. Sized once, at init, to RLIMIT_NOFILE (at most 2^24 slots; calloc's
 * pages are touched only where used), so that threads and hubs, each with
 * its own sockets, never resize it under one another and need no lock. */
typedef struct http_fd_table {
    void **slot;
    size_t n;
} http_fd_table;
int http_fd_table_init(http_fd_table *t); /* 0, or -ENOMEM. Again: nothing. */
void http_fd_table_free(http_fd_table *t);
int http_fd_table_put(http_fd_table *t, int fd, void *v); /* 0, or -EMFILE past its end. */

/* How far a fetch got: where its error came from. */
typedef enum http_stage {
    HTTP_AT_CONNECT,
    HTTP_AT_SEND,
    HTTP_AT_HEAD,               /* Reading the status line and headers. */
    HTTP_AT_BODY                /* Past the head's blank line: the head's checks, the body, its checks. */
} http_stage;

typedef struct http_result {
    int status;                 /* HTTP status, 0 if none came. */
    http_stage stage;
    long long body_bytes;       /* Body bytes received (of a chunked body, its data). */
    /* Connections this fetch opened: http_fetch 1 (0 if the connect
     * failed); http_fetch_keep 0 (it reused one) or 1. */
    int connections;
    /* http_fetch_keep: the kept connection was closed or failed before a
     * byte of the response, and the request was made again on a new one
     * (counted in connections). */
    bool reconnected;
} http_result;

/* Connect, send t->request, read the whole response into buf (of buflen,
 * at least HTTP_READ_CHUNK bytes; its content is not kept), check it, close.
 * Returns 0 or a negative code; *res is filled either way. */
int http_fetch(const http_io *io, const http_target *t, char *buf, size_t buflen, http_result *res);

/* A connection kept from one fetch to the next (keep-alive): its socket, or
 * -1 when none is open. Used by one task at a time. */
typedef struct http_conn {
    int fd;
} http_conn;

#define HTTP_CONN_NONE ((http_conn){ .fd = -1 })

/* http_fetch over *conn: send t->keep_request on conn's socket when one is
 * open, else on a new connection; read the response to exactly its
 * Content-Length or its last chunk, and check it. The socket stays open in
 * *conn when the response was whole and good and the server keeps the
 * connection (no "Connection: close", not HTTP/1.0, a body not ended by
 * the server closing); otherwise it is closed (with a reset) and conn->fd is
 * -1. When a reused socket fails before a byte of the response (the server
 * closed it, or a reset: not a timeout), the request is made once more on a
 * new connection (res->reconnected). One deadline, t->timeout, covers it all.
 * Returns 0 or a negative code; *res is filled either way. */
int http_fetch_keep(const http_io *io, const http_target *t, http_conn *conn, char *buf, size_t buflen,
                    http_result *res);

/* Close a kept connection, if open, as io closes its connections (a
 * reset, see http_fetch; a TLS flavour frees the session too); conn->fd
 * becomes -1. */
void http_conn_close(const http_io *io, http_conn *conn);

/* A message for a code of http_fetch: HTTP_E*, or strerror of a negative errno. */
const char *http_strerror(int err);

#endif /* GREEN_HTTP_H */
