/* backends/loop/loop.h: the event-loop backend contract.
 * Implemented by libev.c and libuv.c beside it.
 *
 * Selection is at link time, as for the context backends (context.h): every
 * backend file defines the same green_loop_* symbols, CMake builds one static
 * library per backend (green_loop_<name>), and each program links exactly one.
 * No function pointer sits between the hub and the loop library.
 *
 * What the hub needs and nothing more: a one-shot wait for an fd to become
 * readable or writable, a one-shot timer, a wake-up from another thread, and
 * one iteration of the loop, blocking or not. A loop belongs to one thread:
 * every function but green_loop_wake is called from that thread only.
 *
 * Watchers live in memory the caller owns (a green thread's stack, usually):
 * green_loop_io and green_loop_timer are opaque, fixed-size storage that each
 * backend lays its own state into (checked there with _Static_assert). A
 * watcher must be stopped, or have fired, before its memory is reused.
 * Callbacks run inside green_loop_run only, on the loop's thread; they may
 * start and stop watchers but must not call green_loop_run or green_loop_free.
 *
 * Adding a backend: one file here defining every function below, plus one
 * green_add_loop_backend() line in CMakeLists.txt. */
#ifndef GREEN_LOOP_H
#define GREEN_LOOP_H

#include <stddef.h>

typedef struct green_loop green_loop;   /* Opaque, defined by the backend. */

/* Called on the loop's thread, inside green_loop_run, some time after one or
 * more green_loop_wake calls (several wakes may be merged into one call). */
typedef void green_loop_wake_cb(green_loop *loop, void *data);

/* Make a loop. wake_cb(loop, data) is what green_loop_wake leads to; it may
 * be NULL. Returns 0, -ENOMEM, or the library's error as a negative errno. */
int green_loop_new(green_loop **out, green_loop_wake_cb *wake_cb, void *data);

/* Free the loop. Every watcher must be stopped (or have fired). */
void green_loop_free(green_loop *loop);

/* Backend name written into every result: "libev", "libuv". */
const char *green_loop_name(void);

/* ---- one-shot fd waits ---- */

/* GREEN_LOOP_POLLABLE: see green_loop_io_start. */
enum { GREEN_LOOP_READ = 1, GREEN_LOOP_WRITE = 2, GREEN_LOOP_POLLABLE = 4 };

#define GREEN_LOOP_WATCHER_SIZE 64

typedef struct green_loop_io {
    union {
        void *align_ptr;
        double align_double;
        unsigned char bytes[GREEN_LOOP_WATCHER_SIZE];
    } opaque;
} green_loop_io;

/* revents: the GREEN_LOOP_* events that are ready, a subset of those asked
 * for. An error or hang-up condition on the fd reports every event asked for,
 * also when it comes with data still to read, so that the caller's next
 * system call reports the error itself. */
typedef void green_loop_io_cb(green_loop_io *io, int revents);

/* Call cb(io, revents) once, when fd becomes ready for any of events
 * (GREEN_LOOP_READ and/or GREEN_LOOP_WRITE); the watcher is stopped before
 * the call. Several watchers may wait on one fd, for the same events or not.
 * fd may be any open fd, and must stay open until the watcher fires or is
 * stopped (libev aborts on a closed one; the runtime checks user-given fds
 * first); once no watcher waits on it, it may be closed and its number
 * reused by any kind of file. An fd that epoll cannot watch (a regular file
 * or directory, /dev/null, /dev/zero: those poll(2) reports always ready)
 * is reported ready for every event asked, at the next green_loop_run.
 * GREEN_LOOP_POLLABLE in events is the caller's word that fd is none of
 * those (a socket, or an fd that poll(2) has just found not ready); it spares
 * the backend a check of its own (libuv: a poll(2) when no watcher is on the
 * fd number). Said of an fd that epoll refuses, libuv aborts. Returns 0,
 * -EINVAL (no events, fd < 0), -ENOMEM, or the library's error for this fd as
 * a negative errno (-EBADF: not open). Does not block. */
int green_loop_io_start(green_loop *loop, green_loop_io *io, int fd, int events, green_loop_io_cb *cb);

/* Stop io if it is waiting; nothing happens if it has fired or was stopped.
 * io must have been started once (its storage is not initialised before). */
void green_loop_io_stop(green_loop *loop, green_loop_io *io);

/* ---- one-shot timers ---- */

typedef struct green_loop_timer {
    union {
        void *align_ptr;
        double align_double;
        unsigned char bytes[GREEN_LOOP_WATCHER_SIZE];
    } opaque;
} green_loop_timer;

typedef void green_loop_timer_cb(green_loop_timer *t);

/* Call cb(t) once, after at least `after` seconds (>= 0) counted from now,
 * the real time of this call (not the loop's cached time); the timer is
 * stopped before the call. Late if the loop is busy, never early, never lost.
 * Timers due at the same iteration fire in the order of their deadlines.
 * Any finite `after` is valid: one longer than the library can count
 * (libuv: 2^64 ms) is held at the longest it can, which no program outlives.
 * Returns 0, -EINVAL (after < 0, infinite or not a number) or -ENOMEM. */
int green_loop_timer_start(green_loop *loop, green_loop_timer *t, double after, green_loop_timer_cb *cb);

/* Stop t if it is pending; nothing happens if it has fired or was stopped.
 * t must have been started once (its storage is not initialised before). */
void green_loop_timer_stop(green_loop *loop, green_loop_timer *t);

/* ---- the loop ---- */

/* Thread-safe: from any thread, make the loop's thread run wake_cb soon,
 * waking it from a blocking green_loop_run. */
void green_loop_wake(green_loop *loop);

/* While on (the default is off), a blocking green_loop_run waits for a wake
 * even when no watcher is active, and the loop counts as alive: the hub turns
 * it on while answers from other threads are outstanding. */
void green_loop_keepalive(green_loop *loop, int on);

/* Run one iteration: poll the fds (waiting, if block is non-zero, until at
 * least one watcher fires, a timer is due or a wake arrives; not at all
 * otherwise) and run the callbacks that are due. A blocking call with no
 * active watcher and keepalive off returns at once. Returns 1 if watchers
 * are still active (or keepalive is on) afterwards, 0 if none is. */
int green_loop_run(green_loop *loop, int block);

#endif /* GREEN_LOOP_H */
