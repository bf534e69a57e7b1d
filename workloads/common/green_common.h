/* workloads/common/green_common.h: what the green variants share: starting and
 * ending the hub with --stack-kib (cell.c records the backends' names). */
#ifndef GREEN_GREEN_COMMON_H
#define GREEN_GREEN_COMMON_H

#include "cell.h"

#include "green.h"

/* green_init with --stack-kib (default: libgreen's), the stack size used
 * into p->stack_kib. Returns 0 or -1 with r failed. */
int green_common_init(cell_params *p, cell_result *r);

/* green_fini; a failure fails r (if it had not failed already). */
void green_common_fini(cell_result *r);

/* The green thread of joinall and pool: one fetch of green_fetch.target into
 * its fetch_task, counting how many are in flight. */
struct http_target;
extern struct green_fetch_state {
    const struct http_target *target;
    long long in_flight, peak;
} green_fetch;
void *green_fetch_main(void *task);

/* A bound on a join whose green threads are bounded themselves: seconds. */
#define GREEN_JOIN_BOUND_S 600.0

#endif /* GREEN_GREEN_COMMON_H */
