/* runtime/hub.c: the hub and the scheduler of libgreen: green_init/fini,
 * spawn, join, kill, yield, sleep, and the switch path between green threads.
 *
 * Scheduling. Runnable green threads wait in one FIFO run queue. A green
 * thread that blocks or yields switches straight to the next runnable one;
 * only when none is left, or when the loop is due for a poll (checked every
 * GREEN__CHECK_EVERY resumptions against GREEN__POLL_INTERVAL), does it
 * switch to the hub's own context, which polls the loop (blocking only if
 * nothing is runnable) and resumes the head of the queue. So a yield between
 * two green threads is one switch plus a queue append and pop, and the loop
 * still gets polled regularly when green threads keep each other busy.
 *
 * Stacks. A green thread gets a stack when it first runs and gives it back
 * when it ends. A thread that ends while the next runnable one has not
 * started yet hands its stack over and runs the newcomer's function in
 * place, without a switch: spawning a million short tasks runs them all on
 * one stack. A thread that ends otherwise cannot free the stack it runs on:
 * it leaves it in h->zombie, and the next scheduling decision, which runs on
 * another stack, frees it.
 *
 * Switches are tail calls. The asm backends resume with pop + jmp rather than
 * ret, so a call to the switch leaves a return-stack-buffer entry that no ret
 * consumes; a ret after the switch would then mispredict (about 10 ns here,
 * more than the switch itself). So nothing runs after a switch in the
 * scheduler: whoever resumes a green thread computes what its blocking call
 * returns and passes it as the switch's value (green__resume_value). */
#include "internal.h"

#include <math.h>
#include <stdio.h>
#ifdef GREEN_CTX_ASAN
#include <sanitizer/asan_interface.h>
#endif
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

_Thread_local green__hub *green__tls_hub;

#define HUB_STACK_SIZE (256 * 1024)
/* Keep every free stack's pages by default: a burst of 100 000 green threads
 * would otherwise pay one madvise per thread on its way out, and the memory
 * is what the burst used anyway (gevent and Go keep theirs too). */
#define DEFAULT_STACK_CACHE SIZE_MAX
#define DEFAULT_DNS_THREADS 4

void green__assert_fail(const char *expr, const char *file, int line)
{
    fprintf(stderr, "green: assertion failed: %s (%s:%d)\n", expr, file, line);
    abort();
}

double green_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

const char *green_backend_context(void)
{
    return green_ctx_name();
}

const char *green_backend_loop(void)
{
    return green_loop_name();
}

/* ---- wait queues ---- */

void green__waitq_push(green__waitq *q, green__waiter *w)
{
    w->q = q;
    w->next = NULL;
    w->prev = q->tail;
    if (q->tail != NULL)
        q->tail->next = w;
    else
        q->head = w;
    q->tail = w;
}

void green__waitq_remove(green__waiter *w)
{
    green__waitq *q = w->q;
    if (q == NULL)
        return;
    if (w->prev != NULL)
        w->prev->next = w->next;
    else
        q->head = w->next;
    if (w->next != NULL)
        w->next->prev = w->prev;
    else
        q->tail = w->prev;
    w->next = w->prev = NULL;
    w->q = NULL;
}

green__waiter *green__waitq_pop(green__waitq *q)
{
    green__waiter *w = q->head;
    if (w != NULL)
        green__waitq_remove(w);
    return w;
}

green__waiter *green__waitq_pop_parked(green__waitq *q)
{
    green__waiter *w;
    while ((w = green__waitq_pop(q)) != NULL)
        if (w->g->state == GREEN__WAITING)
            return w;
    return NULL;
}

void green__waitq_wake_all(green__hub *h, green__waitq *q, int code)
{
    green__waiter *w;
    while ((w = green__waitq_pop(q)) != NULL)
        green__wake(h, w->g, code);
}

int green__wait_in(green__hub *h, green__waitq *q, green__waiter *w, double timeout)
{
    if (green__killed(h))
        return GREEN_ECANCELED;
    if (timeout == 0)
        return GREEN_ETIMEDOUT;
    w->g = h->current;
    green__waitq_push(q, w);
    int code = green__block(h, timeout);
    green__waitq_remove(w);
    return code;
}

/* ---- the green_thread allocator ----
 * Records come from chunks the hub keeps until green_fini, so a second
 * million spawns reuse memory the first one faulted in (a first touch costs
 * 12-16 us a page here). Chunks double up to 2 MiB, which may be one huge
 * page. A chunk's first slot holds its header. */
struct green__slab_chunk {
    green__slab_chunk *next;
    size_t bytes;
};

#define SLAB_MIN_BYTES ((size_t)64 << 10)
#define SLAB_MAX_BYTES ((size_t)2 << 20)

_Static_assert(sizeof(green_thread) == 64, "green_thread should stay one cache line");
_Static_assert(sizeof(green__wait) % 16 == 0,
               "a stack's frames below its wait record stay 16-byte aligned");
_Static_assert(offsetof(green__hub, main_top.ctx) ==
                   offsetof(green__hub, main_top.wait) + sizeof(green__wait),
               "green__wait_of must find the main thread's wait record right below its context");
_Static_assert(sizeof(green__slab_chunk) <= sizeof(green_thread), "chunk header must fit a slot");

/* Out of line, as every slow path of spawn: the fast path then needs no
 * callee-saved registers (no pushes and pops per spawn). */
static __attribute__((noinline, cold)) int slab_grow(green__hub *h)
{
    size_t bytes = h->next_chunk_bytes ? h->next_chunk_bytes : SLAB_MIN_BYTES;
    void *map;
    if (bytes >= SLAB_MAX_BYTES) {
        /* Map twice the size to cut out a 2 MiB-aligned piece for THP. */
        char *raw = mmap(NULL, 2 * bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (raw == MAP_FAILED)
            return -ENOMEM;
        char *aligned = (char *)(((uintptr_t)raw + bytes - 1) & ~(uintptr_t)(bytes - 1));
        if (aligned > raw)
            munmap(raw, (size_t)(aligned - raw));
        if (aligned + bytes < raw + 2 * bytes)
            munmap(aligned + bytes, (size_t)(raw + 2 * bytes - (aligned + bytes)));
        madvise(aligned, bytes, MADV_HUGEPAGE);    /* A hint; ignore failure. */
        map = aligned;
    } else {
        map = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (map == MAP_FAILED)
            return -ENOMEM;
    }
#ifdef GREEN_CTX_ASAN
    /* A fresh mapping may sit where a green stack was unmapped, its shadow
     * still poisoned with that stack's redzones. */
    __asan_unpoison_memory_region(map, bytes);
#endif
    green__slab_chunk *c = map;
    c->next = h->chunks;
    c->bytes = bytes;
    h->chunks = c;
    h->carve_next = (green_thread *)map + 1;
    h->carve_left = bytes / sizeof(green_thread) - 1;
    h->next_chunk_bytes = bytes < SLAB_MAX_BYTES ? bytes * 2 : SLAB_MAX_BYTES;
    return 0;
}

static green_thread *thread_alloc(green__hub *h)
{
    green_thread *g = h->free_threads;
    if (GREEN_LIKELY(g != NULL)) {
        h->free_threads = g->next;
        return g;
    }
    if (h->carve_left == 0 && slab_grow(h) != 0)
        return NULL;
    g = h->carve_next++;
    h->carve_left--;
    return g;
}

static void thread_free(green__hub *h, green_thread *g)
{
    g->state = GREEN__FREE;
    g->next = h->free_threads;
    h->free_threads = g;
}

static void slab_release_all(green__hub *h)
{
    for (green__slab_chunk *c = h->chunks, *next; c != NULL; c = next) {
        next = c->next;
        munmap(c, c->bytes);
    }
    h->chunks = NULL;
    h->free_threads = NULL;
    h->carve_left = 0;
}

/* ---- the scheduler ---- */

static inline green_thread *runq_pop(green__hub *h)
{
    green_thread *g = h->runq_head;
    if (g != NULL) {
        h->runq_head = g->next;
        if (h->runq_head == NULL)
            h->runq_tail = NULL;
        if (GREEN_UNLIKELY(g == h->batch_last))
            h->batch_last = NULL;
    }
    return g;
}

/* Only from code that runs on another stack than the zombie's. */
static inline void free_zombie(green__hub *h)
{
    if (h->zombie != NULL) {
        if (GREEN_UNLIKELY(h->nshared != 0))
            green__copy_release(h, h->zombie);
        else
            green_stack_free(&h->stacks, h->zombie);
        h->zombie = NULL;
    }
}

/* An ended record goes back to the allocator once nothing refers to it: no
 * handle out, and no joiner still linked (a joiner reads it when it runs).
 * A freed record is GREEN__FREE, so a second call on it does nothing. */
static void free_if_unreferenced(green__hub *h, green_thread *g)
{
    if (g->state == GREEN__ENDED && !(g->flags & GREEN__HANDLE) && g->joiners.head == NULL)
        thread_free(h, g);
}

/* g has ended (returned, never ran, or could not start): record it, wake
 * its joiners, free its pool place, and free it if nothing refers to it.
 * The joiners stay linked and unlink themselves when they run, so that a
 * handle released while they wait does not free what they are about to read. */
static void end_thread(green__hub *h, green_thread *g, void *result, int status)
{
    g->arg = result;
    g->wake = status;
    g->state = GREEN__ENDED;
    g->stack = NULL;
    h->stats.alive--;
    h->stats.ended++;
    for (green__waiter *w = g->joiners.head; w != NULL; w = w->next)
        green__wake(h, w->g, 0);
    if (g->pool != NULL)
        green__pool_task_ended(h, g->pool);
    free_if_unreferenced(h, g);
    green__wake_finisher(h);
}

static void trampoline(void *arg);

static __attribute__((noinline, cold)) int start_copied(green__hub *h, green_thread *g)
{
    if (green__copy_start(h, g) != 0) {
        h->stacks_exhausted = 1;
        end_thread(h, g, NULL, GREEN_ENOMEM);
        return -1;
    }
    g->state = GREEN__RUNNABLE;
    return 0;
}

/* Give a NEW thread a stack and a context. Returns 0, or -1 if it ended
 * instead (killed before it ran, or no stack could be mapped). */
static int start_thread(green__hub *h, green_thread *g)
{
    green_stack *s;
    if (GREEN_UNLIKELY(h->nshared != 0))
        return start_copied(h, g);
    if (GREEN_UNLIKELY(green_stack_new(&h->stacks, &s) != 0)) {
        h->stacks_exhausted = 1;
        end_thread(h, g, NULL, GREEN_ENOMEM);
        return -1;
    }
    if (h->stacks.live > h->stats.stacks_peak)
        h->stats.stacks_peak = h->stacks.live;
    g->stack = s;
    /* The wait record takes the stack's top bytes, below the context slot. */
    int err = green_ctx_make(green__ctx_of(g), s->base, s->size - sizeof(green__wait), trampoline, g);
    GREEN_ASSERT(err == 0);
    g->state = GREEN__RUNNABLE;
    return 0;
}

/* The next green thread to resume, started if new; NULL: go to the hub
 * (nothing runnable, or the loop is due for a poll). */
/* The budget ran out: time to poll the loop? */
static int poll_due(green__hub *h)
{
    h->budget = GREEN__CHECK_EVERY;
    return h->poll_now || (h->batch_last == NULL && green_now() - h->last_poll >= GREEN__POLL_INTERVAL);
}

static inline green_thread *runq_next(green__hub *h)
{
    for (;;) {
        if (GREEN_UNLIKELY(h->budget == 0) && poll_due(h))
            return NULL;
        green_thread *g = runq_pop(h);
        if (g == NULL)
            return NULL;
        h->budget--;
        if (g->state == GREEN__NEW && (g->flags & GREEN__KILLED)) {
            end_thread(h, g, NULL, 0);
            continue;
        }
        return g;
    }
}

static inline green_thread *pick_next(green__hub *h)
{
    free_zombie(h);             /* The caller is not on it: safe now. */
    for (;;) {
        green_thread *g = runq_next(h);
        if (g != NULL && g->state == GREEN__NEW && start_thread(h, g) != 0)
            continue;
        return g;
    }
}

/* Leave the running context `from` for next (or the hub if NULL). Returns,
 * once something resumes `from`, the value its resumer passed: the return
 * code of the blocking call. A tail call for the callers below. */
static inline int switch_away(green__hub *h, green_ctx *from, green_thread *next)
{
    h->stats.switches++;
    if (next != NULL) {
        h->current = next;
        next->state = GREEN__RUNNING;
        return green__switch_code(from, green__ctx_of(next), green__resume_value(next));
    }
    h->current = NULL;
    return green__switch_code(from, &h->hub_ctx, 0);
}

int green__park(green__hub *h)
{
    green_thread *g = h->current;
    g->state = GREEN__WAITING;
    green_thread *next = pick_next(h);
    if (GREEN_UNLIKELY(next == g)) {
        /* pick_next ended a thread (killed before it ran) that woke g:
         * never switch a context to itself (Boost's fcontext cannot). */
        g->state = GREEN__RUNNING;
        return green__resume_value(g);
    }
    return switch_away(h, green__ctx_of(g), next);
}

/* A killed waiter stops watching its fd now, not when it next runs: the
 * program may close the fd meanwhile (green.h: "kill the waiter first")
 * and open another with the same number, which the loop must then see as
 * new. (Not on a timeout: closing the fd of a thread that still waits is
 * the error green.h names, and every sleep ends in one.) */
static void stop_fd_watch(green__hub *h, green_thread *g)
{
    if (g->state == GREEN__WAITING)
        green_loop_io_stop(h->loop, &green__wait_of(g)->io);
}

static void on_timeout(green_loop_timer *t)
{
    green__wait *w = (green__wait *)((char *)t - offsetof(green__wait, timer));
    green__wake(green__tls_hub, w->g, GREEN_ETIMEDOUT);
}

int green__block(green__hub *h, double timeout)
{
    green_thread *g = h->current;
    if (green__killed(h))
        return GREEN_ECANCELED;
    if (green__unlimited(timeout))
        return green__park(h);
    green__wait *w = green__wait_of(g);
    w->g = g;
    int err = green_loop_timer_start(h->loop, &w->timer, timeout, on_timeout);
    if (err != 0)
        return err;
    int code = green__park(h);
    green_loop_timer_stop(h->loop, &w->timer);
    return code;
}

/* The first code of every green thread's stack. Runs fn, then as many
 * not-yet-started threads in place as are next in line, then leaves for
 * good. */
static void trampoline(void *arg)
{
    green_thread *g = arg;
    green__hub *h = green__tls_hub;
    green_stack *stack = g->stack;
    for (;;) {
        void *result = g->fn(g->arg);
        end_thread(h, g, result, 0);
        green_thread *next = runq_next(h);
        if (next != NULL && next->state == GREEN__NEW) {
            /* Run it here, on this stack. */
            next->stack = stack;
            next->state = GREEN__RUNNING;
            h->current = next;
            g = next;
            continue;
        }
        /* Leave for good: the stack is freed once we are off it. An older
         * zombie is another thread's stack: free it now. */
        free_zombie(h);
        h->zombie = stack;
        switch_away(h, green_stack_ctx(stack), next);
        GREEN_ASSERT(!"an ended green thread was resumed");
    }
}

/* The hub's context: poll the loop, resume the next runnable thread. */
static void hub_main(void *arg)
{
    green__hub *h = arg;
    for (;;) {
        free_zombie(h);
        int block = h->runq_head == NULL;
        int alive = green_loop_run(h->loop, block);
        h->stats.polls++;
        h->budget = GREEN__CHECK_EVERY;
        h->poll_now = 0;
        h->last_poll = green_now();
        h->batch_last = h->runq_tail;
        if (block && h->runq_head == NULL && !alive && h->dns_pending == 0) {
            /* Nothing runnable and nothing that could ever make anything
             * runnable: the main thread's wait would last forever. */
            if (h->main.state == GREEN__WAITING) {
                green__wake(h, &h->main, GREEN_EDEADLK);
            } else {
                fprintf(stderr, "green: hub has nothing to run and the main green thread is not waiting\n");
                abort();
            }
        }
        green_thread *next = pick_next(h);
        if (next != NULL)
            switch_away(h, &h->hub_ctx, next);
    }
}

/* ---- the call stack (green__call_deep) ---- */

static void call_main(void *arg)
{
    green__hub *h = arg;
    for (;;) {
        uint64_t switches = h->stats.switches;
        h->call_fn(h->call_arg);
        /* A call that blocked or yielded was switched away from: its caller's
         * saved registers (where the call returns) were overwritten. */
        GREEN_ASSERT(h->stats.switches == switches);
        h->call_fn = NULL;
        green__switch_code(&h->call_ctx, green__ctx_of(h->current), 0);
    }
}

static __attribute__((noinline, cold)) int call_stack_make(green__hub *h)
{
    if (green_stack_new(&h->hub_stacks, &h->call_stack) != 0)
        return -1;
    if (green_ctx_make(&h->call_ctx, h->call_stack->base, h->call_stack->size, call_main, h) != 0) {
        green_stack_free(&h->hub_stacks, h->call_stack);
        h->call_stack = NULL;
        return -1;
    }
    return 0;
}

void green__call_deep(void (*fn)(void *arg), void *arg)
{
    green__hub *h = green__tls_hub;
    if (h == NULL || h->current == &h->main || (h->call_stack == NULL && call_stack_make(h) != 0)) {
        fn(arg);
        return;
    }
    /* A call in progress here is one that blocked: its stack is still in use. */
    GREEN_ASSERT(h->call_fn == NULL);
    h->call_fn = fn;
    h->call_arg = arg;
    /* The thread waits in its own context, as when it parks. */
    green__switch_code(green__ctx_of(h->current), &h->call_ctx, 0);
}

void (*green__loop_wake_hook)(green__hub *h);

static void on_loop_wake(green_loop *loop, void *data)
{
    (void)loop;
    green__dns_deliver(data);
    if (green__loop_wake_hook != NULL)
        green__loop_wake_hook(data);
}

/* ---- init / fini ---- */

/* GREEN_STACKS: "private", "copy" (one shared stack) or "copy:K", or unset
 * (private). 0, or -1 for any other value. */
int green__stacks_from_env(green_options *o)
{
    const char *v = getenv("GREEN_STACKS");
    if (v == NULL || v[0] == '\0' || strcmp(v, "private") == 0) {
        o->stacks = GREEN_STACKS_PRIVATE;
        return 0;
    }
    if (strncmp(v, "copy", 4) != 0)
        return -1;
    o->stacks = GREEN_STACKS_COPY;
    if (v[4] == '\0')
        return 0;
    char *end;
    unsigned long k = v[4] == ':' && v[5] >= '0' && v[5] <= '9' ? strtoul(v + 5, &end, 10) : 0;
    if (k == 0 || k > 65536 || *end != '\0')
        return -1;
    if (o->shared_stacks == 0)
        o->shared_stacks = (unsigned)k;
    return 0;
}

/* o's stack mode settled: the options', else GREEN_STACKS's; copy mode
 * with one shared stack unless told more. 0, or -1 for a bad mode. */
static int stack_mode(green_options *o)
{
    if (o->stacks == GREEN_STACKS_DEFAULT && green__stacks_from_env(o) != 0)
        return -1;
    if (o->stacks != GREEN_STACKS_PRIVATE && o->stacks != GREEN_STACKS_COPY)
        return -1;
    if (o->stacks == GREEN_STACKS_COPY && o->shared_stacks == 0)
        o->shared_stacks = 1;
    return 0;
}

/* GREEN_RESOLVER, as gevent's GEVENT_RESOLVER: "thread", "ares", or unset
 * (thread). 0, or -1 for any other value. */
static int resolver_from_env(green_resolver *out)
{
    const char *v = getenv("GREEN_RESOLVER");
    if (v == NULL || v[0] == '\0' || strcmp(v, "thread") == 0)
        *out = GREEN_RESOLVER_THREAD;
    else if (strcmp(v, "ares") == 0)
        *out = GREEN_RESOLVER_ARES;
    else
        return -1;
    return 0;
}

_Static_assert(sizeof(green__wait) <= 4096,
               "a stack of GREEN_STACK_MAX_SIZE and its wait record fit a pool");

/* o with its defaults filled in, from the environment where it says so,
 * and checked: 0, GREEN_EINVAL or GREEN_ENOMEM. */
static int settle_options(green_options *o)
{
    if (o->stack_size != 0 && (o->stack_size < GREEN_CTX_MIN_STACK || o->stack_size > GREEN_STACK_MAX_SIZE))
        return GREEN_EINVAL;
    if (o->stack_cache == 0)
        o->stack_cache = DEFAULT_STACK_CACHE;
    if (o->dns_threads == 0)
        o->dns_threads = DEFAULT_DNS_THREADS;
    if (o->resolver == GREEN_RESOLVER_DEFAULT && resolver_from_env(&o->resolver) != 0)
        return GREEN_EINVAL;
    if (stack_mode(o) != 0)
        return GREEN_EINVAL;
    if (o->dns_servers == NULL && o->resolver == GREEN_RESOLVER_ARES) {
        o->dns_servers = getenv("GREEN_DNS_SERVERS");
        if (o->dns_servers != NULL && o->dns_servers[0] == '\0')
            o->dns_servers = NULL; /* Set empty: as if unset, as shells clear it. */
    }
    if ((o->resolver != GREEN_RESOLVER_THREAD && o->resolver != GREEN_RESOLVER_ARES) ||
        (o->dns_servers != NULL && o->resolver != GREEN_RESOLVER_ARES))
        return GREEN_EINVAL; /* The C library asks /etc/resolv.conf's servers only. */
    return o->dns_servers != NULL ? green__ares_check_servers(o->dns_servers) : 0;
}

/* For the overflow handler (green_stack_set_running_query): the stack the
 * running green thread's code is on, its own or the call stack; not the
 * main thread's (the OS thread's, not one of ours). Reads only. */
static int running_stack(uintptr_t *lo, uintptr_t *hi)
{
    green__hub *h = green__tls_hub;
    if (h == NULL || h->current == NULL || (h->current->flags & GREEN__MAIN))
        return 0;
    const green_stack *s = h->call_fn != NULL ? h->call_stack : h->current->stack;
    if (s == NULL)
        return 0;
    *lo = (uintptr_t)s->base;
    *hi = *lo + s->size;
    return 1;
}

int green_init(const green_options *opts)
{
    if (green__tls_hub != NULL)
        return GREEN_EALREADY;
    green_options o = { 0 };
    if (opts != NULL)
        o = *opts;
    int err = settle_options(&o);
    if (err != 0)
        return err;

    green__hub *h = calloc(1, sizeof *h);
    if (h == NULL)
        return GREEN_ENOMEM;
    h->resolver = o.resolver;
    if (o.dns_servers != NULL && (h->dns_servers = strdup(o.dns_servers)) == NULL) {
        free(h);
        return GREEN_ENOMEM;
    }
    size_t frames = o.stack_size != 0 ? o.stack_size : GREEN_STACK_DEFAULT_SIZE;
    err = green_stack_pool_init(&h->stacks, frames + sizeof(green__wait), o.stack_cache);
    if (err != 0)
        goto fail_stacks;
    green_stack_set_running_query(running_stack);
    err = green_stack_pool_init(&h->hub_stacks, HUB_STACK_SIZE, 0);
    if (err != 0)
        goto fail_hub_stacks;
    err = green_stack_new(&h->hub_stacks, &h->hub_stack);
    if (err != 0)
        goto fail_hub_stack;
    err = green_loop_new(&h->loop, on_loop_wake, h);
    if (err != 0)
        goto fail_loop;
    err = green_ctx_make(&h->hub_ctx, h->hub_stack->base, h->hub_stack->size, hub_main, h);
    if (err != 0)
        goto fail_ctx;
    err = pthread_mutex_init(&h->dns_lock, NULL);
    if (err != 0) {
        err = -err;
        goto fail_ctx;
    }
    h->main.state = GREEN__RUNNING;
    h->main.flags = GREEN__MAIN | GREEN__HANDLE;
    h->main.stack = green_stack_of_ctx(&h->main_top.ctx);   /* See green__ctx_of. */
    h->current = &h->main;
    if (o.stacks == GREEN_STACKS_COPY) {
        err = green__copy_init(h, o.shared_stacks, trampoline);
        if (err != 0)
            goto fail_copy;
    }
    h->budget = GREEN__CHECK_EVERY;
    long page = sysconf(_SC_PAGESIZE);
    h->stats.stack_size = (frames + (size_t)page - 1) / (size_t)page * (size_t)page;
    green__dns_hub_added(o.dns_threads);
    green__tls_hub = h;
    return 0;

fail_copy:
    pthread_mutex_destroy(&h->dns_lock);
fail_ctx:
    green_loop_free(h->loop);
fail_loop:
    green_stack_free(&h->hub_stacks, h->hub_stack);
fail_hub_stack:
    green_stack_pool_close(&h->hub_stacks);
fail_hub_stacks:
    green_stack_pool_close(&h->stacks);
fail_stacks:
    free(h->dns_servers);
    free(h);
    return err;
}

int green_fini(void)
{
    green__hub *h = green__tls_hub;
    if (h == NULL)
        return GREEN_EINVAL;
    if (h->current != &h->main)
        return GREEN_EPERM;
    /* Kill whatever is still alive and let it run to its end; what they
     * spawn from now on is born killed (green__spawn). */
    h->finishing = 1;
    for (green__slab_chunk *c = h->chunks; c != NULL; c = c->next) {
        green_thread *slot = (green_thread *)c;
        size_t used = c->bytes / sizeof *slot - (c == h->chunks ? h->carve_left : 0);
        for (size_t i = 1; i < used; i++) {
            green_thread *g = &slot[i];
            if (g->state != GREEN__FREE && g->state != GREEN__ENDED)
                green_kill(g);
        }
    }
    while (h->stats.alive > 0 || h->dns_pending > 0) {
        if (green__park(h) == GREEN_EDEADLK) {
            fprintf(stderr, "green: green_fini: %zu green threads could not be ended\n", h->stats.alive);
            break;
        }
    }
    h->finishing = 0;
    free_zombie(h);
    GREEN_ASSERT(h->current == &h->main);
    green__ares_hub_fini(h);
    green__copy_fini(h);

    green__dns_hub_removed();
    pthread_mutex_lock(&h->dns_lock);       /* A worker may still be in green_loop_wake. */
    pthread_mutex_unlock(&h->dns_lock);
    pthread_mutex_destroy(&h->dns_lock);
    green_loop_free(h->loop);
    if (h->call_stack != NULL)
        green_stack_free(&h->hub_stacks, h->call_stack);
    green_stack_free(&h->hub_stacks, h->hub_stack);
    green_stack_pool_close(&h->hub_stacks);
    green_stack_pool_close(&h->stacks);
    slab_release_all(h);
    green__tls_hub = NULL;
    free(h->dns_servers);
    free(h);
    return 0;
}

int green_stats_get(green_stats *out)
{
    green__hub *h = green__tls_hub;
    if (h == NULL || out == NULL)
        return GREEN_EINVAL;
    *out = h->stats;
    /* A zombie is as good as free; copy mode's zombie is no stack. */
    out->stacks_live = h->stacks.live - (h->zombie != NULL && h->nshared == 0);
    out->stacks_cached = h->stacks.cached;
    out->images_cached = h->images_cached;
    return 0;
}

/* ---- green threads ---- */

/* The last start found no stack: see whether one can be had now, so that
 * spawn reports the shortage rather than join. 0 or GREEN_ENOMEM. */
static __attribute__((noinline, cold)) int recheck_stacks(green__hub *h)
{
    green_stack *s;
    if (h->stacks.free_list == NULL) {
        if (green_stack_new(&h->stacks, &s) != 0)
            return GREEN_ENOMEM;
        green_stack_free(&h->stacks, s);
    }
    h->stacks_exhausted = 0;
    return 0;
}

static __attribute__((noinline, cold)) int no_record(green__hub *h)
{
    fprintf(stderr, "green: green_spawn: out of memory for green thread records (%zu alive)\n",
            h->stats.alive);
    return GREEN_ENOMEM;
}

int green__spawn(green__hub *h, green_thread **out, green_fn *fn, void *arg, green_pool *pool)
{
    if (GREEN_UNLIKELY(h->stacks_exhausted) && recheck_stacks(h) != 0)
        return GREEN_ENOMEM;
    green_thread *g = thread_alloc(h);
    if (GREEN_UNLIKELY(g == NULL))
        return no_record(h);
    g->fn = fn;
    g->arg = arg;
    g->stack = NULL;
    g->joiners.head = g->joiners.tail = NULL;
    g->pool = pool;
    g->wake = 0;
    g->state = GREEN__NEW;
    /* Spawned while green_fini ends the others: killed, so it never runs. */
    g->flags = (out != NULL ? GREEN__HANDLE : 0) | (h->finishing ? GREEN__KILLED : 0);
    green__runq_push(h, g);
    h->stats.spawned++;
    if (++h->stats.alive > h->stats.peak_alive)
        h->stats.peak_alive = h->stats.alive;
    if (out != NULL)
        *out = g;
    return 0;
}

int green_spawn(green_thread **out, green_fn *fn, void *arg)
{
    green__hub *h = green__tls_hub;
    if (h == NULL || fn == NULL)
        return GREEN_EINVAL;
    return green__spawn(h, out, fn, arg, NULL);
}

green_thread *green_current(void)
{
    green__hub *h = green__tls_hub;
    return h != NULL ? h->current : NULL;
}

bool green_ended(const green_thread *g)
{
    return g != NULL && g->state == GREEN__ENDED;
}

/* Wait until g has ended: 0, or why not. g stays valid, even if its handle
 * is released meanwhile, until the caller has read it and called
 * free_if_unreferenced. */
static int join_wait(green__hub *h, green_thread *g, double timeout)
{
    if (g->state == GREEN__ENDED)
        return 0;
    int code = green__wait_in(h, &g->joiners, green__waiter_get(h), timeout);
    /* A kill that came first wins, though g may have ended since. */
    if (code != GREEN_ECANCELED && g->state == GREEN__ENDED)
        return 0;
    return code != 0 ? code : GREEN_ETIMEDOUT;
}

int green_join(green_thread *g, double timeout, void **result)
{
    green__hub *h = green__tls_hub;
    if (h == NULL || g == NULL)
        return GREEN_EINVAL;
    if (g == h->current)
        return GREEN_EDEADLK;
    if (green__killed(h))
        return GREEN_ECANCELED;
    int err = join_wait(h, g, timeout);
    if (err == 0) {
        if (result != NULL)
            *result = g->arg;
        err = g->wake;
    }
    free_if_unreferenced(h, g);
    return err;
}

int green_joinall(green_thread *const *gs, size_t n, double timeout)
{
    green__hub *h = green__tls_hub;
    if (h == NULL || (gs == NULL && n > 0))
        return GREEN_EINVAL;
    for (size_t i = 0; i < n; i++)
        if (gs[i] == NULL || gs[i] == h->current)
            return gs[i] == NULL ? GREEN_EINVAL : GREEN_EDEADLK;
    if (green__killed(h))
        return GREEN_ECANCELED;
    /* Counted as they are passed: once the deadline is gone, the others
     * are only looked at (a wait of 0 does not park). */
    green__deadline d = { .timeout = timeout };
    size_t ended = 0;
    int err = 0;
    for (size_t i = 0; i < n && (err == 0 || err == GREEN_ETIMEDOUT); i++) {
        err = gs[i]->state == GREEN__ENDED ? 0 : join_wait(h, gs[i], green__time_left(&d));
        ended += err == 0;
    }
    /* Freed once every entry has been read: an entry may come twice, and
     * its first join must not free what the second reads (the second call
     * finds it GREEN__FREE; nothing runs in between to reuse it). */
    for (size_t i = 0; i < n; i++)
        free_if_unreferenced(h, gs[i]);
    if (err != 0 && err != GREEN_ETIMEDOUT)
        return err;
    return (int)(ended > INT32_MAX ? INT32_MAX : ended);
}

int green_kill(green_thread *g)
{
    green__hub *h = green__tls_hub;
    if (h == NULL || g == NULL)
        return GREEN_EINVAL;
    if (g->state == GREEN__ENDED)
        return 0;
    g->flags |= GREEN__KILLED;
    stop_fd_watch(h, g);
    green__wake(h, g, GREEN_ECANCELED);
    return 0;
}

void green_release(green_thread *g)
{
    green__hub *h = green__tls_hub;
    if (h == NULL || g == NULL || (g->flags & GREEN__MAIN))
        return;
    if (GREEN_UNLIKELY(!(g->flags & GREEN__HANDLE))) {
        fprintf(stderr, "green: green_release: handle %p released twice\n", (void *)g);
        abort();
    }
    g->flags &= (uint8_t)~GREEN__HANDLE;
    free_if_unreferenced(h, g);
}

static __attribute__((noinline)) int yield_slow(green__hub *h, green_thread *g);

/* Aligned: where its fast path falls across cache lines decides a quarter
 * of a yield's time (4.8 ns at a line's start, 6.8 at 32 bytes past one). */
__attribute__((aligned(64))) int green_yield(void)
{
    green__hub *h = green__tls_hub;
    if (GREEN_UNLIKELY(h == NULL))
        return GREEN_EINVAL;
    green_thread *g = h->current;
    green_thread *next = h->runq_head;
    if (GREEN_LIKELY(next != NULL && next->state == GREEN__RUNNABLE && h->budget != 0 &&
                     h->zombie == NULL && !(g->flags & GREEN__KILLED))) {
        /* The common case, kept free of calls: rotate the queue (pop before
         * push, so the new head does not wait on the store of the tail's
         * link) and switch. */
        green_thread *after = next->next;
        h->budget--;
        if (GREEN_UNLIKELY(next == h->batch_last))
            h->batch_last = NULL;
        g->state = GREEN__RUNNABLE;
        g->wake = GREEN__YIELDED;
        g->next = NULL;
        if (after == NULL) {
            h->runq_head = g;
        } else {
            h->runq_head = after;
            h->runq_tail->next = g;
        }
        h->runq_tail = g;
        return switch_away(h, green__ctx_of(g), next);
    }
    return yield_slow(h, g);
}

static int yield_slow(green__hub *h, green_thread *g)
{
    if (green__killed(h))
        return GREEN_ECANCELED;
    if (h->runq_head == NULL) {
        h->budget = 0;          /* Alone: let the loop be polled once. */
        h->poll_now = 1;
    }
    g->state = GREEN__RUNNABLE;
    g->wake = GREEN__YIELDED;
    green__runq_push(h, g);
    green_thread *next = pick_next(h);
    if (next == g) {            /* It was the only runnable one. */
        g->state = GREEN__RUNNING;
        return 0;
    }
    return switch_away(h, green__ctx_of(g), next);
}

int green_sleep(double seconds)
{
    green__hub *h = green__tls_hub;
    if (h == NULL)
        return GREEN_EINVAL;
    if (isnan(seconds))
        return GREEN_EINVAL;
    if (seconds == 0)
        return green_yield();
    int code = green__block(h, seconds);
    return code == GREEN_ETIMEDOUT ? 0 : code;
}
