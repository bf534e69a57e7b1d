/* runtime/io.c: cooperative I/O (gevent.socket). Every call tries the
 * operation without blocking (MSG_DONTWAIT on sockets, so one system call
 * and no fcntl in the common case; O_NONBLOCK on other fds) and, on EAGAIN or
 * EINPROGRESS, parks the green thread on a one-shot fd watcher of the hub's
 * loop with one deadline for the whole call. */
#include "internal.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

static void on_fd_ready(green_loop_io *io, int revents)
{
    green__wait *w = (green__wait *)((char *)io - offsetof(green__wait, io));
    w->revents = revents;
    green__wake(green__tls_hub, w->g, 0);
}

/* Park until fd is ready for events (GREEN_READ/WRITE == GREEN_LOOP_*, and
 * GREEN_LOOP_POLLABLE when the caller knows it), the deadline passes or the
 * thread is killed. Returns the ready events or an error. */
static int wait_ready(green__hub *h, int fd, int events, green__deadline *d)
{
    if (green__killed(h))
        return GREEN_ECANCELED;
    double left = green__time_left(d);
    if (left == 0)
        return GREEN_ETIMEDOUT;
    green__wait *w = green__wait_of(h->current);  /* Off the stack: see green__wait. */
    w->g = h->current;
    w->revents = 0;
    int err = green_loop_io_start(h->loop, &w->io, fd, events, on_fd_ready);
    if (err != 0)
        return err;
    int code = green__block(h, left);
    green_loop_io_stop(h->loop, &w->io);
    return code != 0 ? code : w->revents;
}

_Static_assert((int)GREEN_READ == (int)GREEN_LOOP_READ && (int)GREEN_WRITE == (int)GREEN_LOOP_WRITE,
               "green.h and loop.h event bits must agree");

static int set_nonblocking(int fd)
{
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0)
        return -errno;
    if (!(flags & O_NONBLOCK) && fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
        return -errno;
    return 0;
}

static inline int would_block(int err)
{
    return err == EAGAIN || err == EWOULDBLOCK;
}

/* The events to wait for after a socket call said EAGAIN: epoll watches
 * every socket, so the loop need not check (loop.h). */
static inline int socket_wait(int events)
{
    return events | GREEN_LOOP_POLLABLE;
}

int green__wait_socket(green__hub *h, int fd, int events, green__deadline *d)
{
    return wait_ready(h, fd, socket_wait(events), d);
}

/* After a non-blocking attempt failed with err (an errno value): 0 to try
 * again (interrupted, or fd became ready), or the error to return. */
static int after_attempt(green__hub *h, int fd, int events, int err, green__deadline *d)
{
    if (err == EINTR)
        return 0;
    if (!would_block(err))
        return -err;
    if (d->timeout == 0)
        return GREEN_ETIMEDOUT;
    int ready = wait_ready(h, fd, events, d);
    return ready < 0 ? ready : 0;
}

int green_wait_fd(int fd, int events, double timeout)
{
    green__hub *h = green__hub_get();
    if (h == NULL || events == 0 || (events & ~(GREEN_READ | GREEN_WRITE)) != 0)
        return GREEN_EINVAL;
    if (green__killed(h))
        return GREEN_ECANCELED;
    if (fd < 0)
        return GREEN_EBADF;
    /* A user-given fd: one poll(2) first. It says whether fd is open (libev
     * aborts on a closed one) and answers for an fd that is ready already,
     * which includes every fd that epoll cannot watch (regular files,
     * /dev/null, ...: poll(2) reports them always ready). One it finds not
     * ready is one the loop can watch, with no check of its own. */
    struct pollfd p = { .fd = fd, .events = (short)((events & GREEN_READ ? POLLIN : 0) |
                                                     (events & GREEN_WRITE ? POLLOUT : 0)) };
    while (poll(&p, 1, 0) < 0) {
        if (errno != EINTR)
            return -errno;
    }
    if (p.revents & POLLNVAL)
        return GREEN_EBADF;
    if (p.revents & (POLLERR | POLLHUP))
        return events;
    if (p.revents != 0)
        return (p.revents & POLLIN ? GREEN_READ : 0) | (p.revents & POLLOUT ? GREEN_WRITE : 0);
    if (timeout == 0)
        return GREEN_ETIMEDOUT;
    green__deadline d = { .timeout = timeout };
    return wait_ready(h, fd, events | GREEN_LOOP_POLLABLE, &d);
}

int green__connect_state(int fd)
{
    /* Over loopback the connection is usually made already: one poll then
     * costs less than parking on the loop (an epoll_ctl, a share of an
     * epoll_wait and two switches), and writable without an error or
     * hang-up means connected. */
    struct pollfd p = { .fd = fd, .events = POLLOUT };
    if (poll(&p, 1, 0) == 1 && p.revents == POLLOUT)
        return 1;
    return p.revents == 0 ? 0 : -1;
}

int green_connect(int fd, const struct sockaddr *addr, socklen_t addrlen, double timeout)
{
    green__hub *h = green__hub_get();
    if (h == NULL || addr == NULL)
        return GREEN_EINVAL;
    if (green__killed(h))
        return GREEN_ECANCELED;
    int err = set_nonblocking(fd);
    if (err != 0)
        return err;
    if (connect(fd, addr, addrlen) == 0)
        return 0;
    if (errno != EINPROGRESS && errno != EINTR)
        return -errno;
    int state = green__connect_state(fd);
    if (state == 1)
        return 0;
    if (state == 0) {
        green__deadline d = { .timeout = timeout };
        int ready = wait_ready(h, fd, socket_wait(GREEN_WRITE), &d);
        if (ready < 0)
            return ready;
    }
    int soerr = 0;
    socklen_t len = sizeof soerr;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) != 0)
        return -errno;
    return -soerr;
}

int green_accept(int fd, struct sockaddr *addr, socklen_t *addrlen, double timeout)
{
    green__hub *h = green__hub_get();
    if (h == NULL)
        return GREEN_EINVAL;
    if (green__killed(h))
        return GREEN_ECANCELED;
    int err = set_nonblocking(fd);
    if (err != 0)
        return err;
    green__deadline d = { .timeout = timeout };
    for (;;) {
        int c = accept4(fd, addr, addrlen, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (c >= 0)
            return c;
        int err = after_attempt(h, fd, socket_wait(GREEN_READ), errno, &d);
        if (err != 0)
            return err;
    }
}

/* A socket call just failed: true if that was because fd is no socket and
 * plain read/write may be used instead (fd is then made non-blocking); false
 * with errno telling what to return. */
static bool not_a_socket(int fd, int *not_socket)
{
    if (errno != ENOTSOCK || *not_socket < 0)
        return false;
    *not_socket = 1;
    int err = set_nonblocking(fd);
    if (err != 0) {
        errno = -err;
        return false;
    }
    return true;
}

/* One non-blocking attempt: a socket call with MSG_DONTWAIT, or plain
 * read/write on a non-blocking fd once the fd is known not to be a socket
 * (*not_socket: 0 unknown, 1 not a socket, -1 sockets only: green_recv/send). */
static ssize_t try_read(int fd, void *buf, size_t len, int flags, int *not_socket)
{
    if (*not_socket <= 0) {
        ssize_t n = recv(fd, buf, len, flags | MSG_DONTWAIT);
        if (n >= 0 || !not_a_socket(fd, not_socket))
            return n;
    }
    return read(fd, buf, len);
}

static ssize_t try_write(int fd, const void *buf, size_t len, int flags, int *not_socket)
{
    if (*not_socket <= 0) {
        ssize_t n = send(fd, buf, len, flags | MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n >= 0 || !not_a_socket(fd, not_socket))
            return n;
    }
    return write(fd, buf, len);
}

static ssize_t do_read(int fd, void *buf, size_t len, int flags, double timeout, int socket_only)
{
    green__hub *h = green__hub_get();
    if (h == NULL || (buf == NULL && len > 0))
        return GREEN_EINVAL;
    if (green__killed(h))
        return GREEN_ECANCELED;
    int not_socket = socket_only ? -1 : 0;
    green__deadline d = { .timeout = timeout };
    for (;;) {
        ssize_t n = try_read(fd, buf, len, flags, &not_socket);
        if (n >= 0)
            return n;
        int err = after_attempt(h, fd, not_socket > 0 ? GREEN_READ : socket_wait(GREEN_READ), errno, &d);
        if (err != 0)
            return err;
    }
}

static ssize_t do_write(int fd, const void *buf, size_t len, int flags, double timeout, int socket_only)
{
    green__hub *h = green__hub_get();
    if (h == NULL || (buf == NULL && len > 0))
        return GREEN_EINVAL;
    if (green__killed(h))
        return GREEN_ECANCELED;
    int not_socket = socket_only ? -1 : 0;
    green__deadline d = { .timeout = timeout };
    size_t done = 0;
    while (done < len) {
        ssize_t n = try_write(fd, (const char *)buf + done, len - done, flags, &not_socket);
        if (n >= 0) {
            done += (size_t)n;
            continue;
        }
        int err = after_attempt(h, fd, not_socket > 0 ? GREEN_WRITE : socket_wait(GREEN_WRITE), errno, &d);
        if (err != 0)
            return done > 0 ? (ssize_t)done : err;
    }
    return (ssize_t)done;
}

ssize_t green_read(int fd, void *buf, size_t len, double timeout)
{
    return do_read(fd, buf, len, 0, timeout, 0);
}

ssize_t green_recv(int fd, void *buf, size_t len, int flags, double timeout)
{
    return do_read(fd, buf, len, flags, timeout, 1);
}

ssize_t green_write(int fd, const void *buf, size_t len, double timeout)
{
    return do_write(fd, buf, len, 0, timeout, 0);
}

ssize_t green_send(int fd, const void *buf, size_t len, int flags, double timeout)
{
    return do_write(fd, buf, len, flags, timeout, 1);
}
