/* backends/context/stack.c: guarded, reusable stacks for every context
 * backend (the stack half of context.h), and the handler that turns an
 * overflow into a message.
 *
 * Stacks are carved from chunks: one mapping holds several slots, each a guard
 * page and a stack:
 *
 *   chunk: | guard | stack 0 ... hdr | guard | stack 1 ... hdr | ...
 *
 * The guard pages are installed with madvise(MADV_GUARD_INSTALL) (Linux 6.13),
 * which does not split the mapping, so 100 000 stacks need ~2 000 mappings and
 * not 200 000 (vm.max_map_count is 65 530 by default). Older kernels get
 * mprotect(PROT_NONE) guards, two mappings per stack, and the limit applies.
 * (On this project's sandboxed VMs each guard installation makes pages that
 * other stacks had touched fault in again, about 13 us a stack over a run of
 * 100 000; a kernel artefact that bare metal does not have.) */
#include "context.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#ifdef GREEN_CTX_ASAN
#include <sanitizer/asan_interface.h>
#endif

#ifdef GREEN_USE_VALGRIND
#include <valgrind/valgrind.h>
#else
#define VALGRIND_STACK_REGISTER(lo, hi) 0u
#define VALGRIND_STACK_DEREGISTER(id) ((void)(id))
#endif

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102  /* Linux 6.13 uapi; glibc 2.36 headers predate it. */
#endif

#define STACK_MAGIC 0x67726e53u
#define CHUNK_FIRST_SLOTS 4
#define CHUNK_MAX_BYTES (8u << 20)

/* ---- registry of chunks, read by the overflow handler ----
 * Written under a mutex; read lock-free by the signal handler, which only
 * needs a consistent view of entries that are not being changed. */
typedef struct chunk {
    uintptr_t start, end;       /* The mapping; start == 0: unused entry. */
    size_t slot_size;           /* Guard page + stack, bytes. */
    const green_stack_pool *owner;
} chunk;

#define MAX_CHUNKS 65536
static chunk chunks[MAX_CHUNKS];
static atomic_size_t chunks_used;  /* Entries [0, chunks_used) may be live. */
static pthread_mutex_t chunks_lock = PTHREAD_MUTEX_INITIALIZER;

static size_t page_size;
static atomic_int lightweight_guards = 1;  /* Cleared when the kernel lacks them. */

static int register_chunk(uintptr_t start, uintptr_t end, size_t slot_size,
                          const green_stack_pool *owner)
{
    pthread_mutex_lock(&chunks_lock);
    size_t used = atomic_load(&chunks_used), i;
    for (i = 0; i < used && chunks[i].start != 0; i++)
        ;
    if (i == MAX_CHUNKS) {
        pthread_mutex_unlock(&chunks_lock);
        return -ENOMEM;
    }
    chunks[i].end = end;
    chunks[i].slot_size = slot_size;
    chunks[i].owner = owner;
    /* Publish last: the handler reads an entry only once start is set. */
    __atomic_store_n(&chunks[i].start, start, __ATOMIC_RELEASE);
    if (i == used)
        atomic_store(&chunks_used, used + 1);
    pthread_mutex_unlock(&chunks_lock);
    return 0;
}

/* ---- the overflow handler ---- */

static struct sigaction previous_segv;

/* Set before any green thread runs, read by the handler: a copy, so that
 * the handler's message has a bound. */
static char overflow_advice[128] = "green_options.stack_size, greenbench --stack-kib";

void green_stack_set_overflow_advice(const char *advice)
{
    snprintf(overflow_advice, sizeof overflow_advice, "%s", advice);
}

static void write_all(const char *s, size_t n)
{
    while (n > 0) {
        ssize_t w = write(STDERR_FILENO, s, n);
        if (w <= 0)
            return;
        s += w;
        n -= (size_t)w;
    }
}

/* Async-signal-safe formatting: a string and unsigned numbers only. */
static char *put_str(char *p, const char *s)
{
    while (*s)
        *p++ = *s++;
    return p;
}

static char *put_uint(char *p, uintmax_t v, unsigned base)
{
    char digits[32];
    int n = 0;
    do {
        digits[n++] = "0123456789abcdef"[v % base];
        v /= base;
    } while (v != 0);
    while (n > 0)
        *p++ = digits[--n];
    return p;
}

static const chunk *chunk_of(uintptr_t addr)
{
    size_t used = atomic_load_explicit(&chunks_used, memory_order_acquire);
    for (size_t i = 0; i < used; i++) {
        uintptr_t start = __atomic_load_n(&chunks[i].start, __ATOMIC_ACQUIRE);
        if (start != 0 && addr >= start && addr < chunks[i].end)
            return &chunks[i];
    }
    return NULL;
}

static int (*running_query)(uintptr_t *lo, uintptr_t *hi);

void green_stack_set_running_query(int (*query)(uintptr_t *lo, uintptr_t *hi))
{
    running_query = query;
}

/* The faulting context's stack pointer; 0 where this file cannot read it. */
static uintptr_t fault_sp(const void *ucontext)
{
    const ucontext_t *uc = ucontext;
#if defined(__x86_64__)
    return (uintptr_t)uc->uc_mcontext.gregs[REG_RSP];
#elif defined(__aarch64__)
    return (uintptr_t)uc->uc_mcontext.sp;
#else
    (void)uc;
    return 0;
#endif
}

/* Say so; the handler then returns, the access runs again and the process
 * dies of it. */
static void report_overflow(size_t asked, const char *what, uintptr_t at)
{
    char msg[384], *p = msg;
    p = put_str(p, "green: a green thread overflowed its ");
    p = put_uint(p, asked / 1024, 10);
    p = put_str(p, " KiB stack (");
    p = put_str(p, what);
    p = put_str(p, " 0x");
    p = put_uint(p, at, 16);
    p = put_str(p, "); give it a larger stack (");
    p = put_str(p, overflow_advice);
    p = put_str(p, ")\n");
    write_all(msg, (size_t)(p - msg));
    signal(SIGSEGV, SIG_DFL);
}

static void on_segv(int sig, siginfo_t *info, void *ucontext)
{
    uintptr_t addr = (uintptr_t)info->si_addr;
    const chunk *c = chunk_of(addr);
    if (c != NULL && (addr - c->start) % c->slot_size < page_size) {
        report_overflow(c->owner->asked, "it touched the guard page at", addr);
        return;
    }
    uintptr_t sp = fault_sp(ucontext), lo, hi;
    if (sp != 0 && running_query != NULL && running_query(&lo, &hi) && sp < lo && addr < lo) {
        const chunk *own = chunk_of(lo);
        report_overflow(own != NULL ? own->owner->asked : hi - lo,
                        "a frame larger than the guard page took its stack pointer to", sp);
        return;
    }
    /* Not ours: hand it to whoever was there before (a sanitizer, say). */
    if (previous_segv.sa_flags & SA_SIGINFO) {
        previous_segv.sa_sigaction(sig, info, ucontext);
    } else if (previous_segv.sa_handler != SIG_DFL && previous_segv.sa_handler != SIG_IGN) {
        previous_segv.sa_handler(sig);
    } else {
        signal(SIGSEGV, SIG_DFL);
    }
}

/* ---- per-thread alternate signal stack: the overflowed stack has no room ---- */

static pthread_once_t process_once = PTHREAD_ONCE_INIT;
static pthread_key_t altstack_key;
static int process_init_error;

static void altstack_release(void *mem)
{
    stack_t off = { .ss_flags = SS_DISABLE };
    sigaltstack(&off, NULL);
    munmap(mem, (size_t)SIGSTKSZ * 4);
}

static void process_init(void)
{
    page_size = (size_t)sysconf(_SC_PAGESIZE);
    process_init_error = -pthread_key_create(&altstack_key, altstack_release);
    if (process_init_error != 0)
        return;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGSEGV, &sa, &previous_segv) != 0)
        process_init_error = -errno;
}

int green_stack_guard_thread(void)
{
    static _Thread_local int done;
    pthread_once(&process_once, process_init);
    if (process_init_error != 0)
        return process_init_error;
    if (done)
        return 0;
    stack_t current;
    if (sigaltstack(NULL, &current) == 0 && !(current.ss_flags & SS_DISABLE)) {
        done = 1;   /* The thread has one already (AddressSanitizer installs its own). */
        return 0;
    }
    size_t size = (size_t)SIGSTKSZ * 4;
    void *mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED)
        return -errno;
    stack_t alt = { .ss_sp = mem, .ss_size = size, .ss_flags = 0 };
    if (sigaltstack(&alt, NULL) != 0) {
        int err = -errno;
        munmap(mem, size);
        return err;
    }
    pthread_setspecific(altstack_key, mem);
    done = 1;
    return 0;
}

/* ---- pools ---- */

static size_t round_up(size_t n, size_t to)
{
    return (n + to - 1) / to * to;
}

int green_stack_pool_init(green_stack_pool *pool, size_t stack_size, size_t max_cached)
{
    int err = green_stack_guard_thread();
    if (err != 0)
        return err;
    if (stack_size == 0)
        stack_size = GREEN_STACK_DEFAULT_SIZE;
    /* 1 GiB (libgreen's GREEN_STACK_MAX_SIZE) and the records its runtime
     * keeps at a stack's top. */
    if (stack_size < GREEN_CTX_MIN_STACK || stack_size > ((size_t)1 << 30) + 4096)
        return -EINVAL;
    memset(pool, 0, sizeof *pool);
    pool->asked = stack_size;
    /* The header and the context slot take the top of the slot: size it so
     * that what is left below them is at least what was asked. */
    pool->stack_size = round_up(stack_size + sizeof(green_ctx) + sizeof(green_stack), page_size);
    pool->max_cached = max_cached;
    return 0;
}

static void report_enomem(const green_stack_pool *pool, const char *what)
{
    static atomic_flag said = ATOMIC_FLAG_INIT;
    if (atomic_flag_test_and_set(&said))
        return;
    long limit = -1;
    FILE *f = fopen("/proc/sys/vm/max_map_count", "r");
    if (f != NULL) {
        if (fscanf(f, "%ld", &limit) != 1)
            limit = -1;
        fclose(f);
    }
    fprintf(stderr,
            "green: cannot make another %zu KiB stack (%zu live in this pool): %s failed with ENOMEM.\n"
            "green: each stack needs memory and %s; the kernel allows %ld mappings per process "
            "(vm.max_map_count). Raise it with 'sysctl -w vm.max_map_count=1048576', "
            "or use smaller stacks or fewer live green threads.\n",
            pool->asked / 1024, pool->live, what,
            atomic_load(&lightweight_guards) ? "a share of a mapping" : "two mappings (stack + guard page)",
            limit);
}

/* Map a chunk of n slots, install its guard pages and register it. */
static int map_chunk(green_stack_pool *pool, size_t n)
{
    size_t slot = page_size + pool->stack_size;
    size_t bytes = n * slot;
    char *map = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (map == MAP_FAILED) {
        report_enomem(pool, "mmap");
        return -ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        char *guard = map + i * slot;
        if (atomic_load(&lightweight_guards) && madvise(guard, page_size, MADV_GUARD_INSTALL) == 0)
            continue;
        if (atomic_load(&lightweight_guards) && (errno == EINVAL || errno == ENOSYS))
            atomic_store(&lightweight_guards, 0);   /* Pre-6.13 kernel: from now on mprotect. */
        if (mprotect(guard, page_size, PROT_NONE) != 0) {
            munmap(map, bytes);
            report_enomem(pool, "mprotect of a guard page");
            return -ENOMEM;
        }
    }
    if (register_chunk((uintptr_t)map, (uintptr_t)map + bytes, slot, pool) != 0) {
        munmap(map, bytes);
        report_enomem(pool, "registering the chunk");
        return -ENOMEM;
    }
    pool->carve_next = map;
    pool->carve_left = n;
    pool->chunks++;
    return 0;
}

int green_stack_new(green_stack_pool *pool, green_stack **out)
{
    green_stack *s = pool->free_list;
    if (s != NULL) {
        pool->free_list = s->next;
        pool->cached--;
        pool->live++;
        *out = s;
        return 0;
    }
    if (pool->carve_left == 0) {
        /* Chunks grow with demand: a handful of stacks cost one small
         * mapping, a hundred thousand cost a few thousand. */
        size_t slot = page_size + pool->stack_size;
        size_t n = pool->next_chunk_slots ? pool->next_chunk_slots : CHUNK_FIRST_SLOTS;
        size_t max_n = CHUNK_MAX_BYTES / slot ? CHUNK_MAX_BYTES / slot : 1;
        if (n > max_n)
            n = max_n;
        int err = map_chunk(pool, n);
        if (err != 0)
            return err;
        pool->next_chunk_slots = n * 2;
    }
    char *slot_start = pool->carve_next;
    pool->carve_next = slot_start + page_size + pool->stack_size;
    pool->carve_left--;

    char *base = slot_start + page_size;
    s = (green_stack *)(base + pool->stack_size) - 1;
    s->base = base;
    s->size = (size_t)((char *)green_stack_ctx(s) - base) & ~(size_t)15;
    s->next = NULL;
    s->magic = STACK_MAGIC;
    s->valgrind_id = VALGRIND_STACK_REGISTER(base, base + s->size);
    pool->live++;
    *out = s;
    return 0;
}

void green_stack_free(green_stack_pool *pool, green_stack *stack)
{
    if (stack->magic != STACK_MAGIC) {
        fprintf(stderr, "green: green_stack_free of something that is not a stack (%p)\n", (void *)stack);
        abort();
    }
    if (pool->cached >= pool->max_cached && stack->size > page_size) {
        /* Past the cache's limit, give the deep pages back to the kernel but
         * keep the slot: chunks are only unmapped whole, at pool close. */
        madvise(stack->base, stack->size & ~(page_size - 1), MADV_DONTNEED);
    }
    stack->next = pool->free_list;
    pool->free_list = stack;
    pool->cached++;
    pool->live--;
}

void green_stack_pool_close(green_stack_pool *pool)
{
    for (green_stack *s = pool->free_list; s != NULL; s = s->next)
        VALGRIND_STACK_DEREGISTER(s->valgrind_id);
    pthread_mutex_lock(&chunks_lock);
    size_t used = atomic_load(&chunks_used);
    for (size_t i = 0; i < used; i++) {
        if (chunks[i].start != 0 && chunks[i].owner == pool) {
            uintptr_t start = chunks[i].start;
            __atomic_store_n(&chunks[i].start, 0, __ATOMIC_RELEASE);
#ifdef GREEN_CTX_ASAN
            /* Frames that never returned left poisoned shadow behind; a later
             * mapping at this address must not inherit it. */
            __asan_unpoison_memory_region((void *)start, chunks[i].end - start);
#endif
            munmap((void *)start, chunks[i].end - start);
        }
    }
    pthread_mutex_unlock(&chunks_lock);
    memset(pool, 0, sizeof *pool);
}
