/* tests/preload/sleepers.c: N blocking threads that each sleep 1 s (half
 * with sleep(3), half with nanosleep(2)), plus a fortified read and recv, so
 * that GREEN_PRELOAD_STATS shows the _chk twins. Unpatched it takes ~1 s on
 * N+1 OS threads; under GREEN_PRELOAD=threads ~1 s on one.
 * Usage: sleepers [N [SECONDS]]. Prints "wall_s W threads T". */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "preload_prog.h"

static double seconds = 1.0;

static void *sleeper(void *arg)
{
    long i = (long)arg;
    if (i % 2 == 0 && seconds == (unsigned)seconds) {
        sleep((unsigned)seconds);
    } else {
        struct timespec ts = { (time_t)seconds, (long)((seconds - (time_t)seconds) * 1e9) };
        nanosleep(&ts, NULL);
    }
    return (void *)(i + 1);
}

/* A read and a recv whose length the compiler cannot see: with
 * _FORTIFY_SOURCE they go through __read_chk and __recv_chk. */
static int fortified_io(size_t len)
{
    int sv[2];
    char buf[64];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
        return -1;
    if (write(sv[0], "pingpong", 8) != 8)
        return -1;
    ssize_t a = read(sv[1], buf, len);
    ssize_t b = recv(sv[1], buf, len, 0);
    close(sv[0]);
    close(sv[1]);
    return a == 4 && b == 4 ? 0 : -1;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 50;
    if (argc > 2)
        seconds = atof(argv[2]);
    pthread_t *t = calloc((size_t)n, sizeof *t);
    volatile size_t four = 4;   /* A length the compiler cannot fold. */
    if (t == NULL || fortified_io(four) != 0) {
        fprintf(stderr, "sleepers: set-up failed\n");
        return 1;
    }
    double start = now();
    for (long i = 0; i < n; i++) {
        if (pthread_create(&t[i], NULL, sleeper, (void *)i) != 0) {
            fprintf(stderr, "sleepers: pthread_create failed\n");
            return 1;
        }
    }
    usleep((useconds_t)(seconds * 200000));   /* Let them all start sleeping. */
    int threads = os_threads();
    for (long i = 0; i < n; i++) {
        void *r;
        if (pthread_join(t[i], &r) != 0 || r != (void *)(i + 1)) {
            fprintf(stderr, "sleepers: join %ld failed\n", i);
            return 1;
        }
    }
    printf("wall_s %.3f threads %d\n", now() - start, threads);
    free(t);
    return 0;
}
