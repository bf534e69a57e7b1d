/* workloads/server/delays.c: answers held until due (delays.h). */
#include "server/delays.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/timerfd.h>
#include <unistd.h>

int delays_init(delays *d)
{
    *d = (delays){ .timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC) };
    return d->timer_fd >= 0 ? 0 : -errno;
}

void delays_free(delays *d)
{
    if (d->timer_fd >= 0)
        close(d->timer_fd);
    free(d->heap);
    *d = (delays){ .timer_fd = -1 };
}

/* Set the timerfd to fire at due_ns (absolute, so time spent between
 * reading the clock and this call is not added). */
static void arm(delays *d, long long due_ns)
{
    struct itimerspec at = { .it_value = { .tv_sec = due_ns / 1000000000,
                                           .tv_nsec = due_ns % 1000000000 } };
    if (timerfd_settime(d->timer_fd, TFD_TIMER_ABSTIME, &at, NULL) != 0)
        perror("timerfd_settime");
    d->armed_ns = due_ns;
}

static void place(delays *d, size_t i, delay_entry *e)
{
    d->heap[i] = e;
    e->slot = i;
}

static void sift_up(delays *d, size_t i)
{
    delay_entry *e = d->heap[i];
    while (i > 0 && d->heap[(i - 1) / 2]->due_ns > e->due_ns) {
        place(d, i, d->heap[(i - 1) / 2]);
        i = (i - 1) / 2;
    }
    place(d, i, e);
}

static void sift_down(delays *d, size_t i)
{
    delay_entry *e = d->heap[i];
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= d->len)
            break;
        if (child + 1 < d->len && d->heap[child + 1]->due_ns < d->heap[child]->due_ns)
            child++;
        if (d->heap[child]->due_ns >= e->due_ns)
            break;
        place(d, i, d->heap[child]);
        i = child;
    }
    place(d, i, e);
}

bool delays_add(delays *d, delay_entry *e, long long due_ns)
{
    if (d->len == d->cap) {
        size_t cap = d->cap ? 2 * d->cap : 1024;
        delay_entry **heap = realloc(d->heap, cap * sizeof *heap);
        if (heap == NULL)
            return false;
        d->heap = heap;
        d->cap = cap;
    }
    e->due_ns = due_ns;
    d->heap[d->len] = e;
    sift_up(d, d->len++);
    if (d->armed_ns == 0 || due_ns < d->armed_ns)
        arm(d, due_ns);
    return true;
}

void delays_remove(delays *d, delay_entry *e)
{
    size_t i = e->slot;
    delay_entry *last = d->heap[--d->len];
    if (last == e)
        return;
    place(d, i, last);
    if (i > 0 && d->heap[(i - 1) / 2]->due_ns > last->due_ns)
        sift_up(d, i);
    else
        sift_down(d, i);
}

delay_entry *delays_next_due(delays *d, long long now_ns)
{
    delay_entry *e = delays_first(d);
    if (e == NULL || now_ns < e->due_ns)
        return NULL;
    delays_remove(d, e);
    return e;
}

void delays_timer_fired(delays *d)
{
    uint64_t expirations;
    if (read(d->timer_fd, &expirations, sizeof expirations) < 0 && errno != EAGAIN)
        perror("read(timerfd)");
}

void delays_rearm(delays *d)
{
    d->armed_ns = 0;
    if (d->len > 0)
        arm(d, d->heap[0]->due_ns);
}
