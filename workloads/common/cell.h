/* workloads/common/cell.h: what one cell (one measurement) is, and what every
 * workload variant implements. The cell protocol itself (options in, one JSON
 * line out) is in docs/cell-protocol.md; cell.c is its only writer. */
#ifndef GREEN_CELL_H
#define GREEN_CELL_H

#include "catalog.h"

#include <stdbool.h>
#include <stdint.h>

/* Parameters of one cell; -1 means "not given". A workload replaces each
 * value it uses but was not given with the default it chose, so that the JSON
 * line records what was measured, not what was typed. */
typedef struct cell_params {
    const char *workload;
    const char *impl;           /* "green" or "threads". */
    const char *switch_name;    /* Context backend asked for, or NULL. */
    const char *loop_name;      /* Loop backend asked for, or NULL. */
    long long n;
    long long concurrency;
    long long delay_ms;
    long long size;
    long long stack_kib;
    long long cpus;             /* CPUs the cell may use (affinity), after --cpus. */
    long long keepalive;        /* 1: a task or worker reuses its connection (joinall, pool). */
    long long tls;              /* 1: https, verified against cacert (joinall, pool). */
    long long ares;             /* 1: names resolved with c-ares, 0: with getaddrinfo (dns). */
    const char *cacert;         /* --cacert: the CAs to verify with; NULL: the system's store. */
    long long hubs;             /* Green: hubs, one OS thread and CPU each (spawn, joinall, pool). */
    long long rounds;           /* --rounds: main() runs the workload this many times (default 1). */
    const char *stacks;         /* Green: "private" or "copy:K" (green_options.stacks); NULL: not
                                   given, or does not apply. */
    long long live_bytes;       /* switch, yield: bytes each side keeps live across a switch. */
    const char *url;
} cell_params;

/* What a workload fills in. Counters left at -1 are not applicable and are
 * not written. The workload calls cell_measure_begin/end around the timed part. */
typedef struct cell_result {
    bool ok;
    char error[512];
    const char *switch_used;    /* Backend names actually used, NULL where none. */
    const char *loop_used;
    long long ops;              /* Operations in the timed part: ns_per_op = wall_ns / ops. */
    long long wall_ns;
    long long cpu_ns;           /* User + system time of the timed part. */
    long long tasks_completed;
    long long bytes_received;
    long long errors;
    long long max_in_flight;
    long long connections; /* TCP connections opened in the timed part (joinall, pool). */
    long long rss_per_task_bytes;
    long long os_threads; /* Under libgreen-preload.so: the process's OS threads at the end of
                             the timed part (/proc/self/status); -1: not under it. */
    const char *floor; /* switch: the floor timed beside it (floor.h), or NULL. */
    long long floor_wall_ns; /* The floor's time for the same ops; -1: none. */
    long long cold_wall_ns; /* spawn: its first pass (same ops), timed; -1: none. */
    const char *note;           /* Free text for the report ("in batches of 4096", ...). */
    bool usage_error;           /* The failure is the caller's (exit 2), not the run's (exit 1). */
    /* Private to cell_measure_begin/end. */
    long long t0_wall_ns, t0_cpu_ns;
} cell_result;

typedef int (*workload_fn)(cell_params *p, cell_result *r);

typedef struct workload {
    enum workload_id id;        /* Its row in catalog.def. */
    const char *impl;           /* "green", "threads" or a peer's name. */
    workload_fn run;
    const char *summary;        /* One line for --help. */
} workload;

/* Each cell program defines its table, ending with one whose run is NULL. */
extern const workload cell_workloads[];

/* The name of a workload, from its catalog row. */
const char *workload_name(enum workload_id id);

/* The backends a cell program was built with (green_workloads.c), or NULL for
 * both in the thread program (thread_workloads.c). main() refuses a --switch
 * or --loop that names another one. */
const char *cell_built_switch(void);
const char *cell_built_loop(void);

void cell_measure_begin(cell_result *r);
void cell_measure_end(cell_result *r);

/* Mark the cell failed with a printf-style message; returns -1 for `return cell_fail(...)`. */
int cell_fail(cell_result *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The same for a mistake in the options (--n=0, a bad --url): exit status 2. */
int cell_usage_error(cell_result *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* --n, or dflt when it was not given. --n=0 is a usage error, "--n=0: "
 * followed by `needs` (what needs at least one of what). Returns 0 or -1. */
int cell_take_n(cell_params *p, cell_result *r, long long dflt, const char *needs);

/* Pin the calling thread to the index-th CPU the cell may use (wrapping). */
int cell_pin_thread(int index);

/* The CPU for a local server the cell starts: the last one the process was
 * allowed before --cpus narrowed it (a child inherits the narrowed set, so
 * it cannot find this one by itself). */
int cell_server_cpu(void);

long long cell_now_ns(void);

#endif /* GREEN_CELL_H */
