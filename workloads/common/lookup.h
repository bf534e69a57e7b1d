/* workloads/common/lookup.h: what the dns variants share, green and threads
 * alike: the server from --url, the names, the check of an answer, and
 * the tally of lookups, in flight and done, with the first error kept
 * (docs/cell-protocol.md, "dns"). */
#ifndef GREEN_LOOKUP_H
#define GREEN_LOOKUP_H

#include "cell.h"

#include <stdatomic.h>
#include <stddef.h>

struct addrinfo;

#define LOOKUP_WARMUP 10 /* Untimed lookups before the timed part. */

typedef struct lookup_setup {
    long long n;      /* Names to resolve: n0.test ... n<N-1>.test. */
    long long tasks;  /* Tasks resolving at once: min(N, K). */
    char server[32];  /* "127.0.0.1:PORT", the --url's. */
} lookup_setup;

/* Defaults and checks of the dns options: --n (1000), --concurrency (N),
 * --ares (0), and --url, which must be dns://IPv4:PORT, with port 53 where
 * the implementation resolves through getaddrinfo (uses_resolv_conf): the
 * C library asks /etc/resolv.conf's servers there and nowhere else.
 * Returns 0, or -1 with r failed (a usage error). */
int lookup_setup_init(lookup_setup *s, cell_params *p, cell_result *r, bool uses_resolv_conf);

/* The i-th name, "n<i>.test", into out. */
void lookup_name(long long i, char *out, size_t len);

/* The tally of one pass, shared by the tasks (atomic: the thread variant's
 * tasks are threads). */
typedef struct lookup_tally {
    atomic_llong next;      /* The next name's index to take. */
    atomic_llong ok, errors;
    atomic_llong in_flight, peak;
    atomic_flag error_kept; /* first_error is written by whoever sets it. */
    char first_error[256];
} lookup_tally;

void lookup_tally_reset(lookup_tally *t);
/* Take the next name: its index into *i, false when none is left of n. */
bool lookup_take(lookup_tally *t, long long n, long long *i);
/* Around one lookup: counts it in flight. */
void lookup_enter(lookup_tally *t);
void lookup_leave(lookup_tally *t);
/* Count the answer to name: err 0 with ai checked (at least one address,
 * every one IPv4 in 127.0.0.0/8, as greenbench-dns answers), or the
 * resolver's error, described by why. */
void lookup_count(lookup_tally *t, const char *name, int err, const char *why, const struct addrinfo *ai);

/* The pass's counts into r: tasks_completed, errors and max_in_flight added
 * up; fails r with the first error, and how many there were, if any.
 * Returns 0 or -1. */
int lookup_tally_result(const lookup_tally *t, cell_result *r);

/* Memory per lookup in flight: call begin just before the timed part and
 * end just after; end sets r->rss_per_task_bytes to the growth of the
 * peak resident memory over the tasks at once (0 when it did not grow),
 * or leaves it unset when /proc does not tell. */
long long lookup_memory_begin(void);
void lookup_memory_end(long long base, const lookup_setup *s, cell_result *r);

#endif /* GREEN_LOOKUP_H */
