/* workloads/common/sysinfo.h: the machine limits a cell runs into, read from /proc
 * and getrlimit, and the process's resident memory. A cell checks its needs
 * against these before it starts, so that it fails at once with an error
 * naming the limit instead of half-way through, or hanging. */
#ifndef GREEN_SYSINFO_H
#define GREEN_SYSINFO_H

#include <stddef.h>

/* The first integer in a file such as /proc/sys/kernel/pid_max; -1 if it
 * cannot be read. */
long long sys_read_ll(const char *path);

/* Resident memory of this process now, in bytes (/proc/self/statm); -1 on error. */
long long sys_rss_bytes(void);

/* Start a new peak of resident memory here (/proc/self/clear_refs "5",
 * Linux 4.0 on): returns the resident bytes now, -1 on error. */
long long sys_peak_rss_reset(void);
/* The number after "key:" in /proc/self/status ("Threads", "VmHWM" in kB),
 * or -1. */
long long sys_status_value(const char *key);
/* The peak of resident memory since the last reset, or since the process
 * began (VmHWM of /proc/self/status), in bytes; -1 on error. */
long long sys_peak_rss_bytes(void);

/* Check that `connections` sockets can be open at once (plus a reserve for
 * the loop, stdio and the like): against RLIMIT_NOFILE (the soft limit,
 * which cell.c has raised to the hard one) and the ephemeral port range
 * (net.ipv4.ip_local_port_range). Returns 0, or -1 with a message naming
 * the limit in msg. */
int sys_check_connections(long long connections, char *msg, size_t len);

/* How many more threads this process can have alive at once: the least of
 * kernel.threads-max and kernel.pid_max less the tasks that exist,
 * RLIMIT_NPROC (unless root), and vm.max_map_count less the mappings this
 * process has, over two (the C library guards a thread's stack with
 * mprotect: two mappings), all less a small margin. *limit (if not NULL) gets the binding
 * limit in words, e.g. "kernel.pid_max=32768 (with 412 tasks running)". */
long long sys_thread_room(char *limit, size_t len);

/* How many more of libgreen's guarded stacks this process may map: where
 * the kernel has guard pages that do not split a mapping (Linux 6.13
 * MADV_GUARD_INSTALL, which libgreen uses), no mapping limit applies; else
 * (vm.max_map_count - mappings now) / 2, less a margin. */
long long sys_stack_room(char *limit, size_t len);

#endif /* GREEN_SYSINFO_H */
