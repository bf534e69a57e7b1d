/* harness/results.c: a run directory read back into summaries and
 * baselines (results.h), and summary.csv. */
#include "results.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "csv.h"
#include "journal.h"
#include "peers_ext.h"
#include "units.h"
#include "util.h"

/* ---- verdicts ---- */

int gb_verdict_of(const double *a, size_t na, const double *b, size_t nb, double alpha,
                  struct gb_verdict *v)
{
    memset(v, 0, sizeof *v);
    v->kind = GB_VERDICT_FEW;
    /* Not 0 when it fails: compare would print a p of 0, the most significant. */
    v->u.u = v->u.p = NAN;
    int rc = gb_ratio_ci(a, na, b, nb, 1 - alpha, &v->ratio, &v->lo, &v->hi, &v->coverage);
    if (rc != 0)
        return rc;
    gb_mann_whitney(b, nb, a, na, &v->u);
    if (gb_mwu_min_p(na, nb) >= alpha)
        v->kind = GB_VERDICT_FEW;
    else if (v->u.p < alpha && v->hi < 1)
        v->kind = GB_VERDICT_LOWER;
    else if (v->u.p < alpha && v->lo > 1)
        v->kind = GB_VERDICT_HIGHER;
    else
        v->kind = GB_VERDICT_SAME;
    return 0;
}

void gb_verdict_text(const struct gb_verdict *v, bool memory, char *out, size_t n)
{
    if (v->kind == GB_VERDICT_FEW) {
        snprintf(out, n, "too few repetitions to tell");
        return;
    }
    /* Faster: the other's time over ours, so the interval turns over. */
    bool lower = v->kind == GB_VERDICT_LOWER;
    double est = lower ? 1 / v->ratio : v->ratio;
    double lo = lower ? 1 / v->hi : v->lo, hi = lower ? 1 / v->lo : v->hi;
    char e[48], l[48], h[48], cov[48] = "";
    gb_fmt_num(e, sizeof e, est);
    gb_fmt_num(l, sizeof l, lo);
    gb_fmt_num(h, sizeof h, hi);
    if (!gb_ci_nominal(v->coverage)) {
        char pct[32];
        gb_fmt_pct(pct, sizeof pct, v->coverage);
        snprintf(cov, sizeof cov, ", %s interval", pct);
    }
    if (v->kind == GB_VERDICT_SAME)
        snprintf(out, n, "same within noise (%s–%s%s)", l, h, cov);
    else
        snprintf(out, n, "%s× %s (%s–%s%s)", e,
                 memory ? (lower ? "less memory" : "more memory") : (lower ? "faster" : "slower"), l, h,
                 cov);
}

/* ---- loading ---- */

const struct gb_stats *gb_headline(const struct gb_summary *s)
{
    const struct gb_workload *w = gb_workload_find(s->cell.workload);
    return w && w->metric == GB_METRIC_RSS_PER_TASK ? &s->rss_task : &s->ns;
}

double gb_result_metric(const char *workload, const json_t *result)
{
    const struct gb_workload *w = gb_workload_find(workload);
    bool rss = w && w->metric == GB_METRIC_RSS_PER_TASK;
    return gb_json_num(result, rss ? "rss_per_task_bytes" : "ns_per_op", NAN);
}

bool gb_server_window_late(const json_t *window, long delay_ms)
{
    double p99 = gb_json_num(window, "late_p99_ms", 0);
    double over = gb_json_num(window, "late_over_1ms", 0);
    double answers = gb_json_num(window, "requests", 0);
    double allowed = delay_ms > 10 ? delay_ms / 10.0 : 1.0;
    return p99 > allowed || (answers > 0 && over > 0.01 * answers);
}

bool gb_client_saturated(const json_t *result)
{
    double cpu = gb_json_num(result, "cpu_ns", NAN), wall = gb_json_num(result, "wall_ns", NAN);
    double cpus = gb_json_num(result, "cpus", NAN);
    /* Without all three nothing says the client was busy: assume it waited. */
    if (!(cpu >= 0) || !(wall > 0) || !(cpus >= 1))
        return false;
    return cpu >= GB_CLIENT_SATURATED * wall * cpus;
}

bool gb_rep_server_bound(const json_t *window, long delay_ms, const json_t *result)
{
    return gb_server_window_late(window, delay_ms) && !gb_client_saturated(result);
}

static double median_of(double *v, size_t n)
{
    struct gb_stats st;
    gb_stats_compute(v, n, GB_CI_LEVEL, &st);
    return st.median;
}

/* s's server figures from the "server" windows of its ok counted records. */
static void summarize_server(struct gb_summary *s, const struct gb_record *const *recs, size_t n)
{
    double *p99 = gb_xcalloc(n + 1, sizeof *p99), *share = gb_xcalloc(n + 1, sizeof *share);
    double *cpu = gb_xcalloc(n + 1, sizeof *cpu);
    size_t k = 0;
    s->server_reps = s->server_late_reps = s->server_bound_reps = 0;
    for (size_t i = 0; i < n; i++) {
        const json_t *w = json_object_get(recs[i]->json, "server");
        double ops = gb_json_num(recs[i]->result, "ops", 0);
        if (recs[i]->rep <= 0 || recs[i]->status != GB_ST_OK)
            continue;
        double cpu_only = gb_json_num(recs[i]->json, "server_cpu_ns", NAN);
        if (!json_is_object(w) && cpu_only >= 0 && ops > 0) {
            cpu[k++] = cpu_only / ops; /* a server with no window: its CPU alone */
            continue;
        }
        if (!json_is_object(w))
            continue;
        s->server_late_reps += gb_server_window_late(w, s->cell.delay_ms);
        s->server_bound_reps += gb_rep_server_bound(w, s->cell.delay_ms, recs[i]->result);
        double answers = gb_json_num(w, "requests", 0);
        p99[s->server_reps] = gb_json_num(w, "late_p99_ms", NAN);
        share[s->server_reps] = answers > 0 ? gb_json_num(w, "late_over_1ms", 0) / answers : NAN;
        s->server_reps++;
        cpu[k++] = ops > 0 ? gb_json_num(w, "cpu_ns", NAN) / ops : NAN;
    }
    s->server_late_p99_ms = median_of(p99, s->server_reps);
    s->server_late_share = median_of(share, s->server_reps);
    s->server_cpu_ns_op = median_of(cpu, k);
    s->server_cpu_reps = (int)k;
    s->server_bound = s->server_reps > 0 && 2 * s->server_bound_reps > s->server_reps;
    free(p99);
    free(share);
    free(cpu);
}

/* Count the counted repetition r in s's tallies (statuses, rounds, peak
 * RSS and OS threads, the first error); true when it is ok, so that its
 * figures count too. */
static bool count_rep(struct gb_summary *s, const struct gb_record *r)
{
    long rounds = (long)gb_json_num(r->json, "rounds", 1);
    if (rounds > s->rounds)
        s->rounds = rounds;
    s->reps_total++;
    if ((unsigned)r->status < 6)
        s->by_status[r->status]++;
    long rss_kb = (long)gb_json_num(json_object_get(r->json, "rusage"), "maxrss_kb", 0);
    if (rss_kb > s->peak_rss_kb)
        s->peak_rss_kb = rss_kb;
    if (r->status != GB_ST_OK) {
        s->reps_failed++;
        if (!s->first_error[0])
            snprintf(s->first_error, sizeof s->first_error, "%s: %s", gb_status_name(r->status),
                     gb_json_str(r->json, "message", ""));
        return false;
    }
    s->reps_ok++;
    /* The largest, as peak RSS: how many OS threads the cell needs at
     * once. Absent or null (older runs): unknown, not 0. */
    long threads = (long)gb_json_num(r->json, "os_threads_peak", 0);
    if (threads > s->os_threads_peak)
        s->os_threads_peak = threads;
    long cpus = (long)gb_json_num(r->result, "cpus", 0);
    if (cpus > s->cpus_used)
        s->cpus_used = cpus;
    return true;
}

/* The figures gb_summarize takes from each counted ok repetition: one
 * list of values per statistic of the summary. */
enum sample {
    SAMPLE_NS,        /* ns per op */
    SAMPLE_OPS,       /* ops per wall second */
    SAMPLE_CPU,       /* ops per CPU second */
    SAMPLE_CORES,     /* CPU time over wall time */
    SAMPLE_RSS,       /* RSS per task */
    SAMPLE_CPU_OP,    /* CPU ns per op */
    SAMPLE_FLOOR,     /* the floor's ns per op */
    SAMPLE_OF_FLOOR,  /* ns per op over the floor's, paired */
    SAMPLE_COLD,      /* a fresh process's first pass, ns per op */
    SAMPLES
};

struct samples {
    double *v[SAMPLES];
    size_t n[SAMPLES];
};

static void sample(struct samples *sm, enum sample k, double v)
{
    sm->v[k][sm->n[k]++] = v;
}

/* Add the ok repetition r's figures to sm (and the floor's name to s). */
static void sample_rep(struct gb_summary *s, const struct gb_record *r, struct samples *sm)
{
    const json_t *res = r->result;
    double v = gb_json_num(res, "ns_per_op", NAN);
    double wall = gb_json_num(res, "wall_ns", NAN), ops = gb_json_num(res, "ops", NAN);
    /* The cell's own, for the timed part; none from a cell that gives none
     * (wait4's user + system time covers the whole process, start-up
     * included, and would not go over wall_ns or ops). */
    double cpu_ns = gb_json_num(res, "cpu_ns", NAN);
    if (isfinite(v))
        sample(sm, SAMPLE_NS, v);
    if (wall > 0 && ops > 0)
        sample(sm, SAMPLE_OPS, ops * 1e9 / wall);
    if (cpu_ns > 0 && ops > 0) {
        sample(sm, SAMPLE_CPU, ops * 1e9 / cpu_ns);
        sample(sm, SAMPLE_CPU_OP, cpu_ns / ops);
    }
    if (cpu_ns > 0 && wall > 0)
        sample(sm, SAMPLE_CORES, cpu_ns / wall);
    double rpt = gb_json_num(res, "rss_per_task_bytes", NAN);
    if (isfinite(rpt))
        sample(sm, SAMPLE_RSS, rpt);
    /* The floor, timed in the same process: the ratio is paired. */
    double fl = gb_json_num(res, "floor_ns_per_op", NAN);
    if (fl > 0 && v > 0 && isfinite(v)) {
        if (!s->floor_name[0])
            snprintf(s->floor_name, sizeof s->floor_name, "%s", gb_json_str(res, "floor", "?"));
        sample(sm, SAMPLE_FLOOR, fl);
        sample(sm, SAMPLE_OF_FLOOR, v / fl);
    }
    /* The first pass of a fresh process: one per repetition. */
    double cn = gb_json_num(res, "cold_ns_per_op", NAN);
    if (cn > 0 && isfinite(cn))
        sample(sm, SAMPLE_COLD, cn);
}

void gb_summarize(struct gb_summary *s, const struct gb_record *const *recs, size_t n)
{
    struct samples sm = { 0 };
    for (int k = 0; k < SAMPLES; k++)
        sm.v[k] = gb_xcalloc(n, sizeof *sm.v[k]);
    s->reps_ok = s->reps_failed = s->reps_total = 0;
    memset(s->by_status, 0, sizeof s->by_status);
    s->peak_rss_kb = 0;
    s->os_threads_peak = 0;
    s->cpus_used = 0;
    s->rounds = 1;
    s->spent_s = 0;
    s->first_error[0] = '\0';
    s->floor_name[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        const struct gb_record *r = recs[i];
        s->spent_s += gb_json_num(r->json, "elapsed_ns", 0) / 1e9;
        if (r->rep <= 0)
            continue; /* the warm-up is kept in cells.jsonl, never counted */
        if (count_rep(s, r))
            sample_rep(s, r, &sm);
    }
    struct gb_stats *const stats[SAMPLES] = {
        [SAMPLE_NS] = &s->ns,          [SAMPLE_OPS] = &s->ops_s,         [SAMPLE_CPU] = &s->cpu_ops_s,
        [SAMPLE_CORES] = &s->cores,    [SAMPLE_RSS] = &s->rss_task,      [SAMPLE_CPU_OP] = &s->cpu_ns_op,
        [SAMPLE_FLOOR] = &s->floor_ns, [SAMPLE_OF_FLOOR] = &s->of_floor, [SAMPLE_COLD] = &s->cold_ns,
    };
    for (int k = 0; k < SAMPLES; k++)
        gb_stats_compute(sm.v[k], sm.n[k], GB_CI_LEVEL, stats[k]);
    summarize_server(s, recs, n);
    /* The ns per op values stay with the summary, and the headline's. */
    free(s->values);
    s->values = sm.v[SAMPLE_NS];
    s->nvalues = sm.n[SAMPLE_NS];
    enum sample head = gb_headline(s) == &s->rss_task ? SAMPLE_RSS : SAMPLE_NS;
    free(s->head_values);
    s->nhead = sm.n[head];
    s->head_values = gb_xcalloc(s->nhead + 1, sizeof *s->head_values);
    memcpy(s->head_values, sm.v[head], s->nhead * sizeof *s->head_values);
    s->rel_hw = gb_rel_half_width(gb_headline(s));
    for (int k = 0; k < SAMPLES; k++)
        if (k != SAMPLE_NS)
            free(sm.v[k]);
}

static void add_summary(struct gb_rundata *rd, const struct gb_cell *c)
{
    for (size_t i = 0; i < rd->nsums; i++)
        if (strcmp(rd->sums[i].cell.key, c->key) == 0)
            return;
    rd->sums = gb_xrealloc(rd->sums, (rd->nsums + 1) * sizeof *rd->sums);
    struct gb_summary *s = &rd->sums[rd->nsums++];
    memset(s, 0, sizeof *s);
    s->cell = *c;
}

/* dir/meta.json into rd->meta (NULL when there is none): 0, or a negative
 * errno with a message in err. */
static int load_meta(const char *dir, struct gb_rundata *rd, char *err, size_t errlen)
{
    char *path = gb_xasprintf("%s/meta.json", dir), *text;
    size_t len;
    int rc = gb_read_file(path, &text, &len);
    if (rc == 0) {
        char perr[128];
        if (gb_json_parse(text, len, &rd->meta, perr, sizeof perr) != 0) {
            snprintf(err, errlen, "%s: %s", path, perr);
            free(text);
            free(path);
            return -EINVAL;
        }
        free(text);
        /* Not a run's (`[]`, a plan that is not one): a report of it would
         * invent the plan and its stop reasons. */
        const json_t *plan = json_object_get(rd->meta, "plan");
        if (!json_is_object(rd->meta) || !json_is_object(plan) ||
            !json_is_array(json_object_get(plan, "cells"))) {
            snprintf(err, errlen, "%s is not a greenbench run's meta.json: %s", path,
                     json_is_object(rd->meta) ? "its plan is not an object with a list of cells"
                                              : "not a JSON object");
            json_decref(rd->meta);
            rd->meta = NULL;
            free(path);
            return -EINVAL;
        }
        /* Its external peers are rows of gb_peers again, for the findings,
         * plots and the report's Peers section. */
        gb_peers_ext_from_meta(rd->meta);
    } else if (rc != -ENOENT) {
        snprintf(err, errlen, "%s: %s", path, strerror(-rc));
        free(path);
        return rc;
    }
    free(path);
    return 0;
}

/* A record of cells.jsonl (v, whose reference rd takes over). */
static void add_record(struct gb_rundata *rd, json_t *v)
{
    rd->recs = gb_xrealloc(rd->recs, (rd->nrecs + 1) * sizeof *rd->recs);
    struct gb_record *r = &rd->recs[rd->nrecs++];
    memset(r, 0, sizeof *r);
    snprintf(r->key, sizeof r->key, "%s", gb_json_str(v, "cell", ""));
    r->rep = (int)gb_json_num(v, "rep", 0);
    int st = gb_status_parse(gb_json_str(v, "status", ""));
    r->status = st < 0 ? GB_ST_GARBLED : (enum gb_status)st;
    r->json = v;
    r->result = json_object_get(v, "result");
    if (r->result && !json_is_object(r->result))
        r->result = NULL;
}

/* Is r's counted repetition among a cell's first n records (mine): a
 * second record of it (two processes that appended to one cells.jsonl)
 * is not counted again, as --resume does not count it (run.c load_done). */
static bool recorded(const struct gb_record **mine, size_t n, const struct gb_record *r)
{
    for (size_t i = 0; r->rep > 0 && i < n; i++)
        if (mine[i]->rep == r->rep)
            return true;
    return false;
}

/* The summaries: the plan's cells in its order, then any recorded cell the
 * plan lacks; each cell's records summarized; then baselines and ratios. */
static void summarize_all(struct gb_rundata *rd)
{
    const json_t *cells = json_object_get(json_object_get(rd->meta, "plan"), "cells");
    for (size_t i = 0; i < json_array_size(cells); i++) {
        struct gb_cell c;
        if (gb_cell_from_json(json_array_get(cells, i), &c) == 0)
            add_summary(rd, &c);
    }
    for (size_t i = 0; i < rd->nrecs; i++) {
        struct gb_cell c;
        if (gb_cell_from_json(json_object_get(rd->recs[i].json, "params"), &c) == 0)
            add_summary(rd, &c);
    }
    const struct gb_record **mine = gb_xcalloc(rd->nrecs + 1, sizeof *mine);
    for (size_t i = 0; i < rd->nsums; i++) {
        size_t n = 0;
        for (size_t j = 0; j < rd->nrecs; j++)
            if (strcmp(rd->recs[j].key, rd->sums[i].cell.key) == 0 && !recorded(mine, n, &rd->recs[j]))
                mine[n++] = &rd->recs[j];
        gb_summarize(&rd->sums[i], mine, n);
    }
    free(mine);
    for (size_t i = 0; i < rd->nrecs; i++)
        rd->spent_s += gb_json_num(rd->recs[i].json, "elapsed_ns", 0) / 1e9;
    size_t ncells = rd->plan.ncells ? rd->plan.ncells : rd->nsums;
    for (size_t i = 0; i < rd->nsums; i++) {
        struct gb_summary *s = &rd->sums[i];
        s->stop = gb_stop_check(&rd->plan.stop, ncells, s->reps_ok, s->reps_failed, s->rel_hw,
                                gb_headline(s)->ci_level, s->spent_s, rd->spent_s);
    }
    /* rd->sums is complete: the baselines point into it from here on. */
    for (size_t i = 0; i < rd->nsums; i++) {
        struct gb_summary *s = &rd->sums[i];
        const struct gb_summary *t = s->baseline = gb_baseline(rd, s);
        s->ratio_ok =
            t && gb_verdict_of(t->values, t->nvalues, s->values, s->nvalues, 0.05, &s->vs_baseline) == 0;
        s->ratio = s->vs_baseline.ratio;
        s->ratio_lo = s->vs_baseline.lo;
        s->ratio_hi = s->vs_baseline.hi;
        s->ratio_cov = s->vs_baseline.coverage;
        s->head_vs_baseline = s->vs_baseline;
        s->head_ratio_ok = s->ratio_ok;
        if (s->ratio_ok && gb_headline(s) != &s->ns)
            s->head_ratio_ok = gb_verdict_of(t->head_values, t->nhead, s->head_values, s->nhead, 0.05,
                                             &s->head_vs_baseline) == 0;
        s->ceiling = gb_ceiling(rd, s);
        s->of_ceiling = s->ceiling && s->ops_s.n && s->ceiling->ops_s.n
                            ? s->ops_s.median / s->ceiling->ops_s.median
                            : NAN;
    }
}

int gb_rundata_load(const char *dir, struct gb_rundata *rd, char *err, size_t errlen)
{
    memset(rd, 0, sizeof *rd);
    snprintf(rd->dir, sizeof rd->dir, "%s", dir);
    int rc = load_meta(dir, rd, err, errlen);
    if (rc != 0)
        return rc;
    char perr[256];
    if (rd->meta == NULL || gb_plan_from_meta(rd->meta, &rd->plan, perr, sizeof perr) != 0) {
        memset(&rd->plan, 0, sizeof rd->plan);
        rd->plan.stop = gb_preset_stop_rule(GB_PRESET_DEFAULT);
    }
    char *path = gb_xasprintf("%s/cells.jsonl", dir);
    struct gb_jsonl lines;
    rc = gb_jsonl_load(path, &lines);
    bool cells_exist = gb_is_file(path);
    if (rc != 0 || (rd->meta == NULL && !cells_exist)) {
        if (rc != 0)
            snprintf(err, errlen, "%s: %s", path, strerror(-rc));
        else
            snprintf(err, errlen, "%s is not a greenbench run (it has no meta.json and no cells.jsonl)",
                     dir);
        free(path);
        gb_rundata_free(rd);
        return rc != 0 ? rc : -ENOENT;
    }
    free(path);
    for (size_t i = 0; i < lines.n; i++) {
        add_record(rd, lines.recs[i]);
        lines.recs[i] = NULL; /* rd's now */
    }
    rd->bad_lines = lines.bad;
    rd->nbad_lines = lines.nbad;
    lines.bad = NULL;
    gb_jsonl_free(&lines);
    summarize_all(rd);
    return 0;
}

static bool holds(const char *dir, const char *name)
{
    char *path = gb_xasprintf("%s/%s", dir, name);
    bool is = gb_is_file(path);
    free(path);
    return is;
}

bool gb_holds_run_files(const char *dir)
{
    return holds(dir, "meta.json") || holds(dir, "cells.jsonl");
}

int gb_run_check(const char *dir, char *err, size_t errlen)
{
    bool has_meta = holds(dir, "meta.json"), has_cells = holds(dir, "cells.jsonl");
    if (has_meta && has_cells) {
        struct gb_rundata rd = { 0 };
        int rc = load_meta(dir, &rd, err, errlen);
        json_decref(rd.meta);
        return rc;
    }
    if (!has_meta && !has_cells)
        snprintf(err, errlen, "'%s' is not a greenbench run (it has no meta.json and no cells.jsonl)", dir);
    else if (!has_meta)
        snprintf(err, errlen,
                 "'%s' is not a whole greenbench run: its meta.json (the plan, the machine and the "
                 "times of the run) is missing",
                 dir);
    else if (!has_cells)
        snprintf(err, errlen,
                 "'%s' is not a whole greenbench run: its cells.jsonl (every repetition measured) "
                 "is missing",
                 dir);
    return has_meta && has_cells ? 0 : -ENOENT;
}

void gb_rundata_free(struct gb_rundata *rd)
{
    for (size_t i = 0; i < rd->nrecs; i++)
        json_decref(rd->recs[i].json);
    free(rd->recs);
    for (size_t i = 0; i < rd->nsums; i++) {
        free(rd->sums[i].values);
        free(rd->sums[i].head_values);
    }
    free(rd->sums);
    free(rd->bad_lines);
    gb_plan_free(&rd->plan);
    json_decref(rd->meta);
    memset(rd, 0, sizeof *rd);
}

const struct gb_summary *gb_rundata_find(const struct gb_rundata *rd, const char *key)
{
    for (size_t i = 0; i < rd->nsums; i++)
        if (strcmp(rd->sums[i].cell.key, key) == 0)
            return &rd->sums[i];
    return NULL;
}

const struct gb_summary *gb_twin(const struct gb_rundata *rd, const struct gb_summary *s, enum gb_axis_id a,
                                 long v)
{
    for (size_t i = 0; i < rd->nsums; i++) {
        const struct gb_summary *t = &rd->sums[i];
        if (gb_cell_get(&t->cell, a) == v && strcmp(t->cell.workload, s->cell.workload) == 0 &&
            strcmp(t->cell.impl, s->cell.impl) == 0 && strcmp(t->cell.sw, s->cell.sw) == 0 &&
            strcmp(t->cell.loop, s->cell.loop) == 0 &&
            gb_cell_same(&t->cell, &s->cell, GB_AX_ALL & ~(1u << a)))
            return t;
    }
    return NULL;
}

/* Is threads cell b a better baseline for c than a: the same CPUs, else the
 * fewest (the threads switch pinned to one core), then the same n. */
static bool baseline_better(const struct gb_cell *c, const struct gb_cell *b, const struct gb_cell *a)
{
    if ((b->cpus == c->cpus) != (a->cpus == c->cpus))
        return b->cpus == c->cpus;
    if (b->cpus != a->cpus)
        return b->cpus < a->cpus;
    return b->n == c->n && a->n != c->n;
}

const struct gb_summary *gb_baseline(const struct gb_rundata *rd, const struct gb_summary *s)
{
    const struct gb_cell *c = &s->cell;
    if (strcmp(c->impl, "threads") == 0)
        return NULL;
    /* A per-iteration cost: n is how long, not what. */
    const struct gb_workload *w = gb_workload_find(c->workload);
    bool any_n = w && w->per_iteration;
    const struct gb_summary *best = NULL;
    for (size_t i = 0; i < rd->nsums; i++) {
        const struct gb_summary *t = &rd->sums[i];
        const struct gb_cell *b = &t->cell;
        if (strcmp(b->impl, "threads") != 0 || strcmp(b->workload, c->workload) != 0 ||
            /* baseline_better picks among the CPU counts */
            !gb_cell_same(b, c, GB_AX_ALL & ~GB_AX_CPUS & ~GB_AX_VARIANT & ~(any_n ? GB_AX_N : 0u)) ||
            t->ns.n == 0)
            continue;
        if (best == NULL || baseline_better(c, b, &best->cell))
            best = t;
    }
    return best;
}

const struct gb_summary *gb_ceiling(const struct gb_rundata *rd, const struct gb_summary *s)
{
    if (strcmp(s->cell.impl, "epoll") == 0)
        return NULL;
    for (size_t i = 0; i < rd->nsums; i++) {
        const struct gb_summary *t = &rd->sums[i];
        if (strcmp(t->cell.impl, "epoll") == 0 && strcmp(t->cell.workload, s->cell.workload) == 0 &&
            gb_cell_same(&t->cell, &s->cell, GB_AX_WORK) && t->ops_s.n)
            return t;
    }
    return NULL;
}

/* ---- summary.csv ---- */

static void csv_stats(struct gb_buf *b, const struct gb_stats *st, bool full)
{
    if (st->n == 0) {
        for (int i = 0; i < (full ? 11 : 3); i++)
            gb_csv_sep(b);
        return;
    }
    if (full) {
        double v[] = { st->median, st->mean, st->stddev, st->cv, st->min, st->max,
                       st->ci_low, st->ci_high, st->ci_level };
        for (size_t i = 0; i < 9; i++) {
            gb_csv_sep(b);
            gb_csv_num(b, v[i]);
        }
        gb_csv_sep(b);
        gb_buf_printf(b, "%zu", st->outliers_mild);
        gb_csv_sep(b);
        gb_buf_printf(b, "%zu", st->outliers_severe);
    } else {
        gb_csv_sep(b);
        gb_csv_num(b, st->median);
        gb_csv_sep(b);
        gb_csv_num(b, st->ci_low);
        gb_csv_sep(b);
        gb_csv_num(b, st->ci_high);
    }
}

static void csv_long(struct gb_buf *b, long v)
{
    gb_csv_sep(b);
    if (v >= 0)
        gb_buf_printf(b, "%ld", v);
}

int gb_write_summary_csv(const struct gb_rundata *rd, const char *path)
{
    struct gb_buf b;
    gb_buf_init(&b);
    gb_csv_cell_header(&b);
    gb_buf_puts(&b, ",reps,reps_ok,reps_failed,failed,crashed,timeout,garbled,"
                    "median_ns_per_op,mean_ns_per_op,stddev_ns_per_op,cv,min_ns_per_op,"
                    "max_ns_per_op,ci_low_ns_per_op,ci_high_ns_per_op,ci_level,"
                    "outliers_mild,outliers_severe,"
                    "ops_per_s,ops_per_s_ci_low,ops_per_s_ci_high,"
                    "ops_per_cpu_s,ops_per_cpu_s_ci_low,ops_per_cpu_s_ci_high,"
                    "cores_used,cores_used_ci_low,cores_used_ci_high,"
                    "rss_per_task_bytes,rss_per_task_ci_low,rss_per_task_ci_high,"
                    "peak_rss_kb,first_error,"
                    "metric,ci_rel_half_width,target_ci,stop_reason,rounds,spent_s,"
                    "cpu_ns_per_op,cpu_ns_per_op_ci_low,cpu_ns_per_op_ci_high,"
                    "server_reps,server_late_reps,server_bound_reps,server_bound,server_late_p99_ms,"
                    "server_late_over_1ms_share,server_cpu_ns_per_op,of_epoll_ceiling,"
                    "floor,floor_ns_per_op,of_floor,of_floor_ci_low,of_floor_ci_high,"
                    "cold_ns_per_op,cold_ns_per_op_ci_low,cold_ns_per_op_ci_high,os_threads_peak");
    gb_csv_eol(&b);
    for (size_t i = 0; i < rd->nsums; i++) {
        const struct gb_summary *s = &rd->sums[i];
        gb_csv_cell(&b, &s->cell);
        gb_buf_printf(&b, ",%d,%d,%d,%d,%d,%d,%d", s->reps_total, s->reps_ok, s->reps_failed,
                      s->by_status[GB_ST_FAILED], s->by_status[GB_ST_CRASHED],
                      s->by_status[GB_ST_TIMEOUT], s->by_status[GB_ST_GARBLED]);
        csv_stats(&b, &s->ns, true);
        csv_stats(&b, &s->ops_s, false);
        csv_stats(&b, &s->cpu_ops_s, false);
        csv_stats(&b, &s->cores, false);
        csv_stats(&b, &s->rss_task, false);
        csv_long(&b, s->peak_rss_kb > 0 ? s->peak_rss_kb : -1);
        gb_csv_sep(&b);
        gb_csv_field(&b, s->first_error);
        gb_csv_sep(&b);
        gb_buf_puts(&b, gb_headline(s) == &s->rss_task ? "rss_per_task_bytes" : "ns_per_op");
        double nums[] = { s->rel_hw,
                          rd->plan.stop.min_reps < rd->plan.stop.max_reps ? rd->plan.stop.target_ci : NAN };
        for (size_t k = 0; k < 2; k++) {
            gb_csv_sep(&b);
            gb_csv_num(&b, nums[k]);
        }
        gb_csv_sep(&b);
        gb_buf_puts(&b, gb_stop_name(s->stop));
        gb_buf_printf(&b, ",%ld", s->rounds);
        gb_csv_sep(&b);
        gb_csv_num(&b, s->spent_s);
        csv_stats(&b, &s->cpu_ns_op, false);
        if (s->server_reps)
            gb_buf_printf(&b, ",%d,%d,%d,%s", s->server_reps, s->server_late_reps, s->server_bound_reps,
                          s->server_bound ? "true" : "false");
        else
            gb_buf_puts(&b, ",,,,");
        double server[] = { s->server_late_p99_ms, s->server_late_share, s->server_cpu_ns_op,
                            s->of_ceiling };
        for (size_t k = 0; k < 4; k++) {
            gb_csv_sep(&b);
            gb_csv_num(&b, s->server_reps || k == 3 || (k == 2 && s->server_cpu_reps) ? server[k] : NAN);
        }
        gb_csv_sep(&b);
        gb_csv_field(&b, s->floor_name);
        gb_csv_sep(&b);
        gb_csv_num(&b, s->floor_ns.n ? s->floor_ns.median : NAN);
        csv_stats(&b, &s->of_floor, false);
        csv_stats(&b, &s->cold_ns, false);
        csv_long(&b, s->os_threads_peak > 0 ? s->os_threads_peak : -1);
        gb_csv_eol(&b);
    }
    int rc = gb_write_file_atomic(path, b.data, b.len);
    gb_buf_free(&b);
    return rc;
}
