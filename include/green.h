/* include/green.h: libgreen, gevent's green threads in C.
 *
 * One hub per OS thread: the thread that calls green_init() becomes a green
 * thread itself (gevent's main greenlet), and whenever a green thread blocks
 * the hub runs the others, or the event loop until one of them can go on.
 * Everything here is bound to the thread that called green_init(): handles,
 * pools, events, semaphores and queues are used from that thread's green
 * threads only. Nothing checks it: killing or joining another hub's thread,
 * or setting an event another hub's thread waits on, runs that thread on
 * the wrong OS thread, and the hubs abort ("hub has nothing to run").
 *
 * Conventions, for every function below:
 *  - Errors: a fallible function returns 0 (or a count, an fd, a byte count)
 *    on success and a negative GREEN_E* code on failure, where
 *    GREEN_EFOO == -EFOO. errno is not used as an error channel (every green
 *    thread of an OS thread shares it). getaddrinfo's errors get their own
 *    range, GREEN_EAI_* in (-3100, -3000], and TLS's theirs, GREEN_ETLS_* in
 *    (-3200, -3100], so they never collide with an errno. green_strerror()
 *    turns any of them into a message.
 *  - Timeouts: a double, in seconds, as in gevent. A negative timeout
 *    (GREEN_FOREVER), NaN or infinity waits without a limit; 0 does not
 *    block: the call checks once and fails with GREEN_ETIMEDOUT if it would
 *    have to wait. A finite timeout longer than the loop can count (libuv:
 *    2^64 ms) waits the longest it can, which no program outlives. (The
 *    exception: green_sleep takes NaN as GREEN_EINVAL.)
 *  - Blocking calls: green_join, green_joinall, green_yield, green_sleep,
 *    green_pool_spawn, green_pool_map, green_pool_join, green_event_wait,
 *    green_sem_acquire, green_queue_put, green_queue_get, green_wait_fd,
 *    green_connect, green_accept, green_read, green_recv, green_write,
 *    green_send, green_getaddrinfo, green_tls_connect, green_tls_accept,
 *    green_tls_read, green_tls_write_all and green_tls_shutdown: the calls
 *    that may park the caller.
 *  - Cancellation: after green_kill(g), every blocking call that g makes, the
 *    one it is blocked in included, fails at once with GREEN_ECANCELED,
 *    whether or not it would have had to wait (a unit there, an item there,
 *    the event set, the thread joined already ended, a timeout of 0). It is
 *    sticky (libdill's rule): g is meant to clean up and return. A call
 *    whose wait was already over when the kill came (its unit, item or event
 *    handed over, the joined thread ended) returns success: nothing handed
 *    to it is lost, and the kill shows at its next blocking call.
 *  - Deadlock: a blocking call of the main green thread that nothing could
 *    ever end (no other green thread runnable, no timer, no fd watched, no
 *    DNS query running) fails with GREEN_EDEADLK, as gevent raises LoopExit.
 *  - Without a hub (before green_init, after green_fini, on another thread)
 *    every call that spawns, kills, joins, blocks or reads the hub returns
 *    GREEN_EINVAL (NULL or 0 where a pointer or a count is returned).
 *    Objects are plain memory and need no hub to be made, freed, set,
 *    cleared, released (a semaphore's unit) or read, as long as no green
 *    thread waits on them (one that does is not woken from outside its
 *    hub's OS thread): the _new and _free
 *    functions, green_event_set / _clear / _is_set, green_sem_release /
 *    _value, green_queue_size, green_pool_running / _peak, green_ended,
 *    and green_init, green_strerror, green_err_name, green_now and the
 *    green_backend_* names.
 *  - Functions that make an object hand it out through a pointer argument
 *    and pair with a _free (or green_release) function. */
#ifndef GREEN_H
#define GREEN_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- errors ---------------------------------------------------------- */

/* X(name, value, message): the one table of libgreen's error codes. */
#define GREEN_ERRNO_MAP(X)                                                         \
    X(E2BIG, -E2BIG, "argument list too long")                                     \
    X(EACCES, -EACCES, "permission denied")                                        \
    X(EADDRINUSE, -EADDRINUSE, "address already in use")                           \
    X(EADDRNOTAVAIL, -EADDRNOTAVAIL, "address not available")                      \
    X(EAFNOSUPPORT, -EAFNOSUPPORT, "address family not supported")                 \
    X(EAGAIN, -EAGAIN, "resource temporarily unavailable")                         \
    X(EALREADY, -EALREADY, "already initialised or already in progress")          \
    X(EBADF, -EBADF, "bad file descriptor")                                        \
    X(EBUSY, -EBUSY, "resource busy")                                              \
    X(ECANCELED, -ECANCELED, "green thread was killed (operation canceled)")      \
    X(ECONNABORTED, -ECONNABORTED, "connection aborted")                           \
    X(ECONNREFUSED, -ECONNREFUSED, "connection refused")                           \
    X(ECONNRESET, -ECONNRESET, "connection reset by peer")                         \
    X(EDEADLK, -EDEADLK, "operation would block forever (deadlock)")              \
    X(EDESTADDRREQ, -EDESTADDRREQ, "destination address required")                 \
    X(EEXIST, -EEXIST, "file exists")                                              \
    X(EFAULT, -EFAULT, "bad address in system call argument")                      \
    X(EHOSTUNREACH, -EHOSTUNREACH, "host is unreachable")                          \
    X(EINPROGRESS, -EINPROGRESS, "operation in progress")                          \
    X(EINTR, -EINTR, "interrupted system call")                                    \
    X(EINVAL, -EINVAL, "invalid argument (or no green_init on this thread)")      \
    X(EIO, -EIO, "i/o error")                                                      \
    X(EISCONN, -EISCONN, "socket is already connected")                            \
    X(EMFILE, -EMFILE, "too many open files")                                      \
    X(EMSGSIZE, -EMSGSIZE, "message too long")                                     \
    X(ENAMETOOLONG, -ENAMETOOLONG, "name too long")                                \
    X(ENETDOWN, -ENETDOWN, "network is down")                                      \
    X(ENETUNREACH, -ENETUNREACH, "network is unreachable")                         \
    X(ENFILE, -ENFILE, "file table overflow")                                      \
    X(ENOBUFS, -ENOBUFS, "no buffer space available")                              \
    X(ENOENT, -ENOENT, "no such file or directory")                                \
    X(ENOMEM, -ENOMEM, "not enough memory (or memory mappings)")                  \
    X(ENOSPC, -ENOSPC, "no space left on device")                                  \
    X(ENOSYS, -ENOSYS, "function not implemented")                                 \
    X(ENOTCONN, -ENOTCONN, "socket is not connected")                              \
    X(ENOTSOCK, -ENOTSOCK, "socket operation on non-socket")                       \
    X(ENOTSUP, -ENOTSUP, "operation not supported")                                \
    X(EOVERFLOW, -EOVERFLOW, "value too large for defined data type")              \
    X(EPERM, -EPERM, "operation not permitted")                                    \
    X(EPIPE, -EPIPE, "broken pipe")                                                \
    X(EPROTO, -EPROTO, "protocol error")                                           \
    X(EPROTONOSUPPORT, -EPROTONOSUPPORT, "protocol not supported")                 \
    X(ERANGE, -ERANGE, "result too large")                                         \
    X(ESRCH, -ESRCH, "no such green thread")                                       \
    X(ETIMEDOUT, -ETIMEDOUT, "timed out")                                          \
    X(EAI_ADDRFAMILY, -3000, "address family for hostname not supported")         \
    X(EAI_AGAIN, -3001, "temporary failure in name resolution")                    \
    X(EAI_BADFLAGS, -3002, "bad ai_flags value")                                   \
    X(EAI_CANCELED, -3003, "name resolution canceled")                             \
    X(EAI_FAIL, -3004, "non-recoverable failure in name resolution")               \
    X(EAI_FAMILY, -3005, "ai_family not supported")                                \
    X(EAI_MEMORY, -3006, "out of memory in name resolution")                       \
    X(EAI_NODATA, -3007, "no address associated with hostname")                    \
    X(EAI_NONAME, -3008, "name or service not known")                              \
    X(EAI_OVERFLOW, -3009, "argument buffer overflow in name resolution")          \
    X(EAI_SERVICE, -3010, "service not available for socket type")                 \
    X(EAI_SOCKTYPE, -3011, "socket type not supported")

/* X(name, value, message): the TLS range (green_tls_*), a table of its own
 * beside GREEN_ERRNO_MAP: every user of that one expands this one too. */
#define GREEN_ETLS_MAP(X)                                                         \
    X(ETLS_VERIFY, -3100, "TLS certificate verification failed")                  \
    X(ETLS_UNKNOWN_CA, -3101, "TLS verification: unknown certificate authority")  \
    X(ETLS_NAME_MISMATCH, -3102, "TLS verification: certificate name mismatch")   \
    X(ETLS_CERT_EXPIRED, -3103, "TLS verification: certificate has expired")      \
    X(ETLS_NOT_YET_VALID, -3104, "TLS verification: certificate not yet valid")   \
    X(ETLS_PROTOCOL, -3105, "TLS protocol error (or an alert from the peer)")     \
    X(ETLS_TRUNCATED, -3106, "TLS: peer closed without close_notify (truncated)") \
    X(ETLS_CONFIG, -3107, "TLS configuration: bad CA, certificate or key")

enum {
#define GREEN_ERR_ENUM(name, value, msg) GREEN_##name = (value),
    GREEN_ERRNO_MAP(GREEN_ERR_ENUM) GREEN_ETLS_MAP(GREEN_ERR_ENUM)
#undef GREEN_ERR_ENUM
};

/* The getaddrinfo range: GREEN_EAI_FIRST >= code > GREEN_EAI_LAST. */
#define GREEN_EAI_FIRST (-3000)
#define GREEN_EAI_LAST (-3100)

/* The TLS range: GREEN_ETLS_FIRST >= code > GREEN_ETLS_LAST. */
#define GREEN_ETLS_FIRST (-3100)
#define GREEN_ETLS_LAST (-3200)

/* A static message for any code: GREEN_E*, GREEN_EAI_*, any negative errno
 * (through strerror) and 0 ("success"). Never NULL. */
const char *green_strerror(int err);

/* The short name of a code ("ETIMEDOUT", "EAI_NONAME"), or "unknown". */
const char *green_err_name(int err);

/* ---- the hub ----------------------------------------------------------- */

/* A negative timeout: wait without a limit. */
#define GREEN_FOREVER (-1.0)

/* The resolvers of green_getaddrinfo, as gevent's (GEVENT_RESOLVER):
 * THREAD: getaddrinfo(3) in a small pool of worker threads, the C library's
 *   answers exactly (nsswitch, /etc/hosts, /etc/resolv.conf);
 * ARES: c-ares in the hub's own loop, no thread: one channel per hub, its
 *   sockets and timer watched by the loop; /etc/hosts, then DNS (an
 *   address literal or a NULL node is answered by the C library, asking no
 *   one, and so are the service and the socket types). c-ares waits 5 s
 *   for a server, then tries 3 times more, doubling (75 s in all when none
 *   answers); RES_OPTIONS="retrans:MS retry:N" in the environment, read at
 *   the hub's first lookup, changes that.
 * DEFAULT: the environment variable GREEN_RESOLVER ("thread" or "ares"),
 *   else THREAD. */
typedef enum green_resolver {
    GREEN_RESOLVER_DEFAULT,
    GREEN_RESOLVER_THREAD,
    GREEN_RESOLVER_ARES
} green_resolver;

/* Where green threads run (green_options.stacks):
 * PRIVATE: each green thread has a stack of its own, from its first run to
 *   its end (stack_size bytes each, mapped, with a guard page). An overflow
 *   that touches the guard page aborts with a message, and so does a frame
 *   larger than a page whose first access faults below the stack; one that
 *   lands in another mapping (the next stack) is not caught unless the code
 *   is built with -fstack-clash-protection (as libgreen is; Debian 12's gcc
 *   does not turn it on by default).
 * COPY: green threads run on shared_stacks shared stacks (assigned in turn as
 *   they start). When one parks, the live part of its stack stays where it
 *   is until another thread needs that shared stack; only then is it copied
 *   into a heap buffer of the parked thread's own (sized to fit, reused),
 *   and copied back when it resumes (greenlet's and libaco's copy stacks).
 *   A parked thread then costs its live bytes, not a stack; a switch
 *   between two threads of one shared stack costs two copies.
 * DEFAULT: the environment variable GREEN_STACKS ("private", "copy" or
 *   "copy:K"), else PRIVATE.
 * The rule of COPY mode: a pointer into a green thread's stack is valid
 * only while that thread runs. Never hand another green thread (or a
 * callback, or another OS thread) a pointer to your locals and block: while
 * you are parked your stack's bytes may live elsewhere, and what the
 * pointer reaches belongs to whichever thread runs on that shared stack now
 * (reads see its data, writes corrupt it). Hand over heap memory instead.
 * The main green thread runs on the OS thread's own stack, which is never
 * shared: pointers to its locals stay valid.
 * Everything libgreen's own blocking calls keep while a thread waits lives
 * off its stack; green_pool_map reads its results from the joined threads'
 * records. tests/test_copy.c (copy_pointer_into_parked_stack) shows what a
 * broken rule looks like. */
typedef enum green_stacks { GREEN_STACKS_DEFAULT, GREEN_STACKS_PRIVATE, GREEN_STACKS_COPY } green_stacks;

/* The largest green_options.stack_size. */
#define GREEN_STACK_MAX_SIZE ((size_t)1 << 30)

typedef struct green_options {
    size_t stack_size;   /* Usable bytes of each green thread's stack, for
                            its frames (its saved context and the stack's
                            header come on top); 0: 64 KiB. Rounded up to
                            whole pages; from 4 KiB to
                            GREEN_STACK_MAX_SIZE, else green_init returns
                            GREEN_EINVAL. */
    size_t stack_cache;  /* Free stacks that keep their pages; past this many,
                            a freed stack's pages go back to the kernel (one
                            madvise each, ~14 us on gVisor). In copy mode,
                            ended threads' image buffers kept for reuse;
                            past this many, they are freed. 0: no limit. */
    unsigned dns_threads; /* Most worker threads of the thread resolver; 0: 4. */
    green_resolver resolver; /* How green_getaddrinfo resolves names (below). */
    const char *dns_servers; /* c-ares only: the servers to ask, "IP[:PORT],..."
                                (IPv6 in brackets when a port follows; PORT 1
                                to 65535; anything else: GREEN_EINVAL); NULL:
                                GREEN_DNS_SERVERS (set empty: as unset), or
                                /etc/resolv.conf's. Copied by green_init. */
    green_stacks stacks;     /* Private or copy stacks (above). */
    unsigned shared_stacks;  /* COPY: how many shared stacks, each of
                                stack_size bytes; 0: 1, or GREEN_STACKS's K
                                when stacks is DEFAULT and GREEN_STACKS
                                says "copy:K". */
} green_options;

/* Make the calling OS thread a hub, with the caller as its main green thread.
 * opts may be NULL (defaults). Returns 0, GREEN_EALREADY (this thread has a
 * hub), GREEN_EINVAL (bad option: a GREEN_RESOLVER other than "thread" or
 * "ares", a GREEN_STACKS other than "private", "copy" or "copy:K",
 * dns_servers with the thread resolver or not a list of servers) or
 * GREEN_ENOMEM. */
int green_init(const green_options *opts);

/* Tear the hub down, from the main green thread. Green threads still alive
 * are killed and run until they return (so their blocking calls fail with
 * GREEN_ECANCELED; one that ignores that and never returns makes this hang);
 * green threads they spawn meanwhile are killed before they ever run;
 * the thread resolver's queries still running are waited for (c-ares's
 * are cancelled). Every handle is invalid
 * afterwards, released or not. Returns 0, GREEN_EINVAL (no hub) or
 * GREEN_EPERM (not called from the main green thread). */
int green_fini(void);

/* Backend names for results files: the context backend ("asm", "asm-nofpu",
 * "ucontext", "boost") and the loop backend ("libev", "libuv") linked in.
 * Both work before green_init. */
const char *green_backend_context(void);
const char *green_backend_loop(void);

/* Monotonic time in seconds (CLOCK_MONOTONIC), for computing timeouts. */
double green_now(void);

/* Counters for benchmarks; all since green_init on this thread. */
typedef struct green_stats {
    uint64_t spawned;        /* Green threads spawned. */
    uint64_t ended;          /* Green threads that returned, or never ran. */
    uint64_t switches;       /* Context switches made by the hub's scheduler. */
    uint64_t polls;          /* Event-loop iterations run. */
    size_t alive;            /* Spawned and not yet ended. */
    size_t peak_alive;       /* The most alive at once. */
    size_t stacks_live;      /* Stacks held by green threads now (COPY: the
                                shared stacks, from green_init on). */
    size_t stacks_peak;      /* The most held at once. */
    size_t stacks_cached;    /* Free stacks mapped and kept for reuse. */
    size_t stack_size;       /* Usable bytes per stack. */
    unsigned shared_stacks;  /* COPY mode: the shared stacks; 0: private mode. */
    uint64_t copies;         /* COPY: stack images copied out or back in. */
    uint64_t bytes_copied;   /* COPY: bytes those copies moved. */
    size_t saved_max;        /* COPY: the largest stack image saved. */
    size_t images_cached;    /* COPY: ended threads' image buffers kept for
                                the next threads (at most stack_cache). */
} green_stats;

/* Fill *out. Returns 0 or GREEN_EINVAL. */
int green_stats_get(green_stats *out);

/* ---- green threads ----------------------------------------------------- */

typedef struct green_thread green_thread;

/* A green thread's body: its return value is what green_join hands back. */
typedef void *green_fn(void *arg);

/* Schedule fn(arg) as a new green thread. It starts at the next hub turn,
 * after the green threads already runnable, in spawn order (FIFO); a stack is
 * taken when it first runs and given back when it ends. *out receives a
 * handle to join, kill and release; out may be NULL for a thread nobody will
 * join. Returns 0, GREEN_EINVAL, or GREEN_ENOMEM when memory or stack
 * mappings have run out (a message naming the limit is printed once). */
int green_spawn(green_thread **out, green_fn *fn, void *arg);

/* The running green thread (the main one included). NULL without a hub. */
green_thread *green_current(void);

/* Wait until g has ended. Returns 0 when it has, with *result (if result is
 * not NULL) set to fn's return value, or NULL if g was killed before it ever
 * ran; GREEN_ENOMEM if g could not start because no stack could be mapped;
 * GREEN_ETIMEDOUT, GREEN_ECANCELED, GREEN_EDEADLK; GREEN_EDEADLK at once when
 * g is the caller itself; GREEN_EINVAL when g is NULL. Does not release g.
 * g stays valid until the join returns, even if another green thread
 * releases the handle meanwhile (the record is freed after the join). */
int green_join(green_thread *g, double timeout, void **result);

/* Wait until all n green threads in gs have ended, or the timeout (one
 * deadline for all). Returns how many of them have ended (n when all have),
 * or GREEN_ECANCELED, GREEN_EDEADLK (the caller itself among gs, as in
 * green_join) or GREEN_EINVAL (a NULL entry). Results stay available to green_join. An entry
 * may come more than once (it counts each time). The entries already
 * waited on, and the one being waited on, stay valid as in green_join
 * until joinall returns; the others must not be released by another green
 * thread until joinall returns. */
int green_joinall(green_thread *const *gs, size_t n, double timeout);

/* True once g has ended: returned, or killed before it ran, which it is
 * after the hub's next turn (green_join waits for that; green_kill alone
 * does not end it at once). */
bool green_ended(const green_thread *g);

/* Cancel g: the blocking call it is in, and every later one, fails with
 * GREEN_ECANCELED; if it has not started yet it never runs. Does not wait
 * (join for that). Killing an ended thread does nothing. Returns 0 or
 * GREEN_EINVAL. */
int green_kill(green_thread *g);

/* Drop the handle. The green thread keeps running if it has not ended; its
 * memory goes when it has ended, been released and no join waits on it.
 * NULL and the main green thread are ignored. Releasing a handle twice is a
 * programming error, as a double free(3) is: it prints the handle and
 * aborts. */
void green_release(green_thread *g);

/* Let every other runnable green thread run once, and poll the loop if the
 * caller is the only one runnable (gevent.sleep(0)). Returns 0 or
 * GREEN_ECANCELED. */
int green_yield(void);

/* Sleep for seconds (0: green_yield; negative: until killed). Returns 0,
 * GREEN_ECANCELED or GREEN_EDEADLK. */
int green_sleep(double seconds);

/* ---- pools (gevent.pool.Pool) ----------------------------------------- */

typedef struct green_pool green_pool;

/* A pool that lets at most k of its green threads exist (spawned and not
 * ended) at once. Returns 0, GREEN_EINVAL (k == 0) or GREEN_ENOMEM. */
int green_pool_new(green_pool **out, size_t k);

/* Free the pool, which must have no green thread alive (GREEN_EBUSY). */
int green_pool_free(green_pool *p);

/* green_spawn through the pool: first waits (as long as it takes) while k of
 * its green threads are alive. A thread that fails or is killed frees its
 * place when it ends. Returns as green_spawn, or GREEN_ECANCELED /
 * GREEN_EDEADLK from the wait. */
int green_pool_spawn(green_pool *p, green_thread **out, green_fn *fn, void *arg);

/* Run fn(args[i]) for i < n through the pool and put its result in
 * results[i], in input order; never more than k at once. Waits for all of
 * them. Returns 0; GREEN_ENOMEM if some could not start (their results are
 * NULL, the others are set) or the handle array could not be allocated; or
 * GREEN_ECANCELED / GREEN_EDEADLK if the caller's wait failed (the tasks it
 * started are then killed and not waited for, and every result is NULL). */
int green_pool_map(green_pool *p, green_fn *fn, void *const *args, void **results, size_t n);

/* Wait until the pool has no green thread alive. Returns 0 (it had none at
 * some moment of the call: another thread may have spawned in it, or freed
 * it, since), GREEN_ETIMEDOUT, GREEN_ECANCELED or GREEN_EDEADLK. */
int green_pool_join(green_pool *p, double timeout);

/* Green threads of the pool alive now, and the most alive at once so far. */
size_t green_pool_running(const green_pool *p);
size_t green_pool_peak(const green_pool *p);

/* ---- synchronisation: they block green threads, never the OS thread --- */

typedef struct green_event green_event;   /* gevent.event.Event */
typedef struct green_sem green_sem;       /* gevent.lock.Semaphore */
typedef struct green_queue green_queue;   /* gevent.queue.Queue(maxsize) */

/* An event, initially clear. Returns 0, GREEN_EINVAL or GREEN_ENOMEM. */
int green_event_new(green_event **out);
/* Free; no green thread may be waiting on it (GREEN_EBUSY). */
int green_event_free(green_event *e);
/* Set it and wake every green thread waiting on it. */
void green_event_set(green_event *e);
/* Clear it; later waits block until the next set. */
void green_event_clear(green_event *e);
bool green_event_is_set(const green_event *e);
/* Return once it is set: 0, GREEN_ETIMEDOUT, GREEN_ECANCELED, GREEN_EDEADLK. */
int green_event_wait(green_event *e, double timeout);

/* A counting semaphore with value initial. Returns 0, GREEN_EINVAL, GREEN_ENOMEM. */
int green_sem_new(green_sem **out, unsigned initial);
/* Free; no green thread may be waiting on it (GREEN_EBUSY). */
int green_sem_free(green_sem *s);
/* Take one unit, waiting while there is none. Waiters are served in FIFO
 * order. Returns 0, GREEN_ETIMEDOUT, GREEN_ECANCELED, GREEN_EDEADLK. */
int green_sem_acquire(green_sem *s, double timeout);
/* Give one unit back: to the longest waiter if there is one. Returns 0,
 * GREEN_EINVAL (s is NULL) or GREEN_EOVERFLOW when the value is UINT_MAX
 * already (as sem_post(3); the value is unchanged). */
int green_sem_release(green_sem *s);
unsigned green_sem_value(const green_sem *s);

/* A FIFO queue of pointers holding at most capacity (>= 1) items.
 * Returns 0, GREEN_EINVAL or GREEN_ENOMEM. */
int green_queue_new(green_queue **out, size_t capacity);
/* Free; no green thread may be waiting on it (GREEN_EBUSY). Items left in it
 * are dropped. */
int green_queue_free(green_queue *q);
/* Append item, waiting while the queue is full. Returns 0, GREEN_ETIMEDOUT,
 * GREEN_ECANCELED, GREEN_EDEADLK. */
int green_queue_put(green_queue *q, void *item, double timeout);
/* Take the oldest item into *item, waiting while the queue is empty.
 * Returns 0, GREEN_ETIMEDOUT, GREEN_ECANCELED, GREEN_EDEADLK. */
int green_queue_get(green_queue *q, void **item, double timeout);
size_t green_queue_size(const green_queue *q);

/* ---- cooperative I/O (gevent.socket) ------------------------------------
 * Each call makes the operation non-blocking (MSG_DONTWAIT on sockets,
 * O_NONBLOCK on other fds), tries it, and on EAGAIN / EINPROGRESS waits for
 * the fd in the hub's loop, other green threads running meanwhile. The
 * timeout covers the whole call. Two green threads may wait on one fd, one
 * to read and one to write; closing an fd that a green thread waits on is an
 * error (gevent's cancel_wait): kill the waiter first. Any open fd may be
 * given: one that epoll cannot watch (regular files, /dev/null, ...) is
 * ready at once, as poll(2) says, on every loop backend. */

enum { GREEN_READ = 1, GREEN_WRITE = 2 };

/* Wait until fd is readable and/or writable (events: GREEN_READ|GREEN_WRITE).
 * Returns the ready events (> 0); an error or hang-up on fd counts as ready
 * for everything asked, also with data still to read, so that the next call
 * reports it. An fd that epoll cannot watch (a regular file or directory,
 * /dev/null, /dev/zero: poll(2) reports them always ready) is ready at once
 * for everything asked. Or GREEN_EBADF (fd is not open), GREEN_EINVAL,
 * GREEN_ETIMEDOUT, GREEN_ECANCELED, GREEN_EDEADLK. */
int green_wait_fd(int fd, int events, double timeout);

/* connect(2): returns 0 once connected, or the connection's error
 * (GREEN_ECONNREFUSED, ...), GREEN_ETIMEDOUT, GREEN_ECANCELED. */
int green_connect(int fd, const struct sockaddr *addr, socklen_t addrlen, double timeout);

/* accept4(2): returns the new fd (non-blocking, close-on-exec) or an error.
 * addr / addrlen may be NULL. */
int green_accept(int fd, struct sockaddr *addr, socklen_t *addrlen, double timeout);

/* read(2) / recv(2): wait until something can be read, then read at most
 * len bytes. Returns the count (0: end of file, the peer closed), or an
 * error. */
ssize_t green_read(int fd, void *buf, size_t len, double timeout);
ssize_t green_recv(int fd, void *buf, size_t len, int flags, double timeout);

/* write(2) / send(2): write all len bytes, waiting as often as needed (like
 * gevent's sendall). Returns len; a count below len when an error, the
 * timeout or a kill stopped it after part was written; or the error when
 * nothing was. green_send adds MSG_NOSIGNAL (a closed peer gives GREEN_EPIPE);
 * green_write on a socket does the same, write(2) on other fds may raise
 * SIGPIPE as usual. */
ssize_t green_write(int fd, const void *buf, size_t len, double timeout);
ssize_t green_send(int fd, const void *buf, size_t len, int flags, double timeout);

/* ---- DNS --------------------------------------------------------------- */

struct addrinfo;

/* getaddrinfo(3) through the hub's resolver (green_options.resolver): the
 * caller waits, other green threads run. Returns 0 with *res to be released
 * with freeaddrinfo(), whichever the resolver; a GREEN_EAI_* code (a name
 * that does not resolve: GREEN_EAI_NONAME; no server answered in time:
 * GREEN_EAI_AGAIN), a negative errno (EAI_SYSTEM), GREEN_ECANCELED (the
 * query is left to finish and its answer dropped), GREEN_ENOMEM or
 * GREEN_EINVAL. Either resolver's answer has the C library's entries:
 * per address, one per socket type (SOCK_STREAM, SOCK_DGRAM, SOCK_RAW, in
 * that order, as the service allows) when hints name none, each with its
 * protocol; ai_canonname, with AI_CANONNAME, on the first. */
int green_getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
                      struct addrinfo **res);

/* The running hub's resolver, for results files: "thread" or "ares"; NULL
 * without a hub. */
const char *green_resolver_name(void);

/* ---- TLS (OpenSSL 3) -----------------------------------------------------
 * TLS over a connected socket, with the cooperative I/O's rules: a
 * handshake, read, write or shutdown that would block waits for the fd in
 * the hub's loop, one deadline covers the whole call, and after green_kill
 * it fails with GREEN_ECANCELED. Green threads never switch inside an
 * OpenSSL call, so OpenSSL's per-OS-thread error queue is never shared
 * between two calls of two green threads. The socket I/O uses
 * MSG_NOSIGNAL | MSG_DONTWAIT: a closed peer never raises SIGPIPE.
 * OpenSSL's calls run on a stack of the hub's, not the green thread's (as
 * Go runs cgo calls on the system stack): on its own stack, a green
 * thread's client handshake overflowed 6 KiB. Its stack holds only its own
 * frames, so TLS works on the smallest stack_size (4 KiB). A connection
 * waiting for its peer gives its record buffers (about 17 KB each way)
 * back to the heap, as Python's ssl module has them do.
 *
 * Errors: besides GREEN_E* (GREEN_ECONNRESET, GREEN_EPIPE, GREEN_ETIMEDOUT,
 * GREEN_ECANCELED, GREEN_ENOMEM, GREEN_EINVAL), GREEN_ETLS_* codes:
 *  - verification failures, one code per common X509 reason:
 *    GREEN_ETLS_UNKNOWN_CA (no chain to a trusted CA, self-signed),
 *    GREEN_ETLS_NAME_MISMATCH (host name or IP address),
 *    GREEN_ETLS_CERT_EXPIRED, GREEN_ETLS_NOT_YET_VALID, and
 *    GREEN_ETLS_VERIFY for every other reason;
 *  - GREEN_ETLS_PROTOCOL: a malformed record, no common version or cipher,
 *    or an alert from the peer (a peer that rejected our certificate);
 *  - GREEN_ETLS_TRUNCATED: the peer closed the connection without
 *    close_notify (never reported as end of file);
 *  - GREEN_ETLS_CONFIG: green_tls_config_new could not use a file.
 * After a failure the connection is unusable and every later call returns
 * the same error, except after a green_tls_read that timed out or was
 * killed (nothing of it is pending: reading again may go on). A write or
 * shutdown that timed out leaves part of a record unsent: free it. */

typedef struct green_tls_config green_tls_config; /* An SSL_CTX. */
typedef struct green_tls green_tls;               /* One TLS connection. */

typedef struct green_tls_options {
    bool server;           /* false: a client configuration; true: a server's. */
    const char *ca_file;   /* PEM file of the CAs to trust. NULL: the system's
                              store (client), no client certificates asked
                              for (server). A server given one requires and
                              verifies a client certificate. */
    const char *cert_file; /* PEM certificate chain, leaf first: required for a
                              server, optional for a client. */
    const char *key_file;  /* PEM private key of cert_file (NULL: in cert_file);
                              not encrypted: there is no passphrase to give
                              (an encrypted one is GREEN_ETLS_CONFIG). */
    bool no_verify;        /* Client: do not verify the server (insecure).
                              Verification is on by default. A ca_file given
                              with it must still be readable. */
} green_tls_options;

/* A configuration (TLS 1.2 or newer), shared by any number of connections.
 * Returns 0, GREEN_EINVAL (o NULL, a server without cert_file),
 * GREEN_ETLS_CONFIG (a file that cannot be read or used, a key that does
 * not match the certificate) or GREEN_ENOMEM. */
int green_tls_config_new(green_tls_config **out, const green_tls_options *o);

/* Free it; connections made from it keep what they need (OpenSSL counts
 * references). NULL is ignored. */
void green_tls_config_free(green_tls_config *c);

/* Client handshake over the connected socket fd. server_name is sent as SNI
 * (unless it is an IP literal) and checked against the server's certificate
 * (DNS name, or IP address for an IP literal); it may be NULL only with
 * no_verify. Returns 0 with *out set, or an error with *out NULL (the fd is
 * left open either way). */
int green_tls_connect(green_tls **out, green_tls_config *c, int fd, const char *server_name,
                      double timeout);

/* Server handshake over the accepted socket fd; as green_tls_connect. A
 * configuration of the other side (a client's here, a server's in
 * green_tls_connect) is GREEN_EINVAL. */
int green_tls_accept(green_tls **out, green_tls_config *c, int fd, double timeout);

/* Read at most len bytes of application data, waiting until some arrive
 * (len 0: returns 0 at once).
 * Returns the count, 0 once the peer sent close_notify (a clean end of
 * file), GREEN_ETLS_TRUNCATED when it closed without one, or an error. */
ssize_t green_tls_read(green_tls *t, void *buf, size_t len, double timeout);

/* Write all len bytes (as green_write): returns len, a count below len when
 * an error, the timeout or a kill stopped it after part was written, or the
 * error when nothing was. */
ssize_t green_tls_write_all(green_tls *t, const void *buf, size_t len, double timeout);

/* Send close_notify and return once it is written (0), or an error. Does not
 * wait for the peer's close_notify: read until 0 for that. Once it has
 * returned 0, a second call returns 0 and does nothing, and a write gives
 * GREEN_EPIPE (reads go on). */
int green_tls_shutdown(green_tls *t, double timeout);

/* Free the connection, which does not close its fd (nor send close_notify).
 * NULL is ignored. */
void green_tls_free(green_tls *t);

#ifdef __cplusplus
}
#endif

#endif /* GREEN_H */
