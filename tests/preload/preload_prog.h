/* tests/preload/preload_prog.h: what the preload's test programs share (a
 * header of static functions: each program is built on its own, with no
 * library beside it): the clock and deadlines, the OS thread count, and the ticker that
 * shows the hub still runs while a thread waits. */
#ifndef PRELOAD_PROG_H
#define PRELOAD_PROG_H

#include <pthread.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static inline double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Now plus ms milliseconds on clock, as the timed calls take a deadline. */
static inline struct timespec in_ms(clockid_t clock, long ms)
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

/* Threads: in /proc/self/status. */
static inline int os_threads(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    int n = -1;
    while (f != NULL && fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "Threads: %d", &n) == 1)
            break;
    if (f != NULL)
        fclose(f);
    return n;
}

/* ---- the ticker: counts 10 ms sleeps; under thread patching it runs only
 * if the other threads wait in the hub, not in the kernel ---- */

static volatile int ticking, ticks;
static pthread_t ticker_thread;

static inline void *ticker(void *arg)
{
    (void)arg;
    while (ticking) {
        usleep(10000);
        ticks++;
    }
    return NULL;
}

static inline void ticker_start(void)
{
    ticks = 0;
    ticking = 1;
    pthread_create(&ticker_thread, NULL, ticker, NULL);
}

/* Stops the ticker; fails (1) when it did not tick at least min times. */
static inline int ticker_stop(const char *test, int min)
{
    ticking = 0;
    pthread_join(ticker_thread, NULL);
    printf("ticks %s: %d of 10 ms meanwhile\n", test, ticks);
    return ticks < min;
}

#endif /* PRELOAD_PROG_H */
