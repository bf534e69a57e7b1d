/* workloads/common/green_common.h: what the green variants share: starting and
 * ending the hub with --stack-kib (cell.c records the backends' names),
 * running a workload on --hubs hubs, and the fetch task of joinall and
 * pool. */
#ifndef GREEN_GREEN_COMMON_H
#define GREEN_GREEN_COMMON_H

#include "cell.h"

#include "green.h"

#include <pthread.h>
#include <stdbool.h>

/* green_init with --stack-kib (default: libgreen's), the stack size used
 * into p->stack_kib. Returns 0 or -1 with r failed. */
int green_common_init(cell_params *p, cell_result *r);
/* The same with options of the workload's own (its stack_size from
 * --stack-kib, as above). */
int green_common_init_with(cell_params *p, cell_result *r, const green_options *opts);

/* green_fini; a failure fails r (if it had not failed already). */
void green_common_fini(cell_result *r);

/* For a workload that runs one hub (or none): --hubs above 1 is a usage
 * error ("--hubs=2: switch runs one hub"). Returns 0 or -1 with r failed. */
int green_common_one_hub(const cell_params *p, cell_result *r);

/* ---- hubs (--hubs=H): one OS thread and one CPU each ----
 *
 * A workload that splits its N tasks (and a pool's K) between hubs gives
 * green_hubs_run a warm-up and a timed part per hub. With H = 1 both run in
 * the calling thread, the timed part between cell_measure_begin and _end,
 * as they always have. With H > 1 each hub is a pthread pinned to the i-th
 * CPU the cell may use (cell_pin_thread), with its own green_init; the
 * timed part runs from a start barrier (every hub initialised and warmed
 * up) until the last hub is done: wall_ns from the first hub's
 * green_hub_begin to the last one's green_hub_end, cpu_ns the whole
 * process's over the same stretch. */

typedef struct green_hub green_hub;

typedef struct green_hub_ops {
    /* Untimed, after green_init: 0, or -1 with h->r failed. NULL: none. */
    int (*warm)(green_hub *h);
    /* The timed part, between green_hub_begin and green_hub_end: 0, or -1
     * with h->r failed. */
    int (*run)(green_hub *h);
    /* After every hub's timed part, before green_fini: closing what the run
     * kept open. NULL: nothing. */
    void (*after)(green_hub *h);
} green_hub_ops;

struct green_hub {
    int index, count;           /* This hub, of how many. */
    cell_params *p;             /* Its parameters: the cell's own with one hub, a copy with more. */
    cell_result *r;             /* Where it fails: the cell's result with one hub, its own with more. */
    long long first, n;         /* Its share of the tasks: [first, first + n). */
    long long k;                /* Its share of k (a pool's size). */
    void *work;                 /* The workload's, shared by all hubs. */
    long long ran, peak;        /* The workload's counters (tasks run, most in flight at once), */
    size_t pool_peak;           /* summed or checked by the caller. */
    /* Private to green_hubs_run. */
    long long begin_ns, end_ns;
    cell_params own_p;
    cell_result own_r;
    pthread_t thread;
    bool inited;
    struct green_hubs_sync *sync;
};

/* Mark the start and the end of this hub's timed part (in its run). */
void green_hub_begin(green_hub *h);
void green_hub_end(green_hub *h);

/* Run ops on p->hubs hubs (p->hubs must be >= 1; checked against p->cpus
 * by green_common_hubs_check), the n tasks and k split between them: n / H
 * each and the remainder one each to the first hubs, likewise k. Fills
 * p->stack_kib, and r's wall_ns and cpu_ns; r fails with the first hub's
 * failure. *hubs_out gets the H hubs (free() them) for the counters, also
 * after a failure (NULL if they could not be allocated). Returns 0 or -1
 * with r failed. */
int green_hubs_run(cell_params *p, cell_result *r, long long n, long long k, const green_hub_ops *ops,
                   void *work, green_hub **hubs_out);

/* --hubs for spawn, joinall and pool: 1 when not given; more than the CPUs
 * the cell may use (--cpus) is a usage error. Returns 0 or -1 with r failed. */
int green_common_hubs_check(cell_params *p, cell_result *r);

/* ---- the fetch task of joinall and pool ---- */

/* How green_fetch_main treats connections. */
enum green_fetch_keep {
    /* A new connection per request, closed after (--keepalive=0). */
    GREEN_FETCH_CLOSE,
    /* joinall --keepalive=1: the task's own, left open in its fetch_task. */
    GREEN_FETCH_KEEP_OWN,
    /* pool --keepalive=1: taken from the hub's free list and given back. */
    GREEN_FETCH_KEEP_SHARED
};

/* The green thread of joinall and pool: one fetch of green_fetch.target into
 * its fetch_task, counting how many are in flight. Per hub (thread-local):
 * each hub sets it up before its green threads run. */
struct http_target;
struct http_io;
struct http_conn;
extern _Thread_local struct green_fetch_state {
    const struct http_target *target;
    const struct http_io *io;   /* http_io_green, or http_io_green_tls (--tls=1). */
    long long in_flight, peak;
    enum green_fetch_keep keep;
    /* GREEN_FETCH_KEEP_SHARED: the idle connections, in the caller's array
     * of at least the pool's size (one per green thread alive at most). */
    struct http_conn *free_conns;
    size_t nfree;
} green_fetch;
void *green_fetch_main(void *task);

/* The green variants' http_io for http:// and https:// (fetch.h). */
struct fetch_flavour;
extern const struct fetch_flavour green_fetch_flavour;

/* Close the idle connections of the free list, and empty it. */
void green_fetch_close_free(void);

/* A bound on a join whose green threads are bounded themselves: seconds. */
#define GREEN_JOIN_BOUND_S 600.0

#endif /* GREEN_GREEN_COMMON_H */
