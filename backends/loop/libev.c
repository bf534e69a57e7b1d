/* backends/loop/libev.c: the "libev" event-loop backend (loop.h), gevent's
 * default: ev_io for fd waits, ev_timer for timers, one ev_async for wakes
 * from other threads, ev_run(EVRUN_ONCE / EVRUN_NOWAIT) for one iteration.
 *
 * Watchers are one-shot here: each callback stops its watcher before it calls
 * the hub. libev keeps an fd registered with epoll after its last watcher
 * stops and drops it lazily, so a wait on a socket costs at most one
 * epoll_ctl. Each start re-sets the fd (ev_io_set), which makes libev notice
 * an fd number that was closed and reused in the meantime. libev keeps the
 * fds epoll refuses (EPERM) aside and reports them ready at every iteration,
 * and turns EPOLLHUP and EPOLLERR into both events: loop.h's answers, so
 * GREEN_LOOP_POLLABLE spares nothing here and is ignored. */
#include "loop.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include <ev.h>

struct green_loop {
    struct ev_loop *ev;
    ev_async async;             /* Wakes from other threads; unreferenced. */
    green_loop_wake_cb *wake_cb;
    void *wake_data;
    int keepalive;              /* 1 while the async holds a reference. */
};

/* Watcher layouts inside the caller's opaque storage. The ev watcher comes
 * first, so a pointer to it is a pointer to the green_loop_io / _timer. */
typedef struct io_priv {
    ev_io w;
    green_loop_io_cb *cb;
} io_priv;

typedef struct timer_priv {
    ev_timer w;
    green_loop_timer_cb *cb;
} timer_priv;

_Static_assert(sizeof(io_priv) <= sizeof(green_loop_io), "ev_io does not fit green_loop_io");
_Static_assert(sizeof(timer_priv) <= sizeof(green_loop_timer), "ev_timer does not fit green_loop_timer");

const char *green_loop_name(void)
{
    return GREEN_LOOP_NAME;
}

static void on_async(struct ev_loop *ev, ev_async *w, int revents)
{
    (void)ev;
    (void)revents;
    green_loop *loop = (green_loop *)((char *)w - offsetof(green_loop, async));
    if (loop->wake_cb != NULL)
        loop->wake_cb(loop, loop->wake_data);
}

int green_loop_new(green_loop **out, green_loop_wake_cb *wake_cb, void *data)
{
    green_loop *loop = calloc(1, sizeof *loop);
    if (loop == NULL)
        return -ENOMEM;
    /* EVFLAG_NOSIGMASK: we have no signal watchers, so libev need not touch
     * the signal mask; EVFLAG_NOENV: LIBEV_FLAGS must not change what we measure. */
    loop->ev = ev_loop_new(EVFLAG_AUTO | EVFLAG_NOENV | EVFLAG_NOSIGMASK);
    if (loop->ev == NULL) {
        free(loop);
        return -ENOMEM;
    }
    loop->wake_cb = wake_cb;
    loop->wake_data = data;
    ev_async_init(&loop->async, on_async);
    ev_async_start(loop->ev, &loop->async);
    ev_unref(loop->ev);         /* A wake watcher alone must not keep the loop alive. */
    *out = loop;
    return 0;
}

void green_loop_free(green_loop *loop)
{
    if (loop == NULL)
        return;
    if (!loop->keepalive)
        ev_ref(loop->ev);       /* Pairs with the unref above, before the stop. */
    ev_async_stop(loop->ev, &loop->async);
    ev_loop_destroy(loop->ev);
    free(loop);
}

/* ---- fd waits ---- */

static void on_io(struct ev_loop *ev, ev_io *w, int revents)
{
    io_priv *p = (io_priv *)w;
    int asked = w->events;
    ev_io_stop(ev, w);
    if (revents & EV_ERROR)
        revents = asked;        /* libev gave up on the fd: let the syscall say why. */
    int ready = (revents & EV_READ ? GREEN_LOOP_READ : 0) | (revents & EV_WRITE ? GREEN_LOOP_WRITE : 0);
    p->cb((green_loop_io *)p, ready);
}

int green_loop_io_start(green_loop *loop, green_loop_io *io, int fd, int events, green_loop_io_cb *cb)
{
    if (fd < 0 || (events & (GREEN_LOOP_READ | GREEN_LOOP_WRITE)) == 0 || cb == NULL)
        return -EINVAL;
    io_priv *p = (io_priv *)io;
    int ev_events = (events & GREEN_LOOP_READ ? EV_READ : 0) | (events & GREEN_LOOP_WRITE ? EV_WRITE : 0);
    ev_io_init(&p->w, on_io, fd, ev_events);
    p->cb = cb;
    ev_io_start(loop->ev, &p->w);
    return 0;
}

void green_loop_io_stop(green_loop *loop, green_loop_io *io)
{
    ev_io_stop(loop->ev, &((io_priv *)io)->w);
}

/* ---- timers ---- */

static void on_timer(struct ev_loop *ev, ev_timer *w, int revents)
{
    (void)ev;
    (void)revents;
    timer_priv *p = (timer_priv *)w;
    /* A non-repeating ev_timer is stopped by libev before its callback. */
    p->cb((green_loop_timer *)p);
}

int green_loop_timer_start(green_loop *loop, green_loop_timer *t, double after, green_loop_timer_cb *cb)
{
    if (!(after >= 0.0) || isinf(after) || cb == NULL)
        return -EINVAL;
    timer_priv *p = (timer_priv *)t;
    /* libev counts from the time it cached at its last poll, which a busy hub
     * may have polled long ago: refresh it so the timer is not early. */
    ev_now_update(loop->ev);
    ev_timer_init(&p->w, on_timer, after, 0.0);
    p->cb = cb;
    ev_timer_start(loop->ev, &p->w);
    return 0;
}

void green_loop_timer_stop(green_loop *loop, green_loop_timer *t)
{
    ev_timer_stop(loop->ev, &((timer_priv *)t)->w);
}

/* ---- the loop ---- */

void green_loop_wake(green_loop *loop)
{
    ev_async_send(loop->ev, &loop->async);
}

void green_loop_keepalive(green_loop *loop, int on)
{
    on = on != 0;
    if (on == loop->keepalive)
        return;
    if (on)
        ev_ref(loop->ev);
    else
        ev_unref(loop->ev);
    loop->keepalive = on;
}

int green_loop_run(green_loop *loop, int block)
{
    /* ev_run returns whether referenced watchers remain active. */
    return ev_run(loop->ev, block ? EVRUN_ONCE : EVRUN_NOWAIT) != 0;
}
