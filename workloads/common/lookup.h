/* workloads/common/lookup.h: what the dns variants share, green and threads
 * alike: the server from --url, the task that resolves and checks names,
 * the tally of lookups, in flight and done, and the warm-up and timed part
 * around the variant's way of running tasks (docs/cell-protocol.md, "dns"). */
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

/* How a variant resolves one name: getaddrinfo(3)'s contract (0, or an
 * error code; freeaddrinfo frees the answer), and the words for an error. */
typedef struct lookup_resolver {
    int (*resolve)(const char *node, const char *service, const struct addrinfo *hints,
                   struct addrinfo **res);
    const char *(*why)(int err);
} lookup_resolver;

/* One pass of lookups, shared by its tasks (atomic counts: the thread
 * variant's tasks are threads), with the first error kept. */
typedef struct lookup_pass {
    long long n;                /* Names to resolve: n0.test ... */
    const lookup_resolver *how;
    atomic_llong next;          /* The next name's index to take. */
    atomic_llong ok, errors;
    atomic_llong in_flight, peak;
    atomic_flag error_kept;     /* first_error is written by whoever sets it. */
    char first_error[256];
} lookup_pass;

/* A task's body, a green thread's or a pthread's: take the next name,
 * resolve and check it, until none is left. arg: the lookup_pass. */
void *lookup_task(void *arg);

/* Run `tasks` tasks of lookup_task over pass and wait for them all; 0, or
 * -1 with r failed. ctx: the variant's own. */
typedef int lookup_run_fn(lookup_pass *pass, long long tasks, void *ctx, cell_result *r);

/* The warm-up (LOOKUP_WARMUP names, checked) and the timed pass of all N,
 * each run by run: ops, the counts and memory per lookup in flight into r;
 * the first failed lookup fails r. Returns 0 or -1. */
int lookup_measure(const lookup_setup *s, const lookup_resolver *how, lookup_run_fn *run, void *ctx,
                   cell_result *r);

#endif /* GREEN_LOOKUP_H */
