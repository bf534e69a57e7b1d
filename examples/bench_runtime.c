/* examples/bench_runtime.c: libgreen's own targets, measured side by side
 * for the (context, loop) pair this binary is linked with:
 *   switch   raw green_ctx_switch ping-pong between two contexts (ns/switch)
 *   yield    green_yield between two green threads through the hub
 *            (ns/yield, and the ratio to the raw switch: target <= 2)
 *   spawn    spawn + joinall + release of N trivial green threads
 *            (ns/task, first run and warm run: target <= 100 ns on asm+libev)
 *   rss      resident memory per parked green thread with M alive
 *            (bytes/thread: target <= 4.5 KB)
 * Usage: greenbench-bench-runtime-<ctx>-<loop> [--switches=N] [--spawn=N]
 *        [--alive=N] [--reps=R]
 * One JSON object per measurement on stdout; commentary on stderr. Each
 * figure is the best of R repetitions (after a warm-up) except the cold
 * spawn run, which is the first. Switch and yield are timed in the thread's
 * CPU time (CLOCK_THREAD_CPUTIME_ID), so that other processes on a shared
 * machine do not inflate them; spawn is timed in wall-clock time too, since
 * its page faults may be served outside the thread's CPU time. */
#include "green.h"
#include "option_error.h"

#include "context.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static double cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void emit(const char *what, double value, const char *unit, long n, const char *extra)
{
    printf("{\"bench\":\"%s\",\"switch\":\"%s\",\"loop\":\"%s\",\"n\":%ld,\"value\":%.2f,"
           "\"unit\":\"%s\"%s%s}\n",
           what, green_backend_context(), green_backend_loop(), n, value, unit,
           extra != NULL ? "," : "", extra != NULL ? extra : "");
    fflush(stdout);
}

/* ---- raw switch ---- */

static green_ctx ctx_main, ctx_other;
static long switch_rounds;

static void ping(void *arg)
{
    (void)arg;
    for (;;)
        green_ctx_switch(&ctx_other, &ctx_main, NULL);
}

static double bench_switch(long n)
{
    green_stack_pool pool;
    green_stack *stack;
    if (green_stack_pool_init(&pool, 0, 1) != 0 || green_stack_new(&pool, &stack) != 0) {
        fprintf(stderr, "bench: no stack\n");
        exit(1);
    }
    if (green_ctx_make(&ctx_other, stack->base, stack->size, ping, NULL) != 0)
        exit(1);
    switch_rounds = n;
    for (long i = 0; i < 1000; i++)     /* Warm-up. */
        green_ctx_switch(&ctx_main, &ctx_other, NULL);
    double t0 = cpu_ns();
    for (long i = 0; i < n; i++)
        green_ctx_switch(&ctx_main, &ctx_other, NULL);
    double dt = cpu_ns() - t0;
    /* The context is left suspended in ping(); its stack goes with the pool. */
    green_stack_free(&pool, stack);
    green_stack_pool_close(&pool);
    return dt / (2.0 * (double)n);      /* Two switches per round trip. */
}

/* ---- yield between two green threads ---- */

static void *yielder(void *arg)
{
    long n = *(long *)arg;
    for (long i = 0; i < n; i++)
        green_yield();
    return NULL;
}

static double bench_yield(long n)
{
    green_thread *g[2];
    long warm = 1000;
    green_spawn(&g[0], yielder, &warm);
    green_spawn(&g[1], yielder, &warm);
    green_joinall(g, 2, GREEN_FOREVER);
    green_release(g[0]);
    green_release(g[1]);

    green_spawn(&g[0], yielder, &n);
    green_spawn(&g[1], yielder, &n);
    double t0 = cpu_ns();
    green_joinall(g, 2, GREEN_FOREVER);     /* The main thread parks; the two alternate. */
    double dt = cpu_ns() - t0;
    green_release(g[0]);
    green_release(g[1]);
    return dt / (2.0 * (double)n);
}

/* ---- spawn + join ---- */

static void *trivial(void *arg)
{
    return arg;
}

static double bench_spawn(long n, green_thread **gs, double *cpu_per_task)
{
    double t0 = now_ns(), c0 = cpu_ns();
    for (long i = 0; i < n; i++) {
        if (green_spawn(&gs[i], trivial, NULL) != 0) {
            fprintf(stderr, "bench: spawn failed at %ld\n", i);
            exit(1);
        }
    }
    if (green_joinall(gs, (size_t)n, GREEN_FOREVER) != n)
        exit(1);
    for (long i = 0; i < n; i++)
        green_release(gs[i]);
    *cpu_per_task = (cpu_ns() - c0) / (double)n;
    return (now_ns() - t0) / (double)n;
}

/* ---- memory per parked green thread ---- */

static long rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long size = 0, resident = 0;
    if (f == NULL)
        return -1;
    if (fscanf(f, "%ld %ld", &size, &resident) != 2)
        resident = -1;
    fclose(f);
    return resident * sysconf(_SC_PAGESIZE);
}

static void *park_on_event(void *arg)
{
    green_event_wait(arg, GREEN_FOREVER);
    return NULL;
}

static double bench_rss(long n, green_thread **gs)
{
    green_event *e;
    green_event_new(&e);
    long before = rss_bytes();
    for (long i = 0; i < n; i++)
        if (green_spawn(&gs[i], park_on_event, e) != 0)
            exit(1);
    green_yield();                      /* All run once and park. */
    long after = rss_bytes();
    green_stats st;
    green_stats_get(&st);
    if ((long)st.stacks_live != n)
        fprintf(stderr, "bench: only %zu of %ld parked\n", st.stacks_live, n);
    green_event_set(e);
    green_joinall(gs, (size_t)n, GREEN_FOREVER);
    for (long i = 0; i < n; i++)
        green_release(gs[i]);
    green_event_free(e);
    return (double)(after - before) / (double)n;
}

static const char *program;     /* This binary's name: one per backend pair. */

static int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", program);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, " (see %s --help)\n", program);
    va_end(ap);
    return 2;
}

/* The options, each a count of at least 1; returns 0, or 2 after saying
 * what is wrong. */
static int parse_args(int argc, char **argv, long *switches, long *spawns, long *alive, long *reps)
{
    enum { OPT_HELP = 256 };
    static const struct option options[] = {
        { "switches", required_argument, NULL, 's' },
        { "spawn", required_argument, NULL, 'n' },
        { "alive", required_argument, NULL, 'a' },
        { "reps", required_argument, NULL, 'r' },
        { "help", no_argument, NULL, OPT_HELP },
        { NULL, 0, NULL, 0 },
    };
    opterr = 0;
    int c, at;
    while ((c = getopt_long(argc, argv, ":h", options, &at)) != -1) {
        long *out;
        switch (c) {
        case 's': out = switches; break;
        case 'n': out = spawns; break;
        case 'a': out = alive; break;
        case 'r': out = reps; break;
        case 'h':
        case OPT_HELP:
            printf("usage: %s [--switches=N] [--spawn=N] [--alive=N] [--reps=R]\n"
                   "libgreen's own targets for this backend pair, one JSON line per figure:\n"
                   "raw switch and yield (N switches, default 2000000), spawn + join of N green\n"
                   "threads (default 1000000), resident memory per parked thread with N alive\n"
                   "(default 100000); each the best of R repetitions (default 5).\n",
                   program);
            exit(0);
        default: { /* ':' or '?': a missing value, or an unknown option. */
            char why[160];
            option_error(why, sizeof why, c, argv);
            return usage_error("%s", why);
        }
        }
        char *end;
        errno = 0;
        *out = strtol(optarg, &end, 10);
        if (optarg[0] < '0' || optarg[0] > '9' || *end != '\0' || errno != 0 || *out < 1)
            return usage_error("--%s=%s: expected an integer of at least 1", options[at].name, optarg);
    }
    if (optind < argc)
        return usage_error("unexpected argument '%s'", argv[optind]);
    return 0;
}

int main(int argc, char **argv)
{
    long switches = 2000000, spawns = 1000000, alive = 100000, reps = 5;
    program = strrchr(argv[0], '/') != NULL ? strrchr(argv[0], '/') + 1 : argv[0];
    int bad = parse_args(argc, argv, &switches, &spawns, &alive, &reps);
    if (bad != 0)
        return bad;
    char extra[256];

    int err = green_init(NULL);
    if (err != 0) {
        fprintf(stderr, "green_init: %s\n", green_strerror(err));
        return 1;
    }
    /* Interleaved, so that both see the same conditions on a shared machine. */
    double sw = 1e30, y = 1e30;
    for (long r = 0; r < reps; r++) {
        double v = bench_switch(switches);
        if (v < sw)
            sw = v;
        v = bench_yield(switches / 2);
        if (v < y)
            y = v;
    }
    emit("switch", sw, "ns/switch", switches, NULL);
    snprintf(extra, sizeof extra, "\"raw_switch_ns\":%.2f,\"ratio\":%.2f", sw, y / sw);
    emit("yield", y, "ns/yield", switches, extra);

    long most = spawns > alive ? spawns : alive;
    green_thread **gs = malloc((size_t)most * sizeof *gs);
    if (gs == NULL)
        return 1;
    /* Memory first, on a fresh hub, so the spawn runs cannot have cached anything. */
    double per = bench_rss(alive, gs);
    green_stats st;
    green_stats_get(&st);
    snprintf(extra, sizeof extra, "\"stack_size\":%zu", st.stack_size);
    emit("rss_per_parked_thread", per, "bytes", alive, extra);
    green_fini();
    green_init(NULL);

    memset(gs, 0, (size_t)most * sizeof *gs);   /* Fault the handle array in first. */
    double cold_cpu, warm_cpu = 1e30, c;
    double cold = bench_spawn(spawns, gs, &cold_cpu);
    double warm = 1e30;
    for (long r = 0; r < reps; r++) {
        double v = bench_spawn(spawns, gs, &c);
        if (v < warm)
            warm = v;
        if (c < warm_cpu)
            warm_cpu = c;
    }
    green_stats_get(&st);
    snprintf(extra, sizeof extra,
             "\"cpu_ns\":%.2f,\"cold_ns\":%.2f,\"cold_cpu_ns\":%.2f,\"stacks_peak\":%zu",
             warm_cpu, cold, cold_cpu, st.stacks_peak);
    emit("spawn_join", warm, "ns/task", spawns, extra);
    fprintf(stderr, "%s+%s: switch %.1f ns, yield %.1f ns (%.2fx), spawn+join %.1f ns/task "
                    "(cpu %.1f; first run %.1f), %.0f bytes per parked thread\n",
            green_backend_context(), green_backend_loop(), sw, y, y / sw, warm, warm_cpu, cold, per);
    free(gs);
    green_fini();
    return 0;
}
