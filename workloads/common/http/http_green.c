/* workloads/common/http/http_green.c: the green flavour of the cells' HTTP client
 * (http.h): non-blocking sockets through libgreen's cooperative calls, which
 * park the green thread in the hub's loop on EAGAIN / EINPROGRESS. Each
 * call gets what is left of the fetch's deadline as its timeout. Names are
 * resolved by libgreen's resolver too (the cells resolve theirs once, with
 * http_target_init, before timing). */
#include "http.h"

#include "green.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* libgreen's timeout 0 means "try once, do not wait": a deadline already
 * passed must fail instead. */
static int time_left(double deadline, double *left)
{
    *left = deadline - green_now();
    return *left > 0 ? 0 : -ETIMEDOUT;
}

static int green_flavour_connect(const http_target *t, double deadline)
{
    double left;
    if (time_left(deadline, &left) != 0)
        return -ETIMEDOUT;
    int fd = socket(t->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int err = green_connect(fd, (const struct sockaddr *)&t->addr, t->addrlen, left);
    if (err != 0) {
        close(fd);
        return err;
    }
    return fd;
}

static ssize_t green_flavour_send(int fd, const void *buf, size_t len, double deadline)
{
    double left;
    if (time_left(deadline, &left) != 0)
        return -ETIMEDOUT;
    ssize_t n = green_send(fd, buf, len, 0, left);
    if (n >= 0 && (size_t)n < len)
        return -ETIMEDOUT;      /* Stopped part-way: by the timeout or a kill. */
    return n;
}

static ssize_t green_flavour_recv(int fd, void *buf, size_t len, double deadline)
{
    double left;
    if (time_left(deadline, &left) != 0)
        return -ETIMEDOUT;
    return green_recv(fd, buf, len, 0, left);
}

/* ---- https: green_tls over the same sockets ---- */

static green_tls_config *tls_config;
static http_fd_table tls_of_fd;     /* Each connection's green_tls, by its socket. */

int http_green_tls_init(const char *ca_file, char *err, size_t errlen)
{
    if (tls_config != NULL)
        return 0;
    if (http_cacert_check(ca_file, err, errlen) != 0)
        return -1;
    if (http_fd_table_init(&tls_of_fd) != 0) {
        snprintf(err, errlen, "out of memory for the connections' TLS state");
        return -1;
    }
    green_tls_options o = { .ca_file = ca_file };
    int rc = green_tls_config_new(&tls_config, &o);
    if (rc == 0)
        return 0;
    http_fd_table_free(&tls_of_fd);
    if (rc == GREEN_ETLS_CONFIG && ca_file != NULL)
        snprintf(err, errlen, "--cacert=%s: holds no PEM certificate", ca_file);
    else if (rc == GREEN_ETLS_CONFIG)
        snprintf(err, errlen, "the system's certificate store could not be loaded");
    else
        snprintf(err, errlen, "green_tls_config_new: %s", green_strerror(rc));
    return -1;
}

void http_green_tls_fini(void)
{
    green_tls_config_free(tls_config);
    tls_config = NULL;
    http_fd_table_free(&tls_of_fd);
}

/* libgreen's TLS codes in the cells' words (http.h), so that every
 * variant reports a failure alike; the others pass as they are. */
static int tls_code(int err)
{
    switch (err) {
    case GREEN_ETLS_VERIFY: return HTTP_ETLS_VERIFY;
    case GREEN_ETLS_UNKNOWN_CA: return HTTP_ETLS_UNKNOWN_CA;
    case GREEN_ETLS_NAME_MISMATCH: return HTTP_ETLS_NAME_MISMATCH;
    case GREEN_ETLS_CERT_EXPIRED: return HTTP_ETLS_CERT_EXPIRED;
    case GREEN_ETLS_NOT_YET_VALID: return HTTP_ETLS_NOT_YET_VALID;
    case GREEN_ETLS_PROTOCOL: return HTTP_ETLS_PROTOCOL;
    case GREEN_ETLS_TRUNCATED: return HTTP_ETLS_TRUNCATED;
    default: return err;
    }
}

static int tls_connect(const http_target *t, double deadline)
{
    if (tls_config == NULL)
        return -EINVAL;         /* http_green_tls_init was not called. */
    int fd = green_flavour_connect(t, deadline);
    if (fd < 0)
        return fd;
    double left;
    green_tls *s = NULL;
    int err = time_left(deadline, &left);
    if (err == 0) {
        err = tls_code(green_tls_connect(&s, tls_config, fd, t->host, left));
        if (err == GREEN_ETIMEDOUT)
            err = HTTP_ETLS_HANDSHAKE_TIMEOUT; /* Not the TCP connect's: that one went through. */
    }
    if (err == 0 && (err = http_fd_table_put(&tls_of_fd, fd, s)) != 0)
        green_tls_free(s);
    if (err != 0) {
        close(fd);
        return err;
    }
    return fd;
}

static ssize_t tls_send(int fd, const void *buf, size_t len, double deadline)
{
    double left;
    if (time_left(deadline, &left) != 0)
        return -ETIMEDOUT;
    ssize_t n = green_tls_write_all(tls_of_fd.slot[fd], buf, len, left);
    if (n >= 0 && (size_t)n < len)
        return -ETIMEDOUT;      /* Stopped part-way: by the timeout or a kill. */
    return n < 0 ? tls_code((int)n) : n;
}

static ssize_t tls_recv(int fd, void *buf, size_t len, double deadline)
{
    double left;
    if (time_left(deadline, &left) != 0)
        return -ETIMEDOUT;
    ssize_t n = green_tls_read(tls_of_fd.slot[fd], buf, len, left);
    return n < 0 ? tls_code((int)n) : n;
}

/* The response has been read to its end (or the fetch failed): the session
 * goes without a close_notify of ours, as the plain flavour's with a reset. */
static void tls_close(int fd)
{
    green_tls_free(tls_of_fd.slot[fd]);
    tls_of_fd.slot[fd] = NULL;
    http_close_reset(fd);
}

const http_io http_io_green_tls = {
    .now = green_now,
    .connect = tls_connect,
    .send = tls_send,
    .recv = tls_recv,
    .close = tls_close,
};

int http_resolve_green(const http_target *t, struct addrinfo **res)
{
    return green_getaddrinfo(t->host, t->port, &http_addr_hints, res);
}

const http_io http_io_green = {
    .now = green_now,
    .connect = green_flavour_connect,
    .send = green_flavour_send,
    .recv = green_flavour_recv,
};
