/* runtime/preload_sync.c: GREEN_PRELOAD=threads, the synchronisation of
 * green threads (preload_threads.c makes them): pthread_once, mutexes,
 * condition variables, rwlocks, barriers and semaphores become green-aware:
 * a fast path, then a wait in the hub in a queue keyed by the object's
 * address, never a spin. Calls from OS threads that are not hubs, and
 * every call without GREEN_PRELOAD=threads, go to libc.
 *
 * All green threads share one OS thread, so the real mutex's owner check
 * (a TID) cannot tell them apart: mutexes keep their owner and count here,
 * in a side table keyed by address, for every kind (normal, recursive,
 * error-checking). The real mutex is never locked; nor are rwlocks (their
 * writer, readers and kind's order here), barriers (arrivals here, the
 * count read from glibc's barrier) and pthread_once controls (the green
 * thread running the initialiser here). Semaphores keep their value in the
 * real sem_t (sem_trywait is the fast path; sem_getvalue, sem_init and
 * sem_destroy work unchanged). A mutex other processes share is also
 * locked for real by its green owner, and a shared condition is also
 * signalled for real; rwlocks and barriers are kept here alone. What a
 * green thread held when it ended stays held by nobody alive, as in glibc
 * (its record is reused by the next thread, which must not look like the
 * owner); a robust mutex then goes to its next locker with EOWNERDEAD. */
#include "preload.h"

#include <semaphore.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- the side table: wait queues (and mutex owners) by address ---- */

typedef struct sync_obj {
    const void *key;
    green_thread *owner;        /* Mutexes: the holder; rwlocks: the writer;
                                   &dead_owner once that thread ended. */
    unsigned count;             /* Mutexes: recursive depth; rwlocks: readers
                                   in; barriers: threads arrived. */
    bool is_mutex;
    uint8_t robust_state;       /* Robust mutexes: ROBUST_*. */
    green__waitq q;             /* Green threads waiting on it (rwlocks: writers). */
    green__waitq readers;       /* Rwlocks: readers waiting. */
    struct sync_obj *next_free;
} sync_obj;

/* The owner of what a thread held when it ended: green thread records are
 * reused, and the next thread must not look like the owner. */
static green_thread dead_owner;

/* A robust mutex whose holder ended is taken with EOWNERDEAD, inconsistent
 * until pthread_mutex_consistent; one unlocked so is not recoverable, until
 * pthread_mutex_init. */
#define ROBUST_INCONSISTENT 1
#define ROBUST_NOT_RECOVERABLE 2

/* Open addressing with linear probing over pointers to stable records:
 * waiters point at a record's queue, so records never move. */
static sync_obj **slots;
static size_t slot_mask;        /* Capacity - 1; capacity a power of two. */
static size_t used;
static sync_obj *free_objs;

static size_t hash_ptr(const void *p)
{
    uintptr_t x = (uintptr_t)p;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return (size_t)x;
}

static sync_obj *obj_find(const void *key)
{
    if (slots == NULL)
        return NULL;
    for (size_t i = hash_ptr(key) & slot_mask;; i = (i + 1) & slot_mask) {
        if (slots[i] == NULL)
            return NULL;
        if (slots[i]->key == key)
            return slots[i];
    }
}

static void slot_put(sync_obj **tab, size_t mask, sync_obj *o)
{
    size_t i = hash_ptr(o->key) & mask;
    while (tab[i] != NULL)
        i = (i + 1) & mask;
    tab[i] = o;
}

static int table_grow(void)
{
    size_t cap = slots == NULL ? 64 : (slot_mask + 1) * 2;
    sync_obj **tab = calloc(cap, sizeof *tab);
    if (tab == NULL)
        return GREEN_ENOMEM;
    for (size_t i = 0; slots != NULL && i <= slot_mask; i++)
        if (slots[i] != NULL)
            slot_put(tab, cap - 1, slots[i]);
    free(slots);
    slots = tab;
    slot_mask = cap - 1;
    return 0;
}

/* The record of key, made if there is none; NULL when out of memory. */
static sync_obj *obj_get(const void *key)
{
    sync_obj *o = obj_find(key);
    if (o != NULL)
        return o;
    if ((slots == NULL || (used + 1) * 2 > slot_mask + 1) && table_grow() != 0)
        return NULL;
    o = free_objs;
    if (o != NULL)
        free_objs = o->next_free;
    else if ((o = malloc(sizeof *o)) == NULL)
        return NULL;
    *o = (sync_obj){ .key = key };
    slot_put(slots, slot_mask, o);
    used++;
    return o;
}

/* Drop key's record if it is idle (no owner, no waiter): records exist only
 * while an object is held or waited on. Backward-shift deletion keeps every
 * probe chain whole. */
static void obj_drop_idle(const void *key)
{
    sync_obj *o = obj_find(key);
    if (o == NULL || o->owner != NULL || o->count != 0 || o->q.head != NULL || o->readers.head != NULL ||
        o->robust_state != 0)
        return;
    size_t i = hash_ptr(key) & slot_mask;
    while (slots[i] != o)
        i = (i + 1) & slot_mask;
    for (size_t j = (i + 1) & slot_mask; slots[j] != NULL; j = (j + 1) & slot_mask) {
        size_t home = hash_ptr(slots[j]->key) & slot_mask;
        /* slots[j] may move to i if its home is not in (i, j]. */
        if (((j - home) & slot_mask) >= ((j - i) & slot_mask)) {
            slots[i] = slots[j];
            i = j;
        }
    }
    slots[i] = NULL;
    used--;
    o->next_free = free_objs;
    free_objs = o;
}

/* An init call made a new object at key: a record left by an object that
 * was freed while held (the memory come back from malloc) must not make
 * the new one look held. Records with waiters stay: their waiters point
 * into them. */
static void obj_forget(const void *key)
{
    sync_obj *o = obj_find(key);
    if (o == NULL || o->q.head != NULL || o->readers.head != NULL)
        return;
    o->owner = NULL;
    o->count = 0;
    o->robust_state = 0;
    obj_drop_idle(key);
}

/* Objects other processes share (pshared, sem_open): what those processes
 * do wakes no green waiter here, so a green waiter also sleeps, then looks
 * again (green__preload_next_look). */

/* How long to sleep before looking again: look, or what is left of the
 * deadline (GREEN_FOREVER: none) when that is less. */
static double sleep_slice(double look, double left)
{
    return green__unlimited(left) || look < left ? look : left;
}

/* The init calls' green part (fn counts it): a new object at key, where
 * an old one may have been freed while held (obj_forget). */
static void made_anew(const void *key, int fn)
{
    if (green__preload_patched() == NULL)
        return;
    green__preload_calls[fn]++;
    obj_forget(key);
}

/* The destroy calls' green part (fn counts it): true while the object is
 * held or waited on, which glibc's own check cannot see. */
static bool in_use(const void *key, int fn)
{
    if (green__preload_patched() == NULL)
        return false;
    green__preload_calls[fn]++;
    return obj_find(key) != NULL;
}

/* ---- pthread_once ----
 * An initialiser that waits (a green switch) while another green thread
 * calls pthread_once on the same control would make glibc's pthread_once
 * wait on the OS thread, the hub's, for good. The control's record here
 * says who runs the initialiser (owner); the others wait in its queue. */

#define ONCE_DONE 2             /* glibc's __PTHREAD_ONCE_DONE (nptl/pthreadP.h). */

/* The initialiser was cancelled (pthread_cancel, pthread_exit): the next
 * caller runs it, as glibc's clear_once_control lets one. */
static void once_abandoned(void *control)
{
    green__hub *h = green__preload_hub();
    sync_obj *o = obj_find(control);
    if (o == NULL)
        return;
    o->owner = NULL;
    green__waiter *w = green__waitq_pop_parked(&o->q);
    if (w != NULL)
        green__wake(h, w->g, 0);
    obj_drop_idle(control);
}

int pthread_once(pthread_once_t *control, void (*init)(void))
{
    green__hub *h = green__preload_patched();
    if (h == NULL)
        return GREEN_REAL(pthread_once)(control, init);
    GREEN_PRELOAD_COUNT(pthread_once);
    while (!(__atomic_load_n(control, __ATOMIC_ACQUIRE) & ONCE_DONE)) {
        sync_obj *o = obj_get(control);
        if (o == NULL)
            return ENOMEM;
        if (o->owner == NULL) {
            o->owner = h->current;
            pthread_cleanup_push(once_abandoned, control);
            init();
            pthread_cleanup_pop(0);
            __atomic_store_n(control, ONCE_DONE, __ATOMIC_RELEASE);
            o = obj_find(control);
            o->owner = NULL;
            green__waitq_wake_all(h, &o->q, 0);
            obj_drop_idle(control);
            return 0;
        }
        /* Its own initialiser calling it again waits for ever in glibc. */
        if (o->owner == h->current ||
            green__wait_in(h, &o->q, green__waiter_get(h), GREEN_FOREVER) == GREEN_EDEADLK)
            return EDEADLK;
    }
    return 0;
}

/* ---- spinlocks ----
 * A spinlock a green thread holds across a wait (a green switch) would make
 * the next green locker spin the hub's OS thread for good, the holder never
 * running again: a green locker that finds it taken sleeps between tries. */

int pthread_spin_lock(pthread_spinlock_t *l)
{
    green__hub *h = green__preload_patched();
    if (h == NULL)
        return GREEN_REAL(pthread_spin_lock)(l);
    GREEN_PRELOAD_COUNT(pthread_spin_lock);
    for (double look = GREEN__PRELOAD_LOOK_FIRST; GREEN_REAL(pthread_spin_trylock)(l) != 0;
         look = green__preload_next_look(look))
        green_sleep(look);
    return 0;
}

/* ---- mutexes ---- */

/* glibc keeps the type in __kind (PTHREAD_MUTEX_KIND_MASK_NP: low 2 bits). */
static int mutex_kind(const pthread_mutex_t *m)
{
    return m->__data.__kind & 3;
}

/* glibc's PTHREAD_MUTEX_ROBUST_NORMAL_NP bit in __kind. */
static bool mutex_robust(const pthread_mutex_t *m)
{
    return (m->__data.__kind & 16) != 0;
}

/* glibc's PTHREAD_MUTEX_PSHARED_BIT in __kind: other processes may lock
 * it, through the real mutex. */
static bool mutex_shared(const pthread_mutex_t *m)
{
    return (m->__data.__kind & 128) != 0;
}

/* Take m among the green threads, waiting up to timeout. Returns 0 or an
 * errno value. The unlocker hands the mutex straight to the longest waiter
 * (owner set before it runs), so no later locker can overtake it. */
static int mutex_take(green__hub *h, pthread_mutex_t *m, double timeout)
{
    sync_obj *o = obj_get(m);
    if (o == NULL)
        return ENOMEM;
    green_thread *me = h->current;
    o->is_mutex = true;
    if (o->robust_state & ROBUST_NOT_RECOVERABLE)
        return ENOTRECOVERABLE;
    if (o->owner == NULL) {
        o->owner = me;
        o->count = 1;
        return 0;
    }
    if (o->owner == &dead_owner && mutex_robust(m)) {
        o->owner = me;
        o->count = 1;
        o->robust_state = ROBUST_INCONSISTENT;
        return EOWNERDEAD;
    }
    if (o->owner == me) {
        int kind = mutex_kind(m);
        if (kind == PTHREAD_MUTEX_RECURSIVE)
            return o->count == UINT32_MAX ? EAGAIN : (o->count++, 0);
        if (kind == PTHREAD_MUTEX_ERRORCHECK)
            return EDEADLK;
        /* A normal mutex its holder locks again waits, as glibc's, until
         * another thread unlocks it (a mutex used as a binary semaphore);
         * the main thread's wait that nothing can end is EDEADLK. */
    }
    if (timeout == 0)
        return EBUSY;
    green__waiter *w = green__waiter_get(h);
    int code = green__wait_in(h, &o->q, w, timeout);
    if (code == 0) {            /* Handed over, or not recoverable. */
        o = obj_find(m);
        return o->robust_state & ROBUST_NOT_RECOVERABLE ? ENOTRECOVERABLE
               : o->robust_state & ROBUST_INCONSISTENT  ? EOWNERDEAD
                                                        : 0;
    }
    obj_drop_idle(m);           /* o may be gone: look it up again. */
    return code == GREEN_ETIMEDOUT ? ETIMEDOUT : code == GREEN_EDEADLK ? EDEADLK : EINTR;
}

static void mutex_release(green__hub *h, sync_obj *o);

void green__preload_sync_thread_ended(green__hub *h, green_thread *g)
{
    for (size_t i = 0; slots != NULL && i <= slot_mask; i++) {
        sync_obj *o = slots[i];
        if (o == NULL || o->owner != g)
            continue;
        o->owner = &dead_owner;
        /* A robust mutex goes to its longest waiter, told so, as the
         * kernel's robust list hands glibc's to one. */
        green__waiter *w;
        if (o->is_mutex && mutex_robust(o->key) && (w = green__waitq_pop_parked(&o->q)) != NULL) {
            o->owner = w->g;
            o->count = 1;
            o->robust_state = ROBUST_INCONSISTENT;
            green__wake(h, w->g, 0);
        }
    }
}

/* Take m for the running green thread: among the green threads, then, for
 * a mutex other processes share, the real one too, tried between sleeps
 * up to the deadline (EBUSY past it; the green ownership goes again). A
 * robust mutex whose owner died comes with EOWNERDEAD, as glibc's. */
static int mutex_lock(green__hub *h, pthread_mutex_t *m, double timeout)
{
    green__deadline d = { .timeout = timeout };
    int err = mutex_take(h, m, green__time_left(&d));
    /* A green holder that ended left the real one locked by this OS
     * thread (glibc marks robust mutexes shared too): it is ours. */
    if (err != 0 || !mutex_shared(m) || obj_find(m)->count != 1)
        return err;
    for (double look = GREEN__PRELOAD_LOOK_FIRST;; look = green__preload_next_look(look)) {
        int r = GREEN_REAL(pthread_mutex_trylock)(m);
        if (r == 0 || r == EOWNERDEAD)
            return r;
        double left = green__time_left(&d);
        if (r != EBUSY || left == 0) {
            mutex_release(h, obj_find(m));
            return r;
        }
        green_sleep(sleep_slice(look, left));
    }
}

/* Give m up entirely (count to 0): to the longest waiter if any. */
static void mutex_release(green__hub *h, sync_obj *o)
{
    green__waiter *w = green__waitq_pop_parked(&o->q);
    if (w != NULL) {
        o->owner = w->g;
        o->count = 1;
        green__wake(h, w->g, 0);
        return;
    }
    o->owner = NULL;
    o->count = 0;
    obj_drop_idle(o->key);
}

/* glibc checks the owner of recursive and error-checking mutexes only: a
 * normal one is unlocked whoever asks (a thread that did not lock it, as
 * programs that use a mutex as a binary semaphore do), and unlocking a free
 * one does nothing. */
static int mutex_unlock(green__hub *h, pthread_mutex_t *m)
{
    sync_obj *o = obj_find(m);
    if (o == NULL || o->owner != h->current) {
        int kind = mutex_kind(m);
        if (kind == PTHREAD_MUTEX_RECURSIVE || kind == PTHREAD_MUTEX_ERRORCHECK)
            return EPERM;
        if (o == NULL || o->owner == NULL)
            return 0;
        o->count = 1;
    }
    if (o->robust_state & ROBUST_INCONSISTENT) {
        /* Unlocked before pthread_mutex_consistent: for good (glibc). */
        o->owner = NULL;
        o->count = 0;
        o->robust_state = ROBUST_NOT_RECOVERABLE;
        if (mutex_shared(m))
            GREEN_REAL(pthread_mutex_unlock)(m);
        green__waitq_wake_all(h, &o->q, 0);
        return 0;
    }
    if (--o->count == 0) {
        if (mutex_shared(m))
            GREEN_REAL(pthread_mutex_unlock)(m);
        mutex_release(h, o);
    }
    return 0;
}

int pthread_mutex_consistent(pthread_mutex_t *m)
{
    green__hub *h = green__preload_patched();
    sync_obj *o = h != NULL ? obj_find(m) : NULL;
    if (o == NULL || !(o->robust_state & ROBUST_INCONSISTENT))
        return GREEN_REAL(pthread_mutex_consistent)(m);    /* Another process's death: the real one's. */
    GREEN_PRELOAD_COUNT(pthread_mutex_consistent);
    if (o->owner != h->current)
        return EINVAL;
    o->robust_state = 0;
    return 0;
}

int pthread_mutex_lock(pthread_mutex_t *m)
{
    green__hub *h = green__preload_patched();
    if (h == NULL)
        return GREEN_REAL(pthread_mutex_lock)(m);
    GREEN_PRELOAD_COUNT(pthread_mutex_lock);
    return mutex_lock(h, m, GREEN_FOREVER);
}

int pthread_mutex_trylock(pthread_mutex_t *m)
{
    green__hub *h = green__preload_patched();
    if (h == NULL)
        return GREEN_REAL(pthread_mutex_trylock)(m);
    GREEN_PRELOAD_COUNT(pthread_mutex_trylock);
    int err = mutex_lock(h, m, 0);
    /* An error-checking mutex its caller holds: EBUSY, as glibc's, but
     * EDEADLK for a robust one. */
    return err == EDEADLK && !mutex_robust(m) ? EBUSY : err;
}

/* The timed and clock locks. As glibc's: a bad clock is EINVAL, a bad
 * deadline only when the lock must wait (a free mutex is taken). */
static int mutex_lock_until(green__hub *h, pthread_mutex_t *m, clockid_t clock, const struct timespec *abs)
{
    if (!green__preload_clock_ok(clock))
        return EINVAL;
    if (!green__preload_nsec_ok(abs)) {
        int err = mutex_lock(h, m, 0);
        return err == EBUSY ? EINVAL : err;
    }
    int err = mutex_lock(h, m, green__preload_left_until(clock, abs));
    return err == EBUSY ? ETIMEDOUT : err;
}

int pthread_mutex_timedlock(pthread_mutex_t *m, const struct timespec *abs)
{
    green__hub *h = green__preload_patched();
    if (h == NULL)
        return GREEN_REAL(pthread_mutex_timedlock)(m, abs);
    GREEN_PRELOAD_COUNT(pthread_mutex_timedlock);
    return mutex_lock_until(h, m, CLOCK_REALTIME, abs);
}

int pthread_mutex_clocklock(pthread_mutex_t *m, clockid_t clock, const struct timespec *abs)
{
    green__hub *h = green__preload_patched();
    if (h == NULL)
        return GREEN_REAL(pthread_mutex_clocklock)(m, clock, abs);
    GREEN_PRELOAD_COUNT(pthread_mutex_clocklock);
    return mutex_lock_until(h, m, clock, abs);
}

int pthread_mutex_unlock(pthread_mutex_t *m)
{
    green__hub *h = green__preload_patched();
    if (h == NULL)
        return GREEN_REAL(pthread_mutex_unlock)(m);
    GREEN_PRELOAD_COUNT(pthread_mutex_unlock);
    return mutex_unlock(h, m);
}

int pthread_mutex_init(pthread_mutex_t *m, const pthread_mutexattr_t *attr)
{
    made_anew(m, GREEN_PRELOAD_FN_pthread_mutex_init);
    return GREEN_REAL(pthread_mutex_init)(m, attr);
}

int pthread_mutex_destroy(pthread_mutex_t *m)
{
    return in_use(m, GREEN_PRELOAD_FN_pthread_mutex_destroy) ? EBUSY : GREEN_REAL(pthread_mutex_destroy)(m);
}

/* ---- condition variables ---- */

/* glibc's __wrefs bit 1: the clock is CLOCK_MONOTONIC (pthread_condattr_setclock). */
static clockid_t cond_clock(const pthread_cond_t *c)
{
    return (c->__data.__wrefs & 2) ? CLOCK_MONOTONIC : CLOCK_REALTIME;
}

/* __wrefs bit 0: other processes may wait on it or signal it. */
static bool cond_shared(const pthread_cond_t *c)
{
    return (c->__data.__wrefs & 1) != 0;
}

/* Queue on c, release m (no switch in between: the waiter is queued before
 * any signaller can run), park, then take m back at its old depth. */
static int cond_wait(green__hub *h, pthread_cond_t *c, pthread_mutex_t *m, double timeout)
{
    sync_obj *mo = obj_find(m);
    if (mo == NULL || mo->owner != h->current)
        return EPERM;
    green__preload_cancel_begin(h);  /* Acted on here, it leaves m held, as glibc. */
    sync_obj *co = obj_get(c);
    if (co == NULL)
        return ENOMEM;
    unsigned depth = mo->count;
    green__waiter *w = green__waiter_get(h);
    green__waitq_push(&co->q, w);
    if (mutex_shared(m))
        GREEN_REAL(pthread_mutex_unlock)(m);
    mutex_release(h, mo);
    /* Another process's signal wakes nobody here: a shared condition's
     * waiter wakes within GREEN__PRELOAD_LOOK_MAX, a spurious wake-up (POSIX lets
     * it; the caller looks at its predicate again). */
    double slice = cond_shared(c) ? sleep_slice(GREEN__PRELOAD_LOOK_MAX, timeout) : timeout;
    int code = green__block(h, slice);
    if (code == GREEN_ETIMEDOUT && slice != timeout)
        code = 0;
    green__waitq_remove(w);
    obj_drop_idle(c);
    while (mutex_lock(h, m, GREEN_FOREVER) == EINTR)
        ;                       /* A waiter must own m again when it returns. */
    mo = obj_find(m);
    if (mo != NULL)
        mo->count = depth;
    green__preload_cancel_end(h, code);     /* With m held again, as glibc. */
    return code == GREEN_ETIMEDOUT ? ETIMEDOUT : 0;   /* A kill: a spurious wake-up. */
}

int pthread_cond_wait(pthread_cond_t *c, pthread_mutex_t *m)
{
    green__hub *h = green__preload_patched();
    if (h == NULL)
        return GREEN_REAL(pthread_cond_wait)(c, m);
    GREEN_PRELOAD_COUNT(pthread_cond_wait);
    return cond_wait(h, c, m, GREEN_FOREVER);
}

int pthread_cond_timedwait(pthread_cond_t *c, pthread_mutex_t *m, const struct timespec *abs)
{
    green__hub *h = green__preload_patched();
    if (h == NULL)
        return GREEN_REAL(pthread_cond_timedwait)(c, m, abs);
    GREEN_PRELOAD_COUNT(pthread_cond_timedwait);
    if (!green__preload_nsec_ok(abs))
        return EINVAL;
    return cond_wait(h, c, m, green__preload_left_until(cond_clock(c), abs));
}

int pthread_cond_clockwait(pthread_cond_t *c, pthread_mutex_t *m, clockid_t clock,
                           const struct timespec *abs)
{
    green__hub *h = green__preload_patched();
    if (h == NULL)
        return GREEN_REAL(pthread_cond_clockwait)(c, m, clock, abs);
    GREEN_PRELOAD_COUNT(pthread_cond_clockwait);
    if (!green__preload_nsec_ok(abs) || !green__preload_clock_ok(clock))
        return EINVAL;
    return cond_wait(h, c, m, green__preload_left_until(clock, abs));
}

int pthread_cond_signal(pthread_cond_t *c)
{
    green__hub *h = green__preload_patched();
    if (h == NULL)
        return GREEN_REAL(pthread_cond_signal)(c);
    GREEN_PRELOAD_COUNT(pthread_cond_signal);
    if (cond_shared(c))
        GREEN_REAL(pthread_cond_signal)(c);    /* For other processes' waiters. */
    sync_obj *o = obj_find(c);
    if (o == NULL)
        return 0;
    green__waiter *w = green__waitq_pop_parked(&o->q);
    if (w != NULL)
        green__wake(h, w->g, 0);
    obj_drop_idle(c);
    return 0;
}

int pthread_cond_broadcast(pthread_cond_t *c)
{
    green__hub *h = green__preload_patched();
    if (h == NULL)
        return GREEN_REAL(pthread_cond_broadcast)(c);
    GREEN_PRELOAD_COUNT(pthread_cond_broadcast);
    if (cond_shared(c))
        GREEN_REAL(pthread_cond_broadcast)(c);
    sync_obj *o = obj_find(c);
    if (o == NULL)
        return 0;
    green__waitq_wake_all(h, &o->q, 0);
    obj_drop_idle(c);
    return 0;
}

int pthread_cond_init(pthread_cond_t *c, const pthread_condattr_t *attr)
{
    made_anew(c, GREEN_PRELOAD_FN_pthread_cond_init);
    return GREEN_REAL(pthread_cond_init)(c, attr);
}

int pthread_cond_destroy(pthread_cond_t *c)
{
    return in_use(c, GREEN_PRELOAD_FN_pthread_cond_destroy) ? EBUSY : GREEN_REAL(pthread_cond_destroy)(c);
}

/* ---- rwlocks ----
 * As mutexes: the real lock is never taken, and its record here keeps the
 * writer (owner), the readers' count and both queues. Unlocks hand the lock
 * straight to the waiters who get it next, so none of them is overtaken. */

/* glibc's __flags: only PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP makes
 * readers wait behind waiting writers (glibc takes PREFER_WRITER_NP as
 * PREFER_READER_NP). */
static bool prefers_writers(const pthread_rwlock_t *l)
{
    return l->__data.__flags == PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP;
}

/* Now that l may be free, give it to whoever waits for it: every waiting
 * reader unless writers are preferred and one waits, else (nobody in) the
 * longest-waiting writer. Drops the record once idle. */
static void rwlock_grant(green__hub *h, const pthread_rwlock_t *l, sync_obj *o)
{
    if (o->owner == NULL && !(prefers_writers(l) && o->q.head != NULL)) {
        green__waiter *w;
        while ((w = green__waitq_pop_parked(&o->readers)) != NULL) {
            o->count++;
            green__wake(h, w->g, 0);
        }
    }
    if (o->owner == NULL && o->count == 0) {
        green__waiter *w = green__waitq_pop_parked(&o->q);
        if (w != NULL) {
            o->owner = w->g;
            green__wake(h, w->g, 0);
        }
    }
    obj_drop_idle(l);
}

/* Take l for reading (writing false) or writing, waiting up to timeout:
 * 0 or an errno value, as glibc's (EBUSY for a timeout of 0). */
static int rwlock_lock(green__hub *h, pthread_rwlock_t *l, bool writing, double timeout)
{
    sync_obj *o = obj_get(l);
    if (o == NULL)
        return ENOMEM;
    green_thread *me = h->current;
    if (o->owner == me)
        return EDEADLK;
    bool free_for_me = writing ? o->owner == NULL && o->count == 0
                               : o->owner == NULL && (!prefers_writers(l) || o->q.head == NULL);
    if (free_for_me) {
        if (!writing && o->count == UINT32_MAX)
            return EAGAIN;
        if (writing)
            o->owner = me;
        else
            o->count++;
        return 0;
    }
    if (timeout == 0) {
        obj_drop_idle(l);
        return EBUSY;
    }
    int code = green__wait_in(h, writing ? &o->q : &o->readers, green__waiter_get(h), timeout);
    if (code == 0)
        return 0;               /* Handed over. */
    /* A writer that gave up may have held readers back. The record is gone
     * if l was freed, and dropped as idle, after the timer woke us. */
    o = obj_find(l);
    if (o != NULL)
        rwlock_grant(h, l, o);
    return code == GREEN_ETIMEDOUT ? ETIMEDOUT : EDEADLK;
}

/* The timed and clock variants: EINVAL checked first, as glibc does. */
static int rwlock_lock_until(green__hub *h, pthread_rwlock_t *l, bool writing, clockid_t clock,
                             const struct timespec *abs)
{
    if (!green__preload_clock_ok(clock) || !green__preload_nsec_ok(abs))
        return EINVAL;
    int err = rwlock_lock(h, l, writing, green__preload_left_until(clock, abs));
    return err == EBUSY ? ETIMEDOUT : err;
}

/* The eight lock calls, each the same few lines around rwlock_lock. */
#define RWLOCK_LOCK(name, writing)                        \
    int name(pthread_rwlock_t *l)                         \
    {                                                     \
        green__hub *h = green__preload_patched();         \
        if (h == NULL)                                    \
            return GREEN_REAL(name)(l);                   \
        GREEN_PRELOAD_COUNT(name);                        \
        return rwlock_lock(h, l, writing, GREEN_FOREVER); \
    }
#define RWLOCK_TRY(name, writing)                 \
    int name(pthread_rwlock_t *l)                 \
    {                                             \
        green__hub *h = green__preload_patched(); \
        if (h == NULL)                            \
            return GREEN_REAL(name)(l);           \
        GREEN_PRELOAD_COUNT(name);                \
        int err = rwlock_lock(h, l, writing, 0);  \
        return err == EDEADLK ? EBUSY : err;      \
    }
#define RWLOCK_TIMED(name, writing)                                   \
    int name(pthread_rwlock_t *l, const struct timespec *abs)         \
    {                                                                 \
        green__hub *h = green__preload_patched();                     \
        if (h == NULL)                                                \
            return GREEN_REAL(name)(l, abs);                          \
        GREEN_PRELOAD_COUNT(name);                                    \
        return rwlock_lock_until(h, l, writing, CLOCK_REALTIME, abs); \
    }
#define RWLOCK_CLOCK(name, writing)                                            \
    int name(pthread_rwlock_t *l, clockid_t clock, const struct timespec *abs) \
    {                                                                          \
        green__hub *h = green__preload_patched();                              \
        if (h == NULL)                                                         \
            return GREEN_REAL(name)(l, clock, abs);                            \
        GREEN_PRELOAD_COUNT(name);                                             \
        return rwlock_lock_until(h, l, writing, clock, abs);                   \
    }

RWLOCK_LOCK(pthread_rwlock_rdlock, false)
RWLOCK_LOCK(pthread_rwlock_wrlock, true)
RWLOCK_TRY(pthread_rwlock_tryrdlock, false)
RWLOCK_TRY(pthread_rwlock_trywrlock, true)
RWLOCK_TIMED(pthread_rwlock_timedrdlock, false)
RWLOCK_TIMED(pthread_rwlock_timedwrlock, true)
RWLOCK_CLOCK(pthread_rwlock_clockrdlock, false)
RWLOCK_CLOCK(pthread_rwlock_clockwrlock, true)

/* The writer's unlock, or one reader's (which reader is not recorded, as
 * glibc does not record it): EPERM when l is not held. */
int pthread_rwlock_unlock(pthread_rwlock_t *l)
{
    green__hub *h = green__preload_patched();
    if (h == NULL)
        return GREEN_REAL(pthread_rwlock_unlock)(l);
    GREEN_PRELOAD_COUNT(pthread_rwlock_unlock);
    sync_obj *o = obj_find(l);
    if (o == NULL || (o->owner == NULL && o->count == 0) || (o->owner != NULL && o->owner != h->current))
        return EPERM;
    if (o->owner != NULL)
        o->owner = NULL;
    else
        o->count--;
    rwlock_grant(h, l, o);
    return 0;
}

int pthread_rwlock_init(pthread_rwlock_t *l, const pthread_rwlockattr_t *attr)
{
    made_anew(l, GREEN_PRELOAD_FN_pthread_rwlock_init);
    return GREEN_REAL(pthread_rwlock_init)(l, attr);
}

int pthread_rwlock_destroy(pthread_rwlock_t *l)
{
    return in_use(l, GREEN_PRELOAD_FN_pthread_rwlock_destroy) ? EBUSY
                                                              : GREEN_REAL(pthread_rwlock_destroy)(l);
}

/* ---- barriers ---- */

/* The count pthread_barrier_init was given: glibc's struct pthread_barrier
 * (nptl/pthreadP.h) is { in, current_round, count, shared, out }. */
static unsigned barrier_count(const pthread_barrier_t *b)
{
    unsigned words[3];
    memcpy(words, b, sizeof words);
    return words[2];
}

/* The last to arrive wakes the others and is the serial thread; the record
 * (its count of arrivals) goes, so the next round starts from nothing. */
int pthread_barrier_wait(pthread_barrier_t *b)
{
    green__hub *h = green__preload_patched();
    if (h == NULL)
        return GREEN_REAL(pthread_barrier_wait)(b);
    GREEN_PRELOAD_COUNT(pthread_barrier_wait);
    sync_obj *o = obj_get(b);
    if (o == NULL)
        return ENOMEM;
    if (++o->count >= barrier_count(b)) {
        o->count = 0;
        green__waitq_wake_all(h, &o->q, 0);
        obj_drop_idle(b);
        return PTHREAD_BARRIER_SERIAL_THREAD;
    }
    int code = green__wait_in(h, &o->q, green__waiter_get(h), GREEN_FOREVER);
    if (code == 0)
        return 0;
    /* Nothing else can run, so nobody else will arrive (glibc would wait for
     * ever): not arrived after all. */
    o = obj_find(b);
    o->count--;
    obj_drop_idle(b);
    return EDEADLK;
}

int pthread_barrier_init(pthread_barrier_t *b, const pthread_barrierattr_t *attr, unsigned count)
{
    made_anew(b, GREEN_PRELOAD_FN_pthread_barrier_init);
    return GREEN_REAL(pthread_barrier_init)(b, attr, count);
}

int pthread_barrier_destroy(pthread_barrier_t *b)
{
    return in_use(b, GREEN_PRELOAD_FN_pthread_barrier_destroy) ? EBUSY
                                                               : GREEN_REAL(pthread_barrier_destroy)(b);
}

/* ---- semaphores ---- */

/* A semaphore other processes may post (sem_open's; sem_init's with
 * pshared): glibc's sem_t then holds FUTEX_PRIVATE_FLAG in the int after
 * its 64-bit value and waiter count, 0 for one of this process alone. */
static bool shared_sem(const sem_t *s)
{
    int flag;
    memcpy(&flag, (const char *)s + sizeof(uint64_t), sizeof flag);
    return flag != 0;
}

/* The hub found nothing else that could ever run: no green thread can post
 * s, only another OS thread (glibc's, for a SIGEV_THREAD timer) or a signal
 * handler. Wait for real, the hub's OS thread blocked as it would be
 * unpatched, up to left seconds. */
static int sem_wait_real(sem_t *s, double left, int saved)
{
    int r;
    if (green__unlimited(left)) {
        r = GREEN_REAL(sem_wait)(s);
    } else {
        struct timespec abs = green__preload_abs_in(CLOCK_MONOTONIC, left);
        r = GREEN_REAL(sem_clockwait)(s, CLOCK_MONOTONIC, &abs);
    }
    if (r == 0)
        errno = saved;
    return r;
}

/* sem_trywait, then park until a sem_post wakes us, and try again. Returns
 * 0 or -1 with errno, as sem_wait: EINTR when a signal cuts the wait short,
 * SA_RESTART or not, unless the semaphore was posted meanwhile, as glibc's
 * sem_wait does (signal(7) says it restarts; it does not); Python's lock
 * acquire counts on it for KeyboardInterrupt. On a shared semaphore
 * (Python's multiprocessing locks and queues) the waiter also looks again
 * after each of its sleeps. */
static int sem_wait_for(green__hub *h, sem_t *s, double timeout)
{
    green__deadline d = { .timeout = timeout };
    int saved = errno;
    double look = shared_sem(s) ? GREEN__PRELOAD_LOOK_FIRST : 0;
    for (;;) {
        if (GREEN_REAL(sem_trywait)(s) == 0) {
            errno = saved;
            return 0;
        }
        if (errno != EAGAIN)
            return -1;
        double left = green__time_left(&d);
        if (left == 0) {
            errno = ETIMEDOUT;
            return -1;
        }
        green__preload_cancel_begin(h);
        sync_obj *o = obj_get(s);
        if (o == NULL) {
            errno = ENOMEM;
            return -1;
        }
        double slice = look > 0 ? sleep_slice(look, left) : left;
        green__preload_intr intr;
        green__preload_intr_begin(h, &intr, GREEN__INTR_NO_WATCHER);
        int code = green__wait_in(h, &o->q, green__waiter_get(h), slice);
        green__preload_intr_end(&intr);
        obj_drop_idle(s);
        green__preload_cancel_end(h, code);
        if (code == GREEN_ETIMEDOUT && slice != left) {
            look = green__preload_next_look(look);
            continue;
        }
        if (code == GREEN_EDEADLK)
            return sem_wait_real(s, green__time_left(&d), saved);
        if (code == GREEN_EINTR && GREEN_REAL(sem_trywait)(s) == 0) {
            errno = saved;      /* Posted meanwhile (by the handler, say). */
            return 0;
        }
        if (code != 0)
            return green__preload_fail(code, ETIMEDOUT);
    }
}

int sem_wait(sem_t *s)
{
    green__hub *h = green__preload_patched();
    if (h == NULL)
        return GREEN_REAL(sem_wait)(s);
    GREEN_PRELOAD_COUNT(sem_wait);
    return sem_wait_for(h, s, GREEN_FOREVER);
}

int sem_trywait(sem_t *s)
{
    if (green__preload_patched() != NULL)
        GREEN_PRELOAD_COUNT(sem_trywait);
    return GREEN_REAL(sem_trywait)(s);
}

int sem_timedwait(sem_t *s, const struct timespec *abs)
{
    green__hub *h = green__preload_patched();
    if (h == NULL)
        return GREEN_REAL(sem_timedwait)(s, abs);
    GREEN_PRELOAD_COUNT(sem_timedwait);
    if (!green__preload_nsec_ok(abs)) {
        errno = EINVAL;
        return -1;
    }
    return sem_wait_for(h, s, green__preload_left_until(CLOCK_REALTIME, abs));
}

int sem_clockwait(sem_t *s, clockid_t clock, const struct timespec *abs)
{
    green__hub *h = green__preload_patched();
    if (h == NULL)
        return GREEN_REAL(sem_clockwait)(s, clock, abs);
    GREEN_PRELOAD_COUNT(sem_clockwait);
    if (!green__preload_clock_ok(clock) || !green__preload_nsec_ok(abs)) {
        errno = EINVAL;
        return -1;
    }
    return sem_wait_for(h, s, green__preload_left_until(clock, abs));
}

/* The unit goes into the real semaphore; the longest green waiter is woken
 * to take it (a green thread that comes first may take it instead: the
 * waiter then waits again). */
/* sem_post is async-signal-safe: in a handler (the classic wake-up of a
 * thread that waits for a signal) only the real one, and the waiters look
 * again at the loop's next wake; the signal may have stopped the hub in the
 * middle of a change to the very queues a wake would touch. */
int sem_post(sem_t *s)
{
    if (green__preload_threads && green__preload_in_handler()) {
        int r = GREEN_REAL(sem_post)(s);
        if (r == 0)
            green__preload_posted_elsewhere();
        return r;
    }
    green__hub *h = green__preload_patched();
    int r = GREEN_REAL(sem_post)(s);
    if (h == NULL && r == 0 && green__preload_threads) {
        /* An OS thread that is not the hub (glibc's own, for a SIGEV_THREAD
         * timer's callback): as from a handler, the hub's waiters look again. */
        green__preload_posted_elsewhere();
        return 0;
    }
    if (h == NULL || r != 0)
        return r;
    GREEN_PRELOAD_COUNT(sem_post);
    sync_obj *o = obj_find(s);
    if (o == NULL)
        return 0;
    green__waiter *w = green__waitq_pop_parked(&o->q);
    if (w != NULL)
        green__wake(h, w->g, 0);
    obj_drop_idle(s);
    return 0;
}
