/* workloads/joinall/epoll.c: the joinall workload with no runtime at all
 * (greenbench-cell-epoll): all --n GETs of --url started at once from one
 * thread, each on its own non-blocking connection, and driven to their end
 * through one epoll instance (common/epoll_fetch.c). With --keepalive=1 the
 * client asks the server to keep each connection and does not close it
 * after the response (a task makes one request, so nothing reuses it); the
 * connections end with the run. ns_per_op is wall / N, so that
 * 1e9 / ns_per_op is requests per second. */
#include "cell.h"
#include "epoll_fetch.h"

int joinall_epoll(cell_params *p, cell_result *r)
{
    return epoll_fetch_workload(p, r, false);
}
