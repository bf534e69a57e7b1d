/* workloads/dns/threads.c: the dns workload, thread side: K threads each
 * take the next of N names and resolve it with getaddrinfo(3), which asks
 * /etc/resolv.conf's servers on port 53 (the harness runs the cell in a
 * network namespace of its own where that is the local greenbench-dns).
 * K >= N: one thread per name, all at once. ns_per_op is wall / N. */
#include "cell.h"
#include "lookup.h"
#include "threads_common.h"

#include <netdb.h>
#include <stdlib.h>
#include <sys/socket.h>

/* getaddrinfo's frames: the C library's resolver puts its query and answer
 * buffers on the stack (alloca). */
#define MIN_STACK_KIB 64

/* Run `tasks` threads of lookup_task with the attributes attr. */
static int create_tasks(lookup_pass *pass, long long tasks, void *attr, cell_result *r)
{
    pthread_t *threads = calloc((size_t)tasks, sizeof *threads);
    if (threads == NULL)
        return cell_fail(r, "out of memory for %lld threads", tasks);
    long long created;
    int err = 0;
    for (created = 0; created < tasks; created++)
        if ((err = pthread_create(&threads[created], attr, lookup_task, pass)) != 0)
            break;
    for (long long i = 0; i < created; i++)
        pthread_join(threads[i], NULL);
    free(threads);
    return err != 0 ? threads_create_failed(r, err, created) : 0;
}

int dns_threads(cell_params *p, cell_result *r)
{
    threads_ignore_hubs(p);
    lookup_setup s;
    if (p->ares == 1)
        return cell_usage_error(r, "--ares=1: threads resolve with getaddrinfo only");
    if (lookup_setup_init(&s, p, r, true) != 0 || threads_check_room(s.tasks, "dns's threads", r) != 0)
        return -1;
    pthread_attr_t attr;
    if (threads_attr_init(&attr, p, r, MIN_STACK_KIB) != 0)
        return -1;
    static const lookup_resolver how = { getaddrinfo, gai_strerror };
    int rc = lookup_measure(&s, &how, create_tasks, &attr, r);
    pthread_attr_destroy(&attr);
    r->note = "resolver: getaddrinfo(3), one call per thread at a time";
    return rc;
}
