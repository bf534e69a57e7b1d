/* runtime/preload_threads.c: GREEN_PRELOAD=threads, gevent's patch_thread.
 * pthread_create / join / detach / exit become green threads of the calling
 * hub (with their own cleanup handlers and deferred cancellation;
 * pthread_kill signals the hub's OS thread), pthread keys hold a value per
 * green thread, and pthread_once, mutexes, condition variables, rwlocks,
 * barriers and semaphores become green-aware: a fast path, then a wait in
 * the hub in a queue keyed by the object's address, never a spin. Calls
 * from OS threads that are not hubs, and every call without
 * GREEN_PRELOAD=threads, go to libc.
 *
 * The pthread_t of a green thread is the address of its record with the
 * low bit set: glibc's are addresses of its aligned thread descriptors, low
 * bit clear, so the two are told apart without a lookup. pthread_self() in
 * such a thread is that handle (main's stays the OS thread's), and glibc's
 * calls that take a pthread_t (affinity, scheduling, CPU clock, attributes)
 * are given the hub's OS thread for it, or answer for the green thread.
 *
 * All green threads share one OS thread, so the real mutex's owner check
 * (a TID) cannot tell them apart: mutexes keep their owner and count here,
 * in a side table keyed by address, for every kind (normal, recursive,
 * error-checking). The real mutex is never locked; nor are rwlocks (their
 * writer, readers and kind's order here) and barriers (arrivals here, the
 * count read from glibc's barrier). Semaphores keep their
 * value in the real sem_t (sem_trywait is the fast path; sem_getvalue,
 * sem_init and sem_destroy work unchanged). */
#include "preload.h"

#include <limits.h>
#include <semaphore.h>
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- the side table: wait queues (and mutex owners) by address ---- */

typedef struct sync_obj {
    const void *key;
    green_thread *owner;        /* Mutexes: the holder; rwlocks: the writer. */
    unsigned count;             /* Mutexes: recursive depth; rwlocks: readers
                                   in; barriers: threads arrived. */
    green__waitq q;             /* Green threads waiting on it (rwlocks: writers). */
    green__waitq readers;       /* Rwlocks: readers waiting. */
    struct sync_obj *next_free;
} sync_obj;

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
    if (o == NULL || o->owner != NULL || o->count != 0 || o->q.head != NULL || o->readers.head != NULL)
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

/* The hub, for a patched call: thread patching on, a green caller. */
static inline green__hub *patched(void)
{
    return green__preload_threads ? green__preload_hub() : NULL;
}

/* ---- threads ---- */

/* A green thread's cancellation state (pthread_cancel: deferred only) and
 * its cleanup handlers (pthread_cleanup_push). */
typedef struct cancel_state {
    uint8_t pending;            /* pthread_cancel came, not yet acted on. */
    uint8_t disabled;           /* PTHREAD_CANCEL_DISABLE. */
    uint8_t async;              /* PTHREAD_CANCEL_ASYNCHRONOUS, as set (acted on as deferred). */
    uint8_t waiting;            /* Parked at a cancellation point. */
    __pthread_unwind_buf_t *cleanup;    /* The innermost handler's buffer. */
} cancel_state;

/* A green thread's value of one pthread key, valid while gen matches the
 * key's (a deleted key's number may come back from pthread_key_create). */
typedef struct specific {
    void *value;
    unsigned gen;
} specific;

typedef struct preload_thread {
    green_thread *g;
    void *(*fn)(void *);
    void *arg;
    void *result;
    int detached;
    cancel_state cancel;
    specific *specific;         /* Its pthread_setspecific values, by key. */
    unsigned nspecific;
    jmp_buf exit_to;            /* pthread_exit unwinds to the trampoline. */
} preload_thread;

static void run_key_destructors(preload_thread *t);

static inline pthread_t tag(preload_thread *t)
{
    return (pthread_t)((uintptr_t)t | 1);
}

static inline preload_thread *untag(pthread_t t)
{
    return (t & 1) ? (preload_thread *)(uintptr_t)(t & ~(pthread_t)1) : NULL;
}

static pthread_t hub_thread;    /* The OS thread of the hub that runs them. */

static void *trampoline(void *arg)
{
    preload_thread *t = arg;
    if (setjmp(t->exit_to) == 0)
        t->result = t->fn(t->arg);
    run_key_destructors(t);
    void *r = t->result;
    if (t->detached) {          /* Nobody will join: the handle goes now. */
        green_release(t->g);
        free(t);
    }
    return r;
}

/* The record of the running green thread, if pthread_create made it. */
static preload_thread *self_record(green__hub *h)
{
    green_thread *g = h->current;
    return g->fn == trampoline ? g->arg : NULL;
}

static int detach_state(const pthread_attr_t *attr)
{
    int st = PTHREAD_CREATE_JOINABLE;
    if (attr != NULL)
        pthread_attr_getdetachstate(attr, &st);
    return st == PTHREAD_CREATE_DETACHED;
}

/* Stack-size attributes are ignored: the hub has one stack size. */
int pthread_create(pthread_t *thread, const pthread_attr_t *attr, void *(*fn)(void *), void *arg)
{
    if (patched() == NULL)
        return GREEN_REAL(pthread_create)(thread, attr, fn, arg);
    GREEN_PRELOAD_COUNT(pthread_create);
    hub_thread = GREEN_REAL(pthread_self)();
    preload_thread *t = calloc(1, sizeof *t);
    if (t == NULL)
        return EAGAIN;
    t->fn = fn;
    t->arg = arg;
    t->detached = detach_state(attr);
    if (green_spawn(&t->g, trampoline, t) != 0) {
        free(t);
        return EAGAIN;
    }
    *thread = tag(t);
    return 0;
}

/* Join green handle t, waiting at most timeout seconds (GREEN_FOREVER: no
 * limit): 0, ETIMEDOUT, EDEADLK or EINVAL, as glibc's joins. */
static int join_green(green__hub *h, preload_thread *t, void **retval, double timeout)
{
    if (t->detached)
        return EINVAL;
    green__preload_cancel_begin(h);
    int err = green_join(t->g, timeout, NULL);
    green__preload_cancel_end(h, err);
    if (err != 0)
        return err == GREEN_ETIMEDOUT ? ETIMEDOUT : err == GREEN_EDEADLK ? EDEADLK : EINVAL;
    if (retval != NULL)
        *retval = t->result;
    green_release(t->g);
    free(t);
    return 0;
}

/* A deadline on clock as seconds left, as the timed joins and waits take
 * it: at least a nanosecond (a wait of 0 does not park). NULL: none. */
static double left_until(clockid_t clock, const struct timespec *abs)
{
    if (abs == NULL)
        return GREEN_FOREVER;
    double left = green__preload_until(clock, abs);
    return left > 0 ? left : 1e-9;
}

int pthread_join(pthread_t thread, void **retval)
{
    preload_thread *t = untag(thread);
    green__hub *h = patched();
    if (t == NULL || h == NULL)
        return GREEN_REAL(pthread_join)(thread, retval);
    GREEN_PRELOAD_COUNT(pthread_join);
    return join_green(h, t, retval, GREEN_FOREVER);
}

/* The GNU joins: given a green handle, glibc would free it as a struct
 * pthread of its own (a crash). */
int pthread_tryjoin_np(pthread_t thread, void **retval)
{
    preload_thread *t = untag(thread);
    green__hub *h = patched();
    if (t == NULL || h == NULL)
        return GREEN_REAL(pthread_tryjoin_np)(thread, retval);
    GREEN_PRELOAD_COUNT(pthread_tryjoin_np);
    return !t->detached && !green_ended(t->g) ? EBUSY : join_green(h, t, retval, 1e-9);
}

int pthread_clockjoin_np(pthread_t thread, void **retval, clockid_t clock, const struct timespec *abs)
{
    preload_thread *t = untag(thread);
    green__hub *h = patched();
    if (t == NULL || h == NULL)
        return GREEN_REAL(pthread_clockjoin_np)(thread, retval, clock, abs);
    GREEN_PRELOAD_COUNT(pthread_clockjoin_np);
    if (abs != NULL && (abs->tv_nsec < 0 || abs->tv_nsec >= 1000000000L))
        return EINVAL;
    return join_green(h, t, retval, left_until(clock, abs));
}

int pthread_timedjoin_np(pthread_t thread, void **retval, const struct timespec *abs)
{
    if (untag(thread) == NULL || patched() == NULL)
        return GREEN_REAL(pthread_timedjoin_np)(thread, retval, abs);
    GREEN_PRELOAD_COUNT(pthread_timedjoin_np);
    return pthread_clockjoin_np(thread, retval, CLOCK_REALTIME, abs);
}

/* Of a green handle (pthread_self() in a green thread pthread_create made),
 * or of the OS thread's handle called from such a thread: that green
 * thread goes when it ends. */
int pthread_detach(pthread_t thread)
{
    green__hub *h = patched();
    preload_thread *t = untag(thread);
    if (h != NULL && t == NULL && pthread_equal(thread, GREEN_REAL(pthread_self)()))
        t = self_record(h);
    if (h == NULL || t == NULL)
        return GREEN_REAL(pthread_detach)(thread);
    GREEN_PRELOAD_COUNT(pthread_detach);
    if (t->detached)
        return EINVAL;
    if (green_ended(t->g)) {
        green_release(t->g);
        free(t);
        return 0;
    }
    t->detached = 1;
    return 0;
}

/* pthread_exit from main: the process lives on until the last thread ends,
 * then exits with status 0. Nothing wakes the main green thread when the
 * last one ends, so it checks every 10 ms. */
static _Noreturn void main_exit(green__hub *h)
{
    while (h->stats.alive > 0 && green_sleep(0.01) == 0)
        ;
    exit(0);
}

/* The main green thread's state: main is no pthread_create's. */
static cancel_state main_cancel;

/* The cancellation state of the running green thread, NULL when it has
 * none (a green thread neither main nor made by pthread_create). */
static cancel_state *cancel_of(green__hub *h)
{
    if (h->current->flags & GREEN__MAIN)
        return &main_cancel;
    preload_thread *t = self_record(h);
    return t != NULL ? &t->cancel : NULL;
}

/* The running green thread's hub (*hp) and cancellation state, under thread
 * patching; NULL when the call is libc's to answer. */
static cancel_state *own_cancel(green__hub **hp)
{
    *hp = patched();
    return *hp != NULL ? cancel_of(*hp) : NULL;
}

/* ---- cleanup handlers ----
 * pthread_cleanup_push, in C built without -fexceptions, is a macro that
 * sets a jump buffer and registers it with __pthread_register_cancel.
 * glibc links those buffers per OS thread, which green threads share and
 * would interleave: a green thread's are linked here, in its own list,
 * through the buffer's spare words as glibc links them. Ending a green
 * thread (pthread_exit, a cancellation) jumps to its innermost buffer; the
 * macro there runs the handler and calls __pthread_unwind_next, which jumps
 * to the next one, and after the last to the end of the thread. C++
 * (destructors, its pthread_cleanup_push) and C built with -fexceptions
 * need the unwinder's forced unwinding instead: their handlers do not run. */

/* longjmp to a cleanup buffer: glibc's own jump, under a name that takes the
 * buffer's type (it holds only the jmp_buf and mask flag of a jmp_buf, all
 * that a jump with no saved mask reads), as glibc's header declares
 * __sigsetjmp_cancel. */
extern _Noreturn void cleanup_longjmp(struct __cancel_jmp_buf_tag env[1], int val) __asm__("longjmp");

static _Noreturn void unwind(green__hub *h, cancel_state *c)
{
    __pthread_unwind_buf_t *b = c->cleanup;
    if (b != NULL) {
        c->cleanup = b->__pad[0];
        cleanup_longjmp(b->__cancel_jmp_buf, 1);
    }
    if (h->current->flags & GREEN__MAIN)
        main_exit(h);
    longjmp(self_record(h)->exit_to, 1);   /* Back to its trampoline, on its own stack. */
}

void __pthread_register_cancel(__pthread_unwind_buf_t *b)
{
    green__hub *h;
    cancel_state *c = own_cancel(&h);
    if (c == NULL) {
        GREEN_REAL(__pthread_register_cancel)(b);
        return;
    }
    GREEN_PRELOAD_COUNT(__pthread_register_cancel);
    b->__pad[0] = c->cleanup;
    c->cleanup = b;
}

void __pthread_unregister_cancel(__pthread_unwind_buf_t *b)
{
    green__hub *h;
    cancel_state *c = own_cancel(&h);
    if (c == NULL) {
        GREEN_REAL(__pthread_unregister_cancel)(b);
        return;
    }
    GREEN_PRELOAD_COUNT(__pthread_unregister_cancel);
    c->cleanup = b->__pad[0];
}

void __pthread_unwind_next(__pthread_unwind_buf_t *b)
{
    green__hub *h;
    cancel_state *c = own_cancel(&h);
    if (c == NULL)
        GREEN_REAL(__pthread_unwind_next)(b);
    GREEN_PRELOAD_COUNT(__pthread_unwind_next);
    unwind(h, c);
}

/* From main or a green thread pthread_create made: its cleanup handlers
 * run, then it ends (main: the process ends when the last thread has).
 * Then its pthread key destructors run (main: glibc's, at exit). */
void pthread_exit(void *retval)
{
    green__hub *h;
    cancel_state *c = own_cancel(&h);
    if (c == NULL) {
        GREEN_REAL(pthread_exit)(retval);
        __builtin_unreachable();
    }
    GREEN_PRELOAD_COUNT(pthread_exit);
    if (!(h->current->flags & GREEN__MAIN))
        self_record(h)->result = retval;
    unwind(h, c);
}

/* ---- signals and cancellation ---- */

/* End the running green thread as pthread_exit(PTHREAD_CANCELED) does. */
static _Noreturn void cancel_act(cancel_state *c)
{
    c->pending = 0;
    pthread_exit(PTHREAD_CANCELED);
}

void green__preload_cancel_begin(green__hub *h)
{
    cancel_state *c = h != NULL && green__preload_threads ? cancel_of(h) : NULL;
    if (c == NULL)
        return;
    if (c->pending && !c->disabled)
        cancel_act(c);
    c->waiting = 1;
}

void green__preload_cancel_end(green__hub *h, int code)
{
    cancel_state *c = h != NULL && green__preload_threads ? cancel_of(h) : NULL;
    if (c == NULL)
        return;
    c->waiting = 0;
    /* Only a wake by pthread_cancel: a wait that ended otherwise (its data
     * came, the thread it joined ended) returns what it got, and the
     * cancellation is acted on at the next cancellation point. */
    if (code == GREEN_ECANCELED && c->pending && !c->disabled)
        cancel_act(c);
}

/* The green thread a pthread_t names, for pthread_kill and pthread_cancel:
 * a green handle, or the OS thread's handle (main's pthread_self(), which
 * is taken to be the caller, as pthread_detach takes it), with its hub and
 * cancellation
 * state. *g is NULL when the call is libc's. A green handle used from an
 * OS thread that is not the hub's cannot reach the hub's records: ENOTSUP. */
static int green_target(pthread_t thread, green__hub **h, green_thread **g, cancel_state **c)
{
    preload_thread *t = untag(thread);
    *h = patched();
    *g = NULL;
    if (*h == NULL)
        return t != NULL ? ENOTSUP : 0;
    if (t != NULL) {
        *c = &t->cancel;
        *g = t->g;
    } else if (pthread_equal(thread, GREEN_REAL(pthread_self)())) {
        *c = cancel_of(*h);
        *g = *c != NULL ? (*h)->current : NULL;
    }
    return 0;
}

/* A green thread cannot take a signal of its own: every green thread runs
 * on the hub's OS thread, so pthread_kill delivers the signal to that
 * thread (the real pthread_kill on it), whose handler then runs on whichever
 * green thread is running; a wait of the target's it would have cut short,
 * it cuts short (preload_signals.c). Signal 0 asks whether the thread exists: 0
 * while it runs and, as glibc answers since 2.34, after it ended until it
 * is joined (a joined handle must not be used at all). */
int pthread_kill(pthread_t thread, int sig)
{
    green__hub *h;
    green_thread *g;
    cancel_state *c;
    int err = green_target(thread, &h, &g, &c);
    if (err != 0)
        return err;
    if (g == NULL)
        return GREEN_REAL(pthread_kill)(thread, sig);
    GREEN_PRELOAD_COUNT(pthread_kill);
    if (sig < 0 || sig >= NSIG)
        return EINVAL;
    if (sig == 0 || green_ended(g))
        return 0;
    return green__preload_kill(h, g, sig);
}

/* Deferred cancellation: the thread is marked, and woken if it is parked at
 * one of the preload's cancellation points (its waits; wait_fds, the
 * sleeps, pthread_join, pthread_cond_wait, sem_wait, pthread_testcancel),
 * where it then ends as pthread_exit(PTHREAD_CANCELED) would; if it is
 * anywhere else (running, or waiting for a mutex, which is no cancellation
 * point) the mark waits for its next one. Not green_kill: a kill is sticky
 * and would make its waits for mutexes fail too. Its cleanup handlers run
 * (see above). A green handle from another OS thread: ENOTSUP (green_target). */
int pthread_cancel(pthread_t thread)
{
    green__hub *h;
    green_thread *g;
    cancel_state *c;
    int err = green_target(thread, &h, &g, &c);
    if (err != 0)
        return err;
    if (g == NULL)
        return GREEN_REAL(pthread_cancel)(thread);
    GREEN_PRELOAD_COUNT(pthread_cancel);
    if (green_ended(g))
        return 0;               /* As glibc: ended, not yet joined. */
    c->pending = 1;
    if (c->waiting && !c->disabled)
        green__wake(h, g, GREEN_ECANCELED);
    return 0;
}

void pthread_testcancel(void)
{
    green__hub *h;
    cancel_state *c = own_cancel(&h);
    if (c == NULL) {
        GREEN_REAL(pthread_testcancel)();
        return;
    }
    GREEN_PRELOAD_COUNT(pthread_testcancel);
    if (c->pending && !c->disabled)
        cancel_act(c);
}

/* Set one of a cancellation state's two-valued settings, *flag, to value
 * (off or on, else EINVAL), giving the one it had in *old. */
static int swap_setting(uint8_t *flag, int value, int off, int on, int *old)
{
    if (value != off && value != on)
        return EINVAL;
    if (old != NULL)
        *old = *flag ? on : off;
    *flag = value == on;
    return 0;
}

/* Per green thread; the OS thread's own state is left alone. Not a
 * cancellation point, as in glibc. */
int pthread_setcancelstate(int state, int *old)
{
    green__hub *h;
    cancel_state *c = own_cancel(&h);
    if (c == NULL)
        return GREEN_REAL(pthread_setcancelstate)(state, old);
    GREEN_PRELOAD_COUNT(pthread_setcancelstate);
    return swap_setting(&c->disabled, state, PTHREAD_CANCEL_ENABLE, PTHREAD_CANCEL_DISABLE, old);
}

/* Asynchronous cancellation cannot be had (nothing may interrupt a green
 * thread between its waits): the type is kept and shown, and cancellation
 * stays deferred. */
int pthread_setcanceltype(int type, int *old)
{
    green__hub *h;
    cancel_state *c = own_cancel(&h);
    if (c == NULL)
        return GREEN_REAL(pthread_setcanceltype)(type, old);
    GREEN_PRELOAD_COUNT(pthread_setcanceltype);
    return swap_setting(&c->async, type, PTHREAD_CANCEL_DEFERRED, PTHREAD_CANCEL_ASYNCHRONOUS, old);
}

/* Names of green threads are not kept: the OS thread's is the one tools
 * show, and it is the hub's. */
int pthread_setname_np(pthread_t thread, const char *name)
{
    if (untag(thread) == NULL)
        return GREEN_REAL(pthread_setname_np)(thread, name);
    GREEN_PRELOAD_COUNT(pthread_setname_np);
    return 0;
}

int pthread_getname_np(pthread_t thread, char *name, size_t len)
{
    if (untag(thread) == NULL)
        return GREEN_REAL(pthread_getname_np)(thread, name, len);
    GREEN_PRELOAD_COUNT(pthread_getname_np);
    if (len == 0)
        return ERANGE;
    name[0] = '\0';
    return 0;
}

/* The destroy calls' green part (fn counts it): true while the object is
 * held or waited on, which glibc's own check cannot see. */
static bool in_use(const void *key, int fn)
{
    if (patched() == NULL)
        return false;
    green__preload_calls[fn]++;
    return obj_find(key) != NULL;
}

/* ---- identity ----
 * A green thread pthread_create made is told apart by its own handle, as
 * gevent's patch_thread makes threading.get_ident the greenlet's: Python's
 * threading (get_ident is pthread_self) then knows each of its threads, and
 * a thread's pthread_self equals the handle its creator got. Main, and any
 * caller that is not such a green thread, gets the OS thread's. The calls
 * of glibc that would dereference a green handle are given the hub's OS
 * thread instead, or answer for the green thread (pthread_getattr_np). */

pthread_t pthread_self(void)
{
    green__hub *h = patched();
    preload_thread *t = h != NULL ? self_record(h) : NULL;
    return t != NULL ? tag(t) : GREEN_REAL(pthread_self)();
}

/* The OS thread behind a handle: a green handle's is the hub's. */
static pthread_t os_thread(pthread_t thread)
{
    return untag(thread) != NULL ? hub_thread : thread;
}

/* Its green stack and detach state (its guard page below the stack). */
int pthread_getattr_np(pthread_t thread, pthread_attr_t *attr)
{
    preload_thread *t = untag(thread);
    if (t == NULL)
        return GREEN_REAL(pthread_getattr_np)(thread, attr);
    GREEN_PRELOAD_COUNT(pthread_getattr_np);
    int err = pthread_attr_init(attr);
    if (err != 0)
        return err;
    pthread_attr_setdetachstate(attr, t->detached ? PTHREAD_CREATE_DETACHED : PTHREAD_CREATE_JOINABLE);
    pthread_attr_setguardsize(attr, (size_t)sysconf(_SC_PAGESIZE));
    green_stack *stack = t->g->stack;
    return stack != NULL ? pthread_attr_setstack(attr, stack->base, stack->size) : 0;
}

int pthread_getaffinity_np(pthread_t thread, size_t size, cpu_set_t *set)
{
    return GREEN_REAL(pthread_getaffinity_np)(os_thread(thread), size, set);
}

int pthread_setaffinity_np(pthread_t thread, size_t size, const cpu_set_t *set)
{
    return GREEN_REAL(pthread_setaffinity_np)(os_thread(thread), size, set);
}

int pthread_getschedparam(pthread_t thread, int *policy, struct sched_param *param)
{
    return GREEN_REAL(pthread_getschedparam)(os_thread(thread), policy, param);
}

int pthread_setschedparam(pthread_t thread, int policy, const struct sched_param *param)
{
    return GREEN_REAL(pthread_setschedparam)(os_thread(thread), policy, param);
}

int pthread_setschedprio(pthread_t thread, int prio)
{
    return GREEN_REAL(pthread_setschedprio)(os_thread(thread), prio);
}

int pthread_getcpuclockid(pthread_t thread, clockid_t *clock)
{
    return GREEN_REAL(pthread_getcpuclockid)(os_thread(thread), clock);
}

int pthread_sigqueue(pthread_t thread, int sig, const union sigval value)
{
    return GREEN_REAL(pthread_sigqueue)(os_thread(thread), sig, value);
}

/* ---- thread-specific data ----
 * pthread keys are per green thread, as gevent's patch_thread makes
 * threading.local per greenlet: each green thread pthread_create made keeps
 * its values in its record, and its destructors run when it ends. The main
 * green thread keeps glibc's, the OS thread's, so that values set before
 * main (constructors) stay its own and glibc runs their destructors at
 * exit. Keys come from glibc; their destructors are noted here for every
 * pthread_key_create, patched or not. */

static void (*key_destructor[PTHREAD_KEYS_MAX])(void *);
static unsigned key_gen[PTHREAD_KEYS_MAX];  /* Bumped by each create and delete. */

int pthread_key_create(pthread_key_t *key, void (*destructor)(void *))
{
    int err = GREEN_REAL(pthread_key_create)(key, destructor);
    if (err != 0 || *key >= PTHREAD_KEYS_MAX)
        return err;
    if (patched() != NULL)
        GREEN_PRELOAD_COUNT(pthread_key_create);
    __atomic_store_n(&key_destructor[*key], destructor, __ATOMIC_RELAXED);
    __atomic_add_fetch(&key_gen[*key], 1, __ATOMIC_RELEASE);
    return 0;
}

int pthread_key_delete(pthread_key_t key)
{
    int err = GREEN_REAL(pthread_key_delete)(key);
    if (err != 0 || key >= PTHREAD_KEYS_MAX)
        return err;
    if (patched() != NULL)
        GREEN_PRELOAD_COUNT(pthread_key_delete);
    __atomic_store_n(&key_destructor[key], NULL, __ATOMIC_RELAXED);
    __atomic_add_fetch(&key_gen[key], 1, __ATOMIC_RELEASE);
    return 0;
}

/* The running green thread's record when its keys are its own: NULL for
 * main, for OS threads and for calls without thread patching. */
static preload_thread *keys_owner(void)
{
    green__hub *h = patched();
    return h != NULL ? self_record(h) : NULL;
}

void *pthread_getspecific(pthread_key_t key)
{
    preload_thread *t = keys_owner();
    if (t == NULL)
        return GREEN_REAL(pthread_getspecific)(key);
    GREEN_PRELOAD_COUNT(pthread_getspecific);
    if (key >= t->nspecific || t->specific[key].gen != __atomic_load_n(&key_gen[key], __ATOMIC_ACQUIRE))
        return NULL;
    return t->specific[key].value;
}

int pthread_setspecific(pthread_key_t key, const void *value)
{
    preload_thread *t = keys_owner();
    if (t == NULL)
        return GREEN_REAL(pthread_setspecific)(key, value);
    GREEN_PRELOAD_COUNT(pthread_setspecific);
    if (key >= PTHREAD_KEYS_MAX)
        return EINVAL;
    if (key >= t->nspecific) {
        unsigned n = t->nspecific != 0 ? t->nspecific : 8;
        while (n <= key)
            n *= 2;
        specific *more = realloc(t->specific, n * sizeof *more);
        if (more == NULL)
            return ENOMEM;
        memset(more + t->nspecific, 0, (n - t->nspecific) * sizeof *more);
        t->specific = more;
        t->nspecific = n;
    }
    t->specific[key] =
        (specific){ .value = (void *)value, .gen = __atomic_load_n(&key_gen[key], __ATOMIC_ACQUIRE) };
    return 0;
}

/* As glibc at a thread's end: each non-NULL value of a key that has a
 * destructor is cleared and handed to it, in rounds while destructors set
 * values again, at most PTHREAD_DESTRUCTOR_ITERATIONS of them. */
static void run_key_destructors(preload_thread *t)
{
    for (int round = 0; round < PTHREAD_DESTRUCTOR_ITERATIONS; round++) {
        bool ran = false;
        for (unsigned k = 0; k < t->nspecific; k++) {
            void (*destructor)(void *) = __atomic_load_n(&key_destructor[k], __ATOMIC_RELAXED);
            void *v = t->specific[k].value;
            if (v == NULL || destructor == NULL ||
                t->specific[k].gen != __atomic_load_n(&key_gen[k], __ATOMIC_ACQUIRE))
                continue;
            t->specific[k].value = NULL;
            destructor(v);
            ran = true;
        }
        if (!ran)
            break;
    }
    free(t->specific);
    t->specific = NULL;
    t->nspecific = 0;
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
    green__hub *h = patched();
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

/* ---- mutexes ---- */

/* glibc keeps the type in __kind (PTHREAD_MUTEX_KIND_MASK_NP: low 2 bits). */
static int mutex_kind(const pthread_mutex_t *m)
{
    return m->__data.__kind & 3;
}

/* Take m for the running green thread, waiting up to timeout. Returns 0
 * or an errno value. The unlocker hands the mutex straight to the longest
 * waiter (owner set before it runs), so no later locker can overtake it. */
static int mutex_lock(green__hub *h, pthread_mutex_t *m, double timeout)
{
    sync_obj *o = obj_get(m);
    if (o == NULL)
        return ENOMEM;
    green_thread *me = h->current;
    if (o->owner == NULL) {
        o->owner = me;
        o->count = 1;
        return 0;
    }
    if (o->owner == me) {
        int kind = mutex_kind(m);
        if (kind == PTHREAD_MUTEX_RECURSIVE)
            return o->count == UINT32_MAX ? EAGAIN : (o->count++, 0);
        /* Error-checking: EDEADLK. A normal mutex would hang for ever;
         * failing is kinder and no correct program sees it. */
        return EDEADLK;
    }
    if (timeout == 0)
        return EBUSY;
    green__waiter *w = green__waiter_get(h);
    int code = green__wait_in(h, &o->q, w, timeout);
    if (code == 0)
        return 0;               /* Handed over. */
    obj_drop_idle(m);           /* o may be gone: look it up again. */
    return code == GREEN_ETIMEDOUT ? ETIMEDOUT : code == GREEN_EDEADLK ? EDEADLK : EINTR;
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

static int mutex_unlock(green__hub *h, pthread_mutex_t *m)
{
    sync_obj *o = obj_find(m);
    if (o == NULL || o->owner != h->current)
        return EPERM;
    if (--o->count == 0)
        mutex_release(h, o);
    return 0;
}

int pthread_mutex_lock(pthread_mutex_t *m)
{
    green__hub *h = patched();
    if (h == NULL)
        return GREEN_REAL(pthread_mutex_lock)(m);
    GREEN_PRELOAD_COUNT(pthread_mutex_lock);
    return mutex_lock(h, m, GREEN_FOREVER);
}

int pthread_mutex_trylock(pthread_mutex_t *m)
{
    green__hub *h = patched();
    if (h == NULL)
        return GREEN_REAL(pthread_mutex_trylock)(m);
    GREEN_PRELOAD_COUNT(pthread_mutex_trylock);
    int err = mutex_lock(h, m, 0);
    return err == EDEADLK ? EBUSY : err;
}

int pthread_mutex_timedlock(pthread_mutex_t *m, const struct timespec *abs)
{
    green__hub *h = patched();
    if (h == NULL)
        return GREEN_REAL(pthread_mutex_timedlock)(m, abs);
    GREEN_PRELOAD_COUNT(pthread_mutex_timedlock);
    if (abs->tv_nsec < 0 || abs->tv_nsec >= 1000000000L)
        return EINVAL;
    int err = mutex_lock(h, m, left_until(CLOCK_REALTIME, abs));
    return err == EBUSY ? ETIMEDOUT : err;
}

int pthread_mutex_unlock(pthread_mutex_t *m)
{
    green__hub *h = patched();
    if (h == NULL)
        return GREEN_REAL(pthread_mutex_unlock)(m);
    GREEN_PRELOAD_COUNT(pthread_mutex_unlock);
    return mutex_unlock(h, m);
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
    mutex_release(h, mo);
    int code = green__block(h, timeout);
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
    green__hub *h = patched();
    if (h == NULL)
        return GREEN_REAL(pthread_cond_wait)(c, m);
    GREEN_PRELOAD_COUNT(pthread_cond_wait);
    return cond_wait(h, c, m, GREEN_FOREVER);
}

int pthread_cond_timedwait(pthread_cond_t *c, pthread_mutex_t *m, const struct timespec *abs)
{
    green__hub *h = patched();
    if (h == NULL)
        return GREEN_REAL(pthread_cond_timedwait)(c, m, abs);
    GREEN_PRELOAD_COUNT(pthread_cond_timedwait);
    if (abs->tv_nsec < 0 || abs->tv_nsec >= 1000000000L)
        return EINVAL;
    return cond_wait(h, c, m, left_until(cond_clock(c), abs));
}

int pthread_cond_clockwait(pthread_cond_t *c, pthread_mutex_t *m, clockid_t clock,
                           const struct timespec *abs)
{
    green__hub *h = patched();
    if (h == NULL)
        return GREEN_REAL(pthread_cond_clockwait)(c, m, clock, abs);
    GREEN_PRELOAD_COUNT(pthread_cond_clockwait);
    if (abs->tv_nsec < 0 || abs->tv_nsec >= 1000000000L)
        return EINVAL;
    return cond_wait(h, c, m, left_until(clock, abs));
}

int pthread_cond_signal(pthread_cond_t *c)
{
    green__hub *h = patched();
    if (h == NULL)
        return GREEN_REAL(pthread_cond_signal)(c);
    GREEN_PRELOAD_COUNT(pthread_cond_signal);
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
    green__hub *h = patched();
    if (h == NULL)
        return GREEN_REAL(pthread_cond_broadcast)(c);
    GREEN_PRELOAD_COUNT(pthread_cond_broadcast);
    sync_obj *o = obj_find(c);
    if (o == NULL)
        return 0;
    green__waitq_wake_all(h, &o->q, 0);
    obj_drop_idle(c);
    return 0;
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
    if ((clock != CLOCK_REALTIME && clock != CLOCK_MONOTONIC) || abs->tv_nsec < 0 ||
        abs->tv_nsec >= 1000000000L)
        return EINVAL;
    int err = rwlock_lock(h, l, writing, left_until(clock, abs));
    return err == EBUSY ? ETIMEDOUT : err;
}

/* The eight lock calls, each the same few lines around rwlock_lock. */
#define RWLOCK_LOCK(name, writing)                        \
    int name(pthread_rwlock_t *l)                         \
    {                                                     \
        green__hub *h = patched();                        \
        if (h == NULL)                                    \
            return GREEN_REAL(name)(l);                   \
        GREEN_PRELOAD_COUNT(name);                        \
        return rwlock_lock(h, l, writing, GREEN_FOREVER); \
    }
#define RWLOCK_TRY(name, writing)                \
    int name(pthread_rwlock_t *l)                \
    {                                            \
        green__hub *h = patched();               \
        if (h == NULL)                           \
            return GREEN_REAL(name)(l);          \
        GREEN_PRELOAD_COUNT(name);               \
        int err = rwlock_lock(h, l, writing, 0); \
        return err == EDEADLK ? EBUSY : err;     \
    }
#define RWLOCK_TIMED(name, writing)                                   \
    int name(pthread_rwlock_t *l, const struct timespec *abs)         \
    {                                                                 \
        green__hub *h = patched();                                    \
        if (h == NULL)                                                \
            return GREEN_REAL(name)(l, abs);                          \
        GREEN_PRELOAD_COUNT(name);                                    \
        return rwlock_lock_until(h, l, writing, CLOCK_REALTIME, abs); \
    }
#define RWLOCK_CLOCK(name, writing)                                            \
    int name(pthread_rwlock_t *l, clockid_t clock, const struct timespec *abs) \
    {                                                                          \
        green__hub *h = patched();                                             \
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
    green__hub *h = patched();
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
    green__hub *h = patched();
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

int pthread_barrier_destroy(pthread_barrier_t *b)
{
    return in_use(b, GREEN_PRELOAD_FN_pthread_barrier_destroy) ? EBUSY
                                                               : GREEN_REAL(pthread_barrier_destroy)(b);
}

/* ---- semaphores ---- */

/* sem_trywait, then park until a sem_post wakes us, and try again. Returns
 * 0 or -1 with errno, as sem_wait: EINTR when a signal cuts the wait short,
 * SA_RESTART or not, unless the semaphore was posted meanwhile, as glibc's
 * sem_wait does (signal(7) says it restarts; it does not); Python's lock
 * acquire counts on it for KeyboardInterrupt. */
static int sem_wait_for(green__hub *h, sem_t *s, double timeout)
{
    green__deadline d = { .timeout = timeout };
    int saved = errno;
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
        green__preload_intr intr;
        green__preload_intr_begin(h, &intr, GREEN__INTR_NO_WATCHER);
        int code = green__wait_in(h, &o->q, green__waiter_get(h), left);
        green__preload_intr_end(&intr);
        obj_drop_idle(s);
        green__preload_cancel_end(h, code);
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
    green__hub *h = patched();
    if (h == NULL)
        return GREEN_REAL(sem_wait)(s);
    GREEN_PRELOAD_COUNT(sem_wait);
    return sem_wait_for(h, s, GREEN_FOREVER);
}

int sem_trywait(sem_t *s)
{
    if (patched() != NULL)
        GREEN_PRELOAD_COUNT(sem_trywait);
    return GREEN_REAL(sem_trywait)(s);
}

int sem_timedwait(sem_t *s, const struct timespec *abs)
{
    green__hub *h = patched();
    if (h == NULL)
        return GREEN_REAL(sem_timedwait)(s, abs);
    GREEN_PRELOAD_COUNT(sem_timedwait);
    if (abs->tv_nsec < 0 || abs->tv_nsec >= 1000000000L) {
        errno = EINVAL;
        return -1;
    }
    return sem_wait_for(h, s, left_until(CLOCK_REALTIME, abs));
}

int sem_clockwait(sem_t *s, clockid_t clock, const struct timespec *abs)
{
    green__hub *h = patched();
    if (h == NULL)
        return GREEN_REAL(sem_clockwait)(s, clock, abs);
    GREEN_PRELOAD_COUNT(sem_clockwait);
    if (abs->tv_nsec < 0 || abs->tv_nsec >= 1000000000L) {
        errno = EINVAL;
        return -1;
    }
    return sem_wait_for(h, s, left_until(clock, abs));
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
            green__preload_posted_in_handler();
        return r;
    }
    green__hub *h = patched();
    int r = GREEN_REAL(sem_post)(s);
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
