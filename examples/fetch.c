/* examples/fetch.c: the program that started greenbench, in C on libgreen.
 * The original fetched URLs with gevent.spawn + gevent.joinall, then the
 * same with Pool(2).map. This does both: one green thread per URL doing an
 * HTTP/1.1 GET with green I/O, joined with green_joinall; then the same
 * URLs through a pool of 2, each line saying how many fetches are in flight.
 * The GET is the cells' own client (workloads/common/http/), green flavour, with
 * names resolved through libgreen, so that one slow or unknown host holds up
 * no other fetch.
 *
 * Usage: greenbench-fetch [--timeout=SECONDS] [--pool=K] [--cacert=FILE] URL...
 * http:// and https:// URLs; https through libgreen's green_tls, the
 * server's certificate and name verified against the system's CA store or
 * --cacert's (a certificate the client cannot verify fails that URL, with
 * the reason, and the others go on). Exit status 0 if every fetch
 * succeeded, 1 if any failed, 2 on a usage error. */
#include "green.h"
#include "option_error.h"
#include "http/http.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct fetch_job {
    const char *url;
    long long bytes;        /* Body bytes received. */
    int failed;
    char error[1024]; /* Room for a long host name and the reason after it. */
} fetch_job;

static double timeout = 10.0;
static const char *cacert; /* --cacert: the CAs https URLs are verified against; NULL: the system's. */
static green_options green_opts; /* --resolver, --dns-servers. */
static int in_flight, most_in_flight, show_in_flight;

/* The client keeps nothing of a read once it has parsed it, and parses it
 * before it can switch again: one buffer serves every green thread (and
 * none has to fit 16 KiB in its stack). */
/* Public servers send heads of several KiB (cookies, security headers); the
 * local server's are ~100 bytes, which the cells' HTTP_MAX_HEAD is sized for. */
#define FETCH_MAX_HEAD (16 * 1024)
static char scratch[HTTP_READ_CHUNK];

/* GREEN_STACKS as libgreen reads it (green.h): empty, private, copy or
 * copy:K; green_init's GREEN_EINVAL would not say which input was wrong. */
static bool stacks_env_ok(const char *v)
{
    if (v[0] == '\0' || strcmp(v, "private") == 0 || strcmp(v, "copy") == 0)
        return true;
    if (strncmp(v, "copy:", 5) != 0 || v[5] < '0' || v[5] > '9')
        return false;
    char *end;
    unsigned long k = strtoul(v + 5, &end, 10);
    return *end == '\0' && k >= 1 && k <= 65536;
}

static void job_fail(fetch_job *job, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(job->error, sizeof job->error, fmt, ap);
    va_end(ap);
    job->failed = 1;
}

/* Say which step failed, and with how much of the body for a cut one. */
static void job_fail_fetch(fetch_job *job, const http_target *t, int err, const http_result *res)
{
    bool of_response = err <= HTTP_EBADRESPONSE;     /* Not the system's or libgreen's. */
    const char *why = of_response ? http_strerror(err) : green_strerror(err);
    switch (res->stage) {
    case HTTP_AT_CONNECT:
        if (err <= HTTP_ETLS_VERIFY && err >= HTTP_ETLS_HANDSHAKE_TIMEOUT)
            job_fail(job, "TLS handshake with %s port %s: %s", t->host, t->port, why);
        else
            job_fail(job, "connect to %s port %s: %s", t->host, t->port, why);
        break;
    case HTTP_AT_SEND:
        job_fail(job, "sending the request: %s", why);
        break;
    case HTTP_AT_HEAD:
        job_fail(job, "%s", err == HTTP_ETRUNCATED ? "connection closed before the response headers" : why);
        break;
    case HTTP_AT_BODY:
        if (err == HTTP_ESTATUS)
            job_fail(job, "HTTP status %d", res->status);
        else if (err == HTTP_ETRUNCATED)
            job_fail(job, "connection closed after %lld body bytes", res->body_bytes);
        else
            job_fail(job, "%s%s", of_response ? "" : "reading the body: ", why);
        break;
    }
}

static void fetch_http(fetch_job *job)
{
    http_target t;
    char why[256];
    if (http_target_parse(&t, job->url, -1, timeout, why, sizeof why) != 0) {
        job_fail(job, "%s", why);
        return;
    }
    t.max_head = FETCH_MAX_HEAD;
    struct addrinfo *addrs;
    int err = http_resolve_green(&t, &addrs);
    if (err != 0) {
        job_fail(job, "%s: %s", t.host, green_strerror(err));
        return;
    }
    /* Each address in turn until one takes the connection, as gevent's
     * create_connection does: "localhost" may name ::1 first and a server
     * listen on 127.0.0.1 alone. */
    http_result res = { 0 };
    for (const struct addrinfo *ai = addrs; ai != NULL; ai = ai->ai_next) {
        http_target_set_addr(&t, ai);
        err = http_fetch(t.tls ? &http_io_green_tls : &http_io_green, &t, scratch, sizeof scratch, &res);
        if (res.stage != HTTP_AT_CONNECT)
            break;
    }
    freeaddrinfo(addrs);
    if (err == HTTP_ESTATUS && res.status / 100 == 2)
        err = 0;                /* Any 2xx will do here; the cells insist on 200. */
    if (err != 0)
        job_fail_fetch(job, &t, err, &res);
    else
        job->bytes = res.body_bytes;
}

static void *fetch(void *arg)
{
    fetch_job *job = arg;
    in_flight++;
    if (in_flight > most_in_flight)
        most_in_flight = in_flight;
    if (show_in_flight)
        printf("visit ---> %s   (in flight: %d)\n", job->url, in_flight);
    else
        printf("visit ---> %s\n", job->url);
    fflush(stdout);
    job->failed = 0;
    job->bytes = 0;
    fetch_http(job);
    if (job->failed)
        printf("%s failed: %s\n", job->url, job->error);
    else
        printf("%lld bytes received from %s.\n", job->bytes, job->url);
    fflush(stdout);
    in_flight--;
    return job;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: greenbench-fetch [--timeout=SECONDS] [--pool=K] [--cacert=FILE]\n"
               "                        [--resolver=thread|ares] [--dns-servers=IP[:PORT],...] URL...\n"
               "Fetches each http:// or https:// URL in a green thread of its own, joined with\n"
               "joinall, then the same URLs through a pool of K (default 2) green threads.\n"
               "--timeout bounds each fetch, connect to last byte (default 10 s). https servers\n"
               "are verified against the system's CA store, or the PEM file --cacert names\n"
               "(greenbench-server --tls prints its CA's). Names are resolved by getaddrinfo in\n"
               "worker threads (--resolver=thread, the default) or by c-ares in the hub's loop\n"
               "(--resolver=ares, which may ask --dns-servers instead of /etc/resolv.conf's);\n"
               "GREEN_RESOLVER and GREEN_DNS_SERVERS say the same when the options are not given.\n");
}

static int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "greenbench-fetch: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, " (see greenbench-fetch --help)\n");
    va_end(ap);
    return 2;
}

/* The options; returns 0, or 2 after saying what is wrong. */
static int parse_args(int argc, char **argv, size_t *pool_k)
{
    enum { OPT_TIMEOUT = 256, OPT_POOL, OPT_CACERT, OPT_RESOLVER, OPT_DNS_SERVERS, OPT_HELP };
    static const struct option options[] = {
        { "timeout", required_argument, NULL, OPT_TIMEOUT },
        { "pool", required_argument, NULL, OPT_POOL },
        { "cacert", required_argument, NULL, OPT_CACERT },
        { "resolver", required_argument, NULL, OPT_RESOLVER },
        { "dns-servers", required_argument, NULL, OPT_DNS_SERVERS },
        { "help", no_argument, NULL, OPT_HELP },
        { NULL, 0, NULL, 0 },
    };
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
        char *end;
        switch (c) {
        case OPT_TIMEOUT:
            timeout = strtod(optarg, &end);
            if (end == optarg || *end != '\0' || !(timeout > 0))
                return usage_error("--timeout=%s: expected a number of seconds above 0", optarg);
            break;
        case OPT_POOL: {
            errno = 0;
            unsigned long k = strtoul(optarg, &end, 10);
            if (optarg[0] < '0' || optarg[0] > '9' || *end != '\0' || k == 0 || errno == ERANGE)
                return usage_error("--pool=%s: expected an integer from 1 to %lu", optarg, ULONG_MAX);
            *pool_k = k;
            break;
        }
        case OPT_CACERT: cacert = optarg; break;
        case OPT_RESOLVER:
            if (strcmp(optarg, "thread") == 0)
                green_opts.resolver = GREEN_RESOLVER_THREAD;
            else if (strcmp(optarg, "ares") == 0)
                green_opts.resolver = GREEN_RESOLVER_ARES;
            else
                return usage_error("--resolver=%s: expected thread or ares", optarg);
            break;
        case OPT_DNS_SERVERS: green_opts.dns_servers = optarg; break;
        case 'h':
        case OPT_HELP:
            usage(stdout);
            exit(0);
        default: { /* ':' or '?': a missing value, or an unknown option. */
            char why[160];
            option_error(why, sizeof why, c, argv);
            return usage_error("%s", why);
        }
        }
    }
    if (optind == argc)
        return usage_error("no URL given");
    const char *stacks = getenv("GREEN_STACKS");
    if (stacks != NULL && !stacks_env_ok(stacks))
        return usage_error("GREEN_STACKS=%s: expected private, copy or copy:K (K from 1 to 65536)", stacks);
    if (green_opts.resolver == GREEN_RESOLVER_DEFAULT && getenv("GREEN_RESOLVER") != NULL &&
        strcmp(getenv("GREEN_RESOLVER"), "thread") != 0 && strcmp(getenv("GREEN_RESOLVER"), "ares") != 0)
        return usage_error("GREEN_RESOLVER=%s: expected thread or ares", getenv("GREEN_RESOLVER"));
    if (green_opts.dns_servers != NULL && green_opts.resolver != GREEN_RESOLVER_ARES &&
        !(green_opts.resolver == GREEN_RESOLVER_DEFAULT && getenv("GREEN_RESOLVER") != NULL &&
          strcmp(getenv("GREEN_RESOLVER"), "ares") == 0))
        return usage_error("--dns-servers needs --resolver=ares (the C library asks /etc/resolv.conf's)");
    return 0;
}

/* The hub and TLS: 0, or the exit status, said why (a bad value of the
 * options or of libgreen's variables, which green_init's GREEN_EINVAL does
 * not name, is a usage error). */
static int start_hub(void)
{
    int err = green_init(&green_opts);
    if (err == GREEN_EINVAL && green_opts.dns_servers != NULL)
        return usage_error("--dns-servers=%s: expected IP[:PORT],... ([IPv6]:PORT)",
                           green_opts.dns_servers);
    const char *servers_env = getenv("GREEN_DNS_SERVERS");
    if (err == GREEN_EINVAL && servers_env != NULL && servers_env[0] != '\0')
        return usage_error("GREEN_DNS_SERVERS=%s: expected IP[:PORT],... ([IPv6]:PORT)", servers_env);
    if (err != 0) {
        fprintf(stderr, "greenbench-fetch: green_init: %s\n", green_strerror(err));
        return 1;
    }
    char why[512];
    if (http_green_tls_init(cacert, why, sizeof why) != 0) {
        fprintf(stderr, "greenbench-fetch: %s\n", why);
        return cacert ? 2 : 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    size_t pool_k = 2;
    int bad = parse_args(argc, argv, &pool_k);
    if (bad != 0)
        return bad;
    size_t n = (size_t)(argc - optind);
    char **urls = argv + optind;

    int bad_start = start_hub();
    if (bad_start != 0)
        return bad_start;
    fetch_job *jobs = calloc(n, sizeof *jobs);
    green_thread **gs = calloc(n, sizeof *gs);
    void **args = calloc(n, sizeof *args), **results = calloc(n, sizeof *results);
    if (jobs == NULL || gs == NULL || args == NULL || results == NULL)
        return 1;
    for (size_t i = 0; i < n; i++) {
        jobs[i].url = urls[i];
        args[i] = &jobs[i];
    }

    /* 1. One green thread per URL, then joinall (gevent.spawn + joinall). */
    printf("== spawn + joinall: %zu green threads (%s + %s)\n", n, green_backend_context(),
           green_backend_loop());
    double t0 = green_now();
    int err = 0;
    size_t spawned = 0;
    for (size_t i = 0; i < n; i++) {
        err = green_spawn(&gs[i], fetch, &jobs[i]);
        if (err != 0) {
            fprintf(stderr, "greenbench-fetch: spawn: %s\n", green_strerror(err));
            break;
        }
        spawned++;
    }
    int ended = green_joinall(gs, spawned, GREEN_FOREVER);
    for (size_t i = 0; i < spawned; i++)
        green_release(gs[i]);
    int failed = 0;
    for (size_t i = 0; i < n; i++)
        failed += jobs[i].failed;
    printf("== joinall: %d of %zu ended, %d failed, %.3f s, at most %d in flight\n", ended, n, failed,
           green_now() - t0, most_in_flight);

    /* 2. The same through a pool (Pool(2).map). */
    printf("== pool of %zu: map over %zu URLs\n", pool_k, n);
    green_pool *pool;
    err = green_pool_new(&pool, pool_k);
    if (err != 0)
        return 1;
    most_in_flight = 0;
    show_in_flight = 1;
    t0 = green_now();
    err = green_pool_map(pool, fetch, args, results, n);
    int failed_pool = 0;
    for (size_t i = 0; i < n; i++)
        failed_pool += jobs[i].failed;
    printf("== pool map: %s, %d failed, %.3f s, at most %d in flight (pool size %zu)\n",
           err == 0 ? "done" : green_strerror(err), failed_pool, green_now() - t0, most_in_flight, pool_k);
    green_pool_free(pool);
    http_green_tls_fini();
    free(jobs);
    free(gs);
    free(args);
    free(results);
    green_fini();
    return failed || failed_pool || err != 0 ? 1 : 0;
}
