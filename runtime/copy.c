/* runtime/copy.c: copy stacks (green_options.stacks == GREEN_STACKS_COPY).
 *
 * Green threads run on K shared stacks, assigned in turn as they start. A
 * thread that parks leaves its live bytes where they are; only when another
 * thread must run on that shared stack are they saved, from the parked
 * context's lowest live address (green_ctx_stack_low) to the top, into a
 * heap buffer of its own, grown as needed and kept for next time.
 *
 * The copies run in the copier, a relay (green_ctx_make_relay) on a stack
 * of its own: a thread cannot overwrite the stack it runs on. An evicted
 * thread's green_ctx is pointed at the copier, so that the scheduler
 * switches to it exactly as it switches to any thread: private mode's switch
 * path has no test for copy mode, and a thread whose shared stack is still
 * its own resumes without a copy. The relay's saved state never changes, so
 * every evicted context can hold it; the copier finds whom to restore in
 * h->current, which the scheduler sets before each switch, and the value
 * the switch carries goes through it untouched. With the asm backends the
 * copier runs in the middle of that one switch; with the others it is a
 * context of its own, and the switch is two.
 *
 *   switch to B, B evicted:  A --> copier: save the owner's image (A's, if it
 *                            shares B's stack), restore B's --> B
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef GREEN_CTX_ASAN
#include <sanitizer/asan_interface.h>
#else
/* A program built with AddressSanitizer may use a libgreen built without:
 * its frames' redzones are then in the images all the same, and its
 * memcpy interceptor checks every copy. Present only in such a process. */
extern void __asan_unpoison_memory_region(void const volatile *addr, size_t size) __attribute__((weak));
#endif
#ifdef GREEN_USE_VALGRIND
#include <valgrind/memcheck.h>
/* Outside valgrind a client request is a no-op that still spills registers
 * on every copy. */
static int under_valgrind;

static __attribute__((constructor)) void detect_valgrind(void)
{
    under_valgrind = RUNNING_ON_VALGRIND != 0;
}

#define IF_VALGRIND(request) (GREEN_UNLIKELY(under_valgrind) ? (void)(request) : (void)0)
#else
#define IF_VALGRIND(request) ((void)0)
#endif

#define COPIER_STACK_SIZE (64 * 1024)

/* One shared stack. */
typedef struct green__shared {
    green_stack *stack;
    char *base, *top;           /* Where its contexts run: [base, top). */
    struct green__copy *owner;  /* Whose image is on it now; NULL: nobody's. */
} green__shared;

/* A green thread's copy record: its context and wait record (as at the top
 * of a private stack), its shared stack and its saved image. */
typedef struct green__copy {
    struct green__copy *next;   /* Free list. */
    green__shared *on;
    void *sp;                   /* Its own saved state while evicted (ctx.sp
                                   then leads to the copier). */
    char *buf;                  /* Its saved image, len bytes of cap. */
    size_t len, cap;
    int fresh;                  /* Not started: made when first restored. */
    green__wait wait;
    green_ctx ctx;
    green_stack hdr;            /* Its thread's `stack`: green_stack_ctx(&hdr) == &ctx. */
} green__copy;

_Static_assert(offsetof(green__copy, hdr) == offsetof(green__copy, ctx) + sizeof(green_ctx),
               "green_stack_ctx must find the context right below the header");
_Static_assert(offsetof(green__copy, ctx) == offsetof(green__copy, wait) + sizeof(green__wait),
               "green__wait_of must find the wait record right below the context");

static green__copy *copy_of(green_stack *hdr)
{
    return (green__copy *)((char *)hdr - offsetof(green__copy, hdr));
}

/* Point c's context at the copier (AddressSanitizer learns of the stack it
 * switches to from the context, so its bounds follow). */
static void lead_to_copier(green__hub *h, green__copy *c)
{
    c->ctx.sp = h->copier_ctx.sp;
    c->ctx.stack_base = h->copier_ctx.stack_base;
    c->ctx.stack_size = h->copier_ctx.stack_size;
}

/* Bytes AddressSanitizer, where the process has it, may have poisoned. */
static inline void unpoison(const void *at, size_t n)
{
#ifndef GREEN_CTX_ASAN
    if (__asan_unpoison_memory_region == NULL)
        return;
#endif
    __asan_unpoison_memory_region(at, n);
}

/* Whole 64-byte lines in 32-byte moves (an image's length is a multiple of
 * 64 and both ends are 16-byte aligned): without glibc's call and its size
 * dispatch, a copied yield took 7% less (23.3 against 25.0 ns, 128 live
 * bytes). Only where the CPU has AVX2; memcpy elsewhere. */
#if defined(__x86_64__)
typedef char line_half __attribute__((vector_size(32), aligned(16), may_alias));

__attribute__((target("avx2"), no_sanitize_address)) static void copy_lines(char *to, const char *from,
                                                                            size_t n)
{
    for (size_t i = 0; i < n; i += 64) {
        line_half low = *(const line_half *)(from + i), high = *(const line_half *)(from + i + 32);
        *(line_half *)(to + i) = low;
        *(line_half *)(to + i + 32) = high;
    }
}
#define HAVE_COPY_LINES() __builtin_cpu_supports("avx2")
#else
#define HAVE_COPY_LINES() 0
#define copy_lines memcpy
#endif

/* The copy itself, out of AddressSanitizer's sight: a stack image holds the
 * poisoned redzones of the frames it was cut from. */
__attribute__((no_sanitize_address)) static void copy_bytes(char *to, const char *from, size_t n)
{
    /* memcpy is intercepted and checked whatever this function's attribute. */
    unpoison(to, n);
    unpoison(from, n);
    if (GREEN_LIKELY(HAVE_COPY_LINES()))
        copy_lines(to, from, n);
    else
        memcpy(to, from, n);
}

static __attribute__((noinline, cold)) void out_of_memory(size_t len)
{
    fprintf(stderr, "green: copy stacks: out of memory saving a %zu-byte stack image\n", len);
    abort();
}

static void count_copy(green__hub *h, size_t len)
{
    h->stats.copies++;
    h->stats.bytes_copied += len;
}

/* Save o's image off its shared stack and lead its context to the copier. */
static void save(green__hub *h, green__copy *o)
{
    green__shared *s = o->on;
    const char *low = green_ctx_stack_low(&o->ctx);
    GREEN_ASSERT(low >= s->base && low <= s->top);
    /* Whole 64-byte lines: a copy of 336 bytes took 20% longer than one of
     * 384 here (the bytes below the live part are dead, and harmless). */
    size_t len = ((size_t)(s->top - low) + 63) & ~(size_t)63;
    IF_VALGRIND(VALGRIND_MAKE_MEM_DEFINED(s->top - len, (size_t)(low - (s->top - len))));
    if (len > o->cap) {
        /* Sized to fit: a parked thread costs its image. (64-byte aligned
         * buffers copied a little faster, but cost 112 bytes more each.) */
        free(o->buf);
        o->buf = malloc(len);
        if (o->buf == NULL)
            out_of_memory(len);
        o->cap = len;
    }
    copy_bytes(o->buf, s->top - len, len);
    o->len = len;
    o->sp = o->ctx.sp;
    lead_to_copier(h, o);
    count_copy(h, len);
    if (len > h->stats.saved_max)
        h->stats.saved_max = len;
}

/* Put c's image back on its shared stack, or make its context there if it
 * never ran. */
static void restore(green__hub *h, green__copy *c, green_thread *g)
{
    green__shared *s = c->on;
    /* The stack below the last owner's stack pointer is unaddressable to
     * valgrind (frames that returned), and AddressSanitizer still sees
     * the redzones of the frames another thread left there: the bytes are
     * c's from now on, not yet written. */
    IF_VALGRIND(VALGRIND_MAKE_MEM_UNDEFINED(s->base, (size_t)(s->top - s->base)));
    unpoison(s->base, (size_t)(s->top - s->base));
    if (c->fresh) {
        c->fresh = 0;
        int err = green_ctx_make(&c->ctx, s->base, (size_t)(s->top - s->base), h->entry, g);
        GREEN_ASSERT(err == 0);
        return;
    }
    copy_bytes(s->top - c->len, c->buf, c->len);
    c->ctx.sp = c->sp;
    c->ctx.stack_base = s->base;
    c->ctx.stack_size = (size_t)(s->top - s->base);
    count_copy(h, c->len);
}

/* The copier, a relay (green_ctx_make_relay): in the middle of a switch to
 * h->current, evicted, make that thread's shared stack its own again. */
static green_ctx *copier_step(void *arg)
{
    green__hub *h = arg;
    green_thread *g = h->current;
    green__copy *c = copy_of(g->stack);
    green__shared *s = c->on;
    green__copy *o = s->owner;
    GREEN_ASSERT(o != c);
    /* An ended thread's image (the zombie's) is not worth saving. */
    if (o != NULL && &o->hdr != h->zombie)
        save(h, o);
    s->owner = c;
    restore(h, c, g);
    return &c->ctx;
}

int green__copy_init(green__hub *h, unsigned k, void (*entry)(void *g))
{
    h->shared = calloc(k, sizeof *h->shared);
    if (h->shared == NULL)
        return GREEN_ENOMEM;
    h->entry = entry;
    for (unsigned i = 0; i < k; i++) {
        green__shared *s = &h->shared[i];
        if (green_stack_new(&h->stacks, &s->stack) != 0)
            goto fail;
        h->nshared = i + 1;
        s->base = s->stack->base;
        /* As a private stack: the wait record's bytes stay unused. */
        s->top = (char *)((uintptr_t)(s->base + s->stack->size - sizeof(green__wait)) & ~(uintptr_t)63);
    }
    if (green_stack_new(&h->hub_stacks, &h->copier_stack) != 0)
        goto fail;
    if (green_ctx_make_relay(&h->copier_ctx, h->copier_stack->base, h->copier_stack->size, copier_step,
                             h) != 0)
        goto fail_copier;
    h->stats.shared_stacks = k;
    h->stats.stacks_peak = k;
    return 0;

fail_copier:
    green_stack_free(&h->hub_stacks, h->copier_stack);
    h->copier_stack = NULL;
fail:
    green__copy_fini(h);
    return GREEN_ENOMEM;
}

void green__copy_fini(green__hub *h)
{
    if (h->shared == NULL)
        return;
    for (green__copy *c = h->free_copies, *next; c != NULL; c = next) {
        next = c->next;
        free(c->buf);
        free(c);
    }
    h->free_copies = NULL;
    h->images_cached = 0;
    for (unsigned i = 0; i < h->nshared; i++)
        green_stack_free(&h->stacks, h->shared[i].stack);
    if (h->copier_stack != NULL)
        green_stack_free(&h->hub_stacks, h->copier_stack);
    h->copier_stack = NULL;
    free(h->shared);
    h->shared = NULL;
    h->nshared = 0;
}

int green__copy_start(green__hub *h, green_thread *g)
{
    green__copy *c = h->free_copies;
    if (c != NULL) {
        h->free_copies = c->next;
        h->images_cached -= c->buf != NULL;
    } else {
        c = calloc(1, sizeof *c);
        if (c == NULL)
            return GREEN_ENOMEM;
    }
    c->on = &h->shared[h->next_shared];
    h->next_shared = h->next_shared + 1 < h->nshared ? h->next_shared + 1 : 0;
    c->fresh = 1;
    c->len = 0;
    c->hdr.base = c->on->base;
    c->hdr.size = (size_t)(c->on->top - c->on->base);
    lead_to_copier(h, c);
    g->stack = &c->hdr;
    return 0;
}

void green__copy_release(green__hub *h, green_stack *hdr)
{
    green__copy *c = copy_of(hdr);
    if (c->on->owner == c)
        c->on->owner = NULL;
    /* A free record keeps its image buffer for the next thread, as a free
     * private stack keeps its pages, up to the same limit (stack_cache). */
    if (c->buf != NULL && h->images_cached >= h->stacks.max_cached) {
        free(c->buf);
        c->buf = NULL;
        c->cap = 0;
    }
    h->images_cached += c->buf != NULL;
    c->next = h->free_copies;
    h->free_copies = c;
}
