/* workloads/common/epoll_workloads.c: the workloads of greenbench-cell-epoll,
 * --impl=epoll: joinall and pool with no runtime, one thread and one epoll
 * instance (epoll_fetch.h), the ceiling a one-hub runtime can approach; and
 * what both share around the engine. The other rows of catalog.def have no
 * epoll variant. */
#include "cell.h"
#include "epoll_fetch.h"
#include "fetch.h"
#include "http/http_tls.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int joinall_epoll(cell_params *p, cell_result *r);
int pool_epoll(cell_params *p, cell_result *r);

const workload cell_workloads[] = {
    { WL_joinall, "epoll", joinall_epoll,
      "--n GETs of --url at once from one thread: one epoll instance, a state machine per connection" },
    { WL_pool, "epoll", pool_epoll,
      "the same --n GETs through --concurrency connection slots of one epoll loop" },
    { .run = NULL },
};

/* No context or loop backend: --switch and --loop do not apply. */
const char *cell_built_switch(void)
{
    return NULL;
}

const char *cell_built_loop(void)
{
    return NULL;
}

/* An option of the green cells that means nothing here: said on stderr,
 * once per process (not once per round), as cell.c says it of --switch. */
static void not_applicable(const cell_params *p, const char *option, long long value, bool *noted)
{
    if (!*noted)
        fprintf(stderr, "%s: note: --%s=%lld does not apply to --impl=%s (no hub, no stacks); ignored\n",
                program_invocation_name, option, value, p->impl);
    *noted = true;
}

/* The engine drives its sockets itself, and OpenSSL too with --tls=1 (an
 * https target: epoll_fetch_new takes it from s.target); its set-up is the
 * thread variants'. */
static const fetch_flavour epoll_flavour = { .tls_init = http_tls_init, .tls_fini = http_tls_fini };

int epoll_fetch_workload(cell_params *p, cell_result *r, bool pool)
{
    static bool hubs_noted, stack_noted;
    if (p->hubs >= 0) {
        not_applicable(p, "hubs", p->hubs, &hubs_noted);
        p->hubs = -1;
    }
    if (p->stack_kib >= 0) {
        not_applicable(p, "stack-kib", p->stack_kib, &stack_noted);
        p->stack_kib = -1;
    }
    if (p->keepalive < 0)
        p->keepalive = 0;
    fetch_setup s;
    if (fetch_setup_init(&s, p, r, pool, &epoll_flavour) != 0)
        return -1;
    int rc = -1;
    epoll_fetch *e = NULL;
    epoll_fetch_counts counts;
    fetch_task *tasks = calloc((size_t)s.n, sizeof *tasks);
    if (tasks == NULL) {
        cell_fail(r, "out of memory for %lld tasks", s.n);
        goto out;
    }
    int err = epoll_fetch_new(&e, &s.target, s.k, p->keepalive == 1);
    if (err != 0) {
        cell_fail(r, "the epoll engine for %lld connections: %s", s.k, strerror(-err));
        goto out;
    }

    /* Warm-up: a few requests the same way, untimed; its connections end
     * with it, so that the timed part opens its own. */
    long long warm = s.n < FETCH_WARMUP ? s.n : FETCH_WARMUP;
    fetch_tasks_reset(tasks, warm);
    err = epoll_fetch_run(e, tasks, warm, pool && s.k < warm ? s.k : warm, &counts);
    epoll_fetch_close_all(e);
    if (err != 0) {
        cell_fail(r, "epoll_wait: %s", strerror(-err));
        goto out;
    }
    if (fetch_tally(&s, tasks, warm, r) != 0)
        goto out;
    fetch_tasks_reset(tasks, s.n);

    cell_measure_begin(r);
    err = epoll_fetch_run(e, tasks, s.n, s.k, &counts);
    cell_measure_end(r);
    epoll_fetch_close_all(e);
    if (err != 0) {
        cell_fail(r, "epoll_wait: %s", strerror(-err));
        goto out;
    }
    r->ops = s.n;
    rc = fetch_tally(&s, tasks, s.n, r);
    /* The engine's count, not the tasks' records: it knows every connection. */
    r->connections = counts.connections;
    if (counts.reconnects > 0)
        fetch_note_add(r,
                       "%lld requests found their kept connection closed by the server and made a new one.",
                       counts.reconnects);
    if (fetch_check_in_flight(&s, r, counts.peak) != 0)
        rc = -1;
out:
    epoll_fetch_free(e);
    free(tasks);
    fetch_setup_close(&s);
    return r->ok ? rc : -1;
}
