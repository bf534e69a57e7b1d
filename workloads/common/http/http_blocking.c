/* workloads/common/http/http_blocking.c: the blocking flavour of the cells' HTTP
 * client (http.h), for thread variants: plain blocking sockets, as a
 * thread-per-request C program has them. SO_SNDTIMEO bounds connect(2) and
 * send(2), SO_RCVTIMEO bounds recv(2), so no thread waits forever. */
#include "http.h"

#include <errno.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

double http_mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int blocking_connect(const http_target *t, double deadline)
{
    double left = deadline - http_mono_now();
    if (left <= 0)
        return -ETIMEDOUT;
    int fd = socket(t->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    struct timeval tv = { .tv_sec = (time_t)left, .tv_usec = (suseconds_t)((left - (double)(time_t)left) * 1e6) };
    if (tv.tv_sec == 0 && tv.tv_usec == 0)
        tv.tv_usec = 1;
    int err = 0;
    if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0 ||
        connect(fd, (const struct sockaddr *)&t->addr, t->addrlen) != 0) {
        err = errno == EINPROGRESS || errno == EAGAIN ? -ETIMEDOUT : -errno;
        close(fd);
        return err;
    }
    return fd;
}

static ssize_t blocking_send(int fd, const void *buf, size_t len, double deadline)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = send(fd, (const char *)buf + done, len - done, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return errno == EAGAIN || errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;
        }
        done += (size_t)n;
        if (done < len && http_mono_now() > deadline)
            return -ETIMEDOUT;
    }
    return (ssize_t)len;
}

static ssize_t blocking_recv(int fd, void *buf, size_t len, double deadline)
{
    for (;;) {
        ssize_t n = recv(fd, buf, len, 0);
        if (n >= 0) {
            /* A server that trickles bytes must not keep us past the deadline. */
            if (n > 0 && http_mono_now() > deadline)
                return -ETIMEDOUT;
            return n;
        }
        if (errno != EINTR)
            return errno == EAGAIN || errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;
    }
}

const http_io http_io_blocking = {
    .now = http_mono_now,
    .connect = blocking_connect,
    .send = blocking_send,
    .recv = blocking_recv,
};
