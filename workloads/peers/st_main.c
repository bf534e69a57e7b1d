/* workloads/peers/st_main.c: the State Threads peer, greenbench-peer-st.
 * Built with workloads/common/cell.c as its main(), so that its options and its
 * JSON line are ours to the byte; this file holds its workload table. The
 * workloads are workloads/switch/st.c, workloads/yield/st.c and
 * workloads/spawn/st.c. */
#include "st_peer.h"

#include <st.h>
#include <stddef.h>

int switch_st(cell_params *p, cell_result *r);
int yield_st(cell_params *p, cell_result *r);
int spawn_st(cell_params *p, cell_result *r);
int spawn_alive_st(cell_params *p, cell_result *r);

/* A standard workload this peer does not implement: the protocol makes that
 * a usage error (exit 2). */
static int not_implemented_st(cell_params *p, cell_result *r)
{
    return cell_usage_error(r, "workload %s is not implemented by peer st", p->workload);
}

const workload cell_workloads[] = {
    { WL_switch, "st", switch_st, "two st threads ping-pong --n round trips through two st_cond_t" },
    { WL_yield, "st", yield_st, "two st threads call st_usleep(0) --n times each (ST 1.9 has no yield)" },
    { WL_spawn, "st", spawn_st, "--n trivial joinable st threads: st_thread_create, then st_thread_join" },
    { WL_spawn_alive, "st", spawn_alive_st, "--n st threads alive and blocked on one st_cond_t: memory per thread" },
    { WL_joinall, "st", not_implemented_st, "not implemented by this peer (no HTTP client)" },
    { WL_pool, "st", not_implemented_st, "not implemented by this peer (no HTTP client)" },
    { .run = NULL },
};

/* No backends of ours: cell.c notes and ignores --switch and --loop. */
const char *cell_built_switch(void)
{
    return NULL;
}

const char *cell_built_loop(void)
{
    return NULL;
}

int st_peer_init(cell_params *p, cell_result *r)
{
    static int initialised;
    if (p->stack_kib < 0)
        p->stack_kib = ST_PEER_DEFAULT_STACK_KIB;
    if (p->stack_kib < ST_PEER_MIN_STACK_KIB || p->stack_kib > 1024 * 1024)
        return cell_fail(r, "--stack-kib=%lld: the State Threads peer needs %d KiB to 1 GiB per thread",
                         p->stack_kib, ST_PEER_MIN_STACK_KIB);
    if (!initialised) {
        if (st_init() != 0)
            return cell_fail(r, "st_init failed");
        initialised = 1;
    }
    return (int)(p->stack_kib * 1024);
}
