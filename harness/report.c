/* harness/report.c: from a run directory's stored files (meta.json and
 * cells.jsonl) to its summaries: summary.csv (tidy, one row per cell),
 * report.md and report.html (self-contained: plots inline, everything escaped).
 * `greenbench report DIR` rebuilds all of them, plots included. */
#include "harness.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CV_WARN 0.10 /* spread above which a comparison is not to be trusted */

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
        long rss_kb = (long)gb_json_num(gb_json_get(r->json, "rusage"), "maxrss_kb", 0);
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
        const struct gb_json *res = r->result;
        double v = gb_json_num(res, "ns_per_op", NAN);
        double wall = gb_json_num(res, "wall_ns", NAN), nops_ = gb_json_num(res, "ops", NAN);
        double cpu_ns = gb_json_num(res, "cpu_ns", NAN);
        if (!(cpu_ns > 0)) { /* fall back on wait4's user + system time */
            const struct gb_json *ru = gb_json_get(r->json, "rusage");
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

int gb_rundata_load(const char *dir, struct gb_rundata *rd, char *err, size_t errlen)
{
    memset(rd, 0, sizeof *rd);
    snprintf(rd->dir, sizeof rd->dir, "%s", dir);
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
    path = gb_xasprintf("%s/cells.jsonl", dir);
    rc = gb_read_file(path, &text, &len);
    if (rc != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(-rc));
        free(path);
        gb_json_free(rd->meta);
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
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        struct gb_json *v;
        if (gb_json_parse(line, strlen(line), &v, NULL, 0) != 0 || v->type != GB_JSON_OBJECT ||
            gb_json_str(v, "cell", NULL) == NULL) {
            if (strspn(line, " \t\r") != strlen(line))
                rd->bad_lines++;
            gb_json_free(v);
            continue;
        }
        rd->recs = gb_xrealloc(rd->recs, (rd->nrecs + 1) * sizeof *rd->recs);
        struct gb_record *r = &rd->recs[rd->nrecs++];
        memset(r, 0, sizeof *r);
        snprintf(r->key, sizeof r->key, "%s", gb_json_str(v, "cell", ""));
        r->rep = (int)gb_json_num(v, "rep", 0);
        int st = gb_status_parse(gb_json_str(v, "status", ""));
        r->status = st < 0 ? GB_ST_GARBLED : (enum gb_status)st;
        r->json = v;
        r->result = gb_json_get(v, "result");
        if (r->result && r->result->type != GB_JSON_OBJECT)
            r->result = NULL;
    }
    free(text);
    /* Cells: the plan's order, then any recorded cell the plan lacks. */
    const struct gb_json *cells = gb_json_get(gb_json_get(rd->meta, "plan"), "cells");
    for (size_t i = 0; cells && cells->type == GB_JSON_ARRAY && i < cells->count; i++) {
        struct gb_cell c;
        if (gb_cell_from_json(cells->items[i], &c) == 0)
            add_summary(rd, &c);
    }
    for (size_t i = 0; i < rd->nrecs; i++) {
        struct gb_cell c;
        if (gb_cell_from_json(gb_json_get(rd->recs[i].json, "params"), &c) == 0)
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
    return 0;
}

void gb_rundata_free(struct gb_rundata *rd)
{
    for (size_t i = 0; i < rd->nrecs; i++)
        gb_json_free(rd->recs[i].json);
    free(rd->recs);
    for (size_t i = 0; i < rd->nsums; i++)
        free(rd->sums[i].values);
    free(rd->sums);
    gb_json_free(rd->meta);
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

/* One report, two syntaxes: rows of cells, written as Markdown or HTML. */
struct doc {
    struct gb_buf *b;
    bool html;
};

static void esc(struct doc *d, const char *s)
{
    if (s == NULL)
        return;
    for (; *s; s++) {
        if (d->html) {
            switch (*s) {
            case '&': gb_buf_puts(d->b, "&amp;"); break;
            case '<': gb_buf_puts(d->b, "&lt;"); break;
            case '>': gb_buf_puts(d->b, "&gt;"); break;
            case '"': gb_buf_puts(d->b, "&quot;"); break;
            case '\'': gb_buf_puts(d->b, "&#39;"); break;
            default: gb_buf_add(d->b, s, 1);
            }
        } else {
            /* Markdown table cells: no pipes, no line breaks, no raw HTML. */
            switch (*s) {
            case '|': gb_buf_puts(d->b, "\\|"); break;
            case '\n': case '\r': gb_buf_puts(d->b, " "); break;
            case '<': gb_buf_puts(d->b, "&lt;"); break;
            case '>': gb_buf_puts(d->b, "&gt;"); break;
            case '*': case '_': case '`': case '[': case ']': case '\\':
                gb_buf_add(d->b, "\\", 1);
                gb_buf_add(d->b, s, 1);
                break;
            default: gb_buf_add(d->b, s, 1);
            }
        }
    }
}

static void escf(struct doc *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void escf(struct doc *d, const char *fmt, ...)
{
    struct gb_buf t;
    gb_buf_init(&t);
    va_list ap;
    va_start(ap, fmt);
    gb_buf_vprintf(&t, fmt, ap);
    va_end(ap);
    esc(d, gb_buf_str(&t));
    gb_buf_free(&t);
}

static void heading(struct doc *d, int level, const char *text)
{
    if (d->html) {
        gb_buf_printf(d->b, "<h%d>", level);
        esc(d, text);
        gb_buf_printf(d->b, "</h%d>\n", level);
    } else {
        gb_buf_printf(d->b, "\n%.*s ", level, "######");
        esc(d, text);
        gb_buf_puts(d->b, "\n\n");
    }
}

static void para_begin(struct doc *d, const char *cls)
{
    if (d->html)
        gb_buf_printf(d->b, "<p%s%s%s>", cls ? " class=\"" : "", cls ? cls : "", cls ? "\"" : "");
    else if (cls && strcmp(cls, "note") == 0)
        gb_buf_puts(d->b, "> ");
}

static void para_end(struct doc *d)
{
    gb_buf_puts(d->b, d->html ? "</p>\n" : "\n\n");
}

static void table_begin(struct doc *d, const char *const *cols, size_t n)
{
    if (d->html) {
        gb_buf_puts(d->b, "<table>\n<thead><tr>");
        for (size_t i = 0; i < n; i++) {
            gb_buf_puts(d->b, "<th>");
            esc(d, cols[i]);
            gb_buf_puts(d->b, "</th>");
        }
        gb_buf_puts(d->b, "</tr></thead>\n<tbody>\n");
    } else {
        gb_buf_puts(d->b, "|");
        for (size_t i = 0; i < n; i++) {
            gb_buf_puts(d->b, " ");
            esc(d, cols[i]);
            gb_buf_puts(d->b, " |");
        }
        gb_buf_puts(d->b, "\n|");
        for (size_t i = 0; i < n; i++)
            gb_buf_puts(d->b, " --- |");
        gb_buf_puts(d->b, "\n");
    }
}

static void row_begin(struct doc *d, const char *cls)
{
    if (d->html)
        gb_buf_printf(d->b, "<tr%s%s%s>", cls ? " class=\"" : "", cls ? cls : "", cls ? "\"" : "");
    else
        gb_buf_puts(d->b, "|");
}

static void cell(struct doc *d, const char *text)
{
    gb_buf_puts(d->b, d->html ? "<td>" : " ");
    esc(d, text);
    gb_buf_puts(d->b, d->html ? "</td>" : " |");
}

static void cellf(struct doc *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void cellf(struct doc *d, const char *fmt, ...)
{
    struct gb_buf t;
    gb_buf_init(&t);
    va_list ap;
    va_start(ap, fmt);
    gb_buf_vprintf(&t, fmt, ap);
    va_end(ap);
    cell(d, gb_buf_str(&t));
    gb_buf_free(&t);
}

static void row_end(struct doc *d)
{
    gb_buf_puts(d->b, d->html ? "</tr>\n" : "\n");
}

static void table_end(struct doc *d)
{
    gb_buf_puts(d->b, d->html ? "</tbody>\n</table>\n" : "\n");
}

static void list_item(struct doc *d, const char *text)
{
    if (d->html) {
        gb_buf_puts(d->b, "<li>");
        esc(d, text);
        gb_buf_puts(d->b, "</li>\n");
    } else {
        gb_buf_puts(d->b, "- ");
        esc(d, text);
        gb_buf_puts(d->b, "\n");
    }
}

static void pre(struct doc *d, const char *text)
{
    if (d->html) {
        gb_buf_puts(d->b, "<pre>");
        for (const char *s = text; *s; s++) {
            if (*s == '&')
                gb_buf_puts(d->b, "&amp;");
            else if (*s == '<')
                gb_buf_puts(d->b, "&lt;");
            else if (*s == '>')
                gb_buf_puts(d->b, "&gt;");
            else
                gb_buf_add(d->b, s, 1);
        }
        gb_buf_puts(d->b, "</pre>\n");
        return;
    }
    /* A fence longer than any backtick run inside. */
    size_t run = 0, best = 0;
    for (const char *s = text; *s; s++) {
        run = *s == '`' ? run + 1 : 0;
        if (run > best)
            best = run;
    }
    size_t fence = best < 3 ? 3 : best + 1;
    for (size_t i = 0; i < fence; i++)
        gb_buf_puts(d->b, "`");
    gb_buf_puts(d->b, "text\n");
    gb_buf_puts(d->b, text);
    if (text[0] && text[strlen(text) - 1] != '\n')
        gb_buf_puts(d->b, "\n");
    for (size_t i = 0; i < fence; i++)
        gb_buf_puts(d->b, "`");
    gb_buf_puts(d->b, "\n\n");
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void base64(struct gb_buf *b, const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)p[i] << 16;
        if (i + 1 < n)
            v |= (unsigned)p[i + 1] << 8;
        if (i + 2 < n)
            v |= p[i + 2];
        char q[4] = { b64[v >> 18 & 63], b64[v >> 12 & 63], i + 1 < n ? b64[v >> 6 & 63] : '=',
                      i + 2 < n ? b64[v & 63] : '=' };
        gb_buf_add(b, q, 4);
    }
}

static void figure(struct doc *d, const char *dir, const char *kind, const char *caption)
{
    char *svg = gb_xasprintf("%s/plots/%s.svg", dir, kind);
    char *data;
    size_t len;
    if (gb_read_file(svg, &data, &len) != 0) {
        free(svg);
        return;
    }
    if (d->html) {
        gb_buf_puts(d->b, "<figure><img alt=\"");
        esc(d, caption);
        gb_buf_puts(d->b, "\" src=\"data:image/svg+xml;base64,");
        base64(d->b, (const unsigned char *)data, len);
        gb_buf_puts(d->b, "\"><figcaption>");
        esc(d, caption);
        gb_buf_printf(d->b, " (<code>plots/%s.svg</code>, .png, .gp, .dat)</figcaption></figure>\n", kind);
    } else {
        gb_buf_puts(d->b, "![");
        esc(d, caption);
        gb_buf_printf(d->b, "](plots/%s.svg)\n\n", kind);
    }
    free(data);
    free(svg);
}

/* ---- the report ---- */

static const struct gb_json *meta_get(const struct gb_rundata *rd, const char *a, const char *b)
{
    const struct gb_json *v = gb_json_get(rd->meta, a);
    return b ? gb_json_get(v, b) : v;
}

static const char *meta_str(const struct gb_rundata *rd, const char *a, const char *b)
{
    const struct gb_json *v = meta_get(rd, a, b);
    return v && v->type == GB_JSON_STRING ? v->string : NULL;
}

/* What the local HTTP server said about itself (server.log): where it ran,
 * what it answered, and how late its delayed answers left, so a reader can
 * see that the server was not what limited the workloads that fetch from it. */
static void server_section(struct doc *d, const struct gb_rundata *rd)
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
            heading(d, 2, "Local HTTP server");
            para_begin(d, NULL);
            char *served = gb_workload_names(GB_PICK_SERVER, 0, ", ", " and ");
            escf(d, "%s fetched from greenbench-server, run on the last CPU (green cells on the "
                    "first, thread cells on all). What it said, in order:", served);
            free(served);
            para_end(d);
            gb_buf_puts(d->b, d->html ? "<ul>\n" : "");
            any = true;
        }
        list_item(d, line + sizeof prefix - 1);
    }
    if (any)
        gb_buf_puts(d->b, d->html ? "</ul>\n" : "\n");
    free(text);
}

static void write_doc(const struct gb_rundata *rd, struct doc *d, int plots_drawn)
{
    char t1[64], t2[64], t3[64];
    if (d->html) {
        gb_buf_puts(d->b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                          "<title>greenbench report: ");
        esc(d, rd->dir);
        gb_buf_puts(d->b,
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
    heading(d, 1, "greenbench report");
    const char *status = meta_str(rd, "status", NULL);
    para_begin(d, NULL);
    escf(d, "Run %s: %s, started %s, ended %s; preset %s, %ld counted repetitions per cell "
            "after one warm-up, timeout %.3g s, seed %s.",
         rd->dir, status ? status : "unknown", meta_str(rd, "start_time", NULL) ?: "?",
         meta_str(rd, "end_time", NULL) ?: "?", meta_str(rd, "plan", "preset") ?: "?",
         (long)gb_json_num(meta_get(rd, "plan", NULL), "reps", 0),
         gb_json_num(meta_get(rd, "plan", NULL), "timeout_s", 0), meta_str(rd, "plan", "seed") ?: "?");
    para_end(d);
    const struct gb_json *argv = meta_get(rd, "command_line", NULL);
    if (argv && argv->type == GB_JSON_ARRAY) {
        struct gb_buf cmd;
        gb_buf_init(&cmd);
        for (size_t i = 0; i < argv->count; i++)
            if (argv->items[i]->type == GB_JSON_STRING)
                gb_buf_printf(&cmd, "%s%s", i ? " " : "", argv->items[i]->string);
        para_begin(d, NULL);
        escf(d, "Command: %s", gb_buf_str(&cmd));
        para_end(d);
        gb_buf_free(&cmd);
    }

    /* Warnings first: what makes numbers untrustworthy. */
    struct gb_buf wl;
    gb_buf_init(&wl);
    struct doc wd = { .b = &wl, .html = d->html };
    size_t nwarn = 0;
    if (status && strcmp(status, "complete") != 0) {
        char m[600];
        snprintf(m, sizeof m, "The run is %.20s: finish it with greenbench run --resume %.500s", status, rd->dir);
        list_item(&wd, m);
        nwarn++;
    }
    const struct gb_json *readings = gb_json_get(meta_get(rd, "preflight", NULL), "readings");
    for (size_t i = 0; readings && i < readings->count; i++) {
        const struct gb_json *r = readings->items[i];
        if (strcmp(gb_json_str(r, "level", ""), "warning") != 0)
            continue;
        char m[600];
        snprintf(m, sizeof m, "Preflight: %s = %s: %s", gb_json_str(r, "name", "?"),
                 gb_json_str(r, "value", "?"), gb_json_str(r, "advice", ""));
        list_item(&wd, m);
        nwarn++;
    }
    for (size_t i = 0; i < rd->nsums; i++) {
        const struct gb_summary *s = &rd->sums[i];
        char m[600];
        if (s->reps_failed > 0) {
            snprintf(m, sizeof m, "%s: %d of %d repetitions failed (%s)", s->cell.key,
                     s->reps_failed, s->reps_total, s->first_error);
            list_item(&wd, m);
            nwarn++;
        } else if (s->reps_total == 0) {
            snprintf(m, sizeof m, "%s: no repetition ran", s->cell.key);
            list_item(&wd, m);
            nwarn++;
        }
        if (s->ns.n > 1 && s->ns.cv > CV_WARN) {
            snprintf(m, sizeof m, "%s: cv %.0f%%, above %.0f%%: too much spread to trust a "
                                  "comparison",
                     s->cell.key, s->ns.cv * 100, CV_WARN * 100);
            list_item(&wd, m);
            nwarn++;
        }
    }
    if (rd->bad_lines) {
        char m[200];
        snprintf(m, sizeof m, "cells.jsonl has %zu unreadable lines (skipped)", rd->bad_lines);
        list_item(&wd, m);
        nwarn++;
    }
    heading(d, 2, "Warnings");
    if (nwarn == 0) {
        para_begin(d, NULL);
        esc(d, "None: every repetition ran and every cell's cv is within 10%.");
        para_end(d);
    } else {
        gb_buf_puts(d->b, d->html ? "<ul class=\"warn\">\n" : "");
        gb_buf_puts(d->b, gb_buf_str(&wl));
        gb_buf_puts(d->b, d->html ? "</ul>\n" : "\n");
    }
    gb_buf_free(&wl);

    /* The machine note: why ratios here are not ratios everywhere. */
    heading(d, 2, "Machine");
    const struct gb_json *m = meta_get(rd, "machine", NULL);
    double sys_ns = gb_json_num(meta_get(rd, "preflight", NULL), "syscall_ns", NAN);
    double pf_ns = gb_json_num(meta_get(rd, "preflight", NULL), "page_fault_ns", NAN);
    para_begin(d, NULL);
    escf(d, "%s, %ld CPUs allowed (%ld online), %s, %.1f GiB memory%s.",
         gb_json_str(m, "cpu_model", "unknown CPU"), (long)gb_json_num(m, "cpus_allowed", 0),
         (long)gb_json_num(m, "cpus_online", 0), gb_json_str(m, "kernel", "unknown kernel"),
         gb_json_num(m, "memory_kb", 0) / 1048576.0,
         gb_json_is(m, "virtualized", GB_JSON_BOOL) && gb_json_get(m, "virtualized")->boolean
             ? ", virtualized" : "");
    para_end(d);
    para_begin(d, "note");
    gb_format_ns(t1, sizeof t1, sys_ns);
    gb_format_ns(t2, sizeof t2, pf_ns);
    escf(d, "Ratios between coroutines and threads depend on the machine. Here a system call "
            "costs %s and a first-touch page fault %s (measured before the run). Thread "
            "creation, blocking handoffs and fresh stacks pay these costs and a coroutine "
            "switch does not, so on virtual machines, where both are several times dearer "
            "than on bare metal (about 1.1 us and 12-16 us on the VMs this project was "
            "developed on), coroutine-to-thread ratios come out larger than on bare metal. "
            "Compare runs from the same machine.",
         t1, t2);
    para_end(d);

    server_section(d, rd);

    /* Peers: what their figures include that ours do not. */
    bool peers_heading = false;
    for (size_t k = 0; k < gb_npeers; k++) {
        bool present = false;
        for (size_t i = 0; i < rd->nsums && !present; i++)
            present = strcmp(rd->sums[i].cell.impl, gb_peers[k].name) == 0;
        if (!present)
            continue;
        if (!peers_heading) {
            heading(d, 2, "Peers");
            peers_heading = true;
        }
        para_begin(d, NULL);
        escf(d, "%s: its figures include %s.", gb_peers[k].name, gb_peers[k].includes);
        para_end(d);
    }

    /* Overview: every non-thread cell against its thread baseline. */
    heading(d, 2, "Overview: relative to OS threads");
    para_begin(d, NULL);
    esc(d, "Time per operation of each implementation divided by that of OS threads with the "
           "same workload and parameters (threads = 1; below 1 is faster), with the 95% "
           "distribution-free interval of the ratio (Moses).");
    para_end(d);
    static const char *const ocols[] = { "workload", "implementation", "parameters",
                                         "time vs threads", "95% interval", "speed-up" };
    table_begin(d, ocols, 6);
    size_t nover = 0;
    for (size_t i = 0; i < rd->nsums; i++) {
        const struct gb_summary *s = &rd->sums[i];
        if (s->baseline == NULL || s->ns.n == 0 || !s->ratio_ok)
            continue;
        double est = s->ratio, lo = s->ratio_lo, hi = s->ratio_hi;
        char series[160], params[160];
        gb_cell_series(&s->cell, series, sizeof series);
        cell_params(&s->cell, params, sizeof params);
        row_begin(d, NULL);
        cell(d, s->cell.workload);
        cell(d, series);
        cell(d, params);
        cellf(d, "%.3g", est);
        cellf(d, "%.3g - %.3g", lo, hi);
        cellf(d, est < 1 ? "%.3gx faster" : "%.3gx slower", est < 1 ? 1 / est : est);
        row_end(d);
        nover++;
    }
    table_end(d);
    if (nover == 0) {
        para_begin(d, NULL);
        esc(d, "No pair of cells to compare (a thread baseline and another implementation with "
               "the same parameters, both with results).");
        para_end(d);
    }

    heading(d, 2, "Plots");
    if (plots_drawn < 0) {
        para_begin(d, "note");
        esc(d, "Plots were skipped: gnuplot was not found. The gnuplot scripts and data are in "
               "plots/; install gnuplot (Debian: apt-get install gnuplot-nox) and run "
               "greenbench report on this directory to draw them.");
        para_end(d);
    } else if (plots_drawn == 0) {
        para_begin(d, NULL);
        esc(d, "No plots for this run (no results to draw, or plots were turned off).");
        para_end(d);
    }
    figure(d, rd->dir, "overview", "Green threads and peers relative to OS threads");
    for (size_t w = 0; w < gb_nworkloads; w++)
        if (gb_workloads[w].plot.chart != GB_CHART_NONE)
            figure(d, rd->dir, gb_workloads[w].plot.kind, gb_workloads[w].plot.title);
    figure(d, rd->dir, "efficiency", "Throughput and throughput per CPU-second");

    /* Results per workload. */
    heading(d, 2, "Results");
    para_begin(d, NULL);
    esc(d, "Median of the counted repetitions with its distribution-free confidence interval "
           "(order statistics; its coverage is in summary.csv, below 95% with fewer than 6 "
           "repetitions), coefficient of variation, Tukey outliers (mild/severe; counted, never "
           "dropped), throughput, CPU cores kept busy (CPU time / wall time), and peak RSS from "
           "wait4. Every value is in summary.csv; every repetition in cells.jsonl.");
    para_end(d);
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
        const struct gb_workload *wk = wname ? &gb_workloads[w] : NULL;
        heading(d, 3, wname ? wname : "other workloads");
        if (wk) {
            para_begin(d, NULL);
            esc(d, wk->what);
            para_end(d);
        }
        char unit[64];
        snprintf(unit, sizeof unit, "ns per %s", wk ? wk->op : "op");
        const char *cols[] = { "implementation", "parameters", unit, "95% CI", "cv",
                               "ok/failed", "outliers", "ops/s", "cores", "peak RSS",
                               "memory/task" };
        bool mem = wk && wk->metric == GB_METRIC_RSS_PER_TASK;
        table_begin(d, cols, mem ? 11 : 10);
        for (size_t i = 0; i < rd->nsums; i++) {
            const struct gb_summary *s = &rd->sums[i];
            bool known = gb_workload_find(s->cell.workload) != NULL;
            if (wname ? strcmp(s->cell.workload, wname) != 0 : known)
                continue;
            char series[160], params[160];
            gb_cell_series(&s->cell, series, sizeof series);
            cell_params(&s->cell, params, sizeof params);
            if (!wname)
                snprintf(params + strlen(params), sizeof params - strlen(params), " (%s)",
                         s->cell.workload);
            row_begin(d, s->reps_failed || s->reps_total == 0 ? "fail"
                         : (s->ns.n > 1 && s->ns.cv > CV_WARN) ? "warn" : NULL);
            cell(d, series);
            cell(d, params);
            if (s->ns.n) {
                cellf(d, "%.4g", s->ns.median);
                cellf(d, "%.4g - %.4g", s->ns.ci_low, s->ns.ci_high);
                cellf(d, "%.1f%%%s", s->ns.cv * 100, s->ns.cv > CV_WARN ? " (!)" : "");
            } else {
                cell(d, "n/a");
                cell(d, "");
                cell(d, "");
            }
            cellf(d, "%d/%d", s->reps_ok, s->reps_failed);
            cellf(d, "%zu/%zu", s->ns.outliers_mild, s->ns.outliers_severe);
            fmt_si(t1, sizeof t1, s->ops_s.n ? s->ops_s.median : NAN, "");
            cell(d, t1);
            snprintf(t2, sizeof t2, s->cores.n ? "%.2f" : "n/a", s->cores.median);
            cell(d, t2);
            fmt_bytes(t3, sizeof t3, s->peak_rss_kb > 0 ? s->peak_rss_kb * 1024.0 : NAN);
            cell(d, t3);
            if (mem) {
                fmt_bytes(t1, sizeof t1, s->rss_task.n ? s->rss_task.median : NAN);
                cell(d, t1);
            }
            row_end(d);
        }
        table_end(d);
    }

    /* Failures, with the tail of their stderr. */
    size_t nfail = 0;
    for (size_t i = 0; i < rd->nrecs; i++)
        nfail += rd->recs[i].status != GB_ST_OK;
    heading(d, 2, "Failures");
    if (nfail == 0) {
        para_begin(d, NULL);
        esc(d, "None.");
        para_end(d);
    }
    size_t shown = 0;
    for (size_t i = 0; i < rd->nrecs && shown < 50; i++) {
        const struct gb_record *r = &rd->recs[i];
        if (r->status == GB_ST_OK)
            continue;
        shown++;
        para_begin(d, NULL);
        if (r->rep == 0)
            escf(d, "%s, warm-up: %s: %s", r->key, gb_status_name(r->status),
                 gb_json_str(r->json, "message", ""));
        else
            escf(d, "%s, repetition %d: %s: %s", r->key, r->rep, gb_status_name(r->status),
                 gb_json_str(r->json, "message", ""));
        para_end(d);
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
            pre(d, p);
        }
    }
    if (nfail > shown) {
        para_begin(d, NULL);
        escf(d, "... and %zu more in cells.jsonl.", nfail - shown);
        para_end(d);
    }

    /* Versions and preflight readings. */
    heading(d, 2, "Build and versions");
    static const char *const vcols[] = { "component", "version" };
    table_begin(d, vcols, 2);
    const struct gb_json *vers = meta_get(rd, "versions", NULL);
    for (size_t i = 0; vers && vers->type == GB_JSON_OBJECT && i < vers->count; i++) {
        const struct gb_json *v = vers->items[i];
        if (v->type == GB_JSON_OBJECT) {
            for (size_t j = 0; j < v->count; j++) {
                row_begin(d, NULL);
                cellf(d, "%s %s", vers->keys[i], v->keys[j]);
                cell(d, v->items[j]->type == GB_JSON_STRING ? v->items[j]->string : "not found");
                row_end(d);
            }
            continue;
        }
        row_begin(d, NULL);
        cell(d, vers->keys[i]);
        cell(d, v->type == GB_JSON_STRING ? v->string : "not found");
        row_end(d);
    }
    const struct gb_json *git = meta_get(rd, "git", NULL);
    row_begin(d, NULL);
    cell(d, "git commit");
    cellf(d, "%s%s", gb_json_str(git, "commit", "unknown"),
          gb_json_is(git, "dirty", GB_JSON_BOOL) && gb_json_get(git, "dirty")->boolean
              ? " (with uncommitted changes)" : "");
    row_end(d);
    table_end(d);

    heading(d, 2, "Preflight");
    static const char *const pcols[] = { "reading", "value", "", "note" };
    table_begin(d, pcols, 4);
    for (size_t i = 0; readings && i < readings->count; i++) {
        const struct gb_json *r = readings->items[i];
        const char *level = gb_json_str(r, "level", "ok");
        row_begin(d, strcmp(level, "warning") == 0 ? "warn" : NULL);
        cell(d, gb_json_str(r, "name", ""));
        cell(d, gb_json_str(r, "value", ""));
        cell(d, level);
        cell(d, gb_json_str(r, "advice", ""));
        row_end(d);
    }
    table_end(d);
    para_begin(d, NULL);
    esc(d, "Files: meta.json (this metadata), cells.jsonl (every repetition, warm-ups "
           "included), summary.csv (one row per cell), plots/ (SVG, PNG, and the .gp and .dat "
           "to redraw them with gnuplot).");
    para_end(d);
    if (d->html)
        gb_buf_puts(d->b, "</body>\n</html>\n");
}

int gb_write_reports(const struct gb_rundata *rd, int plots_drawn)
{
    int rc = 0;
    for (int html = 0; html <= 1; html++) {
        struct gb_buf b;
        gb_buf_init(&b);
        struct doc d = { .b = &b, .html = html };
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
    const char *dir = NULL;
    bool plots = true;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(report_help, stdout);
            return GB_EXIT_OK;
        }
        if (strcmp(argv[i], "--no-plots") == 0) {
            plots = false;
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "greenbench report: unknown option '%s' (see greenbench report --help)\n", argv[i]);
            return GB_EXIT_USAGE;
        } else if (dir) {
            fprintf(stderr, "greenbench report: one directory at a time\n");
            return GB_EXIT_USAGE;
        } else {
            dir = argv[i];
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
