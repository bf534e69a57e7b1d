/* workloads/server/request.c: greenbench-server's request parser (request.h). */
#include "server/request.h"

#include "http/header.h"

#include <stddef.h>
#include <string.h>
#include <strings.h>

size_t gb_request_head_end(const char *in, size_t len)
{
    /* Line by line, not a search for "\r\n\r\n" and then "\n\n" in the
     * whole buffer: with pipelining that finds a later request's end. */
    const char *line = in, *end = in + len;
    for (;;) {
        if (line < end && line[0] == '\n')
            return (size_t)(line + 1 - in);
        if (end - line >= 2 && line[0] == '\r' && line[1] == '\n')
            return (size_t)(line + 2 - in);
        const char *nl = memchr(line, '\n', (size_t)(end - line));
        if (nl == NULL)
            return 0;
        line = nl + 1;
    }
}

bool gb_parse_num(const char *s, const char *end, long long max, long long *out)
{
    if (s == end)
        return false;
    long long v = 0;
    for (; s < end; s++) {
        if (*s < '0' || *s > '9' || v > max / 10)
            return false;
        v = v * 10 + (*s - '0');
    }
    if (v > max)
        return false;
    *out = v;
    return true;
}

/* Per-request overrides from the query: delay_ms=D, size=BYTES. */
static bool parse_query(const char *q, const char *end, long long *delay_ms, long long *size)
{
    while (q < end) {
        const char *amp = memchr(q, '&', (size_t)(end - q)), *stop = amp ? amp : end;
        const char *eq = memchr(q, '=', (size_t)(stop - q));
        if (eq != NULL) {
            size_t klen = (size_t)(eq - q);
            if ((klen == 8 && (memcmp(q, "delay_ms", 8) == 0 || memcmp(q, "delay-ms", 8) == 0))) {
                if (!gb_parse_num(eq + 1, stop, GB_MAX_DELAY_MS, delay_ms))
                    return false;
            } else if (klen == 4 && memcmp(q, "size", 4) == 0) {
                if (!gb_parse_num(eq + 1, stop, GB_MAX_SIZE, size))
                    return false;
            }
        }
        q = stop + 1;
    }
    return true;
}

static bool has_token(const char *v, const char *end, const char *token)
{
    size_t n = strlen(token);
    for (; v + n <= end; v++) {
        if (strncasecmp(v, token, n) == 0)
            return true;
    }
    return false;
}

static void reject(gb_request *r, int status, const char *why)
{
    r->status = status;
    r->why = why;
    r->keep_alive = false;
}

void gb_request_parse(const char *in, size_t head_len, gb_request *r)
{
    r->status = 200;
    r->why = NULL;
    r->head_only = false;
    r->window = false;
    r->content_length = 0;

    /* Request line: METHOD SP TARGET SP HTTP/1.x. The head ends with '\n'. */
    const char *s = in, *stop = in + head_len;
    const char *eol = memchr(s, '\n', head_len);
    const char *line_end = eol > s && eol[-1] == '\r' ? eol - 1 : eol;
    const char *sp1 = memchr(s, ' ', (size_t)(line_end - s));
    const char *sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(line_end - sp1 - 1)) : NULL;
    if (sp1 == NULL || sp2 == NULL || line_end - sp2 - 1 != 8 || strncmp(sp2 + 1, "HTTP/1.", 7) != 0) {
        reject(r, 400, "not an HTTP/1.x request line");
        return;
    }
    r->head_only = sp1 - s == 4 && memcmp(s, "HEAD", 4) == 0;
    bool get = sp1 - s == 3 && memcmp(s, "GET", 3) == 0;
    r->keep_alive = sp2[8] != '0';
    for (const char *line = eol + 1; line < stop;) {
        const char *nl = memchr(line, '\n', (size_t)(stop - line));
        if (nl == NULL)
            break;
        const char *le = nl > line && nl[-1] == '\r' ? nl - 1 : nl, *v;
        if (http_header_is(line, le, "Connection", &v)) {
            if (has_token(v, le, "close"))
                r->keep_alive = false;
            else if (has_token(v, le, "keep-alive"))
                r->keep_alive = true;
        } else if (http_header_is(line, le, "Content-Length", &v)) {
            if (!gb_parse_num(v, le, GB_MAX_SIZE, &r->content_length)) {
                reject(r, 400, "bad Content-Length");
                return;
            }
        }
        line = nl + 1;
    }
    if (!get && !r->head_only) {
        reject(r, 405, "only GET and HEAD are served");
        return;
    }
    const char *q = memchr(sp1 + 1, '?', (size_t)(sp2 - sp1 - 1));
    const char *path_end = q != NULL ? q : sp2;
    if (path_end - (sp1 + 1) == (ptrdiff_t)strlen(GB_WINDOW_PATH) &&
        memcmp(sp1 + 1, GB_WINDOW_PATH, strlen(GB_WINDOW_PATH)) == 0) {
        /* Taking a window starts the next one: not what a HEAD may do. */
        r->window = true;
        if (r->head_only)
            reject(r, 405, "the window (" GB_WINDOW_PATH ") is GET only");
        return;
    }
    if (q != NULL && !parse_query(q + 1, sp2, &r->delay_ms, &r->size))
        reject(r, 400, "bad query: delay_ms and size take whole numbers (delay_ms up to 3600000, size up to 2^40)");
}
