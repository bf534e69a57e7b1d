/* runtime/dns.c: green_getaddrinfo, gevent's thread resolver. getaddrinfo
 * runs in a small pool of worker threads shared by every hub of the process;
 * a worker posts the answer to the asking hub's list and wakes its loop
 * (green_loop_wake), and the hub hands it to the green thread that waits.
 * Workers start on demand, up to the largest dns_threads any hub asked for,
 * and stop when the last hub is torn down.
 *
 * Hubs come and go on any thread, so a new hub may start workers while the
 * last one's teardown still joins the old ones. Workers therefore belong to
 * a generation: a teardown retires the current one, takes its workers out of
 * the pool (so that it alone joins them) and starts a new generation. A
 * retired worker still answers what is queued, then leaves. */
#include "internal.h"

#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct green__dns_req {
    green__dns_req *next;
    green__hub *hub;
    green_thread *g;            /* The waiter; NULL once it gave up (killed). */
    int answered;               /* Handed over by the hub. */
    char *node, *service;
    struct addrinfo hints;
    int has_hints;
    struct addrinfo *res;
    int rc, err_no;
};

#define MAX_WORKERS 64

static struct {
    pthread_mutex_t lock;
    pthread_cond_t work;
    green__dns_req *head, *tail;
    pthread_t workers[MAX_WORKERS];     /* Of the current generation. */
    unsigned nworkers, idle, max_workers;
    unsigned hubs;
    uintptr_t generation;
} pool = { .lock = PTHREAD_MUTEX_INITIALIZER, .work = PTHREAD_COND_INITIALIZER };

static void free_req(green__dns_req *r)
{
    if (r->res != NULL)
        freeaddrinfo(r->res);
    free(r->node);
    free(r->service);
    free(r);
}

static void *worker_main(void *arg)
{
    uintptr_t generation = (uintptr_t)arg;
    pthread_mutex_lock(&pool.lock);
    for (;;) {
        while (pool.head == NULL && generation == pool.generation) {
            pool.idle++;
            pthread_cond_wait(&pool.work, &pool.lock);
            pool.idle--;
        }
        if (pool.head == NULL)
            break;
        green__dns_req *r = pool.head;
        pool.head = r->next;
        if (pool.head == NULL)
            pool.tail = NULL;
        pthread_mutex_unlock(&pool.lock);

        errno = 0;
        r->rc = getaddrinfo(r->node, r->service, r->has_hints ? &r->hints : NULL, &r->res);
        r->err_no = errno;
        if (r->rc != 0)
            r->res = NULL;

        /* Post it. The wake happens under the hub's lock, which green_fini
         * takes before it frees the loop. */
        green__hub *h = r->hub;
        pthread_mutex_lock(&h->dns_lock);
        r->next = h->dns_done;
        h->dns_done = r;
        green_loop_wake(h->loop);
        pthread_mutex_unlock(&h->dns_lock);

        pthread_mutex_lock(&pool.lock);
    }
    pthread_mutex_unlock(&pool.lock);
    return NULL;
}

/* fork() copies the pool but none of its workers: a child whose pool still
 * counted the parent's idle ones never started one, and its lookups waited
 * for good. The lock is held across the fork so that the child's copy is
 * in a known state; the child starts from no worker, and a new generation
 * (the requests queued stay, for the workers it starts). */
static void fork_prepare(void)
{
    pthread_mutex_lock(&pool.lock);
}

static void fork_parent(void)
{
    pthread_mutex_unlock(&pool.lock);
}

static void fork_child(void)
{
    pool.nworkers = 0;
    pool.idle = 0;
    pool.generation++;
    pthread_cond_init(&pool.work, NULL);
    pthread_mutex_unlock(&pool.lock);
}

static void register_fork_handlers(void)
{
    pthread_atfork(fork_prepare, fork_parent, fork_child);
}

void green__dns_hub_added(unsigned max_threads)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, register_fork_handlers);
    pthread_mutex_lock(&pool.lock);
    pool.hubs++;
    if (max_threads > MAX_WORKERS)
        max_threads = MAX_WORKERS;
    if (max_threads > pool.max_workers)
        pool.max_workers = max_threads;
    pthread_mutex_unlock(&pool.lock);
}

void green__dns_hub_removed(void)
{
    pthread_mutex_lock(&pool.lock);
    if (--pool.hubs > 0 || pool.nworkers == 0) {
        if (pool.hubs == 0)
            pool.max_workers = 0;
        pthread_mutex_unlock(&pool.lock);
        return;
    }
    /* The last hub: retire this generation's workers and join them here;
     * a hub made meanwhile starts workers of the next one. */
    unsigned n = pool.nworkers;
    pthread_t workers[MAX_WORKERS];
    memcpy(workers, pool.workers, n * sizeof workers[0]);
    pool.nworkers = 0;
    pool.max_workers = 0;
    pool.generation++;
    pthread_cond_broadcast(&pool.work);
    pthread_mutex_unlock(&pool.lock);
    for (unsigned i = 0; i < n; i++)
        pthread_join(workers[i], NULL);
}

static int submit(green__dns_req *r)
{
    pthread_mutex_lock(&pool.lock);
    if (pool.idle == 0 && pool.nworkers < pool.max_workers) {
        /* Workers get small stacks: getaddrinfo needs little. */
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setstacksize(&attr, 256 * 1024);
        int err = pthread_create(&pool.workers[pool.nworkers], &attr, worker_main,
                                 (void *)pool.generation);
        pthread_attr_destroy(&attr);
        if (err == 0)
            pool.nworkers++;
        else if (pool.nworkers == 0) {
            pthread_mutex_unlock(&pool.lock);
            return -err;
        }
    }
    r->next = NULL;
    if (pool.tail != NULL)
        pool.tail->next = r;
    else
        pool.head = r;
    pool.tail = r;
    pthread_cond_signal(&pool.work);
    pthread_mutex_unlock(&pool.lock);
    return 0;
}

void green__dns_deliver(green__hub *h)
{
    pthread_mutex_lock(&h->dns_lock);
    green__dns_req *list = h->dns_done;
    h->dns_done = NULL;
    pthread_mutex_unlock(&h->dns_lock);
    while (list != NULL) {
        green__dns_req *r = list;
        list = r->next;
        GREEN_ASSERT(h->dns_pending > 0);
        h->dns_pending--;
        if (r->g == NULL) {
            free_req(r);        /* Its green thread gave up. */
            continue;
        }
        r->answered = 1;
        green__wake(h, r->g, 0);
    }
    if (h->dns_pending == 0) {
        green_loop_keepalive(h->loop, 0);
        green__wake_finisher(h);
    }
}

static int map_gai_error(int rc, int err_no)
{
    switch (rc) {
    case 0:
        return 0;
#ifdef EAI_ADDRFAMILY
    case EAI_ADDRFAMILY:
        return GREEN_EAI_ADDRFAMILY;
#endif
    case EAI_AGAIN:
        return GREEN_EAI_AGAIN;
    case EAI_BADFLAGS:
        return GREEN_EAI_BADFLAGS;
#ifdef EAI_CANCELED
    case EAI_CANCELED:
        return GREEN_EAI_CANCELED;
#endif
    case EAI_FAIL:
        return GREEN_EAI_FAIL;
    case EAI_FAMILY:
        return GREEN_EAI_FAMILY;
    case EAI_MEMORY:
        return GREEN_EAI_MEMORY;
#ifdef EAI_NODATA
    case EAI_NODATA:
        return GREEN_EAI_NODATA;
#endif
    case EAI_NONAME:
        return GREEN_EAI_NONAME;
    case EAI_OVERFLOW:
        return GREEN_EAI_OVERFLOW;
    case EAI_SERVICE:
        return GREEN_EAI_SERVICE;
    case EAI_SOCKTYPE:
        return GREEN_EAI_SOCKTYPE;
    case EAI_SYSTEM:
        return err_no > 0 ? -err_no : GREEN_EAI_FAIL;
    default:
        return GREEN_EAI_FAIL;
    }
}

/* The fields getaddrinfo reads in hints, the rest zero as it requires
 * (the caller's need not be). */
static struct addrinfo hints_read(const struct addrinfo *hints)
{
    struct addrinfo h = { 0 };
    if (hints != NULL) {
        h.ai_flags = hints->ai_flags;
        h.ai_family = hints->ai_family;
        h.ai_socktype = hints->ai_socktype;
        h.ai_protocol = hints->ai_protocol;
    }
    return h;
}

int green__getaddrinfo_numeric(const char *node, const char *service, const struct addrinfo *hints,
                               struct addrinfo **res)
{
    struct addrinfo h = hints_read(hints);
    h.ai_flags |= AI_NUMERICHOST;
    errno = 0;
    int rc = getaddrinfo(node, service, &h, res);
    if (rc != 0)
        *res = NULL;
    return map_gai_error(rc, errno);
}

int green_getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
                      struct addrinfo **res)
{
    green__hub *h = green__hub_get();
    if (h == NULL || res == NULL)
        return GREEN_EINVAL;
    *res = NULL;
    if (green__killed(h))
        return GREEN_ECANCELED;
    if (h->resolver == GREEN_RESOLVER_ARES)
        return green__ares_getaddrinfo(h, node, service, hints, res);
    green__dns_req *r = calloc(1, sizeof *r);
    if (r == NULL)
        return GREEN_ENOMEM;
    r->hub = h;
    if ((node != NULL && (r->node = strdup(node)) == NULL) ||
        (service != NULL && (r->service = strdup(service)) == NULL)) {
        free_req(r);
        return GREEN_ENOMEM;
    }
    r->hints = hints_read(hints);
    r->has_hints = hints != NULL;
    r->g = h->current;
    int err = submit(r);
    if (err != 0) {
        free_req(r);
        return err;
    }
    if (h->dns_pending++ == 0)
        green_loop_keepalive(h->loop, 1);
    /* Park until the answer is handed over; a kill may come first. */
    int code;
    do {
        code = green__block(h, GREEN_FOREVER);
    } while (code == 0 && !r->answered);
    if (!r->answered) {
        r->g = NULL;            /* deliver() frees it when it comes. */
        return code != 0 ? code : GREEN_ECANCELED;
    }
    int rc = map_gai_error(r->rc, r->err_no);
    if (code != 0 && rc == 0) {
        /* Killed after the answer came: still report the kill. */
        free_req(r);
        return code;
    }
    *res = r->res;
    r->res = NULL;
    free_req(r);
    return rc;
}

const char *green_resolver_name(void)
{
    green__hub *h = green__hub_get();
    if (h == NULL)
        return NULL;
    return h->resolver == GREEN_RESOLVER_ARES ? "ares" : "thread";
}
