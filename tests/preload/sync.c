/* tests/preload/sync.c: pthread mutexes, condition variables and
 * semaphores, with and without GREEN_PRELOAD=threads: the same answers.
 * Threads hold the mutex across a sleep (a switch under the preload), a
 * producer and consumers meet on a condition variable, two threads play
 * ping-pong on semaphores, and a recursive and an error-checking mutex
 * keep their owners apart; the GNU joins and the clock waits. Exit 0 on
 * success. */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
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

/* ts plus ms milliseconds, on clock. */
static struct timespec in_ms(clockid_t clock, long ms)
{
    struct timespec t;
    clock_gettime(clock, &t);
    t.tv_sec += ms / 1000;
    t.tv_nsec += (ms % 1000) * 1000000L;
    if (t.tv_nsec >= 1000000000L) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000L;
    }
    return t;
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
    return bad;
}
