/* workloads/thread_workloads.c: the workloads of greenbench-cell-threads,
 * the pthread baselines. A new workload is one line here. */
#include "cell.h"

#include <stddef.h>

int switch_threads(cell_params *p, cell_result *r);
int yield_threads(cell_params *p, cell_result *r);
int spawn_threads(cell_params *p, cell_result *r);
int spawn_alive_threads(cell_params *p, cell_result *r);
int joinall_threads(cell_params *p, cell_result *r);
int pool_threads(cell_params *p, cell_result *r);

const workload cell_workloads[] = {
    { "switch", "threads", switch_threads, "two pthreads hand off through a futex --n round trips (--cpus=1 or 2)" },
    { "yield", "threads", yield_threads, "two pthreads pinned to one CPU sched_yield --n times each" },
    { "spawn", "threads", spawn_threads, "pthread_create + pthread_join --n trivial threads (in batches past the machine's limits)" },
    { "spawn-alive", "threads", spawn_alive_threads, "--n threads alive and blocked at once; RSS per thread" },
    { "joinall", "threads", joinall_threads, "one thread per request: --n GETs of --url, new connection each, then join all" },
    { "pool", "threads", pool_threads, "--concurrency worker threads take --n GETs of --url from a queue" },
    { NULL, NULL, NULL, NULL },
};

/* The thread program has no context or loop backend. */
const char *cell_built_switch(void)
{
    return NULL;
}

const char *cell_built_loop(void)
{
    return NULL;
}
