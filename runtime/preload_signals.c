/* runtime/preload_signals.c: signals cut a green wait short, as they cut
 * a system call short (signal(7)).
 *
 * A handled signal interrupts a blocking system call: it fails with EINTR,
 * or, when the handler was installed with SA_RESTART, a read, write,
 * accept, connect, send or recv (on a socket without SO_RCVTIMEO /
 * SO_SNDTIMEO) starts again; poll, select, epoll_wait and the sleeps are
 * never restarted. Programs rely on it: alarm() to bound a read, Python
 * raising KeyboardInterrupt from a blocked accept or select. Under the
 * preload such a call is a green wait in the hub, which the kernel knows
 * nothing of, so this file tells the hub:
 *
 *  - sigaction, signal and siginterrupt install this file's trampoline in
 *    place of the program's handler (for the signals a program catches:
 *    not the synchronous SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP, SIGSYS);
 *    the trampoline runs the program's handler, then, when the hub's own
 *    OS thread took the signal, counts it and wakes the hub's loop
 *    (green_loop_wake: ev_async_send / uv_async_send, both safe in a
 *    signal handler). sigaction's old action is the program's handler, as
 *    it installed it.
 *  - the preload's waits (preload.c: fds, poll/select/epoll, sleeps;
 *    preload_sync.c: semaphores) are listed as interruptible, with
 *    whether they restart; woken by the trampoline, the hub ends the main
 *    green thread's with GREEN_EINTR when a signal came during it and the
 *    call would not have been restarted.
 *  - what a handler calls must not touch the hub, which the signal may
 *    have stopped halfway through a change: sem_post there (the
 *    async-signal-safe wake-up) posts for real, and the semaphores' green
 *    waiters look again at the loop's wake.
 *
 * The kernel cuts short the call of the OS thread that takes the signal,
 * and so does this file: a signal the hub's OS thread takes cuts short
 * the main green thread's wait (the kernel gives a process's signals to
 * the main thread first); the other green threads' waits (under thread
 * patching) go on, but for a signal pthread_kill aims at one of them,
 * which cuts that one's wait short; one another OS thread takes cuts
 * short that thread's blocking call on the preload's sockets and pipes.
 * Handlers installed through bsd_signal, sysv_signal or sigset, or before
 * the preload starts, run but interrupt nothing. */
#include "preload.h"

#include <signal.h>

/* The program's action for each signal the trampoline stands in for. */
static struct sigaction program_act[NSIG];

/* Signals the hub's OS thread handled since the start, and those of them
 * whose handler had no SA_RESTART: a wait compares them with their values
 * when it began. Only the OS thread that takes a signal has its call cut
 * short, so a signal another OS thread takes counts there alone
 * (thread_not_restarting: its own blocking calls, preload.c's wait_one). */
static unsigned handled, handled_not_restarting;
static __thread unsigned thread_not_restarting;

/* The hub the trampoline wakes: the preload's, while it runs. */
static green__hub *signal_hub;

/* Whether the program has installed a handler (the trampoline) yet. */
static int handling;

/* Whether an OS thread the preload did not make may post a semaphore: a
 * SIGEV_THREAD timer's callback runs on glibc's own thread. */
static int outside_posters;

/* The waits a signal may cut short, each on its waiter's stack, and the
 * main green thread's among them. Only the hub's thread reads or writes
 * them. */
static green__preload_intr *waits, *main_wait;

/* Set while pthread_kill raises a signal aimed at one green thread: the
 * trampoline leaves it out of the counts, which are the process's. */
static volatile sig_atomic_t directed;

static int synchronous(int sig)
{
    return sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE || sig == SIGTRAP ||
           sig == SIGSYS;
}

/* Set while this OS thread runs a program's handler: what the handler
 * calls must not touch the hub, which the signal may have interrupted
 * halfway through a change (green__preload_in_handler). */
static __thread int in_handler;

/* A sem_post made in a handler or on another OS thread: the semaphores'
 * green waiters are to look again (green__preload_posted_elsewhere). */
static int posted_elsewhere;

static void trampoline(int sig, siginfo_t *info, void *uc)
{
    int saved = errno;
    struct sigaction a = program_act[sig];
    in_handler++;
    if (a.sa_flags & SA_SIGINFO)
        a.sa_sigaction(sig, info, uc);
    else if (a.sa_handler != SIG_DFL && a.sa_handler != SIG_IGN)
        a.sa_handler(sig);
    in_handler--;
    if (!(a.sa_flags & SA_RESTART))
        thread_not_restarting++;
    green__hub *h = __atomic_load_n(&signal_hub, __ATOMIC_ACQUIRE);
    if (h != NULL && green__tls_hub == h && !directed) {
        __atomic_add_fetch(&handled, 1, __ATOMIC_SEQ_CST);
        if (!(a.sa_flags & SA_RESTART))
            __atomic_add_fetch(&handled_not_restarting, 1, __ATOMIC_SEQ_CST);
        green_loop_wake(h->loop);
    }
    errno = saved;
}

static int is_trampoline(const struct sigaction *a)
{
    return (a->sa_flags & SA_SIGINFO) && a->sa_sigaction == trampoline;
}

int sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
    if (sig <= 0 || sig >= NSIG || synchronous(sig))
        return GREEN_REAL(sigaction)(sig, act, old);
    struct sigaction before = program_act[sig];
    int r;
    if (act != NULL && !(act->sa_flags & SA_SIGINFO) &&
        (act->sa_handler == SIG_DFL || act->sa_handler == SIG_IGN)) {
        r = GREEN_REAL(sigaction)(sig, act, old);
    } else if (act != NULL) {
        /* The program's first, so that a signal from now on finds it. */
        program_act[sig] = *act;
        handling = 1;
        struct sigaction k = *act;
        k.sa_flags |= SA_SIGINFO;
        k.sa_sigaction = trampoline;
        r = GREEN_REAL(sigaction)(sig, &k, old);
        if (r != 0)
            program_act[sig] = before;
    } else {
        r = GREEN_REAL(sigaction)(sig, NULL, old);
    }
    if (r == 0 && old != NULL && is_trampoline(old))
        *old = before;
    return r;
}

/* Signals siginterrupt(sig, 1) made interrupting for later signal() calls,
 * as glibc keeps them. */
static sigset_t interrupting;

sighandler_t signal(int sig, sighandler_t handler)
{
    if (sig <= 0 || sig >= NSIG) {
        errno = EINVAL;
        return SIG_ERR;
    }
    /* glibc's signal: BSD semantics, the signal blocked in its handler. */
    struct sigaction act = { .sa_handler = handler }, old;
    sigemptyset(&act.sa_mask);
    sigaddset(&act.sa_mask, sig);
    act.sa_flags = sigismember(&interrupting, sig) ? 0 : SA_RESTART;
    if (sigaction(sig, &act, &old) != 0)
        return SIG_ERR;
    return old.sa_handler;
}

int siginterrupt(int sig, int flag)
{
    struct sigaction act;
    if (sigaction(sig, NULL, &act) != 0)
        return -1;
    if (flag) {
        sigaddset(&interrupting, sig);
        act.sa_flags &= ~SA_RESTART;
    } else {
        sigdelset(&interrupting, sig);
        act.sa_flags |= SA_RESTART;
    }
    return sigaction(sig, &act, NULL);
}

/* From the first SIGEV_THREAD timer on, every green semaphore wait keeps
 * the loop waiting (intr_begin's timer), where the hub would otherwise call
 * it a deadlock: the timer's callback may post it. */
int timer_create(clockid_t clock, struct sigevent *ev, timer_t *timer)
{
    if (ev != NULL && ev->sigev_notify == SIGEV_THREAD && green__preload_threads) {
        if (green__preload_hub() != NULL)
            GREEN_PRELOAD_COUNT(timer_create);
        __atomic_store_n(&outside_posters, 1, __ATOMIC_RELAXED);
    }
    return GREEN_REAL(timer_create)(clock, ev, timer);
}

void green__preload_signals_start(green__hub *h)
{
    green__loop_wake_hook = green__preload_on_loop_wake;
    __atomic_store_n(&signal_hub, h, __ATOMIC_RELEASE);
}

void green__preload_signals_stop(void)
{
    __atomic_store_n(&signal_hub, NULL, __ATOMIC_RELEASE);
}

static void keep_waiting(green_loop_timer *t)
{
    (void)t;        /* A timer of 30 years: it only keeps the loop waiting. */
}

void green__preload_intr_begin(green__hub *h, green__preload_intr *w, int how)
{
    w->g = h != NULL ? h->current : NULL;
    w->handled = __atomic_load_n(&handled, __ATOMIC_SEQ_CST);
    w->handled_not_restarting = __atomic_load_n(&handled_not_restarting, __ATOMIC_SEQ_CST);
    w->how = how;
    w->held = 0;
    w->prev = NULL;
    if (w->g == NULL)
        return;
    w->next = waits;
    if (waits != NULL)
        waits->prev = w;
    waits = w;
    if (w->g == &h->main)
        main_wait = w;
    if ((how & GREEN__INTR_NO_WATCHER) &&
        ((handling && w->g == &h->main) || __atomic_load_n(&outside_posters, __ATOMIC_RELAXED)))
        w->held = green_loop_timer_start(h->loop, &w->keep, 1e9, keep_waiting) == 0;
}

void green__preload_intr_end(green__preload_intr *w)
{
    if (w->held) {
        green_loop_timer_stop(green__tls_hub->loop, &w->keep);
        w->held = 0;
    }
    if (w->g == NULL)
        return;     /* Never listed, or cut short (unlisted then). */
    if (w->prev != NULL)
        w->prev->next = w->next;
    else
        waits = w->next;
    if (w->next != NULL)
        w->next->prev = w->prev;
    if (main_wait == w)
        main_wait = NULL;
    w->g = NULL;
}

/* End w's wait now: its waiter resumes with code (GREEN_EINTR, or 0 to
 * look again). */
static void end_wait(green__hub *h, green__preload_intr *w, int code)
{
    green_thread *g = w->g;
    green__preload_intr_end(w);
    green__wake(h, g, code);
}

int green__preload_in_handler(void)
{
    return in_handler;
}

void green__preload_posted_elsewhere(void)
{
    __atomic_store_n(&posted_elsewhere, 1, __ATOMIC_SEQ_CST);
    green__hub *h = __atomic_load_n(&signal_hub, __ATOMIC_ACQUIRE);
    if (h != NULL)
        green_loop_wake(h->loop);
}

/* Every semaphore wait starts again: each tries its semaphore, and those
 * still at zero wait on. */
static void recheck_semaphores(green__hub *h)
{
    for (green__preload_intr *w = waits, *next; w != NULL; w = next) {
        next = w->next;
        if ((w->how & GREEN__INTR_NO_WATCHER) && w->g->state == GREEN__WAITING)
            end_wait(h, w, 0);
    }
}

void green__preload_on_loop_wake(green__hub *h)
{
    green__preload_intr *w = main_wait;
    if (w != NULL && w->g->state == GREEN__WAITING &&
        (__atomic_load_n(&handled_not_restarting, __ATOMIC_SEQ_CST) != w->handled_not_restarting ||
         (!(w->how & GREEN__INTR_RESTARTS) && __atomic_load_n(&handled, __ATOMIC_SEQ_CST) != w->handled)))
        end_wait(h, w, GREEN_EINTR);
    /* After: the main green thread's semaphore wait, if the signal came
     * during it, ends as glibc's does, with EINTR unless it was posted. */
    if (__atomic_exchange_n(&posted_elsewhere, 0, __ATOMIC_SEQ_CST))
        recheck_semaphores(h);
}

unsigned green__preload_not_restarting(void)
{
    return thread_not_restarting;
}

int green__preload_kill(green__hub *h, green_thread *g, int sig, const union sigval *value)
{
    directed = 1;
    pthread_t self = GREEN_REAL(pthread_self)();
    int err = value != NULL ? GREEN_REAL(pthread_sigqueue)(self, sig, *value)
                            : GREEN_REAL(pthread_kill)(self, sig);
    directed = 0;
    struct sigaction now;
    if (err != 0 || GREEN_REAL(sigaction)(sig, NULL, &now) != 0 || !is_trampoline(&now))
        return err;     /* Ignored, or the default action: nothing to cut short. */
    for (green__preload_intr *w = waits; w != NULL; w = w->next) {
        if (w->g == g) {
            if (g->state == GREEN__WAITING &&
                (!(w->how & GREEN__INTR_RESTARTS) || !(program_act[sig].sa_flags & SA_RESTART)))
                end_wait(h, w, GREEN_EINTR);
            break;
        }
    }
    return 0;
}
