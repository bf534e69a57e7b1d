/* harness/programs.h: what exists in the bin directory (the cell programs
 * greenbench-cell-<switch>-<loop> and greenbench-cell-threads, the local
 * server, the peers' programs) and which of them runs a cell. Read by the
 * plan stage (what can be planned) and the run stage (what to exec);
 * docs/architecture.md, "Backends are chosen at link time". */
#ifndef GREENBENCH_PROGRAMS_H
#define GREENBENCH_PROGRAMS_H

#include <stdbool.h>
#include <stddef.h>

#include "catalog.h"
#include "cell.h"

/* What exists in the bin directory. */
struct gb_programs {
    char bin_dir[4096];
    size_t npairs;
    struct { char sw[GB_NAME], loop[GB_NAME]; } pairs[GB_MAX_LIST]; /* sorted */
    char switches[GB_MAX_LIST][GB_NAME]; size_t nswitches; /* distinct, sorted */
    char loops[GB_MAX_LIST][GB_NAME]; size_t nloops;
    bool threads, epoll, server; /* greenbench-cell-threads, -epoll, greenbench-server */
    bool dns;                    /* greenbench-dns */
    bool peer_found[GB_MAX_PEERS]; /* parallel to gb_peers */
};
/* Fill *p from the executables in bin_dir: greenbench-cell-<switch>-<loop>
 * split at the last dash (a loop's name has none), greenbench-cell-threads,
 * greenbench-server and each peer's program (an external peer's where its
 * absolute path says). An unreadable directory is an empty one. */
void gb_programs_scan(const char *bin_dir, struct gb_programs *p);
/* The bin directory, into out (n bytes): GREENBENCH_BIN_DIR, else the
 * directory of the greenbench binary, else ".". */
void gb_bin_dir(char *out, size_t n);
/* The path of the program that runs cell c (malloc'd): threads' or epoll's
 * program, the peer's, or for green the cell's switch and loop (no switch:
 * asm when built, else the first; no loop: libev when built). NULL, with
 * why (whylen bytes) saying what is missing, when there is none. */
char *gb_cell_program(const struct gb_programs *p, const struct gb_cell *c, char *why,
                      size_t whylen);

#endif /* GREENBENCH_PROGRAMS_H */
