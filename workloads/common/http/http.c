/* workloads/common/http/http.c: URL, request, response parser and fetch driver of
 * the cells' HTTP/1.1 client (http.h); no system call but through http_io. */
#include "http.h"
#include "header.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- the target ---- */

/* The len bytes at text, a URL's port after its ':', as a number from 1 to
 * 65535 into port (leading zeros dropped), as getaddrinfo takes it. Port 0
 * connects nowhere, and a larger number must not wrap around to another
 * server's port (Python's socket module takes it modulo 65536). Returns 0,
 * or -1 with why in err, naming the port and the range. */
static int parse_port(const char *text, size_t len, char port[6], char *err, size_t errlen)
{
    if (len == 0) {
        snprintf(err, errlen, "empty port after ':' (1-65535)");
        return -1;
    }
    if (strspn(text, "0123456789") < len) {
        snprintf(err, errlen, "port '%.*s' is not a number (1-65535)", (int)len, text);
        return -1;
    }
    size_t i = 0;
    while (i + 1 < len && text[i] == '0')
        i++;
    unsigned value = 0;
    for (size_t j = i; j < len && value <= 65535; j++)
        value = value * 10 + (unsigned)(text[j] - '0');
    if (value == 0 || value > 65535) {
        snprintf(err, errlen, "port %.*s is out of range (1-65535)", (int)len, text);
        return -1;
    }
    snprintf(port, 6, "%u", value);
    return 0;
}

int http_target_parse(http_target *t, const char *url, long long expect_size, double timeout,
                      char *err, size_t errlen)
{
    memset(t, 0, sizeof *t);
    t->expect_size = expect_size;
    t->timeout = timeout;
    if (strlen(url) >= sizeof t->url) {
        snprintf(err, errlen, "longer than %zu bytes", sizeof t->url - 1);
        return -1;
    }
    strcpy(t->url, url);
    t->tls = strncasecmp(url, "https://", 8) == 0;
    if (!t->tls && strncasecmp(url, "http://", 7) != 0) {
        snprintf(err, errlen, "expected http://HOST[:PORT][/PATH] or https://");
        return -1;
    }
    const char *authority = url + (t->tls ? 8 : 7);
    size_t alen = strcspn(authority, "/?#");
    /* The fragment stays with the client; a query needs a path before it. */
    const char *path = authority + alen;
    int path_len = (int)strcspn(path, "#");
    const char *root = *path == '/' ? "" : "/";
    const char *colon;
    if (alen == 0 || alen >= sizeof t->host) {
        snprintf(err, errlen, "no host, or a host too long");
        return -1;
    }
    if (authority[0] == '[') {                  /* [IPv6]:port */
        const char *close = memchr(authority, ']', alen);
        if (close == NULL) {
            snprintf(err, errlen, "unclosed '[' in the host");
            return -1;
        }
        memcpy(t->host, authority + 1, (size_t)(close - authority - 1));
        colon = close + 1 < authority + alen ? close + 1 : NULL;
        if (colon != NULL && *colon != ':') {
            snprintf(err, errlen, "'%c' after the ']' of the host", *colon);
            return -1;
        }
    } else {
        colon = memchr(authority, ':', alen);
        memcpy(t->host, authority, colon ? (size_t)(colon - authority) : alen);
    }
    if (t->host[0] == '\0') {
        snprintf(err, errlen, "no host, or a host too long");
        return -1;
    }
    strcpy(t->port, t->tls ? "443" : "80");
    if (colon != NULL &&
        parse_port(colon + 1, (size_t)(authority + alen - colon - 1), t->port, err, errlen) != 0)
        return -1;
    /* Both requests, made once: a fetch only sends bytes. */
    static const char *const connection[2] = { "close", "keep-alive" };
    char *request[2] = { t->request, t->keep_request };
    size_t *request_len[2] = { &t->request_len, &t->keep_request_len };
    for (int i = 0; i < 2; i++) {
        int n = snprintf(request[i], sizeof t->request,
                         "GET %s%.*s HTTP/1.1\r\n"
                         "Host: %.*s\r\n"
                         "User-Agent: greenbench\r\n"
                         "Accept: */*\r\n"
                         "Connection: %s\r\n"
                         "\r\n",
                         root, path_len, path, (int)alen, authority, connection[i]);
        if (n < 0 || (size_t)n >= sizeof t->request) {
            snprintf(err, errlen, "the request would be longer than %zu bytes", sizeof t->request);
            return -1;
        }
        *request_len[i] = (size_t)n;
    }
    return 0;
}

const struct addrinfo http_addr_hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                                          .ai_flags = AI_NUMERICSERV };

void http_target_set_addr(http_target *t, const struct addrinfo *ai)
{
    memcpy(&t->addr, ai->ai_addr, ai->ai_addrlen);
    t->addrlen = ai->ai_addrlen;
}

int http_target_init(http_target *t, const char *url, long long expect_size, double timeout,
                     char *err, size_t errlen)
{
    char why[256];
    if (http_target_parse(t, url, expect_size, timeout, why, sizeof why) != 0) {
        snprintf(err, errlen, "--url=%.200s: %s", url, why);
        return -1;
    }
    struct addrinfo *res;
    int gai = getaddrinfo(t->host, t->port, &http_addr_hints, &res);
    if (gai != 0) {
        snprintf(err, errlen, "--url=%s: cannot resolve '%s': %s", url, t->host, gai_strerror(gai));
        return -1;
    }
    http_target_set_addr(t, res);
    freeaddrinfo(res);
    return 0;
}

/* ---- the response parser ---- */

/* The decoder's states, byte by byte through RFC 9112's chunked-body; a
 * line may end in LF or CRLF, as in the head. */
enum {
    CHUNK_SIZE_FIRST,           /* The first hex digit of a chunk size. */
    CHUNK_SIZE,                 /* More digits, or what ends them. */
    CHUNK_EXT,                  /* Extensions, skipped to the end of the line. */
    CHUNK_SIZE_LF,              /* The LF after the size line's CR. */
    CHUNK_DATA,
    CHUNK_DATA_CR,              /* The line end after the data. */
    CHUNK_DATA_LF,
    CHUNK_TRAILER,              /* The start of a trailer line, or the final blank line. */
    CHUNK_TRAILER_LINE,         /* A trailer field, skipped. */
    CHUNK_END_LF,               /* The LF of the final blank line's CR. */
    CHUNK_DONE
};

void http_parser_init(http_parser *p)
{
    http_parser_init_head(p, p->head_room, sizeof p->head_room);
}

void http_parser_init_head(http_parser *p, char *head, size_t cap)
{
    p->head = head;
    p->head_cap = cap;
    p->head_len = 0;
    p->interim_bytes = 0;
    p->head_done = false;
    p->status = 0;
    p->content_length = -1;
    p->body_bytes = 0;
    p->server_closes = false;
    p->chunked = false;
    p->chunk_state = CHUNK_SIZE_FIRST;
    p->chunk_left = 0;
}

/* Parse p->head: the status line and the headers that matter. */
static int parse_head(http_parser *p)
{
    const char *s = p->head, *end = p->head + p->head_len;
    if (p->head_len < 13 || strncmp(s, "HTTP/1.", 7) != 0 || s[8] != ' ')
        return HTTP_EBADRESPONSE;
    int status = 0;
    for (int i = 9; i < 12; i++) {
        if (s[i] < '0' || s[i] > '9')
            return HTTP_EBADRESPONSE;
        status = status * 10 + (s[i] - '0');
    }
    if (s[12] != ' ' && s[12] != '\r' && s[12] != '\n') /* Three digits, not "2000". */
        return HTTP_EBADRESPONSE;
    p->status = status;
    p->server_closes = s[7] == '0';     /* HTTP/1.0 closes unless told otherwise. */
    bool transfer_encoding = false;
    const char *line = memchr(s, '\n', (size_t)(end - s));
    while (line != NULL && ++line < end) {
        const char *eol = memchr(line, '\n', (size_t)(end - line));
        if (eol == NULL)
            break;
        const char *stop = eol > line && eol[-1] == '\r' ? eol - 1 : eol, *v;
        if (http_header_is(line, stop, "Content-Length", &v)) {
            long long len = 0;
            if (v == stop)
                return HTTP_EBADLENGTH;
            for (; v < stop && *v >= '0' && *v <= '9'; v++) {
                if (len > (1LL << 50))
                    return HTTP_EBADLENGTH;
                len = len * 10 + (*v - '0');
            }
            if (v != stop && *v != ' ' && *v != '\t')
                return HTTP_EBADLENGTH;
            p->content_length = len;
        } else if (http_header_is(line, stop, "Transfer-Encoding", &v)) {
            /* The body is chunked only if chunked is its last coding; with
             * any other last, it runs to end of file (RFC 9112, 6.3). */
            const char *e = stop;
            while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
                e--;
            transfer_encoding = true;
            p->chunked = e - v >= 7 && strncasecmp(e - 7, "chunked", 7) == 0 &&
                         (e - 7 == v || e[-8] == ',' || e[-8] == ' ' || e[-8] == '\t');
        } else if (http_header_is(line, stop, "Connection", &v)) {
            if ((size_t)(stop - v) >= 5 && strncasecmp(v, "close", 5) == 0)
                p->server_closes = true;
            else if ((size_t)(stop - v) >= 10 && strncasecmp(v, "keep-alive", 10) == 0)
                p->server_closes = false;
        }
        line = eol;
    }
    if (transfer_encoding)
        p->content_length = -1;         /* Transfer-Encoding overrides it. */
    return 0;
}

/* ---- chunked bodies ---- */

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decode the next len bytes of a chunked body, counting its data in
 * p->body_bytes. Returns as http_parser_feed does. */
static int chunked_feed(http_parser *p, const char *data, size_t len)
{
    const char *end = data + len;
    for (const char *c = data; c < end; c++) {
        switch (p->chunk_state) {
        case CHUNK_SIZE_FIRST:
        case CHUNK_SIZE: {
            int d = hex_digit(*c);
            if (d >= 0) {
                if (p->chunk_left >> 56 != 0)
                    return HTTP_EBADCHUNK;      /* Far beyond any body we could read. */
                p->chunk_left = p->chunk_left << 4 | (unsigned)d;
                p->chunk_state = CHUNK_SIZE;
                break;
            }
            if (p->chunk_state == CHUNK_SIZE_FIRST)
                return HTTP_EBADCHUNK;
            if (*c == ';' || *c == ' ' || *c == '\t')
                p->chunk_state = CHUNK_EXT;
            else if (*c == '\r')
                p->chunk_state = CHUNK_SIZE_LF;
            else if (*c == '\n')
                goto size_line_done;
            else
                return HTTP_EBADCHUNK;
            break;
        }
        case CHUNK_EXT:
            if (*c == '\n')
                goto size_line_done;
            break;
        case CHUNK_SIZE_LF:
            if (*c != '\n')
                return HTTP_EBADCHUNK;
        size_line_done:
            p->chunk_state = p->chunk_left == 0 ? CHUNK_TRAILER : CHUNK_DATA;
            break;
        case CHUNK_DATA: {
            size_t take = (size_t)(end - c) < p->chunk_left ? (size_t)(end - c) : (size_t)p->chunk_left;
            p->body_bytes += (long long)take;
            p->chunk_left -= take;
            c += take - 1;
            if (p->chunk_left == 0)
                p->chunk_state = CHUNK_DATA_CR;
            break;
        }
        case CHUNK_DATA_CR:
        case CHUNK_DATA_LF:
            if (*c == '\r' && p->chunk_state == CHUNK_DATA_CR)
                p->chunk_state = CHUNK_DATA_LF;
            else if (*c == '\n')
                p->chunk_state = CHUNK_SIZE_FIRST;
            else
                return HTTP_EBADCHUNK;
            break;
        case CHUNK_TRAILER:
            p->chunk_state = *c == '\n' ? CHUNK_DONE : *c == '\r' ? CHUNK_END_LF : CHUNK_TRAILER_LINE;
            break;
        case CHUNK_TRAILER_LINE:
            if (*c == '\n')
                p->chunk_state = CHUNK_TRAILER;
            break;
        case CHUNK_END_LF:
            if (*c != '\n')
                return HTTP_EBADCHUNK;
            p->chunk_state = CHUNK_DONE;
            break;
        default:
            return HTTP_ETOOLONG;               /* Bytes past the last chunk. */
        }
    }
    return p->chunk_state == CHUNK_DONE;
}

static int body_done(const http_parser *p)
{
    if (p->content_length < 0)
        return 0;
    if (p->body_bytes > p->content_length)
        return HTTP_ETOOLONG;
    return p->body_bytes == p->content_length;
}

/* The length of head[0, len) up to and including its first blank line
 * ("\n" or "\r\n" at the start of a line, whichever ending the lines
 * before it used), looking only at the '\n's from `from` on; 0 if none. */
static size_t head_end(const char *head, size_t from, size_t len)
{
    for (const char *nl = head + from; (nl = memchr(nl, '\n', (size_t)(head + len - nl))) != NULL; nl++) {
        size_t i = (size_t)(nl - head);
        if (i == 0 || head[i - 1] == '\n' || (head[i - 1] == '\r' && (i == 1 || head[i - 2] == '\n')))
            return i + 1;
    }
    return 0;
}

/* Forget an interim response's head: the next one is read into its place. */
static void next_head(http_parser *p)
{
    p->interim_bytes += p->head_len;
    p->head_len = 0;
    p->head_done = false;
    p->status = 0;
    p->content_length = -1;
    p->server_closes = false;
    p->chunked = false;
}

int http_parser_feed(http_parser *p, const char *data, size_t len)
{
    while (!p->head_done) {
        /* Copy into head until the blank line. The '\n's of earlier feeds
         * ended no blank line: look from the first new byte (a blank line
         * it ends may start in an earlier feed). Not a search for
         * "\r\n\r\n" before "\n\n": that passes an LF-only head's end. */
        size_t room = p->head_cap - p->head_len, take = len < room ? len : room;
        size_t from = p->head_len;
        memcpy(p->head + p->head_len, data, take);
        p->head_len += take;
        size_t end = head_end(p->head, from, p->head_len);
        if (end == 0)
            return p->head_len == p->head_cap ? HTTP_EHEADTOOBIG : 0;
        /* The bytes of this feed past the head are body. */
        size_t head_here = end - (p->head_len - take);
        data += head_here;
        len -= head_here;
        p->head_len = end;
        p->head_done = true;
        int err = parse_head(p);
        if (err != 0)
            return err;
        /* An interim response (100 Continue, 103 Early Hints, which CDNs
         * send unasked) has no body, and the final one follows it (RFC
         * 9110, 15.2). 101 would switch protocols: no request here asks. */
        if (p->status / 100 == 1) {
            if (p->status == 101)
                return HTTP_EBADRESPONSE;
            next_head(p);
        }
    }
    if (p->chunked)
        return chunked_feed(p, data, len);
    p->body_bytes += (long long)len;
    return body_done(p);
}

int http_parser_eof(http_parser *p)
{
    if (p->head_done && !p->chunked && p->content_length < 0)
        return 1;
    return HTTP_ETRUNCATED;
}

/* ---- fetching ---- */

/* End a connection with a reset rather than a FIN. SO_LINGER {1, 0} makes
 * close() send RST, so neither side keeps the connection in TIME_WAIT for
 * 60 s; with tens of thousands of connections per repetition and ~28 000
 * ephemeral ports, TIME_WAIT would otherwise run the ports out across
 * repetitions. Nothing is lost: it is called once every byte the server
 * sent has been read, or the request has failed. */
void http_close_reset(int fd)
{
    struct linger lg = { .l_onoff = 1, .l_linger = 0 };
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(fd);
}

static void io_close(const http_io *io, int fd)
{
    if (io->close != NULL)
        io->close(fd);
    else
        http_close_reset(fd);
}

void http_conn_close(const http_io *io, http_conn *conn)
{
    if (conn->fd >= 0) {
        io_close(io, conn->fd);
        conn->fd = -1;
    }
}

int http_cacert_check(const char *ca_file, char *err, size_t errlen)
{
    if (ca_file == NULL || access(ca_file, R_OK) == 0)
        return 0;
    snprintf(err, errlen, "--cacert=%s: %s", ca_file, strerror(errno));
    return -1;
}

int http_fd_table_init(http_fd_table *t)
{
    if (t->slot != NULL)
        return 0;
    struct rlimit rl;
    size_t n = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY ? (size_t)rl.rlim_cur
                                                                                  : (size_t)1 << 24;
    if (n > (size_t)1 << 24)
        n = (size_t)1 << 24;
    t->slot = calloc(n, sizeof *t->slot);
    if (t->slot == NULL)
        return -ENOMEM;
    t->n = n;
    return 0;
}

void http_fd_table_free(http_fd_table *t)
{
    free(t->slot);
    *t = (http_fd_table){ 0 };
}

int http_fd_table_put(http_fd_table *t, int fd, void *v)
{
    if (fd < 0 || (size_t)fd >= t->n)
        return -EMFILE;
    t->slot[fd] = v;
    return 0;
}

/* One exchange on fd: send the request, feed the response to p until it is
 * complete. Returns 0 or a negative code; res->stage says how far it got
 * (HTTP_AT_SEND, or HTTP_AT_HEAD once sent: the caller tells the head from
 * the body by p). *heard: a byte of the response came; *at_eof: the server
 * closed the connection (which may have completed the response). */
static int exchange(const http_io *io, int fd, const char *request, size_t request_len, char *buf,
                    size_t buflen, double deadline, http_parser *p, http_result *res, bool *heard,
                    bool *at_eof)
{
    res->stage = HTTP_AT_SEND;
    ssize_t sent = io->send(fd, request, request_len, deadline);
    if (sent < 0)
        return (int)sent;
    res->stage = HTTP_AT_HEAD;
    for (;;) {
        ssize_t got = io->recv(fd, buf, buflen, deadline);
        if (got < 0)
            return (int)got;
        *heard |= got > 0;
        *at_eof = got == 0;
        int r = got == 0 ? http_parser_eof(p) : http_parser_feed(p, buf, (size_t)got);
        if (r != 0)
            return r < 0 ? r : 0;
    }
}

/* http_fetch (conn NULL: a new connection, "Connection: close", closed
 * after) and http_fetch_keep (conn: reused and left open when it can be). */
static int fetch(const http_io *io, const http_target *t, http_conn *conn, char *buf, size_t buflen,
                 http_result *res)
{
    double deadline = io->now() + t->timeout;
    http_parser p;
    /* The cells' heads fit the parser's own room; a larger one (the seed
     * program's) lives on this frame. */
    char big_head[t->max_head > HTTP_MAX_HEAD ? t->max_head : 1];
    const char *request = conn != NULL ? t->keep_request : t->request;
    size_t request_len = conn != NULL ? t->keep_request_len : t->request_len;
    res->status = 0;
    res->stage = HTTP_AT_CONNECT;
    res->body_bytes = 0;
    res->connections = 0;
    res->reconnected = false;
    int fd = conn != NULL ? conn->fd : -1;
    bool reused = fd >= 0, heard, at_eof;
    int err;
    for (;;) {
        if (fd < 0) {
            res->stage = HTTP_AT_CONNECT;
            fd = io->connect(t, deadline);
            if (fd < 0) {
                if (conn != NULL)
                    conn->fd = -1;
                return fd;
            }
            res->connections++;
        }
        if (t->max_head > HTTP_MAX_HEAD)
            http_parser_init_head(&p, big_head, sizeof big_head);
        else
            http_parser_init(&p);
        heard = at_eof = false;
        err = exchange(io, fd, request, request_len, buf, buflen, deadline, &p, res, &heard, &at_eof);
        /* A kept connection the server has closed meanwhile (or reset)
         * fails before a byte of the response: once, on a new one. A
         * timeout or a kill stays what it is. */
        if (err == 0 || !reused || heard || err == -ETIMEDOUT || err == -ECANCELED)
            break;
        io_close(io, fd);
        fd = -1;
        reused = false;
        res->reconnected = true;
    }
    if (res->stage != HTTP_AT_SEND) {
        res->status = p.status;
        res->stage = p.head_done ? HTTP_AT_BODY : HTTP_AT_HEAD;
        res->body_bytes = p.body_bytes;
    }
    if (err == 0 && p.status != 200)
        err = HTTP_ESTATUS;
    if (err == 0 && t->expect_size >= 0 && p.body_bytes != t->expect_size)
        err = HTTP_ESIZE;
    if (conn != NULL && err == 0 && !p.server_closes && !at_eof) {
        conn->fd = fd;
        return 0;
    }
    io_close(io, fd);
    if (conn != NULL)
        conn->fd = -1;
    return err;
}

int http_fetch(const http_io *io, const http_target *t, char *buf, size_t buflen, http_result *res)
{
    return fetch(io, t, NULL, buf, buflen, res);
}

int http_fetch_keep(const http_io *io, const http_target *t, http_conn *conn, char *buf, size_t buflen,
                    http_result *res)
{
    return fetch(io, t, conn, buf, buflen, res);
}

const char *http_strerror(int err)
{
    switch (err) {
    case 0: return "success";
    case HTTP_EBADRESPONSE: return "not an HTTP/1.x response";
    case HTTP_ESTATUS: return "HTTP status other than 200";
    case HTTP_ESIZE: return "body length differs from --size";
    case HTTP_ETRUNCATED: return "the server closed the connection before the whole body";
    case HTTP_EHEADTOOBIG: return "response header too large";
    case HTTP_EBADCHUNK: return "bad chunked encoding";
    case HTTP_ETOOLONG: return "more body than Content-Length or the last chunk said";
    case HTTP_EBADLENGTH: return "a Content-Length that is not a count of bytes";
    case HTTP_ETLS_VERIFY: return "TLS certificate verification failed";
    case HTTP_ETLS_UNKNOWN_CA: return "TLS verification: unknown certificate authority (see --cacert)";
    case HTTP_ETLS_NAME_MISMATCH: return "TLS verification: certificate name mismatch";
    case HTTP_ETLS_CERT_EXPIRED: return "TLS verification: certificate has expired";
    case HTTP_ETLS_NOT_YET_VALID: return "TLS verification: certificate not yet valid";
    case HTTP_ETLS_PROTOCOL: return "TLS protocol error (or an alert from the server)";
    case HTTP_ETLS_TRUNCATED: return "TLS: the server closed without close_notify (truncated)";
    case HTTP_ETLS_HANDSHAKE_TIMEOUT:
        return "connected, but no TLS handshake by the deadline (is it an https server?)";
    case -ETIMEDOUT: return "timed out";
    default: return err < 0 && err > -4096 ? strerror(-err) : "unknown error";
    }
}
