/* harness/preflight.h: part of the meta stage: what skews results, read
 * before a run without changing anything (CPU governor, turbo, SMT, ASLR,
 * CPU use by other work, load, build type, socket, port and map limits), two quick measurements (a
 * system call, a first-touch page fault) that explain machine-dependent
 * ratios, the machine, and the versions of what is measured: all for
 * meta.json (docs/results-format.md, "meta.json") and the report. */
#ifndef GREENBENCH_PREFLIGHT_H
#define GREENBENCH_PREFLIGHT_H

#include <stddef.h>

#include "json.h"
#include "programs.h"

struct gb_reading {
    char name[48];
    char value[160];
    int level;           /* 0 fine, 1 note, 2 warning */
    char advice[256];
};
struct gb_preflight {
    struct gb_reading r[32];
    size_t n;
    double syscall_ns, fault_ns; /* measured, 0 when unknown */
};
/* Read what skews results into *pf: max_sockets and max_tasks are the most
 * sockets and tasks a planned cell holds at once (for the socket limits and
 * the map count; 0: none). It sleeps 0.2 s to see what other work uses the
 * CPUs; the two measurements take a fraction of a second. */
void gb_preflight(long max_sockets, long max_tasks, struct gb_preflight *pf);
/* meta.json's "preflight": the readings, syscall_ns, page_fault_ns. */
json_t *gb_preflight_to_json(const struct gb_preflight *pf);
/* meta.json's "machine": CPU model, CPUs online and allowed, memory,
 * kernel, whether it is virtualized. */
json_t *gb_machine_to_json(void);
/* meta.json's "versions": greenbench, the compiler and flags, the build,
 * libev, libuv, Boost.Context, CUnit, gnuplot, and each peer found in p
 * (NULL: none), from version probes (at most 5 s each). */
json_t *gb_versions_to_json(const struct gb_programs *p);

#endif /* GREENBENCH_PREFLIGHT_H */
