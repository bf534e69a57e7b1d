/* harness/preflight.c: the readings, the two measurements, the machine and
 * the versions that meta.json records (preflight.h). */
#include "preflight.h"

#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "catalog.h"
#include "plot.h"
#include "process.h"
#include "util.h"

#ifndef GB_BUILD_TYPE
#define GB_BUILD_TYPE "unknown"
#endif
#ifndef GB_SANITIZE
#define GB_SANITIZE ""
#endif
#ifndef GB_COMPILER
#define GB_COMPILER "unknown"
#endif
#ifndef GB_C_FLAGS
#define GB_C_FLAGS ""
#endif

static struct gb_reading *add(struct gb_preflight *pf, const char *name, int level,
                              const char *advice, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static struct gb_reading *add(struct gb_preflight *pf, const char *name, int level,
                              const char *advice, const char *fmt, ...)
{
    if (pf->n >= sizeof pf->r / sizeof pf->r[0])
        return NULL;
    struct gb_reading *r = &pf->r[pf->n++];
    snprintf(r->name, sizeof r->name, "%s", name);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->value, sizeof r->value, fmt, ap);
    va_end(ap);
    r->level = level;
    snprintf(r->advice, sizeof r->advice, "%s", advice ? advice : "");
    return r;
}

/* The CPU's model name and whether it runs under a hypervisor. Read once per
 * process: the preflight and meta.json's machine both ask, the CPU does not
 * change meanwhile, and /proc/cpuinfo is long on a many-core machine. */
static void cpu_model(char *out, size_t n, bool *hypervisor)
{
    static char model[256];
    static bool hv, read;
    if (!read) {
        read = true;
        snprintf(model, sizeof model, "unknown");
        FILE *f = fopen("/proc/cpuinfo", "re");
        char line[4096];
        bool got = false;
        while (f && fgets(line, sizeof line, f)) {
            if (!got && strncmp(line, "model name", 10) == 0) {
                char *colon = strchr(line, ':');
                if (colon) {
                    colon++;
                    while (*colon == ' ' || *colon == '\t')
                        colon++;
                    colon[strcspn(colon, "\n")] = '\0';
                    snprintf(model, sizeof model, "%s", colon);
                    got = true;
                }
            }
            if (strncmp(line, "flags", 5) == 0 && strstr(line, " hypervisor"))
                hv = true;
        }
        if (f)
            fclose(f);
    }
    snprintf(out, n, "%s", model);
    *hypervisor = hv;
}

/* ns per getppid(2), the cheapest real system call. */
static double measure_syscall(void)
{
    enum { N = 200000 };
    for (int i = 0; i < 1000; i++)
        syscall(SYS_getppid);
    int64_t t0 = gb_now_ns();
    for (int i = 0; i < N; i++)
        syscall(SYS_getppid);
    return (double)(gb_now_ns() - t0) / N;
}

/* ns per first touch of a fresh anonymous 4 KiB page (a minor fault that
 * zeroes the page): the floor under every new stack page. */
static double measure_fault(void)
{
    const size_t size = 16u << 20, page = (size_t)sysconf(_SC_PAGESIZE);
    char *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return 0;
    madvise(m, size, MADV_NOHUGEPAGE);
    int64_t t0 = gb_now_ns();
    for (size_t off = 0; off < size; off += page)
        m[off] = 1;
    double ns = (double)(gb_now_ns() - t0) / (double)(size / page);
    munmap(m, size);
    return ns;
}

/* The CPUs: model, count, hypervisor, governor, turbo, SMT. */
static void cpu_readings(struct gb_preflight *pf, long ncpu)
{
    char v[256];
    bool hv;
    cpu_model(v, sizeof v, &hv);
    add(pf, "cpu", 0, NULL, "%s", v);
    add(pf, "cpus", 0, NULL, "%ld online, %ld allowed", sysconf(_SC_NPROCESSORS_ONLN), ncpu);
    if (hv)
        add(pf, "virtualized", 1,
            "system calls and page faults cost more under a hypervisor: coroutine-to-thread "
            "ratios come out larger than on bare metal",
            "yes (hypervisor flag in /proc/cpuinfo)");

    if (gb_file_line("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor", v, sizeof v))
        add(pf, "cpu governor", strcmp(v, "performance") == 0 ? 0 : 2,
            strcmp(v, "performance") == 0 ? NULL
                : "the clock changes with load; for stable numbers: cpupower frequency-set -g performance",
            "%s", v);
    else
        add(pf, "cpu governor", 1, "no cpufreq: clock fixed or managed by the host", "n/a");

    if (gb_file_line("/sys/devices/system/cpu/intel_pstate/no_turbo", v, sizeof v))
        add(pf, "turbo", strcmp(v, "1") == 0 ? 0 : 2,
            strcmp(v, "1") == 0 ? NULL
                : "turbo boost changes the clock with temperature and load: echo 1 > /sys/devices/system/cpu/intel_pstate/no_turbo",
            "%s", strcmp(v, "1") == 0 ? "off" : "on (intel_pstate)");
    else if (gb_file_line("/sys/devices/system/cpu/cpufreq/boost", v, sizeof v))
        add(pf, "turbo", strcmp(v, "0") == 0 ? 0 : 2,
            strcmp(v, "0") == 0 ? NULL
                : "boost changes the clock with temperature and load: echo 0 > /sys/devices/system/cpu/cpufreq/boost",
            "%s", strcmp(v, "0") == 0 ? "off" : "on (cpufreq boost)");
    else
        add(pf, "turbo", 1, "not visible from here (VM or no cpufreq driver)", "n/a");

    if (gb_file_line("/sys/devices/system/cpu/smt/active", v, sizeof v))
        add(pf, "smt", strcmp(v, "1") == 0 ? 1 : 0,
            strcmp(v, "1") == 0 ? "sibling hyperthreads share a core: cross-CPU numbers depend on placement" : NULL,
            "%s", strcmp(v, "1") == 0 ? "on" : "off");
}

#define BUSY_SAMPLE_S 0.2

/* The busy and the total clock ticks of the CPUs in set, from /proc/stat. */
static bool cpu_ticks(const cpu_set_t *set, unsigned long long *busy, unsigned long long *total)
{
    FILE *f = fopen("/proc/stat", "re");
    if (f == NULL)
        return false;
    char line[512];
    bool any = false;
    *busy = *total = 0;
    while (fgets(line, sizeof line, f)) {
        unsigned cpu;
        unsigned long long user, nice, sys, idle, iowait, irq, softirq, steal;
        if (sscanf(line, "cpu%u %llu %llu %llu %llu %llu %llu %llu %llu", &cpu, &user, &nice, &sys, &idle,
                   &iowait, &irq, &softirq, &steal) != 9 ||
            cpu >= CPU_SETSIZE || !CPU_ISSET(cpu, set))
            continue;
        /* Steal is time the hypervisor gave to other guests: competition too. */
        unsigned long long b = user + nice + sys + irq + softirq + steal;
        *busy += b;
        *total += b + idle + iowait;
        any = true;
    }
    fclose(f);
    return any;
}

/* How many of the CPUs this process may use other work keeps busy, sampled
 * while this process sleeps; -1 if unknown. */
static double others_busy_cpus(void)
{
    cpu_set_t set;
    unsigned long long b0, t0, b1, t1;
    if (sched_getaffinity(0, sizeof set, &set) != 0 || !cpu_ticks(&set, &b0, &t0))
        return -1;
    struct timespec pause = { 0, (long)(BUSY_SAMPLE_S * 1e9) };
    nanosleep(&pause, NULL);
    if (!cpu_ticks(&set, &b1, &t1) || t1 <= t0)
        return -1;
    return (double)(b1 - b0) / (double)(t1 - t0) * CPU_COUNT(&set);
}

/* The process and the build: ASLR, CPU use, build type. */
static void run_readings(struct gb_preflight *pf, long ncpu)
{
    char v[256];
    if (gb_file_line("/proc/sys/kernel/randomize_va_space", v, sizeof v))
        add(pf, "aslr", strcmp(v, "0") == 0 ? 0 : 1,
            strcmp(v, "0") == 0 ? NULL
                : "address layout differs per process: repetitions in fresh processes average over it",
            "%s (randomize_va_space=%s)", strcmp(v, "0") == 0 ? "off" : "on", v);

    double busy = others_busy_cpus(), limit = ncpu > 5 ? 0.05 * (double)ncpu : 0.25;
    if (busy >= 0)
        add(pf, "cpu use by other work", busy > limit ? 2 : 0,
            busy > limit ? "the cells share the CPUs with it: numbers will be noisy" : NULL,
            "%.2f of %ld CPUs, sampled for %.1f s before the run", busy, ncpu, BUSY_SAMPLE_S);
    /* A reading, not a warning: it lags a minute, and after the build that
     * greenbench run has just made it is high while the CPUs are idle. */
    if (gb_file_line("/proc/loadavg", v, sizeof v))
        add(pf, "load average", 0, NULL, "%.2f (1 min) on %ld CPUs", strtod(v, NULL), ncpu);

    bool debug = strcmp(GB_BUILD_TYPE, "Debug") == 0;
    bool san = GB_SANITIZE[0] != '\0';
    add(pf, "build", debug || san ? 2 : 0,
        debug || san ? "a debug or sanitizer build measures the instrumentation: rebuild with "
                       "-DCMAKE_BUILD_TYPE=Release and no GREEN_SANITIZE"
                     : NULL,
        "%s%s%s", GB_BUILD_TYPE, san ? ", sanitizers: " : "", GB_SANITIZE);
}

/* The limits a planned cell can run into: the listen backlog, ephemeral
 * ports, the map count, descriptors, and transparent hugepages. */
static void limit_readings(struct gb_preflight *pf, long max_sockets, long max_tasks)
{
    char v[256];
    if (gb_file_line("/proc/sys/net/core/somaxconn", v, sizeof v)) {
        long s = strtol(v, NULL, 10);
        bool low = max_sockets > 0 && s < max_sockets;
        add(pf, "somaxconn", low ? 2 : 0,
            low ? "the server's listen backlog is capped below the number of simultaneous "
                  "connects: SYNs get dropped and retried after 1 s (sysctl -w net.core.somaxconn=65535)"
                : NULL,
            "%ld", s);
    }
    if (gb_file_line("/proc/sys/net/ipv4/ip_local_port_range", v, sizeof v)) {
        long lo = 0, hi = 0;
        sscanf(v, "%ld %ld", &lo, &hi);
        bool low = max_sockets > 0 && hi - lo + 1 < 2 * max_sockets;
        add(pf, "ephemeral ports", low ? 2 : 0,
            low ? "too few local ports for the connections of a cell and the TIME_WAIT ones "
                  "of earlier cells (sysctl -w net.ipv4.ip_local_port_range='1024 65535')"
                : NULL,
            "%ld-%ld (%ld ports)", lo, hi, hi - lo + 1);
    }
    if (gb_file_line("/proc/sys/vm/max_map_count", v, sizeof v)) {
        long m = strtol(v, NULL, 10);
        bool low = max_tasks > 0 && m < 2 * max_tasks + 1000;
        add(pf, "vm.max_map_count", low ? 2 : 0,
            low ? "each stack with a guard page takes two mappings: spawn-alive at this N can fail "
                  "with ENOMEM (sysctl -w vm.max_map_count=262144)"
                : NULL,
            "%ld", m);
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        bool low = max_sockets > 0 && rl.rlim_cur != RLIM_INFINITY &&
                   (long)rl.rlim_cur < max_sockets + 64;
        add(pf, "RLIMIT_NOFILE", low ? 2 : 0,
            low ? "a cell cannot open one socket per task (ulimit -n, or raise the hard limit in "
                  "/etc/security/limits.conf)"
                : NULL,
            "soft %lld, hard %lld", (long long)rl.rlim_cur, (long long)rl.rlim_max);
    }
    if (gb_file_line("/sys/kernel/mm/transparent_hugepage/enabled", v, sizeof v)) {
        bool always = strstr(v, "[always]") != NULL;
        add(pf, "transparent hugepages", always ? 1 : 0,
            always ? "large stacks may be backed by 2 MiB pages, which changes memory per task" : NULL,
            "%s", v);
    }
}

void gb_preflight(long max_sockets, long max_tasks, struct gb_preflight *pf)
{
    memset(pf, 0, sizeof *pf);
    long ncpu = gb_allowed_cpus();
    cpu_readings(pf, ncpu);
    run_readings(pf, ncpu);
    limit_readings(pf, max_sockets, max_tasks);
    pf->syscall_ns = measure_syscall();
    pf->fault_ns = measure_fault();
    add(pf, "syscall cost", 0, NULL, "%.0f ns (getppid, measured)", pf->syscall_ns);
    add(pf, "page fault cost", 0, NULL, "%.0f ns (first touch of a 4 KiB page, measured)",
        pf->fault_ns);
}

json_t *gb_preflight_to_json(const struct gb_preflight *pf)
{
    json_t *readings = json_array();
    for (size_t i = 0; i < pf->n; i++) {
        const struct gb_reading *r = &pf->r[i];
        json_t *o = json_object();
        json_object_set_new(o, "name", gb_json_text(r->name));
        json_object_set_new(o, "value", gb_json_text(r->value));
        json_object_set_new(o, "level",
                            json_string(r->level == 2   ? "warning"
                                        : r->level == 1 ? "note"
                                                        : "ok"));
        json_object_set_new(o, "advice", gb_json_text(r->advice[0] ? r->advice : NULL));
        json_array_append_new(readings, o);
    }
    json_t *o = json_object();
    json_object_set_new(o, "readings", readings);
    json_object_set_new(o, "syscall_ns", gb_json_number(pf->syscall_ns));
    json_object_set_new(o, "page_fault_ns", gb_json_number(pf->fault_ns));
    return o;
}

json_t *gb_machine_to_json(void)
{
    char model[256];
    bool hv;
    cpu_model(model, sizeof model, &hv);
    struct utsname u;
    uname(&u);
    json_t *o = json_object();
    json_object_set_new(o, "cpu_model", gb_json_text(model));
    json_object_set_new(o, "cpus_online", json_integer(sysconf(_SC_NPROCESSORS_ONLN)));
    json_object_set_new(o, "cpus_allowed", json_integer(gb_allowed_cpus()));
    json_object_set_new(o, "memory_kb",
                        json_integer((json_int_t)sysconf(_SC_PHYS_PAGES) * (sysconf(_SC_PAGESIZE) / 1024)));
    char k[600];
    snprintf(k, sizeof k, "%s %s %s", u.sysname, u.release, u.machine);
    json_object_set_new(o, "kernel", gb_json_text(k));
    json_object_set_new(o, "kernel_version", gb_json_text(u.version));
    json_object_set_new(o, "virtualized", json_boolean(hv));
    return o;
}

/* The first probe that answers. */
static char *probe(const char *const *cmds[])
{
    for (size_t i = 0; cmds[i]; i++) {
        char *line = gb_command_line1((char *const *)cmds[i]);
        if (line)
            return line;
    }
    return NULL;
}

static void set_probe(json_t *o, const char *key, const char *const *cmds[])
{
    char *v = probe(cmds);
    json_object_set_new(o, key, gb_json_text(v));
    free(v);
}

json_t *gb_versions_to_json(const struct gb_programs *p)
{
    static const char *const ev1[] = { "dpkg-query", "-W", "-f=${Version}", "libev-dev", NULL };
    static const char *const ev2[] = { "dpkg-query", "-W", "-f=${Version}", "libev4", NULL };
    static const char *const ev3[] = { "pkg-config", "--modversion", "libev", NULL };
    static const char *const *ev[] = { ev1, ev2, ev3, NULL };
    static const char *const uv1[] = { "pkg-config", "--modversion", "libuv", NULL };
    static const char *const uv2[] = { "dpkg-query", "-W", "-f=${Version}", "libuv1-dev", NULL };
    static const char *const uv3[] = { "dpkg-query", "-W", "-f=${Version}", "libuv1", NULL };
    static const char *const *uv[] = { uv1, uv2, uv3, NULL };
    static const char *const bo1[] = { "dpkg-query", "-W", "-f=${Version}", "libboost-context-dev", NULL };
    static const char *const bo2[] = { "sh", "-c",
        "sed -n 's/^#define BOOST_LIB_VERSION \"\\(.*\\)\"/\\1/p' /usr/include/boost/version.hpp", NULL };
    static const char *const *bo[] = { bo1, bo2, NULL };
    static const char *const cu1[] = { "pkg-config", "--modversion", "cunit", NULL };
    static const char *const cu2[] = { "dpkg-query", "-W", "-f=${Version}", "libcunit1-dev", NULL };
    static const char *const *cu[] = { cu1, cu2, NULL };
    json_t *o = json_object();
    json_object_set_new(o, "greenbench", gb_json_text(GB_VERSION));
    json_object_set_new(o, "compiler", gb_json_text(GB_COMPILER));
    json_object_set_new(o, "c_flags", gb_json_text(GB_C_FLAGS));
    json_object_set_new(o, "build_type", gb_json_text(GB_BUILD_TYPE));
    json_object_set_new(o, "sanitize", gb_json_text(GB_SANITIZE[0] ? GB_SANITIZE : NULL));
    set_probe(o, "libev", ev);
    set_probe(o, "libuv", uv);
    set_probe(o, "boost_context", bo);
    set_probe(o, "cunit", cu);
    const char *gp = gb_gnuplot();
    char *gpv = NULL;
    if (gp) {
        char *argv[] = { (char *)gp, "--version", NULL };
        gpv = gb_command_line1(argv);
    }
    json_object_set_new(o, "gnuplot", gb_json_text(gpv));
    free(gpv);
    json_t *peers = json_object();
    for (size_t i = 0; i < gb_npeers; i++) {
        /* null: not found, or an external peer with no version command (the
         * report tells them apart by its external_peers entry) */
        char *pv = NULL;
        if (p && p->peer_found[i] && gb_peers[i].version_cmd[0]) {
            char *argv[] = { "sh", "-c", (char *)gb_peers[i].version_cmd, NULL };
            pv = gb_command_line1(argv);
            if (pv == NULL) { /* Found, but its version is not known: say why, not "not found". */
                fprintf(stderr, "greenbench: peer %s: its version command printed nothing or failed: %s\n",
                        gb_peers[i].name, gb_peers[i].version_cmd);
                pv = gb_xstrdup("not known: its version command printed nothing or failed");
            }
        }
        json_object_set_new(peers, gb_peers[i].name, gb_json_text(pv));
        free(pv);
    }
    json_object_set_new(o, "peers", peers);
    return o;
}
