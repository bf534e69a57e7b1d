/* examples/peers/minimal/minimal_cell.c: the smallest honest peer, a
 * program that obeys the cell protocol (docs/cell-protocol.md) with plain
 * pthreads and nothing of greenbench's: copy it to bring your own runtime
 * to `greenbench run --peer NAME=COMMAND`. It runs two workloads:
 *   switch  two threads hand a token back and forth --n round trips
 *           through one mutex and a condition variable;
 *   spawn   pthread_create + pthread_join of --n trivial threads, at most
 *           1000 alive at once.
 * Any other standard workload is "not implemented" (exit 2), as the
 * protocol asks. `greenbench check-cell build/bin/greenbench-peer-minimal`
 * checks it; docs/peers.md registers it. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#endif
#include <getopt.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#define IMPL "minimal"

/* The command line: a count not given is -1 (null in the JSON line). */
struct params {
    const char *workload, *impl;
    long long n, concurrency, delay_ms, size, stack_kib, cpus, rounds, keepalive, tls, ares;
};
/* What the line reports besides the parameters; -1: null (or left out). */
struct result {
    int exit; /* 0 ok, 1 failed, 2 usage error */
    char error[256];
    long long wall_ns, ops, cpu_ns, tasks, errors;
};

static long long now_ns(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* ---- the JSON line ---- */

static void key(const char *k)
{
    static bool first = true;
    printf("%s\"%s\":", first ? "{" : ",", k);
    first = false;
}

static void put_count(const char *k, long long v)
{
    key(k);
    if (v < 0)
        printf("null");
    else
        printf("%lld", v);
}

static void put_string(const char *k, const char *s)
{
    key(k);
    if (s == NULL) {
        printf("null");
        return;
    }
    putchar('"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            printf("\\%c", *s);
        else if ((unsigned char)*s < 0x20)
            printf("\\u%04x", *s);
        else
            putchar(*s);
    }
    putchar('"');
}

/* The last stdout line: every field of the protocol, in its order. */
static void write_line(const struct params *p, const struct result *r)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    bool ok = r->exit == 0;
    put_string("workload", p->workload);
    put_string("impl", p->impl);
    put_string("switch", NULL); /* no context backend: the kernel switches */
    put_string("loop", NULL);
    put_count("n", p->n);
    put_count("concurrency", p->concurrency);
    put_count("delay_ms", p->delay_ms);
    put_count("size", p->size);
    put_count("stack_kib", p->stack_kib);
    put_count("cpus", p->cpus);
    put_count("rounds", p->rounds);
    put_count("keepalive", p->keepalive);
    put_count("tls", p->tls);
    put_count("ares", p->ares);
    put_count("hubs", -1); /* no hubs: null, as the thread baseline writes */
    put_string("stacks", NULL); /* libgreen's stack modes and live bytes: none here */
    put_count("live_bytes", -1);
    key("ok");
    printf(ok ? "true" : "false");
    if (!ok)
        put_string("error", r->error);
    put_count("wall_ns", ok ? r->wall_ns : -1);
    put_count("ops", ok ? r->ops : -1);
    key("ns_per_op");
    if (ok && r->ops > 0)
        printf("%.3f", (double)r->wall_ns / (double)r->ops);
    else
        printf("null");
    put_count("max_rss_kb", ru.ru_maxrss);
    put_count("cpu_ns", ok ? r->cpu_ns : -1);
    if (r->tasks >= 0)
        put_count("tasks_completed", r->tasks);
    if (r->errors >= 0)
        put_count("errors", r->errors);
    put_string("note", "plain pthreads (examples/peers/minimal): the C library's thread creation "
                       "and futex-based condition variables");
    printf("}\n");
}

/* Fail the cell: exit status code (1 a failure, 2 a usage error). */
static int fail(struct result *r, int code, const char *fmt, const char *arg)
{
    r->exit = code;
    snprintf(r->error, sizeof r->error, fmt, arg);
    return code;
}

/* ---- switch: a token between two threads ---- */

struct token {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    long long turn; /* even: main's, odd: the partner's */
    long long n;    /* round trips */
};

static void *partner(void *arg)
{
    struct token *t = arg;
    pthread_mutex_lock(&t->mu);
    for (long long i = 0; i < t->n; i++) {
        while (t->turn % 2 == 0)
            pthread_cond_wait(&t->cv, &t->mu);
        t->turn++;
        pthread_cond_broadcast(&t->cv);
    }
    pthread_mutex_unlock(&t->mu);
    return NULL;
}

/* n round trips; the number the partner took. */
static long long ping_pong(long long n)
{
    struct token t = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, n };
    pthread_t th;
    if (pthread_create(&th, NULL, partner, &t) != 0)
        return -1;
    pthread_mutex_lock(&t.mu);
    for (long long i = 0; i < n; i++) {
        t.turn++;
        pthread_cond_broadcast(&t.cv);
        while (t.turn % 2 == 1)
            pthread_cond_wait(&t.cv, &t.mu);
    }
    pthread_mutex_unlock(&t.mu);
    pthread_join(th, NULL);
    return t.turn / 2;
}

static int run_switch(struct params *p, struct result *r)
{
    if (p->n < 0)
        p->n = 100000;
    if (ping_pong(1000) != 1000) /* warm-up, untimed */
        return fail(r, 1, "%s", "the warm-up's round trips went wrong");
    long long t0 = now_ns(CLOCK_MONOTONIC), c0 = now_ns(CLOCK_PROCESS_CPUTIME_ID);
    long long done = ping_pong(p->n);
    r->wall_ns = now_ns(CLOCK_MONOTONIC) - t0;
    r->cpu_ns = now_ns(CLOCK_PROCESS_CPUTIME_ID) - c0;
    r->ops = 2 * p->n;
    r->tasks = done < 0 ? 0 : done;
    r->errors = p->n - r->tasks;
    return r->errors ? fail(r, 1, "%s", "round trips were missed") : 0;
}

/* ---- spawn: trivial threads, created and joined ---- */

static void *nothing(void *arg)
{
    return arg;
}

/* n threads, in batches of at most 1000 alive; how many ran. */
static long long spawn_join(long long n, const pthread_attr_t *attr)
{
    pthread_t th[1000];
    long long ran = 0;
    for (long long done = 0; done < n;) {
        int k = 0;
        for (; k < 1000 && done + k < n; k++)
            if (pthread_create(&th[k], attr, nothing, NULL) != 0)
                break;
        for (int i = 0; i < k; i++)
            ran += pthread_join(th[i], NULL) == 0;
        if (k == 0)
            break;
        done += k;
    }
    return ran;
}

static int run_spawn(struct params *p, struct result *r)
{
    if (p->n < 0)
        p->n = 10000;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    if (p->stack_kib > 0 && pthread_attr_setstacksize(&attr, (size_t)p->stack_kib * 1024) != 0)
        return fail(r, 2, "%s", "--stack-kib is below the C library's minimum");
    spawn_join(p->n < 1000 ? p->n : 1000, &attr); /* warm-up, untimed */
    long long t0 = now_ns(CLOCK_MONOTONIC), c0 = now_ns(CLOCK_PROCESS_CPUTIME_ID);
    r->tasks = spawn_join(p->n, &attr);
    r->wall_ns = now_ns(CLOCK_MONOTONIC) - t0;
    r->cpu_ns = now_ns(CLOCK_PROCESS_CPUTIME_ID) - c0;
    pthread_attr_destroy(&attr);
    r->ops = p->n;
    r->errors = p->n - r->tasks;
    return r->errors ? fail(r, 1, "%s", "threads could not be created") : 0;
}

/* ---- the command line ---- */

static const char *const standard[] = { "switch",  "yield", "spawn", "spawn-alive",
                                        "joinall", "pool",  "dns",   NULL };

/* getopt_long's values of the count options: COUNT + their place in
 * options[] after the first 6. */
enum { COUNT = 256 };

static const struct option options[] = {
    { "impl", required_argument, NULL, 'i' },
    { "switch", required_argument, NULL, 'S' },
    { "loop", required_argument, NULL, 'L' },
    { "url", required_argument, NULL, 'u' },
    { "cacert", required_argument, NULL, 'C' },
    { "help", no_argument, NULL, 'h' },
    { "n", required_argument, NULL, COUNT + 0 },
    { "concurrency", required_argument, NULL, COUNT + 1 },
    { "delay-ms", required_argument, NULL, COUNT + 2 },
    { "size", required_argument, NULL, COUNT + 3 },
    { "stack-kib", required_argument, NULL, COUNT + 4 },
    { "cpus", required_argument, NULL, COUNT + 5 },
    { "rounds", required_argument, NULL, COUNT + 6 },
    { "keepalive", required_argument, NULL, COUNT + 7 },
    { "tls", required_argument, NULL, COUNT + 8 },
    { "ares", required_argument, NULL, COUNT + 9 },
    { "hubs", required_argument, NULL, COUNT + 10 },
    { NULL, 0, NULL, 0 },
};

static void usage(FILE *f, const char *prog)
{
    fprintf(f,
            "usage: %s WORKLOAD --impl=" IMPL " [--n=N] [--stack-kib=S] [--cpus=C] [--rounds=R]\n"
            "       (the other options of the cell protocol are accepted and echoed)\n"
            "Workloads in this program:\n"
            "  switch       --impl=" IMPL
            "  two pthreads hand a token through a condition variable --n round trips\n"
            "  spawn        --impl=" IMPL "  pthread_create + pthread_join --n trivial threads\n",
            prog);
}

/* A count option into *v: a non-negative decimal integer. */
static int count(const char *name, const char *s, long long *v, struct result *r)
{
    char *end;
    *v = strtoll(s, &end, 10);
    if (!*s || *end || *v < 0) {
        *v = -1;
        r->exit = 2;
        snprintf(r->error, sizeof r->error, "--%s: '%s' is not a count", name, s);
        return 2;
    }
    return 0;
}

/* argv into p. 0, -1 after --help, or 2 with r's error set. */
static int parse(int argc, char **argv, struct params *p, struct result *r)
{
    long long *counts[] = { &p->n,      &p->concurrency, &p->delay_ms, &p->size, &p->stack_kib, &p->cpus,
                            &p->rounds, &p->keepalive,   &p->tls,      &p->ares, NULL };
    long long hubs = -1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "-:h", options, NULL)) != -1) {
        if (c >= COUNT && c <= COUNT + 10) {
            if (count(options[c - COUNT + 6].name, optarg, c == COUNT + 10 ? &hubs : counts[c - COUNT], r))
                return 2;
        } else if (c == 1) { /* "-": the arguments that are no option, in order */
            if (p->workload)
                return fail(r, 2, "a second workload: '%s'", optarg);
            p->workload = optarg;
        } else if (c == 'i') {
            p->impl = optarg;
        } else if (c == 'h') {
            return -1;
        } else if (c == '?' || c == ':') {
            return fail(r, 2, c == ':' ? "option %s needs a value" : "unknown option '%s'",
                        argv[optind - 1]);
        } /* --switch, --loop: no backend here (the protocol: note and ignore); --url, --cacert: unused */
    }
    if (p->workload == NULL)
        return fail(r, 2, "%s", "which workload?");
    if (p->impl == NULL || strcmp(p->impl, IMPL) != 0)
        return fail(r, 2, "this program runs --impl=" IMPL " only, not '%s'", p->impl ? p->impl : "(none)");
    if (p->keepalive > 1 || p->tls > 1 || p->ares > 1)
        return fail(r, 2, "%s", "--keepalive, --tls and --ares are 0 or 1");
    if (hubs == 0)
        return fail(r, 2, "%s", "--hubs=0: at least one");
    if (p->rounds == 0 || p->n == 0)
        return fail(r, 2, "%s", p->n == 0 ? "--n=0: the workload needs at least one" : "--rounds=0");
    return 0;
}

/* Keep the first C CPUs this process may use (0 or none given: all);
 * p->cpus becomes the count used. 0, or 2 when C is above the allowed. */
static int restrict_cpus(struct params *p, struct result *r)
{
    cpu_set_t set, keep;
    sched_getaffinity(0, sizeof set, &set);
    long long have = CPU_COUNT(&set), want = p->cpus > 0 ? p->cpus : have;
    if (want > have)
        return fail(r, 2, "%s", "--cpus is above the CPUs this process may use");
    CPU_ZERO(&keep);
    for (int cpu = 0, k = 0; cpu < CPU_SETSIZE && k < want; cpu++)
        if (CPU_ISSET(cpu, &set)) {
            CPU_SET(cpu, &keep);
            k++;
        }
    sched_setaffinity(0, sizeof keep, &keep);
    p->cpus = want;
    return 0;
}

int main(int argc, char **argv)
{
    struct params p = { NULL, NULL, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1 };
    struct result r = { .wall_ns = -1, .ops = -1, .cpu_ns = -1, .tasks = -1, .errors = -1 };
    p.rounds = 1;
    int rc = parse(argc, argv, &p, &r);
    if (rc < 0) {
        usage(stdout, argv[0]);
        return 0;
    }
    int (*fn)(struct params *, struct result *) = NULL;
    if (rc == 0 && strcmp(p.workload, "switch") == 0)
        fn = run_switch;
    else if (rc == 0 && strcmp(p.workload, "spawn") == 0)
        fn = run_spawn;
    for (const char *const *s = standard; rc == 0 && fn == NULL && *s; s++)
        if (strcmp(*s, p.workload) == 0)
            rc = fail(&r, 2, "workload %s is not implemented by peer " IMPL, p.workload);
    if (rc == 0 && fn == NULL)
        rc = fail(&r, 2, "unknown workload '%s'", p.workload);
    if (rc == 0)
        rc = restrict_cpus(&p, &r);
    /* --rounds=R: R runs in this process, their timed parts added up. */
    struct result sum = { .wall_ns = 0, .ops = 0, .cpu_ns = 0, .tasks = 0, .errors = 0 };
    for (long long i = 0; rc == 0 && i < p.rounds; i++) {
        struct result one = { .wall_ns = -1, .ops = -1, .cpu_ns = -1, .tasks = -1, .errors = -1 };
        rc = fn(&p, &one);
        sum.wall_ns += one.wall_ns;
        sum.ops += one.ops;
        sum.cpu_ns += one.cpu_ns;
        sum.tasks += one.tasks;
        sum.errors += one.errors;
        if (rc != 0)
            r = one;
    }
    if (rc == 0)
        r = sum;
    if (rc != 0)
        fprintf(stderr, "%s: %s\n", p.workload && rc == 1 ? p.workload : argv[0], r.error);
    if (rc == 2)
        fprintf(stderr, "(see %s --help)\n", argv[0]);
    write_line(&p, &r);
    return rc;
}
