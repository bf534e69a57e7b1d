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
#include "util.h"

/* ---- loading ---- */

void gb_summarize(struct gb_summary *s, const struct gb_record *const *recs, size_t n)
{
    double *ns = gb_xcalloc(n, sizeof *ns), *ops = gb_xcalloc(n, sizeof *ops);
    double *cpu = gb_xcalloc(n, sizeof *cpu), *cores = gb_xcalloc(n, sizeof *cores);
    double *rss = gb_xcalloc(n, sizeof *rss);
    size_t nns = 0, nops = 0, ncpu = 0, ncores = 0, nrss = 0;
    s->reps_ok = s->reps_failed = s->reps_total = 0;
    memset(s->by_status, 0, sizeof s->by_status);
    s->peak_rss_kb = 0;
    s->first_error[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        const struct gb_record *r = recs[i];
        if (r->rep <= 0)
            continue; /* the warm-up is kept in cells.jsonl, never counted */
        s->reps_total++;
        if ((unsigned)r->status < 6)
            s->by_status[r->status]++;
        long rss_kb = (long)gb_json_num(json_object_get(r->json, "rusage"), "maxrss_kb", 0);
        if (rss_kb > s->peak_rss_kb)
            s->peak_rss_kb = rss_kb;
        if (r->status != GB_ST_OK) {
            s->reps_failed++;
            if (!s->first_error[0])
                snprintf(s->first_error, sizeof s->first_error, "%s: %s",
                         gb_status_name(r->status), gb_json_str(r->json, "message", ""));
            continue;
        }
        s->reps_ok++;
        const json_t *res = r->result;
        double v = gb_json_num(res, "ns_per_op", NAN);
        double wall = gb_json_num(res, "wall_ns", NAN), nops_ = gb_json_num(res, "ops", NAN);
        double cpu_ns = gb_json_num(res, "cpu_ns", NAN);
        if (!(cpu_ns > 0)) { /* fall back on wait4's user + system time */
            const json_t *ru = json_object_get(r->json, "rusage");
            cpu_ns = gb_json_num(ru, "utime_ns", 0) + gb_json_num(ru, "stime_ns", 0);
        }
        if (isfinite(v))
            ns[nns++] = v;
        if (wall > 0 && nops_ > 0)
            ops[nops++] = nops_ * 1e9 / wall;
        if (cpu_ns > 0 && nops_ > 0)
            cpu[ncpu++] = nops_ * 1e9 / cpu_ns;
        if (cpu_ns > 0 && wall > 0)
            cores[ncores++] = cpu_ns / wall;
        double rpt = gb_json_num(res, "rss_per_task_bytes", NAN);
        if (isfinite(rpt))
            rss[nrss++] = rpt;
    }
    gb_stats_compute(ns, nns, 0.95, &s->ns);
    gb_stats_compute(ops, nops, 0.95, &s->ops_s);
    gb_stats_compute(cpu, ncpu, 0.95, &s->cpu_ops_s);
    gb_stats_compute(cores, ncores, 0.95, &s->cores);
    gb_stats_compute(rss, nrss, 0.95, &s->rss_task);
    free(s->values);
    s->values = ns;
    s->nvalues = nns;
    free(ops);
    free(cpu);
    free(cores);
    free(rss);
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
    } else if (rc != -ENOENT) {
        snprintf(err, errlen, "%s: %s", path, strerror(-rc));
        free(path);
        return rc;
    }
    free(path);
    return 0;
}

/* One line of cells.jsonl: a record, or (unless blank) a bad line. */
static void add_record(struct gb_rundata *rd, const char *line)
{
    json_t *v;
    if (gb_json_parse(line, strlen(line), &v, NULL, 0) != 0 || !json_is_object(v) ||
        gb_json_str(v, "cell", NULL) == NULL) {
        if (strspn(line, " \t\r") != strlen(line))
            rd->bad_lines++;
        json_decref(v);
        return;
    }
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
            if (strcmp(rd->recs[j].key, rd->sums[i].cell.key) == 0)
                mine[n++] = &rd->recs[j];
        gb_summarize(&rd->sums[i], mine, n);
    }
    free(mine);
    /* rd->sums is complete: the baselines point into it from here on. */
    for (size_t i = 0; i < rd->nsums; i++) {
        struct gb_summary *s = &rd->sums[i];
        const struct gb_summary *t = s->baseline = gb_baseline(rd, s);
        s->ratio_ok = t && gb_ratio_ci(t->values, t->nvalues, s->values, s->nvalues, 0.95,
                                       &s->ratio, &s->ratio_lo, &s->ratio_hi, &s->ratio_cov) == 0;
    }
}

int gb_rundata_load(const char *dir, struct gb_rundata *rd, char *err, size_t errlen)
{
    memset(rd, 0, sizeof *rd);
    snprintf(rd->dir, sizeof rd->dir, "%s", dir);
    int rc = load_meta(dir, rd, err, errlen);
    if (rc != 0)
        return rc;
    char *path = gb_xasprintf("%s/cells.jsonl", dir), *text;
    size_t len;
    rc = gb_read_file(path, &text, &len);
    if (rc != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(-rc));
        free(path);
        json_decref(rd->meta);
        rd->meta = NULL;
        return rc;
    }
    free(path);
    if (rd->meta == NULL && len == 0) {
        snprintf(err, errlen, "%s holds no greenbench run (no meta.json, empty cells.jsonl)", dir);
        free(text);
        return -ENOENT;
    }
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
        add_record(rd, line);
    free(text);
    summarize_all(rd);
    return 0;
}

void gb_rundata_free(struct gb_rundata *rd)
{
    for (size_t i = 0; i < rd->nrecs; i++)
        json_decref(rd->recs[i].json);
    free(rd->recs);
    for (size_t i = 0; i < rd->nsums; i++)
        free(rd->sums[i].values);
    free(rd->sums);
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
            !gb_cell_same(b, c, GB_AX_ALL & ~GB_AX_CPUS & ~(any_n ? GB_AX_N : 0u)) ||
            t->ns.n == 0)
            continue;
        if (best == NULL || baseline_better(c, b, &best->cell))
            best = t;
    }
    return best;
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
                    "peak_rss_kb,first_error");
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
        gb_csv_eol(&b);
    }
    int rc = gb_write_file_atomic(path, b.data, b.len);
    gb_buf_free(&b);
    return rc;
}
