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

typedef struct dns_pass {
    lookup_tally tally;
    long long n;
} dns_pass;

static void *resolve_names(void *arg)
{
    dns_pass *pass = arg;
    const struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_STREAM };
    long long i;
    while (lookup_take(&pass->tally, pass->n, &i)) {
        char name[32];
        lookup_name(i, name, sizeof name);
        struct addrinfo *ai = NULL;
        lookup_enter(&pass->tally);
        int err = getaddrinfo(name, NULL, &hints, &ai);
        lookup_leave(&pass->tally);
        lookup_count(&pass->tally, name, err, err ? gai_strerror(err) : NULL, ai);
        if (err == 0)
            freeaddrinfo(ai);
    }
    return NULL;
}

/* Resolve n names with `tasks` threads; 0, or -1 with r failed. */
static int run_pass(dns_pass *pass, long long n, long long tasks, pthread_t *threads,
                    const pthread_attr_t *attr, cell_result *r)
{
    lookup_tally_reset(&pass->tally);
    pass->n = n;
    long long created;
    int err = 0;
    for (created = 0; created < tasks; created++)
        if ((err = pthread_create(&threads[created], attr, resolve_names, pass)) != 0)
            break;
    for (long long i = 0; i < created; i++)
        pthread_join(threads[i], NULL);
    return err != 0 ? threads_create_failed(r, err, created) : 0;
}

static int resolve_timed(const lookup_setup *s, pthread_t *threads, const pthread_attr_t *attr,
                         cell_result *r)
{
    dns_pass warm, timed;
    long long nwarm = s->n < LOOKUP_WARMUP ? s->n : LOOKUP_WARMUP;
    cell_result warm_r = *r;
    if (run_pass(&warm, nwarm, nwarm < s->tasks ? nwarm : s->tasks, threads, attr, r) != 0)
        return -1;
    if (lookup_tally_result(&warm.tally, &warm_r) != 0)
        return cell_fail(r, "warm-up: %s", warm_r.error);
    long long base = lookup_memory_begin();
    cell_measure_begin(r);
    int rc = run_pass(&timed, s->n, s->tasks, threads, attr, r);
    cell_measure_end(r);
    lookup_memory_end(base, s, r);
    r->ops = s->n;
    return rc != 0 ? rc : lookup_tally_result(&timed.tally, r);
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
    pthread_t *threads = calloc((size_t)s.tasks, sizeof *threads);
    int rc = threads == NULL ? cell_fail(r, "out of memory for %lld threads", s.tasks)
                             : resolve_timed(&s, threads, &attr, r);
    free(threads);
    pthread_attr_destroy(&attr);
    r->note = "resolver: getaddrinfo(3), one call per thread at a time";
    return rc;
}
