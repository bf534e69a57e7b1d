/* tests/preload/overflow.c: a thread that recurses, 1 KiB a frame, until
 * its stack's guard page stops it; under thread patching a green thread,
 * whose overflow the preload reports before the process dies of SIGSEGV.
 * Usage: overflow. Does not return. */
#include <pthread.h>
#include <stdio.h>

#include "../stack_overflow.h"

static void *deep(void *arg)
{
    (void)arg;
    return (void *)(long)overflow(0);
}

int main(void)
{
    pthread_t t;
    void *r;
    if (pthread_create(&t, NULL, deep, NULL) != 0 || pthread_join(t, &r) != 0)
        return 2;
    printf("the recursion returned\n");
    return 1;
}
