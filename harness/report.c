/* harness/report.c: the report stage (report.h): report.md and
 * report.html of a run, self-contained (plots inline, everything escaped),
 * from the results model; and `greenbench report DIR`, which rebuilds
 * summary.csv, the plots and both reports from the stored files. */
#include "report.h"

#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "cell.h"
#include "doc.h"
#include "json.h"
#include "plot.h"
#include "runner.h"
#include "util.h"

#define CV_WARN 0.10 /* spread above which a comparison is not to be trusted */

/* ---- text helpers for both reports ---- */

static void fmt_si(char *out, size_t n, double v, const char *unit)
{
    if (!isfinite(v))
        snprintf(out, n, "n/a");
    else if (fabs(v) >= 1e9)
        snprintf(out, n, "%.3gG%s", v / 1e9, unit);
    else if (fabs(v) >= 1e6)
        snprintf(out, n, "%.3gM%s", v / 1e6, unit);
    else if (fabs(v) >= 1e4)
        snprintf(out, n, "%.3gk%s", v / 1e3, unit);
    else
        snprintf(out, n, "%.3g%s", v, unit);
}

static void fmt_bytes(char *out, size_t n, double v)
{
    if (!isfinite(v))
        snprintf(out, n, "n/a");
    else if (fabs(v) >= 1 << 20)
        snprintf(out, n, "%.3g MiB", v / (1 << 20));
    else if (fabs(v) >= 1 << 10)
        snprintf(out, n, "%.3g KiB", v / (1 << 10));
    else
        snprintf(out, n, "%.0f B", v);
}

/* "n=1000 k=10": the cell's parameters without the leading space. */
static void cell_params(const struct gb_cell *c, char *out, size_t n)
{
    struct gb_buf b;
    gb_buf_init(&b);
    gb_cell_params(c, GB_AX_ALL, &b);
    snprintf(out, n, "%s", b.len ? b.data + 1 : "");
    gb_buf_free(&b);
}

/* ---- the report ---- */

static const json_t *meta_get(const struct gb_rundata *rd, const char *a, const char *b)
{
    const json_t *v = json_object_get(rd->meta, a);
    return b ? json_object_get(v, b) : v;
}

static const char *meta_str(const struct gb_rundata *rd, const char *a, const char *b)
{
    const json_t *v = meta_get(rd, a, b);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* What the local HTTP server said about itself (server.log): where it ran,
 * what it answered, and how late its delayed answers left, so a reader can
 * see that the server was not what limited the workloads that fetch from it. */
static void server_section(struct gb_doc *d, const struct gb_rundata *rd)
{
    char *path = gb_xasprintf("%s/server.log", rd->dir), *text = NULL;
    size_t len = 0;
    int rc = gb_read_file(path, &text, &len);
    free(path);
    if (rc != 0 || len == 0) {
        free(text);
        return;
    }
    static const char prefix[] = "greenbench-server: ";
    bool any = false;
    for (char *line = text, *next; line != NULL && *line; line = next) {
        next = strchr(line, '\n');
        if (next != NULL)
            *next++ = '\0';
        if (strncmp(line, prefix, sizeof prefix - 1) != 0)
            continue;
        if (!any) {
            gb_doc_heading(d, 2, "Local HTTP server");
            gb_doc_para(d, NULL);
            char *served = gb_workload_names(GB_PICK_SERVER, 0, ", ", " and ");
            gb_doc_escf(d,
                        "%s fetched from greenbench-server, run on the last CPU (green cells on the "
                        "first, thread cells on all). What it said, in order:",
                        served);
            free(served);
            gb_doc_para_end(d);
            gb_buf_puts(d->b, d->html ? "<ul>\n" : "");
            any = true;
        }
        gb_doc_item(d, line + sizeof prefix - 1);
    }
    if (any)
        gb_buf_puts(d->b, d->html ? "</ul>\n" : "\n");
    free(text);
}

/* The head of report.html: its title and style. */
static void html_head(struct gb_doc *d, const struct gb_rundata *rd)
{
    gb_buf_puts(d->b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                      "<title>greenbench report: ");
    gb_doc_esc(d, rd->dir);
    gb_buf_puts(
        d->b,
        "</title>\n<style>\n"
        "body{font-family:system-ui,sans-serif;max-width:72rem;margin:2rem auto;padding:0 1rem;color:#222}\n"
        "table{border-collapse:collapse;margin:1rem 0;font-size:.9rem}\n"
        "th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:left;vertical-align:top}\n"
        "th{background:#f3f3f3}tr.warn td{background:#fff4e0}tr.fail td{background:#fde8e8}\n"
        "figure{margin:1.5rem 0}figure img{max-width:100%;border:1px solid #eee}\n"
        "pre{background:#f7f7f7;padding:.5rem;overflow-x:auto;font-size:.8rem}\n"
        ".note{background:#eef5ff;padding:.5rem 1rem;border-left:4px solid #69c}\n"
        ".warn{color:#8a4b00}\n</style>\n</head>\n<body>\n");
}

/* The title: which run, its state and plan, and its command line. */
static void title_section(struct gb_doc *d, const struct gb_rundata *rd)
{
    gb_doc_heading(d, 1, "greenbench report");
    const char *status = meta_str(rd, "status", NULL);
    gb_doc_para(d, NULL);
    gb_doc_escf(d,
                "Run %s: %s, started %s, ended %s; preset %s, %ld counted repetitions per cell "
                "after one warm-up, timeout %.3g s, seed %s.",
                rd->dir, status ? status : "unknown", meta_str(rd, "start_time", NULL) ?: "?",
                meta_str(rd, "end_time", NULL) ?: "?", meta_str(rd, "plan", "preset") ?: "?",
                (long)gb_json_num(meta_get(rd, "plan", NULL), "reps", 0),
                gb_json_num(meta_get(rd, "plan", NULL), "timeout_s", 0),
                meta_str(rd, "plan", "seed") ?: "?");
    gb_doc_para_end(d);
    const json_t *argv = meta_get(rd, "command_line", NULL);
    if (json_is_array(argv)) {
        struct gb_buf cmd;
        gb_buf_init(&cmd);
        for (size_t i = 0; i < json_array_size(argv); i++)
            if (json_is_string(json_array_get(argv, i)))
                gb_buf_printf(&cmd, "%s%s", i ? " " : "", json_string_value(json_array_get(argv, i)));
        gb_doc_para(d, NULL);
        gb_doc_escf(d, "Command: %s", gb_buf_str(&cmd));
        gb_doc_para_end(d);
        gb_buf_free(&cmd);
    }
}

/* The warnings about the run itself: not complete, preflight warnings. */
static size_t run_warnings(struct gb_doc *wd, const struct gb_rundata *rd)
{
    const char *status = meta_str(rd, "status", NULL);
    size_t nwarn = 0;
    if (status && strcmp(status, "complete") != 0) {
        char m[600];
        snprintf(m, sizeof m, "The run is %.20s: finish it with greenbench run --resume %.500s", status,
                 rd->dir);
        gb_doc_item(wd, m);
        nwarn++;
    }
    const json_t *readings = json_object_get(meta_get(rd, "preflight", NULL), "readings");
    for (size_t i = 0; i < json_array_size(readings); i++) {
        const json_t *r = json_array_get(readings, i);
        if (strcmp(gb_json_str(r, "level", ""), "warning") != 0)
            continue;
        char m[600];
        snprintf(m, sizeof m, "Preflight: %s = %s: %s", gb_json_str(r, "name", "?"),
                 gb_json_str(r, "value", "?"), gb_json_str(r, "advice", ""));
        gb_doc_item(wd, m);
        nwarn++;
    }
    return nwarn;
}

/* The warnings about cells: failed repetitions, none at all, too much
 * spread; and unreadable lines. */
static size_t cell_warnings(struct gb_doc *wd, const struct gb_rundata *rd)
{
    size_t nwarn = 0;
    for (size_t i = 0; i < rd->nsums; i++) {
        const struct gb_summary *s = &rd->sums[i];
        char m[600];
        if (s->reps_failed > 0) {
            snprintf(m, sizeof m, "%s: %d of %d repetitions failed (%s)", s->cell.key, s->reps_failed,
                     s->reps_total, s->first_error);
            gb_doc_item(wd, m);
            nwarn++;
        } else if (s->reps_total == 0) {
            snprintf(m, sizeof m, "%s: no repetition ran", s->cell.key);
            gb_doc_item(wd, m);
            nwarn++;
        }
        if (s->ns.n > 1 && s->ns.cv > CV_WARN) {
            snprintf(m, sizeof m,
                     "%s: cv %.0f%%, above %.0f%%: too much spread to trust a "
                     "comparison",
                     s->cell.key, s->ns.cv * 100, CV_WARN * 100);
            gb_doc_item(wd, m);
            nwarn++;
        }
    }
    if (rd->bad_lines) {
        char m[200];
        snprintf(m, sizeof m, "cells.jsonl has %zu unreadable lines (skipped)", rd->bad_lines);
        gb_doc_item(wd, m);
        nwarn++;
    }
    return nwarn;
}

/* Warnings first: what makes numbers untrustworthy. */
static void warnings_section(struct gb_doc *d, const struct gb_rundata *rd)
{
    struct gb_buf wl;
    gb_buf_init(&wl);
    struct gb_doc wd = { .b = &wl, .html = d->html };
    size_t nwarn = run_warnings(&wd, rd) + cell_warnings(&wd, rd);
    gb_doc_heading(d, 2, "Warnings");
    if (nwarn == 0) {
        gb_doc_para(d, NULL);
        gb_doc_esc(d, "None: every repetition ran and every cell's cv is within 10%.");
        gb_doc_para_end(d);
    } else {
        gb_buf_puts(d->b, d->html ? "<ul class=\"warn\">\n" : "");
        gb_buf_puts(d->b, gb_buf_str(&wl));
        gb_buf_puts(d->b, d->html ? "</ul>\n" : "\n");
    }
    gb_buf_free(&wl);
}

/* The machine, and why ratios here are not ratios everywhere. */
static void machine_section(struct gb_doc *d, const struct gb_rundata *rd)
{
    char t1[64], t2[64];
    gb_doc_heading(d, 2, "Machine");
    const json_t *m = meta_get(rd, "machine", NULL);
    double sys_ns = gb_json_num(meta_get(rd, "preflight", NULL), "syscall_ns", NAN);
    double pf_ns = gb_json_num(meta_get(rd, "preflight", NULL), "page_fault_ns", NAN);
    gb_doc_para(d, NULL);
    gb_doc_escf(d, "%s, %ld CPUs allowed (%ld online), %s, %.1f GiB memory%s.",
                gb_json_str(m, "cpu_model", "unknown CPU"), (long)gb_json_num(m, "cpus_allowed", 0),
                (long)gb_json_num(m, "cpus_online", 0), gb_json_str(m, "kernel", "unknown kernel"),
                gb_json_num(m, "memory_kb", 0) / 1048576.0,
                json_is_true(json_object_get(m, "virtualized")) ? ", virtualized" : "");
    gb_doc_para_end(d);
    gb_doc_para(d, "note");
    gb_format_ns(t1, sizeof t1, sys_ns);
    gb_format_ns(t2, sizeof t2, pf_ns);
    gb_doc_escf(d,
                "Ratios between coroutines and threads depend on the machine. Here a system call "
                "costs %s and a first-touch page fault %s (measured before the run). Thread "
                "creation, blocking handoffs and fresh stacks pay these costs and a coroutine "
                "switch does not, so on virtual machines, where both are several times dearer "
                "than on bare metal (about 1.1 us and 12-16 us on the VMs this project was "
                "developed on), coroutine-to-thread ratios come out larger than on bare metal. "
                "Compare runs from the same machine.",
                t1, t2);
    gb_doc_para_end(d);
}

/* Peers: what their figures include that ours do not. */
static void peers_section(struct gb_doc *d, const struct gb_rundata *rd)
{
    bool peers_heading = false;
    for (size_t k = 0; k < gb_npeers; k++) {
        bool present = false;
        for (size_t i = 0; i < rd->nsums && !present; i++)
            present = strcmp(rd->sums[i].cell.impl, gb_peers[k].name) == 0;
        if (!present)
            continue;
        if (!peers_heading) {
            gb_doc_heading(d, 2, "Peers");
            peers_heading = true;
        }
        gb_doc_para(d, NULL);
        gb_doc_escf(d, "%s: its figures include %s.", gb_peers[k].name, gb_peers[k].includes);
        gb_doc_para_end(d);
    }
}

/* Overview: every non-thread cell against its thread baseline. */
static void overview_section(struct gb_doc *d, const struct gb_rundata *rd)
{
    gb_doc_heading(d, 2, "Overview: relative to OS threads");
    gb_doc_para(d, NULL);
    gb_doc_esc(d, "Time per operation of each implementation divided by that of OS threads with the "
                  "same workload and parameters (threads = 1; below 1 is faster), with the 95% "
                  "distribution-free interval of the ratio (Moses).");
    gb_doc_para_end(d);
    static const char *const ocols[] = { "workload",        "implementation", "parameters",
                                         "time vs threads", "95% interval",   "speed-up" };
    gb_doc_table(d, ocols, 6);
    size_t nover = 0;
    for (size_t i = 0; i < rd->nsums; i++) {
        const struct gb_summary *s = &rd->sums[i];
        if (s->baseline == NULL || s->ns.n == 0 || !s->ratio_ok)
            continue;
        double est = s->ratio, lo = s->ratio_lo, hi = s->ratio_hi;
        char series[160], params[160];
        gb_cell_series(&s->cell, series, sizeof series);
        cell_params(&s->cell, params, sizeof params);
        gb_doc_row(d, NULL);
        gb_doc_cell(d, s->cell.workload);
        gb_doc_cell(d, series);
        gb_doc_cell(d, params);
        gb_doc_cellf(d, "%.3g", est);
        gb_doc_cellf(d, "%.3g - %.3g", lo, hi);
        gb_doc_cellf(d, est < 1 ? "%.3gx faster" : "%.3gx slower", est < 1 ? 1 / est : est);
        gb_doc_row_end(d);
        nover++;
    }
    gb_doc_table_end(d);
    if (nover == 0) {
        gb_doc_para(d, NULL);
        gb_doc_esc(d, "No pair of cells to compare (a thread baseline and another implementation with "
                      "the same parameters, both with results).");
        gb_doc_para_end(d);
    }
}

/* The plots, inline, or why there are none. */
static void plots_section(struct gb_doc *d, const struct gb_rundata *rd, int plots_drawn)
{
    gb_doc_heading(d, 2, "Plots");
    if (plots_drawn < 0) {
        gb_doc_para(d, "note");
        gb_doc_esc(d, "Plots were skipped: gnuplot was not found. The gnuplot scripts and data are in "
                      "plots/; install gnuplot (Debian: apt-get install gnuplot-nox) and run "
                      "greenbench report on this directory to draw them.");
        gb_doc_para_end(d);
    } else if (plots_drawn == 0) {
        gb_doc_para(d, NULL);
        gb_doc_esc(d, "No plots for this run (no results to draw, or plots were turned off).");
        gb_doc_para_end(d);
    }
    gb_doc_figure(d, rd->dir, "overview", "Green threads and peers relative to OS threads");
    for (size_t w = 0; w < gb_nworkloads; w++)
        if (gb_workloads[w].plot.chart != GB_CHART_NONE)
            gb_doc_figure(d, rd->dir, gb_workloads[w].plot.kind, gb_workloads[w].plot.title);
    gb_doc_figure(d, rd->dir, "efficiency", "Throughput and throughput per CPU-second");
}

/* One workload's table (wk NULL: the cells of workloads the catalog does
 * not know). */
static void results_table(struct gb_doc *d, const struct gb_rundata *rd, const struct gb_workload *wk)
{
    char t1[64], t2[64], t3[64];
    const char *wname = wk ? wk->name : NULL;
    gb_doc_heading(d, 3, wname ? wname : "other workloads");
    if (wk) {
        gb_doc_para(d, NULL);
        gb_doc_esc(d, wk->what);
        gb_doc_para_end(d);
    }
    char unit[64];
    snprintf(unit, sizeof unit, "ns per %s", wk ? wk->op : "op");
    const char *cols[] = { "implementation", "parameters", unit,    "95% CI",   "cv",         "ok/failed",
                           "outliers",       "ops/s",      "cores", "peak RSS", "memory/task" };
    bool mem = wk && wk->metric == GB_METRIC_RSS_PER_TASK;
    gb_doc_table(d, cols, mem ? 11 : 10);
    for (size_t i = 0; i < rd->nsums; i++) {
        const struct gb_summary *s = &rd->sums[i];
        bool known = gb_workload_find(s->cell.workload) != NULL;
        if (wname ? strcmp(s->cell.workload, wname) != 0 : known)
            continue;
        char series[160], params[160];
        gb_cell_series(&s->cell, series, sizeof series);
        cell_params(&s->cell, params, sizeof params);
        if (!wname)
            snprintf(params + strlen(params), sizeof params - strlen(params), " (%s)", s->cell.workload);
        gb_doc_row(d, s->reps_failed || s->reps_total == 0  ? "fail"
                      : (s->ns.n > 1 && s->ns.cv > CV_WARN) ? "warn"
                                                            : NULL);
        gb_doc_cell(d, series);
        gb_doc_cell(d, params);
        if (s->ns.n) {
            gb_doc_cellf(d, "%.4g", s->ns.median);
            gb_doc_cellf(d, "%.4g - %.4g", s->ns.ci_low, s->ns.ci_high);
            gb_doc_cellf(d, "%.1f%%%s", s->ns.cv * 100, s->ns.cv > CV_WARN ? " (!)" : "");
        } else {
            gb_doc_cell(d, "n/a");
            gb_doc_cell(d, "");
            gb_doc_cell(d, "");
        }
        gb_doc_cellf(d, "%d/%d", s->reps_ok, s->reps_failed);
        gb_doc_cellf(d, "%zu/%zu", s->ns.outliers_mild, s->ns.outliers_severe);
        fmt_si(t1, sizeof t1, s->ops_s.n ? s->ops_s.median : NAN, "");
        gb_doc_cell(d, t1);
        snprintf(t2, sizeof t2, s->cores.n ? "%.2f" : "n/a", s->cores.median);
        gb_doc_cell(d, t2);
        fmt_bytes(t3, sizeof t3, s->peak_rss_kb > 0 ? s->peak_rss_kb * 1024.0 : NAN);
        gb_doc_cell(d, t3);
        if (mem) {
            fmt_bytes(t1, sizeof t1, s->rss_task.n ? s->rss_task.median : NAN);
            gb_doc_cell(d, t1);
        }
        gb_doc_row_end(d);
    }
    gb_doc_table_end(d);
}

/* Results per workload. */
static void results_section(struct gb_doc *d, const struct gb_rundata *rd)
{
    gb_doc_heading(d, 2, "Results");
    gb_doc_para(d, NULL);
    gb_doc_esc(d, "Median of the counted repetitions with its distribution-free confidence interval "
                  "(order statistics; its coverage is in summary.csv, below 95% with fewer than 6 "
                  "repetitions), coefficient of variation, Tukey outliers (mild/severe; counted, never "
                  "dropped), throughput, CPU cores kept busy (CPU time / wall time), and peak RSS from "
                  "wait4. Every value is in summary.csv; every repetition in cells.jsonl.");
    gb_doc_para_end(d);
    for (size_t w = 0; w < gb_nworkloads + 1; w++) {
        const char *wname = w < gb_nworkloads ? gb_workloads[w].name : NULL;
        bool any = false;
        for (size_t i = 0; i < rd->nsums; i++) {
            bool known = gb_workload_find(rd->sums[i].cell.workload) != NULL;
            if (wname ? strcmp(rd->sums[i].cell.workload, wname) == 0 : !known)
                any = true;
        }
        if (!any)
            continue;
        results_table(d, rd, wname ? &gb_workloads[w] : NULL);
    }
}

/* Failures, with the tail of their stderr. */
static void failures_section(struct gb_doc *d, const struct gb_rundata *rd)
{
    size_t nfail = 0;
    for (size_t i = 0; i < rd->nrecs; i++)
        nfail += rd->recs[i].status != GB_ST_OK;
    gb_doc_heading(d, 2, "Failures");
    if (nfail == 0) {
        gb_doc_para(d, NULL);
        gb_doc_esc(d, "None.");
        gb_doc_para_end(d);
    }
    size_t shown = 0;
    for (size_t i = 0; i < rd->nrecs && shown < 50; i++) {
        const struct gb_record *r = &rd->recs[i];
        if (r->status == GB_ST_OK)
            continue;
        shown++;
        gb_doc_para(d, NULL);
        if (r->rep == 0)
            gb_doc_escf(d, "%s, warm-up: %s: %s", r->key, gb_status_name(r->status),
                        gb_json_str(r->json, "message", ""));
        else
            gb_doc_escf(d, "%s, repetition %d: %s: %s", r->key, r->rep, gb_status_name(r->status),
                        gb_json_str(r->json, "message", ""));
        gb_doc_para_end(d);
        const char *tail = gb_json_str(r->json, "stderr_tail", "");
        if (*tail) {
            /* The last 12 lines. */
            const char *p = tail + strlen(tail);
            int lines = 0;
            while (p > tail && lines < 13)
                if (*--p == '\n')
                    lines++;
            if (*p == '\n')
                p++;
            gb_doc_pre(d, p);
        }
    }
    if (nfail > shown) {
        gb_doc_para(d, NULL);
        gb_doc_escf(d, "... and %zu more in cells.jsonl.", nfail - shown);
        gb_doc_para_end(d);
    }
}

/* Versions of what was measured, and the git commit. */
static void versions_section(struct gb_doc *d, const struct gb_rundata *rd)
{
    gb_doc_heading(d, 2, "Build and versions");
    static const char *const vcols[] = { "component", "version" };
    gb_doc_table(d, vcols, 2);
    const json_t *vers = meta_get(rd, "versions", NULL);
    for (void *it = json_object_iter((json_t *)vers); it; it = json_object_iter_next((json_t *)vers, it)) {
        const char *vkey = json_object_iter_key(it);
        const json_t *v = json_object_iter_value(it);
        if (json_is_object(v)) {
            for (void *jt = json_object_iter((json_t *)v); jt;
                 jt = json_object_iter_next((json_t *)v, jt)) {
                const char *pkey = json_object_iter_key(jt);
                const json_t *pv = json_object_iter_value(jt);
                gb_doc_row(d, NULL);
                gb_doc_cellf(d, "%s %s", vkey, pkey);
                gb_doc_cell(d, json_is_string(pv) ? json_string_value(pv) : "not found");
                gb_doc_row_end(d);
            }
            continue;
        }
        gb_doc_row(d, NULL);
        gb_doc_cell(d, vkey);
        gb_doc_cell(d, json_is_string(v) ? json_string_value(v) : "not found");
        gb_doc_row_end(d);
    }
    const json_t *git = meta_get(rd, "git", NULL);
    gb_doc_row(d, NULL);
    gb_doc_cell(d, "git commit");
    gb_doc_cellf(d, "%s%s", gb_json_str(git, "commit", "unknown"),
                 json_is_true(json_object_get(git, "dirty")) ? " (with uncommitted changes)" : "");
    gb_doc_row_end(d);
    gb_doc_table_end(d);
}

/* The preflight readings, and what the files of the run hold. */
static void preflight_section(struct gb_doc *d, const struct gb_rundata *rd)
{
    const json_t *readings = json_object_get(meta_get(rd, "preflight", NULL), "readings");
    gb_doc_heading(d, 2, "Preflight");
    static const char *const pcols[] = { "reading", "value", "", "note" };
    gb_doc_table(d, pcols, 4);
    for (size_t i = 0; i < json_array_size(readings); i++) {
        const json_t *r = json_array_get(readings, i);
        const char *level = gb_json_str(r, "level", "ok");
        gb_doc_row(d, strcmp(level, "warning") == 0 ? "warn" : NULL);
        gb_doc_cell(d, gb_json_str(r, "name", ""));
        gb_doc_cell(d, gb_json_str(r, "value", ""));
        gb_doc_cell(d, level);
        gb_doc_cell(d, gb_json_str(r, "advice", ""));
        gb_doc_row_end(d);
    }
    gb_doc_table_end(d);
    gb_doc_para(d, NULL);
    gb_doc_esc(d, "Files: meta.json (this metadata), cells.jsonl (every repetition, warm-ups "
                  "included), summary.csv (one row per cell), plots/ (SVG, PNG, and the .gp and .dat "
                  "to redraw them with gnuplot).");
    gb_doc_para_end(d);
}

static void write_doc(const struct gb_rundata *rd, struct gb_doc *d, int plots_drawn)
{
    if (d->html)
        html_head(d, rd);
    title_section(d, rd);
    warnings_section(d, rd);
    machine_section(d, rd);
    server_section(d, rd);
    peers_section(d, rd);
    overview_section(d, rd);
    plots_section(d, rd, plots_drawn);
    results_section(d, rd);
    failures_section(d, rd);
    versions_section(d, rd);
    preflight_section(d, rd);
    if (d->html)
        gb_buf_puts(d->b, "</body>\n</html>\n");
}

int gb_write_reports(const struct gb_rundata *rd, int plots_drawn)
{
    int rc = 0;
    for (int html = 0; html <= 1; html++) {
        struct gb_buf b;
        gb_buf_init(&b);
        struct gb_doc d = { .b = &b, .html = html };
        write_doc(rd, &d, plots_drawn);
        char *path = gb_xasprintf("%s/%s", rd->dir, html ? "report.html" : "report.md");
        int r = gb_write_file_atomic(path, b.data, b.len);
        if (r != 0) {
            fprintf(stderr, "greenbench: cannot write %s: %s\n", path, strerror(-r));
            rc = r;
        }
        free(path);
        gb_buf_free(&b);
    }
    return rc;
}

int gb_rebuild(const char *dir, bool plots, bool quiet)
{
    struct gb_rundata rd;
    char err[1024];
    int rc = gb_rundata_load(dir, &rd, err, sizeof err);
    if (rc != 0) {
        fprintf(stderr, "greenbench: %s\n", err);
        return rc;
    }
    char *path = gb_xasprintf("%s/summary.csv", dir);
    rc = gb_write_summary_csv(&rd, path);
    if (rc != 0)
        fprintf(stderr, "greenbench: cannot write %s: %s\n", path, strerror(-rc));
    free(path);
    int drawn = gb_write_plots(&rd, plots);
    if (drawn < 0 && !quiet)
        fprintf(stderr, "greenbench: gnuplot not found: plots skipped. The scripts and data "
                        "are in %s/plots; install gnuplot (Debian: apt-get install gnuplot-nox) "
                        "and run: greenbench report %s\n", dir, dir);
    int rrc = gb_write_reports(&rd, plots ? drawn : 0);
    if (rc == 0)
        rc = rrc;
    if (!quiet)
        fprintf(stderr, "greenbench: wrote %s/summary.csv, %s/report.md, %s/report.html%s\n", dir,
                dir, dir, drawn > 0 ? " and plots/" : "");
    gb_rundata_free(&rd);
    return rc;
}

static const char report_help[] =
    "usage: greenbench report [--no-plots] DIR\n"
    "\n"
    "Rebuilds summary.csv, plots/ (SVG and PNG, with their .gp and .dat) and report.md /\n"
    "report.html of a run directory from its stored meta.json and cells.jsonl. Nothing\n"
    "is measured; cells.jsonl and meta.json are only read.\n";

int gb_cmd_report(int argc, char **argv)
{
    enum { OPT_HELP = 256, OPT_NO_PLOTS };
    static const struct option lo[] = {
        { "help", no_argument, NULL, OPT_HELP },
        { "no-plots", no_argument, NULL, OPT_NO_PLOTS },
        { NULL, 0, NULL, 0 },
    };
    const char *dir = NULL;
    bool plots = true;
    opterr = 0;
    optind = 0;
    int c;
    while ((c = getopt_long(argc, argv, "-:h", lo, NULL)) != -1) {
        switch (c) {
        case 'h':
        case OPT_HELP:
            fputs(report_help, stdout);
            return GB_EXIT_OK;
        case OPT_NO_PLOTS: plots = false; break;
        case 1:
            if (dir) {
                fprintf(stderr, "greenbench report: one directory at a time\n");
                return GB_EXIT_USAGE;
            }
            dir = optarg;
            break;
        case '?':
            if (optopt >= OPT_HELP)
                fprintf(stderr, "greenbench report: --%s takes no value (see greenbench report --help)\n",
                        lo[optopt - OPT_HELP].name);
            else
                fprintf(stderr, "greenbench report: unknown option '%s' (see greenbench report --help)\n",
                        argv[optind - 1]);
            return GB_EXIT_USAGE;
        }
    }
    if (dir == NULL) {
        fprintf(stderr, "greenbench report: which run? usage: greenbench report DIR\n");
        return GB_EXIT_USAGE;
    }
    if (!gb_is_dir(dir)) {
        fprintf(stderr, "greenbench report: '%s' is not a directory\n", dir);
        return GB_EXIT_USAGE;
    }
    return gb_rebuild(dir, plots, false) == 0 ? GB_EXIT_OK : GB_EXIT_FAILED;
}
