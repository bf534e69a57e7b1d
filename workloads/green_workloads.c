/* workloads/green_workloads.c: the workloads of the green cell programs
 * (greenbench-cell-<switch>-<loop>). A new workload is one line here. */
#include "cell.h"

#include <stddef.h>

int switch_green(const cell_params *p, cell_result *r);

const workload cell_workloads[] = {
    { "switch", "green", switch_green, "two contexts ping-pong --n round trips (raw backend switch, no hub)" },
    { NULL, NULL, NULL, NULL },
};
