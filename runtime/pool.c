/* runtime/pool.c: gevent.pool.Pool. A pool counts its green threads from
 * spawn to end (started or not) and never lets more than k exist; a thread
 * that ends, however it ends, hands its place to the longest waiting
 * green_pool_spawn, else frees it. */
#include "internal.h"

#include <stdlib.h>

struct green_pool {
    size_t k;
    size_t running;             /* Places taken: alive threads, and places handed over. */
    size_t peak;
    green__waitq spawners;      /* In green_pool_spawn, waiting for a place. */
    green__waitq joiners;       /* In green_pool_join. */
};

int green_pool_new(green_pool **out, size_t k)
{
    if (out == NULL || k == 0)
        return GREEN_EINVAL;
    green_pool *p = calloc(1, sizeof *p);
    if (p == NULL)
        return GREEN_ENOMEM;
    p->k = k;
    *out = p;
    return 0;
}

int green_pool_free(green_pool *p)
{
    if (p == NULL)
        return 0;
    if (p->running != 0 || p->spawners.head != NULL || p->joiners.head != NULL)
        return GREEN_EBUSY;
    free(p);
    return 0;
}

size_t green_pool_running(const green_pool *p)
{
    return p != NULL ? p->running : 0;
}

size_t green_pool_peak(const green_pool *p)
{
    return p != NULL ? p->peak : 0;
}

/* A place is free again: to the first parked spawner, else back. */
static void give_back_place(green__hub *h, green_pool *p)
{
    green__waiter *w = green__waitq_pop_parked(&p->spawners);
    if (w != NULL) {
        green__wake(h, w->g, 0);        /* It now owns this place. */
        return;
    }
    GREEN_ASSERT(p->running > 0);
    p->running--;
    if (p->running == 0)
        green__waitq_wake_all(h, &p->joiners, 0);
}

void green__pool_task_ended(green__hub *h, green_pool *p)
{
    give_back_place(h, p);
}

int green_pool_spawn(green_pool *p, green_thread **out, green_fn *fn, void *arg)
{
    green__hub *h = green__hub_get();
    if (h == NULL || p == NULL || fn == NULL)
        return GREEN_EINVAL;
    if (green__killed(h))
        return GREEN_ECANCELED;
    if (p->running >= p->k) {
        int code = green__wait_in(h, &p->spawners, green__waiter_get(h), GREEN_FOREVER);
        if (code != 0)
            return code;        /* Not handed a place (those wake with 0). */
        /* A place was handed over, already counted; a kill that came after
         * the hand-over does not undo it. */
    } else {
        p->running++;
    }
    if (p->running > p->peak)
        p->peak = p->running;
    int err = green__spawn(h, out, fn, arg, p);
    if (err != 0)
        give_back_place(h, p);
    return err;
}

int green_pool_join(green_pool *p, double timeout)
{
    green__hub *h = green__hub_get();
    if (h == NULL || p == NULL)
        return GREEN_EINVAL;
    if (green__killed(h))
        return GREEN_ECANCELED;
    if (p->running == 0)
        return 0;
    /* Woken with 0 only when the pool emptied; the pool is not read again
     * after the wait: it may have been freed meanwhile, refilled, or the
     * joiner killed first. */
    return green__wait_in(h, &p->joiners, green__waiter_get(h), timeout);
}

int green_pool_map(green_pool *p, green_fn *fn, void *const *args, void **results, size_t n)
{
    green__hub *h = green__hub_get();
    if (h == NULL || p == NULL || fn == NULL || (n > 0 && (args == NULL || results == NULL)))
        return GREEN_EINVAL;
    if (green__killed(h))
        return GREEN_ECANCELED;
    if (n == 0)
        return 0;
    green_thread **gs = calloc(n, sizeof *gs);
    if (gs == NULL)
        return GREEN_ENOMEM;
    int err = 0, nomem = 0;
    size_t spawned;
    for (spawned = 0; spawned < n; spawned++) {
        err = green_pool_spawn(p, &gs[spawned], fn, args[spawned]);
        if (err == GREEN_ENOMEM) {
            gs[spawned] = NULL; /* Could not start: NULL result, the others go on. */
            nomem = 1;
            err = 0;
        } else if (err != 0) {
            break;
        }
    }
    for (size_t i = 0; i < spawned && err == 0; i++) {
        results[i] = NULL;
        if (gs[i] == NULL)
            continue;
        int rc = green_join(gs[i], GREEN_FOREVER, &results[i]);
        if (rc == GREEN_ENOMEM) {
            nomem = 1;          /* It never ran: NULL result, the others go on. */
            continue;
        }
        if (rc != 0)
            err = rc;           /* The caller was killed (or deadlock). */
    }
    for (size_t i = 0; i < spawned; i++) {
        if (gs[i] == NULL)
            continue;
        if (err != 0)
            green_kill(gs[i]);
        green_release(gs[i]);
    }
    if (err != 0)
        for (size_t i = 0; i < n; i++)
            results[i] = NULL;
    free(gs);
    return err != 0 ? err : nomem ? GREEN_ENOMEM : 0;
}
