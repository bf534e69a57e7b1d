/* examples/fetch.c: the program that started greenbench, in C on libgreen.
 * The original fetched URLs with gevent.spawn + gevent.joinall, then the
 * same with Pool(2).map. This does both: one green thread per URL doing an
 * HTTP/1.1 GET with green I/O, joined with green_joinall; then the same
 * URLs through a pool of 2, each line saying how many fetches are in flight.
 *
 * Usage: greenbench-fetch [--timeout=SECONDS] [--pool=K] URL...
 * Only http:// URLs: https:// ones fail with "not supported yet" until
 * libgreen has TLS. Exit status 0 if every fetch succeeded, 1 if any failed,
 * 2 on a usage error. */
#include "green.h"

#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct fetch_job {
    const char *url;
    long bytes;             /* Body bytes received. */
    int failed;
    char error[256];
} fetch_job;

static double timeout = 10.0;
static int in_flight, most_in_flight, show_in_flight;

static void job_fail(fetch_job *job, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(job->error, sizeof job->error, fmt, ap);
    va_end(ap);
    job->failed = 1;
}

/* http://host[:port][/path]; host may be [v6]. Returns 0 or -1 (job->error set). */
static int parse_url(fetch_job *job, char *host, size_t hostlen, char *port, size_t portlen,
                     const char **path)
{
    const char *u = job->url;
    if (strncasecmp(u, "https://", 8) == 0) {
        job_fail(job, "https is not supported yet (libgreen has no TLS); use http://");
        return -1;
    }
    if (strncasecmp(u, "http://", 7) != 0) {
        job_fail(job, "not an http:// URL");
        return -1;
    }
    u += 7;
    const char *end = u + strcspn(u, "/?#");
    const char *h = u, *hend, *p = NULL;
    if (*h == '[') {
        hend = memchr(h, ']', (size_t)(end - h));
        if (hend == NULL) {
            job_fail(job, "bad IPv6 host in URL");
            return -1;
        }
        h++;
        p = hend + 1 < end && hend[1] == ':' ? hend + 2 : NULL;
    } else {
        hend = memchr(h, ':', (size_t)(end - h));
        if (hend != NULL)
            p = hend + 1;
        else
            hend = end;
    }
    size_t hl = (size_t)(hend - h), pl = p != NULL ? (size_t)(end - p) : 0;
    if (hl == 0 || hl >= hostlen || pl >= portlen) {
        job_fail(job, "bad host or port in URL");
        return -1;
    }
    memcpy(host, h, hl);
    host[hl] = '\0';
    if (pl > 0) {
        memcpy(port, p, pl);
        port[pl] = '\0';
    } else {
        snprintf(port, portlen, "80");
    }
    *path = *end == '/' ? end : "/";
    return 0;
}

static int connect_to(fetch_job *job, const char *host, const char *port)
{
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
    struct addrinfo *res = NULL;
    int err = green_getaddrinfo(host, port, &hints, &res);
    if (err != 0) {
        job_fail(job, "%s: %s", host, green_strerror(err));
        return -1;
    }
    int fd = -1;
    for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            err = -errno;
            continue;
        }
        err = green_connect(fd, ai->ai_addr, ai->ai_addrlen, timeout);
        if (err == 0)
            break;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0)
        job_fail(job, "connect to %s port %s: %s", host, port, green_strerror(err));
    return fd;
}

/* Streaming decoder of a chunked body: counts the data bytes. */
typedef struct chunked {
    enum { CH_SIZE, CH_EXT, CH_DATA, CH_DATA_END, CH_TRAILER, CH_DONE, CH_BAD } state;
    unsigned long left;
    int digits, trailer_line;
} chunked;

static long chunked_feed(chunked *c, const char *p, size_t n)
{
    long data = 0;
    for (size_t i = 0; i < n && c->state != CH_DONE && c->state != CH_BAD; i++) {
        char ch = p[i];
        switch (c->state) {
        case CH_SIZE: {
            int v = ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
                    : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10 : -1;
            if (v >= 0 && c->digits < 15) {
                c->left = c->left * 16 + (unsigned long)v;
                c->digits++;
            } else if (ch == ';' || ch == ' ' || ch == '\r') {
                c->state = CH_EXT;
            } else if (ch == '\n') {
                goto size_done;
            } else {
                c->state = CH_BAD;
            }
            break;
        }
        case CH_EXT:
            if (ch == '\n')
                goto size_done;
            break;
        size_done:
            if (c->digits == 0) {
                c->state = CH_BAD;
            } else if (c->left == 0) {
                c->state = CH_TRAILER;
                c->trailer_line = 0;
            } else {
                c->state = CH_DATA;
            }
            break;
        case CH_DATA: {
            size_t take = n - i < c->left ? n - i : c->left;
            data += (long)take;
            c->left -= take;
            i += take - 1;
            if (c->left == 0)
                c->state = CH_DATA_END;
            break;
        }
        case CH_DATA_END:
            if (ch == '\n') {
                c->state = CH_SIZE;
                c->digits = 0;
            }
            break;
        case CH_TRAILER:
            if (ch == '\n') {
                if (c->trailer_line == 0)
                    c->state = CH_DONE;
                c->trailer_line = 0;
            } else if (ch != '\r') {
                c->trailer_line++;
            }
            break;
        default:
            break;
        }
    }
    return data;
}

static void fetch_http(fetch_job *job)
{
    char host[256], port[16];
    const char *path;
    if (parse_url(job, host, sizeof host, port, sizeof port, &path) != 0)
        return;
    int fd = connect_to(job, host, port);
    if (fd < 0)
        return;
    char req[2048];
    const char *hostfmt = strchr(host, ':') != NULL ? "[%s]" : "%s";
    char hosthdr[300];
    snprintf(hosthdr, sizeof hosthdr, hostfmt, host);
    int len = snprintf(req, sizeof req,
                       "GET %s HTTP/1.1\r\nHost: %s%s%s\r\nUser-Agent: greenbench-fetch/0.1\r\n"
                       "Accept: */*\r\nConnection: close\r\n\r\n",
                       path, hosthdr, strcmp(port, "80") != 0 ? ":" : "",
                       strcmp(port, "80") != 0 ? port : "");
    if (len <= 0 || (size_t)len >= sizeof req) {
        job_fail(job, "URL too long");
        close(fd);
        return;
    }
    ssize_t sent = green_send(fd, req, (size_t)len, 0, timeout);
    if (sent != len) {
        job_fail(job, "sending the request: %s", green_strerror(sent < 0 ? (int)sent : GREEN_ETIMEDOUT));
        close(fd);
        return;
    }

    /* Headers: read until the blank line. Buffers live on the heap: a green
     * thread's stack is 64 KiB by default. */
    enum { HEAD_MAX = 16384, BUF_SIZE = 16384 };
    char *head = malloc(HEAD_MAX + BUF_SIZE);
    if (head == NULL) {
        job_fail(job, "out of memory");
        close(fd);
        return;
    }
    char *buf = head + HEAD_MAX;
    size_t got = 0;
    char *body = NULL;
    while (body == NULL) {
        if (got == HEAD_MAX - 1) {
            job_fail(job, "response headers too long");
            goto out;
        }
        ssize_t n = green_recv(fd, head + got, HEAD_MAX - 1 - got, 0, timeout);
        if (n <= 0) {
            job_fail(job, "%s", n == 0 ? "connection closed before the response headers"
                                       : green_strerror((int)n));
            goto out;
        }
        head[got + (size_t)n] = '\0';
        got += (size_t)n;
        char *crlf = memmem(head, got, "\r\n\r\n", 4);
        if (crlf != NULL)
            body = crlf + 4;
    }
    int status = 0;
    if (sscanf(head, "HTTP/%*d.%*d %d", &status) != 1) {
        job_fail(job, "not an HTTP response");
        goto out;
    }
    long content_length = -1;
    int is_chunked = 0;
    for (char *line = strstr(head, "\r\n"); line != NULL && line + 2 < body; line = strstr(line + 2, "\r\n")) {
        char *h = line + 2;
        if (strncasecmp(h, "Content-Length:", 15) == 0)
            content_length = strtol(h + 15, NULL, 10);
        else if (strncasecmp(h, "Transfer-Encoding:", 18) == 0 && strcasestr(h, "chunked") != NULL &&
                 strcasestr(h, "chunked") < strstr(h, "\r\n"))
            is_chunked = 1;
    }

    /* Body: count it. */
    chunked ch = { .state = CH_SIZE };
    size_t in_head = got - (size_t)(body - head);
    long bytes = is_chunked ? chunked_feed(&ch, body, in_head) : (long)in_head;
    for (;;) {
        if (is_chunked ? (ch.state == CH_DONE || ch.state == CH_BAD)
                       : (content_length >= 0 && bytes >= content_length))
            break;
        ssize_t n = green_recv(fd, buf, BUF_SIZE, 0, timeout);
        if (n < 0) {
            job_fail(job, "reading the body: %s", green_strerror((int)n));
            break;
        }
        if (n == 0) {
            if (is_chunked || content_length >= 0)
                job_fail(job, "connection closed after %ld body bytes", bytes);
            break;
        }
        bytes += is_chunked ? chunked_feed(&ch, buf, (size_t)n) : n;
    }
    if (job->failed)
        goto out;
    if (is_chunked && ch.state == CH_BAD)
        job_fail(job, "bad chunked encoding");
    else if (status < 200 || status > 299)
        job_fail(job, "HTTP status %d", status);
    else
        job->bytes = bytes;
out:
    free(head);
    close(fd);
}

static void *fetch(void *arg)
{
    fetch_job *job = arg;
    in_flight++;
    if (in_flight > most_in_flight)
        most_in_flight = in_flight;
    if (show_in_flight)
        printf("visit ---> %s   (in flight: %d)\n", job->url, in_flight);
    else
        printf("visit ---> %s\n", job->url);
    fflush(stdout);
    job->failed = 0;
    job->bytes = 0;
    fetch_http(job);
    if (job->failed)
        printf("%s failed: %s\n", job->url, job->error);
    else
        printf("%ld bytes received from %s.\n", job->bytes, job->url);
    fflush(stdout);
    in_flight--;
    return job;
}

static int usage(void)
{
    fprintf(stderr, "usage: greenbench-fetch [--timeout=SECONDS] [--pool=K] URL...\n");
    return 2;
}

int main(int argc, char **argv)
{
    size_t pool_k = 2;
    int first = 1;
    for (; first < argc && strncmp(argv[first], "--", 2) == 0; first++) {
        if (strncmp(argv[first], "--timeout=", 10) == 0)
            timeout = strtod(argv[first] + 10, NULL);
        else if (strncmp(argv[first], "--pool=", 7) == 0)
            pool_k = (size_t)strtoul(argv[first] + 7, NULL, 10);
        else if (strcmp(argv[first], "--") == 0) {
            first++;
            break;
        } else
            return usage();
    }
    size_t n = (size_t)(argc - first);
    if (n == 0 || pool_k == 0 || !(timeout > 0))
        return usage();

    int err = green_init(NULL);
    if (err != 0) {
        fprintf(stderr, "greenbench-fetch: green_init: %s\n", green_strerror(err));
        return 1;
    }
    fetch_job *jobs = calloc(n, sizeof *jobs);
    green_thread **gs = calloc(n, sizeof *gs);
    void **args = calloc(n, sizeof *args), **results = calloc(n, sizeof *results);
    if (jobs == NULL || gs == NULL || args == NULL || results == NULL)
        return 1;
    for (size_t i = 0; i < n; i++) {
        jobs[i].url = argv[first + (int)i];
        args[i] = &jobs[i];
    }

    /* 1. One green thread per URL, then joinall (gevent.spawn + joinall). */
    printf("== spawn + joinall: %zu green threads (%s + %s)\n", n, green_backend_context(),
           green_backend_loop());
    double t0 = green_now();
    size_t spawned = 0;
    for (size_t i = 0; i < n; i++) {
        err = green_spawn(&gs[i], fetch, &jobs[i]);
        if (err != 0) {
            fprintf(stderr, "greenbench-fetch: spawn: %s\n", green_strerror(err));
            break;
        }
        spawned++;
    }
    int ended = green_joinall(gs, spawned, GREEN_FOREVER);
    for (size_t i = 0; i < spawned; i++)
        green_release(gs[i]);
    int failed = 0;
    for (size_t i = 0; i < n; i++)
        failed += jobs[i].failed;
    printf("== joinall: %d of %zu ended, %d failed, %.3f s, at most %d in flight\n", ended, n, failed,
           green_now() - t0, most_in_flight);

    /* 2. The same through a pool (Pool(2).map). */
    printf("== pool of %zu: map over %zu URLs\n", pool_k, n);
    green_pool *pool;
    err = green_pool_new(&pool, pool_k);
    if (err != 0)
        return 1;
    most_in_flight = 0;
    show_in_flight = 1;
    t0 = green_now();
    err = green_pool_map(pool, fetch, args, results, n);
    int failed_pool = 0;
    for (size_t i = 0; i < n; i++)
        failed_pool += jobs[i].failed;
    printf("== pool map: %s, %d failed, %.3f s, at most %d in flight (pool size %zu)\n",
           err == 0 ? "done" : green_strerror(err), failed_pool, green_now() - t0, most_in_flight, pool_k);
    green_pool_free(pool);
    free(jobs);
    free(gs);
    free(args);
    free(results);
    green_fini();
    return failed || failed_pool || err != 0 ? 1 : 0;
}
