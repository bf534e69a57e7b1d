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
 * The handoff, pushed on the caller's stack and passed as jump_fcontext's
 * data (boost.c's struct handoff reads the same layout):
 *    0  from     where the resumed side stores our fcontext (from->sp)
 *    8  to_sp    the fcontext resumed: a new context finds its start arguments by it
 *   16  value    what the resumed side's call returns */

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
    pushq   %rdx                /* handoff.value */
    pushq   %rsi                /* handoff.to_sp */
    pushq   %rdi                /* handoff.from */
    movq    %rsi, %rdi          /* the fcontext to resume */
    movq    %rsp, %rsi          /* data = &handoff */
    call    jump_fcontext@PLT   /* resumed: rax = jumper's fcontext, rdx = its handoff */
    movq    (%rdx), %rcx        /* jumper's from */
    movq    %rax, (%rcx)        /* from->sp = where the jumper is suspended */
    movq    16(%rdx), %rax      /* return the jumper's value */
    addq    $24, %rsp           /* drop our own handoff */
    popq    %rcx                /* our return address */
    jmpq    *%rcx               /* return without ret: see above */
    .cfi_endproc
    .size   green__ctx_jump, .-green__ctx_jump

    .section .note.GNU-stack,"",%progbits
