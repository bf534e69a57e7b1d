/* harness/catalog.h: what can be measured, as data: the axes of the matrix
 * (axes.def, one row each), the workloads (workloads/catalog.def, one row
 * each), the peers, the backend names the harness knows of, and the sizes
 * of names and lists. The plan, run, results, report and plot stages all
 * read these tables; nothing else in the harness names a workload or an
 * axis. How to add one: docs/extending.md. */
#ifndef GREENBENCH_CATALOG_H
#define GREENBENCH_CATALOG_H

#include <stdbool.h>
#include <stddef.h>

#define GB_MAX_LIST 32 /* values of one option, programs of one kind */
#define GB_NAME 32     /* bytes of a name (workload, implementation, backend), NUL included */

/* Is s one of the n names of list. */
bool gb_name_in(const char list[][GB_NAME], size_t n, const char *s);
/* Append name to list (*n names) unless it is there or the list is full
 * (GB_MAX_LIST). */
void gb_name_add(char list[][GB_NAME], size_t *n, const char *name);

/* ---- axes ---- */

/* Which workloads gb_workload_names lists. */
enum gb_pick {
    GB_PICK_NONE,
    GB_PICK_ALL,
    GB_PICK_SERVER, /* those greenbench-server serves (GB_SERVER_HTTP) */
    GB_PICK_NO_LOOP,
    GB_PICK_EPOLL,
    GB_PICK_HUBS,
    GB_PICK_PER_ITERATION,
    GB_PICK_THREADS_CPUS,
    GB_PICK_AXIS, /* those taking the axis given */
};

/* What an axis says of a cell (axes.def, "kind"). */
enum gb_axis_kind {
    GB_KIND_WORK,
    GB_KIND_SETUP,
    GB_KIND_FLAG,
    GB_KIND_VARIANT,
    GB_KIND_GREEN,
    GB_KIND_GREEN_WORK
};

/* The axes of the matrix (axes.def). */
enum gb_axis_id {
#define GB_AXIS(ID, ...) GB_AXIS_##ID,
#include "axes.def"
#undef GB_AXIS
    GB_NAXES
};
enum {
#define GB_AXIS(ID, ...) GB_AX_##ID = 1u << GB_AXIS_##ID,
#include "axes.def"
#undef GB_AXIS
    GB_AX_ALL = (1u << GB_NAXES) - 1,
    GB_AX_SETUP = 0u
#define GB_AXIS(ID, field, option, key, unit, label, min, max, kind, ...) \
    | ((kind) == GB_KIND_SETUP ? GB_AX_##ID : 0u)
#include "axes.def"
#undef GB_AXIS
    ,
    GB_AX_SERIES = 0u /* the axes that belong to a cell's series */
#define GB_AXIS(ID, field, option, key, unit, label, min, max, kind, ...) \
    | ((kind) != GB_KIND_WORK && (kind) != GB_KIND_GREEN_WORK ? GB_AX_##ID : 0u)
#include "axes.def"
#undef GB_AXIS
    ,
    GB_AX_VARIANT = 0u /* the axes not matched between cells (GB_KIND_VARIANT, _GREEN, _GREEN_WORK) */
#define GB_AXIS(ID, field, option, key, unit, label, min, max, kind, ...)                                \
    | ((kind) == GB_KIND_VARIANT || (kind) == GB_KIND_GREEN || (kind) == GB_KIND_GREEN_WORK ? GB_AX_##ID \
                                                                                            : 0u)
#include "axes.def"
#undef GB_AXIS
    ,
    GB_AX_WORK = GB_AX_ALL & ~GB_AX_SETUP, /* the axes a workload may take */
    GB_AX_SAME_WORK = GB_AX_WORK & ~GB_AX_VARIANT, /* cells equal in these measure the same work */
};
/* An axis as axes.def describes it. */
struct gb_axis {
    const char *name;     /* its field: the JSON key and CSV column */
    const char *option, *key, *unit, *label;
    long min, max; /* the values its option takes */
    bool setup;  /* every workload takes it (GB_KIND_SETUP) */
    bool series; /* it belongs to the series (GB_KIND_SETUP, GB_KIND_FLAG) */
    bool flag;   /* on or off, spelled by its key alone when on (GB_KIND_FLAG, _VARIANT) */
    bool variant; /* another way of doing the same work (GB_KIND_VARIANT) */
    bool green;   /* green cells only, the others not at all (GB_KIND_GREEN, _GREEN_WORK) */
    const char *metavar, *help;
    enum gb_pick pick;
    /* Where its value is in struct gb_cell, gb_run_opts, gb_preset_values. */
    size_t cell_off, opts_off, preset_off;
};
extern const struct gb_axis gb_axes[GB_NAXES];

/* ---- presets: each workload's row holds its values ---- */

enum gb_preset { GB_PRESET_DEFAULT, GB_PRESET_QUICK, GB_PRESET_FULL, GB_NPRESETS };

/* One preset's values for one workload, per axis: lists written
 * GB_VALUES(a, b, ...), which end them with GB_END; an axis a preset does
 * not give has no GB_END (all zeros), so that 0 can be a value. */
#define GB_PRESET_VALUES 8
#define GB_END (-1L)
#define GB_VALUES(...)      \
    {                       \
        __VA_ARGS__, GB_END \
    }
struct gb_preset_values {
#define GB_AXIS(ID, field, ...) long field[GB_PRESET_VALUES];
#include "axes.def"
#undef GB_AXIS
    long n_threads[GB_PRESET_VALUES]; /* when set, n of the thread baseline and the peers */
};

/* Axis a's values in a preset (a list ending with GB_END, or none). */
const long *gb_preset_axis(const struct gb_preset_values *p, enum gb_axis_id a);
/* How many values a preset's list has: those before GB_END, 0 when it has
 * no GB_END (not given). */
size_t gb_preset_count(const long *v);

/* ---- workloads ---- */

/* The local server a workload's cells talk to, which the harness starts:
 * greenbench-server (HTTP), or greenbench-dns --private-net, whose network
 * and mount namespaces the cells join (docs/architecture.md, "Resolving
 * names"). */
enum gb_server_kind { GB_SERVER_NONE, GB_SERVER_HTTP, GB_SERVER_DNS };

/* What a workload's plot and its report rows show besides time per op. */
enum gb_metric { GB_METRIC_NS_PER_OP, GB_METRIC_OPS_PER_S, GB_METRIC_RSS_PER_TASK };
enum gb_chart { GB_CHART_NONE, GB_CHART_BARS, GB_CHART_LINES };

/* A row of the workload catalog (workloads/catalog.def), as the harness
 * plans, checks and reports it. */
struct gb_workload {
    const char *name;
    const char *what;      /* one line for `list` and the report */
    const char *op;        /* the unit of one op, for "ns per <op>" */
    unsigned axes;         /* GB_AX_* it takes, besides the setup ones every workload takes */
    bool uses_loop;        /* green variant depends on the loop backend */
    enum gb_server_kind server; /* the local server the harness starts for it */
    const char *peers;     /* the peers that implement it, comma-separated */
    const char *variant_impls; /* the implementations that take its variant axes
                                  (GB_KIND_VARIANT) on, comma-separated; the others
                                  run them off only */
    bool loop_only;        /* its green figure depends on the loop backend, not the
                              switch: without --switch, one switch per loop */
    bool per_iteration;    /* ns per op does not depend on n: compared across n */
    bool threads_cpus_1_2; /* without --cpus, threads run on one CPU and on two */
    bool peers_cpus_1_all; /* without --cpus, multicore peers run on one CPU and on all */
    bool epoll;            /* greenbench-cell-epoll implements it: the event-driven ceiling */
    bool hubs;             /* a green cell with --cpus=C runs C hubs (--hubs), one per CPU; on
                              machines with more than 2 CPUs the presets sweep C */
    /* The axis (GB_AX_*) whose value counts the sockets, and the tasks, a
     * cell holds at once (preflight's limits); 0: none. */
    unsigned sockets, tasks;
    enum gb_metric metric;
    struct {
        enum gb_chart chart;
        const char *kind;  /* plots/<kind>.gp draws it */
        const char *title; /* its caption in the report */
        unsigned x;        /* a line chart's x axis (GB_AX_*) */
        const char *ideal; /* a line chart's ideal throughput x * 1000 / D, its label */
    } plot;
    struct gb_preset_values preset[GB_NPRESETS];
};
extern const struct gb_workload gb_workloads[];
extern const size_t gb_nworkloads;
/* The row named name, or NULL. */
const struct gb_workload *gb_workload_find(const char *name);
/* Does implementation impl ("green", "threads", a peer's name) take w's
 * variant axes on (its .variant_impls). */
bool gb_takes_variants(const struct gb_workload *w, const char *impl);

/* The unit w's figure is given in, from its row's .metric and .op, for
 * `greenbench list`: "ns per switch" (GB_METRIC_NS_PER_OP), "bytes of
 * memory (RSS) per task" (GB_METRIC_RSS_PER_TASK), "request/s, and ns per
 * request" (GB_METRIC_OPS_PER_S). Into out (n bytes). */
void gb_workload_unit(const struct gb_workload *w, char *out, size_t n);

/* The names of the workloads picked, in catalog order, separated by sep,
 * the last two by last ("a, b and c"); the caller frees it. */
char *gb_workload_names(enum gb_pick pick, unsigned axis, const char *sep, const char *last);

/* ---- peers ---- */

/* Peers: other systems' programs obeying the cell protocol (built by
 * workloads/peers/; docs/cell-protocol.md, "How a peer obeys it"). A peer
 * is present when its program exists in the bin directory. The built-in
 * rows come first; external peers (peers_ext.h: a peers file or `run
 * --peer`) are appended at start-up, so that every stage after it sees
 * one table. */
struct gb_peer {
    const char *name;     /* the --impl value */
    const char *program;  /* file name in the bin directory, or an absolute path */
    const char *package;  /* Debian package that brings its runtime */
    const char *version_cmd; /* sh -c command whose first output line is the version */
    const char *note;     /* why it may be missing */
    const char *includes; /* what its figures include that ours do not, for the report */
    bool multicore;       /* schedules over several cores: the workloads with
                             peers_cpus_1_all run on one CPU and on all */
    /* External peers only (NULL for the built-in ones): */
    const char *workloads;  /* the workloads it runs, comma-separated; NULL: the catalog's
                               rows naming it in .peers */
    char *const *args;      /* words after the program in its command, NULL-terminated */
    const char *source;     /* where it was registered: its peers file, or "--peer" */
    const char *setup;      /* sh -c command run once before a run's matrix; NULL: none */
};
#define GB_MAX_PEERS 64         /* size of gb_peers and gb_programs.peer_found (docs/peers.md) */
extern struct gb_peer gb_peers[GB_MAX_PEERS];
extern size_t gb_npeers;         /* the built-in peers, then the external ones */
extern const size_t gb_nbuiltin_peers;
/* Does the peer implement the workload (its .workloads, else its catalog
 * row lists the peer). */
bool gb_peer_runs(const struct gb_peer *peer, const char *workload);
/* The peer named name, or NULL. */
const struct gb_peer *gb_peer_find(const char *name);
/* Append p (its strings borrowed, kept for the process's life). 0, or
 * -EEXIST (a peer or implementation of that name) / -ENOSPC (GB_MAX_PEERS)
 * with err (errlen bytes) saying so. */
int gb_peer_add(const struct gb_peer *p, char *err, size_t errlen);

/* The context-switch and loop backends the harness knows by name, NULL-
 * terminated: `list` says "not built" for a missing one, and --switch /
 * --loop tell "not compiled in" from "unknown" (docs/extending.md). */
extern const char *const gb_known_switches[]; /* asm, asm-nofpu, ucontext, boost */
extern const char *const gb_known_loops[];    /* libev, libuv */

#endif /* GREENBENCH_CATALOG_H */
