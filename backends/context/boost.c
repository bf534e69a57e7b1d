/* backends/context/boost.c: the "boost" context backend, Boost.Context's
 * fcontext (make_fcontext / jump_fcontext from Debian's libboost_context).
 *
 * jump_fcontext saves rbx, rbp, r12-r15, rsp, MXCSR and the x87 control word
 * (the same set as asm) and resumes with a jmp. Its functions have a plain C
 * ABI, so they are declared here rather than through Boost's C++ headers.
 * green__ctx_jump is a few instructions of asm beside this file. */
#include "context.h"

#include <errno.h>
#include <stddef.h>

typedef void *fcontext_t;
typedef struct {
    fcontext_t fctx;    /* The context that jumped here, now suspended. */
    void *data;
} transfer_t;

transfer_t jump_fcontext(fcontext_t const to, void *vp);
fcontext_t make_fcontext(void *sp, size_t size, void (*fn)(transfer_t));

/* What a switch hands over besides its value (jump_fcontext's data): where
 * the jumper must be saved, and whom it resumes (a new context finds its
 * start arguments through it). Written by the jumper right before
 * jump_fcontext, read by the side it resumes, on the same OS thread
 * (boost_<arch>_<abi>_elf_gas.S). */
__attribute__((visibility("hidden"))) _Thread_local green_ctx *green__boost_from;
__attribute__((visibility("hidden"))) _Thread_local void *green__boost_to_sp;

/* Kept in the top bytes of a new context's stack, right above the fcontext
 * make_fcontext builds below the top it is given. */
typedef struct start_args {
    void (*fn)(void *arg);
    void *arg;
} start_args;

static void fcontext_entry(transfer_t t);

/* How far below a 16-byte aligned top make_fcontext puts its fcontext (0x40
 * in Boost 1.74 on x86-64): a new context's first switch hands over only its
 * fcontext, and its start_args sit this far above it. Measured once rather
 * than assumed; green__ctx_make checks every context against it. */
static ptrdiff_t fcontext_depth;

__attribute__((constructor)) static void measure_fcontext_depth(void)
{
    _Alignas(16) char probe[512];
    char *top = probe + sizeof probe;
    fcontext_depth = top - (char *)make_fcontext(top, sizeof probe, fcontext_entry);
}

const void *green_ctx_stack_low(const green_ctx *ctx)
{
    return ctx->sp;     /* An fcontext is the stack pointer of its saved frame. */
}

const char *green_ctx_saves(void)
{
    return "rbx rbp r12-r15 rsp, MXCSR, x87 control word (Boost.Context jump_fcontext)";
}

static void fcontext_entry(transfer_t t)
{
    green__boost_from->sp = t.fctx;
    start_args *start = (start_args *)((char *)green__boost_to_sp + fcontext_depth);
    green__ctx_start(start->fn, start->arg);
}

int green__ctx_make(green_ctx *ctx, void *stack, size_t size, void (*fn)(void *arg), void *arg)
{
    start_args *start = (start_args *)((char *)stack + size) - 1;
    start->fn = fn;
    start->arg = arg;
    /* start is 16-byte aligned (green_ctx_make aligned the top); the
     * fcontext goes right below it. */
    size_t usable = (size_t)((char *)start - (char *)stack);
    ctx->sp = make_fcontext(start, usable, fcontext_entry);
    if ((char *)start - (char *)ctx->sp != fcontext_depth)
        return -EINVAL;     /* make_fcontext is not the arithmetic measured at start-up */
    return 0;
}
