/* backends/context/context.h: the context-switch backend contract.
 * Implemented by asm.c (+ asm_x86_64_sysv_elf_gas.S, also built as asm-nofpu),
 * ucontext.c and boost.c beside it; stacks come from stack.c, shared by all.
 *
 * Selection is at link time, as in libuv and Boost.Context: every backend file
 * defines the same green__ctx_* symbols, CMake builds one library per backend
 * (green_ctx_<name>), and each program links exactly one. A switch is thus a
 * direct call into the backend's own code; in a plain build green_ctx_switch()
 * below is an inline wrapper that compiles to nothing but that call.
 *
 * Adding a backend: one file here defining green__ctx_make, green__ctx_jump,
 * green_ctx_stack_low and green_ctx_saves, plus one green_add_context_backend()
 * line in CMakeLists.txt (which gives it its name); optionally a relay stub,
 * green__ctx_make_relay (docs/extending.md). */
#ifndef GREEN_CONTEXT_H
#define GREEN_CONTEXT_H

#include <stddef.h>
#include <stdint.h>

#if defined(__SANITIZE_ADDRESS__)
#define GREEN_CTX_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define GREEN_CTX_ASAN 1
#endif
#endif

/* A context: a place where the registers of a suspended execution are kept.
 * A green_ctx that was never made stands for the calling OS thread's own
 * stack; a thread has one such context. */
typedef struct green_ctx {
    void *sp;               /* The backend's saved state: the stack pointer (asm),
                               an fcontext (boost), a ucontext_t* (ucontext). */
    const void *stack_base; /* Lowest usable address of its stack; NULL for the
                               thread's own stack until AddressSanitizer names it. */
    size_t stack_size;      /* Usable bytes above stack_base. */
    void *asan_fake_stack;  /* AddressSanitizer's fake-stack handle while suspended. */
} green_ctx;

/* Prepare ctx to run fn(arg) on the stack [stack, stack + size) when it is
 * first switched to. The value passed by that first switch is dropped: fn
 * receives arg. fn must never return: a context has nowhere to return to, so
 * returning prints "green: context entry function returned" and aborts (the
 * runtime's trampoline ends a green thread by switching to its hub instead).
 * size must be at least GREEN_CTX_MIN_STACK. Returns 0 or -EINVAL. Does not switch. */
int green_ctx_make(green_ctx *ctx, void *stack, size_t size, void (*fn)(void *arg), void *arg);

#define GREEN_CTX_MIN_STACK 4096

/* Save the running registers in from, resume to, and hand it value: to's own
 * green_ctx_switch() call returns value. Returns, once something switches back
 * to from, the value that switch passed. Never fails; from and to must differ. */
static inline void *green_ctx_switch(green_ctx *from, green_ctx *to, void *value);

/* Prepare relay: a context that, each time something switches to it, calls
 * fn(arg) on the stack [stack, stack + size) and goes straight on to the
 * context fn returns, handing it the value the relay was switched to with.
 * Its saved state never changes: relay's sp and stack bounds may be copied
 * into other green_ctx, each of which then leads to fn (the runtime's copy
 * stacks point an evicted thread's context at the copier this way). fn must
 * not switch, and relay must outlive every switch to it. The asm backends
 * run fn from a stub in the middle of that one switch; elsewhere the relay is
 * a context that loops over fn and a switch, so switching through it costs
 * two. May switch once, before returning, to run that loop to its switch.
 * Returns 0 or -EINVAL. */
int green_ctx_make_relay(green_ctx *relay, void *stack, size_t size, green_ctx *(*fn)(void *arg),
                         void *arg);

/* The lowest address that the suspended context ctx still needs of its
 * stack: its live part runs from there to the top of its stack. What a copy
 * stack saves of a parked context (the runtime's copy mode). */
const void *green_ctx_stack_low(const green_ctx *ctx);

/* Backend name written into every result: "asm", "asm-nofpu", "ucontext", "boost". */
const char *green_ctx_name(void);

/* What one switch saves and restores, in words, for reports. */
const char *green_ctx_saves(void);

/* ---- implemented by each backend file (link-time selection) ---- */

/* Backend part of green_ctx_make: stack and size are already checked and
 * 16-byte aligned. The context, once entered, must call green__ctx_start(fn, arg). */
int green__ctx_make(green_ctx *ctx, void *stack, size_t size, void (*fn)(void *arg), void *arg);

/* The switch itself: save into from, resume the context whose saved state is
 * to_sp (its green_ctx's sp, passed by value, as Boost.Context passes an
 * fcontext: the caller loads it early, so the load is off the switch's
 * critical path), and return the value passed back. */
void *green__ctx_jump(green_ctx *from, void *to_sp, void *value);

#if GREEN_CTX_STUB_RELAY && !defined(GREEN_CTX_ASAN)
/* Backend part of green_ctx_make_relay, where the backend defines
 * GREEN_CTX_STUB_RELAY (its DEFINES in CMakeLists.txt); not under
 * AddressSanitizer, whose fiber annotations a stub could not make. */
int green__ctx_make_relay(green_ctx *relay, void *stack, size_t size, green_ctx *(*fn)(void *arg),
                          void *arg);
#endif

/* ---- implemented once, in context.c ---- */

/* First code of every new context: sanitizer bookkeeping, then fn(arg); if fn
 * returns, the process aborts with a message. */
_Noreturn void green__ctx_start(void (*fn)(void *arg), void *arg);

#ifdef GREEN_CTX_ASAN
/* AddressSanitizer must be told of every stack change (its fiber API). */
void green__ctx_asan_leave(green_ctx *from, green_ctx *to);
void green__ctx_asan_arrive(green_ctx *self);

static inline void *green_ctx_switch(green_ctx *from, green_ctx *to, void *value)
{
    green__ctx_asan_leave(from, to);
    value = green__ctx_jump(from, to->sp, value);
    green__ctx_asan_arrive(from);
    return value;
}
#else
static inline void *green_ctx_switch(green_ctx *from, green_ctx *to, void *value)
{
    return green__ctx_jump(from, to->sp, value);
}
#endif

/* ---- stacks (stack.c) ----
 *
 * Stacks are carved from chunks, each mapping holding several slots of a
 * guard page and a stack; the stack's header, and below it the green_ctx of
 * the context that runs on it, sit in its highest bytes, so that they share
 * the one page every running stack touches anyway:
 *
 *   slot:  | guard page | usable: grows down from here <-- | green_ctx | green_stack |
 *                       ^ base                             ^ base + size
 *
 * Stacks are reused through a pool's free list, since on these machines a
 * first-touch page fault costs 12-16 us and mmap + munmap 4-6 us. A pool
 * belongs to one thread (the hub's); it takes no lock. */
typedef struct green_stack {
    void *base;                 /* Lowest usable address, page-aligned. */
    size_t size;                /* Usable bytes below its green_ctx, a 16-byte multiple. */
    struct green_stack *next;   /* Free-list link while cached. */
    unsigned valgrind_id;       /* VALGRIND_STACK_REGISTER's handle. */
    unsigned magic;             /* Catches a free of something else. */
} green_stack;

typedef struct green_stack_pool {
    size_t asked;               /* Usable bytes asked of green_stack_pool_init (or the default). */
    size_t stack_size;          /* Bytes per slot above its guard page (header included). */
    green_stack *free_list;
    size_t cached, max_cached;  /* Free stacks, and how many keep all their pages. */
    size_t live;                /* Stacks handed out and not yet returned. */
    char *carve_next;           /* Next unused slot of the newest chunk. */
    size_t carve_left, next_chunk_slots, chunks;
} green_stack_pool;

#define GREEN_STACK_DEFAULT_SIZE (64 * 1024)

/* Where the context that runs on stack s keeps its registers while it is
 * suspended (the layout above), and back: a thread that runs on a stack of
 * its own (the OS thread's) can pass its green_ctx as a stack this way. */
static inline green_ctx *green_stack_ctx(green_stack *s)
{
    return (green_ctx *)s - 1;
}

static inline green_stack *green_stack_of_ctx(green_ctx *ctx)
{
    return (green_stack *)(ctx + 1);
}

/* Prepare a pool of stacks of at least stack_size usable bytes each
 * (GREEN_CTX_MIN_STACK to 1 GiB + 4 KiB; 0: the default; the header and the
 * context slot come on top, the slot is rounded up to whole pages) and
 * install the overflow handler for this process and an alternate signal
 * stack for this thread. Returns 0, -EINVAL or -ENOMEM. */
int green_stack_pool_init(green_stack_pool *pool, size_t stack_size, size_t max_cached);

/* Unmap all of the pool's chunks. Stacks still handed out become invalid. */
void green_stack_pool_close(green_stack_pool *pool);

/* Hand out a stack: a cached one, else a new mapping. Returns 0 or -ENOMEM;
 * on -ENOMEM it prints once to stderr which limit was hit (vm.max_map_count
 * or memory) and how to raise it. */
int green_stack_new(green_stack_pool *pool, green_stack **out);

/* Give a stack back to its pool's free list. Past max_cached free stacks,
 * all but its top page are returned to the kernel (MADV_DONTNEED). */
void green_stack_free(green_stack_pool *pool, green_stack *stack);

/* What the overflow message tells to raise, in its parentheses: by
 * default "green_options.stack_size, greenbench --stack-kib"; a program
 * whose users size stacks another way (the preload: an environment
 * variable) names that. Copied, up to 127 bytes; call it before any green
 * thread runs. */
void green_stack_set_overflow_advice(const char *advice);

/* How the overflow handler learns which stack the faulting OS thread runs
 * on: query(&lo, &hi) gives its bounds and returns 1, or 0 when it does not
 * know (no hub, the hub's own context). A frame larger than the guard page
 * moves the stack pointer past it, and the first access then faults below
 * the stack, outside every guard page: a stack pointer below lo is an
 * overflow all the same. Set once, by the runtime; async-signal-safe. */
void green_stack_set_running_query(int (*query)(uintptr_t *lo, uintptr_t *hi));

/* Install the overflow handler and this thread's alternate signal stack.
 * Called by green_stack_pool_init; a thread that runs green stacks made by
 * another thread's pool calls it once itself. Returns 0 or a negative errno. */
int green_stack_guard_thread(void);

#endif /* GREEN_CONTEXT_H */
