/* workloads/thread_workloads.c: the workloads of greenbench-cell-threads,
 * the pthread baselines. A new workload is one line here. */
#include "cell.h"

#include <stddef.h>

int switch_threads(const cell_params *p, cell_result *r);

const workload cell_workloads[] = {
    { "switch", "threads", switch_threads, "two pthreads hand off through a futex --n round trips (--cpus=1 or 2)" },
    { NULL, NULL, NULL, NULL },
};
