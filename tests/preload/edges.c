/* tests/preload/edges.c: glibc's answers at the edges of the pthread API,
 * which unmodified programs count on, with and without GREEN_PRELOAD=threads:
 * the same answers. pthread_mutex_clocklock excludes like the other locks;
 * the clock variants refuse clocks glibc refuses (EINVAL, not a wait); an
 * init call makes a new object where a held one was freed; a normal mutex
 * is a binary semaphore (another thread unlocks it, its holder's second
 * lock waits for that); a SIGEV_THREAD timer's callback, on glibc's own
 * thread, posts a semaphore main waits on; main's handle, used by another
 * thread, names main; a deleted key takes no value; waitpid and system()
 * wait for a child another thread feeds; a mutex whose holder ended is not
 * the next thread's, and a robust one says EOWNERDEAD; pthread_sigqueue cuts
 * its target's sleep short; a thread's name is kept; sigwaitinfo gives
 * sigqueue's value and a child's exit status; main's pthread_exit
 * (`edges mainexit`, alone). Exit 0 on success;
 * `edges PART` runs one part. */
#include "preload_prog.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *name(int e)
{
    return e == 0                 ? "0"
           : e == EINVAL          ? "EINVAL"
           : e == ETIMEDOUT       ? "ETIMEDOUT"
           : e == EBUSY           ? "EBUSY"
           : e == EOWNERDEAD      ? "EOWNERDEAD"
           : e == ENOTRECOVERABLE ? "ENOTRECOVERABLE"
                                  : strerror(e);
}

/* ---- pthread_mutex_clocklock ---- */

static pthread_mutex_t held = PTHREAD_MUTEX_INITIALIZER;
static int inside;

static void *hold_100ms(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&held);
    inside = 1;
    usleep(100000);
    inside = 0;
    pthread_mutex_unlock(&held);
    return NULL;
}

static int run_clocklock(void)
{
    pthread_t t;
    pthread_create(&t, NULL, hold_100ms, NULL);
    usleep(20000);
    struct timespec soon = in_ms(CLOCK_MONOTONIC, 20), later = in_ms(CLOCK_MONOTONIC, 5000);
    int timed = pthread_mutex_clocklock(&held, CLOCK_MONOTONIC, &soon);
    int got = pthread_mutex_clocklock(&held, CLOCK_MONOTONIC, &later);
    int was_inside = inside;
    if (got == 0)
        pthread_mutex_unlock(&held);
    pthread_join(t, NULL);
    printf("clocklock: while held %s, then %s with the holder %s\n", name(timed), name(got),
           was_inside ? "still inside" : "gone");
    return timed != ETIMEDOUT || got != 0 || was_inside;
}

/* ---- clocks glibc refuses ---- */

static void *nothing(void *arg)
{
    return arg;
}

static int run_bad_clocks(void)
{
    static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
    static pthread_cond_t c = PTHREAD_COND_INITIALIZER;
    sem_t s;
    sem_init(&s, 0, 0);
    struct timespec abs = in_ms(CLOCK_MONOTONIC, 200);
    const clockid_t bad = CLOCK_PROCESS_CPUTIME_ID;
    double t0 = now();
    pthread_mutex_lock(&m);
    int cw = pthread_cond_clockwait(&c, &m, bad, &abs);
    pthread_mutex_unlock(&m);
    int sw = sem_clockwait(&s, bad, &abs) == 0 ? 0 : errno;
    int ml = pthread_mutex_clocklock(&m, bad, &abs);
    if (ml == 0)
        pthread_mutex_unlock(&m);
    pthread_t t;
    pthread_create(&t, NULL, nothing, NULL);
    int jw = pthread_clockjoin_np(t, NULL, bad, &abs);
    if (jw != 0)
        pthread_join(t, NULL);
    double took = now() - t0;
    printf(
        "bad clock: cond_clockwait %s, sem_clockwait %s, mutex_clocklock %s, clockjoin %s, at once: %s\n",
        name(cw), name(sw), name(ml), name(jw), took < 0.1 ? "yes" : "no");
    return cw != EINVAL || sw != EINVAL || ml != EINVAL || jw != EINVAL || took >= 0.1;
}

/* ---- objects made anew where held ones were freed ---- */

static union {
    pthread_mutex_t m;
    pthread_rwlock_t rw;
    pthread_barrier_t b;
} reused;

static void *lock_and_leave(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&reused.m);      /* Ends holding it. */
    return NULL;
}

static void *rdlock_and_leave(void *arg)
{
    (void)arg;
    pthread_rwlock_rdlock(&reused.rw);
    return NULL;
}

static void *trylock_mutex(void *arg)
{
    (void)arg;
    return (void *)(intptr_t)pthread_mutex_trylock(&reused.m);
}

static int second_in;

static void *arrive_late(void *arg)
{
    (void)arg;
    usleep(100000);
    second_in = 1;
    pthread_barrier_wait(&reused.b);
    return NULL;
}

static int run_reused(void)
{
    pthread_t t;
    void *r = NULL;
    pthread_mutex_init(&reused.m, NULL);
    pthread_create(&t, NULL, lock_and_leave, NULL);
    pthread_join(t, NULL);
    pthread_mutex_init(&reused.m, NULL);        /* The memory's new object. */
    pthread_create(&t, NULL, trylock_mutex, NULL);
    pthread_join(t, &r);
    int mutex_free = (intptr_t)r == 0;
    if (mutex_free)
        pthread_mutex_init(&reused.m, NULL);

    pthread_rwlock_init(&reused.rw, NULL);
    pthread_create(&t, NULL, rdlock_and_leave, NULL);
    pthread_join(t, NULL);
    pthread_rwlock_init(&reused.rw, NULL);
    int rw = pthread_rwlock_trywrlock(&reused.rw);
    if (rw == 0)
        pthread_rwlock_unlock(&reused.rw);

    pthread_mutex_init(&reused.m, NULL);
    pthread_mutex_lock(&reused.m);              /* Held, then the memory reused. */
    pthread_barrier_init(&reused.b, NULL, 2);
    pthread_create(&t, NULL, arrive_late, NULL);
    pthread_barrier_wait(&reused.b);
    int waited = second_in;
    pthread_join(t, NULL);
    pthread_barrier_destroy(&reused.b);
    printf("reused memory: new mutex %s, new rwlock %s, new barrier %s\n", mutex_free ? "free" : "held",
           rw == 0 ? "free" : name(rw), waited ? "waits for all" : "let one through");
    return !mutex_free || rw != 0 || !waited;
}

/* ---- mutexes whose holder ended ---- */

static pthread_mutex_t checked, robust;

static void *lock_checked_and_end(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&checked);
    return NULL;
}

static void *try_checked(void *arg)
{
    (void)arg;
    int busy = pthread_mutex_trylock(&checked), perm = pthread_mutex_unlock(&checked);
    return (void *)(intptr_t)(busy == EBUSY && perm == EPERM);
}

static void *lock_robust_and_end(void *arg)
{
    pthread_mutex_lock(&robust);
    if (arg != NULL)
        usleep(100000);         /* Main is waiting when this thread ends. */
    return NULL;
}

static int robust_after_end(int waiting)
{
    pthread_t t;
    pthread_create(&t, NULL, lock_robust_and_end, waiting ? &robust : NULL);
    if (!waiting)
        pthread_join(t, NULL);
    else
        usleep(20000);
    struct timespec abs = in_ms(CLOCK_REALTIME, 5000);
    int r = pthread_mutex_timedlock(&robust, &abs);
    if (waiting)
        pthread_join(t, NULL);
    return r;
}

static int run_dead_owners(void)
{
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ERRORCHECK);
    pthread_mutex_init(&checked, &a);
    pthread_t t;
    void *ok = NULL;
    pthread_create(&t, NULL, lock_checked_and_end, NULL);
    pthread_join(t, NULL);
    pthread_create(&t, NULL, try_checked, NULL);    /* Often the ended one's record. */
    pthread_join(t, &ok);

    pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
    pthread_mutex_t robust_checked;     /* Its owner's trylock: EDEADLK. */
    pthread_mutex_init(&robust_checked, &a);
    pthread_mutex_lock(&robust_checked);
    int own_try = pthread_mutex_trylock(&robust_checked);
    pthread_mutex_unlock(&robust_checked);
    pthread_mutex_destroy(&robust_checked);

    pthread_mutexattr_settype(&a, PTHREAD_MUTEX_NORMAL);
    pthread_mutex_init(&robust, &a);
    int dead = robust_after_end(0);
    int consistent = pthread_mutex_consistent(&robust);
    int unlocked = pthread_mutex_unlock(&robust);
    int again = pthread_mutex_lock(&robust);
    pthread_mutex_unlock(&robust);
    int dead_waiting = robust_after_end(1);
    pthread_mutex_unlock(&robust);              /* Inconsistent: for good. */
    int gone = pthread_mutex_lock(&robust);
    printf("dead owners: error-checking held by an ended thread: %s; a robust one's owner's trylock %s; "
           "robust: %s, consistent %s, %s; "
           "while waited for: %s; unlocked inconsistent, then %s\n",
           ok ? "EBUSY, EPERM" : "taken", own_try == EDEADLK ? "EDEADLK" : name(own_try), name(dead),
           name(consistent), again == 0 ? "locked again" : name(again), name(dead_waiting), name(gone));
    return !ok || own_try != EDEADLK || dead != EOWNERDEAD || consistent != 0 || unlocked != 0 ||
           again != 0 || dead_waiting != EOWNERDEAD || gone != ENOTRECOVERABLE;
}

/* ---- a normal mutex as a binary semaphore ---- */

static pthread_mutex_t gate = PTHREAD_MUTEX_INITIALIZER;
static int opener_unlock = -1;

static void *open_gate(void *arg)
{
    (void)arg;
    usleep(100000);
    opener_unlock = pthread_mutex_unlock(&gate);
    return NULL;
}

static int run_gate(void)
{
    pthread_mutex_lock(&gate);
    pthread_t t;
    pthread_create(&t, NULL, open_gate, NULL);
    int again = pthread_mutex_lock(&gate);      /* Waits for the opener. */
    pthread_join(t, NULL);
    struct timespec abs = in_ms(CLOCK_REALTIME, 50);
    double t0 = now();
    int timed = pthread_mutex_timedlock(&gate, &abs);   /* Nobody opens it now. */
    double waited = now() - t0;
    pthread_mutex_unlock(&gate);
    printf("gate: the other thread's unlock %s, the holder's second lock %s; its timed lock %s after %s\n",
           name(opener_unlock), name(again), name(timed), waited >= 0.04 ? "the deadline" : "less");
    return opener_unlock != 0 || again != 0 || timed != ETIMEDOUT || waited < 0.04;
}

/* ---- a semaphore posted from glibc's own thread ---- */

static sem_t fired;

static void *wait_fired(void *arg)
{
    (void)arg;
    return (void *)(intptr_t)(sem_wait(&fired) == 0);
}

static void fire(union sigval v)
{
    (void)v;
    sem_post(&fired);
}

static int run_sigev_thread(void)
{
    sem_init(&fired, 0, 0);
    struct sigevent ev;
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = SIGEV_THREAD;
    ev.sigev_notify_function = fire;
    timer_t timer;
    if (timer_create(CLOCK_MONOTONIC, &ev, &timer) != 0)
        return 1;
    struct itimerspec when = { .it_value = { 0, 100000000 } };
    timer_settime(timer, 0, &when, NULL);
    int r = sem_wait(&fired);
    int e = errno;
    /* Again, a thread waiting while main joins it: nothing else runs. */
    timer_settime(timer, 0, &when, NULL);
    pthread_t t;
    void *waited = NULL;
    pthread_create(&t, NULL, wait_fired, NULL);
    int joined = pthread_join(t, &waited);
    timer_delete(timer);
    printf("SIGEV_THREAD timer: sem_wait %s; a thread's while main joins it %s\n",
           r == 0 ? "0" : strerror(e),
           joined != 0      ? name(joined)
           : waited != NULL ? "0"
                            : "failed");
    return r != 0 || joined != 0 || waited == NULL;
}

/* ---- main's handle in another thread's hands ---- */

static pthread_t main_handle;
static volatile sig_atomic_t handled;

static void on_usr1(int sig)
{
    (void)sig;
    handled = 1;
}

static void *kill_main(void *arg)
{
    (void)arg;
    usleep(100000);
    pthread_kill(main_handle, SIGUSR1);
    return NULL;
}

static void *detach_main(void *arg)
{
    (void)arg;
    int r = pthread_detach(main_handle);
    (void)r;                    /* glibc's answer about main; this thread stays joinable. */
    return (void *)42;
}

static int run_main_handle(void)
{
    main_handle = pthread_self();
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;    /* No SA_RESTART: the sleep is cut short. */
    sigaction(SIGUSR1, &sa, NULL);
    pthread_t t;
    pthread_create(&t, NULL, kill_main, NULL);
    struct timespec three = { 3, 0 };
    double t0 = now();
    int slept = nanosleep(&three, NULL);
    int e = errno;
    double took = now() - t0;
    pthread_join(t, NULL);
    void *r = NULL;
    pthread_create(&t, NULL, detach_main, NULL);
    int joined = pthread_join(t, &r);
    printf(
        "main's handle: pthread_kill cuts main's sleep short: %s; pthread_detach leaves the caller joinable: "
        "%s\n",
        slept == -1 && e == EINTR && handled && took < 2 ? "yes" : "no",
        joined == 0 && r == (void *)42 ? "yes" : "no");
    return !(slept == -1 && e == EINTR && handled && took < 2) || joined != 0 || r != (void *)42;
}

/* ---- pthread_sigqueue to a thread, and thread names ---- */

static volatile sig_atomic_t queued_value;
static int sleeper_cut;

static void on_usr2(int sig, siginfo_t *info, void *uc)
{
    (void)sig;
    (void)uc;
    queued_value = info->si_value.sival_int;
}

static void *sleep_3s(void *arg)
{
    (void)arg;
    pthread_setname_np(pthread_self(), "sleeper");
    struct timespec three = { 3, 0 };
    double t0 = now();
    sleeper_cut = nanosleep(&three, NULL) == -1 && errno == EINTR && now() - t0 < 2;
    return NULL;
}

static int run_sigqueue_and_names(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_usr2;
    sa.sa_flags = SA_SIGINFO;   /* No SA_RESTART: the sleep is cut short. */
    sigaction(SIGUSR2, &sa, NULL);
    pthread_t t;
    pthread_create(&t, NULL, sleep_3s, NULL);
    usleep(100000);
    char got[16] = "", small[4];
    int named = pthread_getname_np(t, got, sizeof got);
    int too_small = pthread_getname_np(t, small, sizeof small);
    int too_long = pthread_setname_np(t, "a-name-too-long-for-it");
    int queued = pthread_sigqueue(t, SIGUSR2, (union sigval){ .sival_int = 42 });
    pthread_join(t, NULL);
    printf("sigqueue: %s, the value %d, the target's sleep cut short: %s; names: '%s', %s, %s\n",
           name(queued), (int)queued_value, sleeper_cut ? "yes" : "no", named == 0 ? got : name(named),
           too_small == ERANGE ? "ERANGE" : name(too_small),
           too_long == ERANGE ? "ERANGE" : name(too_long));
    return queued != 0 || queued_value != 42 || !sleeper_cut || named != 0 || strcmp(got, "sleeper") != 0 ||
           too_small != ERANGE || too_long != ERANGE;
}

/* ---- main's pthread_exit, which `edges mainexit` alone runs: the process
 * goes on with the other threads, main's key destructors run, and a thread
 * that joins main gets its value; that thread then ends the process, with
 * status 0 if all was so. */

static pthread_key_t main_key;
static int main_destructed;

static void main_key_gone(void *v)
{
    main_destructed = v == (void *)&main_key;
}

static void *join_main_then_exit(void *main_thread)
{
    void *v = NULL;
    int r = pthread_join(*(pthread_t *)main_thread, &v);
    printf("main's pthread_exit: joined %s, value %ld; its key's destructor %s\n", name(r),
           (long)(intptr_t)v, main_destructed ? "ran" : "did not run");
    exit(r == 0 && v == (void *)7 && main_destructed ? 0 : 1);
}

static int run_main_exit(void)
{
    static pthread_t main_thread;
    main_thread = pthread_self();
    pthread_key_create(&main_key, main_key_gone);
    pthread_setspecific(main_key, &main_key);
    pthread_t t;
    pthread_create(&t, NULL, join_main_then_exit, &main_thread);
    pthread_exit((void *)7);
}

/* ---- a deleted key ---- */

static pthread_key_t gone;

static void *use_deleted_key(void *arg)
{
    (void)arg;
    int set = pthread_setspecific(gone, (void *)1);
    void *got = pthread_getspecific(gone);
    return (void *)(intptr_t)(set == EINVAL && got == NULL);
}

static int run_deleted_key(void)
{
    pthread_key_create(&gone, NULL);
    pthread_key_delete(gone);
    pthread_t t;
    void *ok = NULL;
    pthread_create(&t, NULL, use_deleted_key, NULL);
    pthread_join(t, &ok);
    printf("deleted key: setspecific EINVAL and getspecific NULL: %s\n", ok ? "yes" : "no");
    return ok == NULL;
}

/* ---- waiting for a child that another thread feeds ---- */

static int feed_fd = -1;
static const char *feed_fifo;

/* 100 ms later: "hello" into the pipe (feed_fd) or the FIFO (feed_fifo). */
static void *feed_child(void *arg)
{
    (void)arg;
    usleep(100000);
    int fd = feed_fifo != NULL ? open(feed_fifo, O_WRONLY) : feed_fd;
    ssize_t w = write(fd, "hello\n", 6);
    close(fd);
    return (void *)(intptr_t)w;
}

static int run_children(void)
{
    alarm(20);                  /* A wait that blocks every thread dies of it. */
    int p[2];
    if (pipe(p) != 0)
        return 1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(p[0], 0);
        close(p[0]);
        close(p[1]);
        execl("/bin/sh", "sh", "-c", "read line && test \"$line\" = hello", (char *)NULL);
        _exit(127);
    }
    close(p[0]);
    feed_fd = p[1];
    pthread_t t;
    pthread_create(&t, NULL, feed_child, NULL);
    int status = -1;
    pid_t waited = waitpid(pid, &status, 0);
    void *w = NULL;
    pthread_join(t, &w);
    int child_ok = waited == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0 && (intptr_t)w == 6;

    char fifo[] = "/tmp/greenbench-edges-XXXXXX";
    int sys = -1;
    w = NULL;
    if (mkdtemp(fifo) != NULL) {
        char path[64], cmd[128];
        snprintf(path, sizeof path, "%s/fifo", fifo);
        snprintf(cmd, sizeof cmd, "read line < %s && test \"$line\" = hello", path);
        if (mkfifo(path, 0600) == 0) {
            feed_fifo = path;
            pthread_create(&t, NULL, feed_child, NULL);
            sys = system(cmd);
            pthread_join(t, &w);
            unlink(path);
        }
        rmdir(fifo);
    }
    alarm(0);
    printf("children: waitpid for a child another thread feeds %s, system() %s\n",
           child_ok ? "ok" : "failed", sys == 0 && (intptr_t)w == 6 ? "ok" : "failed");
    return !child_ok || sys != 0 || (intptr_t)w != 6;
}

/* ---- what sigwaitinfo says of a signal ---- */

static int run_sigwaitinfo(void)
{
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGCHLD);
    pthread_sigmask(SIG_BLOCK, &set, &old);
    siginfo_t si;
    sigqueue(getpid(), SIGUSR1, (union sigval){ .sival_int = 42 });
    int queued = sigwaitinfo(&set, &si);
    int value = si.si_value.sival_int, code = si.si_code;
    pid_t child = fork();
    if (child == 0)
        _exit(7);
    int chld = sigwaitinfo(&set, &si);
    int status = si.si_status, from_child = si.si_pid == child && si.si_code == CLD_EXITED;
    waitpid(child, NULL, 0);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    printf(
        "sigwaitinfo: sigqueue's value %d (code %s); the child's status %d (its pid and CLD_EXITED: %s)\n",
        value, code == SI_QUEUE ? "SI_QUEUE" : "other", status, from_child ? "yes" : "no");
    return queued != SIGUSR1 || value != 42 || code != SI_QUEUE || chld != SIGCHLD || status != 7 ||
           !from_child;
}

/* Every part, or the one named (edges clocklock). */
int main(int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*run)(void);
    } parts[] = {
        { "clocklock", run_clocklock },     { "clocks", run_bad_clocks },
        { "reused", run_reused },           { "gate", run_gate },
        { "sigev", run_sigev_thread },      { "main", run_main_handle },
        { "key", run_deleted_key },         { "children", run_children },
        { "dead", run_dead_owners },        { "sigqueue", run_sigqueue_and_names },
        { "sigwaitinfo", run_sigwaitinfo },
    };
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc > 1 && strcmp(argv[1], "mainexit") == 0)
        return run_main_exit();
    int bad = 0, ran = 0;
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        if (argc > 1 && strcmp(argv[1], parts[i].name) != 0)
            continue;
        bad |= parts[i].run();
        ran++;
    }
    if (ran == 0) {
        fprintf(
            stderr,
            "edges: no part '%s' (clocklock, clocks, reused, gate, sigev, main, key, children, dead, sigqueue, "
            "sigwaitinfo; mainexit alone)\n",
            argv[1]);
        return 2;
    }
    return bad;
}
