/* backends/context/asm_x86_64_sysv_elf_gas.S: the asm context switch for
 * x86-64, System V ABI, ELF, GNU as. Built twice: as "asm" and, with
 * GREEN_CTX_NOFPU=1, as "asm-nofpu" (see asm.c for when that is unsafe).
 *
 *   void *green__ctx_jump(green_ctx *from, void *to_sp, void *value);
 *                          rdi              rsi          rdx -> rax
 *
 * Saved frame, at from->sp (the stack pointer after the pushes):
 *
 *   -8  MXCSR (4 bytes)       \ in the 128-byte red zone below sp, which the
 *   -4  x87 control word      / ABI keeps intact; not in asm-nofpu
 *    0  r15
 *    8  r14
 *   16  r13
 *   24  r12
 *   32  rbx
 *   40  rbp
 *   48  resume address (where the caller's call will return)
 *
 * Exactly the registers the ABI makes callee-saved (rbx, rbp, r12-r15, rsp,
 * MXCSR control bits, x87 control word); every other register is clobbered by
 * the call anyway. The switch resumes with pop + jmp, not ret: a ret here
 * returns to a different call site than the return-stack buffer predicts, so it
 * mispredicts on every switch (measured 2.7x slower on this project's machines).
 *
 * ABI: https://gitlab.com/x86-psABIs/x86-64-ABI (section 3.2, Function Calling Sequence). */

#if defined(__CET__)
#include <cet.h>
#else
#define _CET_ENDBR
#endif

    .text

    .globl  green__ctx_jump
    .hidden green__ctx_jump
    .type   green__ctx_jump, @function
    /* On a cache line of its own: at 16 bytes past one, the switch straddles
     * two and a hub yield took 25% longer (5.9 against 4.8 ns). */
    .p2align 6
green__ctx_jump:
    .cfi_startproc
    _CET_ENDBR
    pushq   %rbp                /* save RBP */
    pushq   %rbx                /* save RBX */
    pushq   %r12                /* save R12 */
    pushq   %r13                /* save R13 */
    pushq   %r14                /* save R14 */
    pushq   %r15                /* save R15 */
#if !GREEN_CTX_NOFPU
    stmxcsr -8(%rsp)            /* save MXCSR control/status */
    fnstcw  -4(%rsp)            /* save x87 control word */
#endif
    movq    %rsp, (%rdi)        /* from->sp = RSP */
    movq    %rsi, %rsp          /* RSP = to->sp, passed by value: now on the other stack */
#if !GREEN_CTX_NOFPU
    ldmxcsr -8(%rsp)            /* restore MXCSR */
    fldcw   -4(%rsp)            /* restore x87 control word */
#endif
    popq    %r15                /* restore R15 */
    popq    %r14                /* restore R14 */
    popq    %r13                /* restore R13 */
    popq    %r12                /* restore R12 */
    popq    %rbx                /* restore RBX */
    popq    %rbp                /* restore RBP */
    popq    %rcx                /* resume address */
    movq    %rdx, %rax          /* the value is the resumed call's result */
    jmpq    *%rcx               /* resume */
    .cfi_endproc
    .size   green__ctx_jump, .-green__ctx_jump

/* First code of a new context: green__ctx_make left fn in R12 and arg in R13.
 * RSP is 16-byte aligned here, so the call below meets the ABI's alignment. */
    .globl  green__ctx_asm_trampoline
    .hidden green__ctx_asm_trampoline
    .type   green__ctx_asm_trampoline, @function
    .p2align 4
green__ctx_asm_trampoline:
    .cfi_startproc
    .cfi_undefined rip          /* outermost frame: unwinders stop here */
    _CET_ENDBR
    movq    %r12, %rdi          /* fn */
    movq    %r13, %rsi          /* arg */
    call    green__ctx_start    /* never returns */
    ud2
    .cfi_endproc
    .size   green__ctx_asm_trampoline, .-green__ctx_asm_trampoline

/* A relay (green_ctx_make_relay): where a switch to it lands, with RAX the
 * value passed, R12 fn, R13 arg and R14 the stack pointer fn's frames start
 * from, all popped from the relay's frame, which never changes. Calls fn(arg)
 * and resumes the context it returns as green__ctx_jump resumes one: the
 * two halves of the switch, with fn between them. The resume is a jmp of its
 * own rather than a jump into green__ctx_jump's: this one's target is
 * predicted apart from the switch's. */
    .globl  green__ctx_asm_relay
    .hidden green__ctx_asm_relay
    .type   green__ctx_asm_relay, @function
    .p2align 6
green__ctx_asm_relay:
    .cfi_startproc
    .cfi_undefined rip          /* outermost frame: unwinders stop here */
    _CET_ENDBR
    movq    %r14, %rsp          /* below the relay's frame, 16-byte aligned */
    movq    %rax, %rbx          /* the value, kept across the call */
    movq    %r13, %rdi          /* arg */
    call    *%r12               /* fn(arg): the green_ctx to resume */
    movq    %rbx, %rdx          /* the value again, where no pop reaches it */
    movq    (%rax), %rsp        /* RSP = its sp: now on its stack */
#if !GREEN_CTX_NOFPU
    ldmxcsr -8(%rsp)            /* restore MXCSR */
    fldcw   -4(%rsp)            /* restore x87 control word */
#endif
    popq    %r15
    popq    %r14
    popq    %r13
    popq    %r12
    popq    %rbx
    popq    %rbp
    popq    %rcx                /* resume address */
    movq    %rdx, %rax          /* the value is the resumed call's result */
    jmpq    *%rcx
    .cfi_endproc
    .size   green__ctx_asm_relay, .-green__ctx_asm_relay

    .section .note.GNU-stack,"",%progbits
