/* tests/fake_cells/fake_cell.c: a stand-in cell program for the harness
 * tests. Installed under the real names (greenbench-cell-asm-libev, ...,
 * greenbench-cell-threads) in a test bin directory; obeys the cell protocol
 * with made-up but plausible numbers, and misbehaves on request:
 *   GB_FAKE="MODE@SELECTOR,..."  SELECTOR is matched as a substring of
 *   "/workload/impl/switch/loop/"; MODE is one of
 *   crash (SIGSEGV), abort, hang (sleeps, with a grandchild holding the
 *   pipes), garbage (last line not JSON), nojson (prints nothing), fail
 *   (ok:false, exit 1), exit3 (ok:true JSON but exit 3), wrong (JSON for
 *   another workload), slow (sleeps GB_FAKE_SLOW_MS, default 300, then ok),
 *   x2 (ok, twice as slow), noisy (ok, 1 to 1000 times as slow, at
 *   random), stderrflood (200 KB of stderr, then ok),
 *   usage (a usage error: ok:false, exit 2), negative (ok, a negative wall_ns), lie (ok, ns_per_op 1 whatever
 *   wall_ns / ops), oneround (ok, echoes --rounds=R but runs one round),
 *   othern (ok, echoes an n it was not given), otherimpl (ok, for another
 *   impl), negcpu (ok, a negative cpu_ns), nocpu (ok, cpu_ns null), errors
 *   (ok, with 3 errors), exit2 (no JSON line, exit 2: an interpreter that
 *   could not start its script),
 *   threads (GB_FAKE_THREADS more threads, default 8, alive together for
 *   GB_FAKE_THREADS_MS, default 200, then ok: the harness's samples of its
 *   OS threads see 1 + GB_FAKE_THREADS).
 * GB_FAKE_NOISE sets the relative noise of the numbers (default 0.02).
 * --rounds=R multiplies the ops and the wall time, as a real cell's rounds do.
 * A workload whose catalog row's metric is memory per task
 * (GB_METRIC_RSS_PER_TASK), and dns, write rss_per_task_bytes.
 * A green switch cell writes its backend's floor (floor, floor_ns_per_op),
 * 1.05 times below its own figure, with the same relative noise; a green
 * spawn cell with one hub its first pass (cold_ns_per_op), 3 times its own
 * figure, likewise.
 * For joinall and pool it fetches --url once from the server, so the
 * harness's server handling is exercised end to end. */
#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "catalog.h"

/* The catalog's rows, as the harness reads them (harness/catalog.c). */
static const struct gb_workload rows[] = {
#define WORKLOAD(id, wl_name, green, threads, ...) { .name = wl_name, __VA_ARGS__ },
#include "../../workloads/catalog.def"
#undef WORKLOAD
};

static const struct gb_workload *row_of(const char *workload)
{
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        if (strcmp(rows[i].name, workload) == 0)
            return &rows[i];
    return NULL;
}

static const char *opt(int argc, char **argv, const char *name)
{
    size_t n = strlen(name);
    for (int i = 2; i < argc; i++)
        if (strncmp(argv[i], name, n) == 0 && argv[i][n] == '=')
            return argv[i] + n + 1;
    return NULL;
}

static long lopt(int argc, char **argv, const char *name, long dflt)
{
    const char *v = opt(argc, argv, name);
    return v ? strtol(v, NULL, 10) : dflt;
}

static const char *mode_for(const char *desc)
{
    static char mode[32];
    const char *spec = getenv("GB_FAKE");
    if (spec == NULL)
        return "";
    char *copy = strdup(spec);
    const char *found = "";
    for (char *t = strtok(copy, ","); t; t = strtok(NULL, ",")) {
        char *at = strchr(t, '@');
        if (at == NULL)
            continue;
        *at = '\0';
        if (strstr(desc, at + 1)) {
            snprintf(mode, sizeof mode, "%s", t);
            found = mode;
            break;
        }
    }
    free(copy);
    return found;
}

/* One of mode threads' threads: alive until the main thread lets go. */
static pthread_mutex_t hold = PTHREAD_MUTEX_INITIALIZER;

static void *held(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&hold);
    pthread_mutex_unlock(&hold);
    return NULL;
}

/* Mode threads: k threads alive together for ms, then joined. 0, or -1
 * when one could not be started. */
static int hold_threads(long k, long ms)
{
    pthread_t t[256];
    long started = 0;
    pthread_mutex_lock(&hold);
    while (started < k && started < 256 && pthread_create(&t[started], NULL, held, NULL) == 0)
        started++;
    usleep((useconds_t)ms * 1000);
    pthread_mutex_unlock(&hold);
    for (long i = 0; i < started; i++)
        pthread_join(t[i], NULL);
    return started == k ? 0 : -1;
}

/* GET url once; returns body bytes or -1. */
static long fetch(const char *url)
{
    int port = 0;
    if (sscanf(url, "http://127.0.0.1:%d", &port) != 1)
        return -1;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((unsigned short)port) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    const char req[] = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    if (write(fd, req, sizeof req - 1) < 0) {
        close(fd);
        return -1;
    }
    char buf[65536];
    long total = 0;
    ssize_t r;
    while ((r = read(fd, buf, sizeof buf)) > 0)
        total += r;
    close(fd);
    return total;
}

/* What mode makes the cell do before (or instead of) its result: an exit
 * status to end with, or -1 to go on to the result. */
static int act_on_mode(const char *mode, const char *workload, const char *impl)
{
    if (strcmp(mode, "crash") == 0) {
        fprintf(stderr, "fake cell: about to crash\n");
        signal(SIGSEGV, SIG_DFL); /* a sanitizer's handler would turn it into exit(1) */
        raise(SIGSEGV);
    }
    if (strcmp(mode, "abort") == 0)
        abort();
    if (strcmp(mode, "hang") == 0) {
        if (fork() == 0) /* a grandchild holding stdout and stderr */
            for (;;)
                pause();
        for (;;)
            pause();
    }
    if (strcmp(mode, "nojson") == 0)
        return 0;
    if (strcmp(mode, "garbage") == 0) {
        printf("{\"ok\": true, \"workload\": \"%s\"}\n", workload);
        printf("this is not JSON {{{\n");
        return 0;
    }
    if (strcmp(mode, "fail") == 0) {
        fprintf(stderr, "fake cell: failing on purpose\n");
        printf(
            "{\"workload\":\"%s\",\"impl\":\"%s\",\"ok\":false,\"error\":\"fake failure <&> \\\"quoted\\\"\"}\n",
            workload, impl);
        return 1;
    }
    if (strcmp(mode, "exit2") == 0) {
        fprintf(stderr, "python3: can't open file 'cell.py': [Errno 2] No such file or directory\n");
        return 2;
    }
    if (strcmp(mode, "usage") == 0) {
        printf("{\"workload\":\"%s\",\"impl\":\"%s\",\"ok\":false,\"error\":\"workload %s is not "
               "implemented by peer fake\"}\n",
               workload, impl, workload);
        return 2;
    }
    if (strcmp(mode, "slow") == 0) {
        const char *ms = getenv("GB_FAKE_SLOW_MS");
        usleep((useconds_t)(ms ? atol(ms) : 300) * 1000);
    }
    if (strcmp(mode, "threads") == 0) {
        const char *k = getenv("GB_FAKE_THREADS"), *ms = getenv("GB_FAKE_THREADS_MS");
        if (hold_threads(k ? atol(k) : 8, ms ? atol(ms) : 200) != 0) {
            printf(
                "{\"workload\":\"%s\",\"impl\":\"%s\",\"ok\":false,\"error\":\"cannot start threads\"}\n",
                workload, impl);
            return 1;
        }
    }
    if (strcmp(mode, "stderrflood") == 0)
        for (int i = 0; i < 4000; i++)
            fprintf(stderr, "flood line %04d: .............................................\n", i);
    return -1;
}

/* Made-up costs, ns per op, before noise. */
static double made_up_ns(const char *workload, bool green, const char *own_sw, long cpus, long n, long k,
                         long d)
{
    if (strcmp(workload, "switch") == 0)
        return green ? (strcmp(own_sw, "ucontext") == 0 ? 400 : 5) : (cpus == 2 ? 8000 : 2000);
    if (strcmp(workload, "yield") == 0)
        return green ? 60 : 1500;
    if (strncmp(workload, "spawn", 5) == 0)
        return green ? 300 : 20000;
    if (strcmp(workload, "joinall") == 0)
        return ((d > 0 ? d : 1) * 1e6 + (double)n * (green ? 20000 : 40000)) / (double)n;
    if (strcmp(workload, "pool") == 0)
        return ((double)((n + k - 1) / (k > 0 ? k : 1)) * (d > 0 ? d : 1) * 1e6 +
                (double)n * (green ? 20000 : 40000)) /
               (double)n;
    return 100;
}

/* The program's own switch backend, from its name (greenbench-cell-SW-LOOP),
 * as a real green cell knows it; "" for any other. */
static void own_switch(const char *base, const char *impl, char *sw, size_t size)
{
    sw[0] = '\0';
    if (strcmp(impl, "green") != 0 || strncmp(base, "greenbench-cell-", 16) != 0)
        return;
    const char *rest = base + 16, *dash = strrchr(rest, '-');
    if (dash)
        snprintf(sw, size, "%.*s", (int)(dash - rest), rest);
}

/* The fields some workloads add to the result line, after the common ones. */
static void print_workload_fields(const char *workload, bool green, const char *own_sw, double ns,
                                  double noise, long hubs)
{
    const struct gb_workload *row = row_of(workload);
    if ((row && row->metric == GB_METRIC_RSS_PER_TASK) || strcmp(workload, "dns") == 0)
        printf(",\"rss_per_task_bytes\":%.0f", (green ? 8192.0 : 20480.0) * (1 + 0.01 * (rand() % 3)));
    if (strcmp(workload, "switch") == 0 && green) {
        /* The backend's floor, as a real green switch cell measures it beside
         * the backend: 1.05 times faster, with noise of its own. */
        const char *floor = strcmp(own_sw, "asm-nofpu") == 0  ? "regs"
                            : strcmp(own_sw, "boost") == 0    ? "jump_fcontext"
                            : strcmp(own_sw, "ucontext") == 0 ? "swapcontext"
                                                              : "regs+fp";
        double floor_ns = ns / 1.05 * (1 + noise * (2.0 * rand() / RAND_MAX - 1));
        printf(",\"floor\":\"%s\",\"floor_ns_per_op\":%.3f", floor, floor_ns);
    }
    if (strcmp(workload, "spawn") == 0 && green && hubs == 1) {
        /* The first pass, page faults included, as one green hub times it. */
        double cold_ns = ns * 3 * (1 + noise * (2.0 * rand() / RAND_MAX - 1));
        printf(",\"cold_ns_per_op\":%.3f", cold_ns);
    }
}

/* ns as mode and the relative noise make it: x2 twice as slow, noisy 1 to
 * 1000 times, then within ±noise. */
static double with_noise(double ns, const char *mode, double noise)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    srand((unsigned)(ts.tv_nsec ^ getpid()));
    if (strcmp(mode, "x2") == 0)
        ns *= 2;
    /* Spread over 1 to 1000 times, evenly in log: a handful of such
     * numbers has an interval of its median within ±10% about once in
     * 10 000 tries, where ±50% gave it one try in a few. */
    if (strcmp(mode, "noisy") == 0)
        ns *= exp(log(1000.0) * rand() / RAND_MAX);
    return ns * (1 + noise * (2.0 * rand() / RAND_MAX - 1));
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s WORKLOAD --impl=...\n", argv[0]);
        return 2;
    }
    const char *workload = argv[1];
    const char *impl = opt(argc, argv, "--impl");
    const char *sw = opt(argc, argv, "--switch");
    const char *loop = opt(argc, argv, "--loop");
    const char *url = opt(argc, argv, "--url");
    long n = lopt(argc, argv, "--n", 1000), k = lopt(argc, argv, "--concurrency", -1);
    long d = lopt(argc, argv, "--delay-ms", -1), size = lopt(argc, argv, "--size", -1);
    long cpus = lopt(argc, argv, "--cpus", -1);
    if (impl == NULL) {
        printf("{\"ok\":false,\"error\":\"--impl is required\"}\n");
        return 2;
    }
    const char *base = strrchr(argv[0], '/');
    base = base ? base + 1 : argv[0];
    char own_sw[64];
    own_switch(base, impl, own_sw, sizeof own_sw);
    if (sw && own_sw[0] && strcmp(sw, own_sw) != 0) {
        printf("{\"ok\":false,\"error\":\"this program is built for switch %s, not %s\"}\n", own_sw, sw);
        return 2;
    }
    char desc[256];
    snprintf(desc, sizeof desc, "/%s/%s/%s/%s/", workload, impl, own_sw, loop ? loop : "");
    const char *mode = mode_for(desc);
    fprintf(stderr, "fake cell %s: %s (mode '%s')\n", base, desc, mode);
    fflush(stderr);

    int status = act_on_mode(mode, workload, impl);
    if (status >= 0)
        return status;

    bool green = strcmp(impl, "green") == 0;
    double ns = made_up_ns(workload, green, own_sw, cpus, n, k, d);
    double noise = 0.02;
    if (getenv("GB_FAKE_NOISE")) /* 0: identical numbers every time */
        noise = atof(getenv("GB_FAKE_NOISE"));
    ns = with_noise(ns, mode, noise);
    long bytes = -1;
    if (strcmp(workload, "joinall") == 0 || strcmp(workload, "pool") == 0) {
        bytes = url ? fetch(url) : -1;
        if (bytes < 0) {
            printf("{\"workload\":\"%s\",\"impl\":\"%s\",\"ok\":false,\"error\":\"cannot fetch %s\"}\n",
                   workload, impl, url ? url : "(no --url)");
            return 1;
        }
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    long rounds = lopt(argc, argv, "--rounds", 1); /* each round is n more ops */
    long ran = strcmp(mode, "oneround") == 0 ? 1 : rounds;
    /* Whole nanoseconds, and ns_per_op from them, as a real cell's. */
    double wall = round(ns * (double)n * (double)ran);
    ns = wall / (double)(n * ran);
    double cores = green ? 0.95 : 1.6;
    char cpu_text[32];
    snprintf(cpu_text, sizeof cpu_text, "%.0f", wall * cores * (strcmp(mode, "negcpu") == 0 ? -1 : 1));
    if (strcmp(mode, "nocpu") == 0)
        snprintf(cpu_text, sizeof cpu_text, "null");
    printf("fake commentary on stdout before the result\n");
    printf("{\"workload\":\"%s\",\"impl\":\"%s\",\"switch\":%s%s%s,\"loop\":%s%s%s,\"n\":%ld,"
           "\"concurrency\":%ld,\"delay_ms\":%ld,\"size\":%ld,\"cpus\":%ld,\"rounds\":%ld,\"ok\":true,"
           "\"wall_ns\":%.0f,\"ops\":%ld,\"ns_per_op\":%.3f,\"max_rss_kb\":%ld,\"cpu_ns\":%s,"
           "\"tasks_completed\":%ld,\"bytes_received\":%ld",
           strcmp(mode, "wrong") == 0 ? "other" : workload, strcmp(mode, "otherimpl") == 0 ? "other" : impl,
           own_sw[0] ? "\"" : "", own_sw[0] ? own_sw : "null", own_sw[0] ? "\"" : "", loop ? "\"" : "",
           loop ? loop : "null", loop ? "\"" : "", strcmp(mode, "othern") == 0 ? n * 10 : n, k, d, size,
           cpus > 0 ? cpus : 1, rounds, strcmp(mode, "negative") == 0 ? -wall : wall, n * ran,
           strcmp(mode, "lie") == 0 ? 1.0 : ns, ru.ru_maxrss, cpu_text, n * ran, bytes);
    if (strcmp(mode, "errors") == 0)
        printf(",\"errors\":3");
    print_workload_fields(workload, green, own_sw, ns, noise, lopt(argc, argv, "--hubs", 1));
    printf("}\n");
    return strcmp(mode, "exit3") == 0 ? 3 : 0;
}
