/* runtime/preload_children.c: GREEN_PRELOAD=threads, waiting for child
 * processes. A green thread's waitpid would block the hub's OS thread, and
 * with it every green thread, the one that feeds the child's stdin or
 * drains its stdout included: a deadlock that glibc's threads do not have.
 * Under thread patching waitpid, wait and wait4 wait in the hub instead, on
 * the child's pidfd when they name one child, else looking again (WNOHANG)
 * from 100 µs, doubling, to 10 ms; system() is glibc's, spawn and signals
 * alike, around that wait. Calls without thread patching, from OS threads
 * that are not the hub and with WNOHANG go to libc. */
#include "preload.h"

#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* A pidfd of pid, readable once it ended, or -1 (an old kernel; a stop or
 * continue asked for, which a pidfd does not report). */
static int pidfd_of(pid_t pid, int options)
{
#ifdef SYS_pidfd_open
    if (pid > 0 && !(options & (WUNTRACED | WCONTINUED)))
        return (int)syscall(SYS_pidfd_open, pid, 0);
#endif
    return -1;
}

/* wait4 for the running green thread: the hub runs the others meanwhile.
 * A cancellation point; a handled signal without SA_RESTART makes it fail
 * with EINTR (the main green thread's wait, or pthread_kill's target's). */
static pid_t green_wait4(green__hub *h, pid_t pid, int *status, int options, struct rusage *ru)
{
    int saved = errno;
    int pidfd = pidfd_of(pid, options);
    int err = 0;
    pid_t r;
    green__preload_cancel_begin(h);
    for (double look = GREEN__PRELOAD_LOOK_FIRST;; look = green__preload_next_look(look)) {
        r = GREEN_REAL(wait4)(pid, status, options | WNOHANG, ru);
        if (r != 0)
            break;              /* A child's news, or an error (ECHILD). */
        green__preload_intr intr;
        green__preload_intr_begin(h, &intr, GREEN__INTR_RESTARTS);
        err = pidfd >= 0 ? green_wait_fd(pidfd, GREEN_READ, GREEN_FOREVER) : green_sleep(look);
        green__preload_intr_end(&intr);
        if (err < 0 && err != GREEN_ETIMEDOUT)
            break;              /* A signal or a cancellation. */
        err = 0;
    }
    if (pidfd >= 0)
        GREEN_REAL(close)(pidfd);
    green__preload_cancel_end(h, err);
    if (r == 0) {
        errno = EINTR;
        return -1;
    }
    if (r > 0)
        errno = saved;
    return r;
}

pid_t wait4(pid_t pid, int *status, int options, struct rusage *ru)
{
    green__hub *h = green__preload_patched();
    if (h == NULL || (options & WNOHANG))
        return GREEN_REAL(wait4)(pid, status, options, ru);
    GREEN_PRELOAD_COUNT(wait4);
    return green_wait4(h, pid, status, options, ru);
}

pid_t waitpid(pid_t pid, int *status, int options)
{
    green__hub *h = green__preload_patched();
    if (h == NULL || (options & WNOHANG))
        return GREEN_REAL(waitpid)(pid, status, options);
    GREEN_PRELOAD_COUNT(waitpid);
    return green_wait4(h, pid, status, options, NULL);
}

pid_t wait(int *status)
{
    green__hub *h = green__preload_patched();
    if (h == NULL)
        return GREEN_REAL(wait)(status);
    GREEN_PRELOAD_COUNT(wait);
    return green_wait4(h, -1, status, 0, NULL);
}

/* As glibc's (stdlib/system.c): /bin/sh -c line, SIGINT and SIGQUIT
 * ignored in the caller and SIGCHLD blocked while it waits, their defaults
 * and the caller's mask in the child; the wait is green_wait4's, restarted
 * after a signal. */
int system(const char *line)
{
    green__hub *h = green__preload_patched();
    if (h == NULL)
        return GREEN_REAL(system)(line);
    GREEN_PRELOAD_COUNT(system);
    if (line == NULL)
        return GREEN_REAL(system)(line);        /* Is there a shell? No wait. */
    /* The first of the green threads in system() now sets the signals up,
     * the last puts them back (glibc counts its threads' calls so too). */
    static int running;
    static struct sigaction old_int, old_quit;
    static sigset_t old_mask;
    if (running++ == 0) {
        struct sigaction ignore = { .sa_handler = SIG_IGN };
        sigemptyset(&ignore.sa_mask);
        sigaction(SIGINT, &ignore, &old_int);
        sigaction(SIGQUIT, &ignore, &old_quit);
        sigset_t chld;
        sigemptyset(&chld);
        sigaddset(&chld, SIGCHLD);
        sigprocmask(SIG_BLOCK, &chld, &old_mask);
    }

    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t defaults;
    sigemptyset(&defaults);
    if (old_int.sa_handler != SIG_IGN)
        sigaddset(&defaults, SIGINT);
    if (old_quit.sa_handler != SIG_IGN)
        sigaddset(&defaults, SIGQUIT);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setsigmask(&attr, &old_mask);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
    char *argv[] = { "sh", "-c", (char *)line, NULL };
    pid_t pid;
    int status = -1;
    int err = posix_spawn(&pid, "/bin/sh", NULL, &attr, argv, environ);
    posix_spawnattr_destroy(&attr);
    if (err == 0) {
        while (green_wait4(h, pid, &status, 0, NULL) < 0 && errno == EINTR)
            ;
    } else {
        status = 127 << 8;      /* As glibc: the shell could not run. */
    }
    if (--running == 0) {
        sigaction(SIGINT, &old_int, NULL);
        sigaction(SIGQUIT, &old_quit, NULL);
        sigprocmask(SIG_SETMASK, &old_mask, NULL);
    }
    return status;
}
