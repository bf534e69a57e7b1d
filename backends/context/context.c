/* backends/context/context.c: the part of the context contract (context.h)
 * that every backend shares: argument checks, the entry path and the
 * AddressSanitizer fiber annotations. Nothing here runs inside a plain-build switch. */
#include "context.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#ifdef GREEN_CTX_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif

/* Check a context's stack and trim its ends to the 16-byte alignment the
 * ABI wants (rather than refuse it); the bounds go into ctx. */
static int fit_stack(green_ctx *ctx, void *stack, size_t size)
{
    if (ctx == NULL || stack == NULL || size < GREEN_CTX_MIN_STACK)
        return -EINVAL;
    uintptr_t lo = ((uintptr_t)stack + 15) & ~(uintptr_t)15;
    uintptr_t hi = ((uintptr_t)stack + size) & ~(uintptr_t)15;
    ctx->stack_base = (const void *)lo;
    ctx->stack_size = hi - lo;
    ctx->asan_fake_stack = NULL;
#ifdef GREEN_CTX_ASAN
    /* A reused stack still carries the poisoned redzones of frames that never
     * returned (a context abandoned mid-switch); they are not ours any more. */
    __asan_unpoison_memory_region((void *)lo, hi - lo);
#endif
    return 0;
}

int green_ctx_make(green_ctx *ctx, void *stack, size_t size, void (*fn)(void *arg), void *arg)
{
    if (fn == NULL || fit_stack(ctx, stack, size) != 0)
        return -EINVAL;
    return green__ctx_make(ctx, (void *)ctx->stack_base, ctx->stack_size, fn, arg);
}

#if GREEN_CTX_STUB_RELAY && !defined(GREEN_CTX_ASAN)
int green_ctx_make_relay(green_ctx *relay, void *stack, size_t size, green_ctx *(*fn)(void *arg), void *arg)
{
    if (fn == NULL || fit_stack(relay, stack, size) != 0)
        return -EINVAL;
    return green__ctx_make_relay(relay, (void *)relay->stack_base, relay->stack_size, fn, arg);
}
#else
/* The relay as a context of its own, kept in the top bytes of its stack. */
typedef struct relay_loop_args {
    green_ctx *self;
    green_ctx *maker;
    green_ctx *(*fn)(void *arg);
    void *arg;
} relay_loop_args;

static void relay_loop(void *p)
{
    relay_loop_args a = *(relay_loop_args *)p;
    /* Every switch below is made from this one frame, so the relay's saved
     * state stays where the first one put it. */
    void *value = green_ctx_switch(a.self, a.maker, NULL);
    for (;;)
        value = green_ctx_switch(a.self, a.fn(a.arg), value);
}

int green_ctx_make_relay(green_ctx *relay, void *stack, size_t size, green_ctx *(*fn)(void *arg), void *arg)
{
    if (fn == NULL || stack == NULL || size < GREEN_CTX_MIN_STACK + sizeof(relay_loop_args) + 16)
        return -EINVAL;
    green_ctx maker = { 0 };
    relay_loop_args *a =
        (relay_loop_args *)((uintptr_t)((char *)stack + size - sizeof *a) & ~(uintptr_t)15);
    *a = (relay_loop_args){ relay, &maker, fn, arg };
    int err = green_ctx_make(relay, stack, (size_t)((char *)a - (char *)stack), relay_loop, a);
    if (err != 0)
        return err;
    green_ctx_switch(&maker, relay, NULL);
    return 0;
}
#endif

/* Every backend library is built with its own name (cmake/backends.cmake). */
const char *green_ctx_name(void)
{
    return GREEN_CTX_NAME;
}

#ifdef GREEN_CTX_ASAN
/* The context that switched last: the one that resumes learns its stack bounds
 * from ASan, which is how the thread's own stack gets named on the way back. */
static _Thread_local green_ctx *asan_switching_from;

void green__ctx_asan_leave(green_ctx *from, green_ctx *to)
{
    asan_switching_from = from;
    __sanitizer_start_switch_fiber(&from->asan_fake_stack, to->stack_base, to->stack_size);
}

void green__ctx_asan_arrive(green_ctx *self)
{
    green_ctx *prev = asan_switching_from;
    __sanitizer_finish_switch_fiber(self->asan_fake_stack, &prev->stack_base, &prev->stack_size);
}
#endif

static void write_stderr(const char *msg)
{
    size_t len = 0;
    while (msg[len])
        len++;
    ssize_t ignored = write(STDERR_FILENO, msg, len);
    (void)ignored;
}

_Noreturn void green__ctx_start(void (*fn)(void *arg), void *arg)
{
#ifdef GREEN_CTX_ASAN
    green_ctx *prev = asan_switching_from;
    __sanitizer_finish_switch_fiber(NULL, &prev->stack_base, &prev->stack_size);
#endif
    fn(arg);
    write_stderr("green: context entry function returned; a context has nowhere to "
                 "return to (end it by switching away for good)\n");
    abort();
}
