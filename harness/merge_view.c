/* harness/merge_view.c: what a merged folder derives (merge.h,
 * gb_merge_rebuild): each host's folder rebuilt and read as an ordinary
 * run, then summary.csv with a host column, the per-host ratios, the
 * cross-host table, the plot of one ratio per host and report.md. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "campaign.h"
#include "csv.h"
#include "findings.h"
#include "journal.h"
#include "merge.h"
#include "plot.h"
#include "report.h"
#include "results.h"
#include "units.h"
#include "util.h"

/* The hosts of a merged folder, each loaded as a run. */
struct view {
    const char *out;
    json_t *merge;           /* merge.json */
    struct gb_rundata *rd;   /* one per host, in merge.json's order */
    const char **ids;
    size_t n;
    int plot_drawn; /* write_plot's pictures */
};

/* One row of a host's summary.csv into b, after the field first. */
static void summary_row(struct gb_buf *b, const char *first, char *const *fields, size_t n)
{
    gb_csv_field(b, first);
    for (size_t i = 0; i < n; i++) {
        gb_csv_sep(b);
        gb_csv_field(b, fields[i]);
    }
    gb_csv_eol(b);
}

/* OUT/summary.csv: each host's summary.csv, a host column first. Parsed,
 * not split at newlines: a quoted field (first_error) may hold one. */
static int write_summary(const struct view *v)
{
    struct gb_buf b;
    gb_buf_init(&b);
    bool header = false;
    for (size_t k = 0; k < v->n; k++) {
        char *path = gb_xasprintf("%s/hosts/%s/summary.csv", v->out, v->ids[k]), *text;
        struct gb_csv c = { 0 };
        int rc = gb_read_file(path, &text, NULL);
        if (rc == 0 && gb_csv_parse(text, &c) < 0)
            fprintf(stderr, "greenbench: %s: a malformed quote: left out of summary.csv\n", path);
        if (rc == 0)
            free(text);
        free(path);
        for (size_t r = header ? 1 : 0; r < c.rows; r++)
            summary_row(&b, r == 0 ? "host" : v->ids[k], c.cells[r], c.ncols[r]);
        header |= c.rows > 0;
        gb_csv_free(&c);
    }
    char *path = gb_xasprintf("%s/summary.csv", v->out);
    int rc = gb_write_file_atomic(path, b.data ? b.data : "", b.len);
    free(path);
    gb_buf_free(&b);
    return rc;
}

/* One ratio row of ratios.csv: cell s of host id against its baseline (vs). */
static void ratio_row(struct gb_buf *b, const char *id, const struct gb_summary *s,
                      const struct gb_verdict *vs)
{
    char group[256], verdict[200];
    gb_group_key(&s->cell, group, sizeof group);
    gb_verdict_text(vs, gb_figure_is_memory(s), verdict, sizeof verdict);
    gb_csv_field(b, id);
    gb_csv_sep(b);
    gb_csv_field(b, group);
    gb_csv_sep(b);
    gb_csv_field(b, s->cell.key);
    gb_csv_sep(b);
    gb_csv_field(b, s->baseline->cell.key);
    double nums[] = { vs->ratio, vs->lo, vs->hi, vs->coverage };
    for (size_t i = 0; i < 4; i++) {
        gb_csv_sep(b);
        gb_csv_num(b, nums[i]);
    }
    gb_buf_printf(b, ",%d,%d,", s->reps_ok, s->baseline->reps_ok);
    gb_csv_field(b, verdict);
    gb_csv_eol(b);
}

/* OUT/ratios.csv: per host, every cell with a thread baseline, its ratio
 * (time per op, or memory per task, over the baseline's). */
static int write_ratios(const struct view *v)
{
    struct gb_buf b;
    gb_buf_init(&b);
    gb_buf_puts(&b, "host,group,cell,baseline,ratio,ratio_ci_low,ratio_ci_high,ci_level,reps_ok,"
                    "baseline_reps_ok,verdict");
    gb_csv_eol(&b);
    for (size_t k = 0; k < v->n; k++)
        for (size_t i = 0; i < v->rd[k].nsums; i++) {
            const struct gb_summary *s = &v->rd[k].sums[i];
            if (s->head_ratio_ok)
                ratio_row(&b, v->ids[k], s, &s->head_vs_baseline);
        }
    char *path = gb_xasprintf("%s/ratios.csv", v->out);
    int rc = gb_write_file_atomic(path, b.data, b.len);
    free(path);
    gb_buf_free(&b);
    return rc;
}

static int dbl_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* A cell's ratio on every host that has one: how many, the median, min, max. */
struct across {
    const struct gb_summary *s; /* its summary on the first host */
    size_t n;
    double median, lo, hi;
};

/* The ratios of cell key over the hosts into *a: false when no host has one. */
static bool across_hosts(const struct view *v, const char *key, struct across *a)
{
    double *r = gb_xcalloc(v->n + 1, sizeof *r);
    memset(a, 0, sizeof *a);
    for (size_t k = 0; k < v->n; k++) {
        const struct gb_summary *s = gb_rundata_find(&v->rd[k], key);
        if (s && s->head_ratio_ok) {
            a->s = a->s ? a->s : s;
            r[a->n++] = s->head_vs_baseline.ratio;
        }
    }
    if (a->n) {
        qsort(r, a->n, sizeof *r, dbl_cmp);
        a->median = a->n % 2 ? r[a->n / 2] : (r[a->n / 2 - 1] + r[a->n / 2]) / 2;
        a->lo = r[0];
        a->hi = r[a->n - 1];
    }
    free(r);
    return a->n > 0;
}

/* Has an earlier host (before k), or host k before summary i, the key? */
static bool seen_before(const struct view *v, size_t k, size_t i)
{
    const char *key = v->rd[k].sums[i].cell.key;
    for (size_t j = 0; j < i; j++)
        if (strcmp(v->rd[k].sums[j].cell.key, key) == 0)
            return true;
    for (size_t h = 0; h < k; h++)
        if (gb_rundata_find(&v->rd[h], key))
            return true;
    return false;
}

/* Calls fn for every distinct cell with a ratio on some host, first seen first. */
static void each_across(const struct view *v, void (*fn)(const struct across *, void *), void *arg)
{
    for (size_t k = 0; k < v->n; k++)
        for (size_t i = 0; i < v->rd[k].nsums; i++) {
            struct across a;
            if (!seen_before(v, k, i) && across_hosts(v, v->rd[k].sums[i].cell.key, &a))
                fn(&a, arg);
        }
}

static void cross_csv_row(const struct across *a, void *arg)
{
    struct gb_buf *b = arg;
    char group[256];
    gb_group_key(&a->s->cell, group, sizeof group);
    gb_csv_field(b, group);
    gb_csv_sep(b);
    gb_csv_field(b, a->s->cell.key);
    gb_buf_printf(b, ",%zu", a->n);
    double nums[] = { a->median, a->lo, a->hi };
    for (size_t i = 0; i < 3; i++) {
        gb_csv_sep(b);
        gb_csv_num(b, nums[i]);
    }
    gb_csv_eol(b);
}

/* OUT/cross-host.csv: per cell, the median of its per-host ratios and their range. */
static int write_cross(const struct view *v)
{
    struct gb_buf b;
    gb_buf_init(&b);
    gb_buf_puts(&b, "group,cell,hosts,median_ratio,min_ratio,max_ratio");
    gb_csv_eol(&b);
    each_across(v, cross_csv_row, &b);
    char *path = gb_xasprintf("%s/cross-host.csv", v->out);
    int rc = gb_write_file_atomic(path, b.data, b.len);
    free(path);
    gb_buf_free(&b);
    return rc;
}

/* ---- the plot of one ratio per host ---- */

/* One row of hosts.dat: the cell's key, then its ratio on each host. */
static void plot_row(const struct across *a, void *arg)
{
    const struct view *v = ((const void **)arg)[0];
    struct gb_buf *b = ((void **)arg)[1];
    gb_buf_puts(b, "\"");
    for (const char *c = a->s->cell.key; *c; c++)
        gb_buf_add(b, *c == '"' ? "'" : c, 1);
    gb_buf_puts(b, "\"");
    for (size_t k = 0; k < v->n; k++) {
        const struct gb_summary *s = gb_rundata_find(&v->rd[k], a->s->cell.key);
        gb_buf_printf(b, " %.6g", s && s->head_ratio_ok ? s->head_vs_baseline.ratio : NAN);
    }
    gb_buf_puts(b, "\n");
}

/* OUT/plots/hosts.{dat,gp,svg,png}: every cell's ratio, one bar per host.
 * Returns the pictures drawn (0 without gnuplot) or a negative errno. */
static int write_plot(const struct view *v)
{
    struct gb_buf data, vars;
    gb_buf_init(&data);
    gb_buf_init(&vars);
    gb_buf_puts(&data, "cell");
    for (size_t k = 0; k < v->n; k++)
        gb_buf_printf(&data, " \"%s\"", v->ids[k]);
    gb_buf_puts(&data, "\n");
    const void *arg[2] = { v, &data };
    each_across(v, plot_row, arg);
    gb_buf_printf(&vars, "nhosts = %zu\nsubtitle = \"%zu host%s\"\n", v->n, v->n, v->n == 1 ? "" : "s");
    char *pdir = gb_xasprintf("%s/plots", v->out);
    int rc = gb_plot_one(pdir, "hosts", gb_buf_str(&vars), gb_buf_str(&data));
    free(pdir);
    gb_buf_free(&data);
    gb_buf_free(&vars);
    return rc;
}

/* ---- report.md ---- */

/* The machines: one row per host, from merge.json's fingerprints. */
static void md_machines(const struct view *v, struct gb_buf *b)
{
    gb_buf_puts(b, "## Machines\n\n| host | CPU | cores × threads | virtualization | kernel | governor | "
                   "syscall | page fault | report |\n|---|---|---|---|---|---|---|---|---|\n");
    const json_t *hosts = json_object_get(v->merge, "hosts");
    for (size_t k = 0; k < json_array_size(hosts); k++) {
        const json_t *h = json_array_get(hosts, k);
        char sc[32], pf[32];
        gb_fmt_time(sc, sizeof sc, gb_json_num(h, "syscall_ns", NAN));
        gb_fmt_time(pf, sizeof pf, gb_json_num(h, "page_fault_ns", NAN));
        const char *id = gb_json_str(h, "id", "?");
        gb_buf_printf(b,
                      "| %s | %s | %.0f × %.0f | %s | %s | %s | %s | %s | [report](hosts/%s/report.md) |\n",
                      id, gb_json_str(h, "cpu_model", "?"), gb_json_num(h, "cores", NAN),
                      gb_json_num(h, "threads_per_core", NAN), gb_json_str(h, "virtualization", "?"),
                      gb_json_str(h, "kernel", "?"), gb_json_str(h, "governor", "n/a"), sc, pf, id);
    }
    gb_buf_puts(b, "\n");
}

/* Per host, each cell against its thread baseline, in its groups' order. */
static void md_per_host(const struct view *v, struct gb_buf *b)
{
    gb_buf_puts(
        b,
        "## Per host: every cell against OS threads\n\nEach ratio is measured on one "
        "machine (a comparison group is one shard); the ratio is the cell's median over "
        "its thread baseline's, with its interval.\n\n| host | group | cell | ratio | interval | verdict |\n"
        "|---|---|---|---|---|---|\n");
    for (size_t k = 0; k < v->n; k++)
        for (size_t i = 0; i < v->rd[k].nsums; i++) {
            const struct gb_summary *s = &v->rd[k].sums[i];
            char group[256], verdict[200], r[32], lo[32], hi[32];
            const struct gb_verdict *vs = &s->head_vs_baseline;
            if (!s->head_ratio_ok)
                continue;
            gb_group_key(&s->cell, group, sizeof group);
            gb_verdict_text(vs, gb_figure_is_memory(s), verdict, sizeof verdict);
            gb_fmt_num(r, sizeof r, vs->ratio);
            gb_fmt_num(lo, sizeof lo, vs->lo);
            gb_fmt_num(hi, sizeof hi, vs->hi);
            gb_buf_printf(b, "| %s | %s | %s | %s | %s–%s | %s |\n", v->ids[k], group, s->cell.key, r, lo,
                          hi, verdict);
        }
    gb_buf_puts(b, "\n");
}

static void md_cross_row(const struct across *a, void *arg)
{
    char med[32], lo[32], hi[32];
    gb_fmt_num(med, sizeof med, a->median);
    gb_fmt_num(lo, sizeof lo, a->lo);
    gb_fmt_num(hi, sizeof hi, a->hi);
    gb_buf_printf(arg, "| %s | %zu | %s | %s–%s |\n", a->s->cell.key, a->n, med, lo, hi);
}

static void md_cross(const struct view *v, struct gb_buf *b)
{
    gb_buf_puts(b, "## Across hosts\n\nThe median of the per-host ratios (cell over its thread "
                   "baseline: below 1, faster than threads) and their range; never a pool of "
                   "repetitions of different machines.\n\n| cell | hosts | median ratio | range |\n"
                   "|---|---|---|---|\n");
    each_across(v, md_cross_row, b);
    gb_buf_puts(b, "\n");
}

/* The folders' cells with no counted repetition, their lines that are not
 * records; how many such entries. */
static size_t md_records(const struct view *v, struct gb_buf *b)
{
    const json_t *absent = json_object_get(v->merge, "missing_cells"),
                 *srcs = json_object_get(v->merge, "sources");
    for (size_t i = 0; i < json_array_size(absent); i++) {
        const json_t *e = json_array_get(absent, i), *cells = json_object_get(e, "cells");
        gb_buf_printf(b, "- missing: %s (on %s): %zu cell%s with no counted repetition (%s%s)\n",
                      gb_json_str(e, "dir", "?"), gb_json_str(e, "host", "?"), json_array_size(cells),
                      json_array_size(cells) == 1 ? "" : "s", json_string_value(json_array_get(cells, 0)),
                      json_array_size(cells) > 1 ? ", ..." : "");
    }
    size_t n = json_array_size(absent);
    for (size_t i = 0; i < json_array_size(srcs); i++) {
        const json_t *bad = json_object_get(json_array_get(srcs, i), "bad_lines");
        if (json_array_size(bad) == 0)
            continue;
        struct gb_jsonl j = { .nbad = json_array_size(bad) };
        j.bad = gb_xcalloc(j.nbad, sizeof *j.bad);
        for (size_t k = 0; k < j.nbad; k++)
            j.bad[k] = (size_t)json_integer_value(json_array_get(bad, k));
        struct gb_buf lines;
        gb_buf_init(&lines);
        gb_jsonl_bad_lines(&j, &lines);
        gb_buf_printf(b, "- skipped: %s/cells.jsonl: %s\n",
                      gb_json_str(json_array_get(srcs, i), "dir", "?"), gb_buf_str(&lines));
        gb_buf_free(&lines);
        free(j.bad);
        n++;
    }
    return n;
}

/* The line said when nothing is missing: what is true of the shards and
 * the hosts (each host ran every shard, or the hosts shared them out). */
static void md_all_here(const struct view *v, struct gb_buf *b)
{
    const json_t *campaign = json_object_get(v->merge, "campaign"),
                 *hosts = json_object_get(v->merge, "hosts");
    if (!json_is_object(campaign)) {
        gb_buf_puts(b,
                    "Every run merged is complete (no campaign folder was given: no plan.json says which "
                    "shards there should be); no job failed.\n");
        return;
    }
    size_t nshards = (size_t)gb_json_num(campaign, "shards", 0), every = 0;
    for (size_t k = 0; k < json_array_size(hosts); k++)
        every += json_array_size(json_object_get(json_array_get(hosts, k), "shards")) == nshards;
    if (every == json_array_size(hosts)) {
        gb_buf_puts(b, every == 1 ? "Every shard of the plan is here (host "
                                  : "Every shard of the plan is here, once on each host (");
        for (size_t k = 0; k < json_array_size(hosts); k++)
            gb_buf_printf(b, "%s%s", k ? ", " : "", gb_json_str(json_array_get(hosts, k), "id", "?"));
        gb_buf_puts(b, "); no job failed.\n");
        return;
    }
    gb_buf_puts(b, "Every shard of the plan is here, each on one host or more (");
    for (size_t k = 0; k < json_array_size(hosts); k++) {
        const json_t *h = json_array_get(hosts, k);
        gb_buf_printf(b, "%s%s: %zu of %zu shards", k ? ", " : "", gb_json_str(h, "id", "?"),
                      json_array_size(json_object_get(h, "shards")), nshards);
    }
    gb_buf_puts(b, "); no job failed.\n");
}

/* Missing, incomplete and failed shards, folders that are not runs,
 * duplicates, missing cells and lines. */
static void md_problems(const struct view *v, struct gb_buf *b)
{
    const json_t *miss = json_object_get(v->merge, "missing_shards"),
                 *failed = json_object_get(v->merge, "failed_jobs"),
                 *dup = json_object_get(v->merge, "duplicates"),
                 *cut = json_object_get(v->merge, "incomplete"),
                 *bad = json_object_get(v->merge, "unreadable");
    struct gb_buf records;
    gb_buf_init(&records);
    size_t nrecords = md_records(v, &records);
    gb_buf_puts(b, "## Shards\n\n");
    if (!json_array_size(miss) && !json_array_size(failed) && !json_array_size(dup) && !nrecords &&
        !json_array_size(cut) && !json_array_size(bad))
        md_all_here(v, b);
    for (size_t i = 0; i < json_array_size(miss); i++) {
        const json_t *e = json_array_get(miss, i);
        if (json_is_string(json_object_get(e, "runs")))
            gb_buf_printf(b,
                          "- missing: shard %.0f (%s) in %s, which has the other shards of its launch: "
                          "run it on that launch's host (`%s`) and merge again\n",
                          gb_json_num(e, "shard", -1), gb_json_str(e, "group", "?"),
                          gb_json_str(e, "runs", "?"), gb_json_str(e, "finish", "?"));
        else
            gb_buf_printf(b, "- missing: shard %.0f (%s): %zu cells ran on no host\n",
                          gb_json_num(e, "shard", -1), gb_json_str(e, "group", "?"),
                          json_array_size(json_object_get(e, "cells")));
    }
    for (size_t i = 0; i < json_array_size(cut); i++) {
        const json_t *e = json_array_get(cut, i);
        gb_buf_printf(b,
                      "- incomplete: %s (on %s): its run is %s, %.0f repetitions recorded: finish it "
                      "there (`%s`, which resumes it) and merge again\n",
                      gb_json_str(e, "dir", "?"), gb_json_str(e, "host", "?"),
                      gb_json_str(e, "status", "?"), gb_json_num(e, "reps", 0),
                      gb_json_str(e, "finish", "?"));
    }
    for (size_t i = 0; i < json_array_size(bad); i++) {
        const json_t *e = json_array_get(bad, i);
        gb_buf_printf(b, "- not a run: %s (not merged)\n", gb_json_str(e, "error", "?"));
    }
    for (size_t i = 0; i < json_array_size(failed); i++) {
        const json_t *e = json_array_get(failed, i);
        gb_buf_printf(b, "- failed: `%s` on %s (exit %.0f, signal %.0f)\n", gb_json_str(e, "command", "?"),
                      gb_json_str(e, "host", "?"), gb_json_num(e, "exit", 0), gb_json_num(e, "signal", 0));
    }
    for (size_t i = 0; i < json_array_size(dup); i++) {
        const json_t *e = json_array_get(dup, i);
        gb_buf_printf(b, "- duplicate: shard %.0f ran twice on %s: %s kept (%s), %s skipped\n",
                      gb_json_num(e, "shard", -1), gb_json_str(e, "host", "?"), gb_json_str(e, "kept", "?"),
                      gb_json_str(e, "why", "first found"), gb_json_str(e, "skipped", "?"));
    }
    gb_buf_puts(b, gb_buf_str(&records));
    gb_buf_free(&records);
    gb_buf_puts(b, "\n");
}

static int write_report(const struct view *v)
{
    struct gb_buf b;
    gb_buf_init(&b);
    gb_buf_printf(&b,
                  "# greenbench: merged run of %zu host%s\n\nEach host's own report: "
                  "`hosts/<host>/report.md`. Files: summary.csv (a host column first), "
                  "ratios.csv, cross-host.csv, cells.jsonl, merge.json.\n\n",
                  v->n, v->n == 1 ? "" : "s");
    md_machines(v, &b);
    md_problems(v, &b);
    if (v->plot_drawn > 0)
        gb_buf_puts(&b, "![Each cell against OS threads, one bar per host](plots/hosts.svg)\n\n");
    md_cross(v, &b);
    md_per_host(v, &b);
    char *path = gb_xasprintf("%s/report.md", v->out);
    int rc = gb_write_file_atomic(path, b.data, b.len);
    free(path);
    gb_buf_free(&b);
    return rc;
}

/* ---- the rebuild ---- */

/* merge.json and every host's folder, rebuilt (plots when plots) and loaded. */
static int view_load(struct view *v, const char *out, bool plots)
{
    memset(v, 0, sizeof *v);
    v->out = out;
    char *path = gb_xasprintf("%s/merge.json", out), *text, err[1024];
    size_t len;
    int rc = gb_read_file(path, &text, &len);
    if (rc == 0 && gb_json_parse(text, len, &v->merge, err, sizeof err) != 0)
        rc = -EINVAL;
    if (rc == 0)
        free(text);
    free(path);
    const json_t *hosts = json_object_get(v->merge, "hosts");
    v->rd = gb_xcalloc(json_array_size(hosts) + 1, sizeof *v->rd);
    v->ids = gb_xcalloc(json_array_size(hosts) + 1, sizeof *v->ids);
    for (size_t k = 0; rc == 0 && k < json_array_size(hosts); k++) {
        const char *id = gb_json_str(json_array_get(hosts, k), "id", "unknown");
        char *dir = gb_xasprintf("%s/hosts/%s", out, id);
        rc = gb_rebuild(dir, plots, GB_REBUILD_QUIET);
        if (rc == 0 && (rc = gb_rundata_load(dir, &v->rd[k], err, sizeof err)) != 0)
            fprintf(stderr, "greenbench: %s\n", err);
        free(dir);
        if (rc == 0)
            v->ids[v->n++] = id;
    }
    return rc;
}

static void view_free(struct view *v)
{
    for (size_t k = 0; k < v->n; k++)
        gb_rundata_free(&v->rd[k]);
    free(v->rd);
    free(v->ids);
    json_decref(v->merge);
}

int gb_merge_rebuild(const char *out, bool plots)
{
    struct view v;
    int rc = view_load(&v, out, plots);
    if (rc == 0)
        rc = write_summary(&v);
    if (rc == 0)
        rc = write_ratios(&v);
    if (rc == 0)
        rc = write_cross(&v);
    if (rc == 0 && plots)
        v.plot_drawn = write_plot(&v);
    if (rc == 0)
        rc = write_report(&v);
    if (rc != 0)
        fprintf(stderr, "greenbench: cannot rebuild the merged folder %s: %s\n", out, strerror(-rc));
    view_free(&v);
    return rc;
}
