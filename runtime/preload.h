/* runtime/preload.h: what the files of libgreen-preload.so share (preload.c:
 * start-up, I/O, sleeps, name lookups, stats; preload_signals.c: handlers;
 * preload_threads.c, preload_sync.c and preload_children.c:
 * GREEN_PRELOAD=threads). Not
 * installed; nothing but the preload includes it.
 *
 * Every interposed function has a slot in one table, made from one X-macro
 * list: the real function (dlsym(RTLD_NEXT, name), resolved at first use)
 * and the count of calls that took the green path, for GREEN_PRELOAD_STATS. */
#ifndef GREEN_PRELOAD_H
#define GREEN_PRELOAD_H

#include "internal.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>

/* X(name): every libc function the preload replaces or calls through. The
 * order is the order of the stats line. */
/* clang-format off */
#define GREEN_PRELOAD_FUNCS(X)                                                    \
    X(socket) X(accept) X(accept4) X(connect) X(read) X(__read_chk)               \
    X(write) X(readv) X(writev) X(recv) X(__recv_chk) X(recvfrom)                 \
    X(__recvfrom_chk) X(recvmsg) X(send) X(sendto) X(sendmsg) X(close)            \
    X(poll) X(__poll_chk) X(ppoll) X(__ppoll_chk) X(select) X(pselect)            \
    X(sleep) X(usleep) X(nanosleep) X(clock_nanosleep) X(sigwait)                 \
    X(sigwaitinfo) X(sigtimedwait) X(getaddrinfo) X(gethostbyname)                \
    X(gethostbyname_r) X(fcntl) X(setsockopt) X(ioctl) X(pthread_create)          \
    X(pthread_join) X(pthread_detach) X(pthread_exit)                             \
    X(pthread_setname_np) X(pthread_getname_np) X(pthread_mutex_lock)             \
    X(pthread_mutex_trylock) X(pthread_mutex_timedlock)                           \
    X(pthread_mutex_unlock) X(pthread_mutex_destroy) X(pthread_cond_wait)         \
    X(pthread_cond_timedwait) X(pthread_cond_signal)                              \
    X(pthread_cond_broadcast) X(pthread_cond_destroy) X(sem_wait)                 \
    X(sem_trywait) X(sem_timedwait) X(sem_post) X(pthread_self)                   \
    X(pthread_mutex_init) X(pthread_cond_init) X(__libc_start_main) X(pipe)       \
    X(pipe2) X(socketpair) X(dup) X(dup2) X(dup3) X(epoll_wait) X(epoll_pwait)    \
    X(epoll_pwait2) X(pthread_kill) X(pthread_cancel) X(pthread_testcancel)       \
    X(pthread_setcancelstate) X(pthread_setcanceltype)                            \
    X(__pthread_register_cancel) X(__pthread_unregister_cancel)                   \
    X(__pthread_unwind_next) X(fdopen) X(posix_spawn_file_actions_adddup2)        \
    X(sendfile) X(splice) X(tee) X(sendmmsg) X(recvmmsg) X(pthread_tryjoin_np)    \
    X(pthread_timedjoin_np) X(pthread_clockjoin_np) X(pthread_cond_clockwait)     \
    X(sem_clockwait) X(sigaction) X(pthread_rwlock_rdlock)                        \
    X(pthread_rwlock_wrlock) X(pthread_rwlock_tryrdlock)                          \
    X(pthread_rwlock_trywrlock) X(pthread_rwlock_timedrdlock)                     \
    X(pthread_rwlock_timedwrlock) X(pthread_rwlock_clockrdlock)                   \
    X(pthread_rwlock_clockwrlock) X(pthread_rwlock_unlock)                        \
    X(pthread_rwlock_destroy) X(pthread_barrier_wait) X(pthread_barrier_destroy)  \
    X(pthread_key_create) X(pthread_key_delete) X(pthread_getspecific)            \
    X(pthread_setspecific) X(pthread_once) X(pthread_getattr_np)                  \
    X(pthread_getaffinity_np) X(pthread_setaffinity_np) X(pthread_getschedparam)  \
    X(pthread_setschedparam) X(pthread_setschedprio) X(pthread_getcpuclockid)     \
    X(pthread_sigqueue) X(execve) X(execv) X(execvp) X(execvpe) X(fexecve)        \
    X(pthread_spin_lock) X(pthread_spin_trylock) X(pthread_mutex_clocklock)       \
    X(pthread_rwlock_init) X(pthread_barrier_init) X(wait4) X(waitpid) X(wait)    \
    X(system) X(pthread_mutex_consistent) X(timer_create)
/* clang-format on */

enum {
#define GREEN_PRELOAD_ENUM(name) GREEN_PRELOAD_FN_##name,
    GREEN_PRELOAD_FUNCS(GREEN_PRELOAD_ENUM)
#undef GREEN_PRELOAD_ENUM
        GREEN_PRELOAD_NFUNCS
};

/* The real functions, NULL until first used, and the green-path counts.
 * Counts are plain increments: only a hub's thread makes them, and the
 * preload makes one hub (the main thread's). */
extern void *green__preload_real[GREEN_PRELOAD_NFUNCS];
extern uint64_t green__preload_calls[GREEN_PRELOAD_NFUNCS];

/* dlsym(RTLD_NEXT, name) into *slot; prints and aborts if libc lacks it. */
void *green__preload_resolve(int fn, const char *name);

/* The real name, as a pointer of name's own type. */
#define GREEN_REAL(name)                                                                    \
    ((__typeof__(&name))(GREEN_LIKELY(green__preload_real[GREEN_PRELOAD_FN_##name] != NULL) \
                             ? green__preload_real[GREEN_PRELOAD_FN_##name]                 \
                             : green__preload_resolve(GREEN_PRELOAD_FN_##name, #name)))

#define GREEN_PRELOAD_COUNT(name) (green__preload_calls[GREEN_PRELOAD_FN_##name]++)

/* The hub, when the caller is a green thread running on one; NULL for every
 * other caller (no hub on this OS thread, or the hub's own context running
 * the loop), which then goes straight to libc. */
static inline green__hub *green__preload_hub(void)
{
    green__hub *h = green__tls_hub;
    return h != NULL && h->current != NULL ? h : NULL;
}

/* GREEN_PRELOAD=threads: pthreads become green threads (preload_threads.c,
 * preload_sync.c). */
extern int green__preload_threads;

/* The hub, for a call thread patching takes: thread patching on, a green
 * caller. */
static inline green__hub *green__preload_patched(void)
{
    return green__preload_threads ? green__preload_hub() : NULL;
}

/* Seconds from now until the CLOCK_REALTIME / clock `clock` time *abs. */
double green__preload_until(clockid_t clock, const struct timespec *abs);

/* Its inverse: the `clock` time `seconds` from now. */
struct timespec green__preload_abs_in(clockid_t clock, double seconds);

/* The clocks glibc's clock variants take (EINVAL for any other), and a
 * deadline's valid nanoseconds. */
static inline bool green__preload_clock_ok(clockid_t clock)
{
    return clock == CLOCK_REALTIME || clock == CLOCK_MONOTONIC;
}

static inline bool green__preload_nsec_ok(const struct timespec *abs)
{
    return abs->tv_nsec >= 0 && abs->tv_nsec < 1000000000L;
}

/* A wait that nothing in this process ends when it may end (another
 * process's object, a child without a pidfd) looks again: from 100 µs,
 * doubling, to 10 ms. */
#define GREEN__PRELOAD_LOOK_FIRST 1e-4
#define GREEN__PRELOAD_LOOK_MAX 1e-2

static inline double green__preload_next_look(double look)
{
    return look * 2 < GREEN__PRELOAD_LOOK_MAX ? look * 2 : GREEN__PRELOAD_LOOK_MAX;
}

/* As green__preload_until, as the timed joins and waits take it: at least
 * a nanosecond (a wait of 0 does not park). NULL: none. */
static inline double green__preload_left_until(clockid_t clock, const struct timespec *abs)
{
    if (abs == NULL)
        return GREEN_FOREVER;
    double left = green__preload_until(clock, abs);
    return left > 0 ? left : 1e-9;
}

/* Deferred cancellation of green threads (pthread_cancel under thread
 * patching, preload_threads.c). The preload's cancellation points are its
 * waits: cancel_begin, before one, ends the running green thread as
 * pthread_exit(PTHREAD_CANCELED) would if a cancellation is pending and
 * enabled (it does not return then), and lets pthread_cancel wake it
 * meanwhile; cancel_end, after it, with the wait's code, ends the thread if
 * that wake was pthread_cancel's. Everything the wait registered must be
 * undone before cancel_end: it may not return. Both do nothing without
 * thread patching, and for green threads other than main and those
 * pthread_create made. */
/* Green thread g ended (preload_threads.c): what it held stays held, by
 * nobody that is alive, and a robust mutex goes to its next waiter with
 * EOWNERDEAD (preload_sync.c). */
void green__preload_sync_thread_ended(green__hub *h, green_thread *g);

void green__preload_cancel_begin(green__hub *h);
void green__preload_cancel_end(green__hub *h, int code);

/* Signals that cut a green wait short (preload_signals.c). signals_start
 * lets handled signals wake hub h's loop, signals_stop (before
 * green_fini) ends it. intr_begin, before a wait of the running green
 * thread, makes it one a signal ends with GREEN_EINTR (how: below), up to
 * intr_end, w on the waiter's stack: a
 * process's signal for the main green thread, pthread_kill's (kill: it
 * raises sig, then cuts g's wait short) for its target; the hub's loop
 * wake calls on_loop_wake (green__loop_wake_hook). */
typedef struct green__preload_intr {
    green_thread *g;            /* The waiter; NULL once the wait ended. */
    unsigned handled, handled_not_restarting;   /* The counts when it began. */
    int how;                    /* GREEN__INTR_*. */
    int held;                   /* keep is running. */
    green_loop_timer keep;
    struct green__preload_intr *prev, *next;
} green__preload_intr;

/* intr_begin's how: RESTARTS, the call restarts after an SA_RESTART
 * handler; NO_WATCHER, the wait has no fd or timer in the loop (a
 * semaphore's): while the program has a handler, a timer keeps the loop
 * waiting for a signal, where the hub would otherwise call the main green
 * thread's wait a deadlock (GREEN_EDEADLK, which sem_wait never gives). */
#define GREEN__INTR_RESTARTS 1
#define GREEN__INTR_NO_WATCHER 2

void green__preload_signals_start(green__hub *h);
void green__preload_signals_stop(void);
void green__preload_intr_begin(green__hub *h, green__preload_intr *w, int how);
void green__preload_intr_end(green__preload_intr *w);
void green__preload_on_loop_wake(green__hub *h);
/* kill: pthread_kill's (value NULL) or pthread_sigqueue's signal sig to
 * green thread g: raised on the hub's OS thread, then g's wait cut short. */
int green__preload_kill(green__hub *h, green_thread *g, int sig, const union sigval *value);
/* in_handler: this OS thread runs a program's signal handler now.
 * posted_elsewhere: a sem_post made there, or on an OS thread that is not
 * the hub, which must not touch the hub's queues: the semaphores' green
 * waiters look again at the loop's next wake. */
int green__preload_in_handler(void);
void green__preload_posted_elsewhere(void);

/* The handled signals without SA_RESTART this OS thread took so far, for
 * its blocking calls when it is no hub: one that came while it waited cuts
 * the call short. */
unsigned green__preload_not_restarting(void);

/* Set errno from a GREEN_E* code and return -1, the libc way; a timeout
 * becomes `timeout_errno`, a kill (green_fini) EINTR. errno is set last. */
int green__preload_fail(int err, int timeout_errno);

#endif /* GREEN_PRELOAD_H */
