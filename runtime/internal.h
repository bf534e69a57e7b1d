/* runtime/internal.h: what the files of libgreen share: the hub, the green
 * thread record, wait queues and the scheduler's entry points. Not installed;
 * nothing outside runtime/ includes it. The runtime names no backend: it
 * calls context.h and loop.h, and the linker supplies one of each. */
#ifndef GREEN_INTERNAL_H
#define GREEN_INTERNAL_H

#include "green.h"

#include "context.h"
#include "loop.h"

#include <math.h>
#include <pthread.h>
#include <stdint.h>

/* ---- assertions: on in every build ---- */

_Noreturn void green__assert_fail(const char *expr, const char *file, int line);

#define GREEN_ASSERT(expr)                                       \
    do {                                                         \
        if (__builtin_expect(!(expr), 0))                        \
            green__assert_fail(#expr, __FILE__, __LINE__);       \
    } while (0)

#define GREEN_LIKELY(x) __builtin_expect(!!(x), 1)
#define GREEN_UNLIKELY(x) __builtin_expect(!!(x), 0)

/* ---- wait queues ----
 * A waiter lives in the waiting green thread's wait record (below), never on
 * its stack, which copy mode may move while it waits. Whoever wakes it
 * unlinks it first (so q == NULL tells it was taken); a waiter woken by
 * something else (timeout, kill) unlinks itself when it runs again. */
typedef struct green__waiter green__waiter;
typedef struct green__waitq {
    green__waiter *head, *tail;
} green__waitq;

struct green__waiter {
    green__waiter *next, *prev;
    green__waitq *q;            /* The queue it is linked in; NULL once taken. */
    green_thread *g;
    void *item;                 /* Queue hand-over slot. */
};

void green__waitq_push(green__waitq *q, green__waiter *w);
void green__waitq_remove(green__waiter *w);          /* No-op if not linked. */
green__waiter *green__waitq_pop(green__waitq *q);    /* NULL if empty. */
struct green__hub;
green__waiter *green__waitq_pop_parked(green__waitq *q);
void green__waitq_wake_all(struct green__hub *h, green__waitq *q, int code);
/* Park the running green thread in q with waiter w, its own (from
 * green__waiter_get; the caller fills w->item if it hands something over),
 * until woken, up to timeout (0: fail at once with GREEN_ETIMEDOUT).
 * Returns what green__block returns. */
int green__wait_in(struct green__hub *h, green__waitq *q, green__waiter *w, double timeout);

/* ---- green threads ---- */

enum green__state {
    GREEN__NEW,         /* Spawned, in the run queue, no stack yet. */
    GREEN__RUNNABLE,    /* In the run queue, has a stack. */
    GREEN__RUNNING,
    GREEN__WAITING,     /* Parked; a green__wake makes it runnable. */
    GREEN__ENDED,       /* Returned (or never ran); stack given back. */
    GREEN__FREE         /* Slot back in the allocator. */
};

enum {
    GREEN__KILLED = 1,      /* green_kill was called: blocking calls fail. */
    GREEN__HANDLE = 2,      /* A handle is out (green_release not yet called). */
    GREEN__MAIN = 4         /* The hub's main green thread, on the OS stack. */
};

/* ---- the wait record ----
 * What the hub, the loop and other green threads reach of a waiting thread:
 * its waiter, its timeout timer and its fd watcher (a thread waits for one
 * thing at a time, with one deadline). It sits right below the thread's
 * green_ctx: in its private stack's top bytes, beside the context slot
 * (green__ctx_of), or in its copy record (copy.c); the main thread's in the
 * hub. Never on the stack itself, which copy mode moves. */
typedef struct green__wait {
    green__waiter waiter;
    green_thread *g;            /* Its thread, for the callbacks. */
    int revents;                /* What the fd watcher reported. */
    green_loop_timer timer;
    green_loop_io io;
} __attribute__((aligned(16))) green__wait;

/* 64 bytes, one cache line: a million not-yet-run green threads cost 64 MB.
 * Its saved registers (a green_ctx) live in its stack's context slot, in the
 * page the stack touches anyway, not here (green_stack_ctx, context.h). One
 * load fewer per switch, the saved stack pointer kept here instead made a
 * hub yield slower, not faster: 5.1 against 4.5 ns (asm-nofpu, this
 * project's machines, 12 alternating runs, hot code cache-line aligned). */
struct green_thread {
    green_thread *next;         /* Run queue / allocator free list. */
    green_fn *fn;
    void *arg;                  /* The argument; its result once ended. */
    green_stack *stack;         /* Held from first run to end; NULL otherwise. */
    green__waitq joiners;       /* Green threads in green_join on it. */
    green_pool *pool;           /* The pool it counts against, or NULL. */
    int32_t wake;               /* Why it was woken (0 or GREEN_E*); its end
                                   status once ended (0, GREEN_ENOMEM). */
    uint8_t state;              /* enum green__state */
    uint8_t flags;              /* GREEN__KILLED | GREEN__HANDLE | GREEN__MAIN */
};

/* ---- the hub: one per OS thread ---- */

typedef struct green__slab_chunk green__slab_chunk;
typedef struct green__dns_req green__dns_req;

typedef struct green__hub {
    /* Scheduler, hot. */
    green_thread *current;      /* Running green thread; NULL while the hub runs. */
    green_thread *runq_head, *runq_tail;
    green_thread *batch_last;   /* The last thread queued when the loop was last
                                   polled, until it resumes; NULL after. */
    unsigned budget;            /* Resumptions left before the clock is checked. */
    int poll_now;               /* Poll the loop at the next scheduling decision. */
    double last_poll;           /* green_now() after the loop's last poll. */
    green_stack *zombie;        /* Stack of a thread that ended and left it;
                                   freed by the next scheduling decision. */
    green_stack_pool stacks;
    green_loop *loop;
    green_ctx hub_ctx;          /* The hub's own context (runs the loop). */
    struct {                    /* As at a stack's top (green__wait_of). */
        green__wait wait;
        green_ctx ctx;          /* The OS thread's stack. */
    } main_top;
    green_thread main;

    /* Allocator of green_thread records. */
    green_thread *free_threads;
    green_thread *carve_next;
    size_t carve_left;
    green__slab_chunk *chunks;
    size_t next_chunk_bytes;

    green_stack_pool hub_stacks;
    green_stack *hub_stack;
    int stacks_exhausted;       /* A stack could not be mapped. */
    int finishing;              /* green_fini is waiting for the others. */

    /* DNS answers from worker threads. */
    pthread_mutex_t dns_lock;
    green__dns_req *dns_done;   /* Answered, not yet handed over; under dns_lock. */
    size_t dns_pending;         /* Submitted and not yet handed over. */
    /* The resolver green_getaddrinfo uses: GREEN_RESOLVER_THREAD (above) or
     * _ARES, with its servers ("IP[:PORT],..."; NULL: resolv.conf's) and its
     * channel, made at the first lookup (ares.c). */
    green_resolver resolver;
    char *dns_servers;
    struct green__ares *ares;

    /* Copy mode (copy.c); nshared == 0 in private mode. */
    unsigned nshared, next_shared;
    struct green__shared *shared;       /* The nshared shared stacks. */
    struct green__copy *free_copies;    /* Copy records of ended threads. */
    size_t images_cached;               /* How many of them keep an image buffer. */
    void (*entry)(void *g);             /* What a new green thread runs first. */
    green_stack *copier_stack;
    green_ctx copier_ctx;               /* Saves one image, restores another. */

    /* The call stack (green__call_deep), made at its first use. */
    green_stack *call_stack;
    green_ctx call_ctx;                 /* Runs call_fn(call_arg), then switches back. */
    void (*call_fn)(void *arg);         /* The call in progress; NULL: none. */
    void *call_arg;

    green_stats stats;
} green__hub;

extern _Thread_local green__hub *green__tls_hub;

static inline green__hub *green__hub_get(void)
{
    return green__tls_hub;
}

/* Where g's registers are saved while it does not run: its stack's context
 * slot (context.h). The main thread's `stack` is green_stack_of_ctx of
 * h->main_top.ctx, and in copy mode a thread's is a header in its copy
 * record, so one load serves all. */
static inline green_ctx *green__ctx_of(green_thread *g)
{
    return green_stack_ctx(g->stack);
}

/* g's wait record: right below its context (see green__wait). */
static inline green__wait *green__wait_of(green_thread *g)
{
    return (green__wait *)green__ctx_of(g) - 1;
}

/* The running thread's waiter, cleared, for green__wait_in. */
static inline green__waiter *green__waiter_get(green__hub *h)
{
    green__wait *w = green__wait_of(h->current);
    w->waiter = (green__waiter){ .g = h->current };
    return &w->waiter;
}

/* Switch from `from` to `to`, handing `to` the int `code` as what its
 * blocking call returns, and return the code this context is resumed with.
 * In a plain build this calls green__ctx_jump itself, declared to return
 * int: green_ctx_switch returns void *, and converting its result to int
 * after the call keeps compilers from making the switch a tail call, which
 * the scheduler needs (see hub.c). Same symbol, same ABI: the value travels
 * in rax and the int is its low half. With AddressSanitizer the annotated
 * green_ctx_switch is used instead. */
#ifdef GREEN_CTX_ASAN
static inline int green__switch_code(green_ctx *from, green_ctx *to, int code)
{
    return (int)(intptr_t)green_ctx_switch(from, to, (void *)(intptr_t)code);
}
#else
int green__ctx_jump_int(green_ctx *from, void *to_sp, intptr_t code) __asm__("green__ctx_jump");

static inline int green__switch_code(green_ctx *from, green_ctx *to, int code)
{
    return green__ctx_jump_int(from, to->sp, code);
}
#endif

/* What a resumed thread's blocking call returns: its wake code, or for a
 * yield (wake == GREEN__YIELDED), whether it was killed meanwhile. */
#define GREEN__YIELDED 1

static inline int green__resume_value(green_thread *g)
{
    int code = g->wake;
    if (code == GREEN__YIELDED)
        code = (g->flags & GREEN__KILLED) ? GREEN_ECANCELED : 0;
    return code;
}

/* Run fn(arg) on the hub's call stack instead of the running green
 * thread's, as Go runs cgo calls on the system stack: for deep library calls
 * that never block (OpenSSL's, in tls.c), so that a green thread's stack
 * holds only its own frames and stays small. fn must neither block nor
 * yield, nor make such a call itself: all three abort. On the main thread,
 * or where the call stack cannot be mapped, fn runs where it is. */
void green__call_deep(void (*fn)(void *arg), void *arg);

/* ---- copy stacks (copy.c) ---- */

/* o->stacks (and o->shared_stacks, for "copy:K" when 0) from GREEN_STACKS,
 * as green_init reads it (hub.c): 0, or -1 when it is not "private",
 * "copy", "copy:K" (K from 1 to 65536), empty or unset. */
int green__stacks_from_env(green_options *o);

/* Set up k shared stacks and the copier; entry is what a new green thread
 * runs first (the hub's trampoline). 0 or GREEN_ENOMEM. */
int green__copy_init(green__hub *h, unsigned k, void (*entry)(void *g));
void green__copy_fini(green__hub *h);
/* Give NEW thread g a copy record on one of the shared stacks: it starts
 * when first switched to. 0 or GREEN_ENOMEM. */
int green__copy_start(green__hub *h, green_thread *g);
/* g's copy record, given its `stack` (an ended thread's): back to the free
 * list. Only from off its shared stack, as a zombie's stack is freed. */
void green__copy_release(green__hub *h, green_stack *hdr);

/* Append g to the run queue (FIFO). */
static inline void green__runq_push(green__hub *h, green_thread *g)
{
    g->next = NULL;
    if (h->runq_tail != NULL)
        h->runq_tail->next = g;
    else
        h->runq_head = g;
    h->runq_tail = g;
}

/* Make g runnable with wake code `code`, if it is parked; otherwise nothing
 * (it was already woken, by a timeout say, and keeps that code). */
static inline void green__wake(green__hub *h, green_thread *g, int code)
{
    if (g->state != GREEN__WAITING)
        return;
    g->state = GREEN__RUNNABLE;
    g->wake = code;
    green__runq_push(h, g);
}

/* Was the running green thread killed? Every call that may block checks
 * this first, whether or not it would have to wait (the kill is sticky). */
static inline int green__killed(const green__hub *h)
{
    return GREEN_UNLIKELY(h->current->flags & GREEN__KILLED);
}

/* green_fini waits (on the main thread) for the last green thread and the
 * last DNS answer: wake it when both are gone. */
static inline void green__wake_finisher(green__hub *h)
{
    if (GREEN_UNLIKELY(h->finishing) && h->stats.alive == 0 && h->dns_pending == 0)
        green__wake(h, &h->main, 0);
}

/* A timeout that means "no limit": negative, NaN or infinite. */
static inline int green__unlimited(double timeout)
{
    return timeout < 0 || isnan(timeout) || isinf(timeout);
}

/* One deadline for a call that may wait several times (a joinall, a send
 * in parts), computed at its first wait only, so calls that never wait
 * never read the clock. */
typedef struct green__deadline {
    double timeout;             /* As given. */
    double at;                  /* green_now() + timeout, once computed. */
    int started;
} green__deadline;

/* Seconds left for the next wait: GREEN_FOREVER, or >= 0. */
static inline double green__time_left(green__deadline *d)
{
    if (green__unlimited(d->timeout))
        return GREEN_FOREVER;
    if (!d->started) {
        d->started = 1;
        d->at = green_now() + d->timeout;
        return d->timeout;
    }
    double left = d->at - green_now();
    return left > 0 ? left : 0;
}

/* Park the running green thread until something wakes it, up to timeout
 * seconds (negative: no limit; the caller handles 0 itself). Fails at once
 * with GREEN_ECANCELED if it was killed. Returns the wake code: 0 or what the
 * waker said, GREEN_ETIMEDOUT, GREEN_ECANCELED, GREEN_EDEADLK. The caller
 * registers itself with whatever will wake it before, and unregisters after. */
int green__block(green__hub *h, double timeout);

/* Park without a timer and without the kill check (green_fini). */
int green__park(green__hub *h);

/* Spawn, optionally counted against a pool (which has room reserved). */
int green__spawn(green__hub *h, green_thread **out, green_fn *fn, void *arg, green_pool *pool);

/* A green thread of pool p ended: free its place (pool.c). */
void green__pool_task_ended(green__hub *h, green_pool *p);

/* Park until the socket fd is ready for events (GREEN_READ / GREEN_WRITE),
 * the deadline passes or the thread is killed, as the cooperative I/O calls
 * do (io.c; tls.c waits through it too). Returns the ready events (> 0),
 * GREEN_ETIMEDOUT, GREEN_ECANCELED, GREEN_EDEADLK or a loop error. */
int green__wait_socket(green__hub *h, int fd, int events, green__deadline *d);

/* After a non-blocking connect(2) on fd gave EINPROGRESS (io.c; the
 * preload's connect too): 1 when the connection is made already, 0 when
 * it is still being made (wait until writable), -1 when it failed
 * (SO_ERROR says why). */
int green__connect_state(int fd);

/* green_getaddrinfo through c-ares, in h's loop (ares.c); and the end of
 * h's channel, by green_fini once every green thread has ended. */
typedef struct green__ares green__ares;
int green__ares_getaddrinfo(green__hub *h, const char *node, const char *service,
                            const struct addrinfo *hints, struct addrinfo **res);
void green__ares_hub_fini(green__hub *h);
/* Is servers a list c-ares takes ("IP[:PORT],..."): 0, GREEN_EINVAL or
 * GREEN_ENOMEM (green_init checks it before any lookup needs it). */
int green__ares_check_servers(const char *servers);

/* The names a hosts file (path) may give, read again when it changes
 * (hosts.c): may_name is 0 only when name is surely not in it for family
 * (AF_INET, AF_INET6, or AF_UNSPEC for either): a line whose address has a
 * colon counts as IPv6's, any other as IPv4's. */
typedef struct green__hosts green__hosts;
green__hosts *green__hosts_new(const char *path);
int green__hosts_may_name(green__hosts *h, const char *name, int family, double now);
void green__hosts_free(green__hosts *h);
/* Sort an answer of two addresses or more by RFC 6724, as the C library
 * does (addrsort.c): 0 or GREEN_ENOMEM (list unchanged). */
struct addrinfo;
int green__addrsort(struct addrinfo **list);
/* getaddrinfo(3) of a numeric or absent node, which the C library answers
 * without asking anyone (AI_NUMERICHOST added): 0 or a GREEN_EAI_* code. */
int green__getaddrinfo_numeric(const char *node, const char *service, const struct addrinfo *hints,
                               struct addrinfo **res);

/* Called on the hub's thread when worker threads have posted answers (dns.c). */
void green__dns_deliver(green__hub *h);
/* Called after green__dns_deliver on each wake of a hub's loop, when set:
 * the preload's signals (preload_signals.c); NULL in libgreen itself. */
extern void (*green__loop_wake_hook)(green__hub *h);
/* Register / unregister a hub with the resolver's thread pool (dns.c). */
void green__dns_hub_added(unsigned max_threads);
void green__dns_hub_removed(void);

/* When green threads keep one another busy, the scheduler reads the clock
 * every GREEN__CHECK_EVERY resumptions and polls the loop (without blocking)
 * if GREEN__POLL_INTERVAL seconds have passed since the last poll and every
 * thread that was queued at that poll has run since: I/O and timers wait
 * about that long, or until the threads ahead of them in the queue have had
 * their turn (which a poll could not change: the queue is FIFO), and the poll
 * (a system call, some microseconds here) costs little per resumption.
 * Polling again before the last poll's threads have run would only report
 * their sockets again and make libev unregister them (an epoll_ctl each). */
#define GREEN__CHECK_EVERY 128u
#define GREEN__POLL_INTERVAL 200e-6

#endif /* GREEN_INTERNAL_H */
