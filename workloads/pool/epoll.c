/* workloads/pool/epoll.c: the pool workload with no runtime at all
 * (greenbench-cell-epoll): the N GETs of joinall through K connection slots
 * of one thread's epoll loop (common/epoll_fetch.c); a slot whose request
 * ends starts the next, so never more than K are in flight. With
 * --keepalive=1 each slot keeps its connection and sends its next request
 * on it (K connections in all while the server keeps them). ns_per_op is
 * wall / N. */
#include "cell.h"
#include "epoll_fetch.h"

int pool_epoll(cell_params *p, cell_result *r)
{
    return epoll_fetch_workload(p, r, true);
}
