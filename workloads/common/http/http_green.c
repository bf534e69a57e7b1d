/* workloads/common/http/http_green.c: the green flavour of the cells' HTTP client
 * (http.h): non-blocking sockets through libgreen's cooperative calls, which
 * park the green thread in the hub's loop on EAGAIN / EINPROGRESS. Each
 * call gets what is left of the fetch's deadline as its timeout. Names are
 * resolved by libgreen's resolver too (the cells resolve theirs once, with
 * http_target_init, before timing). */
#include "http.h"

#include "green.h"

#include <errno.h>
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
