/* workloads/server/request.h: greenbench-server's request parser, apart
 * from its sockets so that tests and fuzz targets can call it on bytes.
 *
 * The server finds a head with gb_request_head_end, parses it in place with
 * gb_request_parse (no copy, no allocation), answers, and skips the body
 * that content_length announced. */
#ifndef GREEN_SERVER_REQUEST_H
#define GREEN_SERVER_REQUEST_H

#include <stdbool.h>
#include <stddef.h>

#define GB_MAX_SIZE (1LL << 40)                 /* Largest body the server sends. */
#define GB_MAX_DELAY_MS (3600LL * 1000)         /* Longest delay it waits. */
#define GB_WINDOW_PATH "/__greenbench/window"   /* The window endpoint (server.c). */

/* What one request asks for. */
typedef struct gb_request {
    int status;                 /* 200, or the error to answer: 400 or 405. */
    const char *why;            /* With an error: what was wrong, for its body. */
    bool head_only;             /* HEAD: the answer has no body. */
    bool keep_alive;            /* The connection stays open after the answer. */
    bool window;                /* The target's path is GB_WINDOW_PATH: the server's counters, not
                                   a delayed body (GET only: a HEAD of it is a 405). */
    long long content_length;   /* Body bytes after the head, to skip (with 200 or 405). */
    long long delay_ms, size;   /* In: the server's defaults; out: the query's overrides. */
} gb_request;

/* The length of the request head at the start of [in, in + len): up to and
 * including its first blank line, whichever line ending ("\r\n" or "\n")
 * each line uses. 0: no blank line yet. */
size_t gb_request_head_end(const char *in, size_t len);

/* Parse the head [in, in + head_len), as gb_request_head_end found it, into
 * *r (delay_ms and size set by the caller to the defaults). A GET of
 * GB_WINDOW_PATH (any query ignored) is a 200 with window set; a HEAD of it
 * is a 405 with window set. */
void gb_request_parse(const char *in, size_t head_len, gb_request *r);

/* A non-negative decimal number in [s, end), at most max: true and *out. */
bool gb_parse_num(const char *s, const char *end, long long max, long long *out);

#endif /* GREEN_SERVER_REQUEST_H */
