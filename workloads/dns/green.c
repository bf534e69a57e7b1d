/* workloads/dns/green.c: the dns workload, green side: K green threads on
 * one hub each take the next of N names and resolve it with
 * green_getaddrinfo, through the hub's resolver: c-ares in the hub's loop
 * (--ares=1, asking the --url's server) or the thread pool's getaddrinfo
 * (--ares=0, asking /etc/resolv.conf's servers). ns_per_op is wall / N,
 * so that 1e9 / ns_per_op is lookups per second. */
#include "cell.h"
#include "green_common.h"
#include "lookup.h"

#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define JOIN_GUARD_S 60.0 /* Each lookup ends within the resolver's timeouts; this is a second guard. */

/* Run `tasks` green threads of lookup_task (g: room for their handles). */
static int spawn_tasks(lookup_pass *pass, long long tasks, void *g_room, cell_result *r)
{
    green_thread **g = g_room;
    long long spawned;
    int err = 0;
    for (spawned = 0; spawned < tasks; spawned++)
        if ((err = green_spawn(&g[spawned], lookup_task, pass)) != 0)
            break;
    int ended = green_joinall(g, (size_t)spawned, JOIN_GUARD_S);
    if (ended >= 0 && ended < spawned) {
        for (long long i = 0; i < spawned; i++)
            green_kill(g[i]);
        green_joinall(g, (size_t)spawned, 10.0);
    }
    for (long long i = 0; i < spawned; i++)
        green_release(g[i]);
    if (err != 0)
        return cell_fail(r, "green_spawn failed after %lld green threads: %s", spawned,
                         green_strerror(err));
    if (ended != (int)spawned)
        return cell_fail(r, "green_joinall: %s", ended < 0 ? green_strerror(ended) : "timed out");
    return 0;
}

int dns_green(cell_params *p, cell_result *r)
{
    lookup_setup s;
    if (green_common_one_hub(p, r) != 0 || lookup_setup_init(&s, p, r, p->ares != 1) != 0)
        return -1;
    green_options opts = { .stack_size = p->stack_kib > 0 ? (size_t)p->stack_kib * 1024 : 0,
                           .resolver = p->ares == 1 ? GREEN_RESOLVER_ARES : GREEN_RESOLVER_THREAD,
                           .dns_servers = p->ares == 1 ? s.server : NULL };
    if (green_common_init_with(p, r, &opts) != 0)
        return -1;
    static const lookup_resolver how = { green_getaddrinfo, green_strerror };
    green_thread **g = calloc((size_t)s.tasks, sizeof *g);
    int rc = g == NULL ? cell_fail(r, "out of memory for %lld green threads", s.tasks)
                       : lookup_measure(&s, &how, spawn_tasks, g, r);
    free(g);
    static char note[96];
    snprintf(note, sizeof note, "resolver: %s",
             p->ares == 1 ? "c-ares in the hub's loop" : "getaddrinfo in libgreen's thread pool");
    r->note = note;
    green_common_fini(r);
    return rc;
}
