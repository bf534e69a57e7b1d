/* workloads/cell.c: main() of every cell program. Parses the cell options,
 * runs one workload from the program's table, and writes the one JSON line of
 * the cell protocol (docs/cell-protocol.md) as the last line of stdout.
 * Human commentary goes to stderr. */
#include "cell.h"

#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <inttypes.h>
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

void cell_measure_end(cell_result *r)
{
    r->wall_ns = cell_now_ns() - r->t0_wall_ns;
    r->cpu_ns = cpu_time_ns() - r->t0_cpu_ns;
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

static void json_string(FILE *f, const char *s)
{
    if (s == NULL) {
        fputs("null", f);
        return;
    }
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"': fputs("\\\"", f); break;
        case '\\': fputs("\\\\", f); break;
        case '\n': fputs("\\n", f); break;
        case '\r': fputs("\\r", f); break;
        case '\t': fputs("\\t", f); break;
        default:
            if (*p < 0x20)
                fprintf(f, "\\u%04x", *p);
            else
                fputc(*p, f);
        }
    }
    fputc('"', f);
}

/* A number, or null when it was not given / does not apply. */
static void json_count(FILE *f, const char *key, long long v)
{
    fprintf(f, ",\"%s\":", key);
    if (v < 0)
        fputs("null", f);
    else
        fprintf(f, "%lld", v);
}

static void write_result(FILE *f, const cell_params *p, const cell_result *r)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    fputs("{\"workload\":", f);
    json_string(f, p->workload);
    fputs(",\"impl\":", f);
    json_string(f, p->impl);
    fputs(",\"switch\":", f);
    json_string(f, r->switch_used);
    fputs(",\"loop\":", f);
    json_string(f, r->loop_used);
    json_count(f, "n", p->n);
    json_count(f, "concurrency", p->concurrency);
    json_count(f, "delay_ms", p->delay_ms);
    json_count(f, "size", p->size);
    json_count(f, "stack_kib", p->stack_kib);
    json_count(f, "cpus", p->cpus);
    fprintf(f, ",\"ok\":%s", r->ok ? "true" : "false");
    if (!r->ok) {
        fputs(",\"error\":", f);
        json_string(f, r->error[0] ? r->error : "failed without a message");
    }
    json_count(f, "wall_ns", r->wall_ns);
    json_count(f, "ops", r->ops);
    fputs(",\"ns_per_op\":", f);
    if (r->ops > 0 && r->wall_ns >= 0)
        fprintf(f, "%.3f", (double)r->wall_ns / (double)r->ops);
    else
        fputs("null", f);
    json_count(f, "max_rss_kb", ru.ru_maxrss);
    json_count(f, "cpu_ns", r->cpu_ns);
    if (r->tasks_completed >= 0)
        json_count(f, "tasks_completed", r->tasks_completed);
    if (r->bytes_received >= 0)
        json_count(f, "bytes_received", r->bytes_received);
    if (r->errors >= 0)
        json_count(f, "errors", r->errors);
    if (r->max_in_flight >= 0)
        json_count(f, "max_in_flight", r->max_in_flight);
    if (r->rss_per_task_bytes >= 0)
        json_count(f, "rss_per_task_bytes", r->rss_per_task_bytes);
    if (r->note != NULL) {
        fputs(",\"note\":", f);
        json_string(f, r->note);
    }
    fputs("}\n", f);
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
            "       [--delay-ms=D] [--size=BYTES] [--url=URL] [--stack-kib=S] [--cpus=C]\n"
            "Runs one measurement and prints one JSON object on the last line of stdout.\n"
            "--cpus=C runs it on the first C CPUs it may use (default: 1 for --impl=green, whose\n"
            "hub is one thread, all for threads); the local server takes the last CPU.\n"
            "Workloads in this program:\n",
            program);
    for (const workload *w = cell_workloads; w->run; w++)
        fprintf(f, "  %-12s --impl=%-8s %s\n", workload_name(w->id), w->impl, w->summary);
}

/* Parse a non-negative integer option value; the whole string must be a number. */
static int parse_count(const char *name, const char *text, long long *out, cell_result *r)
{
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || v < 0)
        return cell_fail(r, "--%s=%s: expected a non-negative integer", name, text);
    *out = v;
    return 0;
}

static int parse_options(int argc, char **argv, cell_params *p, cell_result *r)
{
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
    };
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strncmp(arg, "--", 2) != 0) {
            if (p->workload != NULL)
                return cell_fail(r, "unexpected argument '%s' (the workload is '%s')", arg, p->workload);
            p->workload = arg;
            continue;
        }
        const char *name = arg + 2, *eq = strchr(name, '='), *value;
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        if (eq) {
            value = eq + 1;
        } else if (i + 1 < argc) {
            value = argv[++i];
        } else {
            return cell_fail(r, "option --%s needs a value", name);
        }
#define IS(opt) (len == strlen(opt) && strncmp(name, opt, len) == 0)
        if (IS("impl")) {
            p->impl = value;
        } else if (IS(backend_option[SWITCH])) {
            p->switch_name = value;
        } else if (IS(backend_option[LOOP])) {
            p->loop_name = value;
        } else if (IS("url")) {
            p->url = value;
        } else {
            size_t k;
            for (k = 0; k < sizeof counts / sizeof counts[0]; k++) {
                if (IS(counts[k].name)) {
                    if (parse_count(counts[k].name, value, (long long *)((char *)p + counts[k].offset), r) != 0)
                        return -1;
                    break;
                }
            }
            if (k == sizeof counts / sizeof counts[0])
                return cell_fail(r, "unknown option '--%.*s'", (int)len, name);
        }
#undef IS
    }
    if (p->workload == NULL)
        return cell_fail(r, "no workload given");
    if (p->impl == NULL)
        return cell_fail(r, "--impl is required (green or threads)");
    return 0;
}

int main(int argc, char **argv)
{
    program = argv[0];
    if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        usage(stdout);
        return 0;
    }
    cell_params p = { .n = -1, .concurrency = -1, .delay_ms = -1, .size = -1, .stack_kib = -1, .cpus = -1 };
    cell_result r = { .ok = true, .ops = -1, .wall_ns = -1, .cpu_ns = -1, .tasks_completed = -1,
                      .bytes_received = -1, .errors = -1, .max_in_flight = -1, .rss_per_task_bytes = -1 };
    if (parse_options(argc, argv, &p, &r) != 0) {
        fprintf(stderr, "%s: %s\n", program, r.error);
        usage(stderr);
        write_result(stdout, &p, &r);
        return 2;
    }
    const workload *w;
    int workload_known = 0;
    for (w = cell_workloads; w->run; w++) {
        if (strcmp(workload_name(w->id), p.workload) == 0) {
            workload_known = 1;
            if (strcmp(w->impl, p.impl) == 0)
                break;
        }
    }
    if (w->run == NULL) {
        if (workload_known)
            cell_fail(&r, "workload '%s' has no --impl=%s variant in %s", p.workload, p.impl, program);
        else
            cell_fail(&r, "unknown workload '%s' (see %s --help)", p.workload, program);
        fprintf(stderr, "%s: %s\n", program, r.error);
        write_result(stdout, &p, &r);
        return 2;
    }
    /* A green program measures the backends it was linked with and no other:
     * a --switch or --loop naming another is the caller's mistake. */
    const char *built[2] = { [SWITCH] = cell_built_switch(), [LOOP] = cell_built_loop() };
    const char *asked[2] = { [SWITCH] = p.switch_name, [LOOP] = p.loop_name };
    /* Every green workload runs on the pair it was built with; the raw
     * switch, which has no loop, clears loop_used itself. */
    r.switch_used = built[SWITCH];
    r.loop_used = built[LOOP];
    for (int i = 0; i < 2; i++) {
        if (asked[i] == NULL)
            continue;
        if (built[i] == NULL) {
            fprintf(stderr, "%s: note: --%s=%s does not apply to --impl=%s; ignored\n",
                    program, backend_option[i], asked[i], p.impl);
        } else if (strcmp(asked[i], built[i]) != 0) {
            cell_fail(&r, "--%s=%s: this program was built with the %s %s backend; run greenbench-cell-%s-%s",
                      backend_option[i], asked[i], built[i], backend_option[i],
                      i == SWITCH ? asked[SWITCH] : built[SWITCH], i == LOOP ? asked[LOOP] : built[LOOP]);
            fprintf(stderr, "%s: %s\n", program, r.error);
            write_result(stdout, &p, &r);
            return 2;
        }
    }
    raise_limits();
    /* A hub is one thread: a green cell runs on the first CPU it may use,
     * where the scheduler cannot put it beside the local server (on the
     * last, greenbench-server --cpu last). Unpinned, one pool run in six
     * came out 10 % slower on the 2-core machines. Thread cells keep every
     * CPU. */
    long long want = p.cpus < 0 && strcmp(p.impl, "green") == 0 ? 1 : p.cpus;
    int cpus = restrict_cpus(want);
    if (cpus < 0) {
        cell_fail(&r, "--cpus=%lld: %s", p.cpus,
                  cpus == -ERANGE ? "more CPUs than this process may use" : strerror(-cpus));
        write_result(stdout, &p, &r);
        return 2;
    }
    p.cpus = cpus;
    int rc = w->run(&p, &r);
    if (rc != 0 || !r.ok) {
        r.ok = false;
        fprintf(stderr, "%s %s: %s\n", p.workload, p.impl, r.error);
    }
    write_result(stdout, &p, &r);
    return r.ok ? 0 : r.usage_error ? 2 : 1;
}
