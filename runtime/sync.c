/* runtime/sync.c: event, semaphore and bounded queue (gevent's Event,
 * Semaphore and Queue). They park green threads in wait queues; nothing here
 * blocks the OS thread. A unit or an item is handed straight to the waiter
 * that gets it, so one woken by a timeout or a kill in the meantime is
 * skipped and nothing is lost. */
#include "internal.h"

#include <limits.h>
#include <stdlib.h>

/* ---- events ---- */

struct green_event {
    green__waitq waiters;
    bool set;
};

int green_event_new(green_event **out)
{
    if (out == NULL)
        return GREEN_EINVAL;
    green_event *e = calloc(1, sizeof *e);
    if (e == NULL)
        return GREEN_ENOMEM;
    *out = e;
    return 0;
}

int green_event_free(green_event *e)
{
    if (e == NULL)
        return 0;
    if (e->waiters.head != NULL)
        return GREEN_EBUSY;
    free(e);
    return 0;
}

void green_event_set(green_event *e)
{
    if (e == NULL)
        return;
    e->set = true;
    green__hub *h = green__hub_get();
    if (h != NULL)              /* Without a hub nobody can be waiting. */
        green__waitq_wake_all(h, &e->waiters, 0);
}

void green_event_clear(green_event *e)
{
    if (e != NULL)
        e->set = false;
}

bool green_event_is_set(const green_event *e)
{
    return e != NULL && e->set;
}

int green_event_wait(green_event *e, double timeout)
{
    green__hub *h = green__hub_get();
    if (h == NULL || e == NULL)
        return GREEN_EINVAL;
    if (green__killed(h))
        return GREEN_ECANCELED;
    if (e->set)
        return 0;
    return green__wait_in(h, &e->waiters, green__waiter_get(h), timeout);
}

/* ---- semaphores ---- */

struct green_sem {
    green__waitq waiters;
    unsigned value;
};

int green_sem_new(green_sem **out, unsigned initial)
{
    if (out == NULL)
        return GREEN_EINVAL;
    green_sem *s = calloc(1, sizeof *s);
    if (s == NULL)
        return GREEN_ENOMEM;
    s->value = initial;
    *out = s;
    return 0;
}

int green_sem_free(green_sem *s)
{
    if (s == NULL)
        return 0;
    if (s->waiters.head != NULL)
        return GREEN_EBUSY;
    free(s);
    return 0;
}

int green_sem_acquire(green_sem *s, double timeout)
{
    green__hub *h = green__hub_get();
    if (h == NULL || s == NULL)
        return GREEN_EINVAL;
    if (green__killed(h))
        return GREEN_ECANCELED;
    /* value > 0 means nobody is parked: release hands units to waiters. */
    if (s->value > 0) {
        s->value--;
        return 0;
    }
    /* 0: a unit was handed over. */
    return green__wait_in(h, &s->waiters, green__waiter_get(h), timeout);
}

int green_sem_release(green_sem *s)
{
    if (s == NULL)
        return GREEN_EINVAL;
    green__hub *h = green__hub_get();
    green__waiter *w = h != NULL ? green__waitq_pop_parked(&s->waiters) : NULL;
    if (w != NULL) {
        green__wake(h, w->g, 0);
        return 0;
    }
    if (s->value == UINT_MAX)
        return GREEN_EOVERFLOW;     /* As sem_post(3): never wrap to 0. */
    s->value++;
    return 0;
}

unsigned green_sem_value(const green_sem *s)
{
    return s != NULL ? s->value : 0;
}

/* ---- bounded queues ---- */

struct green_queue {
    green__waitq getters, putters;
    size_t capacity, head, count;
    void *items[];
};

int green_queue_new(green_queue **out, size_t capacity)
{
    if (out == NULL || capacity == 0 || capacity > ((size_t)1 << 40))
        return GREEN_EINVAL;
    green_queue *q = calloc(1, sizeof *q + capacity * sizeof q->items[0]);
    if (q == NULL)
        return GREEN_ENOMEM;
    q->capacity = capacity;
    *out = q;
    return 0;
}

int green_queue_free(green_queue *q)
{
    if (q == NULL)
        return 0;
    if (q->getters.head != NULL || q->putters.head != NULL)
        return GREEN_EBUSY;
    free(q);
    return 0;
}

int green_queue_put(green_queue *q, void *item, double timeout)
{
    green__hub *h = green__hub_get();
    if (h == NULL || q == NULL)
        return GREEN_EINVAL;
    if (green__killed(h))
        return GREEN_ECANCELED;
    green__waiter *getter = green__waitq_pop_parked(&q->getters);
    if (getter != NULL) {
        getter->item = item;            /* The queue is empty: hand it over. */
        green__wake(h, getter->g, 0);
        return 0;
    }
    if (q->count < q->capacity) {
        q->items[(q->head + q->count) % q->capacity] = item;
        q->count++;
        return 0;
    }
    green__waiter *w = green__waiter_get(h);
    w->item = item;
    return green__wait_in(h, &q->putters, w, timeout);  /* 0: a getter took it in. */
}

int green_queue_get(green_queue *q, void **item, double timeout)
{
    green__hub *h = green__hub_get();
    if (h == NULL || q == NULL || item == NULL)
        return GREEN_EINVAL;
    if (green__killed(h))
        return GREEN_ECANCELED;
    if (q->count > 0) {
        *item = q->items[q->head];
        q->head = (q->head + 1) % q->capacity;
        q->count--;
        green__waiter *putter = green__waitq_pop_parked(&q->putters);
        if (putter != NULL) {
            q->items[(q->head + q->count) % q->capacity] = putter->item;
            q->count++;
            green__wake(h, putter->g, 0);
        }
        return 0;
    }
    green__waiter *w = green__waiter_get(h);
    int err = green__wait_in(h, &q->getters, w, timeout);
    if (err == 0)
        *item = w->item;
    return err;
}

size_t green_queue_size(const green_queue *q)
{
    return q != NULL ? q->count : 0;
}
