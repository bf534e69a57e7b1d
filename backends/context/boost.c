/* backends/context/boost.c: the "boost" context backend, Boost.Context's
 * fcontext (make_fcontext / jump_fcontext from Debian's libboost_context).
 *
 * jump_fcontext saves rbx, rbp, r12-r15, rsp, MXCSR and the x87 control word
 * (the same set as asm) and resumes with a jmp. Its functions have a plain C
 * ABI, so they are declared here rather than through Boost's C++ headers.
 * green__ctx_jump is a few instructions of asm beside this file. */
#include "context.h"

#include <stddef.h>

typedef void *fcontext_t;
typedef struct {
    fcontext_t fctx;    /* The context that jumped here, now suspended. */
    void *data;
} transfer_t;

transfer_t jump_fcontext(fcontext_t const to, void *vp);
fcontext_t make_fcontext(void *sp, size_t size, void (*fn)(transfer_t));

/* What a switch hands over, on the jumper's stack: where the jumper must be
 * saved, whom it resumes (a new context finds its start_args through it), and
 * the value. boost_<arch>_<abi>_elf_gas.S pushes exactly this layout. */
_Static_assert(sizeof(void *) == 8, "the handoff layout is the one the adapter pushes");

typedef struct handoff {
    green_ctx *from;
    green_ctx *to;
    void *value;
} handoff;

/* Kept in the top bytes of a new context's stack, above its fcontext. */
typedef struct start_args {
    void (*fn)(void *arg);
    void *arg;
} start_args;

const char *green_ctx_saves(void)
{
    return "rbx rbp r12-r15 rsp, MXCSR, x87 control word (Boost.Context jump_fcontext)";
}

static start_args *start_args_of(const green_ctx *ctx)
{
    return (start_args *)((char *)ctx->stack_base + ctx->stack_size) - 1;
}

static void fcontext_entry(transfer_t t)
{
    handoff *h = t.data;
    h->from->sp = t.fctx;
    start_args *start = start_args_of(h->to);
    green__ctx_start(start->fn, start->arg);
}

int green__ctx_make(green_ctx *ctx, void *stack, size_t size, void (*fn)(void *arg), void *arg)
{
    /* Equal to start_args_of(ctx): green_ctx_make set stack_base and stack_size. */
    start_args *start = (start_args *)((char *)stack + size) - 1;
    start->fn = fn;
    start->arg = arg;
    /* make_fcontext aligns the top itself; hand it the bytes below start_args. */
    size_t usable = (size_t)((char *)start - (char *)stack);
    ctx->sp = make_fcontext((char *)stack + usable, usable, fcontext_entry);
    return 0;
}
