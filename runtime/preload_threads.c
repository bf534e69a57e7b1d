/* runtime/preload_threads.c: GREEN_PRELOAD=threads, gevent's patch_thread:
 * the threads themselves (preload_sync.c has their synchronisation).
 * pthread_create / join / detach / exit become green threads of the calling
 * hub, with their own cleanup handlers and deferred cancellation;
 * pthread_kill signals the hub's OS thread; pthread keys hold a value per
 * green thread. Calls from OS threads that are not hubs, and every call
 * without GREEN_PRELOAD=threads, go to libc.
 *
 * The pthread_t of a green thread is the address of its record with the
 * low bit set: glibc's are addresses of its aligned thread descriptors, low
 * bit clear, so the two are told apart without a lookup. pthread_self() in
 * such a thread is that handle (main's stays the OS thread's), and glibc's
 * calls that take a pthread_t (affinity, scheduling, CPU clock, attributes)
 * are given the hub's OS thread for it, or answer for the green thread. */
#include "preload.h"

#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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
    char name[16];              /* pthread_setname_np's (TASK_COMM_LEN). */
    jmp_buf exit_to;            /* pthread_exit unwinds to the trampoline. */
} preload_thread;

static void run_key_destructors(preload_thread *t);
static int join_main(green__hub *h, void **retval);

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
    green__preload_sync_thread_ended(green__preload_hub(), t->g);
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
    if (green__preload_patched() == NULL)
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

int pthread_join(pthread_t thread, void **retval)
{
    preload_thread *t = untag(thread);
    green__hub *h = green__preload_patched();
    if (h != NULL && t == NULL && pthread_equal(thread, GREEN_REAL(pthread_self)())) {
        GREEN_PRELOAD_COUNT(pthread_join);
        return join_main(h, retval);
    }
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
    green__hub *h = green__preload_patched();
    if (t == NULL || h == NULL)
        return GREEN_REAL(pthread_tryjoin_np)(thread, retval);
    GREEN_PRELOAD_COUNT(pthread_tryjoin_np);
    return !t->detached && !green_ended(t->g) ? EBUSY : join_green(h, t, retval, 1e-9);
}

int pthread_clockjoin_np(pthread_t thread, void **retval, clockid_t clock, const struct timespec *abs)
{
    preload_thread *t = untag(thread);
    green__hub *h = green__preload_patched();
    if (t == NULL || h == NULL)
        return GREEN_REAL(pthread_clockjoin_np)(thread, retval, clock, abs);
    GREEN_PRELOAD_COUNT(pthread_clockjoin_np);
    if (!green__preload_clock_ok(clock) || (abs != NULL && !green__preload_nsec_ok(abs)))
        return EINVAL;
    return join_green(h, t, retval, green__preload_left_until(clock, abs));
}

int pthread_timedjoin_np(pthread_t thread, void **retval, const struct timespec *abs)
{
    if (untag(thread) == NULL || green__preload_patched() == NULL)
        return GREEN_REAL(pthread_timedjoin_np)(thread, retval, abs);
    GREEN_PRELOAD_COUNT(pthread_timedjoin_np);
    return pthread_clockjoin_np(thread, retval, CLOCK_REALTIME, abs);
}

/* Of a green handle: that green thread goes when it ends. The OS thread's
 * handle is main's (its pthread_self()), glibc's to detach. */
int pthread_detach(pthread_t thread)
{
    green__hub *h = green__preload_patched();
    preload_thread *t = untag(thread);
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

static void run_main_key_destructors(void);

/* Main's end: its pthread_exit value, for the green threads that join it
 * (its handle is the OS thread's). */
static struct {
    bool ended;
    void *result;
    green__waitq joiners;
} main_end;

/* pthread_exit from main: its key destructors run (as glibc's), the green
 * threads that join it get its value, and the process lives on until the
 * last thread ends, then exits with status 0. Nothing wakes the main green
 * thread when the last one ends, so it checks every 10 ms. */
static _Noreturn void main_exit(green__hub *h)
{
    run_main_key_destructors();
    main_end.ended = true;
    green__waitq_wake_all(h, &main_end.joiners, 0);
    while (h->stats.alive > 0 && green_sleep(0.01) == 0)
        ;
    exit(0);
}

/* pthread_join of main's handle from a green thread: main's pthread_exit
 * value once it ended (EDEADLK for main itself, as glibc). */
static int join_main(green__hub *h, void **retval)
{
    if (h->current->flags & GREEN__MAIN)
        return EDEADLK;
    green__preload_cancel_begin(h);
    int code = 0;
    while (!main_end.ended && code == 0)
        code = green__wait_in(h, &main_end.joiners, green__waiter_get(h), GREEN_FOREVER);
    green__preload_cancel_end(h, code);
    if (!main_end.ended)
        return code == GREEN_EDEADLK ? EDEADLK : EINVAL;
    if (retval != NULL)
        *retval = main_end.result;
    return 0;
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
    *hp = green__preload_patched();
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
 * Then its pthread key destructors run. */
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
    else
        main_end.result = retval;
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
 * a green handle, or the OS thread's handle, main's pthread_self() (from
 * whichever green thread uses it), with its hub and cancellation state.
 * *g is NULL when the call is libc's. A green handle used from an OS thread
 * that is not the hub's cannot reach the hub's records: ENOTSUP. */
static int green_target(pthread_t thread, green__hub **h, green_thread **g, cancel_state **c)
{
    preload_thread *t = untag(thread);
    *h = green__preload_patched();
    *g = NULL;
    if (*h == NULL)
        return t != NULL ? ENOTSUP : 0;
    if (t != NULL) {
        *c = &t->cancel;
        *g = t->g;
    } else if (pthread_equal(thread, GREEN_REAL(pthread_self)())) {
        *c = &main_cancel;
        *g = &(*h)->main;
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
static pthread_t os_thread(pthread_t thread);

/* pthread_kill's (value NULL) and pthread_sigqueue's: fn counts the call. */
static int signal_thread(pthread_t thread, int sig, const union sigval *value, int fn)
{
    green__hub *h;
    green_thread *g;
    cancel_state *c;
    int err = green_target(thread, &h, &g, &c);
    if (err != 0)
        return err;
    if (g == NULL)
        return value != NULL ? GREEN_REAL(pthread_sigqueue)(os_thread(thread), sig, *value)
                             : GREEN_REAL(pthread_kill)(thread, sig);
    green__preload_calls[fn]++;
    if (sig < 0 || sig >= NSIG)
        return EINVAL;
    if (sig == 0 || green_ended(g))
        return 0;
    return green__preload_kill(h, g, sig, value);
}

int pthread_kill(pthread_t thread, int sig)
{
    return signal_thread(thread, sig, NULL, GREEN_PRELOAD_FN_pthread_kill);
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

/* A green thread's name is kept in its record (the OS thread's is main's),
 * with glibc's limits: 15 bytes and the NUL; ERANGE past them. */
int pthread_setname_np(pthread_t thread, const char *name)
{
    preload_thread *t = untag(thread);
    if (t == NULL)
        return GREEN_REAL(pthread_setname_np)(thread, name);
    GREEN_PRELOAD_COUNT(pthread_setname_np);
    size_t n = strlen(name);
    if (n >= sizeof t->name)
        return ERANGE;
    memcpy(t->name, name, n + 1);
    return 0;
}

int pthread_getname_np(pthread_t thread, char *name, size_t len)
{
    preload_thread *t = untag(thread);
    if (t == NULL)
        return GREEN_REAL(pthread_getname_np)(thread, name, len);
    GREEN_PRELOAD_COUNT(pthread_getname_np);
    if (len < sizeof t->name)
        return ERANGE;
    memcpy(name, t->name, strlen(t->name) + 1);
    return 0;
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
    green__hub *h = green__preload_patched();
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

/* As pthread_kill, with a value for an SA_SIGINFO handler. */
int pthread_sigqueue(pthread_t thread, int sig, const union sigval value)
{
    return signal_thread(thread, sig, &value, GREEN_PRELOAD_FN_pthread_sigqueue);
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
    if (green__preload_patched() != NULL)
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
    if (green__preload_patched() != NULL)
        GREEN_PRELOAD_COUNT(pthread_key_delete);
    __atomic_store_n(&key_destructor[key], NULL, __ATOMIC_RELAXED);
    __atomic_add_fetch(&key_gen[key], 1, __ATOMIC_RELEASE);
    return 0;
}

/* The running green thread's record when its keys are its own: NULL for
 * main, for OS threads and for calls without thread patching. */
static preload_thread *keys_owner(void)
{
    green__hub *h = green__preload_patched();
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
    /* An even generation: deleted, or made where this library did not see
     * it (glibc's own); glibc's answer for main's value, set to itself,
     * tells which (EINVAL for a key not in use). */
    if (__atomic_load_n(&key_gen[key], __ATOMIC_ACQUIRE) % 2 == 0) {
        int err = GREEN_REAL(pthread_setspecific)(key, GREEN_REAL(pthread_getspecific)(key));
        if (err != 0)
            return err;
    }
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

/* The same for main's values, which are glibc's (the OS thread's): only for
 * keys whose destructors this library saw made. */
static void run_main_key_destructors(void)
{
    for (int round = 0; round < PTHREAD_DESTRUCTOR_ITERATIONS; round++) {
        bool ran = false;
        for (unsigned k = 0; k < PTHREAD_KEYS_MAX; k++) {
            void (*destructor)(void *) = __atomic_load_n(&key_destructor[k], __ATOMIC_RELAXED);
            void *v = destructor != NULL ? GREEN_REAL(pthread_getspecific)(k) : NULL;
            if (v == NULL)
                continue;
            GREEN_REAL(pthread_setspecific)(k, NULL);
            destructor(v);
            ran = true;
        }
        if (!ran)
            break;
    }
}
