/* backends/context/ucontext.c: the "ucontext" context backend, POSIX
 * getcontext/makecontext/swapcontext from the C library.
 *
 * swapcontext saves and restores the whole register file, the FP environment
 * and the signal mask; the signal mask costs a rt_sigprocmask system call on
 * every switch. That cost is what this backend is here to show.
 *
 * The ucontext_t lives at the top of the context's own stack; the thread's own
 * stack (a green_ctx that was never made) keeps it in thread-local storage. */
#include "context.h"

#include <errno.h>
#include <stdint.h>
#include <ucontext.h>

typedef struct uc_frame {
    ucontext_t uc;
    void (*fn)(void *arg);
    void *arg;
} uc_frame;

static _Thread_local ucontext_t thread_own_uc;
/* swapcontext cannot carry a value, and makecontext's int arguments cannot
 * portably carry a pointer: both travel through the thread. */
static _Thread_local void *passed_value;
static _Thread_local ucontext_t *starting_uc;

const void *green_ctx_stack_low(const green_ctx *ctx)
{
    /* swapcontext saved the caller's stack pointer as it is after the call
     * returns; the ucontext_t itself sits higher, at the stack's top. */
    const ucontext_t *uc = ctx->sp;
    return (const void *)(uintptr_t)uc->uc_mcontext.gregs[REG_RSP];
}

const char *green_ctx_saves(void)
{
    return "all general registers, FP environment, signal mask (swapcontext: one system call)";
}

static void uc_trampoline(void)
{
    /* A made context's ucontext_t is the first member of its uc_frame. */
    uc_frame *frame = (uc_frame *)starting_uc;
    green__ctx_start(frame->fn, frame->arg);
}

int green__ctx_make(green_ctx *ctx, void *stack, size_t size, void (*fn)(void *arg), void *arg)
{
    uintptr_t top = ((uintptr_t)stack + size - sizeof(uc_frame)) & ~(uintptr_t)63;
    uc_frame *frame = (uc_frame *)top;
    if (getcontext(&frame->uc) != 0)
        return -errno;
    frame->uc.uc_stack.ss_sp = stack;
    frame->uc.uc_stack.ss_size = top - (uintptr_t)stack;
    frame->uc.uc_link = NULL;
    frame->fn = fn;
    frame->arg = arg;
    makecontext(&frame->uc, uc_trampoline, 0);
    ctx->sp = &frame->uc;
    return 0;
}

void *green__ctx_jump(green_ctx *from, void *to_sp, void *value)
{
    if (from->sp == NULL)
        from->sp = &thread_own_uc;
    starting_uc = to_sp;
    passed_value = value;
    /* swapcontext fails only for a bad ucontext_t: a broken invariant, not a
     * runtime condition, so there is nothing to report but the abort. */
    if (swapcontext(from->sp, to_sp) != 0)
        __builtin_trap();
    return passed_value;
}
