/* workloads/common/threads_common.h: what the thread variants share: thread
 * attributes from --stack-kib, and creating threads with an error that names
 * the limit that stopped them. */
#ifndef GREEN_THREADS_COMMON_H
#define GREEN_THREADS_COMMON_H

#include "cell.h"

#include <pthread.h>

/* Initialise attr with --stack-kib (at least min_kib: what the thread's own
 * frames need), or with the C library's default stack size when it was not
 * given; p->stack_kib is set to the size used. Returns 0 or -1 with r failed. */
int threads_attr_init(pthread_attr_t *attr, cell_params *p, cell_result *r, long long min_kib);

/* Check that `want` threads can be alive at once; -1 with r failed, naming
 * the limit (kernel.pid_max, kernel.threads-max, RLIMIT_NPROC,
 * vm.max_map_count), if not. what: the workload's words for the need. */
int threads_check_room(long long want, const char *what, cell_result *r);

/* pthread_create failed with err after `created` threads: fail r saying why. */
int threads_create_failed(cell_result *r, int err, long long created);

/* --hubs is green's: a thread variant says on stderr that it ignores it (once
 * per process) and leaves p->hubs not given (null in the JSON line). */
void threads_ignore_hubs(cell_params *p);

/* switch and yield make their two threads with the C library's default
 * stacks: a --stack-kib is noted on stderr once and reported as null. */
void threads_ignore_stack_size(cell_params *p);

#endif /* GREEN_THREADS_COMMON_H */
