/* workloads/common/green_common.c: hub set-up for the green variants, their
 * runs on several hubs, and the fetch task of joinall and pool
 * (green_common.h). */
#include "green_common.h"
#include "fetch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int green_common_init(cell_params *p, cell_result *r)
{
    green_options opts = { .stack_size = p->stack_kib > 0 ? (size_t)p->stack_kib * 1024 : 0 };
    return green_common_init_with(p, r, &opts);
}

/* The --stacks a hub ran with when none was given (GREEN_STACKS, or the
 * default), as the JSON line writes it. Hub threads call it together. */
static const char *stacks_used(unsigned shared)
{
    static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    static char copy[32];
    if (shared == 0)
        return "private";
    pthread_mutex_lock(&lock);
    snprintf(copy, sizeof copy, "copy:%u", shared);
    pthread_mutex_unlock(&lock);
    return copy;
}

int green_common_init_with(cell_params *p, cell_result *r, const green_options *opts)
{
    green_options o = *opts;
    if (p->stacks != NULL && strcmp(p->stacks, "private") == 0) {
        o.stacks = GREEN_STACKS_PRIVATE;
    } else if (p->stacks != NULL) {
        o.stacks = GREEN_STACKS_COPY;       /* "copy:K", as cell.c checked it. */
        o.shared_stacks = (unsigned)strtoul(p->stacks + 5, NULL, 10);
    }
    int err = green_init(&o);
    if (err != 0) {
        /* Without --stacks, libgreen reads GREEN_STACKS: a bad one is the
         * likely cause. */
        const char *env = p->stacks == NULL ? getenv("GREEN_STACKS") : NULL;
        return cell_fail(r, "green_init (--stack-kib=%lld, --stacks=%s%s%s): %s", p->stack_kib,
                         p->stacks != NULL ? p->stacks : "default", env ? ", GREEN_STACKS=" : "",
                         env ? env : "", green_strerror(err));
    }
    green_stats st;
    if (green_stats_get(&st) == 0) {
        if (p->stack_kib <= 0)
            p->stack_kib = (long long)(st.stack_size / 1024);
        if (p->stacks == NULL)
            p->stacks = stacks_used(st.shared_stacks);
    }
    return 0;
}

void green_common_fini(cell_result *r)
{
    int err = green_fini();
    if (err != 0 && r->ok)
        cell_fail(r, "green_fini: %s", green_strerror(err));
}

int green_common_one_hub(const cell_params *p, cell_result *r)
{
    if (p->hubs > 1)
        return cell_usage_error(r, "--hubs=%lld: %s runs one hub", p->hubs, p->workload);
    return 0;
}

int green_common_hubs_check(cell_params *p, cell_result *r)
{
    if (p->hubs < 0)
        p->hubs = 1;
    if (p->hubs > p->cpus)
        return cell_usage_error(
            r,
            "--hubs=%lld: %lld hubs need %lld CPUs (a thread on a CPU of its own each), "
            "but this cell may use %lld (--cpus)",
            p->hubs, p->hubs, p->hubs, p->cpus);
    return 0;
}

/* ---- hubs ---- */

/* The two meeting points of the hub threads and the calling thread: the
 * start (every hub initialised and warmed up; the caller then starts the
 * clock and lets them go) and the end (every hub's timed part done; the
 * caller stops the clock, then lets them tear down). A mutex and two
 * condition variables rather than pthread barriers: a hub thread that could
 * not be created must not leave the others waiting for it. */
struct green_hubs_sync {
    pthread_mutex_t lock;
    pthread_cond_t to_hubs, to_caller;
    int ready, done;            /* Hubs at the start, and past their timed part. */
    bool go, release;
    bool abort;                 /* A hub failed before the start: no timed part. */
    const green_hub_ops *ops;
};

void green_hub_begin(green_hub *h)
{
    if (h->count == 1)
        cell_measure_begin(h->r);
    else
        h->begin_ns = cell_now_ns();
}

void green_hub_end(green_hub *h)
{
    if (h->count == 1)
        cell_measure_end(h->r);
    else
        h->end_ns = cell_now_ns();
}

static void *hub_thread(void *arg)
{
    green_hub *h = arg;
    struct green_hubs_sync *s = h->sync;
    bool ok = true;
    int err = cell_pin_thread(h->index);
    if (err != 0) {
        cell_fail(h->r, "hub %d: cannot pin its thread to a CPU: %s", h->index, strerror(-err));
        ok = false;
    }
    if (ok)
        ok = h->inited = green_common_init(h->p, h->r) == 0;
    if (ok && s->ops->warm != NULL)
        ok = s->ops->warm(h) == 0;
    pthread_mutex_lock(&s->lock);
    s->abort |= !ok;
    s->ready++;
    pthread_cond_signal(&s->to_caller);
    while (!s->go)
        pthread_cond_wait(&s->to_hubs, &s->lock);
    bool run = !s->abort;
    pthread_mutex_unlock(&s->lock);
    if (run)
        s->ops->run(h);
    pthread_mutex_lock(&s->lock);
    s->done++;
    pthread_cond_signal(&s->to_caller);
    while (!s->release)
        pthread_cond_wait(&s->to_hubs, &s->lock);
    pthread_mutex_unlock(&s->lock);
    if (h->inited) {
        if (s->ops->after != NULL)
            s->ops->after(h);
        green_common_fini(h->r);
    }
    return NULL;
}

/* Start the hub threads, let them go together, wait for all of them. */
static void run_threads(green_hub *hubs, int count, cell_result *r)
{
    struct green_hubs_sync *s = hubs[0].sync;
    int created, err = 0;
    for (created = 0; created < count; created++) {
        err = pthread_create(&hubs[created].thread, NULL, hub_thread, &hubs[created]);
        if (err != 0)
            break;
    }
    pthread_mutex_lock(&s->lock);
    s->abort |= err != 0;
    while (s->ready < created)
        pthread_cond_wait(&s->to_caller, &s->lock);
    cell_measure_begin(r);
    s->go = true;
    pthread_cond_broadcast(&s->to_hubs);
    while (s->done < created)
        pthread_cond_wait(&s->to_caller, &s->lock);
    cell_measure_end(r);
    s->release = true;
    pthread_cond_broadcast(&s->to_hubs);
    pthread_mutex_unlock(&s->lock);
    for (int i = 0; i < created; i++)
        pthread_join(hubs[i].thread, NULL);
    if (err != 0)
        cell_fail(r, "pthread_create for hub %d of %d: %s", created, count, strerror(err));
}

int green_hubs_run(cell_params *p, cell_result *r, long long n, long long k, const green_hub_ops *ops,
                   void *work, green_hub **hubs_out)
{
    int count = p->hubs > 1 ? (int)p->hubs : 1;
    green_hub *hubs = calloc((size_t)count, sizeof *hubs);
    *hubs_out = hubs;
    if (hubs == NULL)
        return cell_fail(r, "out of memory for %d hubs", count);
    long long first = 0;
    for (int i = 0; i < count; i++) {
        green_hub *h = &hubs[i];
        h->index = i;
        h->count = count;
        h->first = first;
        h->n = n / count + (i < n % count);
        h->k = k / count + (i < k % count);
        h->work = work;
        first += h->n;
    }
    if (count == 1) {
        /* One hub: the calling thread, as it always was. */
        green_hub *h = &hubs[0];
        h->p = p;
        h->r = r;
        if (green_common_init(p, r) != 0)
            return -1;
        if (ops->warm == NULL || ops->warm(h) == 0)
            ops->run(h);
        if (ops->after != NULL)
            ops->after(h);
        green_common_fini(r);
        return r->ok ? 0 : -1;
    }
    struct green_hubs_sync s = { .ops = ops };
    pthread_mutex_init(&s.lock, NULL);
    pthread_cond_init(&s.to_hubs, NULL);
    pthread_cond_init(&s.to_caller, NULL);
    for (int i = 0; i < count; i++) {
        green_hub *h = &hubs[i];
        h->own_p = *p;
        h->own_r = *r;
        h->p = &h->own_p;
        h->r = &h->own_r;
        h->sync = &s;
    }
    run_threads(hubs, count, r);
    pthread_cond_destroy(&s.to_caller);
    pthread_cond_destroy(&s.to_hubs);
    pthread_mutex_destroy(&s.lock);
    /* The timed part: from the first hub's start to the last one's end. */
    long long begin = 0, end = 0;
    for (int i = 0; i < count; i++) {
        if (hubs[i].begin_ns > 0 && (begin == 0 || hubs[i].begin_ns < begin))
            begin = hubs[i].begin_ns;
        if (hubs[i].end_ns > end)
            end = hubs[i].end_ns;
    }
    if (begin > 0 && end >= begin)
        r->wall_ns = end - begin;
    for (int i = 0; i < count; i++) {
        if (hubs[i].inited && p->stack_kib <= 0)
            p->stack_kib = hubs[i].own_p.stack_kib;
    }
    for (int i = 0; i < count && r->ok; i++) {
        if (!hubs[i].own_r.ok) {
            snprintf(r->error, sizeof r->error, "%s", hubs[i].own_r.error);
            r->ok = false;
            r->usage_error = hubs[i].own_r.usage_error;
        }
    }
    return r->ok ? 0 : -1;
}

/* ---- the fetch task ---- */

const fetch_flavour green_fetch_flavour = {
    .plain = &http_io_green,
    .tls = &http_io_green_tls,
    .tls_init = http_green_tls_init,
    .tls_fini = http_green_tls_fini,
};

_Thread_local struct green_fetch_state green_fetch;

/* One read buffer for every green thread of a hub: one runs at a time, and
 * http_fetch parses each read before it can switch again. */
static _Thread_local char fetch_scratch[HTTP_READ_CHUNK];

void *green_fetch_main(void *arg)
{
    fetch_task *t = arg;
    struct green_fetch_state *f = &green_fetch;     /* This hub's, whichever stack runs. */
    if (++f->in_flight > f->peak)
        f->peak = f->in_flight;
    switch (f->keep) {
    case GREEN_FETCH_CLOSE:
        t->err = http_fetch(f->io, f->target, fetch_scratch, sizeof fetch_scratch, &t->res);
        break;
    case GREEN_FETCH_KEEP_OWN:
        t->err = http_fetch_keep(f->io, f->target, &t->conn, fetch_scratch, sizeof fetch_scratch, &t->res);
        break;
    case GREEN_FETCH_KEEP_SHARED: {
        /* At most one connection per green thread alive, and no more alive
         * than the pool's size: the list never holds more. One hub, one
         * thread: no lock. */
        http_conn c = f->nfree > 0 ? f->free_conns[--f->nfree] : HTTP_CONN_NONE;
        t->err = http_fetch_keep(f->io, f->target, &c, fetch_scratch, sizeof fetch_scratch, &t->res);
        if (c.fd >= 0)
            f->free_conns[f->nfree++] = c;
        break;
    }
    }
    f->in_flight--;
    return NULL;
}

void green_fetch_close_free(void)
{
    for (size_t i = 0; i < green_fetch.nfree; i++)
        http_conn_close(green_fetch.io, &green_fetch.free_conns[i]);
    green_fetch.nfree = 0;
}
