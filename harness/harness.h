/* harness/harness.h: the greenbench harness, one header for its modules.
 * The harness plans a matrix of cells, runs each repetition of each cell as a
 * child process that prints one JSON line (DESIGN.md §5), keeps every result
 * in results/<run>/ (DESIGN.md §6), and turns them into statistics, gnuplot
 * plots and a report. Prefix gb_ (greenbench harness), static helpers bare. */
#ifndef GREENBENCH_HARNESS_H
#define GREENBENCH_HARNESS_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "util.h"
#include "process.h"

/* ---- json.c: a small RFC 8259 reader and writer ---- */

enum gb_json_type { GB_JSON_NULL, GB_JSON_BOOL, GB_JSON_NUMBER, GB_JSON_STRING,
                    GB_JSON_ARRAY, GB_JSON_OBJECT };

struct gb_json {
    enum gb_json_type type;
    bool boolean;
    double number;
    char *string;           /* UTF-8, NUL-terminated (embedded NULs kept in len) */
    size_t len;
    struct gb_json **items; /* array elements or object values */
    char **keys;            /* object keys, parallel to items */
    size_t count, cap;
};

/* Parse exactly one JSON value (surrounding whitespace allowed). Returns 0 or
 * -EINVAL with a message "offset N: what" in err. */
int gb_json_parse(const char *text, size_t len, struct gb_json **out, char *err, size_t errlen);
void gb_json_free(struct gb_json *v);
const struct gb_json *gb_json_get(const struct gb_json *obj, const char *key);
/* Typed lookups: the default when absent or of another type. */
double gb_json_num(const struct gb_json *obj, const char *key, double dflt);
const char *gb_json_str(const struct gb_json *obj, const char *key, const char *dflt);
bool gb_json_is(const struct gb_json *obj, const char *key, enum gb_json_type t);

/* Writer: appends to a gb_buf, tracks commas; indent > 0 pretty-prints. */
struct gb_jw {
    struct gb_buf *out;
    int depth, indent;
    bool first[32], after_key;
};
void gb_jw_init(struct gb_jw *w, struct gb_buf *out, int indent);
void gb_jw_obj(struct gb_jw *w);
void gb_jw_obj_end(struct gb_jw *w);
void gb_jw_arr(struct gb_jw *w);
void gb_jw_arr_end(struct gb_jw *w);
void gb_jw_key(struct gb_jw *w, const char *key);
void gb_jw_str(struct gb_jw *w, const char *s); /* NULL writes null */
void gb_jw_strn(struct gb_jw *w, const char *s, size_t n);
void gb_jw_num(struct gb_jw *w, double v);  /* NaN/Inf write null */
void gb_jw_int(struct gb_jw *w, long long v);
void gb_jw_bool(struct gb_jw *w, bool v);
void gb_jw_null(struct gb_jw *w);
void gb_jw_value(struct gb_jw *w, const struct gb_json *v);
/* Append s as a JSON string literal; invalid UTF-8 bytes become U+FFFD. */
void gb_json_quote(struct gb_buf *b, const char *s, size_t n);

/* ---- csv.c: RFC 4180 ---- */

/* Append one field, quoted when it holds a comma, quote, CR or LF. */
void gb_csv_field(struct gb_buf *b, const char *s);
void gb_csv_num(struct gb_buf *b, double v); /* empty when NaN */
void gb_csv_sep(struct gb_buf *b);           /* "," */
void gb_csv_eol(struct gb_buf *b);           /* CRLF, as RFC 4180 says */
/* Parse a whole CSV text into rows of fields (for tests and tools). Returns
 * the number of rows or -EINVAL on a malformed quote. Free with gb_csv_free. */
struct gb_csv {
    size_t rows;
    size_t *ncols;
    char ***cells;
};
int gb_csv_parse(const char *text, struct gb_csv *out);
void gb_csv_free(struct gb_csv *c);

/* ---- stats.c ---- */

struct gb_stats {
    size_t n;
    double median, mean, stddev, cv, min, max, q1, q3;
    double ci_low, ci_high, ci_level;  /* distribution-free CI of the median */
    size_t outliers_mild, outliers_severe; /* Tukey 1.5 / 3 IQR, counted only */
};

/* Quantile of sorted data by linear interpolation (Hyndman-Fan type 7, the
 * default of R and numpy). */
double gb_quantile(const double *sorted, size_t n, double p);
/* P(X <= k) for X ~ Binomial(n, 1/2). */
double gb_binom_half_cdf(long k, long n);
/* Interval [x(k), x(n+1-k)] of sorted data with the highest k whose coverage
 * 1 - 2 P(X <= k-1) is at least level; with too few values the widest one
 * and its (lower) coverage. */
void gb_median_ci(const double *sorted, size_t n, double level, double *lo, double *hi,
                  double *coverage);
/* All of the above. Returns 0, or -EINVAL when n is 0. */
int gb_stats_compute(const double *x, size_t n, double level, struct gb_stats *st);

struct gb_mwu {
    double u;     /* U of the first sample: pairs (a, b) with a > b, ties 1/2 */
    double p;     /* two-sided */
    bool exact;   /* exact null distribution (no ties, n1 + n2 <= 50) */
};
int gb_mann_whitney(const double *a, size_t na, const double *b, size_t nb, struct gb_mwu *out);
/* Distribution-free interval of the ratio b/a (Moses / Hodges-Lehmann on the
 * n1*n2 pairwise ratios; positive data). est is the ratio of the medians. */
int gb_ratio_ci(const double *a, size_t na, const double *b, size_t nb, double level,
                double *est, double *lo, double *hi, double *coverage);

/* ---- matrix.c: workloads, implementations, presets, expansion ---- */

/* Which workloads gb_workload_names lists. */
enum gb_pick {
    GB_PICK_NONE, GB_PICK_ALL, GB_PICK_SERVER, GB_PICK_NO_LOOP,
    GB_PICK_PER_ITERATION, GB_PICK_THREADS_CPUS, GB_PICK_AXIS, /* those taking the axis given */
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
#define GB_AXIS(ID, field, option, key, unit, label, min, setup, ...) | ((setup) ? GB_AX_##ID : 0u)
#include "axes.def"
#undef GB_AXIS
    ,
    GB_AX_WORK = GB_AX_ALL & ~GB_AX_SETUP, /* the axes a workload may take */
};
/* An axis as axes.def describes it. */
struct gb_axis {
    const char *name;     /* its field: the JSON key and CSV column */
    const char *option, *key, *unit, *label;
    long min;
    bool setup;
    const char *metavar, *help;
    enum gb_pick pick;
    /* Where its value is in struct gb_cell, gb_run_opts, gb_preset_values. */
    size_t cell_off, opts_off, preset_off;
};
extern const struct gb_axis gb_axes[GB_NAXES];

enum gb_preset { GB_PRESET_DEFAULT, GB_PRESET_QUICK, GB_PRESET_FULL, GB_NPRESETS };

/* One preset's values for one workload, per axis; 0-terminated lists. */
#define GB_PRESET_VALUES 8
struct gb_preset_values {
#define GB_AXIS(ID, field, ...) long field[GB_PRESET_VALUES];
#include "axes.def"
#undef GB_AXIS
    long n_threads[GB_PRESET_VALUES]; /* when set, n of the thread baseline and the peers */
};

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
    bool needs_server;     /* the harness starts greenbench-server for it */
    const char *peers;     /* the peers that implement it, comma-separated */
    bool per_iteration;    /* ns per op does not depend on n: compared across n */
    bool threads_cpus_1_2; /* without --cpus, threads run on one CPU and on two */
    bool peers_cpus_1_all; /* without --cpus, multicore peers run on one CPU and on all */
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
const struct gb_workload *gb_workload_find(const char *name);

/* The names of the workloads picked, in catalog order, separated by sep,
 * the last two by last ("a, b and c"); the caller frees it. */
char *gb_workload_names(enum gb_pick pick, unsigned axis, const char *sep, const char *last);

/* Peers: other systems' programs obeying the cell protocol (built by
 * workloads/peers/). A peer is present when its program exists in the bin
 * directory. */
struct gb_peer {
    const char *name;     /* the --impl value */
    const char *program;  /* file name in the bin directory */
    const char *package;  /* Debian package that brings its runtime */
    const char *version_cmd; /* sh -c command whose first output line is the version */
    const char *note;     /* why it may be missing */
    const char *includes; /* what its figures include that ours do not, for the report */
    bool multicore;       /* schedules over several cores: the workloads with
                             peers_cpus_1_all run on one CPU and on all */
};
extern const struct gb_peer gb_peers[];
extern const size_t gb_npeers; /* at most GB_MAX_PEERS: asserted where gb_peers is */
#define GB_MAX_PEERS 16         /* size of gb_programs.peer_found */
/* Does the peer implement the workload (its catalog row lists the peer). */
bool gb_peer_runs(const struct gb_peer *peer, const char *workload);

#define GB_MAX_LIST 32
#define GB_NAME 32

/* Is s one of the n names of list. */
bool gb_name_in(const char list[][GB_NAME], size_t n, const char *s);

/* What exists in the bin directory. */
struct gb_programs {
    char bin_dir[4096];
    size_t npairs;
    struct { char sw[GB_NAME], loop[GB_NAME]; } pairs[GB_MAX_LIST];
    char switches[GB_MAX_LIST][GB_NAME]; size_t nswitches; /* distinct, sorted */
    char loops[GB_MAX_LIST][GB_NAME]; size_t nloops;
    bool threads, server;
    bool peer_found[GB_MAX_PEERS]; /* parallel to gb_peers */
};
extern const char *const gb_known_switches[]; /* asm, asm-nofpu, ucontext, boost */
extern const char *const gb_known_loops[];    /* libev, libuv */
void gb_programs_scan(const char *bin_dir, struct gb_programs *p);
/* The bin directory: GREENBENCH_BIN_DIR, else the binary's own directory. */
void gb_bin_dir(char *out, size_t n);

/* A list of long values, -1 meaning "not passed" */
struct gb_longs { long v[GB_MAX_LIST]; size_t n; };
struct gb_names { char v[GB_MAX_LIST][GB_NAME]; size_t n; };

/* The JSON key and CSV column of a cell's context-switch backend: the
 * backend, not the workload of the same name. */
#define GB_KEY_SWITCH "switch"

/* One cell: workload x implementation x parameters. -1: not applicable. */
struct gb_cell {
    char workload[GB_NAME];
    char impl[GB_NAME];       /* green, threads or a peer name */
    char sw[GB_NAME], loop[GB_NAME]; /* "" when not applicable */
#define GB_AXIS(ID, field, ...) long field;
#include "axes.def"
#undef GB_AXIS
    char key[256];            /* "joinall green asm/libev n=1000 d=10ms size=1024" */
};
void gb_cell_init(struct gb_cell *c);
/* The cell's value on axis a, and on the axis of one GB_AX_* bit (-1 for
 * none, or for bit 0). */
long gb_cell_get(const struct gb_cell *c, enum gb_axis_id a);
void gb_cell_set(struct gb_cell *c, enum gb_axis_id a, long v);
long gb_cell_axis(const struct gb_cell *c, unsigned bit);
/* Do a and b have the same values on every axis of the mask. */
bool gb_cell_same(const struct gb_cell *a, const struct gb_cell *b, unsigned axes);
void gb_cell_make_key(struct gb_cell *c);
/* Append " n=1000 k=10 d=10ms size=1024": the parameters among axes (GB_AX_*)
 * that the cell has, but for the setup ones, which gb_cell_series spells.
 * The one spelling of keys, report rows and plot labels. */
void gb_cell_params(const struct gb_cell *c, unsigned axes, struct gb_buf *out);
void gb_cell_series(const struct gb_cell *c, char *out, size_t n); /* "green asm/libev" */
void gb_cell_to_json(struct gb_jw *w, const struct gb_cell *c);
/* The cell's columns of summary.csv and compare's CSV (csv.c): the header
 * names and the fields, without a separator before or after. */
void gb_csv_cell_header(struct gb_buf *b);
void gb_csv_cell(struct gb_buf *b, const struct gb_cell *c);
int gb_cell_from_json(const struct gb_json *v, struct gb_cell *c);
/* argv for the cell program (argv[0] = the program path), NULL-terminated;
 * free with gb_argv_free. url may be NULL. */
char **gb_cell_argv(const struct gb_cell *c, const char *program, const char *url);
void gb_argv_free(char **argv);

/* Options of `greenbench run`. */
struct gb_run_opts {
    enum gb_preset preset;
    struct gb_names workloads, impls, switches, loops;
#define GB_AXIS(ID, field, ...) struct gb_longs field; /* empty: the preset's */
#include "axes.def"
#undef GB_AXIS
    long reps;            /* -1: the preset's */
    double timeout_s;     /* <= 0: the preset's */
    char out[4096];       /* "" : <results root>/<timestamp> */
    char resume[4096];
    bool seed_set;
    uint64_t seed;
    bool no_plots;
    bool dry_run;
};

/* Axis a's values in a run's options (empty: not given) and in a preset
 * (0-terminated). */
const struct gb_longs *gb_opts_axis(const struct gb_run_opts *o, enum gb_axis_id a);
const long *gb_preset_axis(const struct gb_preset_values *p, enum gb_axis_id a);

/* Parse `run` options. Returns 0, GB_EXIT_USAGE with a message in err, or -1
 * when --help was asked for. */
int gb_run_opts_parse(int argc, char **argv, struct gb_run_opts *o, char *err, size_t errlen);
/* Check names against what exists; expand into cells (the caller frees
 * *cells). Returns 0 or GB_EXIT_USAGE with a message naming the option. */
int gb_matrix_expand(const struct gb_run_opts *o, const struct gb_programs *p,
                     struct gb_cell **cells, size_t *ncells, char *err, size_t errlen);
long gb_preset_reps(enum gb_preset p);
double gb_preset_timeout(enum gb_preset p);
const char *gb_preset_name(enum gb_preset p);
/* "n=100,1000 k=10,50 delay-ms=5 size=1024": a preset's values for a workload. */
void gb_preset_describe(enum gb_preset p, const char *workload, struct gb_buf *out);
/* Parse helpers (exposed for tests): comma lists. */
int gb_parse_longs(const char *opt, const char *s, long min, struct gb_longs *out, char *err,
                   size_t errlen);
int gb_parse_names(const char *opt, const char *s, struct gb_names *out, char *err, size_t errlen);

/* Seeded xorshift64* generator for the run order, identical everywhere. */
uint64_t gb_rand_next(uint64_t *state);
/* The job order: rounds of shuffled cell indexes, round 0 = warm-up. */
struct gb_job { size_t cell; int rep; /* 0 = warm-up */ };
struct gb_job *gb_schedule(size_t ncells, int reps, uint64_t seed, size_t *njobs);

/* ---- runner.c: child processes ---- */

enum gb_status { GB_ST_OK, GB_ST_FAILED, GB_ST_CRASHED, GB_ST_TIMEOUT, GB_ST_GARBLED,
                 GB_ST_INTERRUPTED };
const char *gb_status_name(enum gb_status s);
int gb_status_parse(const char *s); /* -1 if unknown */

struct gb_exec_result {
    enum gb_status status;
    int exit_code;           /* -1 when signalled */
    int signal;              /* 0 when exited */
    char message[512];
    struct gb_json *json;    /* last stdout line when it is a JSON object, parsed
                                once here for the checks, the record and the log */
    char *stdout_tail;       /* when garbled */
    char *stderr_tail;
    int64_t elapsed_ns;
    long maxrss_kb;
    int64_t utime_ns, stime_ns;
};
void gb_exec_result_free(struct gb_exec_result *r);
/* Run argv in its own process group, stdout/stderr captured, killed (the
 * whole group) after timeout_s; *stop set from a signal handler ends it early
 * with GB_ST_INTERRUPTED. Classifies the outcome; checks the JSON's workload
 * and required fields against `workload` when not NULL. */
void gb_exec(char *const argv[], double timeout_s, volatile int *stop, const char *workload,
             struct gb_exec_result *r);
/* Program path for a cell, or NULL with a reason. */
char *gb_cell_program(const struct gb_programs *p, const struct gb_cell *c, char *why,
                      size_t whylen);

/* The local HTTP server, for the workloads that need one. */
struct gb_server {
    long delay_ms, size;
    struct gb_proc proc;        /* Its pid; proc.out_fd: its stdout, drained into log_fd after the URL line. */
    int log_fd;
    char url[128];
    char error[256];
};
int gb_server_start(const char *program, long delay_ms, long size, int log_fd,
                    struct gb_server *s);
bool gb_server_alive(struct gb_server *s);
void gb_server_stop(struct gb_server *s);
/* "8080", "http://127.0.0.1:8080/", "port 8080" -> URL; 0 or -EINVAL. */
int gb_server_parse_line(const char *line, char *url, size_t n);

int gb_cmd_cell(int argc, char **argv);
int gb_cmd_server(int argc, char **argv);

/* ---- preflight.c ---- */

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
/* Read what skews results: max_sockets and max_tasks are the most sockets
 * and tasks a planned cell holds at once (for the socket limits and the map
 * count). */
void gb_preflight(long max_sockets, long max_tasks, struct gb_preflight *pf);
void gb_preflight_to_json(struct gb_jw *w, const struct gb_preflight *pf);
void gb_machine_to_json(struct gb_jw *w);
void gb_versions_to_json(struct gb_jw *w, const struct gb_programs *p);

/* ---- report.c, plot.c: what a run directory turns into ---- */

struct gb_record {           /* one line of cells.jsonl */
    char key[256];
    int rep;
    enum gb_status status;
    struct gb_json *json;    /* the whole line */
    const struct gb_json *result; /* its "result" object or NULL */
};

struct gb_summary {
    struct gb_cell cell;
    int reps_ok, reps_failed, reps_total;
    int by_status[6];
    struct gb_stats ns;        /* ns_per_op: the headline metric */
    struct gb_stats ops_s;     /* ops per second of wall time */
    struct gb_stats cpu_ops_s; /* ops per CPU-second */
    struct gb_stats cores;     /* cpu_ns / wall_ns */
    struct gb_stats rss_task;  /* rss_per_task_bytes, n = 0 when absent */
    long peak_rss_kb;
    double *values;            /* ok ns_per_op values, for compare */
    size_t nvalues;
    char first_error[256];
    /* Against its thread baseline, set once by gb_rundata_load for both
     * reports and the plots: baseline is gb_baseline's (NULL: none); ratio_ok
     * when gb_ratio_ci of the baseline's values and these gave ratio etc. */
    const struct gb_summary *baseline;
    bool ratio_ok;
    double ratio, ratio_lo, ratio_hi, ratio_cov;
};

struct gb_rundata {
    char dir[4096];
    struct gb_json *meta;
    struct gb_record *recs;
    size_t nrecs;
    struct gb_summary *sums;   /* one per planned cell, plan order */
    size_t nsums;
    size_t bad_lines;
};
/* Load meta.json and cells.jsonl, compute summaries. 0 or -errno with err. */
int gb_rundata_load(const char *dir, struct gb_rundata *rd, char *err, size_t errlen);
void gb_rundata_free(struct gb_rundata *rd);
const struct gb_summary *gb_rundata_find(const struct gb_rundata *rd, const char *key);
void gb_summarize(struct gb_summary *s, const struct gb_record *const *recs, size_t n);

int gb_write_summary_csv(const struct gb_rundata *rd, const char *path);
/* Plots into DIR/plots; returns number drawn, or -1 when gnuplot is missing
 * (a message is printed). The .gp and .dat are written either way. */
int gb_write_plots(const struct gb_rundata *rd, bool draw);
/* report.md and report.html; plots_drawn: > 0 drawn, 0 none, < 0 no gnuplot. */
int gb_write_reports(const struct gb_rundata *rd, int plots_drawn);
/* The threads cell a cell is compared with: same workload and parameters,
 * the same --cpus when there is such a threads cell, else the fewest. */
const struct gb_summary *gb_baseline(const struct gb_rundata *rd, const struct gb_summary *s);
/* Everything from stored files: summary.csv, plots, report.md, report.html. */
int gb_rebuild(const char *dir, bool plots, bool quiet);

/* Embedded templates, generated at build time from the .gp files in plots/. */
struct gb_template { const char *name; const char *text; };
extern const struct gb_template gb_templates[];
extern const size_t gb_ntemplates;
/* A template's text (malloc'd), from GREENBENCH_PLOTS_DIR when set, else the
 * embedded copy; NULL when there is no such template. */
char *gb_template_load(const char *name);
/* gnuplot program: GREENBENCH_GNUPLOT, else "gnuplot" on PATH; NULL if none. */
const char *gb_gnuplot(void);

/* ---- the subcommands ---- */
int gb_cmd_run(int argc, char **argv);
int gb_cmd_list(int argc, char **argv);
int gb_cmd_report(int argc, char **argv);
int gb_cmd_compare(int argc, char **argv);
int gb_main(int argc, char **argv);
/* The whole command line, as main() got it (for meta.json). */
extern int gb_argc;
extern char **gb_argv;

#endif /* GREENBENCH_HARNESS_H */
