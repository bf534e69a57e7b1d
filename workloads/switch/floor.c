/* workloads/switch/floor.c: the floors of floor.h. The two smallest switches
 * are in floor_<arch>_<abi>_elf_gas.S; the library ones are called here the
 * way their own documentation calls them. */
#include "floor.h"

#include <stdint.h>
#include <string.h>
#include <ucontext.h>

/* The loops on both sides start a cache line each, as the switch workload's
 * own (green.c): where a loop falls moves a switch by a quarter here. */
#define HOT __attribute__((aligned(64)))

/* ---- regs and regs+fp: the smallest correct switches ---- */
#if GREEN_SWITCH_FLOOR_ASM

void switch_floor_jump(void **from_sp, void *to_sp);
void switch_floor_jump_fp(void **from_sp, void *to_sp);

static void *main_sp, *partner_sp;

HOT static void regs_partner(void)
{
    for (;;)
        switch_floor_jump(&partner_sp, main_sp);
}

HOT static void regs_fp_partner(void)
{
    for (;;)
        switch_floor_jump_fp(&partner_sp, main_sp);
}

/* The frame the .S file pops: r15 r14 r13 r12 rbx rbp and the resume
 * address, the FP control words below it; entry leaves RSP as a call would
 * (16-byte aligned plus 8). */
static int start_frame(void *stack, size_t size, void (*entry)(void))
{
    uint64_t *top = (uint64_t *)(((uintptr_t)stack + size) & ~(uintptr_t)15);
    uint64_t *frame = top - 8;
    memset(frame, 0, 8 * sizeof *frame);
    frame[6] = (uint64_t)(uintptr_t)entry;
    uint32_t mxcsr;
    uint16_t x87cw;
    __asm__ volatile("stmxcsr %0" : "=m"(mxcsr));
    __asm__ volatile("fnstcw %0" : "=m"(x87cw));
    memcpy((char *)frame - 8, &mxcsr, sizeof mxcsr);
    memcpy((char *)frame - 4, &x87cw, sizeof x87cw);
    partner_sp = frame;
    return 0;
}

static int regs_start(void *stack, size_t size)
{
    return start_frame(stack, size, regs_partner);
}

static int regs_fp_start(void *stack, size_t size)
{
    return start_frame(stack, size, regs_fp_partner);
}

HOT static void regs_run(long long round_trips)
{
    for (long long i = 0; i < round_trips; i++)
        switch_floor_jump(&main_sp, partner_sp);
}

HOT static void regs_fp_run(long long round_trips)
{
    for (long long i = 0; i < round_trips; i++)
        switch_floor_jump_fp(&main_sp, partner_sp);
}

static const switch_floor floor_regs = { "regs", regs_start, regs_run };
static const switch_floor floor_regs_fp = { "regs+fp", regs_fp_start, regs_fp_run };
#endif

/* ---- jump_fcontext: Boost.Context's switch, called directly ----
 * Weak: only the boost cell programs link libboost_context. */

typedef void *fcontext_t;
typedef struct {
    fcontext_t fctx;
    void *data;
} transfer_t;

transfer_t jump_fcontext(fcontext_t const to, void *vp) __attribute__((weak));
fcontext_t make_fcontext(void *sp, size_t size, void (*fn)(transfer_t)) __attribute__((weak));

static fcontext_t partner_fctx;

HOT static void fcontext_partner(transfer_t t)
{
    for (;;)
        t = jump_fcontext(t.fctx, NULL);
}

static int fcontext_start(void *stack, size_t size)
{
    partner_fctx = make_fcontext((char *)stack + size, size, fcontext_partner);
    partner_fctx = jump_fcontext(partner_fctx, NULL).fctx;     /* Partner starts, parks. */
    return 0;
}

HOT static void fcontext_run(long long round_trips)
{
    fcontext_t to = partner_fctx;
    for (long long i = 0; i < round_trips; i++)
        to = jump_fcontext(to, NULL).fctx;
    partner_fctx = to;
}

/* ---- swapcontext ---- */

static ucontext_t main_uc, partner_uc;

HOT static void uc_partner(void)
{
    for (;;)
        swapcontext(&partner_uc, &main_uc);
}

static int uc_start(void *stack, size_t size)
{
    if (getcontext(&partner_uc) != 0)
        return -1;
    partner_uc.uc_stack.ss_sp = stack;
    partner_uc.uc_stack.ss_size = size;
    partner_uc.uc_link = NULL;
    makecontext(&partner_uc, uc_partner, 0);
    return 0;
}

HOT static void uc_run(long long round_trips)
{
    for (long long i = 0; i < round_trips; i++)
        swapcontext(&main_uc, &partner_uc);
}

static const switch_floor floor_fcontext = { "jump_fcontext", fcontext_start, fcontext_run };
static const switch_floor floor_swapcontext = { "swapcontext", uc_start, uc_run };

const switch_floor *switch_floor_for(const char *backend)
{
    if (strcmp(backend, "boost") == 0 && jump_fcontext != NULL && make_fcontext != NULL)
        return &floor_fcontext;
    if (strcmp(backend, "ucontext") == 0)
        return &floor_swapcontext;
#if GREEN_SWITCH_FLOOR_ASM
    return strcmp(backend, "asm-nofpu") == 0 ? &floor_regs : &floor_regs_fp;
#else
    return NULL;
#endif
}
