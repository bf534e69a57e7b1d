/* tests/stack_overflow.h: a recursion that runs into its stack's guard
 * page, 1 KiB a frame, for the tests of the overflow message (test_context.c
 * on a bare context, test_copy.c on a shared stack). */
#ifndef GREEN_TEST_STACK_OVERFLOW_H
#define GREEN_TEST_STACK_OVERFLOW_H

/* Recurses until the guard page stops it; the flag only hides that from
 * -Winfinite-recursion. */
static volatile int keep_recursing = 1;

static __attribute__((noinline)) int overflow(int level)
{
    volatile char frame[1024];
    frame[0] = (char)level;
    if (!keep_recursing)
        return frame[0];
    return overflow(level + 1) + frame[0];
}

#endif /* GREEN_TEST_STACK_OVERFLOW_H */
