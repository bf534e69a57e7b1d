/* workloads/green_workloads.c: the workloads of the green cell programs
 * (greenbench-cell-<switch>-<loop>). A new workload is one line here. */
#include "cell.h"

#include "green.h"

#include <stddef.h>

int switch_green(cell_params *p, cell_result *r);
int yield_green(cell_params *p, cell_result *r);
int spawn_green(cell_params *p, cell_result *r);
int spawn_alive_green(cell_params *p, cell_result *r);
int joinall_green(cell_params *p, cell_result *r);
int pool_green(cell_params *p, cell_result *r);

const workload cell_workloads[] = {
    { "switch", "green", switch_green, "two contexts ping-pong --n round trips (raw backend switch, no hub)" },
    { "yield", "green", yield_green, "two green threads green_yield --n times each through the hub's scheduler" },
    { "spawn", "green", spawn_green, "spawn --n trivial green threads, joinall, release" },
    { "spawn-alive", "green", spawn_alive_green, "--n green threads alive and blocked at once; RSS per green thread" },
    { "joinall", "green", joinall_green, "--n green threads each GET --url (new connection each), then joinall" },
    { "pool", "green", pool_green, "--n GETs of --url through a green pool of --concurrency" },
    { NULL, NULL, NULL, NULL },
};

const char *cell_built_switch(void)
{
    return green_backend_context();
}

const char *cell_built_loop(void)
{
    return green_backend_loop();
}
