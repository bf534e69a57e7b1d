/* tests/preload/sync.c: pthread mutexes, condition variables and
 * semaphores, with and without GREEN_PRELOAD=threads: the same answers.
 * Threads hold the mutex across a sleep (a switch under the preload), a
 * producer and consumers meet on a condition variable, two threads play
 * ping-pong on semaphores, and a recursive and an error-checking mutex
 * keep their owners apart; the GNU joins and the clock waits; rwlocks
 * (writers exclude everyone, readers share, each kind's order, the try,
 * timed and clock variants), a barrier (nobody leaves a round before all
 * arrived), pthread keys (each thread its own values and destructors),
 * pthread_once (one initialiser while the others wait), each thread's
 * identity (pthread_self is its handle; its attributes), a spinlock held
 * across a sleep, and a semaphore, a mutex and a condition shared with
 * another process. Exit 0 on success. */
#include "preload_prog.h"

#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define WORKERS 20
#define ROUNDS 50

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static long counter;

static void *adder(void *arg)
{
    (void)arg;
    for (int i = 0; i < ROUNDS; i++) {
        pthread_mutex_lock(&lock);
        long v = counter;
        usleep(10);             /* Another thread runs: it must not get in. */
        counter = v + 1;
        pthread_mutex_unlock(&lock);
    }
    return NULL;
}

static pthread_cond_t ready = PTHREAD_COND_INITIALIZER;
static int items, consumed, done;

static void *consumer(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&lock);
    for (;;) {
        while (items == 0 && !done)
            pthread_cond_wait(&ready, &lock);
        if (items == 0)
            break;
        items--;
        consumed++;
    }
    pthread_mutex_unlock(&lock);
    return NULL;
}

static sem_t ping, pong;

static void *ponger(void *arg)
{
    for (int i = 0; i < ROUNDS; i++) {
        sem_wait(&ping);
        (*(int *)arg)++;
        sem_post(&pong);
    }
    return NULL;
}

static pthread_mutex_t rec, chk;
static int other_trylock, other_unlock;

static void *intruder(void *arg)
{
    (void)arg;
    other_trylock = pthread_mutex_trylock(&rec);
    other_unlock = pthread_mutex_unlock(&chk);
    return NULL;
}

static int run_owners(void)
{
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&rec, &a);
    pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ERRORCHECK);
    pthread_mutex_init(&chk, &a);
    int r1 = pthread_mutex_lock(&rec), r2 = pthread_mutex_lock(&rec);
    int c1 = pthread_mutex_lock(&chk), c2 = pthread_mutex_lock(&chk);
    pthread_t t;
    pthread_create(&t, NULL, intruder, NULL);
    pthread_join(t, NULL);
    int u = pthread_mutex_unlock(&rec) | pthread_mutex_unlock(&rec) | pthread_mutex_unlock(&chk);
    printf("owners: recursive %d %d, errorcheck %d %s, other trylock %s, other unlock %s\n", r1, r2, c1,
           c2 == EDEADLK ? "EDEADLK" : "?", other_trylock == EBUSY ? "EBUSY" : "?",
           other_unlock == EPERM ? "EPERM" : "?");
    return r1 == 0 && r2 == 0 && c1 == 0 && c2 == EDEADLK && other_trylock == EBUSY &&
                   other_unlock == EPERM && u == 0
               ? 0
               : 1;
}

static int run_timed(void)
{
    pthread_mutex_lock(&lock);
    struct timespec abs;
    clock_gettime(CLOCK_REALTIME, &abs);
    abs.tv_nsec += 50000000;
    if (abs.tv_nsec >= 1000000000) {
        abs.tv_sec++;
        abs.tv_nsec -= 1000000000;
    }
    int r = pthread_cond_timedwait(&ready, &lock, &abs);
    pthread_mutex_unlock(&lock);
    sem_t s;
    sem_init(&s, 0, 0);
    int sr = sem_timedwait(&s, &abs);
    int serr = errno;
    printf("timed: cond %s, sem %s\n", r == ETIMEDOUT ? "ETIMEDOUT" : "?",
           sr == -1 && serr == ETIMEDOUT ? "ETIMEDOUT" : "?");
    return r == ETIMEDOUT && sr == -1 && serr == ETIMEDOUT ? 0 : 1;
}

static int flag;
static sem_t later;

static void *slow_42(void *arg)
{
    (void)arg;
    usleep(100000);
    return (void *)42;
}

/* After 50 ms: the flag set and signalled, and a unit posted. */
static void *signaller(void *arg)
{
    (void)arg;
    usleep(50000);
    pthread_mutex_lock(&lock);
    flag = 1;
    pthread_cond_signal(&ready);
    pthread_mutex_unlock(&lock);
    sem_post(&later);
    return NULL;
}

/* The GNU joins (glibc would crash on a green handle) and the waits on a
 * clock of the caller's choice (C++'s condition_variable::wait_for), which
 * must be woken, not time out. */
static int run_gnu_joins_and_clocks(void)
{
    pthread_t t;
    void *r = NULL;
    pthread_create(&t, NULL, slow_42, NULL);
    int busy = pthread_tryjoin_np(t, &r);
    struct timespec soon = in_ms(CLOCK_REALTIME, 20);
    int timed = pthread_timedjoin_np(t, &r, &soon);
    struct timespec later_ts = in_ms(CLOCK_MONOTONIC, 5000);
    int joined = pthread_clockjoin_np(t, &r, CLOCK_MONOTONIC, &later_ts);
    printf("joins: tryjoin %s, timedjoin %s, clockjoin %d (%ld)\n", busy == EBUSY ? "EBUSY" : "?",
           timed == ETIMEDOUT ? "ETIMEDOUT" : "?", joined, (long)r);

    sem_init(&later, 0, 0);
    pthread_create(&t, NULL, signaller, NULL);
    struct timespec abs = in_ms(CLOCK_MONOTONIC, 5000);
    pthread_mutex_lock(&lock);
    int cw = 0;
    while (!flag && cw == 0)
        cw = pthread_cond_clockwait(&ready, &lock, CLOCK_MONOTONIC, &abs);
    pthread_mutex_unlock(&lock);
    int sw = sem_clockwait(&later, CLOCK_MONOTONIC, &abs);
    pthread_join(t, NULL);
    printf("clocks: cond_clockwait %d flag %d, sem_clockwait %d\n", cw, flag, sw);
    return busy == EBUSY && timed == ETIMEDOUT && joined == 0 && r == (void *)42 && cw == 0 && flag == 1 &&
                   sw == 0
               ? 0
               : 1;
}

/* ---- rwlocks ---- */

static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static long rw_value;
static int torn;                /* A reader saw the value change under its lock. */

static void *rw_writer(void *arg)
{
    (void)arg;
    for (int i = 0; i < ROUNDS; i++) {
        pthread_rwlock_wrlock(&rw);
        long v = rw_value;
        usleep(10);             /* Others run: no reader or writer may get in. */
        rw_value = v + 1;
        pthread_rwlock_unlock(&rw);
    }
    return NULL;
}

static void *rw_reader(void *arg)
{
    (void)arg;
    for (int i = 0; i < ROUNDS; i++) {
        pthread_rwlock_rdlock(&rw);
        long v = rw_value;
        usleep(10);
        if (rw_value != v)
            __atomic_store_n(&torn, 1, __ATOMIC_RELAXED);
        pthread_rwlock_unlock(&rw);
    }
    return NULL;
}

/* Two readers meet while both hold the read lock. */
static sem_t met[2];

static void *rw_meet(void *arg)
{
    int me = (int)(intptr_t)arg;
    pthread_rwlock_rdlock(&rw);
    sem_post(&met[me]);
    struct timespec t = in_ms(CLOCK_REALTIME, 5000);
    int r = sem_timedwait(&met[!me], &t);
    pthread_rwlock_unlock(&rw);
    return (void *)(intptr_t)(r == 0);
}

static pthread_rwlock_t probe_lock;
static int probe[6];

/* Another thread's view of probe_lock, written or read held by main. */
static void *rw_probe(void *arg)
{
    (void)arg;
    probe[0] = pthread_rwlock_tryrdlock(&probe_lock);
    if (probe[0] == 0)
        pthread_rwlock_unlock(&probe_lock);
    probe[1] = pthread_rwlock_trywrlock(&probe_lock);
    struct timespec t = in_ms(CLOCK_REALTIME, 20);
    probe[2] = pthread_rwlock_timedrdlock(&probe_lock, &t);
    if (probe[2] == 0)
        pthread_rwlock_unlock(&probe_lock);
    t = in_ms(CLOCK_MONOTONIC, 20);
    probe[3] = pthread_rwlock_clockwrlock(&probe_lock, CLOCK_MONOTONIC, &t);
    probe[4] = pthread_rwlock_clockrdlock(&probe_lock, CLOCK_PROCESS_CPUTIME_ID, &t);
    return NULL;
}

static const char *err_name(int e)
{
    return e == 0           ? "0"
           : e == EBUSY     ? "EBUSY"
           : e == EDEADLK   ? "EDEADLK"
           : e == ETIMEDOUT ? "ETIMEDOUT"
           : e == EINVAL    ? "EINVAL"
                            : "?";
}

static int probe_held(int writing, char *out, size_t len)
{
    pthread_t t;
    int own = writing ? pthread_rwlock_wrlock(&probe_lock) : pthread_rwlock_rdlock(&probe_lock);
    int again = writing ? pthread_rwlock_wrlock(&probe_lock) : 0;
    int rd = writing ? pthread_rwlock_rdlock(&probe_lock) : 0;
    pthread_create(&t, NULL, rw_probe, NULL);
    pthread_join(t, NULL);
    int un = pthread_rwlock_unlock(&probe_lock);
    snprintf(out, len, "%s %s %s, other: tryrd %s trywr %s timedrd %s clockwr %s badclock %s, unlock %s",
             err_name(own), err_name(again), err_name(rd), err_name(probe[0]), err_name(probe[1]),
             err_name(probe[2]), err_name(probe[3]), err_name(probe[4]), err_name(un));
    return own | un;
}

/* Which comes first when main, a reader, lets go: a writer already waiting
 * or a reader that came after it. */
static pthread_rwlock_t order_lock;
static int writer_went, reader_saw;

static void *order_writer(void *arg)
{
    (void)arg;
    pthread_rwlock_wrlock(&order_lock);
    writer_went = 1;
    pthread_rwlock_unlock(&order_lock);
    return NULL;
}

static void *order_reader(void *arg)
{
    (void)arg;
    pthread_rwlock_rdlock(&order_lock);
    reader_saw = writer_went;
    pthread_rwlock_unlock(&order_lock);
    return NULL;
}

static const char *first_after_waiting_writer(int kind)
{
    pthread_rwlockattr_t a;
    pthread_rwlockattr_init(&a);
    pthread_rwlockattr_setkind_np(&a, kind);
    pthread_rwlock_init(&order_lock, &a);
    writer_went = reader_saw = 0;
    pthread_t w, r;
    pthread_rwlock_rdlock(&order_lock);
    pthread_create(&w, NULL, order_writer, NULL);
    usleep(20000);              /* The writer waits. */
    pthread_create(&r, NULL, order_reader, NULL);
    usleep(20000);              /* The reader is in, or waits. */
    pthread_rwlock_unlock(&order_lock);
    pthread_join(w, NULL);
    pthread_join(r, NULL);
    pthread_rwlock_destroy(&order_lock);
    return reader_saw ? "writer" : "reader";
}

static int run_rwlocks(void)
{
    pthread_t t[8];
    for (int i = 0; i < 8; i++)
        pthread_create(&t[i], NULL, i < 3 ? rw_writer : rw_reader, NULL);
    for (int i = 0; i < 8; i++)
        pthread_join(t[i], NULL);
    sem_init(&met[0], 0, 0);
    sem_init(&met[1], 0, 0);
    void *m0, *m1;
    pthread_create(&t[0], NULL, rw_meet, (void *)0);
    pthread_create(&t[1], NULL, rw_meet, (void *)1);
    pthread_join(t[0], &m0);
    pthread_join(t[1], &m1);
    int met_both = m0 == (void *)1 && m1 == (void *)1;
    printf("rwlock: value %ld of %d, torn %d, readers together %d\n", rw_value, 3 * ROUNDS, torn, met_both);

    pthread_rwlock_init(&probe_lock, NULL);
    char w[256], r[256];
    int bad = probe_held(1, w, sizeof w) | probe_held(0, r, sizeof r);
    printf("rwlock written: %s\nrwlock read: %s\n", w, r);
    int destroyed = pthread_rwlock_destroy(&probe_lock);
    const char *by_default = first_after_waiting_writer(PTHREAD_RWLOCK_PREFER_READER_NP);
    const char *writers_first = first_after_waiting_writer(PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    printf("rwlock order: default %s first, prefer-writer %s first; destroy %s\n", by_default,
           writers_first, err_name(destroyed));
    return bad || rw_value != 3 * ROUNDS || torn || !met_both ||
           strcmp(w,
                  "0 EDEADLK EDEADLK, other: tryrd EBUSY trywr EBUSY timedrd ETIMEDOUT clockwr ETIMEDOUT "
                  "badclock EINVAL, unlock 0") != 0 ||
           strcmp(
               r,
               "0 0 0, other: tryrd 0 trywr EBUSY timedrd 0 clockwr ETIMEDOUT badclock EINVAL, unlock 0") !=
               0 ||
           strcmp(by_default, "reader") != 0 || strcmp(writers_first, "writer") != 0 || destroyed != 0;
}

/* ---- barriers ---- */

#define PARTIES 5
#define BARRIER_ROUNDS 3
static pthread_barrier_t barrier;
static int arrived[BARRIER_ROUNDS], early, serials, failures;

/* Party me (main is 0) arrives in a different order each round; nobody
 * leaves a round before everyone arrived. */
static void *party(void *arg)
{
    int me = (int)(intptr_t)arg;
    for (int round = 0; round < BARRIER_ROUNDS; round++) {
        usleep(2000 * ((me + 2 * round) % PARTIES));
        __atomic_add_fetch(&arrived[round], 1, __ATOMIC_SEQ_CST);
        int r = pthread_barrier_wait(&barrier);
        if (__atomic_load_n(&arrived[round], __ATOMIC_SEQ_CST) != PARTIES)
            __atomic_add_fetch(&early, 1, __ATOMIC_SEQ_CST);
        if (r == PTHREAD_BARRIER_SERIAL_THREAD)
            __atomic_add_fetch(&serials, 1, __ATOMIC_SEQ_CST);
        else if (r != 0)
            __atomic_add_fetch(&failures, 1, __ATOMIC_SEQ_CST);
    }
    return NULL;
}

static int run_barrier(void)
{
    pthread_barrier_t none;
    int zero = pthread_barrier_init(&none, NULL, 0);
    pthread_barrier_init(&barrier, NULL, PARTIES);
    pthread_t t[PARTIES];
    for (int i = 1; i < PARTIES; i++)
        pthread_create(&t[i], NULL, party, (void *)(intptr_t)i);
    party((void *)0);
    for (int i = 1; i < PARTIES; i++)
        pthread_join(t[i], NULL);
    int destroyed = pthread_barrier_destroy(&barrier);
    printf("barrier: %d rounds of %d, early %d, serial %d, failed %d; count 0 %s, destroy %s\n",
           BARRIER_ROUNDS, PARTIES, early, serials, failures, err_name(zero), err_name(destroyed));
    return early != 0 || serials != BARRIER_ROUNDS || failures != 0 || zero != EINVAL || destroyed != 0;
}

/* ---- thread-specific data ---- */

#define KEYED 5
static pthread_key_t key, fresh_key, again_key, old_key, new_key;
static int slot[KEYED], destroyed[KEYED], destructions, own, fresh_null, again_calls, reused_null;
static sem_t key_set, key_swapped;

static void destroy_slot(void *v)
{
    __atomic_add_fetch(&destructions, 1, __ATOMIC_SEQ_CST);
    __atomic_store_n(&destroyed[(int *)v - slot], 1, __ATOMIC_SEQ_CST);
}

/* Sets its value again the first time: a second round calls it again. */
static void destroy_again(void *v)
{
    if (__atomic_add_fetch(&again_calls, 1, __ATOMIC_SEQ_CST) == 1)
        pthread_setspecific(again_key, v);
}

static void *keyed(void *arg)
{
    int i = (int)(intptr_t)arg;
    int fresh = pthread_getspecific(fresh_key) == NULL;
    pthread_setspecific(key, &slot[i]);
    usleep(1000 * (KEYED - i));  /* The others set theirs meanwhile. */
    if (pthread_getspecific(key) == &slot[i])
        __atomic_add_fetch(&own, 1, __ATOMIC_SEQ_CST);
    if (fresh)
        __atomic_add_fetch(&fresh_null, 1, __ATOMIC_SEQ_CST);
    if (i == 0)
        pthread_setspecific(again_key, &slot[i]);
    return NULL;
}

/* A key deleted and another made while this thread holds a value: the new
 * key reads NULL here, whatever number it got, and the old one's
 * destructor does not run. */
static void *keeps_old(void *arg)
{
    (void)arg;
    pthread_setspecific(old_key, &slot[0]);
    sem_post(&key_set);
    sem_wait(&key_swapped);
    reused_null = pthread_getspecific(new_key) == NULL;
    return NULL;
}

static int run_keys(void)
{
    static int main_value;
    pthread_key_create(&key, destroy_slot);
    pthread_key_create(&fresh_key, NULL);
    pthread_key_create(&again_key, destroy_again);
    pthread_setspecific(key, &main_value);
    pthread_setspecific(fresh_key, &main_value);
    pthread_t t[KEYED];
    for (int i = 0; i < KEYED; i++)
        pthread_create(&t[i], NULL, keyed, (void *)(intptr_t)i);
    for (int i = 0; i < KEYED; i++)
        pthread_join(t[i], NULL);
    int distinct = 0;
    for (int i = 0; i < KEYED; i++)
        distinct += destroyed[i];
    int main_kept = pthread_getspecific(key) == &main_value;

    sem_init(&key_set, 0, 0);
    sem_init(&key_swapped, 0, 0);
    pthread_key_create(&old_key, destroy_slot);
    int before = destructions;
    pthread_create(&t[0], NULL, keeps_old, NULL);
    sem_wait(&key_set);
    pthread_key_delete(old_key);
    pthread_key_create(&new_key, destroy_slot);
    sem_post(&key_swapped);
    pthread_join(t[0], NULL);
    int deleted_ran = destructions - before;
    printf("keys: own %d of %d, fresh NULL %d, destructor %d (distinct %d), main kept %d, again %d, "
           "reused NULL %d, deleted's destructor %d\n",
           own, KEYED, fresh_null, before, distinct, main_kept, again_calls, reused_null, deleted_ran);
    return own != KEYED || fresh_null != KEYED || before != KEYED || distinct != KEYED || !main_kept ||
           again_calls != 2 || !reused_null || deleted_ran != 0;
}

/* ---- pthread_once ---- */

static pthread_once_t once = PTHREAD_ONCE_INIT, once_left = PTHREAD_ONCE_INIT;
static int inits, saw_done, left_inits;

/* Waits (a switch under the preload) while the others call pthread_once. */
static void slow_init(void)
{
    usleep(20000);
    inits++;
}

static void *oncer(void *arg)
{
    (void)arg;
    pthread_once(&once, slow_init);
    if (__atomic_load_n(&inits, __ATOMIC_SEQ_CST) == 1)
        __atomic_add_fetch(&saw_done, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

/* An initialiser that ends its thread: the next caller runs its own. */
static void exiting_init(void)
{
    left_inits++;
    pthread_exit(NULL);
}

static void counting_init(void)
{
    left_inits += 10;
}

static void *leaves_once(void *arg)
{
    (void)arg;
    pthread_once(&once_left, exiting_init);
    return (void *)1;           /* Not reached. */
}

static int run_once(void)
{
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, oncer, NULL);
    oncer(NULL);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    void *r = NULL;
    pthread_create(&t[0], NULL, leaves_once, NULL);
    pthread_join(t[0], &r);
    pthread_once(&once_left, counting_init);
    pthread_once(&once_left, counting_init);
    printf("once: %d init, %d of 5 saw it done; after an initialiser that exited: %d, thread result %p\n",
           inits, saw_done, left_inits, r);
    return inits != 1 || saw_done != 5 || left_inits != 11 || r != NULL;
}

/* ---- identity ---- */

#define NAMED 3
static pthread_t named[NAMED], main_handle;
static sem_t named_go;
static int self_is_handle, not_main, own_stack, affinity, cpu_clock, sched, alive;

/* Each thread's pthread_self is the handle its creator got, and glibc's
 * calls given it answer for it: its stack holds its locals. */
static void *identity(void *arg)
{
    int i = (int)(intptr_t)arg;
    sem_wait(&named_go);        /* named[i] is written. */
    pthread_t me = pthread_self();
    int local = 0;
    pthread_attr_t a;
    void *base;
    size_t size;
    cpu_set_t set;
    clockid_t clock;
    struct timespec used;
    int policy;
    struct sched_param param;
    __atomic_add_fetch(&self_is_handle, pthread_equal(me, named[i]) != 0, __ATOMIC_SEQ_CST);
    __atomic_add_fetch(&not_main, pthread_equal(me, main_handle) == 0, __ATOMIC_SEQ_CST);
    if (pthread_getattr_np(me, &a) == 0) {
        __atomic_add_fetch(&own_stack,
                           pthread_attr_getstack(&a, &base, &size) == 0 && (char *)&local >= (char *)base &&
                               (char *)&local < (char *)base + size,
                           __ATOMIC_SEQ_CST);
        pthread_attr_destroy(&a);
    }
    __atomic_add_fetch(&affinity, pthread_getaffinity_np(me, sizeof set, &set) == 0, __ATOMIC_SEQ_CST);
    __atomic_add_fetch(&cpu_clock,
                       pthread_getcpuclockid(me, &clock) == 0 && clock_gettime(clock, &used) == 0,
                       __ATOMIC_SEQ_CST);
    __atomic_add_fetch(&sched, pthread_getschedparam(me, &policy, &param) == 0, __ATOMIC_SEQ_CST);
    __atomic_add_fetch(&alive, pthread_kill(me, 0) == 0, __ATOMIC_SEQ_CST);
    return NULL;
}

static int run_identity(void)
{
    main_handle = pthread_self();
    sem_init(&named_go, 0, 0);
    for (int i = 0; i < NAMED; i++)
        pthread_create(&named[i], NULL, identity, (void *)(intptr_t)i);
    for (int i = 0; i < NAMED; i++)
        sem_post(&named_go);
    for (int i = 0; i < NAMED; i++)
        pthread_join(named[i], NULL);
    printf("identity: pthread_self is its handle %d of %d, not main's %d, its stack %d, affinity %d, "
           "cpu clock %d, sched %d, alive %d\n",
           self_is_handle, NAMED, not_main, own_stack, affinity, cpu_clock, sched, alive);
    return self_is_handle != NAMED || not_main != NAMED || own_stack != NAMED || affinity != NAMED ||
           cpu_clock != NAMED || sched != NAMED || alive != NAMED;
}

/* ---- spinlocks ---- */

static pthread_spinlock_t spin;
static int spin_value;

/* Holds the spinlock across a sleep (a switch under thread patching). */
static void *spin_holder(void *arg)
{
    (void)arg;
    pthread_spin_lock(&spin);
    int v = spin_value;
    usleep(50000);
    spin_value = v + 1;
    pthread_spin_unlock(&spin);
    return NULL;
}

static int run_spin(void)
{
    pthread_spin_init(&spin, PTHREAD_PROCESS_PRIVATE);
    pthread_t t[3];
    for (int i = 0; i < 3; i++)
        pthread_create(&t[i], NULL, spin_holder, NULL);
    for (int i = 0; i < 3; i++)
        pthread_join(t[i], NULL);
    pthread_spin_destroy(&spin);
    printf("spinlock: %d of 3 held across a sleep\n", spin_value);
    return spin_value != 3;
}

/* ---- a semaphore shared with another process ---- */

/* A child process posts a semaphore in shared memory after 50 ms (a raw
 * nanosleep: the child of a patched process makes no green wait): the
 * parent's sem_wait, which no post of its own process wakes, sees it. */
static int run_shared_sem(void)
{
    sem_t *s = mmap(NULL, sizeof *s, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (s == MAP_FAILED || sem_init(s, 1, 0) != 0)
        return 1;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pid_t pid = fork();
    if (pid == 0) {
        struct timespec later = { 0, 50000000 };
        syscall(SYS_nanosleep, &later, NULL);
        sem_post(s);
        _exit(0);
    }
    int r = sem_wait(s);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    int status = -1;
    waitpid(pid, &status, 0);
    double took = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    struct timespec soon = in_ms(CLOCK_REALTIME, 50);
    int timed = sem_timedwait(s, &soon) == -1 ? errno : 0;
    printf("shared semaphore: posted by a child, wait %d %s; then timedwait %s\n", r,
           took >= 0.04 && took < 2 ? "in time" : "late", err_name(timed));
    munmap(s, sizeof *s);
    return r != 0 || took < 0.04 || took >= 2 || timed != ETIMEDOUT || status != 0;
}

/* ---- a mutex and a condition shared with another process ---- */

typedef struct shared_area {
    pthread_mutex_t m;
    pthread_cond_t c;
    int held_by_child, flag;
} shared_area;

static void raw_sleep_ms(long ms)
{
    struct timespec t = { ms / 1000, (ms % 1000) * 1000000L };
    syscall(SYS_nanosleep, &t, NULL);
}

/* A child process holds the pshared mutex for 100 ms: the parent's lock
 * waits for its unlock. Then the child sets a flag and signals the pshared
 * condition the parent waits on, under the mutex: the parent wakes. */
static int run_shared_mutex(void)
{
    shared_area *a = mmap(NULL, sizeof *a, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (a == MAP_FAILED)
        return 1;
    pthread_mutexattr_t ma;
    pthread_condattr_t ca;
    pthread_mutexattr_init(&ma);
    pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
    pthread_condattr_init(&ca);
    pthread_condattr_setpshared(&ca, PTHREAD_PROCESS_SHARED);
    pthread_mutex_init(&a->m, &ma);
    pthread_cond_init(&a->c, &ca);
    pid_t pid = fork();
    if (pid == 0) {
        pthread_mutex_lock(&a->m);
        a->held_by_child = 1;
        raw_sleep_ms(100);
        a->held_by_child = 0;
        pthread_mutex_unlock(&a->m);
        raw_sleep_ms(100);
        pthread_mutex_lock(&a->m);
        a->flag = 1;
        pthread_cond_signal(&a->c);
        pthread_mutex_unlock(&a->m);
        _exit(0);
    }
    usleep(30000);              /* The child holds the mutex. */
    pthread_mutex_lock(&a->m);
    int excluded = a->held_by_child == 0;
    int woken = 0;
    struct timespec until = in_ms(CLOCK_REALTIME, 5000);
    while (!a->flag && woken == 0)
        woken = pthread_cond_timedwait(&a->c, &a->m, &until);
    int flag = a->flag;
    pthread_mutex_unlock(&a->m);
    int status = -1;
    waitpid(pid, &status, 0);
    printf("shared mutex: the child's hold %s; shared condition: %s\n", excluded ? "waited for" : "ignored",
           flag && woken == 0 ? "woken" : err_name(woken));
    munmap(a, sizeof *a);
    return !excluded || !flag || woken != 0 || status != 0;
}

int main(void)
{
    pthread_t t[WORKERS];
    for (int i = 0; i < WORKERS; i++)
        pthread_create(&t[i], NULL, adder, NULL);
    for (int i = 0; i < WORKERS; i++)
        pthread_join(t[i], NULL);
    printf("mutex: counter %ld of %d\n", counter, WORKERS * ROUNDS);

    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, consumer, NULL);
    for (int i = 0; i < 100; i++) {
        pthread_mutex_lock(&lock);
        items++;
        pthread_cond_signal(&ready);
        pthread_mutex_unlock(&lock);
        if (i % 10 == 0)
            usleep(100);
    }
    pthread_mutex_lock(&lock);
    done = 1;
    pthread_cond_broadcast(&ready);
    pthread_mutex_unlock(&lock);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    printf("cond: consumed %d of 100\n", consumed);

    int hits = 0;
    sem_init(&ping, 0, 0);
    sem_init(&pong, 0, 0);
    pthread_create(&t[0], NULL, ponger, &hits);
    for (int i = 0; i < ROUNDS; i++) {
        sem_post(&ping);
        sem_wait(&pong);
    }
    pthread_join(t[0], NULL);
    printf("sem: %d of %d\n", hits, ROUNDS);

    int bad = counter != WORKERS * ROUNDS || consumed != 100 || hits != ROUNDS;
    bad |= run_owners();
    bad |= run_timed();
    bad |= run_gnu_joins_and_clocks();
    bad |= run_rwlocks();
    bad |= run_barrier();
    bad |= run_keys();
    bad |= run_once();
    bad |= run_identity();
    bad |= run_spin();
    bad |= run_shared_sem();
    bad |= run_shared_mutex();
    return bad;
}
