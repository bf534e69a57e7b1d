/* workloads/common/lookup.c: the dns variants' shared part (lookup.h). */
#include "lookup.h"
#include "sysinfo.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_N 1000
#define GETADDRINFO_PORT 53

/* "dns://A.B.C.D:PORT" into s->server; returns the port, or -1 with r failed. */
static int parse_url(lookup_setup *s, const char *url, cell_result *r)
{
    static const char scheme[] = "dns://";
    const char *host = url + sizeof scheme - 1;
    const char *colon = strrchr(host, ':');
    if (strncmp(url, scheme, sizeof scheme - 1) != 0 || colon == NULL)
        return cell_usage_error(r, "--url=%s: expected dns://IPv4:PORT, a greenbench-dns server", url);
    char ip[INET_ADDRSTRLEN];
    struct in_addr addr;
    size_t len = (size_t)(colon - host);
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (len >= sizeof ip || (memcpy(ip, host, len), ip[len] = '\0', inet_pton(AF_INET, ip, &addr) != 1))
        return cell_usage_error(r, "--url=%s: the server must be an IPv4 address", url);
    if (end == colon + 1 || *end != '\0' || port < 1 || port > 65535)
        return cell_usage_error(r, "--url=%s: the port must be 1-65535", url);
    snprintf(s->server, sizeof s->server, "%s:%ld", ip, port);
    return (int)port;
}

int lookup_setup_init(lookup_setup *s, cell_params *p, cell_result *r, bool uses_resolv_conf)
{
    if (cell_take_n(p, r, DEFAULT_N, "dns needs at least one name") != 0)
        return -1;
    if (p->concurrency == 0)
        return cell_usage_error(r, "--concurrency=0: dns needs at least one task");
    if (p->concurrency < 0)
        p->concurrency = p->n;
    if (p->ares < 0)
        p->ares = 0;
    if (p->url == NULL)
        return cell_usage_error(r, "dns needs --url=dns://HOST:PORT, a greenbench-dns server "
                                   "(the harness starts one)");
    int port = parse_url(s, p->url, r);
    if (port < 0)
        return -1;
    if (uses_resolv_conf && port != GETADDRINFO_PORT)
        return cell_usage_error(
            r,
            "--url=%s with --ares=0: getaddrinfo asks /etc/resolv.conf's servers on "
            "port 53; run the cell where %.*s:53 is that server (the harness gives it a "
            "private network namespace)",
            p->url, (int)strcspn(s->server, ":"), s->server);
    s->n = p->n;
    s->tasks = p->concurrency < p->n ? p->concurrency : p->n;
    return 0;
}

static void pass_init(lookup_pass *p, long long n, const lookup_resolver *how)
{
    p->n = n;
    p->how = how;
    atomic_init(&p->next, 0);
    atomic_init(&p->ok, 0);
    atomic_init(&p->errors, 0);
    atomic_init(&p->in_flight, 0);
    atomic_init(&p->peak, 0);
    atomic_flag_clear(&p->error_kept);
    p->first_error[0] = '\0';
}

static void enter(lookup_pass *p)
{
    long long now = atomic_fetch_add_explicit(&p->in_flight, 1, memory_order_relaxed) + 1;
    long long peak = atomic_load_explicit(&p->peak, memory_order_relaxed);
    while (now > peak && !atomic_compare_exchange_weak_explicit(&p->peak, &peak, now, memory_order_relaxed,
                                                                memory_order_relaxed))
        ;
}

/* What is wrong with an answer, or NULL. */
static const char *wrong_answer(const struct addrinfo *ai)
{
    if (ai == NULL)
        return "no address in the answer";
    for (; ai != NULL; ai = ai->ai_next) {
        if (ai->ai_family != AF_INET)
            return "an address that is not IPv4";
        const struct sockaddr_in *sin = (const struct sockaddr_in *)ai->ai_addr;
        if ((ntohl(sin->sin_addr.s_addr) >> 24) != 127)
            return "an address outside 127.0.0.0/8, so not greenbench-dns's answer";
    }
    return NULL;
}

static void count(lookup_pass *p, const char *name, int err, const struct addrinfo *ai)
{
    const char *wrong = err != 0 ? p->how->why(err) : wrong_answer(ai);
    if (wrong == NULL) {
        atomic_fetch_add_explicit(&p->ok, 1, memory_order_relaxed);
        return;
    }
    atomic_fetch_add_explicit(&p->errors, 1, memory_order_relaxed);
    if (!atomic_flag_test_and_set(&p->error_kept))
        snprintf(p->first_error, sizeof p->first_error, "%s: %s", name, wrong);
}

void *lookup_task(void *arg)
{
    lookup_pass *p = arg;
    const struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_STREAM };
    long long i;
    while ((i = atomic_fetch_add_explicit(&p->next, 1, memory_order_relaxed)) < p->n) {
        char name[32];
        snprintf(name, sizeof name, "n%lld.test", i);
        struct addrinfo *ai = NULL;
        enter(p);
        int err = p->how->resolve(name, NULL, &hints, &ai);
        atomic_fetch_sub_explicit(&p->in_flight, 1, memory_order_relaxed);
        count(p, name, err, ai);
        if (err == 0)
            freeaddrinfo(ai);
    }
    return NULL;
}

/* The pass's counts into r: tasks_completed, errors and max_in_flight added
 * up; fails r with the first error, and how many there were, if any. */
static int pass_result(const lookup_pass *p, cell_result *r)
{
    long long ok = atomic_load(&p->ok), errors = atomic_load(&p->errors), peak = atomic_load(&p->peak);
    r->tasks_completed = r->tasks_completed < 0 ? ok : r->tasks_completed + ok;
    r->errors = r->errors < 0 ? errors : r->errors + errors;
    if (peak > r->max_in_flight)
        r->max_in_flight = peak;
    if (errors > 0)
        return cell_fail(r, "%lld of %lld lookups failed; the first: %s", errors, ok + errors,
                         p->first_error);
    return 0;
}

int lookup_measure(const lookup_setup *s, const lookup_resolver *how, lookup_run_fn *run, void *ctx,
                   cell_result *r)
{
    /* Untimed first: thread pools, channels and stacks made. */
    lookup_pass *pass = malloc(sizeof *pass);
    if (pass == NULL)
        return cell_fail(r, "out of memory");
    long long nwarm = s->n < LOOKUP_WARMUP ? s->n : LOOKUP_WARMUP;
    pass_init(pass, nwarm, how);
    cell_result warm_r = *r;
    int rc = run(pass, nwarm < s->tasks ? nwarm : s->tasks, ctx, r);
    if (rc == 0 && pass_result(pass, &warm_r) != 0)
        rc = cell_fail(r, "warm-up: %s", warm_r.error);
    if (rc == 0) {
        pass_init(pass, s->n, how);
        /* Memory per lookup in flight: the peak's growth over the timed part. */
        long long base = sys_peak_rss_reset();
        cell_measure_begin(r);
        rc = run(pass, s->tasks, ctx, r);
        cell_measure_end(r);
        long long peak = sys_peak_rss_bytes();
        if (base >= 0 && peak >= 0)
            r->rss_per_task_bytes = peak > base ? (peak - base) / s->tasks : 0;
        r->ops = s->n;
        if (rc == 0)
            rc = pass_result(pass, r);
    }
    free(pass);
    return rc;
}
