/* workloads/common/cell.c: main() of every cell program. Parses the cell options,
 * runs one workload from the program's table (--rounds times, adding the
 * rounds up), and writes the one JSON line of the cell protocol
 * (docs/cell-protocol.md) as the last line of stdout.
 * Human commentary goes to stderr. */
#include "cell.h"
#include "sysinfo.h"

#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stddef.h>
#include <inttypes.h>
#include <jansson.h>
#include <link.h>
#include <math.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static const char *const workload_names[] = {
#define WORKLOAD(id, name, ...) [WL_##id] = name,
#include "catalog.def"
#undef WORKLOAD
};

const char *workload_name(enum workload_id id)
{
    return workload_names[id];
}

long long cell_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static long long cpu_time_ns(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ((long long)ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000LL +
           ((long long)ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000LL;
}

void cell_measure_begin(cell_result *r)
{
    r->t0_cpu_ns = cpu_time_ns();
    r->t0_wall_ns = cell_now_ns();
}

/* ---- under libgreen-preload.so (the threads-preload implementation) ---- */

#define PRELOAD_LIBRARY "libgreen-preload.so"
#define PRELOAD_IMPL "threads-preload"

static int find_preload(struct dl_phdr_info *info, size_t size, void *found)
{
    (void)size;
    if (info->dlpi_name != NULL && strstr(info->dlpi_name, PRELOAD_LIBRARY) != NULL)
        *(bool *)found = true;
    return 0;
}

/* Is libgreen-preload.so loaded into this process (LD_PRELOAD). */
static bool preloaded(void)
{
    static int known = -1;
    if (known < 0) {
        bool found = false;
        dl_iterate_phdr(find_preload, &found);
        known = found;
    }
    return known;
}

/* Does --impl=threads-preload run workload id: joinall, pool and spawn,
 * whose every wait is a call the preload makes green. switch and yield
 * hand off through a raw futex and sched_yield, which no preload sees: on
 * one OS thread they would wait forever. */
static bool preload_runs(enum workload_id id)
{
    return preloaded() && (id == WL_joinall || id == WL_pool || id == WL_spawn);
}

void cell_measure_end(cell_result *r)
{
    r->wall_ns = cell_now_ns() - r->t0_wall_ns;
    r->cpu_ns = cpu_time_ns() - r->t0_cpu_ns;
    /* The point of the preload: its green threads are not OS threads. */
    if (preloaded())
        r->os_threads = sys_status_value("Threads");
}

int cell_fail(cell_result *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->error, sizeof r->error, fmt, ap);
    va_end(ap);
    r->ok = false;
    return -1;
}

int cell_usage_error(cell_result *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->error, sizeof r->error, fmt, ap);
    va_end(ap);
    r->ok = false;
    r->usage_error = true;
    return -1;
}

int cell_take_n(cell_params *p, cell_result *r, long long dflt, const char *needs)
{
    if (p->n < 0)
        p->n = dflt;
    return p->n == 0 ? cell_usage_error(r, "--n=0: %s", needs) : 0;
}

/* The CPUs this process may run on, in order; filled once by main(). */
static int allowed_cpus[CPU_SETSIZE];
static int allowed_count;
static int last_cpu_at_start;

int cell_server_cpu(void)
{
    return last_cpu_at_start;
}

int cell_pin_thread(int index)
{
    if (allowed_count == 0)
        return -EINVAL;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(allowed_cpus[index % allowed_count], &set);
    return -pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

/* Keep the first `want` allowed CPUs (want <= 0: all). Returns how many remain. */
static int restrict_cpus(long long want)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) != 0)
        return -errno;
    allowed_count = 0;
    for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
        if (!CPU_ISSET(cpu, &set))
            continue;
        last_cpu_at_start = cpu;
        if (want <= 0 || allowed_count < want)
            allowed_cpus[allowed_count++] = cpu;
    }
    if (want > 0 && allowed_count < want)
        return -ERANGE;
    CPU_ZERO(&set);
    for (int i = 0; i < allowed_count; i++)
        CPU_SET(allowed_cpus[i], &set);
    if (sched_setaffinity(0, sizeof set, &set) != 0)
        return -errno;
    return allowed_count;
}

/* Every connection a cell opens is a file descriptor, every thread a task:
 * take all the kernel lets this process have (soft limits up to the hard
 * ones). A workload that needs more says so (sysinfo.c). */
static void raise_limits(void)
{
    static const int which[] = { RLIMIT_NOFILE, RLIMIT_NPROC };
    for (size_t i = 0; i < sizeof which / sizeof which[0]; i++) {
        struct rlimit rl;
        if (getrlimit(which[i], &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
            rl.rlim_cur = rl.rlim_max;
            setrlimit(which[i], &rl);
        }
    }
}

/* ---- the JSON line ---- */

/* A string value; bytes that are not UTF-8 (a URL given by hand, say)
 * become '?', since jansson, rightly, refuses them. */
static json_t *text_value(const char *s)
{
    if (s == NULL)
        return json_null();
    json_t *v = json_string(s);
    if (v != NULL)
        return v;
    char fixed[1024];
    size_t n = 0;
    for (const unsigned char *q = (const unsigned char *)s; *q && n + 1 < sizeof fixed; q++)
        fixed[n++] = *q < 0x80 ? (char)*q : '?';
    fixed[n] = '\0';
    return json_string(fixed);
}

/* A count, or null when it was not given / does not apply. */
static json_t *count_value(long long v)
{
    return v < 0 ? json_null() : json_integer(v);
}

/* ns per op to the picosecond, as before: rounded, then printed with 15 digits. */
static json_t *per_op(long long ns, long long ops)
{
    return json_real(round((double)ns / (double)ops * 1e3) / 1e3);
}

static void write_result(FILE *f, const cell_params *p, const cell_result *r)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    json_t *o = json_object();
    json_object_set_new(o, "workload", text_value(p->workload));
    json_object_set_new(o, "impl", text_value(p->impl));
    json_object_set_new(o, "switch", text_value(r->switch_used));
    json_object_set_new(o, "loop", text_value(r->loop_used));
    json_object_set_new(o, "n", count_value(p->n));
    json_object_set_new(o, "concurrency", count_value(p->concurrency));
    json_object_set_new(o, "delay_ms", count_value(p->delay_ms));
    json_object_set_new(o, "size", count_value(p->size));
    json_object_set_new(o, "stack_kib", count_value(p->stack_kib));
    json_object_set_new(o, "cpus", count_value(p->cpus));
    json_object_set_new(o, "rounds", count_value(p->rounds));
    json_object_set_new(o, "keepalive", count_value(p->keepalive));
    json_object_set_new(o, "tls", count_value(p->tls));
    json_object_set_new(o, "ares", count_value(p->ares));
    json_object_set_new(o, "hubs", count_value(p->hubs));
    json_object_set_new(o, "stacks", p->stacks != NULL ? text_value(p->stacks) : json_null());
    json_object_set_new(o, "live_bytes", count_value(p->live_bytes));
    json_object_set_new(o, "ok", json_boolean(r->ok));
    if (!r->ok)
        json_object_set_new(o, "error", text_value(r->error[0] ? r->error : "failed without a message"));
    json_object_set_new(o, "wall_ns", count_value(r->wall_ns));
    json_object_set_new(o, "ops", count_value(r->ops));
    json_object_set_new(o, "ns_per_op",
                        r->ops > 0 && r->wall_ns >= 0 ? per_op(r->wall_ns, r->ops) : json_null());
    json_object_set_new(o, "max_rss_kb", count_value(ru.ru_maxrss));
    json_object_set_new(o, "cpu_ns", count_value(r->cpu_ns));
    const struct {
        const char *key;
        long long v;
    } checks[] = {
        { "tasks_completed", r->tasks_completed },
        { "bytes_received", r->bytes_received },
        { "errors", r->errors },
        { "max_in_flight", r->max_in_flight },
        { "connections", r->connections },
        { "rss_per_task_bytes", r->rss_per_task_bytes },
        { "os_threads", r->os_threads },
    };
    for (size_t i = 0; i < sizeof checks / sizeof checks[0]; i++)
        if (checks[i].v >= 0)          /* Only the checks the workload makes. */
            json_object_set_new(o, checks[i].key, json_integer(checks[i].v));
    if (r->floor != NULL && r->floor_wall_ns >= 0 && r->ops > 0) {
        json_object_set_new(o, "floor", text_value(r->floor));
        json_object_set_new(o, "floor_ns_per_op", per_op(r->floor_wall_ns, r->ops));
    }
    /* The first round's only: the process's first pass; every round has the same ops. */
    if (r->cold_wall_ns >= 0 && r->ops > 0)
        json_object_set_new(o, "cold_ns_per_op",
                            per_op(r->cold_wall_ns, r->ops / (p->rounds > 1 ? p->rounds : 1)));
    if (r->note != NULL)
        json_object_set_new(o, "note", text_value(r->note));
    json_dumpf(o, f, JSON_COMPACT | JSON_REAL_PRECISION(15));
    json_decref(o);
    fputc('\n', f);
    fflush(f);
}

/* ---- options ---- */

static const char *program;

/* --switch (the context-switch backend, not the workload) and --loop. */
enum { SWITCH, LOOP };
static const char *const backend_option[2] = { [SWITCH] = "switch", [LOOP] = "loop" };

static void usage(FILE *f)
{
    fprintf(f,
            "usage: %s WORKLOAD --impl=IMPL [--switch=S] [--loop=L] [--n=N] [--concurrency=K]\n"
            "       [--delay-ms=D] [--size=BYTES] [--url=URL] [--stack-kib=S] [--cpus=C] [--rounds=R]\n"
            "       [--keepalive=0|1] [--tls=0|1] [--cacert=FILE] [--ares=0|1] [--hubs=H]\n"
            "       [--stacks=private|copy:K] [--live-bytes=B]\n"
            "Runs one measurement and prints one JSON object on the last line of stdout.\n"
            "--cpus=C runs it on the first C CPUs it may use (default: 1 for --impl=green, epoll\n"
            "and threads-preload, one thread each, all for threads); the local server takes the\n"
            "last CPU.\n"
            "--rounds=R runs the workload R times in this process (default 1) and adds them up.\n"
            "--keepalive=1 keeps connections open: a pool worker reuses its one for its requests;\n"
            "a joinall task, which makes one request, leaves its open until after the timed part.\n"
            "--tls=1 fetches over https (the --url's, or a server of its own started with --tls),\n"
            "verifying the server's certificate against --cacert (default: the system's store).\n"
            "--ares=1 resolves names with c-ares in the hub's loop, 0 with getaddrinfo (dns).\n"
            "--hubs=H runs H hubs, an OS thread and a CPU each (green spawn, joinall, pool).\n"
            "--stacks=copy:K runs green threads on K shared stacks, copying the live part of a\n"
            "parked one's stack aside (green; default private: a stack each).\n"
            "--live-bytes=B keeps B bytes live on each side's stack across every switch\n"
            "(green switch and yield; default 0).\n"
            "Workloads in this program:\n",
            program);
    for (const workload *w = cell_workloads; w->run; w++)
        fprintf(f, "  %-12s --impl=%-8s %s\n", workload_name(w->id), w->impl, w->summary);
}

/* Parse a non-negative integer option value; the whole string must be a number.
 * A value that is not one leaves *out -1 (null in the JSON line). */
static int parse_count(const char *name, const char *text, long long *out, cell_result *r)
{
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || v < 0) {
        *out = -1;
        return cell_fail(r, "--%s=%s: expected a non-negative integer", name, text);
    }
    *out = v;
    return 0;
}

/* The options, in getopt_long's terms: each value's place in cell_params
 * (a count) or -1 (a name). */
enum { OPT_IMPL = 1000, OPT_SWITCH, OPT_LOOP, OPT_URL, OPT_CACERT, OPT_STACKS, OPT_HELP, OPT_COUNT };

/* --stacks: "private", "copy" (one shared stack) or "copy:K", kept as
 * "private" or "copy:K". 0, or -1 with r failed. */
static int parse_stacks(const char *text, cell_params *p, cell_result *r)
{
    static char normal[32];
    if (strcmp(text, "private") == 0) {
        p->stacks = "private";
        return 0;
    }
    char *end = NULL;
    errno = 0;
    long long k = strcmp(text, "copy") == 0 ? 1
                  : strncmp(text, "copy:", 5) == 0 && text[5] >= '0' && text[5] <= '9'
                      ? strtoll(text + 5, &end, 10)
                      : -1;
    if (k < 1 || k > 65536 || errno != 0 || (end != NULL && *end != '\0'))
        return cell_fail(r, "--stacks=%s: private, or copy:K with K shared stacks (1 to 65536)", text);
    snprintf(normal, sizeof normal, "copy:%lld", k);
    p->stacks = normal;
    return 0;
}
static const struct {
    const char *name;
    size_t offset;
} counts[] = {
    { "n", offsetof(cell_params, n) },
    { "concurrency", offsetof(cell_params, concurrency) },
    { "delay-ms", offsetof(cell_params, delay_ms) },
    { "size", offsetof(cell_params, size) },
    { "stack-kib", offsetof(cell_params, stack_kib) },
    { "cpus", offsetof(cell_params, cpus) },
    { "rounds", offsetof(cell_params, rounds) },
    { "keepalive", offsetof(cell_params, keepalive) },
    { "tls", offsetof(cell_params, tls) },
    { "ares", offsetof(cell_params, ares) },
    { "hubs", offsetof(cell_params, hubs) },
    { "live-bytes", offsetof(cell_params, live_bytes) },
};
#define NCOUNTS (sizeof counts / sizeof counts[0])

/* Returns 0, 1 for --help, or -1 with the error in r. */
static int parse_options(int argc, char **argv, cell_params *p, cell_result *r)
{
    enum { NNAMED = 7 };
    struct option longopts[NNAMED + NCOUNTS + 1] = {
        { "impl", required_argument, NULL, OPT_IMPL },
        { backend_option[SWITCH], required_argument, NULL, OPT_SWITCH },
        { backend_option[LOOP], required_argument, NULL, OPT_LOOP },
        { "url", required_argument, NULL, OPT_URL },
        { "cacert", required_argument, NULL, OPT_CACERT },
        { "stacks", required_argument, NULL, OPT_STACKS },
        { "help", no_argument, NULL, OPT_HELP },
    };
    for (size_t k = 0; k < NCOUNTS; k++)
        longopts[NNAMED + k] =
            (struct option){ counts[k].name, required_argument, NULL, OPT_COUNT + (int)k };
    opterr = 0;                 /* The errors go into the JSON line too. */
    optind = 1;
    int c;
    /* "-": arguments in their order, so that the workload named before a
     * bad option is still in the JSON line; ":": a missing value is ':'. */
    while ((c = getopt_long(argc, argv, "-:h", longopts, NULL)) != -1) {
        switch (c) {
        case 1:
            if (p->workload != NULL)
                return cell_fail(r, "unexpected argument '%s' (the workload is '%s')", optarg, p->workload);
            p->workload = optarg;
            break;
        case OPT_IMPL: p->impl = optarg; break;
        case OPT_SWITCH: p->switch_name = optarg; break;
        case OPT_LOOP: p->loop_name = optarg; break;
        case OPT_URL: p->url = optarg; break;
        case OPT_CACERT: p->cacert = optarg; break;
        case OPT_STACKS:
            if (parse_stacks(optarg, p, r) != 0)
                return -1;
            break;
        case OPT_HELP:
        case 'h': return 1;
        case ':': return cell_fail(r, "option %s needs a value", argv[optind - 1]);
        case '?':
            if (optopt != 0)
                return cell_fail(r, "unknown option '-%c'", optopt);
            return cell_fail(r, "unknown option '%s'", argv[optind - 1]);
        default: {
            size_t k = (size_t)(c - OPT_COUNT);
            if (parse_count(counts[k].name, optarg, (long long *)((char *)p + counts[k].offset), r) != 0)
                return -1;
        }
        }
    }
    if (p->workload == NULL)
        return cell_fail(r, "no workload given");
    if (p->impl == NULL)
        return cell_fail(r, "--impl is required (green, threads, epoll or a peer's name)");
    if (p->rounds == 0)
        return cell_fail(r, "--rounds=0: a cell runs at least one round");
    if (p->cpus == 0)
        return cell_fail(r, "--cpus=0: a cell runs on at least one CPU");
    if (p->keepalive > 1)
        return cell_fail(r, "--keepalive=%lld: 0 (a new connection per request) or 1", p->keepalive);
    if (p->tls > 1)
        return cell_fail(r, "--tls=%lld: 0 (plain HTTP) or 1 (HTTPS)", p->tls);
    if (p->ares > 1)
        return cell_fail(r, "--ares=%lld: 0 (getaddrinfo) or 1 (c-ares)", p->ares);
    if (p->cacert != NULL && p->tls != 1)
        return cell_fail(r, "--cacert needs --tls=1");
    if (p->hubs == 0)
        return cell_fail(r, "--hubs=0: a green cell runs at least one hub");
    return 0;
}

/* ---- rounds ---- */

/* What every round's result starts from: nothing measured, no check made. */
static cell_result fresh_result(const char *switch_used, const char *loop_used)
{
    return (cell_result){ .ok = true,
                          .switch_used = switch_used,
                          .loop_used = loop_used,
                          .ops = -1,
                          .wall_ns = -1,
                          .cpu_ns = -1,
                          .tasks_completed = -1,
                          .bytes_received = -1,
                          .errors = -1,
                          .max_in_flight = -1,
                          .connections = -1,
                          .rss_per_task_bytes = -1,
                          .os_threads = -1,
                          .floor_wall_ns = -1,
                          .cold_wall_ns = -1 };
}

/* a + b for counts where -1 is "none": none only when both are. */
static long long add_counts(long long a, long long b)
{
    return b < 0 ? a : a < 0 ? b : a + b;
}

/* The first round's note: a workload keeps its note in static storage,
 * which the next round writes again. */
static char first_note[1024];

/* Add round k (from 1) of `rounds` into the cell's result: the timed parts
 * and the checks are sums, the most in flight a maximum; the backends, the
 * memory snapshot, spawn's first pass and the note are the first round's. A failed round's
 * error becomes the cell's, "round K of R: " first when R > 1 (not for a
 * usage error: the parameters are every round's, and it comes in the first). */
static void add_round(cell_result *total, const cell_result *round, long long k, long long rounds)
{
    if (k == 1) {
        *total = *round;
        if (round->note != NULL) {
            snprintf(first_note, sizeof first_note, "%s", round->note);
            total->note = first_note;
        }
    } else {
        total->wall_ns = add_counts(total->wall_ns, round->wall_ns);
        total->cpu_ns = add_counts(total->cpu_ns, round->cpu_ns);
        total->ops = add_counts(total->ops, round->ops);
        total->tasks_completed = add_counts(total->tasks_completed, round->tasks_completed);
        total->bytes_received = add_counts(total->bytes_received, round->bytes_received);
        total->errors = add_counts(total->errors, round->errors);
        total->connections = add_counts(total->connections, round->connections);
        total->floor_wall_ns = add_counts(total->floor_wall_ns, round->floor_wall_ns);
        if (round->max_in_flight > total->max_in_flight)
            total->max_in_flight = round->max_in_flight;
        if (round->os_threads > total->os_threads)
            total->os_threads = round->os_threads;
        total->ok = round->ok;
        total->usage_error = round->usage_error;
    }
    if (!round->ok && !round->usage_error && rounds > 1) {
        const char *said = round->error[0] ? round->error : "failed without a message";
        char prefix[64];
        size_t plen = (size_t)snprintf(prefix, sizeof prefix, "round %lld of %lld: ", k, rounds);
        size_t slen = strnlen(said, sizeof total->error - 1 - plen);     /* Its end cut, if need be. */
        memmove(total->error + plen, said, slen);
        memcpy(total->error, prefix, plen);
        total->error[plen + slen] = '\0';
    }
}

/* The program's variant of p's workload and --impl (the thread variants
 * answer to threads-preload under the preload), or NULL with r failed
 * saying why. */
static const workload *find_workload(const cell_params *p, cell_result *r)
{
    bool known = false, preload = strcmp(p->impl, PRELOAD_IMPL) == 0;
    for (const workload *w = cell_workloads; w->run; w++) {
        if (strcmp(workload_name(w->id), p->workload) != 0)
            continue;
        known = true;
        if (strcmp(w->impl, p->impl) == 0 ||
            (preload && strcmp(w->impl, "threads") == 0 && preload_runs(w->id)))
            return w;
    }
    if (known && preload && !preloaded())
        cell_fail(r,
                  "--impl=%s runs the thread variants with " PRELOAD_LIBRARY " in LD_PRELOAD "
                  "(greenbench-peer-threads-preload sets it)",
                  p->impl);
    else if (known && preload)
        cell_fail(r, "workload %s is not implemented by peer %s", p->workload, PRELOAD_IMPL);
    else if (known)
        cell_fail(r, "workload '%s' has no --impl=%s variant in %s", p->workload, p->impl, program);
    else
        cell_fail(r, "unknown workload '%s' (see %s --help)", p->workload, program);
    return NULL;
}

/* A green program measures the backends it was linked with and no other:
 * a --switch or --loop naming another is the caller's mistake (-1, r
 * failed); for a program with no backends they are noted and ignored. Every
 * green workload runs on the pair it was built with (r's switch and loop);
 * the raw switch, which has no loop, clears loop_used itself. */
static int check_backends(const cell_params *p, cell_result *r)
{
    const char *built[2] = { [SWITCH] = cell_built_switch(), [LOOP] = cell_built_loop() };
    const char *asked[2] = { [SWITCH] = p->switch_name, [LOOP] = p->loop_name };
    r->switch_used = built[SWITCH];
    r->loop_used = built[LOOP];
    for (int i = 0; i < 2; i++) {
        if (asked[i] == NULL)
            continue;
        if (built[i] == NULL) {
            fprintf(stderr, "%s: note: --%s=%s does not apply to --impl=%s; ignored\n", program,
                    backend_option[i], asked[i], p->impl);
        } else if (strcmp(asked[i], built[i]) != 0) {
            cell_fail(r,
                      "--%s=%s: this program was built with the %s %s backend; run greenbench-cell-%s-%s",
                      backend_option[i], asked[i], built[i], backend_option[i],
                      i == SWITCH ? asked[SWITCH] : built[SWITCH], i == LOOP ? asked[LOOP] : built[LOOP]);
            return -1;
        }
    }
    return 0;
}

/* Each round is one run as it would be alone, warm-up, setup and teardown
 * its own, from the parameters as given: a workload fills in its defaults
 * in its copy. The line records the first round's (into *p); r adds them up. */
static void run_rounds(const workload *w, cell_params *p, cell_result *r)
{
    const cell_params given = *p;
    for (long long k = 1; k <= given.rounds; k++) {
        cell_params round_p = given;
        cell_result round_r = fresh_result(cell_built_switch(), cell_built_loop());
        int rc = w->run(&round_p, &round_r);
        if (rc != 0)
            round_r.ok = false;
        if (k == 1)
            *p = round_p;
        add_round(r, &round_r, k, given.rounds);
        if (!r->ok)
            break;
    }
}

int main(int argc, char **argv)
{
    program = argv[0];
    cell_params p = { .n = -1,
                      .concurrency = -1,
                      .delay_ms = -1,
                      .size = -1,
                      .stack_kib = -1,
                      .cpus = -1,
                      .rounds = 1,
                      .keepalive = -1,
                      .tls = -1,
                      .ares = -1,
                      .hubs = -1,
                      .live_bytes = -1 };
    cell_result r = fresh_result(NULL, NULL);
    int parsed = parse_options(argc, argv, &p, &r);
    if (parsed == 1) {
        usage(stdout);
        return 0;
    }
    if (parsed != 0) {
        fprintf(stderr, "%s: %s\n(see %s --help)\n", program, r.error, program);
        write_result(stdout, &p, &r);
        return 2;
    }
    const workload *w = find_workload(&p, &r);
    if (w == NULL) {
        fprintf(stderr, "%s: %s\n", program, r.error);
        write_result(stdout, &p, &r);
        return 2;
    }
    if (check_backends(&p, &r) != 0) {
        fprintf(stderr, "%s: %s\n", program, r.error);
        write_result(stdout, &p, &r);
        return 2;
    }
    /* Stack modes are libgreen's: nothing else has them. */
    if (strcmp(p.impl, "green") != 0 && (p.stacks != NULL || p.live_bytes >= 0)) {
        fprintf(stderr, "%s: note: --stacks and --live-bytes do not apply to --impl=%s; ignored\n", program,
                p.impl);
        p.stacks = NULL;
        p.live_bytes = -1;
    }
    raise_limits();
    /* A hub is one thread: a green cell runs on the first CPU it may use,
     * where the scheduler cannot put it beside the local server (on the
     * last, greenbench-server --cpu last). Unpinned, one pool run in six
     * came out 10 % slower on the 2-core machines. The epoll ceiling is one
     * thread too, and so is the thread program under the preload (its one
     * hub, the resolver's workers aside). Thread cells keep every CPU. */
    bool one_thread =
        strcmp(p.impl, "green") == 0 || strcmp(p.impl, "epoll") == 0 || strcmp(p.impl, PRELOAD_IMPL) == 0;
    long long want = p.cpus < 0 && one_thread ? 1 : p.cpus;
    int cpus = restrict_cpus(want);
    if (cpus < 0) {
        cell_fail(&r, "--cpus=%lld: %s", p.cpus,
                  cpus == -ERANGE ? "more CPUs than this process may use" : strerror(-cpus));
        write_result(stdout, &p, &r);
        return 2;
    }
    p.cpus = cpus;
    run_rounds(w, &p, &r);
    if (!r.ok)
        fprintf(stderr, "%s %s: %s\n", p.workload, p.impl, r.error);
    write_result(stdout, &p, &r);
    return r.ok ? 0 : r.usage_error ? 2 : 1;
}
