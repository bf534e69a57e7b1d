/* harness/results.h: the results stage: a run directory read back into the
 * model that report, plot and compare share. meta.json and cells.jsonl are
 * loaded, every planned cell gets a summary of its counted repetitions
 * (statistics of time per op, throughput, CPU use, memory per task), and
 * every cell that is not a thread baseline is matched with one and given
 * the ratio of their times with its interval. summary.csv is this model as
 * a table (docs/results-format.md, "summary.csv"). Everything here is
 * rebuilt from the stored files alone. */
#ifndef GREENBENCH_RESULTS_H
#define GREENBENCH_RESULTS_H

#include <stdbool.h>
#include <stddef.h>

#include "cell.h"
#include "json.h"
#include "plan.h"
#include "runner.h"
#include "stats.h"

/* How sample b compares with sample a in a figure where lower is better
 * (time per op, memory per task). */
enum gb_verdict_kind {
    GB_VERDICT_FEW,    /* the U test cannot reach alpha with so few values */
    GB_VERDICT_SAME,   /* same within noise */
    GB_VERDICT_LOWER,  /* b is lower (faster, smaller) */
    GB_VERDICT_HIGHER, /* b is higher */
};
struct gb_verdict {
    enum gb_verdict_kind kind;
    double ratio, lo, hi, coverage; /* median(b) / median(a), its interval (Moses) */
    struct gb_mwu u;                /* b against a */
};
/* b against a at significance alpha: LOWER or HIGHER when the U test's p is
 * below alpha and the ratio's interval (at level 1 - alpha) excludes 1,
 * FEW when gb_mwu_min_p >= alpha. 0, or -EINVAL when either sample is
 * empty or a value is not positive (v's ratio, interval, U and p NaN then). */
int gb_verdict_of(const double *a, size_t na, const double *b, size_t nb, double alpha,
                  struct gb_verdict *v);
/* For people: "830× faster (790–870)", "2.1× less memory (2.0–2.2)",
 * "same within noise (0.97–1.04)", "too few repetitions to tell"; the
 * interval's coverage is added where it is below 95%. memory: the figure
 * is memory, not time. */
void gb_verdict_text(const struct gb_verdict *v, bool memory, char *out, size_t n);

/* One line of cells.jsonl. */
struct gb_record {
    char key[256];
    int rep;                      /* 0: the warm-up, never counted */
    enum gb_status status;        /* an unknown one reads as garbled */
    json_t *json;         /* the whole line */
    const json_t *result; /* its "result" object or NULL */
};

/* One cell's counted repetitions. */
struct gb_summary {
    struct gb_cell cell;
    int reps_ok, reps_failed, reps_total;
    int by_status[6];
    struct gb_stats ns;        /* ns_per_op: the headline metric */
    struct gb_stats ops_s;     /* ops per second of wall time */
    struct gb_stats cpu_ops_s; /* ops per CPU-second */
    struct gb_stats cores;     /* cpu_ns / wall_ns */
    struct gb_stats cpu_ns_op; /* the client's CPU time per op: cpu_ns / ops */
    struct gb_stats rss_task;  /* rss_per_task_bytes, n = 0 when absent */
    long peak_rss_kb;
    /* The most OS threads the harness saw in one of its counted ok
     * repetitions (their records' os_threads_peak); 0: unknown (none had
     * one: a run made before the harness sampled, or every process too
     * short for a sample). */
    long os_threads_peak;
    long cpus_used;            /* the most CPUs its ok results say they ran on ("cpus"); 0: unknown */
    long rounds;               /* workload runs per repetition (--rounds), the largest */
    double spent_s;            /* its repetitions' process time, warm-up included */
    double rel_hw;             /* gb_rel_half_width of its headline statistics */
    enum gb_stop stop;         /* why it stopped repeating (GB_STOP_NONE: it had not) */
    /* The local server over each counted ok repetition (the records'
     * "server", docs/results-format.md "Server-bound"): how many had it, how
     * many found it late, how many were server-bound (late, and the client
     * not saturated), the medians of its p99 lateness (ms), of its share of
     * answers more than 1 ms late and of its CPU time per op, and whether
     * the cell as a whole was server-bound (more than half were). */
    int server_reps, server_late_reps, server_bound_reps;
    int server_cpu_reps; /* with the server's CPU time: its windows, or greenbench-dns's /proc figure */
    double server_late_p99_ms, server_late_share, server_cpu_ns_op;
    bool server_bound;
    /* The floor a green switch cell measured beside its backend, in the
     * same process (its records' "floor" and "floor_ns_per_op",
     * docs/cell-protocol.md): its name ("" when no repetition had one), its
     * own ns per op, and of_floor, the per-repetition ratio ns_per_op /
     * floor_ns_per_op (paired: one process measured both). n = 0 when
     * absent. */
    char floor_name[32];
    struct gb_stats floor_ns;
    struct gb_stats of_floor;
    /* A green spawn cell's first pass of its N (its records'
     * "cold_ns_per_op"): one per process, page faults of the runtime's
     * fresh memory included; n = 0 when absent. */
    struct gb_stats cold_ns;
    /* The epoll cell of the same workload and parameters (NULL: none), and
     * this cell's throughput as a fraction of its (NaN: none). */
    const struct gb_summary *ceiling;
    double of_ceiling;
    double *values;            /* ok ns_per_op values, for compare */
    size_t nvalues;
    double *head_values;       /* the values of gb_headline's statistics */
    size_t nhead;
    char first_error[256];
    /* Against its thread baseline, set once by gb_rundata_load for both
     * reports and the plots: baseline is gb_baseline's (NULL: none); ratio_ok
     * when gb_ratio_ci of the baseline's values and these gave ratio etc. */
    const struct gb_summary *baseline;
    bool ratio_ok;
    double ratio, ratio_lo, ratio_hi, ratio_cov;
    struct gb_verdict vs_baseline; /* the same, with the U test's verdict */
    /* The same in the headline figure (gb_headline: memory per task for
     * spawn-alive, else time per op, as vs_baseline): what merge compares. */
    bool head_ratio_ok;
    struct gb_verdict head_vs_baseline;
};

/* A run directory, loaded. */
struct gb_rundata {
    char dir[4096];
    json_t *meta;      /* NULL when there is no meta.json */
    struct gb_record *recs;    /* every readable line, in file order */
    size_t nrecs;
    struct gb_summary *sums;   /* one per planned cell, plan order, then any
                                  recorded cell the plan lacks */
    size_t nsums;
    struct gb_plan plan;       /* meta.json's (a default stop rule without one) */
    double spent_s;            /* every repetition's process time */
    size_t *bad_lines;         /* numbers of the lines of cells.jsonl that are not a record */
    size_t nbad_lines;
};
/* Was the local server late in a repetition of a cell whose server answered
 * after delay_ms (its record's "server" window): its p99 lateness above a
 * tenth of the delay (at least 1 ms), or more than 1 % of its answers more
 * than 1 ms late. */
bool gb_server_window_late(const json_t *window, long delay_ms);
/* Did a repetition's client (its result: cpu_ns, wall_ns, cpus) keep the
 * CPUs it was allowed at least GB_CLIENT_SATURATED busy? Such a client set
 * its own pace: a faster server would have saved it at most the rest. */
#define GB_CLIENT_SATURATED 0.9
bool gb_client_saturated(const json_t *result);
/* A repetition is server-bound when its server was late and its client was
 * not saturated: the client waited on answers that came late. */
bool gb_rep_server_bound(const json_t *window, long delay_ms, const json_t *result);

/* The statistics a workload is judged by: time per op, or memory per task
 * for a workload whose metric is GB_METRIC_RSS_PER_TASK. */
const struct gb_stats *gb_headline(const struct gb_summary *s);
/* The headline value of one repetition's result (the cell's JSON line):
 * ns_per_op, or rss_per_task_bytes for such a workload; NaN when absent. */
double gb_result_metric(const char *workload, const json_t *result);
/* Load dir's meta.json and cells.jsonl (either may be missing, not both: a
 * test's run of records alone has no meta.json), summarize every cell and
 * match its baseline. 0, or a negative errno with a message in err (errlen
 * bytes); *rd is the caller's to free with gb_rundata_free after success. */
int gb_rundata_load(const char *dir, struct gb_rundata *rd, char *err, size_t errlen);
/* Does dir hold both files of a run, meta.json (a run's: an object whose
 * plan has a list of cells) and cells.jsonl, as report and compare require:
 * without meta.json a report would invent the plan, without cells.jsonl it
 * would replace the results with none. 0, or -ENOENT with what is missing
 * (-EINVAL, or a negative errno, with what is wrong with meta.json) in err
 * (errlen bytes). */
int gb_run_check(const char *dir, char *err, size_t errlen);
/* Does dir hold a run's own files (meta.json or cells.jsonl, either), a
 * merged folder's too: one that a new run or a comparison must not write
 * into as if it were its own. */
bool gb_holds_run_files(const char *dir);
void gb_rundata_free(struct gb_rundata *rd);
/* The summary of the cell with this key, or NULL. */
const struct gb_summary *gb_rundata_find(const struct gb_rundata *rd, const char *key);
/* s's counts and statistics from its n records (warm-ups skipped), and
 * s->values, which s owns; not its stop reason (gb_rundata_load's). */
void gb_summarize(struct gb_summary *s, const struct gb_record *const *recs, size_t n);
/* The cell of rd like s in every respect (implementation, backends, every
 * other axis) but axis a, which has value v; NULL when there is none. */
const struct gb_summary *gb_twin(const struct gb_rundata *rd, const struct gb_summary *s, enum gb_axis_id a,
                                 long v);
/* The threads cell s is compared with: same workload, the same values on
 * every axis but cpus (and but n for a per-iteration workload), with
 * results; among those the one with s's --cpus, else the fewest CPUs, then
 * the same n. NULL for a threads cell, or when there is none. */
const struct gb_summary *gb_baseline(const struct gb_rundata *rd, const struct gb_summary *s);

/* The epoll cell (the event-driven ceiling) s is measured against: same
 * workload, same values on every work axis, with results. NULL for an
 * epoll cell, or when there is none. */
const struct gb_summary *gb_ceiling(const struct gb_rundata *rd, const struct gb_summary *s);

/* summary.csv at path (atomically): one row per summary. 0 or a negative
 * errno. */
int gb_write_summary_csv(const struct gb_rundata *rd, const char *path);

#endif /* GREENBENCH_RESULTS_H */
