/* backends/context/boost_x86_64_sysv_elf_gas.S: the boost backend's switch,
 * adapting green__ctx_jump to Boost.Context's jump_fcontext on x86-64,
 * System V ABI, ELF, GNU as.
 *
 *   void *green__ctx_jump(green_ctx *from, void *to_sp, void *value);
 *                          rdi              rsi          rdx -> rax
 *   transfer_t jump_fcontext(fcontext_t to, void *data);   (rax, rdx) = (fctx, data)
 *
 * Why asm and not C: a C wrapper returns with ret after jump_fcontext has
 * resumed another context, so every switch would mispredict the
 * return-stack buffer and charge Boost for our wrapper. This adapter returns
 * with pop + jmp, as asm.c's switch does.
 *
 * jump_fcontext carries one word, the data: the value. The rest of the
 * handoff travels in two thread-local words (boost.c), written right before
 * the jump and read by the side it resumes, on the same OS thread:
 *   green__boost_from   where the resumed side stores our fcontext (from->sp)
 *   green__boost_to_sp  the fcontext resumed: a new context finds its start
 *                       arguments by it
 * (Pushed on the stack as a struct instead, with its address as the data,
 * the switch took 3% longer: 1.045 against 1.02 times jump_fcontext called
 * directly.) Local-exec TLS: the backend links into executables only. */

#if defined(__CET__)
#include <cet.h>
#else
#define _CET_ENDBR
#endif

    .text
    .globl  green__ctx_jump
    .hidden green__ctx_jump
    .type   green__ctx_jump, @function
    .p2align 6                  /* one cache line: see asm_x86_64_sysv_elf_gas.S */
green__ctx_jump:
    .cfi_startproc
    _CET_ENDBR
    movq    %rdi, %fs:green__boost_from@tpoff
    movq    %rsi, %fs:green__boost_to_sp@tpoff
    movq    %rsi, %rdi          /* the fcontext to resume */
    movq    %rdx, %rsi          /* data = value */
    call    jump_fcontext@PLT   /* resumed: rax = jumper's fcontext, rdx = its value */
    movq    %fs:green__boost_from@tpoff, %rcx
    movq    %rax, (%rcx)        /* from->sp = where the jumper is suspended */
    movq    %rdx, %rax          /* return the jumper's value */
    popq    %rcx                /* our return address */
    jmpq    *%rcx               /* return without ret: see above */
    .cfi_endproc
    .size   green__ctx_jump, .-green__ctx_jump

    .section .note.GNU-stack,"",%progbits
