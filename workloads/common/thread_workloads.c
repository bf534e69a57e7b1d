/* workloads/common/thread_workloads.c: the workloads of greenbench-cell-threads,
 * the pthread baselines: the threads variant of every row of catalog.def. */
#include "cell.h"

#include <stddef.h>

#define WORKLOAD(id, name, green, threads, ...) int id##_threads(cell_params *p, cell_result *r);
#include "catalog.def"
#undef WORKLOAD

const workload cell_workloads[] = {
#define WORKLOAD(id, name, green, threads, ...) { WL_##id, "threads", id##_threads, threads },
#include "catalog.def"
#undef WORKLOAD
    { .run = NULL },
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
