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
#include "merge.h"
#include "findings.h"
#include "journal.h"
#include "json.h"
#include "peers_ext.h"
#include "plot.h"
#include "process.h"
#include "runner.h"
#include "units.h"
#include "util.h"

/* ---- text helpers for both reports ---- */

/* Beside a figure measured while the local server was late. */
#define SERVER_BOUND_MARK "‡"

/* "n=1000 k=10": the cell's parameters without the leading space. */
static void cell_params(const struct gb_cell *c, char *out, size_t n)
{
    struct gb_buf b;
    gb_buf_init(&b);
    gb_cell_params(c, GB_AX_ALL, &b);
    snprintf(out, n, "%s", b.len ? b.data + 1 : "");
    gb_buf_free(&b);
}

/* A summary's headline interval in its unit: "5.21–5.40 ns", with its
 * coverage where that is below 95%: "5.1–5.6 ns (75%)". */
static void interval_text(const struct gb_summary *s, char *out, size_t n)
{
    const struct gb_stats *st = gb_headline(s);
    char range[96] = "n/a";
    if (st->n == 0) {
        snprintf(out, n, "n/a");
        return;
    }
    if (st == &s->rss_task)
        gb_fmt_bytes_range(range, sizeof range, st->ci_low, st->ci_high);
    else
        gb_fmt_time_range(range, sizeof range, st->ci_low, st->ci_high);
    if (!gb_ci_nominal(st->ci_level)) {
        char pct[32];
        gb_fmt_pct(pct, sizeof pct, st->ci_level);
        snprintf(out, n, "%s (%s)", range, pct);
    } else {
        snprintf(out, n, "%s", range);
    }
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

/* The lines greenbench-server wrote to server.log, as a list (d NULL: only
 * count them). Returns how many. */
static size_t server_log(struct gb_doc *d, const struct gb_rundata *rd)
{
    char *path = gb_xasprintf("%s/server.log", rd->dir), *text = NULL;
    size_t len = 0, n = 0;
    int rc = gb_read_file(path, &text, &len);
    free(path);
    static const char prefix[] = "greenbench-server: ";
    for (char *line = rc == 0 ? text : NULL, *next; line != NULL && *line; line = next) {
        next = strchr(line, '\n');
        if (next != NULL)
            *next++ = '\0';
        if (strncmp(line, prefix, sizeof prefix - 1) != 0)
            continue;
        if (d && n == 0) {
            gb_doc_para(d, NULL);
            gb_doc_esc(d, "What it said, in order:");
            gb_doc_para_end(d);
            gb_doc_list(d, NULL);
        }
        if (d)
            gb_doc_item(d, line + sizeof prefix - 1);
        n++;
    }
    if (d && n)
        gb_doc_list_end(d);
    free(text);
    return n;
}

/* One capacity figure: "18.3k request/s", or "at least 18.3k request/s
 * (wrk's bound: the server used 57% of its CPU)" when the server had CPU
 * to spare, so that wrk, not the server, set the rate. */
static void capacity_figure(char *out, size_t n, const json_t *m)
{
    char rate[64];
    gb_fmt_rate(rate, sizeof rate, gb_json_num(m, "req_per_s", NAN), "request/s");
    double share = gb_json_num(m, "server_cpu_share", NAN);
    if (share == share && share < 0.9) {
        char pct[32];
        gb_fmt_pct(pct, sizeof pct, share);
        snprintf(out, n, "at least %s (wrk's bound: the server used %s of its CPU)", rate, pct);
    } else {
        snprintf(out, n, "%s", rate);
    }
}

/* The server's capacity, measured with wrk before the run (meta.json's
 * "server_capacity"). */
static void server_capacity(struct gb_doc *d, const struct gb_rundata *rd)
{
    const json_t *c = meta_get(rd, "server_capacity", NULL);
    if (!json_is_object(c))
        return;
    char ka[192], close[192];
    capacity_figure(ka, sizeof ka, json_object_get(c, "keepalive"));
    capacity_figure(close, sizeof close, json_object_get(c, "close"));
    gb_doc_para(d, NULL);
    gb_doc_escf(d,
                "Its capacity, measured before the run with %s (%g s, %g connections, no delay, "
                "1 KiB answers, wrk on the first CPU): %s with keep-alive, %s with a new "
                "connection per request.",
                gb_json_str(c, "tool", "wrk"), gb_json_num(c, "duration_s", 0),
                gb_json_num(c, "connections", 0), ka, close);
    gb_doc_para_end(d);
}

/* The workloads of the run (its cells) that fetch from greenbench-server
 * (GB_SERVER_HTTP), in catalog order: "joinall and pool"; NULL when none.
 * The caller frees it. */
static char *served_in_run(const struct gb_rundata *rd)
{
    size_t total = 0;
    bool *in = gb_xcalloc(gb_nworkloads + 1, sizeof *in);
    for (size_t w = 0; w < gb_nworkloads; w++) {
        for (size_t i = 0; i < rd->nsums && gb_workloads[w].server == GB_SERVER_HTTP && !in[w]; i++)
            in[w] = strcmp(rd->sums[i].cell.workload, gb_workloads[w].name) == 0;
        total += in[w];
    }
    if (total == 0) {
        free(in);
        return NULL;
    }
    struct gb_buf b;
    gb_buf_init(&b);
    for (size_t w = 0, n = 0; w < gb_nworkloads; w++) {
        if (!in[w])
            continue;
        if (n++)
            gb_buf_puts(&b, n == total ? " and " : ", ");
        gb_buf_puts(&b, gb_workloads[w].name);
    }
    free(in);
    char *names = gb_xstrdup(gb_buf_str(&b));
    gb_buf_free(&b);
    return names;
}

/* The implementations of the cells with a server window, in run order,
 * into b ("threads, go and gevent"): those whose cells used every CPU
 * allowed (the server's too: all is true) or fewer. Returns how many. */
static size_t impls_on_cpus(const struct gb_rundata *rd, bool all, long allowed, struct gb_buf *b)
{
    const char *names[64];
    size_t n = 0;
    for (size_t i = 0; i < rd->nsums; i++) {
        const struct gb_summary *s = &rd->sums[i];
        if (s->server_reps == 0 || s->cpus_used == 0 || (s->cpus_used >= allowed) != all)
            continue;
        size_t k = 0;
        while (k < n && strcmp(names[k], s->cell.impl) != 0)
            k++;
        if (k == n && n < sizeof names / sizeof names[0])
            names[n++] = s->cell.impl;
    }
    for (size_t k = 0; k < n; k++)
        gb_buf_printf(b, "%s%s", k == 0 ? "" : k + 1 == n ? " and " : ", ", names[k]);
    return n;
}

/* The local HTTP server: where it ran, how loaded it was in each cell's
 * window (server-bound cells), its capacity, what it said. Only for a run
 * with a workload that fetches from it: the harness records where the
 * server would run (meta.json's "server") in every run. */
static void server_section(struct gb_doc *d, const struct gb_rundata *rd)
{
    size_t cells = 0, bound = 0, late_busy = 0;
    for (size_t i = 0; i < rd->nsums; i++) {
        const struct gb_summary *s = &rd->sums[i];
        cells += s->server_reps > 0;
        bound += s->server_bound;
        late_busy += !s->server_bound && 2 * s->server_late_reps > s->server_reps;
    }
    const json_t *where = meta_get(rd, "server", NULL);
    char *served = served_in_run(rd);
    if (served == NULL)
        return;
    gb_doc_heading(d, 2, "Local HTTP server");
    gb_doc_para(d, NULL);
    gb_doc_escf(d, "%s fetched from greenbench-server, with %ld event loop%s on CPU %s.", served,
                (long)gb_json_num(where, "threads", 1), gb_json_num(where, "threads", 1) == 1 ? "" : "s",
                gb_json_str(where, "cpus", "last"));
    free(served);
    /* Where the clients ran: a client on every CPU shares the server's, and
     * its own load there can make the server late. */
    long allowed = (long)gb_json_num(meta_get(rd, "machine", NULL), "cpus_allowed", 0);
    struct gb_buf off, on;
    gb_buf_init(&off);
    gb_buf_init(&on);
    size_t noff = allowed > 1 ? impls_on_cpus(rd, false, allowed, &off) : 0;
    size_t non = allowed > 1 ? impls_on_cpus(rd, true, allowed, &on) : 0;
    if (noff)
        gb_doc_escf(d, " The %s cells ran on the CPUs before it.", gb_buf_str(&off));
    if (non)
        gb_doc_escf(d,
                    " The %s cells ran on all %ld CPUs, the server's included: a server-bound mark "
                    "on them can come from their own load on the server's CPU as much as from the "
                    "server.",
                    gb_buf_str(&on), allowed);
    gb_buf_free(&off);
    gb_buf_free(&on);
    gb_doc_para_end(d);
    gb_doc_para(d, "note");
    gb_doc_escf(d,
                "Server-bound (" SERVER_BOUND_MARK "): before and after each repetition the harness "
                "asked the server how late its delayed answers left in between. The server was "
                "late when the 99th percentile of that lateness is above a tenth of the delay (at "
                "least 1 ms), or when more than 1%% of the answers were more than 1 ms late. A "
                "repetition is server-bound when the server was late and the client was not "
                "saturated (it used less than %.0f%% of the CPU time its CPUs offered, so it "
                "waited); a cell is, when more than half of its repetitions were. Its throughput "
                "then measures the server more than the client: compare the client's CPU time "
                "per request instead. %zu of the %zu cells with a server window were "
                "server-bound; in %zu more the server was late but the client kept its CPUs "
                "busy, so that the client set the pace.",
                100 * GB_CLIENT_SATURATED, bound, cells, late_busy);
    gb_doc_para_end(d);
    server_capacity(d, rd);
    server_log(d, rd);
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

/* The repetition rule of the run's plan, for people: "6 to 30 counted
 * repetitions per cell after one warm-up, more while the interval of its
 * median, or that of a cell doing the same work, is wider than ±5%, within
 * a budget of 4:00". */
static void rule_text(const struct gb_rundata *rd, char *out, size_t n)
{
    const struct gb_stop_rule *r = &rd->plan.stop;
    if (r->min_reps >= r->max_reps) {
        snprintf(out, n, "%d counted repetitions per cell after one warm-up", r->min_reps);
        return;
    }
    char target[32], budget[64] = "";
    gb_fmt_pct(target, sizeof target, r->target_ci);
    if (r->budget_s > 0) {
        char t[32];
        gb_format_duration(t, sizeof t, r->budget_s);
        snprintf(budget, sizeof budget, ", within a budget of %s", t);
    }
    snprintf(out, n,
             "%d to %d counted repetitions per cell after one warm-up, more while the interval of "
             "its median, or that of a cell doing the same work, is wider than ±%s%s",
             r->min_reps, r->max_reps, target, budget);
}

/* The title: which run, its state and plan, its command line, and how many
 * warnings wait at the end. */
static void title_section(struct gb_doc *d, const struct gb_rundata *rd, size_t nwarn)
{
    gb_doc_heading(d, 1, "greenbench report");
    const char *status = meta_str(rd, "status", NULL);
    char rule[256];
    rule_text(rd, rule, sizeof rule);
    gb_doc_para(d, NULL);
    gb_doc_escf(d, "Run %s: %s, started %s, ended %s; preset %s, %s; timeout %.3g s, seed %s.", rd->dir,
                status ? status : "unknown", meta_str(rd, "start_time", NULL) ?: "?",
                meta_str(rd, "end_time", NULL) ?: "?", meta_str(rd, "plan", "preset") ?: "?", rule,
                gb_json_num(meta_get(rd, "plan", NULL), "timeout_s", 0),
                meta_str(rd, "plan", "seed") ?: "?");
    gb_doc_para_end(d);
    const json_t *argv = meta_get(rd, "command_line", NULL);
    if (json_is_array(argv)) {
        struct gb_buf cmd;
        gb_buf_init(&cmd);
        /* Quoted as a shell needs it, so that it can be pasted back. */
        for (size_t i = 0; i < json_array_size(argv); i++)
            if (json_is_string(json_array_get(argv, i))) {
                gb_buf_puts(&cmd, i ? " " : "");
                gb_buf_shell_word(&cmd, json_string_value(json_array_get(argv, i)));
            }
        gb_doc_para(d, NULL);
        gb_doc_escf(d, "Command: %s", gb_buf_str(&cmd));
        gb_doc_para_end(d);
        gb_buf_free(&cmd);
    }
    if (nwarn) {
        gb_doc_para(d, "note");
        gb_doc_escf(d, "%zu warning%s: see Warnings, after the machine.", nwarn, nwarn == 1 ? "" : "s");
        gb_doc_para_end(d);
    }
}

/* ---- warnings: collected one by one, shown grouped by kind ---- */

enum warn_kind {
    W_RUN,
    W_PREFLIGHT,
    W_SERVER,
    W_FAILED,
    W_NONE_RAN,
    W_SPREAD,
    W_COVERAGE,
    W_LINES,
    W_NKINDS
};

struct warning {
    enum warn_kind kind;
    double severity; /* the worst come first in their kind's line */
    enum gb_stop stop; /* W_SPREAD: why the cell stopped repeating */
    char text[640];  /* the full entry */
    char brief[320]; /* how the kind's line names it */
};

struct warnings {
    struct warning *v;
    size_t n;
};

static struct warning *warn_add(struct warnings *w, enum warn_kind kind, double severity)
{
    w->v = gb_xrealloc(w->v, (w->n + 1) * sizeof *w->v);
    struct warning *x = &w->v[w->n++];
    memset(x, 0, sizeof *x);
    x->kind = kind;
    x->severity = severity;
    return x;
}

/* The run's own: not complete, preflight warnings, unreadable lines. */
static void run_warnings(const struct gb_rundata *rd, struct warnings *w)
{
    const char *status = meta_str(rd, "status", NULL);
    const json_t *from = meta_get(rd, "merged", "sources");
    if (status && strcmp(status, "complete") != 0 && from) {
        /* A merged host's folder: what to finish is its sources, not it. */
        struct warning *x = warn_add(w, W_RUN, 0);
        struct gb_buf b;
        gb_buf_init(&b);
        for (size_t i = 0; i < json_array_size(from); i++) {
            const json_t *e = json_array_get(from, i);
            if (json_is_string(json_object_get(e, "finish")))
                gb_buf_printf(&b, "%s%s (%s)", b.len ? "; " : "", gb_json_str(e, "finish", "?"),
                              gb_json_str(e, "status", "?"));
        }
        snprintf(x->text, sizeof x->text,
                 "The run is %.20s: it was merged from folders that did not end; finish them where they "
                 "ran, then merge again into a new folder: %.450s",
                 status, gb_buf_str(&b));
        gb_buf_free(&b);
    } else if (status && strcmp(status, "complete") != 0) {
        struct warning *x = warn_add(w, W_RUN, 0);
        snprintf(x->text, sizeof x->text, "The run is %.20s: finish it with greenbench run --resume %.500s",
                 status, rd->dir);
    }
    const json_t *readings = json_object_get(meta_get(rd, "preflight", NULL), "readings");
    for (size_t i = 0; i < json_array_size(readings); i++) {
        const json_t *r = json_array_get(readings, i);
        if (strcmp(gb_json_str(r, "level", ""), "warning") != 0)
            continue;
        struct warning *x = warn_add(w, W_PREFLIGHT, 0);
        snprintf(x->text, sizeof x->text, "Preflight: %s = %s: %s", gb_json_str(r, "name", "?"),
                 gb_json_str(r, "value", "?"), gb_json_str(r, "advice", ""));
        snprintf(x->brief, sizeof x->brief, "%s = %s", gb_json_str(r, "name", "?"),
                 gb_json_str(r, "value", "?"));
    }
    if (rd->nbad_lines) {
        struct gb_jsonl j = { .bad = rd->bad_lines, .nbad = rd->nbad_lines };
        struct gb_buf b;
        gb_buf_init(&b);
        gb_jsonl_bad_lines(&j, &b);
        struct warning *x = warn_add(w, W_LINES, 0);
        snprintf(x->text, sizeof x->text, "cells.jsonl: %s (skipped)", gb_buf_str(&b));
        gb_buf_free(&b);
    }
}

/* A cell's: failed repetitions, none at all, a median not pinned down, an
 * interval that covers less than 95%. */
static void cell_warnings(const struct gb_rundata *rd, const struct gb_summary *s, struct warnings *w)
{
    const char *key = s->cell.key;
    if (s->server_bound) {
        char late[48];
        gb_fmt_time(late, sizeof late, s->server_late_p99_ms * 1e6);
        struct warning *x = warn_add(w, W_SERVER, s->server_late_p99_ms);
        snprintf(x->text, sizeof x->text,
                 "%s: server-bound in %d of %d repetitions (p99 lateness %s): its throughput "
                 "measures the local server",
                 key, s->server_bound_reps, s->server_reps, late);
        snprintf(x->brief, sizeof x->brief, "%s (p99 %s late)", key, late);
    }
    if (s->reps_failed > 0) {
        struct warning *x = warn_add(w, W_FAILED, s->reps_failed);
        snprintf(x->text, sizeof x->text, "%s: %d of %d repetitions failed (%s)", key, s->reps_failed,
                 s->reps_total, s->first_error);
        snprintf(x->brief, sizeof x->brief, "%s (%d of %d)", key, s->reps_failed, s->reps_total);
    } else if (s->reps_total == 0) {
        struct warning *x = warn_add(w, W_NONE_RAN, 0);
        snprintf(x->text, sizeof x->text, "%s: no repetition ran", key);
        snprintf(x->brief, sizeof x->brief, "%s", key);
    }
    const struct gb_stats *st = gb_headline(s);
    const struct gb_stop_rule *rule = &rd->plan.stop;
    char hw[32], target[32], cov[32], fig[96];
    gb_fmt_pct(hw, sizeof hw, s->rel_hw);
    gb_fmt_pct(target, sizeof target, rule->target_ci);
    gb_figure_text(s, fig, sizeof fig);
    bool adaptive = rule->min_reps < rule->max_reps;
    if (adaptive && s->reps_failed == 0 && st->n > 1 && s->rel_hw > rule->target_ci) {
        struct warning *x = warn_add(w, W_SPREAD, s->rel_hw);
        x->stop = s->stop;
        snprintf(x->text, sizeof x->text,
                 "%s: median %s, interval ±%s after %zu repetitions (stopped: %s; target ±%s)", key, fig,
                 hw, st->n, gb_stop_name(s->stop), target);
        snprintf(x->brief, sizeof x->brief, "%s ±%s", key, hw);
    }
    if (st->n > 0 && !gb_ci_nominal(st->ci_level)) {
        gb_fmt_pct(cov, sizeof cov, st->ci_level);
        struct warning *x = warn_add(w, W_COVERAGE, 1 - st->ci_level);
        snprintf(x->text, sizeof x->text,
                 "%s: %zu repetitions with results: the interval of its median covers %s", key, st->n, cov);
        snprintf(x->brief, sizeof x->brief, "%s", cov);
    }
}

static int by_severity(const void *a, const void *b)
{
    const struct warning *x = *(const struct warning *const *)a, *y = *(const struct warning *const *)b;
    return x->severity < y->severity ? 1 : x->severity > y->severity ? -1 : 0;
}

/* Why the n cells of spread[] stopped wide, and what narrows them. */
static void spread_why(const struct gb_rundata *rd, struct warning **spread, size_t n, struct gb_buf *out)
{
    size_t budget = 0, max_reps = 0;
    for (size_t i = 0; i < n; i++) {
        budget += spread[i]->stop == GB_STOP_BUDGET;
        max_reps += spread[i]->stop == GB_STOP_MAX_REPS;
    }
    size_t other = n - budget - max_reps;
    char time[32];
    if (rd->plan.stop.budget_s < 60)
        snprintf(time, sizeof time, "%g s", rd->plan.stop.budget_s);
    else
        gb_format_duration(time, sizeof time, rd->plan.stop.budget_s);
    const char *sep = "";
    if (budget > 0) {
        gb_buf_printf(out, "the %s budget ran out", time);
        if (budget < n)
            gb_buf_printf(out, " for %zu", budget);
        sep = "; ";
    }
    if (max_reps > 0) {
        if (max_reps == n)
            gb_buf_printf(out, "they reached --max-reps=%d", rd->plan.stop.max_reps);
        else
            gb_buf_printf(out, "%s%zu reached --max-reps=%d", sep, max_reps, rd->plan.stop.max_reps);
        sep = "; ";
    }
    if (other > 0)
        gb_buf_printf(out, "%s%zu %s interrupted", sep, other, other == 1 ? "was" : "were");
    if (budget > 0)
        gb_buf_puts(out, ": a longer --budget narrows them");
}

/* The line that stands for every warning of kind k (their number n, the
 * worst first in worst[]). */
static void kind_line(const struct gb_rundata *rd, enum warn_kind k, struct warning **worst, size_t n,
                      struct gb_buf *out)
{
    size_t show = n < 3 ? n : 3;
    char target[32];
    gb_fmt_pct(target, sizeof target, rd->plan.stop.target_ci);
    switch (k) {
    case W_RUN:
    case W_LINES: gb_buf_puts(out, worst[0]->text); return;
    case W_PREFLIGHT:
        gb_buf_printf(out, "Preflight: %zu reading%s to look at (Preflight section):", n,
                      n == 1 ? "" : "s");
        break;
    case W_SERVER:
        gb_buf_printf(out,
                      "%zu cell%s %s server-bound (" SERVER_BOUND_MARK
                      ", Local HTTP server section): the local server was late; latest:",
                      n, n == 1 ? "" : "s", n == 1 ? "was" : "were");
        break;
    case W_FAILED:
        gb_buf_printf(out, "%zu cell%s had failed repetitions (Failures section); most:", n,
                      n == 1 ? "" : "s");
        break;
    case W_NONE_RAN: gb_buf_printf(out, "%zu cell%s ran no repetition:", n, n == 1 ? "" : "s"); break;
    case W_SPREAD:
        gb_buf_printf(out, "%zu cell%s stopped before the interval of %s median was within ±%s (", n,
                      n == 1 ? "" : "s", n == 1 ? "its" : "their", target);
        spread_why(rd, worst, n, out);
        gb_buf_puts(out, "); widest:");
        break;
    case W_COVERAGE: {
        gb_buf_printf(out,
                      "%zu cell%s had fewer than 6 repetitions with results: %s interval%s "
                      "of the median cover%s less than 95%%, down to %s",
                      n, n == 1 ? "" : "s", n == 1 ? "its" : "their", n == 1 ? "" : "s", n == 1 ? "s" : "",
                      worst[0]->brief);
        return;
    }
    case W_NKINDS: return;
    }
    for (size_t i = 0; i < show; i++)
        gb_buf_printf(out, "%s %s", i ? "," : "", worst[i]->brief);
    if (n > show)
        gb_buf_printf(out, ", and %zu more", n - show);
}

/* Every warning of the run into w. */
static void collect_warnings(const struct gb_rundata *rd, struct warnings *w)
{
    memset(w, 0, sizeof *w);
    run_warnings(rd, w);
    for (size_t i = 0; i < rd->nsums; i++)
        cell_warnings(rd, &rd->sums[i], w);
}

/* One line per kind of warning, the worst cases named; then the full list,
 * folded in HTML (Markdown has it at its end: all_warnings_section). */
static void warnings_section(struct gb_doc *d, const struct gb_rundata *rd, const struct warnings *w)
{
    gb_doc_heading(d, 2, "Warnings");
    if (w->n == 0) {
        gb_doc_para(d, NULL);
        gb_doc_esc(d, "None: every repetition ran, and every cell's median was pinned down as "
                      "the plan asked.");
        gb_doc_para_end(d);
        return;
    }
    struct warning **mine = gb_xcalloc(w->n + 1, sizeof *mine);
    gb_doc_list(d, "warn");
    for (int k = 0; k < W_NKINDS; k++) {
        size_t n = 0;
        for (size_t i = 0; i < w->n; i++)
            if (w->v[i].kind == (enum warn_kind)k)
                mine[n++] = &w->v[i];
        if (n == 0)
            continue;
        qsort(mine, n, sizeof *mine, by_severity);
        struct gb_buf line;
        gb_buf_init(&line);
        kind_line(rd, (enum warn_kind)k, mine, n, &line);
        gb_doc_item(d, gb_buf_str(&line));
        gb_buf_free(&line);
    }
    gb_doc_list_end(d);
    free(mine);
    if (d->html) {
        char summary[64];
        snprintf(summary, sizeof summary, "All %zu warnings", w->n);
        gb_doc_details(d, summary);
        gb_doc_list(d, "warn");
        for (size_t i = 0; i < w->n; i++)
            gb_doc_item(d, w->v[i].text);
        gb_doc_list_end(d);
        gb_doc_details_end(d);
    } else {
        gb_doc_para(d, NULL);
        gb_doc_escf(d, "The full list (%zu) is at the end of this report.", w->n);
        gb_doc_para_end(d);
    }
}

/* Markdown's full list of warnings, last. */
static void all_warnings_section(struct gb_doc *d, const struct warnings *w)
{
    if (d->html || w->n == 0)
        return;
    gb_doc_heading(d, 2, "All warnings");
    gb_doc_list(d, NULL);
    for (size_t i = 0; i < w->n; i++)
        gb_doc_item(d, w->v[i].text);
    gb_doc_list_end(d);
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
    gb_fmt_time(t1, sizeof t1, sys_ns);
    gb_fmt_time(t2, sizeof t2, pf_ns);
    gb_doc_escf(d,
                "Ratios between coroutines and threads depend on the machine. Here a system call "
                "costs %s and a first-touch page fault %s (measured before the run). Thread "
                "creation, blocking handoffs and fresh stacks pay these costs and a coroutine "
                "switch does not, so on virtual machines, where both are several times dearer "
                "than on bare metal (about 1.1 µs and 12–16 µs on the VMs this project was "
                "developed on), coroutine-to-thread ratios come out larger than on bare metal. "
                "Compare runs from the same machine.",
                t1, t2);
    gb_doc_para_end(d);
}

/* This run's meta.json entry of the external peer name ("external_peers"),
 * or NULL: a run that registered it and has no cell of it says why. */
static const json_t *run_registered(const struct gb_rundata *rd, const char *name)
{
    const json_t *a = meta_get(rd, "external_peers", NULL);
    for (size_t i = 0; i < json_array_size(a); i++)
        if (strcmp(gb_json_str(json_array_get(a, i), "name", ""), name) == 0)
            return json_array_get(a, i);
    return NULL;
}

/* One peer's paragraph: what its figures include, and for an external
 * peer where it came from; one registered but not run, why: its entry's
 * note when it was skipped (a failed setup, a missing program), else the
 * run asked for none of its cells (--impl, --workload). */
static void peer_para(struct gb_doc *d, const struct gb_peer *p, const json_t *entry, bool present)
{
    gb_doc_para(d, NULL);
    const char *note = gb_json_str(entry, "note", NULL);
    if (gb_peer_external(p) && !present && note)
        gb_doc_escf(d, "%s (external peer, %s): not run: %s.", p->name, p->source, note);
    else if (gb_peer_external(p) && !present)
        gb_doc_escf(d,
                    "%s (external peer, %s): registered, but the run planned no cell of it (--impl left it "
                    "out, or none of its workloads was run).",
                    p->name, p->source);
    else if (gb_peer_external(p))
        gb_doc_escf(d, "%s (external peer, %s): its figures include %s.", p->name, p->source, p->includes);
    else
        gb_doc_escf(d, "%s: its figures include %s.", p->name, p->includes);
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
        const json_t *entry = gb_peer_external(&gb_peers[k]) ? run_registered(rd, gb_peers[k].name) : NULL;
        if (!present && entry == NULL)
            continue;
        if (!peers_heading) {
            gb_doc_heading(d, 2, "Peers");
            peers_heading = true;
        }
        peer_para(d, &gb_peers[k], entry, present);
    }
}

/* A finding in words: the parameters, both series, both figures, the
 * verdict. */
struct finding_text {
    char params[160], series[160], other[160], green_figure[96], other_figure[96], verdict[200];
};

static void finding_text(const struct gb_finding *f, struct finding_text *t)
{
    cell_params(&f->green->cell, t->params, sizeof t->params);
    gb_cell_series(&f->green->cell, t->series, sizeof t->series);
    gb_figure_text(f->green, t->green_figure, sizeof t->green_figure);
    if (f->floor) {
        snprintf(t->other, sizeof t->other, "its floor (%s)", f->green->floor_name);
        gb_fmt_time(t->other_figure, sizeof t->other_figure, f->green->floor_ns.median);
        gb_floor_text(f->green, t->verdict, sizeof t->verdict);
        return;
    }
    gb_cell_series(&f->other->cell, t->other, sizeof t->other);
    gb_figure_text(f->other, t->other_figure, sizeof t->other_figure);
    gb_verdict_text(&f->v, gb_figure_is_memory(f->green), t->verdict, sizeof t->verdict);
}

/* What a floor is, for the paragraphs that show one. */
#define FLOOR_WHAT                                                                                 \
    "the least switch that saves the same registers (regs, regs+fp), or the library switch it "    \
    "wraps, called directly (jump_fcontext, swapcontext), timed in the same process for the same " \
    "round trips, in blocks alternating with the backend's"

/* Are all of f[0..n) about green (none a peer's in its place). */
static bool all_green(const struct gb_finding *f, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(f[i].green->cell.impl, "green") != 0)
            return false;
    return true;
}

/* Findings first: for each workload, its best green configuration against
 * OS threads and each peer; then the overview plot. */
static void findings_section(struct gb_doc *d, const struct gb_rundata *rd)
{
    gb_doc_heading(d, 2, "Findings");
    struct gb_finding f[128];
    size_t n = gb_findings(rd, false, f, sizeof f / sizeof f[0]);
    if (n == 0) {
        gb_doc_para(d, NULL);
        gb_doc_esc(d, "Nothing to compare: no green cell with results beside a thread baseline "
                      "or a peer with results.");
        gb_doc_para_end(d);
    } else {
        bool floors = false;
        for (size_t i = 0; i < n; i++)
            floors |= f[i].floor;
        gb_doc_para(d, NULL);
        gb_doc_esc(d, "For each workload, its best green configuration (the lowest median at the "
                      "workload's largest size) against OS threads and against each peer's best "
                      "series: the ratio of the medians with its distribution-free interval "
                      "(Moses; 95% unless marked) and a Mann-Whitney U test at 0.05.");
        if (floors)
            gb_doc_esc(d,
                       " Then each green switch backend against its floor, " FLOOR_WHAT ": the median of "
                       "the repetitions' ratios of the two, with its distribution-free interval.");
        bool green = all_green(f, n);
        if (!green)
            gb_doc_esc(d, " A workload without green cells takes each peer's best configuration in "
                          "green's place, against OS threads.");
        gb_doc_para_end(d);
        static const char *const cols[] = { "workload", "best green", "against",
                                            "green",    "against's",  "green is" };
        static const char *const cols_peers[] = { "workload",   "best",      "against",
                                                  "its figure", "against's", "best is" };
        gb_doc_table(d, green ? cols : cols_peers, 6);
        for (size_t i = 0; i < n; i++) {
            struct finding_text t;
            finding_text(&f[i], &t);
            gb_doc_row(d, f[i].v.kind == GB_VERDICT_FEW ? "warn" : NULL);
            gb_doc_cellf(d, "%s %s", f[i].wk->name, t.params);
            gb_doc_cell(d, strncmp(t.series, "green ", 6) == 0 ? t.series + 6 : t.series);
            gb_doc_cell(d, t.other);
            gb_doc_cell(d, t.green_figure);
            gb_doc_cell(d, t.other_figure);
            gb_doc_cell(d, t.verdict);
            gb_doc_row_end(d);
        }
        gb_doc_table_end(d);
    }
    gb_doc_figure(d, rd->dir, "overview",
                  "Every implementation relative to OS threads, workload by workload");
}

/* Every implementation against its thread baseline, cell by cell. */
static void versus_threads_table(struct gb_doc *d, const struct gb_rundata *rd)
{
    gb_doc_heading(d, 3, "Every cell against OS threads");
    gb_doc_para(d, NULL);
    gb_doc_esc(d, "Time per operation of each cell against the OS-thread cell of the same workload "
                  "and parameters (the overview plot): ratio of the medians, its interval "
                  "(Moses; 95% unless marked) and the U test's verdict at 0.05.");
    gb_doc_para_end(d);
    static const char *const cols[] = { "workload", "implementation", "parameters", "against",
                                        "time per op is" };
    gb_doc_table(d, cols, 5);
    size_t rows = 0;
    for (size_t i = 0; i < rd->nsums; i++) {
        const struct gb_summary *s = &rd->sums[i];
        if (s->baseline == NULL || !s->ratio_ok)
            continue;
        char series[160], params[160], base[160], verdict[200];
        gb_cell_series(&s->cell, series, sizeof series);
        gb_cell_series(&s->baseline->cell, base, sizeof base);
        cell_params(&s->cell, params, sizeof params);
        gb_verdict_text(&s->vs_baseline, false, verdict, sizeof verdict);
        gb_doc_row(d, NULL);
        gb_doc_cell(d, s->cell.workload);
        gb_doc_cell(d, series);
        gb_doc_cell(d, params);
        gb_doc_cell(d, base);
        gb_doc_cell(d, verdict);
        gb_doc_row_end(d);
        rows++;
    }
    gb_doc_table_end(d);
    if (rows == 0) {
        gb_doc_para(d, NULL);
        gb_doc_esc(d, "No pair of cells to compare (a thread baseline and another implementation with "
                      "the same parameters, both with results).");
        gb_doc_para_end(d);
    }
}

/* ---- what a request costs the client ---- */

/* "3.10×": a over b's medians of client CPU per request; "" without b. */
static void cpu_ratio(const struct gb_summary *a, const struct gb_summary *b, char *out, size_t n)
{
    out[0] = '\0';
    if (b == NULL || !(b->cpu_ns_op.median > 0))
        return;
    gb_fmt_num(out, n, a->cpu_ns_op.median / b->cpu_ns_op.median);
    snprintf(out + strlen(out), n - strlen(out), "×");
}

/* The columns of a workload's cost table beyond the first three, as its
 * axes and its cells have them. */
struct cost_columns {
    bool tls, keepalive, variant, memory, server;
    enum gb_axis_id variant_axis;
};

/* One row of op_cost_table. */
static void op_cost_row(struct gb_doc *d, const struct gb_rundata *rd, const struct gb_summary *s,
                        const struct cost_columns *k)
{
    char series[160], params[160], cpu[48], range[96], ratio[32];
    gb_cell_series(&s->cell, series, sizeof series);
    cell_params(&s->cell, params, sizeof params);
    gb_fmt_time(cpu, sizeof cpu, s->cpu_ns_op.median);
    gb_fmt_time_range(range, sizeof range, s->cpu_ns_op.ci_low, s->cpu_ns_op.ci_high);
    gb_doc_row(d, NULL);
    gb_doc_cellf(d, "%s %s", s->cell.workload, params);
    gb_doc_cell(d, series);
    gb_doc_cellf(d, "%s (%s)", cpu, range);
    cpu_ratio(s, strcmp(s->cell.impl, "threads") != 0 ? s->baseline : NULL, ratio, sizeof ratio);
    gb_doc_cell(d, ratio);
    if (k->variant) {
        cpu_ratio(s,
                  gb_cell_get(&s->cell, k->variant_axis) == 1 ? gb_twin(rd, s, k->variant_axis, 0) : NULL,
                  ratio, sizeof ratio);
        gb_doc_cell(d, ratio);
    }
    if (k->tls) {
        cpu_ratio(s, s->cell.tls == 1 ? gb_twin(rd, s, GB_AXIS_TLS, 0) : NULL, ratio, sizeof ratio);
        gb_doc_cell(d, ratio);
    }
    if (k->keepalive) {
        const struct gb_summary *kept =
            s->cell.keepalive == 0 ? gb_twin(rd, s, GB_AXIS_KEEPALIVE, 1) : NULL;
        ratio[0] = '\0';
        if (kept != NULL && s->cpu_ns_op.median > 0)
            gb_fmt_pct(ratio, sizeof ratio, 1.0 - kept->cpu_ns_op.median / s->cpu_ns_op.median);
        gb_doc_cell(d, ratio);
    }
    if (k->memory) {
        char mem[48] = "";
        if (s->rss_task.n > 0)
            gb_fmt_bytes(mem, sizeof mem, s->rss_task.median);
        gb_doc_cell(d, mem);
    }
    if (k->server) {
        char server[48] = "";
        if (s->server_cpu_reps > 0)
            gb_fmt_time(server, sizeof server, s->server_cpu_ns_op);
        gb_doc_cell(d, server);
    }
    gb_doc_row_end(d);
}

/* Is s one of the cells of op_cost_table: wk's, with a client CPU time, at
 * head's parameters. */
static bool cost_row_of(const struct gb_summary *s, const struct gb_workload *wk,
                        const struct gb_summary *head)
{
    return s->cpu_ns_op.n > 0 && strcmp(s->cell.workload, wk->name) == 0 &&
           gb_cell_same(&s->cell, &head->cell, GB_AX_WORK & ~GB_AX_SERIES);
}

/* What one op of wk costs the client: its CPU time per op, every
 * implementation and mode at the workload's largest parameters (n, then
 * k); against OS threads' in the same mode; where the workload has them,
 * against the same cell with its variant off (the other resolver), TLS
 * against plain http, and the share of it a new connection costs (its TCP
 * set-up, and with TLS its handshake: 1 − the keep-alive twin's CPU over
 * this); memory per op in flight and the local server's CPU per op where
 * the cells have them. */
static void op_cost_table(struct gb_doc *d, const struct gb_rundata *rd, const struct gb_workload *wk,
                          const struct gb_summary *head)
{
    struct cost_columns k = { .tls = (wk->axes & GB_AX_TLS) != 0,
                              .keepalive = (wk->axes & GB_AX_KEEPALIVE) != 0 };
    for (int a = 0; a < GB_NAXES; a++)
        if (gb_axes[a].variant && (wk->axes & 1u << a)) {
            k.variant = true;
            k.variant_axis = a;
        }
    for (size_t i = 0; i < rd->nsums; i++)
        if (cost_row_of(&rd->sums[i], wk, head)) {
            k.memory |= rd->sums[i].rss_task.n > 0;
            k.server |= rd->sums[i].server_cpu_reps > 0;
        }
    char heading[96], cpu_col[64], variant_col[64], mem_col[64], server_col[64];
    snprintf(heading, sizeof heading, "What a %s costs the client: %s", wk->op, wk->name);
    snprintf(cpu_col, sizeof cpu_col, "client CPU per %s", wk->op);
    snprintf(variant_col, sizeof variant_col, "× without %s", k.variant ? gb_axes[k.variant_axis].key : "");
    snprintf(mem_col, sizeof mem_col, "memory per %s in flight", wk->op);
    snprintf(server_col, sizeof server_col, "server CPU per %s", wk->op);
    gb_doc_heading(d, 3, heading);
    gb_doc_para(d, NULL);
    gb_doc_escf(d,
                "The client's CPU time per %s (user + system, every thread of the cell's process, over "
                "the timed part; median and its interval) at the workload's largest parameters, and "
                "the ratio of its median to OS threads' in the same mode",
                wk->op);
    if (k.variant)
        gb_doc_escf(d, "; to the same implementation's without %s", gb_axes[k.variant_axis].key);
    if (k.tls)
        gb_doc_esc(d, "; with TLS, to plain http's");
    if (k.keepalive)
        gb_doc_esc(d, "; the share of it a new connection costs (its TCP set-up, and with TLS its "
                      "handshake: 1 − the keep-alive cell's CPU over this one's)");
    if (k.memory)
        gb_doc_escf(d,
                    "; the growth of the peak resident memory over the timed part per %s in flight "
                    "(median)",
                    wk->op);
    if (k.server)
        gb_doc_escf(d, "; and the local server's CPU time per %s beside it", wk->op);
    gb_doc_esc(d, ".");
    gb_doc_para_end(d);
    const char *cols[9] = { "workload", "implementation", cpu_col, "× threads'" };
    size_t ncols = 4;
    if (k.variant)
        cols[ncols++] = variant_col;
    if (k.tls)
        cols[ncols++] = "× plain http's";
    if (k.keepalive)
        cols[ncols++] = "new connection's share";
    if (k.memory)
        cols[ncols++] = mem_col;
    if (k.server)
        cols[ncols++] = server_col;
    gb_doc_table(d, cols, ncols);
    for (size_t i = 0; i < rd->nsums; i++)
        if (cost_row_of(&rd->sums[i], wk, head))
            op_cost_row(d, rd, &rd->sums[i], &k);
    gb_doc_table_end(d);
}

/* op_cost_table for each workload measured in ops per second that has a
 * cell with a CPU time. */
static void op_cost_section(struct gb_doc *d, const struct gb_rundata *rd)
{
    for (size_t w = 0; w < gb_nworkloads; w++) {
        const struct gb_workload *wk = &gb_workloads[w];
        const struct gb_summary *head = NULL;
        for (size_t i = 0; i < rd->nsums; i++) {
            const struct gb_cell *c = &rd->sums[i].cell;
            if (wk->metric == GB_METRIC_OPS_PER_S && rd->sums[i].cpu_ns_op.n > 0 &&
                strcmp(c->workload, wk->name) == 0 &&
                (head == NULL || c->n > head->cell.n ||
                 (c->n == head->cell.n && c->concurrency > head->cell.concurrency)))
                head = &rd->sums[i];
        }
        if (head != NULL)
            op_cost_table(d, rd, wk, head);
    }
}

/* The plots but the overview (in Findings), inline, or why there are none. */
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
    for (size_t w = 0; w < gb_nworkloads; w++)
        if (gb_workloads[w].plot.chart != GB_CHART_NONE)
            gb_doc_figure(d, rd->dir, gb_workloads[w].plot.kind, gb_workloads[w].plot.title);
    gb_doc_figure(d, rd->dir, "efficiency",
                  "Throughput and client CPU time per operation, for the first workload measured in "
                  "operations per second");
}

/* "12" or "11 + 1 failed": a cell's counted repetitions. */
static void reps_text(const struct gb_summary *s, char *out, size_t n)
{
    if (s->reps_failed)
        snprintf(out, n, "%d + %d failed", s->reps_ok, s->reps_failed);
    else
        snprintf(out, n, "%d", s->reps_ok);
}

/* A fetch cell's last columns: the client's CPU time per request, its
 * throughput as a share of the epoll ceiling's, and how late the local
 * server was (its p99, with the server-bound mark). */
static void server_cells(struct gb_doc *d, const struct gb_summary *s)
{
    char t[96];
    gb_fmt_time(t, sizeof t, s->cpu_ns_op.n ? s->cpu_ns_op.median : NAN);
    gb_doc_cell(d, t);
    gb_fmt_pct(t, sizeof t, s->of_ceiling);
    gb_doc_cell(d, strcmp(s->cell.impl, "epoll") == 0 ? "(the ceiling)" : t);
    if (s->server_reps == 0) {
        gb_doc_cell(d, "n/a");
        return;
    }
    gb_fmt_time(t, sizeof t, s->server_late_p99_ms * 1e6);
    gb_doc_cellf(d, "%s%s", t, s->server_bound ? " " SERVER_BOUND_MARK " server-bound" : "");
}

/* A switch cell's last columns: its floor's name and time per op, and its
 * own time as a multiple of the floor's; empty without a floor. */
static void floor_cells(struct gb_doc *d, const struct gb_summary *s)
{
    char t[200];
    if (s->of_floor.n == 0) {
        gb_doc_cell(d, "");
        gb_doc_cell(d, "");
        return;
    }
    gb_fmt_time(t, sizeof t, s->floor_ns.median);
    gb_doc_cellf(d, "%s, %s", s->floor_name, t);
    gb_fmt_num(t, sizeof t, s->of_floor.median);
    char lo[48], hi[48];
    gb_fmt_num(lo, sizeof lo, s->of_floor.ci_low);
    gb_fmt_num(hi, sizeof hi, s->of_floor.ci_high);
    if (!gb_ci_nominal(s->of_floor.ci_level)) {
        char pct[32];
        gb_fmt_pct(pct, sizeof pct, s->of_floor.ci_level);
        gb_doc_cellf(d, "%s× (%s–%s, %s)", t, lo, hi, pct);
    } else {
        gb_doc_cellf(d, "%s× (%s–%s)", t, lo, hi);
    }
}

/* A spawn cell's last column: its first pass's median, empty without one. */
static void cold_cell(struct gb_doc *d, const struct gb_summary *s)
{
    char t[64] = "";
    if (s->cold_ns.n)
        gb_fmt_time(t, sizeof t, s->cold_ns.median);
    gb_doc_cell(d, t);
}

/* Whether some cell of workload wname has the statistic pick gives: the
 * floor and cold columns are shown in such a workload's table only. */
static bool workload_has(const struct gb_rundata *rd, const char *wname,
                         const struct gb_stats *(*pick)(const struct gb_summary *))
{
    for (size_t i = 0; i < rd->nsums && wname; i++)
        if (pick(&rd->sums[i])->n > 0 && strcmp(rd->sums[i].cell.workload, wname) == 0)
            return true;
    return false;
}

static const struct gb_stats *of_floor(const struct gb_summary *s)
{
    return &s->of_floor;
}

static const struct gb_stats *cold_ns(const struct gb_summary *s)
{
    return &s->cold_ns;
}

/* A results row's measured cells, from the headline figure to the OS
 * threads: mem says the headline is memory per task. */
static void measured_cells(struct gb_doc *d, const struct gb_summary *s, bool mem)
{
    const struct gb_stats *st = gb_headline(s);
    char t[128];
    if (st->n) {
        if (mem)
            gb_fmt_bytes(t, sizeof t, st->median);
        else
            gb_fmt_time(t, sizeof t, st->median);
        gb_doc_cell(d, t);
        interval_text(s, t, sizeof t);
        gb_doc_cell(d, t);
        gb_fmt_pct(t, sizeof t, s->rel_hw);
        gb_doc_cell(d, t);
    } else {
        gb_doc_cell(d, "n/a");
        gb_doc_cell(d, "");
        gb_doc_cell(d, "");
    }
    reps_text(s, t, sizeof t);
    if (s->rounds > 1)
        snprintf(t + strlen(t), sizeof t - strlen(t), " × %ld rounds", s->rounds);
    gb_doc_cell(d, t);
    gb_doc_cell(d, gb_stop_name(s->stop));
    gb_fmt_pct(t, sizeof t, st->n > 1 ? st->cv : NAN);
    gb_doc_cell(d, t);
    gb_fmt_rate(t, sizeof t, s->ops_s.n ? s->ops_s.median : NAN, "");
    gb_doc_cell(d, t);
    gb_fmt_num(t, sizeof t, s->cores.n ? s->cores.median : NAN);
    gb_doc_cell(d, t);
    gb_fmt_bytes(t, sizeof t, s->peak_rss_kb > 0 ? s->peak_rss_kb * 1024.0 : NAN);
    gb_doc_cell(d, t);
    /* Unknown (a run made before the harness sampled): a dash, not n/a. */
    if (s->os_threads_peak > 0)
        gb_fmt_count(t, sizeof t, (double)s->os_threads_peak);
    else
        snprintf(t, sizeof t, "—");
    gb_doc_cell(d, t);
}

/* One workload's table (wk NULL: the cells of workloads the catalog does
 * not know). */
static void results_table(struct gb_doc *d, const struct gb_rundata *rd, const struct gb_workload *wk)
{
    const char *wname = wk ? wk->name : NULL;
    gb_doc_heading(d, 3, wname ? wname : "other workloads");
    if (wk) {
        gb_doc_para(d, NULL);
        gb_doc_esc(d, wk->what);
        gb_doc_para_end(d);
    }
    bool mem = wk && wk->metric == GB_METRIC_RSS_PER_TASK, served = wk && wk->server == GB_SERVER_HTTP;
    char unit[64];
    snprintf(unit, sizeof unit, "%s per %s", mem ? "memory" : "time", wk ? wk->op : "op");
    const char *cols[20] = { "implementation", "parameters", unit,    "interval", "±",       "reps",
                             "stopped",        "cv",         "ops/s", "CPU/wall", "peak RSS" };
    size_t ncols = 11;
    cols[ncols++] = "OS threads (peak)";
    if (mem)
        cols[ncols++] = "time per op";
    if (served) {
        cols[ncols++] = "client CPU per op";
        cols[ncols++] = "of epoll's ops/s";
        cols[ncols++] = "server p99 late";
    }
    bool floors = workload_has(rd, wname, of_floor), colds = workload_has(rd, wname, cold_ns);
    if (floors) {
        cols[ncols++] = "its floor";
        cols[ncols++] = "of its floor";
        gb_doc_para(d, NULL);
        gb_doc_esc(d, "Its floor: " FLOOR_WHAT ". Of its floor: the median of the repetitions' "
                      "ratios of the two (each from one process), with its interval.");
        gb_doc_para_end(d);
    }
    if (colds) {
        cols[ncols++] = "first N (cold)";
        gb_doc_para(d, NULL);
        gb_doc_esc(d, "First N (cold): the same N timed once before the measured pass, in the same "
                      "process: the first N of a fresh process, page faults of the runtime's fresh "
                      "memory included, as a program sees it; the median over the repetitions, one "
                      "process each (green with one hub; with rounds, the first round's).");
        gb_doc_para_end(d);
    }
    gb_doc_table(d, cols, ncols);
    for (size_t i = 0; i < rd->nsums; i++) {
        const struct gb_summary *s = &rd->sums[i];
        bool known = gb_workload_find(s->cell.workload) != NULL;
        if (wname ? strcmp(s->cell.workload, wname) != 0 : known)
            continue;
        char series[160], params[160], t[128];
        gb_cell_series(&s->cell, series, sizeof series);
        cell_params(&s->cell, params, sizeof params);
        if (!wname)
            snprintf(params + strlen(params), sizeof params - strlen(params), " (%s)", s->cell.workload);
        bool spread =
            rd->plan.stop.min_reps < rd->plan.stop.max_reps && s->rel_hw > rd->plan.stop.target_ci;
        gb_doc_row(d, s->reps_failed || s->reps_total == 0 ? "fail" : spread ? "warn" : NULL);
        gb_doc_cell(d, series);
        gb_doc_cell(d, params);
        measured_cells(d, s, mem);
        if (mem) {
            gb_fmt_time(t, sizeof t, s->ns.n ? s->ns.median : NAN);
            gb_doc_cell(d, t);
        }
        if (served)
            server_cells(d, s);
        if (floors)
            floor_cells(d, s);
        if (colds)
            cold_cell(d, s);
        gb_doc_row_end(d);
    }
    gb_doc_table_end(d);
}

/* Results per workload, then every cell against threads. */
static void results_section(struct gb_doc *d, const struct gb_rundata *rd)
{
    gb_doc_heading(d, 2, "Results");
    char target[32];
    gb_fmt_pct(target, sizeof target, rd->plan.stop.target_ci);
    gb_doc_para(d, NULL);
    gb_doc_escf(d,
                "The median of each cell's counted repetitions (one process each) with the "
                "distribution-free interval of the median (order statistics: 95%% or more with 6 "
                "repetitions or more, its coverage in brackets where it is less), ± its half-width "
                "relative to the median, the repetitions (× the rounds each ran of a workload "
                "shorter than %.3g ms) and why the cell stopped repeating (converged: within ±%s; "
                "max-reps, budget, failures, fixed: --reps), the coefficient of variation of the "
                "repetitions, throughput, CPU cores kept busy (CPU time / wall time), peak RSS "
                "from wait4, and the most OS threads the process had at once, the largest over "
                "the repetitions (the harness reads Threads: of /proc/PID/status every %d ms "
                "while it runs: a thread that lives shorter can be missed; — where the run did "
                "not record it). Every value is in summary.csv; every repetition in cells.jsonl.",
                rd->plan.min_rep_ms > 0 ? rd->plan.min_rep_ms : GB_MIN_REP_MS, target,
                GB_PROC_THREADS_SAMPLE_MS);
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
    versus_threads_table(d, rd);
    op_cost_section(d, rd);
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

/* Is versions.peers.name null because the external peer has no version
 * command (its peers file has no version line, or it came from --peer). */
static bool no_version_cmd(const struct gb_rundata *rd, const char *vkey, const char *name)
{
    const json_t *entry = strcmp(vkey, "peers") == 0 ? run_registered(rd, name) : NULL;
    return entry && gb_json_str(entry, "version", "")[0] == '\0';
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
                gb_doc_cell(d, json_is_string(pv)               ? json_string_value(pv)
                               : no_version_cmd(rd, vkey, pkey) ? "not known: no version command was given"
                                                                : "not found");
                gb_doc_row_end(d);
            }
            continue;
        }
        gb_doc_row(d, NULL);
        gb_doc_cell(d, vkey);
        /* A null sanitizer is a build without one, not one that was not found. */
        gb_doc_cell(d, json_is_string(v)               ? json_string_value(v)
                       : strcmp(vkey, "sanitize") == 0 ? "none"
                                                       : "not found");
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
    struct warnings w;
    collect_warnings(rd, &w);
    if (d->html)
        html_head(d, rd);
    title_section(d, rd, w.n);
    findings_section(d, rd);
    plots_section(d, rd, plots_drawn);
    results_section(d, rd);
    peers_section(d, rd);
    machine_section(d, rd);
    server_section(d, rd);
    warnings_section(d, rd, &w);
    failures_section(d, rd);
    versions_section(d, rd);
    preflight_section(d, rd);
    all_warnings_section(d, &w);
    if (d->html)
        gb_buf_puts(d->b, "</body>\n</html>\n");
    free(w.v);
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

/* The terminal's one line on the cells whose median is not pinned down:
 * the report names them, but who reads only the terminal should know. */
static void print_spread(const struct gb_rundata *rd, FILE *f)
{
    struct warnings w;
    collect_warnings(rd, &w);
    struct warning **spread = gb_xcalloc(w.n + 1, sizeof *spread);
    size_t n = 0;
    for (size_t i = 0; i < w.n; i++)
        if (w.v[i].kind == W_SPREAD)
            spread[n++] = &w.v[i];
    if (n > 0) {
        char target[32];
        gb_fmt_pct(target, sizeof target, rd->plan.stop.target_ci);
        struct gb_buf b;
        gb_buf_init(&b);
        spread_why(rd, spread, n, &b);
        fprintf(f,
                "%zu of %zu cells stopped with the interval of their median wider than ±%s (%s); "
                "the report's Warnings name them\n",
                n, rd->nsums, target, gb_buf_str(&b));
        gb_buf_free(&b);
    }
    free(spread);
    free(w.v);
}

void gb_print_headlines(const struct gb_rundata *rd, FILE *f)
{
    struct gb_finding fs[32];
    size_t n = gb_findings(rd, true, fs, sizeof fs / sizeof fs[0]);
    if (n == 0)
        return;
    fprintf(f, "Best %s against OS threads (ratio of medians, its interval):\n",
            all_green(fs, n) ? "green configuration" : "configurations (a peer's where no green cell ran)");
    for (size_t i = 0; i < n; i++) {
        struct finding_text t;
        finding_text(&fs[i], &t);
        fprintf(f, "  %-12s %s %s vs %s %s: %s\n", fs[i].wk->name, t.series, t.green_figure, t.other,
                t.other_figure, t.verdict);
    }
    print_spread(rd, f);
}

int gb_rebuild(const char *dir, bool plots, unsigned flags)
{
    struct gb_rundata rd;
    char err[1024];
    int rc = gb_rundata_load(dir, &rd, err, sizeof err);
    if (rc != 0) {
        fprintf(stderr, "greenbench: %s\n", err);
        return rc;
    }
    bool quiet = flags & GB_REBUILD_QUIET;
    if (rd.nbad_lines && !quiet) {
        struct gb_jsonl j = { .bad = rd.bad_lines, .nbad = rd.nbad_lines };
        struct gb_buf b;
        gb_buf_init(&b);
        gb_jsonl_bad_lines(&j, &b);
        fprintf(stderr, "greenbench: %s/cells.jsonl: %s (skipped)\n", dir, gb_buf_str(&b));
        gb_buf_free(&b);
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
    if (flags & GB_REBUILD_HEADLINES) {
        gb_print_headlines(&rd, stdout);
        if (rc == 0)
            printf("Report: %s/report.html (and report.md, summary.csv, plots/)\n", dir);
        else
            printf("Report: not written (above); the measurements are in %s/cells.jsonl, and "
                   "greenbench report %s makes it again\n",
                   dir, dir);
        fflush(stdout);
    } else if (!quiet) {
        fprintf(stderr, "greenbench: wrote %s/summary.csv, %s/report.md, %s/report.html%s\n", dir,
                dir, dir, drawn > 0 ? " and plots/" : "");
    }
    gb_rundata_free(&rd);
    return rc;
}

static const char report_help[] =
    "usage: greenbench report [--no-plots] DIR\n"
    "\n"
    "Rebuilds summary.csv, plots/ (SVG and PNG, with their .gp and .dat) and report.md /\n"
    "report.html of a run directory from its stored meta.json and cells.jsonl. Nothing\n"
    "is measured; cells.jsonl and meta.json are only read, and a folder missing either\n"
    "is refused with nothing rewritten. For a merged folder (greenbench merge) it\n"
    "rebuilds each host's run under hosts/ and the cross-host files: summary.csv,\n"
    "ratios.csv, cross-host.csv, report.md.\n"
    "Exit status: 0 rebuilt, 1 a file could not be read or written, 2 bad usage or DIR\n"
    "is not a whole run (no meta.json or no cells.jsonl).\n";

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
    if (gb_merge_is(dir)) { /* a merged folder: its hosts' runs and the cross-host view */
        if (gb_merge_rebuild(dir, plots) != 0)
            return GB_EXIT_FAILED;
        fprintf(stderr,
                "greenbench: wrote %s/summary.csv, %s/ratios.csv, %s/cross-host.csv, %s/report.md "
                "and each host's run in %s/hosts/\n",
                dir, dir, dir, dir, dir);
        return GB_EXIT_OK;
    }
    char err[1024];
    if (gb_run_check(dir, err, sizeof err) != 0) {
        fprintf(stderr, "greenbench report: %s; nothing was rewritten\n", err);
        return GB_EXIT_USAGE;
    }
    return gb_rebuild(dir, plots, 0) == 0 ? GB_EXIT_OK : GB_EXIT_FAILED;
}
