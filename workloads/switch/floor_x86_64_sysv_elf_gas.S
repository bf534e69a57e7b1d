/* workloads/switch/floor_x86_64_sysv_elf_gas.S: the floor of the switch
 * workload on x86-64, System V ABI, ELF, GNU as: the smallest correct
 * switch, against which every context backend is reported (floor.c).
 * Not a backend: no value passed, no entry function, no sanitizer support;
 * just what any switch between two C call sites must do.
 *
 *   void switch_floor_jump(void **from_sp, void *to_sp);       rdi, rsi
 *   void switch_floor_jump_fp(void **from_sp, void *to_sp);
 *
 * switch_floor_jump saves the six callee-saved registers and RSP, takes the
 * target's stack pointer in a register and resumes with pop + jmp (a ret
 * would mispredict on every switch: asm_x86_64_sysv_elf_gas.S). Its _fp twin
 * also saves the MXCSR control bits and the x87 control word, which the ABI
 * makes callee-saved too. Saved frame, at the stack pointer:
 *   -8 MXCSR, -4 x87 control word (_fp only, in the red zone)
 *   0 r15, 8 r14, 16 r13, 24 r12, 32 rbx, 40 rbp, 48 resume address */

#if defined(__CET__)
#include <cet.h>
#else
#define _CET_ENDBR
#endif

    .text

/* floor_switch NAME, FP: the switch, with the FP control words when FP is 1. */
    .macro floor_switch name, fp
    .globl  \name
    .hidden \name
    .type   \name, @function
    .p2align 6                  /* one cache line, as the backends' switches */
\name:
    .cfi_startproc
    _CET_ENDBR
    pushq   %rbp
    pushq   %rbx
    pushq   %r12
    pushq   %r13
    pushq   %r14
    pushq   %r15
    .if \fp
    stmxcsr -8(%rsp)
    fnstcw  -4(%rsp)
    .endif
    movq    %rsp, (%rdi)
    movq    %rsi, %rsp
    .if \fp
    ldmxcsr -8(%rsp)
    fldcw   -4(%rsp)
    .endif
    popq    %r15
    popq    %r14
    popq    %r13
    popq    %r12
    popq    %rbx
    popq    %rbp
    popq    %rcx
    jmpq    *%rcx
    .cfi_endproc
    .size   \name, .-\name
    .endm

    floor_switch switch_floor_jump, 0
    floor_switch switch_floor_jump_fp, 1

    .section .note.GNU-stack,"",%progbits
