/* workloads/common/http/http_green.c: the green flavour of the cells' HTTP client
 * (http.h): non-blocking sockets through libgreen's cooperative calls, which
 * park the green thread in the hub's loop on EAGAIN / EINPROGRESS. Each
 * call gets what is left of the fetch's deadline as its timeout. Names are
 * resolved by libgreen's resolver too (the cells resolve theirs once, with
 * http_target_init, before timing). */
#include "http.h"

#include "green.h"

#include <errno.h>
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

/* ---- https: green_tls over the same sockets ----
 * The table's calls take a socket, so the connections' TLS state is kept by
 * socket (one hub: no lock). */

static green_tls_config *tls_config;
static green_tls **tls_of_fd;
static size_t tls_slots;

int http_green_tls_init(const char *ca_file)
{
    green_tls_options o = { .ca_file = ca_file };
    return tls_config != NULL ? 0 : green_tls_config_new(&tls_config, &o);
}

void http_green_tls_fini(void)
{
    green_tls_config_free(tls_config);
    tls_config = NULL;
    free(tls_of_fd);
    tls_of_fd = NULL;
    tls_slots = 0;
}

static int tls_keep(int fd, green_tls *s)
{
    if ((size_t)fd >= tls_slots) {
        size_t slots = (size_t)fd * 2 + 16;
        green_tls **grown = realloc(tls_of_fd, slots * sizeof *grown);
        if (grown == NULL)
            return -ENOMEM;
        memset(grown + tls_slots, 0, (slots - tls_slots) * sizeof *grown);
        tls_of_fd = grown;
        tls_slots = slots;
    }
    tls_of_fd[fd] = s;
    return 0;
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
    if (err == 0)
        err = green_tls_connect(&s, tls_config, fd, t->host, left);
    if (err == 0 && (err = tls_keep(fd, s)) != 0)
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
    ssize_t n = green_tls_write_all(tls_of_fd[fd], buf, len, left);
    if (n >= 0 && (size_t)n < len)
        return -ETIMEDOUT;      /* Stopped part-way: by the timeout or a kill. */
    return n;
}

static ssize_t tls_recv(int fd, void *buf, size_t len, double deadline)
{
    double left;
    if (time_left(deadline, &left) != 0)
        return -ETIMEDOUT;
    return green_tls_read(tls_of_fd[fd], buf, len, left);
}

/* The response has been read to its end (or the fetch failed): the session
 * goes without a close_notify of ours, as the plain flavour's with a reset. */
static void tls_close(int fd)
{
    green_tls_free(tls_of_fd[fd]);
    tls_of_fd[fd] = NULL;
    close(fd);
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
