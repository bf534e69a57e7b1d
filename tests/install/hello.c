/* tests/install/hello.c: a program outside the tree, built against an
 * installed libgreen (install_test.sh): a few green threads sleep briefly,
 * each keeping a name on its stack, the main one joins them all. */
#include <green.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define N 5

static void *sleeper(void *arg)
{
    int i = (int)(intptr_t)arg;
    /* Addressable across the sleep: under AddressSanitizer it has redzones,
     * which copy stacks (GREEN_STACKS=copy:1) copy with it. */
    char name[16], again[16];
    snprintf(name, sizeof name, "sleeper %d", i);
    if (green_sleep(0.001 * (N - i)) != 0)
        return NULL;
    snprintf(again, sizeof again, "sleeper %d", i);
    return strcmp(name, again) == 0 ? (void *)(intptr_t)(i + 1) : NULL;
}

int main(void)
{
    green_thread *gs[N];
    int sum = 0;
    if (green_init(NULL) != 0) {
        fprintf(stderr, "hello: green_init failed\n");
        return 1;
    }
    for (int i = 0; i < N; i++) {
        if (green_spawn(&gs[i], sleeper, (void *)(intptr_t)i) != 0) {
            fprintf(stderr, "hello: green_spawn failed\n");
            return 1;
        }
    }
    if (green_joinall(gs, N, 5.0) != N) {
        fprintf(stderr, "hello: green_joinall did not see every thread end\n");
        return 1;
    }
    for (int i = 0; i < N; i++) {
        void *r = NULL;
        if (green_join(gs[i], 0, &r) != 0)
            return 1;
        sum += (int)(intptr_t)r;
        green_release(gs[i]);
    }
    printf("hello from libgreen: %d green threads, sum %d, backends %s+%s\n", N, sum,
           green_backend_context(), green_backend_loop());
    return green_fini() == 0 ? 0 : 1;
}
