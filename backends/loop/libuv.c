/* backends/loop/libuv.c: the "libuv" event-loop backend (loop.h): uv_poll_t
 * on our own fds, uv_timer_t, one uv_async_t, uv_run(UV_RUN_ONCE / NOWAIT).
 *
 * Four things of libuv shape this file:
 *  - libuv allows one uv_poll_t per fd per loop (uv_poll_init fails with
 *    UV_EEXIST otherwise), while the hub may have a reader and a writer
 *    waiting on one socket. So each fd number gets one poll handle, kept for
 *    the loop's life, and a list of the watchers waiting on it; the handle
 *    polls for the union of their events. A start from idle costs
 *    uv_poll_start (epoll_ctl DEL, then ADD at the next poll) and a stop one
 *    more DEL: libuv removes an fd from epoll eagerly.
 *  - libuv aborts when epoll refuses an fd it was given (EPERM: regular
 *    files, /dev/null, ...). uv_poll_init checks a new fd number, but the
 *    number may be closed and reused by such a file between two waits. So a
 *    start on a number that nobody watches asks poll(2) first, unless the
 *    caller vouches for the fd (GREEN_LOOP_POLLABLE: the runtime does, for
 *    every socket wait). An fd found ready never reaches epoll: its watcher
 *    waits in loop->ready, which an idle handle fires at the next iteration.
 *  - libuv reports a hang-up or an error (EPOLLHUP, EPOLLERR) as every event
 *    asked only when it comes alone: EPOLLIN|EPOLLHUP is "readable". A
 *    waiter that asked for more than it got asks poll(2) whether it is owed
 *    the rest (loop.h).
 *  - A handle's memory must live until uv_close's callback, which runs in a
 *    later iteration, whereas a green_loop_timer lives on a green thread's
 *    stack. So timer handles come from a free list kept by the loop and the
 *    caller's storage only points at one while it is started.
 *
 * uv_run(UV_RUN_ONCE) (libuv 1.44) runs due timers first and then polls with
 * the timeout of the next timer, so a timer that made a green thread runnable
 * would not stop it from blocking. Every callback here calls uv_stop(), which
 * makes that poll non-blocking (uv_backend_timeout returns 0 once stopped);
 * uv_run clears the flag when it returns. */
#include "loop.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <uv.h>

typedef struct io_priv io_priv;

/* One per fd number ever waited on; and loop->ready, whose poll handle is
 * unused. */
typedef struct fd_entry {
    uv_poll_t poll;             /* Initialised on first use; closed by green_loop_free. */
    io_priv *waiters;           /* Doubly linked, oldest first. */
    int mask;                   /* GREEN_LOOP_* events uv_poll_start was given; 0: stopped. */
} fd_entry;

struct io_priv {
    io_priv *next, *prev;
    fd_entry *entry;            /* NULL while not waiting. */
    green_loop_io_cb *cb;
    int events;                 /* GREEN_LOOP_READ and/or _WRITE. */
    int ready;                  /* In loop->ready: the events it will be given. */
    int firing;                 /* The events the current dispatch gives it; 0: none. */
};

typedef struct timer_handle {
    uv_timer_t timer;
    struct timer_handle *next_free;
    struct timer_handle *next_all;
    green_loop_timer *owner;    /* Started for this timer; NULL while free. */
} timer_handle;

typedef struct timer_priv {
    timer_handle *handle;       /* NULL while not started. */
    green_loop_timer_cb *cb;
} timer_priv;

_Static_assert(sizeof(io_priv) <= sizeof(green_loop_io), "io_priv does not fit green_loop_io");
_Static_assert(sizeof(timer_priv) <= sizeof(green_loop_timer), "timer_priv does not fit green_loop_timer");

struct green_loop {
    uv_loop_t uv;
    uv_async_t async;           /* Wakes from other threads; unreferenced. */
    green_loop_wake_cb *wake_cb;
    void *wake_data;
    int keepalive;
    fd_entry ready;             /* Watchers answered without epoll, fired by idle. */
    uv_idle_t idle;             /* Active while ready has waiters. */
    fd_entry **fds;             /* Indexed by fd number. */
    size_t nfds;
    timer_handle *free_timers;
    timer_handle *all_timers;
};

static void fatal(const char *what, int err)
{
    fprintf(stderr, "green: libuv: %s: %s\n", what, uv_strerror(err));
    abort();
}

const char *green_loop_name(void)
{
    return GREEN_LOOP_NAME;
}

/* Something happened: the current uv_run must not block any more. */
static inline void stop_blocking(green_loop *loop)
{
    uv_stop(&loop->uv);
}

static void on_async(uv_async_t *async)
{
    green_loop *loop = async->data;
    stop_blocking(loop);
    if (loop->wake_cb != NULL)
        loop->wake_cb(loop, loop->wake_data);
}

int green_loop_new(green_loop **out, green_loop_wake_cb *wake_cb, void *data)
{
    green_loop *loop = calloc(1, sizeof *loop);
    if (loop == NULL)
        return -ENOMEM;
    int err = uv_loop_init(&loop->uv);
    if (err != 0)
        goto fail_loop_init;
    err = uv_async_init(&loop->uv, &loop->async, on_async);
    if (err != 0)
        goto fail_async_init;
    err = uv_idle_init(&loop->uv, &loop->idle);
    if (err != 0)
        goto fail_idle_init;
    loop->idle.data = loop;
    loop->async.data = loop;
    loop->uv.data = loop;
    uv_unref((uv_handle_t *)&loop->async);
    loop->wake_cb = wake_cb;
    loop->wake_data = data;
    *out = loop;
    return 0;

fail_idle_init:
    uv_close((uv_handle_t *)&loop->async, NULL);
    uv_run(&loop->uv, UV_RUN_NOWAIT);
fail_async_init:
    uv_loop_close(&loop->uv);
fail_loop_init:
    free(loop);
    return err;     /* libuv's UV_E* are negative errno values on Unix. */
}

static void free_on_close(uv_handle_t *handle)
{
    free(handle->data);
}

void green_loop_free(green_loop *loop)
{
    if (loop == NULL)
        return;
    if (loop->ready.waiters != NULL)
        fatal("green_loop_free with an fd watcher still waiting", UV_EBUSY);
    uv_close((uv_handle_t *)&loop->async, NULL);
    uv_close((uv_handle_t *)&loop->idle, NULL);
    for (size_t fd = 0; fd < loop->nfds; fd++) {
        fd_entry *e = loop->fds[fd];
        if (e == NULL)
            continue;
        if (e->waiters != NULL)
            fatal("green_loop_free with an fd watcher still waiting", UV_EBUSY);
        e->poll.data = e;
        uv_close((uv_handle_t *)&e->poll, free_on_close);
    }
    for (timer_handle *h = loop->all_timers, *next; h != NULL; h = next) {
        next = h->next_all;
        if (h->owner != NULL)
            fatal("green_loop_free with a timer still started", UV_EBUSY);
        h->timer.data = h;
        uv_close((uv_handle_t *)&h->timer, free_on_close);
    }
    /* Close callbacks run in the next iteration. */
    uv_run(&loop->uv, UV_RUN_DEFAULT);
    int err = uv_loop_close(&loop->uv);
    if (err != 0)
        fatal("uv_loop_close", err);
    free(loop->fds);
    free(loop);
}

/* ---- fd waits ---- */

static int to_uv_events(int events)
{
    return (events & GREEN_LOOP_READ ? UV_READABLE : 0) | (events & GREEN_LOOP_WRITE ? UV_WRITABLE : 0);
}

/* What poll(2) finds fd ready for now, of events: those ready, all of them
 * on an error or hang-up, 0 for none; -EBADF if fd is not open. */
static int poll_now(int fd, int events)
{
    struct pollfd p = { .fd = fd, .events = (short)((events & GREEN_LOOP_READ ? POLLIN : 0) |
                                                     (events & GREEN_LOOP_WRITE ? POLLOUT : 0)) };
    while (poll(&p, 1, 0) < 0) {
        if (errno != EINTR)
            return -errno;
    }
    if (p.revents & POLLNVAL)
        return -EBADF;
    if (p.revents & (POLLERR | POLLHUP))
        return events;
    return (p.revents & POLLIN ? GREEN_LOOP_READ : 0) | (p.revents & POLLOUT ? GREEN_LOOP_WRITE : 0);
}

static void on_poll(uv_poll_t *poll, int status, int uv_events);
static void on_idle(uv_idle_t *idle);

/* Make the poll handle watch the union of its waiters' events. */
static void update_entry(fd_entry *e)
{
    int mask = 0;
    for (io_priv *p = e->waiters; p != NULL; p = p->next)
        mask |= p->events;
    if (mask == e->mask)
        return;
    int err = mask ? uv_poll_start(&e->poll, to_uv_events(mask), on_poll) : uv_poll_stop(&e->poll);
    if (err != 0)
        fatal(mask ? "uv_poll_start" : "uv_poll_stop", err);
    e->mask = mask;
}

/* Keep the idle handle running while watchers wait in loop->ready: it fires
 * them, and keeps uv_run from blocking meanwhile. */
static void update_ready(green_loop *loop)
{
    int on = loop->ready.waiters != NULL;
    int err = on ? uv_idle_start(&loop->idle, on_idle) : uv_idle_stop(&loop->idle);
    if (err != 0)
        fatal(on ? "uv_idle_start" : "uv_idle_stop", err);
}

/* Append: waiters on one fd fire oldest first. */
static void add_waiter(fd_entry *e, io_priv *p)
{
    p->entry = e;
    p->firing = 0;
    p->next = NULL;
    p->prev = NULL;
    if (e->waiters == NULL) {
        e->waiters = p;
        return;
    }
    io_priv *last = e->waiters;
    while (last->next != NULL)
        last = last->next;
    last->next = p;
    p->prev = last;
}

static void unlink_waiter(io_priv *p)
{
    fd_entry *e = p->entry;
    if (p->prev != NULL)
        p->prev->next = p->next;
    else
        e->waiters = p->next;
    if (p->next != NULL)
        p->next->prev = p->prev;
    p->next = p->prev = NULL;
    p->entry = NULL;
    p->firing = 0;
}

/* Fire e's waiters that the caller chose (firing != 0), one by one: a
 * callback may start a watcher on this fd (not fired now, its firing is 0)
 * or stop one of the chosen (then not fired). */
static void fire_chosen(fd_entry *e)
{
    for (;;) {
        io_priv *p = e->waiters;
        while (p != NULL && !p->firing)
            p = p->next;
        if (p == NULL)
            break;
        int revents = p->firing;
        unlink_waiter(p);
        p->cb((green_loop_io *)p, revents);
    }
}

/* Whether a waiter that ready fires asked for more than ready. */
static int asked_more(const fd_entry *e, int ready)
{
    for (const io_priv *p = e->waiters; p != NULL; p = p->next) {
        if ((p->events & ready) && (p->events & ~ready))
            return 1;
    }
    return 0;
}

static void on_poll(uv_poll_t *poll, int status, int uv_events)
{
    fd_entry *e = (fd_entry *)poll;
    stop_blocking(poll->loop->data);
    int ready;
    if (status < 0) {
        /* POLLERR: libuv has stopped the handle and says UV_EBADF whatever
         * the error. Every waiter is ready; its syscall tells the truth. */
        e->mask = 0;
        ready = GREEN_LOOP_READ | GREEN_LOOP_WRITE;
    } else {
        ready = (uv_events & UV_READABLE ? GREEN_LOOP_READ : 0) |
                (uv_events & UV_WRITABLE ? GREEN_LOOP_WRITE : 0);
        /* A hang-up with data still to read is only "readable" here. Rare:
         * the runtime's waiters ask for one event. */
        int fd;
        if (asked_more(e, ready) && uv_fileno((uv_handle_t *)poll, &fd) == 0) {
            int now = poll_now(fd, GREEN_LOOP_READ | GREEN_LOOP_WRITE);
            if (now > 0)
                ready |= now;
        }
    }
    for (io_priv *p = e->waiters; p != NULL; p = p->next)
        p->firing = p->events & ready;
    fire_chosen(e);
    update_entry(e);
}

static void on_idle(uv_idle_t *idle)
{
    green_loop *loop = idle->data;
    stop_blocking(loop);
    for (io_priv *p = loop->ready.waiters; p != NULL; p = p->next)
        p->firing = p->ready;
    fire_chosen(&loop->ready);
    update_ready(loop);
}

static int grow_fds(green_loop *loop, size_t fd)
{
    size_t n = loop->nfds ? loop->nfds : 64;
    while (n <= fd)
        n *= 2;
    fd_entry **fds = realloc(loop->fds, n * sizeof *fds);
    if (fds == NULL)
        return -ENOMEM;
    for (size_t i = loop->nfds; i < n; i++)
        fds[i] = NULL;
    loop->fds = fds;
    loop->nfds = n;
    return 0;
}

/* The entry of an fd number seen for the first time. */
static int new_entry(green_loop *loop, int fd, fd_entry **out)
{
    if ((size_t)fd >= loop->nfds && grow_fds(loop, (size_t)fd) != 0)
        return -ENOMEM;
    fd_entry *e = calloc(1, sizeof *e);
    if (e == NULL)
        return -ENOMEM;
    /* uv_poll_init checks the fd (EBADF; EPERM for one epoll refuses). */
    int err = uv_poll_init(&loop->uv, &e->poll, fd);
    if (err != 0) {
        free(e);
        return err;
    }
    loop->fds[fd] = e;
    *out = e;
    return 0;
}

int green_loop_io_start(green_loop *loop, green_loop_io *io, int fd, int events, green_loop_io_cb *cb)
{
    if (fd < 0 || (events & (GREEN_LOOP_READ | GREEN_LOOP_WRITE)) == 0 || cb == NULL)
        return -EINVAL;
    io_priv *p = (io_priv *)io;
    p->cb = cb;
    p->events = events & (GREEN_LOOP_READ | GREEN_LOOP_WRITE);
    fd_entry *e = (size_t)fd < loop->nfds ? loop->fds[fd] : NULL;
    if (e == NULL || e->mask == 0) {
        /* Nobody watches this number: it may be new, or reused since by a
         * file that epoll refuses, and libuv would abort. epoll watches
         * every fd that poll(2) finds not ready (the others poll(2) reports
         * always ready), and one that is ready needs no epoll. */
        if (!(events & GREEN_LOOP_POLLABLE)) {
            int ready = poll_now(fd, p->events);
            if (ready < 0)
                return ready;
            if (ready > 0) {
                p->ready = ready;
                add_waiter(&loop->ready, p);
                update_ready(loop);
                return 0;
            }
        }
        if (e == NULL) {
            int err = new_entry(loop, fd, &e);
            if (err != 0)
                return err;
        }
    }
    add_waiter(e, p);
    update_entry(e);
    return 0;
}

void green_loop_io_stop(green_loop *loop, green_loop_io *io)
{
    io_priv *p = (io_priv *)io;
    fd_entry *e = p->entry;
    if (e == NULL)
        return;
    unlink_waiter(p);
    if (e == &loop->ready)
        update_ready(loop);
    else
        update_entry(e);
}

/* ---- timers ---- */

/* p's handle, stopped or fired, goes back to the free list. */
static void release_timer(green_loop *loop, timer_priv *p)
{
    timer_handle *h = p->handle;
    h->owner = NULL;
    h->next_free = loop->free_timers;
    loop->free_timers = h;
    p->handle = NULL;
}

static void on_timer(uv_timer_t *timer)
{
    timer_handle *h = (timer_handle *)timer;
    green_loop *loop = timer->loop->data;
    green_loop_timer *t = h->owner;
    stop_blocking(loop);
    release_timer(loop, (timer_priv *)t);  /* A timer with no repeat is inactive by now. */
    ((timer_priv *)t)->cb(t);
}

int green_loop_timer_start(green_loop *loop, green_loop_timer *t, double after, green_loop_timer_cb *cb)
{
    if (!(after >= 0.0) || isinf(after) || cb == NULL)
        return -EINVAL;
    timer_priv *p = (timer_priv *)t;
    timer_handle *h = loop->free_timers;
    if (h != NULL) {
        loop->free_timers = h->next_free;
    } else {
        h = calloc(1, sizeof *h);
        if (h == NULL)
            return -ENOMEM;
        int err = uv_timer_init(&loop->uv, &h->timer);
        if (err != 0) {
            free(h);
            return err;
        }
        h->next_all = loop->all_timers;
        loop->all_timers = h;
    }
    h->owner = t;
    p->handle = h;
    p->cb = cb;
    /* libuv counts whole milliseconds from a cached, truncated loop time:
     * refresh it, round up, and add one for the truncation, so that the
     * timer never fires early. Past 2^64 ms (about 5.8e8 years) the
     * conversion would wrap: ask for the most libuv can count, a deadline
     * it saturates at UINT64_MAX and so never reaches. */
    uint64_t ms = 0;
    if (after > 0.0) {
        double whole = ceil(after * 1e3) + 1;
        ms = whole < 0x1p64 ? (uint64_t)whole : UINT64_MAX;
    }
    uv_update_time(&loop->uv);
    int err = uv_timer_start(&h->timer, on_timer, ms, 0);
    if (err != 0)
        fatal("uv_timer_start", err);
    return 0;
}

void green_loop_timer_stop(green_loop *loop, green_loop_timer *t)
{
    timer_priv *p = (timer_priv *)t;
    timer_handle *h = p->handle;
    if (h == NULL)
        return;
    uv_timer_stop(&h->timer);
    release_timer(loop, p);
}

/* ---- the loop ---- */

void green_loop_wake(green_loop *loop)
{
    int err = uv_async_send(&loop->async);
    if (err != 0)
        fatal("uv_async_send", err);
}

void green_loop_keepalive(green_loop *loop, int on)
{
    on = on != 0;
    if (on == loop->keepalive)
        return;
    if (on)
        uv_ref((uv_handle_t *)&loop->async);
    else
        uv_unref((uv_handle_t *)&loop->async);
    loop->keepalive = on;
}

int green_loop_run(green_loop *loop, int block)
{
    return uv_run(&loop->uv, block ? UV_RUN_ONCE : UV_RUN_NOWAIT) != 0;
}
