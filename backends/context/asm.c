/* backends/context/asm.c: the "asm" and "asm-nofpu" context backends; the
 * switch itself is in asm_<arch>_<abi>_elf_gas.S.
 *
 * asm saves rbx, rbp, r12-r15, rsp, the MXCSR control bits and the x87
 * control word: everything the System V ABI makes callee-saved.
 *
 * asm-nofpu (GREEN_CTX_NOFPU) leaves out MXCSR and the x87 control word, as
 * libaco's shared-FPU option does. That is safe only while no green thread
 * changes the floating-point environment: one that calls fesetround(),
 * feenableexcept() or fesetenv() (or a library that does) would leak its
 * rounding mode or exception masks into every other context on the thread. */
#include "context.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

_Static_assert(offsetof(green_ctx, sp) == 0, "the asm switch stores the stack pointer at offset 0");

/* Saved-frame layout of asm_x86_64_sysv_elf_gas.S, in 8-byte slots from sp. */
enum { SLOT_R15, SLOT_R14, SLOT_R13, SLOT_R12, SLOT_RBX, SLOT_RBP, SLOT_RIP, FRAME_SLOTS };

void green__ctx_asm_trampoline(void);
void green__ctx_asm_relay(void);

const void *green_ctx_stack_low(const green_ctx *ctx)
{
    /* The saved frame, and below it the FP control words (in the red zone). */
    return (const char *)ctx->sp - 8;
}

const char *green_ctx_saves(void)
{
#if GREEN_CTX_NOFPU
    return "rbx rbp r12-r15 rsp (no MXCSR, no x87 control word)";
#else
    return "rbx rbp r12-r15 rsp, MXCSR control bits, x87 control word";
#endif
}

/* A new context starts with its creator's FP control state, as a new
 * pthread does: the words go below its saved frame, where the switch
 * restores them from. */
static void save_fp_control(uint64_t *frame)
{
#if GREEN_CTX_NOFPU
    (void)frame;
#else
    uint32_t mxcsr;
    uint16_t x87cw;
    __asm__ volatile("stmxcsr %0" : "=m"(mxcsr));
    __asm__ volatile("fnstcw %0" : "=m"(x87cw));
    memcpy((char *)frame - 8, &mxcsr, sizeof mxcsr);
    memcpy((char *)frame - 4, &x87cw, sizeof x87cw);
#endif
}

int green__ctx_make(green_ctx *ctx, void *stack, size_t size, void (*fn)(void *arg), void *arg)
{
    /* After the switch pops the frame, RSP must be 16-byte aligned for the
     * trampoline's call; leave 16 bytes above it unused. */
    uint64_t *top = (uint64_t *)((char *)stack + size - 16);
    uint64_t *frame = top - FRAME_SLOTS;
    memset(frame, 0, FRAME_SLOTS * sizeof *frame);
    frame[SLOT_R12] = (uint64_t)(uintptr_t)fn;
    frame[SLOT_R13] = (uint64_t)(uintptr_t)arg;
    frame[SLOT_RIP] = (uint64_t)(uintptr_t)green__ctx_asm_trampoline;
    save_fp_control(frame);
    ctx->sp = frame;
    return 0;
}

#if GREEN_CTX_STUB_RELAY && !defined(GREEN_CTX_ASAN)
int green__ctx_make_relay(green_ctx *relay, void *stack, size_t size, green_ctx *(*fn)(void *arg),
                          void *arg)
{
    /* A saved frame that never changes, at the top: each switch to the relay
     * pops it and lands in green__ctx_asm_relay with fn, arg and where fn's
     * frames go (below the frame and its FP words) in R12, R13 and R14. */
    uint64_t *top = (uint64_t *)((char *)stack + size);
    uint64_t *frame = top - FRAME_SLOTS;
    memset(frame, 0, FRAME_SLOTS * sizeof *frame);
    frame[SLOT_R12] = (uint64_t)(uintptr_t)fn;
    frame[SLOT_R13] = (uint64_t)(uintptr_t)arg;
    frame[SLOT_R14] = ((uint64_t)(uintptr_t)frame - 16) & ~(uint64_t)15;
    frame[SLOT_RIP] = (uint64_t)(uintptr_t)green__ctx_asm_relay;
    save_fp_control(frame);
    relay->sp = frame;
    return 0;
}
#endif
