/* runtime/preload.c: libgreen-preload.so, gevent's monkey.patch_all for C.
 * Loaded with LD_PRELOAD, it wraps __libc_start_main so that main runs as
 * the main green thread of a hub (green_init before, green_fini after), and
 * replaces libc's blocking socket and pipe calls, poll/select/epoll_wait,
 * sleeps and name lookups with cooperative ones: a green thread that would
 * block parks in the hub and the others run. GREEN_PRELOAD=threads makes
 * pthreads green too (preload_threads.c, preload_sync.c).
 *
 *   LD_PRELOAD=build/lib/libgreen-preload.so [GREEN_PRELOAD=threads]
 *     [GREEN_PRELOAD_STATS=1] [GREEN_PRELOAD_STACK_KIB=64] [GREEN_RESOLVER=ares]
 *     ./some-blocking-program
 *
 * Only green callers are patched. Every other caller (libgreen's resolver
 * workers, OS threads the program makes without thread patching, the hub
 * running its loop, constructors before main) goes straight to libc.
 *
 * Blocking semantics are libc's, as the program sees them. The sockets,
 * pipes and socket pairs the program makes (socket, accept, accept4, pipe,
 * pipe2, socketpair) are recorded in a table indexed by fd and are really
 * O_NONBLOCK; F_GETFL (through fcntl or fcntl64, the name programs built
 * with _FILE_OFFSET_BITS=64 call) shows the flag the program set (O_NONBLOCK,
 * SOCK_NONBLOCK; O_CLOEXEC is passed on). On one it left blocking: connect
 * waits and returns the real result (EINPROGRESS only after SO_SNDTIMEO,
 * as socket(7) says), send/write/sendfile write everything (sendmmsg
 * each of its messages), reads and accepts wait (recvmmsg for all its
 * messages, or the first with MSG_WAITFORONE), splice and tee wait for
 * their source of the table to fill or destination to drain (not with
 * SPLICE_F_NONBLOCK), SO_RCVTIMEO / SO_SNDTIMEO give EAGAIN after the timeout;
 * one it made non-blocking answers EAGAIN as usual. dup, dup2, dup3 and
 * F_DUPFD share the entry: O_NONBLOCK belongs to the open file
 * description, so F_SETFL on one dup shows on all. A close, or a
 * dup2/dup3 onto the fd, wakes the green threads that wait on it (they
 * see EBADF); dup2 of an fd onto itself does nothing. An fd of the table
 * dup'ed onto 0, 1 or 2, given to fdopen or to
 * posix_spawn_file_actions_adddup2 is used where the preload cannot see
 * it (stdio, an exec'd program): it is made blocking for real again and
 * leaves the table (see fd_release). A pipe left open (not close-on-exec)
 * across an exec is opened anew, blocking (reopen_inherited_pipes). Fds the preload did not see
 * made (files, sockets from before main) pass straight through and may
 * block the OS thread. poll/select check without blocking first, then
 * wait in the hub for any of their fds or the timeout; epoll_wait,
 * epoll_pwait and epoll_pwait2 do the same with the epoll fd itself (the
 * fds registered in it are left as the program made them); the signal
 * masks of ppoll, pselect, epoll_pwait and epoll_pwait2 are not applied.
 * sigwait, sigwaitinfo and sigtimedwait wait in the hub on a signalfd (a
 * program's signal thread must not stop the hub).
 *
 * Green threads get libgreen's stack size (64 KiB) unless
 * GREEN_PRELOAD_STACK_KIB says otherwise; programs written for pthreads'
 * 8 MiB often need more (siege: 1024; pthread_attr_setstacksize is not
 * heeded), and an overflow is reported (the message names
 * GREEN_PRELOAD_STACK_KIB) and aborts: at the guard page, or below the
 * stack for a frame larger than a page, unless that frame lands in another
 * mapping (green.h). They are private stacks, whatever GREEN_STACKS
 * says (green_main says why; a copy mode is said to be ignored); a
 * GREEN_STACKS that green_init would refuse is refused here too.
 *
 * A blocking socket or pipe of the table used from an OS thread that is not
 * a hub still blocks (through poll(2)), a cancellation point there as the
 * real call is.
 *
 * What cannot work:
 *  - static binaries (no dynamic loader) and setuid/setgid binaries (the
 *    loader ignores LD_PRELOAD for them);
 *  - raw syscall(2), io_uring, and inline system calls: nothing to
 *    interpose, so they block the OS thread, hub and all;
 *  - calls made inside libc (getaddrinfo's own sockets, popen's pipe and
 *    pclose's wait for its child, fclose's close, stdio's read/write on
 *    FILEs) bypass the PLT and are not seen: a FILE over a socket or pipe
 *    blocks the OS thread, and an
 *    fd of the table that stdio closes stays in the table (harmless until
 *    the number is reused by something that is not a socket or pipe);
 *  - a socket of the table that an exec'd program inherits (not as fd 0,
 *    1 or 2) stays O_NONBLOCK for real there, as do pipes and sockets
 *    a posix_spawn'ed one inherits: a program that does not see the
 *    preload gets EAGAIN where it expects to block (pipes an exec'd
 *    program inherits are opened anew, blocking);
 *  - under thread patching, __thread variables are per hub, shared by all
 *    green threads (pthread_key values and pthread_self() are each green
 *    thread's own: preload_threads.c); gettid() and the TID in
 *    /proc/self/task are the OS thread's for all of them;
 *    stdio FILE locks and libc's internal locks belong to
 *    the OS thread, so a green thread that blocks while holding one
 *    (flockfile, then a patched read) deadlocks with the next green
 *    thread that takes it; with OS threads that are not hubs (glibc's
 *    own, for a SIGEV_THREAD timer's callback) green threads share only
 *    semaphores (their sem_post wakes green waiters; after timer_create of
 *    such a timer a green semaphore wait is never called a deadlock): a
 *    mutex is locked among the green threads alone (it excludes no such
 *    thread) and a condition such a thread signals wakes no green waiter;
 *  - under thread patching, cancellation is deferred only (asynchronous
 *    is taken as deferred) and is acted on at the preload's waits (fds,
 *    sleeps, join, condition variables, semaphores) and
 *    pthread_testcancel, not at a call that did not have to wait; cleanup
 *    handlers run for C built without -fexceptions only (C++ destructors
 *    and -fexceptions cleanups need forced unwinding, which a green stack
 *    does not give); pthread_kill signals the hub's OS thread, whichever
 *    green thread then runs the handler; pthread_kill and pthread_cancel
 *    of a green thread from an OS thread that is not the hub fail with
 *    ENOTSUP;
 *  - a handled signal cuts short only the main green thread's wait (fds,
 *    poll/select/epoll, sleeps, semaphores: EINTR, or restarted after an
 *    SA_RESTART handler as signal(7) and glibc do; preload_signals.c),
 *    or, sent with pthread_kill, its target's, and only for handlers
 *    installed with sigaction, signal or siginterrupt after the preload
 *    started; other green threads' waits go on;
 *  - fds that exist before main are not patched: they block the OS thread;
 *  - calls this file does not list (vmsplice, aio, ...) go to libc: on a
 *    socket or pipe of the table, really non-blocking, one that would
 *    block fails with EAGAIN where the program expects a wait;
 *  - C11 threads (thrd_create, mtx_lock, cnd_wait) reach glibc's pthread
 *    code inside libc, past the PLT: they stay OS threads under thread
 *    patching (their blocking calls then go straight to libc);
 *  - fork() gives the child a copy of the parent's hub, loop fd included:
 *    a child that goes on using patched calls is not supported (one that
 *    calls exec is fine; LD_PRELOAD then patches the new program too),
 *    though semaphores, mutexes and conditions shared between the two
 *    work both ways (preload_sync.c: a green waiter on a process-shared
 *    one looks again every 100 µs to 10 ms; Python's multiprocessing locks
 *    and queues); a process-shared rwlock or barrier is kept among the
 *    green threads alone and excludes no other process;
 *  - thread patching under AddressSanitizer: its runtime must come first in
 *    LD_PRELOAD, so its pthread_create runs before this one and starts its
 *    thread bookkeeping on a green stack of the same OS thread, which it
 *    refuses (the rest of the preload works under ASan);
 *  - returning from main with green threads still running ends the process
 *    (as it does with pthreads): green_fini is called only when none is left. */
#include "preload.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/sendfile.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

/* The fortified twins and the start-up hook: glibc exports them but its
 * headers do not declare them all. */
ssize_t __read_chk(int fd, void *buf, size_t nbytes, size_t buflen);
ssize_t __recv_chk(int fd, void *buf, size_t len, size_t buflen, int flags);
ssize_t __recvfrom_chk(int fd, void *buf, size_t len, size_t buflen, int flags, struct sockaddr *addr,
                       socklen_t *addrlen);
int __poll_chk(struct pollfd *fds, nfds_t nfds, int timeout, size_t fdslen);
int __ppoll_chk(struct pollfd *fds, nfds_t nfds, const struct timespec *timeout, const sigset_t *ss,
                size_t fdslen);
_Noreturn void __chk_fail(void);
typedef int main_fn(int, char **, char **);
int __libc_start_main(main_fn *main, int argc, char **argv, void (*init)(void), void (*fini)(void),
                      void (*rtld_fini)(void), void *stack_end);

void *green__preload_real[GREEN_PRELOAD_NFUNCS];
uint64_t green__preload_calls[GREEN_PRELOAD_NFUNCS];
int green__preload_threads;

static const char *const func_names[GREEN_PRELOAD_NFUNCS] = {
#define GREEN_PRELOAD_NAME(name) #name,
    GREEN_PRELOAD_FUNCS(GREEN_PRELOAD_NAME)
#undef GREEN_PRELOAD_NAME
};

/* dlsym takes no interposed function, so this cannot recurse; two threads
 * resolving at once store the same pointer. */
void *green__preload_resolve(int fn, const char *name)
{
    void *p = dlsym(RTLD_NEXT, name);
    if (p == NULL) {
        fprintf(stderr, "libgreen-preload: libc has no %s\n", name);
        abort();
    }
    __atomic_store_n(&green__preload_real[fn], p, __ATOMIC_RELEASE);
    return p;
}

/* Resolve every real function at load time, before the program or any
 * library runs: a first dlsym from inside an interposer can come while the
 * caller holds a lock that dlsym's own locking then waits for (seen with
 * AddressSanitizer's runtime preloaded first). The lazy path stays for
 * calls made before this constructor runs, and for epoll_pwait2, which
 * glibc has only from 2.35 (a program that calls it has it). */
__attribute__((constructor(101))) static void resolve_all(void)
{
    for (int i = 0; i < GREEN_PRELOAD_NFUNCS; i++)
        if (green__preload_real[i] == NULL && i != GREEN_PRELOAD_FN_epoll_pwait2)
            green__preload_resolve(i, func_names[i]);
}

int green__preload_fail(int err, int timeout_errno)
{
    if (err == GREEN_ETIMEDOUT)
        err = -timeout_errno;
    else if (err == GREEN_ECANCELED)
        err = GREEN_EINTR;
    errno = -err;
    return -1;
}

struct timespec green__preload_abs_in(clockid_t clock, double seconds)
{
    struct timespec t;
    clock_gettime(clock, &t);
    time_t whole = (time_t)seconds;
    t.tv_sec += whole;
    t.tv_nsec += (long)((seconds - (double)whole) * 1e9);
    if (t.tv_nsec >= 1000000000L) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000L;
    }
    return t;
}

double green__preload_until(clockid_t clock, const struct timespec *abs)
{
    struct timespec now;
    if (clock_gettime(clock, &now) != 0)
        return 0;               /* No such clock: a deadline already past. */
    double left = (double)(abs->tv_sec - now.tv_sec) + (abs->tv_nsec - now.tv_nsec) * 1e-9;
    return left > 0 ? left : 0;
}

/* ---- the runtime's own libc calls ----
 * The runtime objects in this library are linked with --wrap=NAME for each
 * function below that they call, so they reach libc directly, never these
 * interposers (a green_connect inside connect() would recurse, and the
 * resolver's pthread mutex, shared with real worker threads, must stay
 * real). */
#define GREEN_PRELOAD_WRAP(ret, name, params, args)                 \
    __attribute__((visibility("hidden"))) ret __wrap_##name params; \
    ret __wrap_##name params                                        \
    {                                                               \
        return GREEN_REAL(name) args;                               \
    }

GREEN_PRELOAD_WRAP(int, accept4, (int fd, struct sockaddr *a, socklen_t *l, int f), (fd, a, l, f))
GREEN_PRELOAD_WRAP(int, connect, (int fd, const struct sockaddr *a, socklen_t l), (fd, a, l))
GREEN_PRELOAD_WRAP(ssize_t, read, (int fd, void *b, size_t n), (fd, b, n))
GREEN_PRELOAD_WRAP(ssize_t, write, (int fd, const void *b, size_t n), (fd, b, n))
GREEN_PRELOAD_WRAP(ssize_t, recv, (int fd, void *b, size_t n, int f), (fd, b, n, f))
GREEN_PRELOAD_WRAP(ssize_t, send, (int fd, const void *b, size_t n, int f), (fd, b, n, f))
GREEN_PRELOAD_WRAP(int, close, (int fd), (fd))
GREEN_PRELOAD_WRAP(int, poll, (struct pollfd * p, nfds_t n, int t), (p, n, t))
GREEN_PRELOAD_WRAP(int, getaddrinfo,
                   (const char *n, const char *s, const struct addrinfo *h, struct addrinfo **r),
                   (n, s, h, r))
GREEN_PRELOAD_WRAP(int, pthread_create,
                   (pthread_t * t, const pthread_attr_t *a, void *(*f)(void *), void *x), (t, a, f, x))
GREEN_PRELOAD_WRAP(int, pthread_join, (pthread_t t, void **r), (t, r))
GREEN_PRELOAD_WRAP(int, pthread_mutex_lock, (pthread_mutex_t * m), (m))
GREEN_PRELOAD_WRAP(int, pthread_mutex_unlock, (pthread_mutex_t * m), (m))
GREEN_PRELOAD_WRAP(int, pthread_mutex_destroy, (pthread_mutex_t * m), (m))
GREEN_PRELOAD_WRAP(int, pthread_cond_wait, (pthread_cond_t * c, pthread_mutex_t *m), (c, m))
GREEN_PRELOAD_WRAP(int, pthread_cond_signal, (pthread_cond_t * c), (c))
GREEN_PRELOAD_WRAP(int, pthread_cond_broadcast, (pthread_cond_t * c), (c))

/* fcntl is variadic: its one optional argument is an int or a pointer, both
 * passed in a register, so passing it on as a pointer passes either. */
__attribute__((visibility("hidden"))) int __wrap_fcntl(int fd, int cmd, ...);
int __wrap_fcntl(int fd, int cmd, ...)
{
    va_list ap;
    va_start(ap, cmd);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    return GREEN_REAL(fcntl)(fd, cmd, arg);
}

/* ---- the fd table ---- */

typedef struct fd_waiter fd_waiter;

/* An fd the program made with socket, accept, pipe or socketpair, or a dup
 * of one. O_NONBLOCK belongs to the open file description and the timeouts
 * to the socket, so every fd of one description shows the same: the dups
 * are linked in a ring and a change is made on all of them, as the kernel
 * makes it once for all. */
typedef struct preload_fd {
    uint8_t known;          /* Made by the program as above: really O_NONBLOCK. */
    uint8_t user_nonblock;  /* O_NONBLOCK as the program set it. */
    int dup_next;           /* The next fd of the ring; itself when alone. */
    double rcv_timeout;     /* SO_RCVTIMEO in seconds; GREEN_FOREVER: none; 0: no wait. */
    double snd_timeout;     /* SO_SNDTIMEO. */
    fd_waiter *waiters;     /* Green threads parked on this fd (known or not). */
} preload_fd;

static preload_fd *fd_table;
static int fd_table_size;
static int fd_high = -1;        /* The highest fd ever in the table. */

/* Sized by RLIMIT_NOFILE at start-up (calloc: pages are touched only when
 * used); higher fds are passed through. */
static int fd_table_init(void)
{
    struct rlimit rl;
    rlim_t n = 65536;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur > n)
        n = rl.rlim_cur;
    if (n > (1u << 20))
        n = 1u << 20;
    fd_table = calloc(n, sizeof *fd_table);
    if (fd_table == NULL)
        return GREEN_ENOMEM;
    fd_table_size = (int)n;
    return 0;
}

static inline preload_fd *fd_entry(int fd)
{
    return fd >= 0 && fd < fd_table_size ? &fd_table[fd] : NULL;
}

/* The entry of a socket of the table that the program left blocking: the
 * calls on it that the preload emulates. NULL: pass the call through. */
static inline preload_fd *blocking_fd(int fd)
{
    preload_fd *p = fd_entry(fd);
    return p != NULL && p->known && !p->user_nonblock ? p : NULL;
}

/* Take fd out of the table (closed, or about to name another file): out of
 * its ring too. The walk is bounded: two threads that close and dup one
 * description at once (a race in the program) must not make it endless. */
static void fd_forget(int fd)
{
    preload_fd *p = fd_entry(fd);
    if (p == NULL || !p->known)
        return;
    p->known = 0;
    int prev = fd;
    for (int i = 0; i < fd_table_size && fd_table[prev].dup_next != fd; i++)
        prev = fd_table[prev].dup_next;
    fd_table[prev].dup_next = p->dup_next;
    p->dup_next = fd;
}

/* A new fd the program made (an fd stdio closed behind the preload's back
 * may come back: its old entry goes first). The timeouts of an accepted
 * socket are its listener's, as the kernel copies them. */
static void fd_record(int fd, int user_nonblock, const preload_fd *inherit)
{
    preload_fd *p = fd_entry(fd);
    if (p == NULL)
        return;
    fd_forget(fd);
    if (fd > fd_high)
        fd_high = fd;
    p->known = 1;
    p->user_nonblock = user_nonblock != 0;
    p->dup_next = fd;
    p->rcv_timeout = inherit != NULL ? inherit->rcv_timeout : GREEN_FOREVER;
    p->snd_timeout = inherit != NULL ? inherit->snd_timeout : GREEN_FOREVER;
}

/* A standard stream is written by stdio inside libc and handed to every
 * program the process execs, none of which see the preload: a description
 * dup'ed onto fd 0, 1 or 2 (the child's end of a pipe, before exec, most
 * often) becomes blocking again for real, unless the program made it
 * non-blocking, and leaves the table with all its fds. Green threads that
 * use them then block the OS thread, as they did before the preload. */
static void fd_release(int fd)
{
    preload_fd *p = fd_entry(fd);
    if (!p->user_nonblock) {
        int fl = GREEN_REAL(fcntl)(fd, F_GETFL);
        if (fl >= 0)
            GREEN_REAL(fcntl)(fd, F_SETFL, fl & ~O_NONBLOCK);
    }
    for (int i = 0; i < fd_table_size && p->known; i++)
        fd_forget(p->dup_next != fd ? p->dup_next : fd);
}

/* nfd was just made a dup of fd (dup, dup2, dup3, F_DUPFD): the same
 * description, so the same entry, in fd's ring; or out of the table if fd
 * is not in it. */
static void fd_dup(int fd, int nfd)
{
    preload_fd *p = fd_entry(fd);
    preload_fd *q = fd_entry(nfd);
    if (q == NULL || p == q)
        return;
    fd_forget(nfd);
    if (p == NULL || !p->known)
        return;
    if (nfd > fd_high)
        fd_high = nfd;
    q->known = 1;
    q->user_nonblock = p->user_nonblock;
    q->rcv_timeout = p->rcv_timeout;
    q->snd_timeout = p->snd_timeout;
    q->dup_next = p->dup_next;
    p->dup_next = nfd;
    if (nfd <= STDERR_FILENO)
        fd_release(nfd);
}

enum fd_setting { SET_NONBLOCK, SET_RCVTIMEO, SET_SNDTIMEO };

/* O_NONBLOCK (F_SETFL, FIONBIO) or a timeout as the program sets it, on
 * every dup of p. */
static void fd_set_all(preload_fd *p, enum fd_setting what, double value)
{
    preload_fd *q = p;
    for (int i = 0; i < fd_table_size; i++) {
        if (what == SET_NONBLOCK)
            q->user_nonblock = value != 0;
        else if (what == SET_RCVTIMEO)
            q->rcv_timeout = value;
        else
            q->snd_timeout = value;
        q = &fd_table[q->dup_next];
        if (q == p)
            break;
    }
}

/* ---- waiting on fds in the hub ---- */

struct fd_waiter {
    green_loop_io io;
    green_thread *g;
    fd_waiter *next;        /* In its fd's list. */
    int fd;
    int events;             /* GREEN_LOOP_READ / _WRITE asked. */
};

static void on_ready(green_loop_io *io, int revents)
{
    (void)revents;
    green__wake(green__tls_hub, ((fd_waiter *)io)->g, 0);
}

static void waiter_unlink(fd_waiter *w)
{
    preload_fd *p = fd_entry(w->fd);
    if (p == NULL)
        return;
    for (fd_waiter **pp = &p->waiters; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == w) {
            *pp = w->next;
            return;
        }
    }
}

static void waiters_stop(green__hub *h, fd_waiter *ws, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        green_loop_io_stop(h->loop, &ws[i].io);
        waiter_unlink(&ws[i]);
    }
}

/* Park the running green thread until one of the n fds is ready, one is
 * closed (GREEN_EBADF), the timeout passes, a signal cuts the wait short
 * (GREEN_EINTR; preload_signals.c: how, GREEN__INTR_RESTARTS or 0, says
 * whether an SA_RESTART handler's signal lets it go on) or it is killed; a
 * cancellation point (pthread_cancel may end the thread here). The fds were
 * just found not ready, so the loop may take them as pollable. Returns 0
 * (ready) or the error; errno as it was (the hub's loop leaves EINTR in it
 * after a signal). */
static int wait_fds(green__hub *h, fd_waiter *ws, size_t n, double timeout, int how)
{
    int saved = errno;
    green__preload_cancel_begin(h);
    for (size_t i = 0; i < n; i++) {
        ws[i].g = h->current;
        int err =
            green_loop_io_start(h->loop, &ws[i].io, ws[i].fd, ws[i].events | GREEN_LOOP_POLLABLE, on_ready);
        if (err != 0) {
            waiters_stop(h, ws, i);
            return err;
        }
        preload_fd *p = fd_entry(ws[i].fd);
        if (p != NULL) {
            ws[i].next = p->waiters;
            p->waiters = &ws[i];
        }
    }
    green__preload_intr intr;
    green__preload_intr_begin(h, &intr, how);
    int code = green__block(h, timeout);
    green__preload_intr_end(&intr);
    waiters_stop(h, ws, n);
    errno = saved;
    green__preload_cancel_end(h, code);
    return code;
}

/* close(2) of an fd green threads wait on: stop their watchers (the loop
 * must not watch a closed fd) and wake them with GREEN_EBADF. */
static void wake_fd_waiters(green__hub *h, preload_fd *p)
{
    fd_waiter *w;
    while ((w = p->waiters) != NULL) {
        p->waiters = w->next;
        green_loop_io_stop(h->loop, &w->io);
        green__wake(h, w->g, GREEN_EBADF);
    }
}

/* Wait for one fd of the table with deadline d, or for no longer than
 * `look` seconds (negative: no such cap; a wait cut short by it returns 0):
 * in the hub for a green caller, in poll(2) for any other (the socket is
 * non-blocking for real, but the program asked for a blocking one). With
 * fd -1 it only sleeps: for what no fd tells, the caller looks again.
 * Returns 0 or GREEN_E*. */
static int wait_upto(green__hub *h, int fd, int events, green__deadline *d, double look)
{
    double left = green__time_left(d);
    if (left == 0)
        return GREEN_ETIMEDOUT;
    double slice = look >= 0 && (left < 0 || look < left) ? look : left;
    if (h != NULL) {
        if (green__killed(h))
            return GREEN_ECANCELED;
        fd_waiter w = { .fd = fd, .events = events };
        /* signal(7): restarted after an SA_RESTART handler, unless the
         * socket has SO_RCVTIMEO / SO_SNDTIMEO (d's timeout). */
        int err = wait_fds(h, &w, fd >= 0, slice, green__unlimited(d->timeout) ? GREEN__INTR_RESTARTS : 0);
        return err == GREEN_ETIMEDOUT && slice != left ? 0 : err;
    }
    struct pollfd p = { .fd = fd, .events = (short)(events & GREEN_READ ? POLLIN : POLLOUT) };
    int ms = slice < 0 ? -1 : (int)(slice * 1000 + 0.999);
    unsigned before = green__preload_not_restarting();
    if (GREEN_REAL(poll)(&p, 1, ms) < 0) {
        if (errno != EINTR)
            return -errno;
        /* The blocking call this poll stands for would have been cut short
         * too, unless every handler that ran had SA_RESTART and it restarts. */
        if (green__preload_not_restarting() != before || !green__unlimited(d->timeout))
            return GREEN_EINTR;
    }
    return 0;
}

static int wait_one(green__hub *h, int fd, int events, green__deadline *d)
{
    return wait_upto(h, fd, events, d, GREEN_FOREVER);
}

/* ---- blocking I/O on the table's sockets ---- */

enum io_op {
    OP_READ,
    OP_RECVFROM,
    OP_RECVMSG,
    OP_READV,
    OP_WRITE,
    OP_SENDTO,
    OP_SENDMSG,
    OP_WRITEV,
    OP_SENDFILE,
    OP_SPLICE,
    OP_TEE
};

/* One call, as the program made it; iov/msg are advanced by a partial
 * write (on copies). */
typedef struct io_call {
    enum io_op op;
    int fd;
    int flags;
    void *buf;
    size_t len;
    struct sockaddr *addr;
    socklen_t *addrlen;
    const struct sockaddr *to;
    socklen_t tolen;
    struct msghdr *msg;
    struct iovec *iov;
    int iovcnt;
    int in_fd;                  /* sendfile's, splice's and tee's source, and its offset. */
    off_t *offset;
    off_t *out_offset;          /* splice's destination's offset. */
} io_call;

static ssize_t attempt(io_call *c)
{
    switch (c->op) {
    case OP_READ: return GREEN_REAL(read)(c->fd, c->buf, c->len);
    case OP_RECVFROM: return GREEN_REAL(recvfrom)(c->fd, c->buf, c->len, c->flags, c->addr, c->addrlen);
    case OP_RECVMSG: return GREEN_REAL(recvmsg)(c->fd, c->msg, c->flags);
    case OP_READV: return GREEN_REAL(readv)(c->fd, c->iov, c->iovcnt);
    case OP_WRITE: return GREEN_REAL(write)(c->fd, c->buf, c->len);
    case OP_SENDTO: return GREEN_REAL(sendto)(c->fd, c->buf, c->len, c->flags, c->to, c->tolen);
    case OP_SENDMSG: return GREEN_REAL(sendmsg)(c->fd, c->msg, c->flags);
    case OP_WRITEV: return GREEN_REAL(writev)(c->fd, c->iov, c->iovcnt);
    case OP_SENDFILE: return GREEN_REAL(sendfile)(c->fd, c->in_fd, c->offset, c->len);
    case OP_SPLICE:
        return GREEN_REAL(splice)(c->in_fd, c->offset, c->fd, c->out_offset, c->len, (unsigned)c->flags);
    case OP_TEE: return GREEN_REAL(tee)(c->in_fd, c->fd, c->len, (unsigned)c->flags);
    }
    return -1;
}

/* A call that succeeded after tries that failed: errno as the program
 * left it, as the one blocking system call would (EAGAIN stayed there). */
static inline ssize_t success(int saved_errno, ssize_t n)
{
    errno = saved_errno;
    return n;
}

/* Drop `done` bytes from the front of an iovec array (a copy). */
static void iov_advance(struct iovec **iov, int *cnt, size_t done)
{
    while (*cnt > 0 && done >= (*iov)->iov_len) {
        done -= (*iov)->iov_len;
        (*iov)++;
        (*cnt)--;
    }
    if (*cnt > 0) {
        (*iov)->iov_base = (char *)(*iov)->iov_base + done;
        (*iov)->iov_len -= done;
    }
}

static size_t iov_total(const struct iovec *iov, int cnt)
{
    size_t n = 0;
    for (int i = 0; i < cnt; i++)
        n += iov[i].iov_len;
    return n;
}

/* Move past `n` bytes just written, for the next attempt. */
static void io_advance(io_call *c, size_t n)
{
    if (c->op == OP_SENDMSG || c->op == OP_RECVMSG) {
        c->msg->msg_control = NULL;     /* Ancillary data went with the first part. */
        c->msg->msg_controllen = 0;
        int cnt = (int)c->msg->msg_iovlen;
        iov_advance(&c->msg->msg_iov, &cnt, n);
        c->msg->msg_iovlen = (size_t)cnt;
    } else if (c->op == OP_WRITEV) {
        iov_advance(&c->iov, &c->iovcnt, n);
    } else {
        c->buf = (char *)c->buf + n;
        c->len -= n;
    }
}

/* A blocking write of any kind writes everything, as the kernel does for a
 * blocking stream socket, unless SO_SNDTIMEO or an error stops it: then
 * the count written so far, or -1 (EAGAIN after the timeout) if none. */
static ssize_t blocking_out(green__hub *h, preload_fd *p, io_call *c, size_t len)
{
    green__deadline d = { .timeout = p->snd_timeout };
    size_t done = 0;
    int saved = errno;
    int waited = 0;
    double look = 0;
    for (;;) {
        ssize_t n = attempt(c);
        if (n >= 0) {
            done += (size_t)n;
            if (done >= len || n == 0)  /* 0: sendfile's source ended */
                return success(saved, (ssize_t)done);
            io_advance(c, (size_t)n);
            waited = 0;
            look = 0;
            continue;
        }
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return done > 0 ? (ssize_t)done : -1;
        /* An unconnected unix datagram socket is writable whatever the
         * queue of the peer it sends to holds: EAGAIN again after a wait
         * means the fd will not tell, so look again from 100 µs to 10 ms
         * (a wait for writable would return at once, a spin). */
        if (waited)
            look = look > 0 ? green__preload_next_look(look) : GREEN__PRELOAD_LOOK_FIRST;
        waited = 1;
        int err = look > 0 ? wait_upto(h, -1, 0, &d, look) : wait_one(h, c->fd, GREEN_WRITE, &d);
        if (err != 0)
            return done > 0 ? (ssize_t)done : green__preload_fail(err, EAGAIN);
    }
}

/* writev/sendmsg copy the caller's iovec array before a partial write
 * advances it; a small one on the stack. */
#define IOV_STACK 16

static ssize_t blocking_out_iov(green__hub *h, preload_fd *p, io_call *c, const struct iovec *iov, int cnt)
{
    struct iovec small[IOV_STACK];
    struct iovec *copy = cnt <= IOV_STACK ? small : malloc((size_t)cnt * sizeof *copy);
    if (copy == NULL)
        return green__preload_fail(GREEN_ENOMEM, 0);
    memcpy(copy, iov, (size_t)cnt * sizeof *copy);
    if (c->op == OP_WRITEV) {
        c->iov = copy;
        c->iovcnt = cnt;
    } else {
        c->msg->msg_iov = copy;
    }
    ssize_t n = blocking_out(h, p, c, iov_total(iov, cnt));
    int saved = errno;
    if (copy != small)
        free(copy);
    errno = saved;
    return n;
}

/* MSG_WAITALL on a stream socket, a read of n bytes short of the length
 * asked: the kernel's blocking read would go on (for a datagram the flag
 * means nothing; with MSG_PEEK the first read is left as it is). */
static int wants_all(const io_call *c, size_t n)
{
    if ((c->op != OP_RECVFROM && c->op != OP_RECVMSG) || !(c->flags & MSG_WAITALL) || (c->flags & MSG_PEEK))
        return 0;
    size_t len = c->op == OP_RECVMSG ? iov_total(c->msg->msg_iov, (int)c->msg->msg_iovlen) : c->len;
    int type = 0;
    socklen_t tl = sizeof type;
    return n < len && getsockopt(c->fd, SOL_SOCKET, SO_TYPE, &type, &tl) == 0 && type == SOCK_STREAM;
}

/* The rest of a MSG_WAITALL read whose first `done` bytes came: on into
 * what is left of the buffers (a copy of the iovec array; the address and
 * ancillary data came with the first part), waiting as before until all
 * came. EOF, an error, the timeout or a signal end it with the count so
 * far, as they end the kernel's. */
static ssize_t read_rest(green__hub *h, io_call *c, green__deadline *d, size_t done, int saved)
{
    struct iovec one = { .iov_base = c->buf, .iov_len = c->len };
    const struct iovec *iov = c->op == OP_RECVMSG ? c->msg->msg_iov : &one;
    int cnt = c->op == OP_RECVMSG ? (int)c->msg->msg_iovlen : 1;
    size_t len = iov_total(iov, cnt);
    struct iovec small[IOV_STACK];
    struct iovec *copy = cnt <= IOV_STACK ? small : malloc((size_t)cnt * sizeof *copy);
    if (copy == NULL)
        return success(saved, (ssize_t)done);
    memcpy(copy, iov, (size_t)cnt * sizeof *copy);
    struct msghdr m = { .msg_iov = copy, .msg_iovlen = (size_t)cnt };
    io_call rest = { .op = OP_RECVMSG, .fd = c->fd, .msg = &m, .flags = c->flags };
    io_advance(&rest, done);
    while (done < len) {
        ssize_t n = attempt(&rest);
        if (n > 0) {
            done += (size_t)n;
            io_advance(&rest, (size_t)n);
        } else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK) ||
                   wait_one(h, c->fd, GREEN_READ, d) != 0) {
            break;
        }
    }
    if (copy != small)
        free(copy);
    return success(saved, (ssize_t)done);
}

/* A blocking read of any kind: try, wait until readable, try again, up to
 * SO_RCVTIMEO (then EAGAIN, as libc); with MSG_WAITALL on a stream socket,
 * on until all came (read_rest). errno is the real call's, or set last. */
static ssize_t blocking_in(green__hub *h, preload_fd *p, io_call *c)
{
    green__deadline d = { .timeout = p->rcv_timeout };
    int saved = errno;
    for (;;) {
        ssize_t n = attempt(c);
        if (n > 0 && wants_all(c, (size_t)n))
            return read_rest(h, c, &d, (size_t)n, saved);
        if (n >= 0)
            return success(saved, n);
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return n;
        int err = wait_one(h, c->fd, GREEN_READ, &d);
        if (err != 0)
            return green__preload_fail(err, EAGAIN);
    }
}

/* ---- sockets ---- */

static int patched_family(int domain)
{
    return domain == AF_INET || domain == AF_INET6 || domain == AF_UNIX;
}

int socket(int domain, int type, int protocol)
{
    green__hub *h = green__preload_hub();
    if (h == NULL || !patched_family(domain))
        return GREEN_REAL(socket)(domain, type, protocol);
    GREEN_PRELOAD_COUNT(socket);
    int fd = GREEN_REAL(socket)(domain, type | SOCK_NONBLOCK, protocol);
    if (fd >= 0)
        fd_record(fd, type & SOCK_NONBLOCK, NULL);
    return fd;
}

/* Both ends of a pipe or a socket pair are the program's, as a socket is:
 * really non-blocking, its O_NONBLOCK (or SOCK_NONBLOCK) shown by F_GETFL,
 * O_CLOEXEC and the rest passed on. */
static int pair_made(int r, const int fds[2], int nonblock)
{
    if (r == 0) {
        fd_record(fds[0], nonblock, NULL);
        fd_record(fds[1], nonblock, NULL);
    }
    return r;
}

int pipe(int fds[2])
{
    if (green__preload_hub() == NULL)
        return GREEN_REAL(pipe)(fds);
    GREEN_PRELOAD_COUNT(pipe);
    return pair_made(GREEN_REAL(pipe2)(fds, O_NONBLOCK), fds, 0);
}

int pipe2(int fds[2], int flags)
{
    if (green__preload_hub() == NULL)
        return GREEN_REAL(pipe2)(fds, flags);
    GREEN_PRELOAD_COUNT(pipe2);
    return pair_made(GREEN_REAL(pipe2)(fds, flags | O_NONBLOCK), fds, flags & O_NONBLOCK);
}

int socketpair(int domain, int type, int protocol, int fds[2])
{
    if (green__preload_hub() == NULL || !patched_family(domain))
        return GREEN_REAL(socketpair)(domain, type, protocol, fds);
    GREEN_PRELOAD_COUNT(socketpair);
    return pair_made(GREEN_REAL(socketpair)(domain, type | SOCK_NONBLOCK, protocol, fds), fds,
                     type & SOCK_NONBLOCK);
}

static int accept_common(green__hub *h, int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
    preload_fd *lp = fd_entry(fd);
    preload_fd *p = blocking_fd(fd);
    green__deadline d = { .timeout = p != NULL ? p->rcv_timeout : GREEN_FOREVER };
    int saved = errno;
    for (;;) {
        int c = GREEN_REAL(accept4)(fd, addr, len, flags | SOCK_NONBLOCK);
        if (c >= 0) {
            fd_record(c, flags & SOCK_NONBLOCK, lp != NULL && lp->known ? lp : NULL);
            return (int)success(saved, c);
        }
        if (p == NULL || (errno != EAGAIN && errno != EWOULDBLOCK))
            return -1;
        int err = wait_one(h, fd, GREEN_READ, &d);
        if (err != 0)
            return green__preload_fail(err, EAGAIN);
    }
}

/* Other callers pass through, but for a listening socket of the table,
 * whose blocking they get from poll(2) (wait_one). */
int accept(int fd, struct sockaddr *addr, socklen_t *len)
{
    green__hub *h = green__preload_hub();
    if (h == NULL && blocking_fd(fd) == NULL)
        return GREEN_REAL(accept)(fd, addr, len);
    if (h != NULL)
        GREEN_PRELOAD_COUNT(accept);
    return accept_common(h, fd, addr, len, 0);
}

int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
    green__hub *h = green__preload_hub();
    if (h == NULL && blocking_fd(fd) == NULL)
        return GREEN_REAL(accept4)(fd, addr, len, flags);
    if (h != NULL)
        GREEN_PRELOAD_COUNT(accept4);
    return accept_common(h, fd, addr, len, flags);
}

/* A blocking connect to a unix listener whose backlog is full waits for
 * room, up to SO_SNDTIMEO (then EAGAIN, as the kernel's). A non-blocking
 * one fails with EAGAIN at once, and no fd tells when room is made: look
 * again from 100 µs to 10 ms. */
static int connect_unix(green__hub *h, preload_fd *p, int fd, const struct sockaddr *addr, socklen_t len,
                        int saved)
{
    green__deadline d = { .timeout = p->snd_timeout };
    for (double look = GREEN__PRELOAD_LOOK_FIRST;; look = green__preload_next_look(look)) {
        int err = wait_upto(h, -1, 0, &d, look);
        if (err != 0)
            return green__preload_fail(err, EAGAIN);
        if (GREEN_REAL(connect)(fd, addr, len) == 0)
            return (int)success(saved, 0);
        if (errno != EAGAIN)
            return -1;
    }
}

/* A blocking connect waits for the result; after SO_SNDTIMEO it fails with
 * EINPROGRESS (socket(7)), the connection going on in the kernel. */
int connect(int fd, const struct sockaddr *addr, socklen_t len)
{
    green__hub *h = green__preload_hub();
    if (h != NULL)
        GREEN_PRELOAD_COUNT(connect);
    preload_fd *p = blocking_fd(fd);
    int saved = errno;
    if (GREEN_REAL(connect)(fd, addr, len) == 0)
        return 0;
    if (p != NULL && errno == EAGAIN && addr->sa_family == AF_UNIX)
        return connect_unix(h, p, fd, addr, len, saved);
    if (p == NULL || errno != EINPROGRESS)
        return -1;
    /* Made already, as green_connect finds it. Parking every connect
     * also held each request back until the loop woke them all together:
     * the server got them in one burst, and its answers, due together,
     * left late (joinall N = 10 000: 99th percentile 25 ms late, against
     * 1.4 ms without the park). */
    int state = green__connect_state(fd);
    if (state == 1)
        return (int)success(saved, 0);
    green__deadline d = { .timeout = p->snd_timeout };
    int err = state == 0 ? wait_one(h, fd, GREEN_WRITE, &d) : 0;
    if (err != 0)
        return green__preload_fail(err, EINPROGRESS);
    int soerr = 0;
    socklen_t sl = sizeof soerr;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0)
        return -1;
    if (soerr != 0) {
        errno = soerr;
        return -1;
    }
    return (int)success(saved, 0);
}

/* ---- reads ---- */

static ssize_t read_common(green__hub *h, int fd, void *buf, size_t len)
{
    preload_fd *p = blocking_fd(fd);
    if (p == NULL)
        return GREEN_REAL(read)(fd, buf, len);
    io_call c = { .op = OP_READ, .fd = fd, .buf = buf, .len = len };
    return blocking_in(h, p, &c);
}

ssize_t read(int fd, void *buf, size_t len)
{
    green__hub *h = green__preload_hub();
    if (h != NULL)
        GREEN_PRELOAD_COUNT(read);
    return read_common(h, fd, buf, len);
}

ssize_t __read_chk(int fd, void *buf, size_t len, size_t buflen)
{
    if (len > buflen)
        __chk_fail();
    green__hub *h = green__preload_hub();
    if (h != NULL)
        GREEN_PRELOAD_COUNT(__read_chk);
    return read_common(h, fd, buf, len);
}

ssize_t readv(int fd, const struct iovec *iov, int cnt)
{
    green__hub *h = green__preload_hub();
    if (h != NULL)
        GREEN_PRELOAD_COUNT(readv);
    preload_fd *p = blocking_fd(fd);
    if (p == NULL)
        return GREEN_REAL(readv)(fd, iov, cnt);
    io_call c = { .op = OP_READV, .fd = fd, .iov = (struct iovec *)iov, .iovcnt = cnt };
    return blocking_in(h, p, &c);
}

/* recv, recvfrom and their twins. MSG_DONTWAIT asks for one attempt. */
static ssize_t recvfrom_common(green__hub *h, int fd, void *buf, size_t len, int flags,
                               struct sockaddr *addr, socklen_t *alen)
{
    preload_fd *p = blocking_fd(fd);
    if (p == NULL || (flags & MSG_DONTWAIT))
        return GREEN_REAL(recvfrom)(fd, buf, len, flags, addr, alen);
    io_call c = {
        .op = OP_RECVFROM, .fd = fd, .buf = buf, .len = len, .flags = flags, .addr = addr, .addrlen = alen
    };
    return blocking_in(h, p, &c);
}

ssize_t recv(int fd, void *buf, size_t len, int flags)
{
    green__hub *h = green__preload_hub();
    if (h != NULL)
        GREEN_PRELOAD_COUNT(recv);
    return recvfrom_common(h, fd, buf, len, flags, NULL, NULL);
}

ssize_t __recv_chk(int fd, void *buf, size_t len, size_t buflen, int flags)
{
    if (len > buflen)
        __chk_fail();
    green__hub *h = green__preload_hub();
    if (h != NULL)
        GREEN_PRELOAD_COUNT(__recv_chk);
    return recvfrom_common(h, fd, buf, len, flags, NULL, NULL);
}

ssize_t recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *addr, socklen_t *alen)
{
    green__hub *h = green__preload_hub();
    if (h != NULL)
        GREEN_PRELOAD_COUNT(recvfrom);
    return recvfrom_common(h, fd, buf, len, flags, addr, alen);
}

ssize_t __recvfrom_chk(int fd, void *buf, size_t len, size_t buflen, int flags, struct sockaddr *addr,
                       socklen_t *alen)
{
    if (len > buflen)
        __chk_fail();
    green__hub *h = green__preload_hub();
    if (h != NULL)
        GREEN_PRELOAD_COUNT(__recvfrom_chk);
    return recvfrom_common(h, fd, buf, len, flags, addr, alen);
}

ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
    green__hub *h = green__preload_hub();
    if (h != NULL)
        GREEN_PRELOAD_COUNT(recvmsg);
    preload_fd *p = blocking_fd(fd);
    if (p == NULL || (flags & MSG_DONTWAIT))
        return GREEN_REAL(recvmsg)(fd, msg, flags);
    io_call c = { .op = OP_RECVMSG, .fd = fd, .msg = msg, .flags = flags };
    return blocking_in(h, p, &c);
}

/* The kernel's cap on one sendmmsg or recvmmsg (UIO_MAXIOV). */
#define MMSG_MAX 1024

/* Write the time left until end (green_now's clock) into *ts, 0 if none;
 * 1 when none is left. */
static int time_left_into(struct timespec *ts, double end)
{
    double left = end - green_now();
    double l = left > 0 ? left : 0;
    ts->tv_sec = (time_t)l;
    ts->tv_nsec = (long)((l - (double)ts->tv_sec) * 1e9);
    return left <= 0;
}

/* Blocking: until vlen messages came, or after the first with
 * MSG_WAITFORONE; the timeout, as the kernel's, is looked at only after a
 * message came (and *timeout gets what is left), SO_RCVTIMEO while none
 * does. The count received, or -1 if none. */
int recvmmsg(int fd, struct mmsghdr *vec, unsigned int vlen, int flags, struct timespec *timeout)
{
    green__hub *h = green__preload_hub();
    if (h != NULL)
        GREEN_PRELOAD_COUNT(recvmmsg);
    preload_fd *p = blocking_fd(fd);
    if (p == NULL || (flags & MSG_DONTWAIT) || vlen == 0)
        return GREEN_REAL(recvmmsg)(fd, vec, vlen, flags, timeout);
    if (vlen > MMSG_MAX)
        vlen = MMSG_MAX;
    double end = timeout != NULL ? green_now() + (double)timeout->tv_sec + timeout->tv_nsec / 1e9 : 0;
    green__deadline d = { .timeout = p->rcv_timeout };
    unsigned int got = 0;
    int saved = errno;
    for (;;) {
        int n = GREEN_REAL(recvmmsg)(fd, vec + got, vlen - got, flags | MSG_DONTWAIT, NULL);
        if (n > 0) {
            got += (unsigned int)n;
            int out_of_time = timeout != NULL && time_left_into(timeout, end);
            if (got == vlen || (flags & MSG_WAITFORONE) || out_of_time)
                return (int)success(saved, got);
            continue;
        }
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return got > 0 ? (int)got : -1;
        int err = wait_one(h, fd, GREEN_READ, &d);
        if (err != 0)
            return got > 0 ? (int)got : (int)green__preload_fail(err, EAGAIN);
    }
}

/* ---- writes ---- */

ssize_t write(int fd, const void *buf, size_t len)
{
    green__hub *h = green__preload_hub();
    if (h != NULL)
        GREEN_PRELOAD_COUNT(write);
    preload_fd *p = blocking_fd(fd);
    if (p == NULL || len == 0)
        return GREEN_REAL(write)(fd, buf, len);
    io_call c = { .op = OP_WRITE, .fd = fd, .buf = (void *)buf, .len = len };
    return blocking_out(h, p, &c, len);
}

static ssize_t sendto_common(green__hub *h, int fd, const void *buf, size_t len, int flags,
                             const struct sockaddr *to, socklen_t tolen)
{
    preload_fd *p = blocking_fd(fd);
    if (p == NULL || (flags & MSG_DONTWAIT) || len == 0)
        return GREEN_REAL(sendto)(fd, buf, len, flags, to, tolen);
    io_call c = {
        .op = OP_SENDTO, .fd = fd, .buf = (void *)buf, .len = len, .flags = flags, .to = to, .tolen = tolen
    };
    return blocking_out(h, p, &c, len);
}

ssize_t send(int fd, const void *buf, size_t len, int flags)
{
    green__hub *h = green__preload_hub();
    if (h != NULL)
        GREEN_PRELOAD_COUNT(send);
    return sendto_common(h, fd, buf, len, flags, NULL, 0);
}

ssize_t sendto(int fd, const void *buf, size_t len, int flags, const struct sockaddr *to, socklen_t tolen)
{
    green__hub *h = green__preload_hub();
    if (h != NULL)
        GREEN_PRELOAD_COUNT(sendto);
    return sendto_common(h, fd, buf, len, flags, to, tolen);
}

/* To a socket or pipe of the table the program left blocking, everything
 * (the source's end or SO_SNDTIMEO aside), waiting in the hub as send
 * does; a source of the table goes straight through (its EAGAIN is not
 * the destination's to wait out). */
ssize_t sendfile(int out_fd, int in_fd, off_t *offset, size_t count)
{
    green__hub *h = green__preload_hub();
    if (h != NULL)
        GREEN_PRELOAD_COUNT(sendfile);
    preload_fd *p = blocking_fd(out_fd), *in = fd_entry(in_fd);
    if (p == NULL || count == 0 || (in != NULL && in->known))
        return GREEN_REAL(sendfile)(out_fd, in_fd, offset, count);
    io_call c = { .op = OP_SENDFILE, .fd = out_fd, .in_fd = in_fd, .offset = offset, .len = count };
    return blocking_out(h, p, &c, count);
}

/* glibc's second name, for programs built with _FILE_OFFSET_BITS=64: the
 * same function on x86-64. */
ssize_t sendfile64(int out_fd, int in_fd, off_t *offset, size_t count) __attribute__((alias("sendfile")));

/* Is fd ready for events (GREEN_READ or GREEN_WRITE) now? */
static int ready_now(int fd, int events)
{
    struct pollfd q = { .fd = fd, .events = (short)(events == GREEN_READ ? POLLIN : POLLOUT) };
    return GREEN_REAL(poll)(&q, 1, 0) == 1;
}

/* splice or tee from c->in_fd to c->fd; in and out are their entries when
 * they are sockets or pipes of the table the program left blocking (at
 * least one is), else NULL. Returns what moved, as the blocking call does:
 * an EAGAIN means such a source is empty or such a destination full, so
 * wait for that one and try again. */
static ssize_t blocking_move(green__hub *h, preload_fd *in, preload_fd *out, io_call *c)
{
    green__deadline rd = { .timeout = in != NULL ? in->rcv_timeout : GREEN_FOREVER };
    green__deadline wr = { .timeout = out != NULL ? out->snd_timeout : GREEN_FOREVER };
    int saved = errno;
    for (;;) {
        ssize_t n = attempt(c);
        if (n >= 0)
            return success(saved, n);
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return n;
        int err;
        if (in != NULL && !ready_now(c->in_fd, GREEN_READ))
            err = wait_one(h, c->in_fd, GREEN_READ, &rd);
        else if (out != NULL && !ready_now(c->fd, GREEN_WRITE))
            err = wait_one(h, c->fd, GREEN_WRITE, &wr);
        else
            err = GREEN_EAGAIN;     /* A side the program made non-blocking. */
        if (err != 0)
            return green__preload_fail(err, EAGAIN);
    }
}

/* With SPLICE_F_NONBLOCK the program asked not to wait: straight through. */
ssize_t splice(int in_fd, off_t *in_off, int out_fd, off_t *out_off, size_t len, unsigned int flags)
{
    green__hub *h = green__preload_hub();
    if (h != NULL)
        GREEN_PRELOAD_COUNT(splice);
    preload_fd *in = blocking_fd(in_fd), *out = blocking_fd(out_fd);
    if ((in == NULL && out == NULL) || (flags & SPLICE_F_NONBLOCK) || len == 0)
        return GREEN_REAL(splice)(in_fd, in_off, out_fd, out_off, len, flags);
    io_call c = { .op = OP_SPLICE,
                  .in_fd = in_fd,
                  .offset = in_off,
                  .fd = out_fd,
                  .out_offset = out_off,
                  .len = len,
                  .flags = (int)flags };
    return blocking_move(h, in, out, &c);
}

ssize_t tee(int in_fd, int out_fd, size_t len, unsigned int flags)
{
    green__hub *h = green__preload_hub();
    if (h != NULL)
        GREEN_PRELOAD_COUNT(tee);
    preload_fd *in = blocking_fd(in_fd), *out = blocking_fd(out_fd);
    if ((in == NULL && out == NULL) || (flags & SPLICE_F_NONBLOCK) || len == 0)
        return GREEN_REAL(tee)(in_fd, out_fd, len, flags);
    io_call c = { .op = OP_TEE, .in_fd = in_fd, .fd = out_fd, .len = len, .flags = (int)flags };
    return blocking_move(h, in, out, &c);
}

ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
    green__hub *h = green__preload_hub();
    if (h != NULL)
        GREEN_PRELOAD_COUNT(writev);
    preload_fd *p = blocking_fd(fd);
    if (p == NULL || cnt <= 0 || iov_total(iov, cnt) == 0)
        return GREEN_REAL(writev)(fd, iov, cnt);
    io_call c = { .op = OP_WRITEV, .fd = fd };
    return blocking_out_iov(h, p, &c, iov, cnt);
}

/* sendmsg on fd, whose entry p says the program left it blocking. */
static ssize_t sendmsg_blocking(green__hub *h, preload_fd *p, int fd, const struct msghdr *msg, int flags)
{
    if (msg->msg_iovlen == 0 || iov_total(msg->msg_iov, (int)msg->msg_iovlen) == 0)
        return GREEN_REAL(sendmsg)(fd, msg, flags);
    struct msghdr m = *msg;
    io_call c = { .op = OP_SENDMSG, .fd = fd, .msg = &m, .flags = flags };
    return blocking_out_iov(h, p, &c, msg->msg_iov, (int)msg->msg_iovlen);
}

ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
    green__hub *h = green__preload_hub();
    if (h != NULL)
        GREEN_PRELOAD_COUNT(sendmsg);
    preload_fd *p = blocking_fd(fd);
    if (p == NULL || (flags & MSG_DONTWAIT))
        return GREEN_REAL(sendmsg)(fd, msg, flags);
    return sendmsg_blocking(h, p, fd, msg, flags);
}

/* Every message in turn, each as a blocking sendmsg sends it; the count
 * sent, or -1 if the first failed (a later failure is the next call's, as
 * the kernel has it). */
int sendmmsg(int fd, struct mmsghdr *vec, unsigned int vlen, int flags)
{
    green__hub *h = green__preload_hub();
    if (h != NULL)
        GREEN_PRELOAD_COUNT(sendmmsg);
    preload_fd *p = blocking_fd(fd);
    if (p == NULL || (flags & MSG_DONTWAIT) || vlen == 0)
        return GREEN_REAL(sendmmsg)(fd, vec, vlen, flags);
    if (vlen > MMSG_MAX)
        vlen = MMSG_MAX;
    for (unsigned int i = 0; i < vlen; i++) {
        ssize_t n = sendmsg_blocking(h, p, fd, &vec[i].msg_hdr, flags);
        if (n < 0)
            return i > 0 ? (int)i : -1;
        vec[i].msg_len = (unsigned int)n;
    }
    return (int)vlen;
}

/* ---- close, fcntl, setsockopt, ioctl ---- */

int close(int fd)
{
    green__hub *h = green__preload_hub();
    preload_fd *p = fd_entry(fd);
    if (h != NULL) {
        GREEN_PRELOAD_COUNT(close);
        if (p != NULL && p->waiters != NULL)
            wake_fd_waiters(h, p);
    }
    fd_forget(fd);
    return GREEN_REAL(close)(fd);
}

/* The dups share the entry of their fd, for every caller (the fd is
 * non-blocking for real, whoever dups it). */
int dup(int fd)
{
    if (green__preload_hub() != NULL)
        GREEN_PRELOAD_COUNT(dup);
    int nfd = GREEN_REAL(dup)(fd);
    if (nfd >= 0)
        fd_dup(fd, nfd);
    return nfd;
}

/* dup2 and dup3 close nfd first when it is open: its green waiters are
 * woken as close wakes them (EBADF), before the fd names another file, and
 * only once the call will go ahead (a bad fd leaves nfd alone, and dup2 of
 * an fd onto itself does nothing). */
static int dup_onto(green__hub *h, int fd, int nfd, int flags, int three)
{
    preload_fd *q = fd_entry(nfd);
    /* Only with waiters to wake is fd checked (one more system call). */
    if (h != NULL && q != NULL && q->waiters != NULL && fd != nfd &&
        (!three || (flags & ~O_CLOEXEC) == 0) && GREEN_REAL(fcntl)(fd, F_GETFD) >= 0)
        wake_fd_waiters(h, q);
    int r = three ? GREEN_REAL(dup3)(fd, nfd, flags) : GREEN_REAL(dup2)(fd, nfd);
    if (r >= 0 && fd != nfd)
        fd_dup(fd, nfd);
    return r;
}

int dup2(int fd, int nfd)
{
    green__hub *h = green__preload_hub();
    if (h != NULL)
        GREEN_PRELOAD_COUNT(dup2);
    return dup_onto(h, fd, nfd, 0, 0);
}

int dup3(int fd, int nfd, int flags)
{
    green__hub *h = green__preload_hub();
    if (h != NULL)
        GREEN_PRELOAD_COUNT(dup3);
    return dup_onto(h, fd, nfd, flags, 1);
}

/* An fd handed to stdio or to a program posix_spawn starts is used where
 * the preload does not see it: it is released, as a standard stream is
 * (fd_release). A FILE over a pipe or socket then blocks the OS thread,
 * where it would otherwise fail with EAGAIN. */
static void release_if_known(int fd)
{
    preload_fd *p = fd_entry(fd);
    if (p != NULL && p->known)
        fd_release(fd);
}

FILE *fdopen(int fd, const char *mode)
{
    if (green__preload_hub() != NULL)
        GREEN_PRELOAD_COUNT(fdopen);
    FILE *f = GREEN_REAL(fdopen)(fd, mode);
    if (f != NULL)
        release_if_known(fd);
    return f;
}

/* A pipe of the table that a new program inherits (not close-on-exec) is
 * used there by number (Python's pass_fds, a pipe named on a command line)
 * by a program that does not see the preload, or not yet: it must be
 * blocking there. O_NONBLOCK belongs to the open file description, which
 * the process that forked this one shares, so the pipe is opened anew
 * (/proc/self/fd: a new description of the same pipe, blocking) onto its
 * number, and the other process's stays as it was. Sockets cannot be
 * opened anew: they stay non-blocking there. */
/* fd, if it is such a pipe of the table: its status flags in *fl. */
static bool inherited_pipe(int fd, int *fl)
{
    preload_fd *p = fd_entry(fd);
    struct stat st;
    if (p == NULL || !p->known || p->user_nonblock)
        return false;
    int fdflags = GREEN_REAL(fcntl)(fd, F_GETFD);
    if (fdflags < 0 || (fdflags & FD_CLOEXEC) || fstat(fd, &st) != 0 || !S_ISFIFO(st.st_mode))
        return false;
    *fl = GREEN_REAL(fcntl)(fd, F_GETFL);
    return *fl >= 0;
}

static void reopen_inherited_pipes(void)
{
    for (int fd = 0; fd <= fd_high; fd++) {
        int fl;
        if (!inherited_pipe(fd, &fl))
            continue;
        char path[32];
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        int nfd = open(path, (fl & O_ACCMODE) | O_CLOEXEC);
        if (nfd < 0)
            continue;
        /* The table stays as it is: after vfork (CPython's subprocess) it
         * is the parent's memory, and the parent goes on using it. */
        GREEN_REAL(dup2)(nfd, fd);
        GREEN_REAL(close)(nfd);
    }
}

/* The exec failed: this process goes on with the table, which says its
 * pipes are non-blocking for real, so they must be again (a blocking read
 * would stop the hub). The new descriptions are this process's alone. */
static int exec_failed(void)
{
    int saved = errno;
    for (int fd = 0; fd <= fd_high; fd++) {
        int fl;
        if (inherited_pipe(fd, &fl) && !(fl & O_NONBLOCK))
            GREEN_REAL(fcntl)(fd, F_SETFL, fl | O_NONBLOCK);
    }
    errno = saved;
    return -1;
}

int execve(const char *path, char *const argv[], char *const envp[])
{
    reopen_inherited_pipes();
    GREEN_REAL(execve)(path, argv, envp);
    return exec_failed();
}

int execv(const char *path, char *const argv[])
{
    reopen_inherited_pipes();
    GREEN_REAL(execv)(path, argv);
    return exec_failed();
}

int execvp(const char *file, char *const argv[])
{
    reopen_inherited_pipes();
    GREEN_REAL(execvp)(file, argv);
    return exec_failed();
}

int execvpe(const char *file, char *const argv[], char *const envp[])
{
    reopen_inherited_pipes();
    GREEN_REAL(execvpe)(file, argv, envp);
    return exec_failed();
}

int fexecve(int fd, char *const argv[], char *const envp[])
{
    reopen_inherited_pipes();
    GREEN_REAL(fexecve)(fd, argv, envp);
    return exec_failed();
}

/* execl, execlp and execle: arg, then ap's arguments up to its NULL, as an
 * argv on the caller's stack (as glibc builds it: no malloc between fork
 * and exec), then the v forms. */
static size_t count_args(va_list *ap)
{
    va_list c;
    va_copy(c, *ap);
    size_t n = 1;
    while (va_arg(c, char *) != NULL)
        n++;
    va_end(c);
    return n;
}

/* argv[0..n]: arg, then the n - 1 arguments and the NULL from ap. */
static void fill_args(char **argv, const char *arg, va_list *ap, size_t n)
{
    argv[0] = (char *)arg;
    for (size_t i = 1; i <= n; i++)
        argv[i] = va_arg(*ap, char *);
}

int execl(const char *path, const char *arg, ...)
{
    va_list ap;
    va_start(ap, arg);
    size_t n = count_args(&ap);
    char *argv[n + 1];
    fill_args(argv, arg, &ap, n);
    va_end(ap);
    return execv(path, argv);
}

int execlp(const char *file, const char *arg, ...)
{
    va_list ap;
    va_start(ap, arg);
    size_t n = count_args(&ap);
    char *argv[n + 1];
    fill_args(argv, arg, &ap, n);
    va_end(ap);
    return execvp(file, argv);
}

int execle(const char *path, const char *arg, ...)
{
    va_list ap;
    va_start(ap, arg);
    size_t n = count_args(&ap);
    char *argv[n + 1];
    fill_args(argv, arg, &ap, n);
    char **envp = va_arg(ap, char **);
    va_end(ap);
    return execve(path, argv, envp);
}

int posix_spawn_file_actions_adddup2(posix_spawn_file_actions_t *fa, int fd, int nfd)
{
    if (green__preload_hub() != NULL)
        GREEN_PRELOAD_COUNT(posix_spawn_file_actions_adddup2);
    int r = GREEN_REAL(posix_spawn_file_actions_adddup2)(fa, fd, nfd);
    if (r == 0)
        release_if_known(fd);
    return r;
}

/* F_GETFL shows O_NONBLOCK as the program set it; F_SETFL records it (on
 * every dup) and keeps the fd non-blocking for real. */
static int fcntl_known(preload_fd *p, int fd, int cmd, void *arg)
{
    switch (cmd) {
    case F_GETFL: {
        int fl = GREEN_REAL(fcntl)(fd, cmd);
        if (fl >= 0)
            fl = (fl & ~O_NONBLOCK) | (p->user_nonblock ? O_NONBLOCK : 0);
        return fl;
    }
    case F_SETFL: {
        int fl = (int)(intptr_t)arg;
        int r = GREEN_REAL(fcntl)(fd, cmd, fl | O_NONBLOCK);
        if (r == 0)
            fd_set_all(p, SET_NONBLOCK, (fl & O_NONBLOCK) != 0);
        return r;
    }
    default: return GREEN_REAL(fcntl)(fd, cmd, arg);
    }
}

int fcntl(int fd, int cmd, ...)
{
    va_list ap;
    va_start(ap, cmd);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    if (green__preload_hub() != NULL)
        GREEN_PRELOAD_COUNT(fcntl);
    if (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC) {
        int nfd = GREEN_REAL(fcntl)(fd, cmd, arg);
        if (nfd >= 0)
            fd_dup(fd, nfd);
        return nfd;
    }
    preload_fd *p = fd_entry(fd);
    if (p == NULL || !p->known)
        return GREEN_REAL(fcntl)(fd, cmd, arg);
    return fcntl_known(p, fd, cmd, arg);
}

/* The name programs built with _FILE_OFFSET_BITS=64 call (Debian's python3,
 * wget and git do): on x86-64 the same function under glibc 2.28's second
 * name, so the same interposer, counted as fcntl. */
int fcntl64(int fd, int cmd, ...) __attribute__((alias("fcntl")));

/* The socket is non-blocking for real, so the kernel's own timeouts never
 * fire: the preload keeps them (and the kernel too, for getsockopt). */
int setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
    if (green__preload_hub() != NULL)
        GREEN_PRELOAD_COUNT(setsockopt);
    int r = GREEN_REAL(setsockopt)(fd, level, name, val, len);
    preload_fd *p = fd_entry(fd);
    if (r != 0 || p == NULL || !p->known || level != SOL_SOCKET ||
        (name != SO_RCVTIMEO && name != SO_SNDTIMEO) || len < sizeof(struct timeval))
        return r;
    const struct timeval *tv = val;
    double t = (double)tv->tv_sec + tv->tv_usec * 1e-6;
    if (tv->tv_sec < 0)
        t = 0;      /* Linux keeps a negative one as 0 (getsockopt says so): no wait at all. */
    else if (t == 0)
        t = GREEN_FOREVER;      /* socket(7): zero means no timeout. */
    fd_set_all(p, name == SO_RCVTIMEO ? SET_RCVTIMEO : SET_SNDTIMEO, t);
    return r;
}

int ioctl(int fd, unsigned long request, ...)
{
    va_list ap;
    va_start(ap, request);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    if (green__preload_hub() != NULL)
        GREEN_PRELOAD_COUNT(ioctl);
    preload_fd *p = fd_entry(fd);
    if (request != FIONBIO || p == NULL || !p->known || arg == NULL)
        return GREEN_REAL(ioctl)(fd, request, arg);
    int on = 1;
    int r = GREEN_REAL(ioctl)(fd, request, &on);
    if (r == 0)
        fd_set_all(p, SET_NONBLOCK, *(const int *)arg != 0);
    return r;
}

/* ---- poll and select ---- */

static int poll_events(short ev)
{
    return (ev & (POLLIN | POLLPRI | POLLRDHUP) ? GREEN_READ : 0) | (ev & POLLOUT ? GREEN_WRITE : 0);
}

#define POLL_STACK 16

/* The entries of fds to watch, into ws: every fd asked for something, and
 * those asked for nothing too, as poll(2) reports POLLHUP and POLLERR
 * whatever was asked (a read watcher: epoll reports both to any). One
 * asked for nothing that is readable already would end the wait at once,
 * again and again: it is left out and *looking set, to look again later. */
static size_t poll_watch(const struct pollfd *fds, nfds_t n, fd_waiter *ws, int *looking)
{
    size_t k = 0;
    *looking = 0;
    for (nfds_t i = 0; i < n; i++) {
        int ev = poll_events(fds[i].events);
        if (fds[i].fd < 0)
            continue;
        if (ev == 0 && ready_now(fds[i].fd, GREEN_READ))
            *looking = 1;
        else
            ws[k++] = (fd_waiter){ .fd = fds[i].fd, .events = ev != 0 ? ev : GREEN_READ };
    }
    return k;
}

/* Wait in the hub for n entries of fds, up to timeout seconds (negative:
 * no limit): a poll(2) that does not block first, then watchers on every fd
 * (poll_watch), then poll(2) again to report; a wake it does not confirm
 * waits again. With nothing to watch the wait is for a signal (the loop
 * kept waiting, as a semaphore's wait keeps it), and one that nothing could
 * ever end (the hub's GREEN_EDEADLK: no handler, nothing else alive) is
 * poll(2)'s own, as it would be without the preload. */
static int green_poll(green__hub *h, struct pollfd *fds, nfds_t n, double timeout)
{
    int r = GREEN_REAL(poll)(fds, n, 0);
    if (r != 0 || timeout == 0)
        return r;
    fd_waiter small[POLL_STACK];
    fd_waiter *ws = n <= POLL_STACK ? small : malloc(n * sizeof *ws);
    if (ws == NULL)
        return green__preload_fail(GREEN_ENOMEM, 0);
    green__deadline d = { .timeout = timeout };
    double look = GREEN__PRELOAD_LOOK_FIRST;
    for (;;) {
        double left = green__time_left(&d);
        if (left == 0)
            break;
        int looking;
        size_t k = poll_watch(fds, n, ws, &looking);
        double slice = looking && (left < 0 || look < left) ? look : left;
        int code = wait_fds(h, ws, k, slice, k == 0 ? GREEN__INTR_NO_WATCHER : 0);
        if (code == GREEN_EDEADLK) {
            r = GREEN_REAL(poll)(fds, n, left < 0 ? -1 : (int)(left * 1000 + 0.999));
            break;
        }
        r = GREEN_REAL(poll)(fds, n, 0);
        if (r != 0)
            break;
        if (code == GREEN_ETIMEDOUT && slice != left) {
            look = green__preload_next_look(look);
            continue;
        }
        if (code != 0 && code != GREEN_EBADF) {
            if (code != GREEN_ETIMEDOUT)
                r = green__preload_fail(code, 0);
            break;
        }
    }
    int saved = errno;
    if (ws != small)
        free(ws);
    errno = saved;
    return r;
}

static int bad_timespec(const struct timespec *ts)
{
    return ts->tv_sec < 0 || ts->tv_nsec < 0 || ts->tv_nsec >= 1000000000L;
}

/* select's timeval as the kernel takes it: microseconds past a second
 * carried into the seconds, then a negative time refused (EINVAL). */
static int bad_timeval(const struct timeval *tv)
{
    return tv->tv_sec + tv->tv_usec / 1000000 < 0 || tv->tv_usec % 1000000 < 0;
}

static double ms_timeout(int ms)
{
    return ms < 0 ? GREEN_FOREVER : ms / 1000.0;
}

static double ts_timeout(const struct timespec *ts)
{
    return ts == NULL ? GREEN_FOREVER : (double)ts->tv_sec + ts->tv_nsec * 1e-9;
}

int poll(struct pollfd *fds, nfds_t n, int ms)
{
    green__hub *h = green__preload_hub();
    if (h == NULL)
        return GREEN_REAL(poll)(fds, n, ms);
    GREEN_PRELOAD_COUNT(poll);
    return green_poll(h, fds, n, ms_timeout(ms));
}

int __poll_chk(struct pollfd *fds, nfds_t n, int ms, size_t fdslen)
{
    if (fdslen / sizeof *fds < n)
        __chk_fail();
    green__hub *h = green__preload_hub();
    if (h == NULL)
        return GREEN_REAL(poll)(fds, n, ms);
    GREEN_PRELOAD_COUNT(__poll_chk);
    return green_poll(h, fds, n, ms_timeout(ms));
}

/* The signal mask is not applied: the hub's other green threads run in
 * the meantime, and they must not run with it. */
int ppoll(struct pollfd *fds, nfds_t n, const struct timespec *ts, const sigset_t *mask)
{
    green__hub *h = green__preload_hub();
    if (h == NULL)
        return GREEN_REAL(ppoll)(fds, n, ts, mask);
    GREEN_PRELOAD_COUNT(ppoll);
    if (ts != NULL && bad_timespec(ts)) {
        errno = EINVAL;
        return -1;
    }
    return green_poll(h, fds, n, ts_timeout(ts));
}

int __ppoll_chk(struct pollfd *fds, nfds_t n, const struct timespec *ts, const sigset_t *mask,
                size_t fdslen)
{
    if (fdslen / sizeof *fds < n)
        __chk_fail();
    green__hub *h = green__preload_hub();
    if (h == NULL)
        return GREEN_REAL(ppoll)(fds, n, ts, mask);
    GREEN_PRELOAD_COUNT(__ppoll_chk);
    if (ts != NULL && bad_timespec(ts)) {
        errno = EINVAL;
        return -1;
    }
    return green_poll(h, fds, n, ts_timeout(ts));
}

/* select as poll: one pollfd per fd in any set, then the sets rewritten
 * from revents, as the kernel maps them (fs/select.c). */
static int green_select(green__hub *h, int nfds, fd_set *rd, fd_set *wr, fd_set *ex, double timeout)
{
    if (nfds < 0 || nfds > FD_SETSIZE) {
        errno = EINVAL;
        return -1;
    }
    struct pollfd pfds[FD_SETSIZE];
    nfds_t n = 0;
    for (int fd = 0; fd < nfds; fd++) {
        short ev = (short)((rd != NULL && FD_ISSET(fd, rd) ? POLLIN : 0) |
                           (wr != NULL && FD_ISSET(fd, wr) ? POLLOUT : 0) |
                           (ex != NULL && FD_ISSET(fd, ex) ? POLLPRI : 0));
        if (ev != 0)
            pfds[n++] = (struct pollfd){ .fd = fd, .events = ev };
    }
    int r = green_poll(h, pfds, n, timeout);
    if (r < 0)
        return r;
    int count = 0;
    for (nfds_t i = 0; i < n; i++) {
        if (pfds[i].revents & POLLNVAL) {
            errno = EBADF;
            return -1;
        }
    }
    for (nfds_t i = 0; i < n; i++) {
        int fd = pfds[i].fd;
        short re = pfds[i].revents;
        if (rd != NULL && FD_ISSET(fd, rd) && !(re & (POLLIN | POLLHUP | POLLERR)))
            FD_CLR(fd, rd);
        if (wr != NULL && FD_ISSET(fd, wr) && !(re & (POLLOUT | POLLERR)))
            FD_CLR(fd, wr);
        if (ex != NULL && FD_ISSET(fd, ex) && !(re & POLLPRI))
            FD_CLR(fd, ex);
        count += (rd != NULL && FD_ISSET(fd, rd)) + (wr != NULL && FD_ISSET(fd, wr)) +
                 (ex != NULL && FD_ISSET(fd, ex));
    }
    return count;
}

int select(int nfds, fd_set *rd, fd_set *wr, fd_set *ex, struct timeval *tv)
{
    green__hub *h = green__preload_hub();
    if (h == NULL)
        return GREEN_REAL(select)(nfds, rd, wr, ex, tv);
    GREEN_PRELOAD_COUNT(select);
    if (tv != NULL && bad_timeval(tv)) {
        errno = EINVAL;
        return -1;
    }
    double timeout = tv == NULL ? GREEN_FOREVER : (double)tv->tv_sec + tv->tv_usec * 1e-6;
    double start = green_now();
    int r = green_select(h, nfds, rd, wr, ex, timeout);
    if (tv != NULL) {   /* Linux leaves the time not slept in *tv. */
        double left = timeout - (green_now() - start);
        if (left < 0 || r == 0)
            left = 0;
        tv->tv_sec = (time_t)left;
        tv->tv_usec = (suseconds_t)((left - (double)tv->tv_sec) * 1e6);
    }
    return r;
}

int pselect(int nfds, fd_set *rd, fd_set *wr, fd_set *ex, const struct timespec *ts, const sigset_t *mask)
{
    green__hub *h = green__preload_hub();
    if (h == NULL)
        return GREEN_REAL(pselect)(nfds, rd, wr, ex, ts, mask);
    GREEN_PRELOAD_COUNT(pselect);
    if (ts != NULL && bad_timespec(ts)) {
        errno = EINVAL;
        return -1;
    }
    return green_select(h, nfds, rd, wr, ex, ts_timeout(ts));
}

/* ---- epoll ----
 * An epoll fd is pollable: a green caller that would wait checks without
 * blocking, then waits in the hub for the epoll fd to become readable (or
 * the timeout), checks again, and so on until events or the deadline. The
 * fds registered in the instance are the program's, left as they are. */
static int green_epoll(green__hub *h, int epfd, struct epoll_event *evs, int max, double timeout)
{
    int r = GREEN_REAL(epoll_wait)(epfd, evs, max, 0);
    if (r != 0 || timeout == 0)
        return r;
    green__deadline d = { .timeout = timeout };
    for (;;) {
        double left = green__time_left(&d);
        if (left == 0)
            return 0;
        fd_waiter w = { .fd = epfd, .events = GREEN_READ };
        int code = wait_fds(h, &w, 1, left, 0);
        r = GREEN_REAL(epoll_wait)(epfd, evs, max, 0);
        if (r != 0)
            return r;           /* Events, or the error (EBADF once closed). */
        if (code != 0)
            return code == GREEN_ETIMEDOUT ? 0 : green__preload_fail(code, 0);
    }
}

int epoll_wait(int epfd, struct epoll_event *evs, int max, int ms)
{
    green__hub *h = green__preload_hub();
    if (h == NULL)
        return GREEN_REAL(epoll_wait)(epfd, evs, max, ms);
    GREEN_PRELOAD_COUNT(epoll_wait);
    return green_epoll(h, epfd, evs, max, ms_timeout(ms));
}

/* The signal masks of epoll_pwait and epoll_pwait2 are not applied, as
 * ppoll's are not: the hub's other green threads run meanwhile. */
int epoll_pwait(int epfd, struct epoll_event *evs, int max, int ms, const sigset_t *mask)
{
    green__hub *h = green__preload_hub();
    if (h == NULL)
        return GREEN_REAL(epoll_pwait)(epfd, evs, max, ms, mask);
    GREEN_PRELOAD_COUNT(epoll_pwait);
    return green_epoll(h, epfd, evs, max, ms_timeout(ms));
}

int epoll_pwait2(int epfd, struct epoll_event *evs, int max, const struct timespec *ts,
                 const sigset_t *mask)
{
    green__hub *h = green__preload_hub();
    if (h == NULL)
        return GREEN_REAL(epoll_pwait2)(epfd, evs, max, ts, mask);
    GREEN_PRELOAD_COUNT(epoll_pwait2);
    if (ts != NULL && bad_timespec(ts)) {
        errno = EINVAL;
        return -1;
    }
    return green_epoll(h, epfd, evs, max, ts_timeout(ts));
}

/* ---- sleeps ---- */

/* green_sleep for a green caller: 0, or GREEN_EINTR (a signal) or
 * GREEN_ECANCELED (green_fini), *left the seconds not slept. */
static int sleep_for(double seconds, double *left)
{
    green__hub *h = green__preload_hub();
    int saved = errno;
    double start = green_now();
    seconds = seconds > 0 ? seconds : 0;
    green__preload_cancel_begin(h);
    green__preload_intr intr;
    green__preload_intr_begin(h, &intr, 0);
    int err = green_sleep(seconds);
    green__preload_intr_end(&intr);
    errno = saved;
    green__preload_cancel_end(h, err);
    double slept = green_now() - start;
    *left = err != 0 && slept < seconds ? seconds - slept : 0;
    return err;
}

static struct timespec timespec_of(double seconds)
{
    time_t whole = (time_t)seconds;
    return (struct timespec){ .tv_sec = whole, .tv_nsec = (long)((seconds - (double)whole) * 1e9) };
}

unsigned int sleep(unsigned int s)
{
    if (green__preload_hub() == NULL)
        return GREEN_REAL(sleep)(s);
    GREEN_PRELOAD_COUNT(sleep);
    double left;
    /* Whole seconds not slept, cut as glibc's sleep cuts them. */
    return sleep_for(s, &left) == 0 ? 0 : (unsigned)left;
}

int usleep(useconds_t us)
{
    if (green__preload_hub() == NULL)
        return GREEN_REAL(usleep)(us);
    GREEN_PRELOAD_COUNT(usleep);
    double left;
    int err = sleep_for(us * 1e-6, &left);
    return err == 0 ? 0 : green__preload_fail(err, 0);
}

int nanosleep(const struct timespec *req, struct timespec *rem)
{
    if (green__preload_hub() == NULL)
        return GREEN_REAL(nanosleep)(req, rem);
    GREEN_PRELOAD_COUNT(nanosleep);
    if (bad_timespec(req)) {
        errno = EINVAL;
        return -1;
    }
    double left;
    int err = sleep_for(ts_timeout(req), &left);
    if (err == 0)
        return 0;
    if (rem != NULL)
        *rem = timespec_of(left);
    return green__preload_fail(err, 0);
}

/* Returns the error number itself, as clock_nanosleep does. */
int clock_nanosleep(clockid_t clock, int flags, const struct timespec *req, struct timespec *rem)
{
    if (green__preload_hub() == NULL ||
        (clock != CLOCK_REALTIME && clock != CLOCK_MONOTONIC && clock != CLOCK_BOOTTIME))
        return GREEN_REAL(clock_nanosleep)(clock, flags, req, rem);
    GREEN_PRELOAD_COUNT(clock_nanosleep);
    if (bad_timespec(req))
        return EINVAL;
    double s = flags & TIMER_ABSTIME ? green__preload_until(clock, req) : ts_timeout(req);
    double left;
    int err = sleep_for(s, &left);
    if (err == 0)
        return 0;
    if (rem != NULL && !(flags & TIMER_ABSTIME))
        *rem = timespec_of(left);
    return err == GREEN_ECANCELED ? EINTR : -err;
}

/* ---- waiting for signals ----
 * sigwait in a green thread (a program's signal-handling thread, under
 * thread patching) would stop the hub, every green thread with it: it
 * waits in the hub instead, on a signalfd of the set. The set is blocked
 * already, as sigwait requires, in the OS thread's mask: the hub's. */

/* What signalfd read, as sigwaitinfo gives it: the union's fields that
 * the signal's code fills, as the kernel picks them (siginfo_layout in
 * kernel/signal.c), from the signalfd_siginfo fields it copied them to. */
static void siginfo_of(const struct signalfd_siginfo *si, siginfo_t *info)
{
    int sig = (int)si->ssi_signo, code = si->ssi_code;
    *info = (siginfo_t){ .si_signo = sig, .si_code = code, .si_errno = si->ssi_errno };
    union sigval value = { .sival_ptr = (void *)(uintptr_t)si->ssi_ptr };
    if (code == SI_TIMER) {
        info->si_timerid = (int)si->ssi_tid;
        info->si_overrun = (int)si->ssi_overrun;
        info->si_value = value;
    } else if (code == SI_SIGIO || (code > 0 && code < SI_KERNEL && sig == SIGPOLL)) {
        info->si_band = (long)si->ssi_band;
        info->si_fd = (int)si->ssi_fd;
    } else if (code > 0 && code < SI_KERNEL && sig == SIGCHLD) {
        info->si_pid = (pid_t)si->ssi_pid;
        info->si_uid = (uid_t)si->ssi_uid;
        info->si_status = si->ssi_status;
        info->si_utime = (clock_t)si->ssi_utime;
        info->si_stime = (clock_t)si->ssi_stime;
    } else if (code > 0 && code < SI_KERNEL &&
               (sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE || sig == SIGTRAP)) {
        info->si_addr = (void *)(uintptr_t)si->ssi_addr;
    } else if (code > 0 && code < SI_KERNEL && sig == SIGSYS) {
        info->si_call_addr = (void *)(uintptr_t)si->ssi_call_addr;
        info->si_syscall = si->ssi_syscall;
        info->si_arch = si->ssi_arch;
    } else {
        info->si_pid = (pid_t)si->ssi_pid;
        info->si_uid = (uid_t)si->ssi_uid;
        if (code < 0)           /* sigqueue's, a message queue's, tgkill's. */
            info->si_value = value;
    }
}

/* Wait for a signal of set, up to timeout seconds; returns its number and
 * fills *info, or -1 with errno (EAGAIN after the timeout, EINTR after a
 * kill). */
static int green_sigwait(green__hub *h, const sigset_t *set, siginfo_t *info, double timeout)
{
    int sfd = signalfd(-1, set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (sfd < 0)
        return -1;
    struct signalfd_siginfo si;
    int r;
    for (;;) {
        ssize_t n = GREEN_REAL(read)(sfd, &si, sizeof si);
        if (n == (ssize_t)sizeof si) {
            r = (int)si.ssi_signo;
            break;
        }
        if (n >= 0 || errno != EAGAIN) {
            r = -1;
            break;
        }
        fd_waiter w = { .fd = sfd, .events = GREEN_READ };
        int err = timeout == 0 ? GREEN_ETIMEDOUT : wait_fds(h, &w, 1, timeout, 0);
        if (err != 0) {
            r = green__preload_fail(err, EAGAIN);
            break;
        }
    }
    int saved = errno;
    GREEN_REAL(close)(sfd);
    errno = saved;
    if (r > 0 && info != NULL)
        siginfo_of(&si, info);
    return r;
}

/* Returns the error number itself, as sigwait does. */
int sigwait(const sigset_t *set, int *sig)
{
    green__hub *h = green__preload_hub();
    if (h == NULL)
        return GREEN_REAL(sigwait)(set, sig);
    GREEN_PRELOAD_COUNT(sigwait);
    int r;
    while ((r = green_sigwait(h, set, NULL, GREEN_FOREVER)) < 0 && errno == EINTR)
        ;
    if (r < 0)
        return errno;
    *sig = r;
    return 0;
}

int sigwaitinfo(const sigset_t *set, siginfo_t *info)
{
    green__hub *h = green__preload_hub();
    if (h == NULL)
        return GREEN_REAL(sigwaitinfo)(set, info);
    GREEN_PRELOAD_COUNT(sigwaitinfo);
    return green_sigwait(h, set, info, GREEN_FOREVER);
}

int sigtimedwait(const sigset_t *set, siginfo_t *info, const struct timespec *ts)
{
    green__hub *h = green__preload_hub();
    if (h == NULL)
        return GREEN_REAL(sigtimedwait)(set, info, ts);
    GREEN_PRELOAD_COUNT(sigtimedwait);
    if (ts != NULL && bad_timespec(ts)) {
        errno = EINVAL;
        return -1;
    }
    return green_sigwait(h, set, info, ts_timeout(ts));
}

/* ---- name lookups: the hub's resolver, never glibc's inside a green thread ---- */

/* A green_getaddrinfo code as getaddrinfo(3) returns it. */
static int eai_code(int err)
{
    switch (err) {
    case 0: return 0;
    case GREEN_EAI_ADDRFAMILY: return EAI_ADDRFAMILY;
    case GREEN_EAI_AGAIN: return EAI_AGAIN;
    case GREEN_EAI_BADFLAGS: return EAI_BADFLAGS;
    case GREEN_EAI_CANCELED: return EAI_CANCELED;
    case GREEN_EAI_FAIL: return EAI_FAIL;
    case GREEN_EAI_FAMILY: return EAI_FAMILY;
    case GREEN_EAI_MEMORY: return EAI_MEMORY;
    case GREEN_EAI_NODATA: return EAI_NODATA;
    case GREEN_EAI_NONAME: return EAI_NONAME;
    case GREEN_EAI_OVERFLOW: return EAI_OVERFLOW;
    case GREEN_EAI_SERVICE: return EAI_SERVICE;
    case GREEN_EAI_SOCKTYPE: return EAI_SOCKTYPE;
    case GREEN_ENOMEM: return EAI_MEMORY;
    case GREEN_ECANCELED: return EAI_AGAIN;
    default: errno = -err; return EAI_SYSTEM;
    }
}

int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints, struct addrinfo **res)
{
    if (green__preload_hub() == NULL)
        return GREEN_REAL(getaddrinfo)(node, service, hints, res);
    GREEN_PRELOAD_COUNT(getaddrinfo);
    return eai_code(green_getaddrinfo(node, service, hints, res));
}

/* h_errno for a getaddrinfo code (netdb.h). */
static int herr_of(int eai)
{
    switch (eai) {
    case EAI_AGAIN: return TRY_AGAIN;
    case EAI_NONAME: return HOST_NOT_FOUND;
    case EAI_NODATA:
    case EAI_ADDRFAMILY: return NO_DATA;
    default: return NO_RECOVERY;
    }
}

/* Fill *he from ai (IPv4 only, gethostbyname's contract), inside buf:
 *   [addr pointers, NULL][alias NULL][addresses, 4 bytes each][name]
 * Returns 0 or ERANGE. */
static int hostent_fill(struct hostent *he, const char *name, const struct addrinfo *ai, char *buf,
                        size_t buflen)
{
    size_t n = 0;
    for (const struct addrinfo *a = ai; a != NULL; a = a->ai_next)
        n++;
    const char *cname = ai != NULL && ai->ai_canonname != NULL ? ai->ai_canonname : name;
    size_t ptrs = (n + 2) * sizeof(char *);
    size_t need = ptrs + n * 4 + strlen(cname) + 1;
    if (need > buflen)
        return ERANGE;
    char **list = (char **)(void *)buf;
    char *addrs = buf + ptrs;
    for (size_t i = 0; ai != NULL; ai = ai->ai_next, i++) {
        memcpy(addrs + 4 * i, &((const struct sockaddr_in *)(const void *)ai->ai_addr)->sin_addr, 4);
        list[i] = addrs + 4 * i;
    }
    list[n] = NULL;
    list[n + 1] = NULL;
    he->h_name = strcpy(addrs + 4 * n, cname);
    he->h_aliases = &list[n + 1];
    he->h_addrtype = AF_INET;
    he->h_length = 4;
    he->h_addr_list = list;
    return 0;
}

/* Returns 0 with *result set (or NULL and *herr set when the name does not
 * resolve), or ERANGE. */
static int green_gethostbyname(const char *name, struct hostent *he, char *buf, size_t buflen,
                               struct hostent **result, int *herr)
{
    struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_STREAM, .ai_flags = AI_CANONNAME };
    struct addrinfo *ai = NULL;
    *result = NULL;
    int eai = eai_code(green_getaddrinfo(name, NULL, &hints, &ai));
    if (eai != 0) {
        *herr = herr_of(eai);
        return 0;
    }
    int err = hostent_fill(he, name, ai, buf, buflen);
    freeaddrinfo(ai);
    if (err != 0) {
        *herr = NETDB_INTERNAL;
        return err;
    }
    *result = he;
    *herr = 0;
    return 0;
}

int gethostbyname_r(const char *name, struct hostent *ret, char *buf, size_t buflen,
                    struct hostent **result, int *herr)
{
    if (green__preload_hub() == NULL)
        return GREEN_REAL(gethostbyname_r)(name, ret, buf, buflen, result, herr);
    GREEN_PRELOAD_COUNT(gethostbyname_r);
    return green_gethostbyname(name, ret, buf, buflen, result, herr);
}

/* One static result, as glibc's: the function is not reentrant either. */
struct hostent *gethostbyname(const char *name)
{
    if (green__preload_hub() == NULL)
        return GREEN_REAL(gethostbyname)(name);
    GREEN_PRELOAD_COUNT(gethostbyname);
    static struct hostent he;
    static char buf[4096];
    struct hostent *res;
    int herr;
    if (green_gethostbyname(name, &he, buf, sizeof buf, &res, &herr) != 0)
        res = NULL;
    h_errno = herr;
    return res;
}

/* ---- start-up, stats and the end ---- */

static main_fn *real_main;
static int stats_wanted;
static int stats_printed;

/* One summary on stderr: threads spawned, switches, and each interposed
 * function's green calls, those above zero. */
static void stats_print(void)
{
    green_stats st;
    if (!stats_wanted || stats_printed || green_stats_get(&st) != 0)
        return;
    stats_printed = 1;
    char line[4096];
    int len =
        snprintf(line, sizeof line, "libgreen-preload: spawned %llu, switches %llu, peak alive %zu; calls:",
                 (unsigned long long)st.spawned, (unsigned long long)st.switches, st.peak_alive);
    for (int i = 0; i < GREEN_PRELOAD_NFUNCS && len < (int)sizeof line - 64; i++) {
        if (green__preload_calls[i] > 0)
            len += snprintf(line + len, sizeof line - (size_t)len, " %s %llu", func_names[i],
                            (unsigned long long)green__preload_calls[i]);
    }
    fprintf(stderr, "%s\n", line);
}

/* exit() called inside main (or from any green thread): print before the
 * hub goes with the process. */
static void at_exit(void)
{
    if (green__tls_hub != NULL)
        stats_print();
}

static int env_flag(const char *name)
{
    const char *v = getenv(name);
    return v != NULL && *v != '\0' && strcmp(v, "0") != 0;
}

static int options_from_env(green_options *o)
{
    const char *kib = getenv("GREEN_PRELOAD_STACK_KIB");
    if (kib != NULL && *kib != '\0') {
        char *end;
        unsigned long v = strtoul(kib, &end, 10);
        if (*end != '\0' || v < 4 || v > (1ul << 30)) {
            fprintf(stderr,
                    "libgreen-preload: GREEN_PRELOAD_STACK_KIB=%s: not a number of KiB from 4; "
                    "running unpatched\n",
                    kib);
            return GREEN_EINVAL;
        }
        o->stack_size = (size_t)v * 1024;
    }
    /* The stacks are private here whatever it says (green_main), but a
     * misspelling is refused, as green_init refuses it elsewhere. */
    green_options spelling = { 0 };
    if (green__stacks_from_env(&spelling) != 0) {
        fprintf(stderr,
                "libgreen-preload: GREEN_STACKS=%s: not \"private\", \"copy\" or \"copy:K\" (K from 1 "
                "to 65536), or unset; running unpatched\n",
                getenv("GREEN_STACKS"));
        return GREEN_EINVAL;
    }
    if (spelling.stacks == GREEN_STACKS_COPY)
        fprintf(stderr,
                "libgreen-preload: GREEN_STACKS=%s ignored: stacks stay private under the preload (an "
                "unmodified program hands pointers to its locals to other threads, which copy stacks "
                "forbid)\n",
                getenv("GREEN_STACKS"));
    o->resolver = GREEN_RESOLVER_DEFAULT;   /* GREEN_RESOLVER, as usual. */
    return 0;
}

/* Why the hub could not start, in the terms of the variables it read:
 * green_init refuses a bad GREEN_RESOLVER or GREEN_DNS_SERVERS with
 * GREEN_EINVAL alone. */
static void init_failed(int err)
{
    if (err != GREEN_EINVAL) {
        fprintf(stderr, "libgreen-preload: cannot start (%s); running unpatched\n", green_strerror(err));
        return;
    }
    const char *resolver = getenv("GREEN_RESOLVER"), *servers = getenv("GREEN_DNS_SERVERS");
    fprintf(stderr,
            "libgreen-preload: cannot start: green_init refused GREEN_RESOLVER=%s (thread or ares) "
            "or GREEN_DNS_SERVERS=%s (IP[:PORT],... with GREEN_RESOLVER=ares); running unpatched\n",
            resolver ? resolver : "(unset)", servers ? servers : "(unset)");
}

/* main as the hub's main green thread. */
static int green_main(int argc, char **argv, char **envp)
{
    const char *mode = getenv("GREEN_PRELOAD");
    green__preload_threads = mode != NULL && strcmp(mode, "threads") == 0;
    /* A misspelt mode would silently leave pthreads as they are. */
    if (mode != NULL && *mode != '\0' && !green__preload_threads)
        fprintf(stderr,
                "libgreen-preload: GREEN_PRELOAD=%s: unknown mode (\"threads\", or unset); "
                "threads stay OS threads\n",
                mode);
    stats_wanted = env_flag("GREEN_PRELOAD_STATS");
    /* Private stacks always: an unmodified program hands pointers to its
     * locals to other threads all the time, which copy stacks forbid
     * (green.h), and the fd waiters here live on the waiting stack. */
    green_options o = { .stacks = GREEN_STACKS_PRIVATE };
    if (options_from_env(&o) != 0)
        return real_main(argc, argv, envp);
    /* The program's user cannot change green_options: the overflow
     * message names the variable that sets the size here. */
    green_stack_set_overflow_advice("GREEN_PRELOAD_STACK_KIB");
    int err = fd_table_init();
    if (err == 0)
        err = green_init(&o);
    if (err != 0) {
        init_failed(err);
        return real_main(argc, argv, envp);
    }
    atexit(at_exit);
    green__preload_signals_start(green__tls_hub);
    int r = real_main(argc, argv, envp);
    stats_print();
    green_stats st;
    /* Green threads still running end with the process, as pthreads do
     * when main returns; green_fini would wait for them. */
    if (green_stats_get(&st) == 0 && st.alive == 0) {
        green__preload_signals_stop();
        green_fini();
    }
    return r;
}

int __libc_start_main(main_fn *main, int argc, char **argv, void (*init)(void), void (*fini)(void),
                      void (*rtld_fini)(void), void *stack_end)
{
    real_main = main;
    return GREEN_REAL(__libc_start_main)(green_main, argc, argv, init, fini, rtld_fini, stack_end);
}
