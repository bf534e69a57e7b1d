/* workloads/switch/floor.h: the floor of the switch workload: for each
 * context backend, the least a switch like its own can cost on this machine,
 * measured in the same process, alternating with the backend (green.c).
 * Not a backend: nothing in libgreen can use it. */
#ifndef GREEN_SWITCH_FLOOR_H
#define GREEN_SWITCH_FLOOR_H

#include <stddef.h>

typedef struct switch_floor {
    const char *name;   /* What results call it: "regs", "regs+fp", "jump_fcontext", "swapcontext". */
    /* Park a partner on [stack, stack + size) that answers every switch with
     * one back. Returns 0 or -1. */
    int (*start)(void *stack, size_t size);
    /* round_trips switches to the partner and back. */
    void (*run)(long long round_trips);
} switch_floor;

/* The floor backend (green_ctx_name()) is measured against: the smallest
 * correct switch saving the same registers (asm-nofpu: "regs"; asm and any
 * backend not named here: "regs+fp", the ABI's whole callee-saved set), or,
 * for a backend that wraps a library's switch, that switch called directly
 * (boost: "jump_fcontext", ucontext: "swapcontext"). NULL: none on this
 * machine (no floor_<arch>_<abi>_elf_gas.S). */
const switch_floor *switch_floor_for(const char *backend);

#endif /* GREEN_SWITCH_FLOOR_H */
