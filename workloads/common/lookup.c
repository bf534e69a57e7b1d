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

void lookup_name(long long i, char *out, size_t len)
{
    snprintf(out, len, "n%lld.test", i);
}

void lookup_tally_reset(lookup_tally *t)
{
    atomic_init(&t->next, 0);
    atomic_init(&t->ok, 0);
    atomic_init(&t->errors, 0);
    atomic_init(&t->in_flight, 0);
    atomic_init(&t->peak, 0);
    atomic_flag_clear(&t->error_kept);
    t->first_error[0] = '\0';
}

bool lookup_take(lookup_tally *t, long long n, long long *i)
{
    *i = atomic_fetch_add_explicit(&t->next, 1, memory_order_relaxed);
    return *i < n;
}

void lookup_enter(lookup_tally *t)
{
    long long now = atomic_fetch_add_explicit(&t->in_flight, 1, memory_order_relaxed) + 1;
    long long peak = atomic_load_explicit(&t->peak, memory_order_relaxed);
    while (now > peak && !atomic_compare_exchange_weak_explicit(&t->peak, &peak, now, memory_order_relaxed,
                                                                memory_order_relaxed))
        ;
}

void lookup_leave(lookup_tally *t)
{
    atomic_fetch_sub_explicit(&t->in_flight, 1, memory_order_relaxed);
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

void lookup_count(lookup_tally *t, const char *name, int err, const char *why, const struct addrinfo *ai)
{
    const char *wrong = err != 0 ? why : wrong_answer(ai);
    if (wrong == NULL) {
        atomic_fetch_add_explicit(&t->ok, 1, memory_order_relaxed);
        return;
    }
    atomic_fetch_add_explicit(&t->errors, 1, memory_order_relaxed);
    if (!atomic_flag_test_and_set(&t->error_kept))
        snprintf(t->first_error, sizeof t->first_error, "%s: %s", name, wrong);
}

int lookup_tally_result(const lookup_tally *t, cell_result *r)
{
    long long ok = atomic_load(&t->ok), errors = atomic_load(&t->errors), peak = atomic_load(&t->peak);
    r->tasks_completed = r->tasks_completed < 0 ? ok : r->tasks_completed + ok;
    r->errors = r->errors < 0 ? errors : r->errors + errors;
    if (peak > r->max_in_flight)
        r->max_in_flight = peak;
    if (errors > 0)
        return cell_fail(r, "%lld of %lld lookups failed; the first: %s", errors, ok + errors,
                         t->first_error);
    return 0;
}

long long lookup_memory_begin(void)
{
    return sys_peak_rss_reset();
}

void lookup_memory_end(long long base, const lookup_setup *s, cell_result *r)
{
    long long peak = sys_peak_rss_bytes();
    if (base < 0 || peak < 0)
        return;
    r->rss_per_task_bytes = peak > base ? (peak - base) / s->tasks : 0;
}
