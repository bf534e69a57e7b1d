/* workloads/common/green_workloads.c: the workloads of the green cell programs
 * (greenbench-cell-<switch>-<loop>): the green variant of every row of
 * catalog.def. */
#include "cell.h"

#include "green.h"

#include <stddef.h>

#define WORKLOAD(id, name, green, threads, ...) int id##_green(cell_params *p, cell_result *r);
#include "catalog.def"
#undef WORKLOAD

const workload cell_workloads[] = {
#define WORKLOAD(id, name, green, threads, ...) { WL_##id, "green", id##_green, green },
#include "catalog.def"
#undef WORKLOAD
    { .run = NULL },
};

const char *cell_built_switch(void)
{
    return green_backend_context();
}

const char *cell_built_loop(void)
{
    return green_backend_loop();
}
