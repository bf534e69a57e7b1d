/* workloads/common/sysinfo.c: machine limits and resident memory (sysinfo.h). */
#include "sysinfo.h"

#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

/* File descriptors a cell needs besides its connections: stdio, the loop's
 * epoll and wake-up fds, the resolver's pipes, a server's pipe. */
#define FD_RESERVE 64
/* Threads and mappings left for everything else (the C library, the loop). */
#define TASK_MARGIN 128
#define MAP_MARGIN 512

long long sys_read_ll(const char *path)
{
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return -1;
    long long v;
    int got = fscanf(f, "%lld", &v);
    fclose(f);
    return got == 1 ? v : -1;
}

long long sys_rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "re");
    if (f == NULL)
        return -1;
    long long size, resident;
    int got = fscanf(f, "%lld %lld", &size, &resident);
    fclose(f);
    return got == 2 ? resident * sysconf(_SC_PAGESIZE) : -1;
}

long long sys_peak_rss_reset(void)
{
    FILE *f = fopen("/proc/self/clear_refs", "we");
    if (f == NULL)
        return -1;
    int failed = fputs("5", f) == EOF;
    failed |= fclose(f) != 0;
    return failed ? -1 : sys_rss_bytes();
}

long long sys_status_value(const char *key)
{
    FILE *f = fopen("/proc/self/status", "re");
    if (f == NULL)
        return -1;
    char line[128];
    size_t len = strlen(key);
    long long v = -1;
    while (v < 0 && fgets(line, sizeof line, f) != NULL)
        if (strncmp(line, key, len) != 0 || line[len] != ':' || sscanf(line + len + 1, "%lld", &v) != 1)
            v = -1;
    fclose(f);
    return v;
}

long long sys_peak_rss_bytes(void)
{
    long long kib = sys_status_value("VmHWM");
    return kib < 0 ? -1 : kib * 1024;
}

int sys_check_connections(long long connections, char *msg, size_t len)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        connections + FD_RESERVE > (long long)rl.rlim_cur) {
        snprintf(msg, len,
                 "%lld connections at once need about %lld open files, but RLIMIT_NOFILE is %llu "
                 "(hard limit %llu): raise it (ulimit -n, limits.conf) or lower --n / --concurrency",
                 connections, connections + FD_RESERVE, (unsigned long long)rl.rlim_cur,
                 (unsigned long long)rl.rlim_max);
        return -1;
    }
    FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "re");
    long long lo, hi;
    if (f != NULL) {
        int got = fscanf(f, "%lld %lld", &lo, &hi);
        fclose(f);
        if (got == 2 && connections > hi - lo + 1) {
            snprintf(msg, len,
                     "%lld connections at once need as many local ports, but net.ipv4.ip_local_port_range "
                     "is %lld-%lld (%lld ports): widen it or lower --n / --concurrency",
                     connections, lo, hi, hi - lo + 1);
            return -1;
        }
    }
    return 0;
}

/* Tasks (threads of every process) on the machine now: /proc/loadavg's
 * fourth field is "runnable/total". */
static long long tasks_now(void)
{
    FILE *f = fopen("/proc/loadavg", "re");
    if (f == NULL)
        return 0;
    double a, b, c;
    long long running, total;
    int got = fscanf(f, "%lf %lf %lf %lld/%lld", &a, &b, &c, &running, &total);
    fclose(f);
    return got == 5 ? total : 0;
}

static long long mappings_now(void)
{
    FILE *f = fopen("/proc/self/maps", "re");
    if (f == NULL)
        return 0;
    long long lines = 0;
    int ch;
    while ((ch = getc_unlocked(f)) != EOF)
        lines += ch == '\n';
    fclose(f);
    return lines;
}

/* Keep the smaller of *room and candidate, and remember why. */
static void bind_room(long long *room, long long candidate, char *limit, size_t len, const char *fmt,
                      long long a, long long b)
{
    if (candidate < 0)
        candidate = 0;
    if (*room < 0 || candidate < *room) {
        *room = candidate;
        if (limit != NULL)
            snprintf(limit, len, fmt, a, b);
    }
}

/* Stacks with an mprotect(PROT_NONE) guard page: two mappings each. */
static long long two_mapping_room(char *limit, size_t len)
{
    long long room = -1, max_map = sys_read_ll("/proc/sys/vm/max_map_count");
    if (max_map > 0) {
        long long maps = mappings_now();
        bind_room(&room, (max_map - maps - MAP_MARGIN) / 2, limit, len,
                  "vm.max_map_count=%lld (%lld mappings in use; each stack and its guard page take two)",
                  max_map, maps);
    }
    if (room < 0) {
        room = 1LL << 40;
        if (limit != NULL)
            snprintf(limit, len, "no limit found");
    }
    return room;
}

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102  /* Linux 6.13 uapi; older C library headers lack it. */
#endif

/* Does this kernel have guard pages that do not split a mapping? libgreen's
 * stacks (backends/context/stack.c) use them when it does. */
static int lightweight_guards(void)
{
    long page = sysconf(_SC_PAGESIZE);
    void *p = mmap(NULL, 2 * (size_t)page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return 0;
    int ok = madvise(p, (size_t)page, MADV_GUARD_INSTALL) == 0;
    munmap(p, 2 * (size_t)page);
    return ok;
}

long long sys_stack_room(char *limit, size_t len)
{
    if (!lightweight_guards())
        return two_mapping_room(limit, len);
    /* Many stacks share a mapping: memory, not mappings, is the limit, and
     * libgreen reports it when it is reached. */
    if (limit != NULL)
        snprintf(limit, len, "no mapping limit (guard pages by MADV_GUARD_INSTALL)");
    return 1LL << 40;
}

long long sys_thread_room(char *limit, size_t len)
{
    long long room = two_mapping_room(limit, len), tasks = tasks_now();
    long long threads_max = sys_read_ll("/proc/sys/kernel/threads-max");
    long long pid_max = sys_read_ll("/proc/sys/kernel/pid_max");
    if (threads_max > 0)
        bind_room(&room, threads_max - tasks - TASK_MARGIN, limit, len,
                  "kernel.threads-max=%lld (with %lld tasks running)", threads_max, tasks);
    if (pid_max > 0)
        bind_room(&room, pid_max - tasks - TASK_MARGIN, limit, len,
                  "kernel.pid_max=%lld (with %lld tasks running)", pid_max, tasks);
    struct rlimit rl;
    if (geteuid() != 0 && getrlimit(RLIMIT_NPROC, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
        /* The user's own tasks are not cheap to count: count all of them. */
        bind_room(&room, (long long)rl.rlim_cur - tasks - TASK_MARGIN, limit, len,
                  "RLIMIT_NPROC=%lld (ulimit -u; with %lld tasks running)", (long long)rl.rlim_cur, tasks);
    }
    return room;
}
