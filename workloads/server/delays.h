/* workloads/server/delays.h: answers held until they are due, for both
 * local servers (greenbench-server, greenbench-dns): a min-heap by due
 * time and one timerfd, set to the earliest, that wakes the loop. An
 * ev_timer per answer would be simpler, but libev's epoll backend sleeps in
 * whole milliseconds rounded up, and those timers fired 0.7 ms late on
 * average at 10 000 requests per second (server.c); a timerfd has no such
 * rounding. The caller watches timer_fd for reading and, when it is ready,
 * calls delays_timer_fired, takes what delays_next_due gives, then
 * delays_rearm. */
#ifndef GB_SERVER_DELAYS_H
#define GB_SERVER_DELAYS_H

#include <stdbool.h>
#include <stddef.h>

/* Embedded in what is held (a connection, an answer): its due time and
 * its place in the heap. */
typedef struct delay_entry {
    long long due_ns; /* CLOCK_MONOTONIC. */
    size_t slot;
} delay_entry;

typedef struct delays {
    delay_entry **heap;
    size_t len, cap;
    int timer_fd;       /* -1 until delays_init. */
    long long armed_ns; /* What timer_fd is set to; 0 when it has fired or is unset. */
} delays;

/* The timerfd (CLOCK_MONOTONIC, non-blocking): 0, or -errno. */
int delays_init(delays *d);
/* The heap and the timerfd; the entries are the caller's. */
void delays_free(delays *d);

/* Hold e until due_ns. false when out of memory (nothing changed). */
bool delays_add(delays *d, delay_entry *e, long long due_ns);
/* Take e out before it is due. The timerfd may then fire for nothing. */
void delays_remove(delays *d, delay_entry *e);
/* The earliest entry, taken out, if it is due at now_ns; else NULL. */
delay_entry *delays_next_due(delays *d, long long now_ns);
/* The earliest entry, or NULL: left in. */
static inline delay_entry *delays_first(const delays *d)
{
    return d->len > 0 ? d->heap[0] : NULL;
}

/* timer_fd was ready: read its count. */
void delays_timer_fired(delays *d);
/* Set the timerfd for the earliest entry, if any: once, after the due
 * ones were taken. Until then it counts as set to the time that fired, so
 * an entry added meanwhile (never due before it) does not set it: with one
 * delay for all each new entry is the latest, and the timerfd is set once
 * per wake-up, not once per request. */
void delays_rearm(delays *d);

#endif /* GB_SERVER_DELAYS_H */
