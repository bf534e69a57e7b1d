/* harness/plot.c: the plot stage (plot.h): each chart's data from the
 * results model, its gnuplot script from the template, and gnuplot run
 * through the process helper to draw it. */
#include "plot.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "catalog.h"
#include "cell.h"
#include "json.h"
#include "process.h"
#include "stats.h"
#include "util.h"

/* ---- templates and gnuplot ---- */

char *gb_template_load(const char *name)
{
    const char *dir = getenv("GREENBENCH_PLOTS_DIR");
    if (dir && *dir) {
        char *path = gb_xasprintf("%s/%s", dir, name), *text;
        int rc = gb_read_file(path, &text, NULL);
        free(path);
        if (rc == 0)
            return text;
    }
    for (size_t i = 0; i < gb_ntemplates; i++)
        if (strcmp(gb_templates[i].name, name) == 0)
            return gb_xstrdup(gb_templates[i].text);
    return NULL;
}

const char *gb_gnuplot(void)
{
    static char found[4096];
    const char *env = getenv("GREENBENCH_GNUPLOT");
    if (env) /* set but empty or missing: "no gnuplot" (tests use this) */
        return *env && gb_is_executable(env) ? env : NULL;
    const char *path = getenv("PATH");
    if (path == NULL)
        path = "/usr/bin:/bin";
    for (const char *p = path; *p;) {
        size_t len = strcspn(p, ":");
        snprintf(found, sizeof found, "%.*s/gnuplot", (int)len, p);
        if (len > 0 && gb_is_executable(found))
            return found;
        p += len;
        if (*p == ':')
            p++;
    }
    return NULL;
}

/* gnuplot -e "term='svg'" kind.gp, in dir, for at most a minute; its
 * output appended to gnuplot.log. */
static bool draw(const char *gnuplot, const char *dir, const char *kind, const char *term)
{
    char *log = gb_xasprintf("%s/gnuplot.log", dir);
    int logfd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    free(log);
    char *script = gb_xasprintf("%s.gp", kind);
    char *expr = gb_xasprintf("term='%s'", term);
    char *argv[] = { (char *)gnuplot, "-e", expr, script, NULL };
    struct gb_proc_opts o = {
        .dir = dir,
        .out = logfd >= 0 ? GB_PROC_FD : GB_PROC_NULL,
        .out_fd = logfd,
        .err = GB_PROC_STDOUT,
    };
    struct gb_proc p;
    char err[128];
    int rc = gb_proc_start(argv, &o, &p, err, sizeof err);
    free(script);
    free(expr);
    if (logfd >= 0)
        close(logfd);
    if (rc != 0)
        return false;
    struct gb_proc_wait_opts w = { .timeout_s = 60 };
    struct gb_proc_end e;
    gb_proc_wait(&p, &w, &e);
    gb_proc_end_free(&e);
    if (e.timed_out)
        return false;
    char *out = gb_xasprintf("%s/%s.%s", dir, kind, term);
    struct stat st;
    bool ok = WIFEXITED(e.status) && WEXITSTATUS(e.status) == 0 && stat(out, &st) == 0 &&
              st.st_size > 0;
    free(out);
    return ok;
}

/* ---- data ---- */

static void quoted(struct gb_buf *b, const char *s)
{
    gb_buf_add(b, "\"", 1);
    for (; *s; s++)
        gb_buf_add(b, *s == '"' ? "'" : s, 1);
    gb_buf_add(b, "\"", 1);
}

/* Line styles of style.gp: 1 threads, 2-9 green threads, 10-12 peers; each
 * green pair keeps its colour in every chart of the run. */
struct styles {
    char green[64][200], peers[16][GB_NAME];
    size_t ngreen, npeers;
};

static void styles_init(struct styles *st, const struct gb_rundata *rd)
{
    memset(st, 0, sizeof *st);
    for (size_t i = 0; i < rd->nsums; i++) {
        const struct gb_cell *c = &rd->sums[i].cell;
        char s[200];
        gb_cell_series(c, s, sizeof s);
        if (strcmp(c->impl, "green") == 0 && c->loop[0]) {
            bool seen = false;
            for (size_t j = 0; j < st->ngreen; j++)
                seen |= strcmp(st->green[j], s) == 0;
            if (!seen && st->ngreen < 64)
                snprintf(st->green[st->ngreen++], sizeof st->green[0], "%s", s);
        } else if (strcmp(c->impl, "threads") != 0 && strcmp(c->impl, "green") != 0) {
            bool seen = false;
            for (size_t j = 0; j < st->npeers; j++)
                seen |= strcmp(st->peers[j], c->impl) == 0;
            if (!seen && st->npeers < 16)
                snprintf(st->peers[st->npeers++], GB_NAME, "%s", c->impl);
        }
    }
}

static int style_of(const struct styles *st, const struct gb_cell *c)
{
    if (strcmp(c->impl, "threads") == 0)
        return 1;
    if (strcmp(c->impl, "green") == 0) {
        char s[200];
        gb_cell_series(c, s, sizeof s);
        for (size_t j = 0; j < st->ngreen; j++)
            if (strcmp(st->green[j], s) == 0)
                return 2 + (int)(j % 8);
        return 2;
    }
    for (size_t j = 0; j < st->npeers; j++)
        if (strcmp(st->peers[j], c->impl) == 0)
            return 10 + (int)(j % 3);
    return 10;
}

/* Bar colours: one per kind of implementation. */
static int colour(const struct gb_cell *c)
{
    return strcmp(c->impl, "green") == 0 ? 2 : strcmp(c->impl, "threads") == 0 ? 1 : 10;
}

/* Threads first, then green threads, then peers. */
static int kind_rank(const struct gb_cell *c)
{
    return strcmp(c->impl, "threads") == 0 ? 0 : strcmp(c->impl, "green") == 0 ? 1 : 2;
}

static bool usable(const struct gb_stats *st)
{
    return st->n > 0 && st->median > 0 && isfinite(st->median);
}

static const struct gb_stats *metric(const struct gb_summary *s, enum gb_metric m)
{
    return m == GB_METRIC_NS_PER_OP ? &s->ns : m == GB_METRIC_OPS_PER_S ? &s->ops_s : &s->rss_task;
}

/* Line chart: one block per series (+ the parameters that vary but are not on
 * the x axis), rows x, median, ci_low, ci_high. Returns the number of points. */
static size_t line_data(const struct gb_rundata *rd, const struct styles *sty,
                        const char *workload, unsigned x, enum gb_metric m, struct gb_buf *out,
                        struct gb_buf *lts)
{
    const struct gb_summary **el = gb_xcalloc(rd->nsums + 1, sizeof *el);
    size_t nel = 0;
    for (int rank = 0; rank <= 2; rank++)
        for (size_t i = 0; i < rd->nsums; i++)
            if (strcmp(rd->sums[i].cell.workload, workload) == 0 &&
                kind_rank(&rd->sums[i].cell) == rank &&
                usable(metric(&rd->sums[i], m)) && gb_cell_axis(&rd->sums[i].cell, x) > 0)
                el[nel++] = &rd->sums[i];
    /* The labels show the other work axes that vary. */
    unsigned shown = 0;
    for (size_t i = 1; i < nel; i++)
        for (int a = 0; a < GB_NAXES; a++)
            if (gb_cell_get(&el[i]->cell, a) != gb_cell_get(&el[0]->cell, a))
                shown |= 1u << a;
    shown &= GB_AX_WORK & ~x;
    char(*labels)[200] = gb_xcalloc(nel + 1, sizeof *labels);
    struct gb_buf lb;
    gb_buf_init(&lb);
    for (size_t i = 0; i < nel; i++) {
        char series[200];
        gb_cell_series(&el[i]->cell, series, sizeof series);
        lb.len = 0;
        gb_buf_puts(&lb, series);
        gb_cell_params(&el[i]->cell, shown, &lb);
        snprintf(labels[i], sizeof labels[i], "%s", gb_buf_str(&lb));
    }
    gb_buf_free(&lb);
    bool *done = gb_xcalloc(nel + 1, sizeof *done);
    size_t points = 0, blocks = 0;
    for (size_t i = 0; i < nel; i++) {
        if (done[i])
            continue;
        if (blocks++)
            gb_buf_puts(out, "\n\n");
        gb_buf_printf(lts, "%s%d", blocks > 1 ? " " : "", style_of(sty, &el[i]->cell));
        quoted(out, labels[i]);
        gb_buf_puts(out, " ci_low ci_high\n");
        /* This series' points in increasing x. */
        for (;;) {
            size_t best = nel;
            for (size_t j = i; j < nel; j++)
                if (!done[j] && strcmp(labels[j], labels[i]) == 0 &&
                    (best == nel ||
                     gb_cell_axis(&el[j]->cell, x) < gb_cell_axis(&el[best]->cell, x)))
                    best = j;
            if (best == nel)
                break;
            done[best] = true;
            const struct gb_stats *st = metric(el[best], m);
            gb_buf_printf(out, "%ld %.6g %.6g %.6g\n", gb_cell_axis(&el[best]->cell, x),
                          st->median, st->ci_low, st->ci_high);
            points++;
        }
    }
    if (points)
        gb_buf_puts(out, "\n");
    free(done);
    free(labels);
    free(el);
    return points;
}

/* The ideal line x * 1000 / D for every server delay D of the workload. */
static void ideal_data(const struct gb_rundata *rd, const char *workload, unsigned x,
                       const char *what, struct gb_buf *out)
{
    long delays[GB_MAX_LIST];
    size_t nd = 0;
    long xs[256];
    size_t nx = 0;
    for (size_t i = 0; i < rd->nsums; i++) {
        const struct gb_cell *c = &rd->sums[i].cell;
        if (strcmp(c->workload, workload) != 0 || !usable(&rd->sums[i].ops_s))
            continue;
        bool seen = false;
        for (size_t j = 0; j < nd; j++)
            seen |= delays[j] == c->delay_ms;
        if (!seen && c->delay_ms > 0 && nd < GB_MAX_LIST)
            delays[nd++] = c->delay_ms;
        seen = false;
        for (size_t j = 0; j < nx; j++)
            seen |= xs[j] == gb_cell_axis(c, x);
        if (!seen && gb_cell_axis(c, x) > 0 && nx < 256)
            xs[nx++] = gb_cell_axis(c, x);
    }
    for (size_t i = 1; i < nx; i++) /* insertion sort */
        for (size_t j = i; j > 0 && xs[j] < xs[j - 1]; j--) {
            long t = xs[j];
            xs[j] = xs[j - 1];
            xs[j - 1] = t;
        }
    for (size_t d = 0; d < nd; d++) {
        if (d)
            gb_buf_puts(out, "\n\n");
        gb_buf_printf(out, "\"ideal %s (D=%ld ms)\" req_per_s\n", what, delays[d]);
        for (size_t i = 0; i < nx; i++)
            gb_buf_printf(out, "%ld %.6g\n", xs[i], (double)xs[i] * 1000.0 / (double)delays[d]);
    }
    if (nd)
        gb_buf_puts(out, "\n");
}

/* Bar chart: one bar per implementation, its largest n. */
static size_t bar_data(const struct gb_rundata *rd, const char *workload, struct gb_buf *out)
{
    size_t rows = 0;
    for (size_t i = 0; i < rd->nsums; i++) {
        const struct gb_summary *s = &rd->sums[i];
        if (strcmp(s->cell.workload, workload) != 0 || !usable(&s->ns))
            continue;
        bool larger = false;
        char series[200], other[200];
        gb_cell_series(&s->cell, series, sizeof series);
        for (size_t j = 0; j < rd->nsums; j++) {
            const struct gb_summary *t = &rd->sums[j];
            if (j == i || strcmp(t->cell.workload, workload) != 0 || !usable(&t->ns))
                continue;
            gb_cell_series(&t->cell, other, sizeof other);
            if (strcmp(other, series) == 0 && (t->cell.n > s->cell.n || (t->cell.n == s->cell.n && j < i)))
                larger = true;
        }
        if (larger)
            continue;
        const char *label = strncmp(series, "green ", 6) == 0 ? series + 6 : series;
        quoted(out, label);
        gb_buf_printf(out, " %.6g %.6g %.6g %d\n", s->ns.median, s->ns.ci_low, s->ns.ci_high,
                      colour(&s->cell));
        rows++;
    }
    return rows;
}

/* Is a the better headline cell of its workload than b: larger n, then k. */
static bool headline_better(const struct gb_cell *a, const struct gb_cell *b)
{
    if (a->n != b->n)
        return a->n > b->n;
    return a->concurrency > b->concurrency;
}

/* A green cell of a workload without a loop ("green asm"). */
static bool green_no_loop(const struct gb_cell *c)
{
    const struct gb_workload *w = gb_workload_find(c->workload);
    return w && !w->uses_loop && strcmp(c->impl, "green") == 0;
}

/* The series a cell shows under in the overview: a green cell without a
 * loop ("green asm") stands in every "green asm/<loop>" column. */
static bool overview_match(const struct gb_cell *c, const char *column)
{
    char s[200];
    gb_cell_series(c, s, sizeof s);
    if (strcmp(s, column) == 0)
        return true;
    if (!green_no_loop(c))
        return false;
    size_t n = strlen(s);
    return strncmp(column, s, n) == 0 && column[n] == '/';
}

/* The overview's table: a column per series, a row per workload. */
struct overview {
    char (*series)[200]; /* the columns */
    size_t ns;
    char (*labels)[200]; /* a row's workload and headline parameters */
    double (*vals)[3];   /* a row's ratio, low, high per column: vals[row * ns + column] */
    bool *has_data;      /* a column with a ratio somewhere */
    size_t nrows;
};

/* Columns: the non-thread series with a baseline somewhere; those of the
 * loop workloads when there are any. Their line styles into lts. */
static void overview_columns(const struct gb_rundata *rd, const struct styles *sty,
                             struct overview *ov, struct gb_buf *lts)
{
    ov->series = gb_xcalloc(rd->nsums + 1, sizeof *ov->series);
    ov->ns = 0;
    for (int pass = 0; pass < 2 && ov->ns == 0; pass++) {
        for (size_t i = 0; i < rd->nsums; i++) {
            const struct gb_summary *sm = &rd->sums[i];
            if (!usable(&sm->ns) || sm->baseline == NULL)
                continue;
            if (pass == 0 && green_no_loop(&sm->cell))
                continue;
            char s[200];
            gb_cell_series(&sm->cell, s, sizeof s);
            bool seen = false;
            for (size_t j = 0; j < ov->ns; j++)
                seen |= strcmp(ov->series[j], s) == 0;
            if (!seen) {
                gb_buf_printf(lts, "%s%d", ov->ns ? " " : "", style_of(sty, &sm->cell));
                snprintf(ov->series[ov->ns++], sizeof ov->series[0], "%s", s);
            }
        }
    }
}

/* Workload wk's row at its headline parameters (the largest n, then k,
 * with a comparison), kept when some column has a ratio. */
static void overview_row(const struct gb_rundata *rd, const struct gb_workload *wk,
                         struct overview *ov)
{
    const char *wname = wk->name;
    /* Per-iteration costs compare across n, as gb_baseline does. */
    bool any_n = wk->per_iteration;
    const struct gb_cell *head = NULL;
    for (size_t i = 0; i < rd->nsums; i++) {
        const struct gb_summary *sm = &rd->sums[i];
        if (strcmp(sm->cell.workload, wname) != 0 || !usable(&sm->ns) || !sm->baseline)
            continue;
        if (head == NULL || headline_better(&sm->cell, head))
            head = &sm->cell;
    }
    if (head == NULL)
        return;
    char *label = ov->labels[ov->nrows];
    struct gb_buf lb;
    gb_buf_init(&lb);
    gb_buf_puts(&lb, wname);
    gb_cell_params(head, (any_n ? 0 : GB_AX_N) | GB_AX_CONCURRENCY, &lb);
    snprintf(label, sizeof ov->labels[0], "%s", gb_buf_str(&lb));
    gb_buf_free(&lb);
    size_t filled = 0;
    for (size_t j = 0; j < ov->ns; j++) {
        double est = NAN, lo = NAN, hi = NAN;
        for (size_t i = 0; i < rd->nsums; i++) {
            const struct gb_summary *sm = &rd->sums[i];
            if (strcmp(sm->cell.workload, wname) != 0 || !overview_match(&sm->cell, ov->series[j]) ||
                (!any_n && !gb_cell_same(&sm->cell, head, GB_AX_WORK)) || !usable(&sm->ns) ||
                !sm->ratio_ok)
                continue;
            est = sm->ratio;
            lo = sm->ratio_lo;
            hi = sm->ratio_hi;
            break;
        }
        double *v = ov->vals[ov->nrows * ov->ns + j];
        v[0] = est;
        v[1] = lo;
        v[2] = hi;
        if (isfinite(est)) {
            ov->has_data[j] = true;
            filled++;
        }
    }
    ov->nrows += filled > 0;
}

/* The table as overview.dat: the columns with data only. */
static void overview_write(const struct overview *ov, struct gb_buf *out)
{
    gb_buf_puts(out, "workload");
    for (size_t j = 0; j < ov->ns; j++) {
        if (!ov->has_data[j])
            continue;
        gb_buf_puts(out, " ");
        quoted(out, ov->series[j]);
        gb_buf_puts(out, " low high");
    }
    gb_buf_puts(out, "\n");
    for (size_t r = 0; r < ov->nrows; r++) {
        quoted(out, ov->labels[r]);
        for (size_t j = 0; j < ov->ns; j++) {
            const double *v = ov->vals[r * ov->ns + j];
            if (!ov->has_data[j])
                continue;
            if (isfinite(v[0]))
                gb_buf_printf(out, " %.6g %.6g %.6g", v[0], v[1], v[2]);
            else
                gb_buf_puts(out, " NaN NaN NaN");
        }
        gb_buf_puts(out, "\n");
    }
}

/* The line styles of the columns kept, in the same order, replace lts. */
static void overview_styles(const struct overview *ov, struct gb_buf *lts)
{
    struct gb_buf kept;
    gb_buf_init(&kept);
    const char *all = gb_buf_str(lts);
    for (size_t j = 0; j < ov->ns; j++) {
        size_t len = strcspn(all, " ");
        if (ov->has_data[j])
            gb_buf_printf(&kept, "%s%.*s", gb_buf_str(&kept)[0] ? " " : "", (int)len, all);
        all += len + (all[len] == ' ');
    }
    gb_buf_free(lts);
    *lts = kept;
}

static size_t overview_data(const struct gb_rundata *rd, const struct styles *sty,
                            struct gb_buf *out, struct gb_buf *lts)
{
    struct overview ov = { 0 };
    overview_columns(rd, sty, &ov, lts);
    if (ov.ns == 0) {
        free(ov.series);
        return 0;
    }
    /* The ratios first, row by row, so that a series with none can be left
     * out: gnuplot's "for [i=2:*:3]" stops at the first series without data. */
    ov.labels = gb_xcalloc(gb_nworkloads, sizeof *ov.labels);
    ov.vals = gb_xcalloc(gb_nworkloads * ov.ns, sizeof *ov.vals);
    ov.has_data = gb_xcalloc(ov.ns, sizeof *ov.has_data);
    for (size_t w = 0; w < gb_nworkloads; w++)
        overview_row(rd, &gb_workloads[w], &ov);
    overview_write(&ov, out);
    overview_styles(&ov, lts);
    free(ov.labels);
    free(ov.vals);
    free(ov.has_data);
    free(ov.series);
    return ov.nrows;
}

/* The first throughput workload with results: each implementation's
 * requests per second and per CPU-second at its headline parameters. */
static size_t efficiency_data(const struct gb_rundata *rd, struct gb_buf *out, char *label,
                              size_t labellen)
{
    for (size_t w = 0; w < gb_nworkloads; w++) {
        const char *wname = gb_workloads[w].name;
        if (gb_workloads[w].metric != GB_METRIC_OPS_PER_S)
            continue;
        const struct gb_cell *head = NULL;
        for (size_t i = 0; i < rd->nsums; i++) {
            const struct gb_summary *s = &rd->sums[i];
            if (strcmp(s->cell.workload, wname) != 0 || !usable(&s->ops_s) ||
                !usable(&s->cpu_ops_s))
                continue;
            if (head == NULL || headline_better(&s->cell, head))
                head = &s->cell;
        }
        if (head == NULL)
            continue;
        struct gb_cell h = *head;
        size_t rows = 0;
        for (size_t i = 0; i < rd->nsums; i++) {
            const struct gb_summary *s = &rd->sums[i];
            if (strcmp(s->cell.workload, wname) != 0 || !gb_cell_same(&s->cell, &h, GB_AX_WORK) ||
                !usable(&s->ops_s) || !usable(&s->cpu_ops_s))
                continue;
            char series[200];
            gb_cell_series(&s->cell, series, sizeof series);
            quoted(out, series);
            gb_buf_printf(out, " %.6g %.6g %.4g %d\n", s->ops_s.median, s->cpu_ops_s.median,
                          s->cores.n ? s->cores.median : 0.0, colour(&s->cell));
            rows++;
        }
        /* The workload and its parameters, for the title. */
        struct gb_buf params;
        gb_buf_init(&params);
        gb_cell_params(&h, GB_AX_N | GB_AX_CONCURRENCY | GB_AX_DELAY, &params);
        snprintf(label, labellen, "%s%s", wname, gb_buf_str(&params));
        gb_buf_free(&params);
        return rows;
    }
    return 0;
}

/* ---- writing and drawing ---- */

static void gp_string(struct gb_buf *b, const char *s)
{
    gb_buf_add(b, "'", 1);
    for (; *s; s++) {
        if (*s == '\'')
            gb_buf_add(b, "''", 2);
        else if (*s != '\n' && *s != '\r')
            gb_buf_add(b, s, 1);
    }
    gb_buf_add(b, "'", 1);
}

static int write_chart(const char *pdir, const char *kind, const char *subtitle,
                       const char *workload_label, const struct gb_buf *lts,
                       const struct gb_buf *data, const char *extra_name,
                       const struct gb_buf *extra)
{
    char *tmpl_name = gb_xasprintf("%s.gp", kind);
    char *tmpl = gb_template_load(tmpl_name);
    free(tmpl_name);
    if (tmpl == NULL) {
        fprintf(stderr, "greenbench: no plot template %s.gp\n", kind);
        return -ENOENT;
    }
    struct gb_buf gp;
    gb_buf_init(&gp);
    gb_buf_printf(&gp, "# Generated by greenbench from plots/%s.gp for this run. Edit and redraw here:\n"
                       "#   gnuplot %s.gp                   (SVG)\n"
                       "#   gnuplot -e \"term='png'\" %s.gp   (PNG)\n",
                  kind, kind, kind);
    gb_buf_puts(&gp, "subtitle = ");
    gp_string(&gp, subtitle);
    gb_buf_puts(&gp, "\n");
    if (lts && lts->len) {
        gb_buf_puts(&gp, "series_lt = ");
        gp_string(&gp, gb_buf_str(lts));
        gb_buf_puts(&gp, "   # line style of each series, in order (style.gp)\n");
    }
    if (workload_label) {
        gb_buf_puts(&gp, "workload_label = ");
        gp_string(&gp, workload_label);
        gb_buf_puts(&gp, "\n");
    }
    gb_buf_puts(&gp, "\n");
    gb_buf_puts(&gp, tmpl);
    free(tmpl);
    char *path = gb_xasprintf("%s/%s.gp", pdir, kind);
    int rc = gb_write_file(path, gp.data, gp.len);
    free(path);
    gb_buf_free(&gp);
    if (rc == 0) {
        path = gb_xasprintf("%s/%s.dat", pdir, kind);
        rc = gb_write_file(path, gb_buf_str(data), data->len);
        free(path);
    }
    if (rc == 0 && extra_name) {
        path = gb_xasprintf("%s/%s", pdir, extra_name);
        rc = gb_write_file(path, gb_buf_str(extra), extra->len);
        free(path);
    }
    return rc;
}

/* Workload wk's own chart into pdir: true when it had data and was
 * written. */
static bool workload_chart(const struct gb_rundata *rd, const struct styles *sty,
                           const struct gb_workload *wk, const char *pdir, const char *subtitle)
{
    struct gb_buf data, extra, lts;
    gb_buf_init(&data);
    gb_buf_init(&extra);
    gb_buf_init(&lts);
    char *ideal_file = wk->plot.ideal ? gb_xasprintf("%s_ideal.dat", wk->plot.kind) : NULL;
    size_t points;
    if (wk->plot.chart == GB_CHART_BARS) {
        points = bar_data(rd, wk->name, &data);
    } else {
        if (wk->plot.ideal)
            ideal_data(rd, wk->name, wk->plot.x, wk->plot.ideal, &extra);
        points = line_data(rd, sty, wk->name, wk->plot.x, wk->metric, &data, &lts);
    }
    bool written = points > 0 && write_chart(pdir, wk->plot.kind, subtitle, NULL, &lts, &data,
                                             ideal_file, &extra) == 0;
    free(ideal_file);
    gb_buf_free(&data);
    gb_buf_free(&extra);
    gb_buf_free(&lts);
    return written;
}

/* Draw the nk charts of kinds in pdir, SVG and PNG: the number of SVGs
 * drawn, or -1 when there is no gnuplot. */
static int draw_all(const char *pdir, const char **kinds, size_t nk)
{
    int drawn = 0;
    const char *gnuplot = gb_gnuplot();
    if (gnuplot == NULL)
        return -1;
    for (size_t i = 0; i < nk; i++) {
        bool svg = draw(gnuplot, pdir, kinds[i], "svg");
        bool png = draw(gnuplot, pdir, kinds[i], "png");
        if (svg)
            drawn++;
        if (!svg || !png)
            fprintf(stderr, "greenbench: gnuplot could not draw %s/%s.%s (see %s/gnuplot.log)\n",
                    pdir, kinds[i], svg ? "png" : "svg", pdir);
    }
    return drawn;
}

int gb_write_plots(const struct gb_rundata *rd, bool want_draw)
{
    char *pdir = gb_xasprintf("%s/plots", rd->dir);
    int rc = gb_mkdir_p(pdir);
    if (rc != 0) {
        fprintf(stderr, "greenbench: cannot create %s: %s\n", pdir, strerror(-rc));
        free(pdir);
        return 0;
    }
    char *style = gb_template_load("style.gp");
    if (style) {
        char *path = gb_xasprintf("%s/style.gp", pdir);
        gb_write_file(path, style, strlen(style));
        free(path);
        free(style);
    }
    /* Subtitle: the machine and the date, so a lone image says where it is from. */
    const json_t *m = json_object_get(rd->meta, "machine");
    char subtitle[512];
    snprintf(subtitle, sizeof subtitle, "%s, %ld CPUs, %s, %s", gb_json_str(m, "cpu_model", "unknown CPU"),
             (long)gb_json_num(m, "cpus_allowed", 0), gb_json_str(m, "kernel", ""),
             gb_json_str(rd->meta, "start_time", ""));

    /* One chart per workload at most, in catalog order, then the overview
     * and efficiency. */
    const char **kinds = gb_xcalloc(gb_nworkloads + 2, sizeof *kinds);
    size_t nk = 0;
    struct styles sty;
    styles_init(&sty, rd);
    for (size_t w = 0; w < gb_nworkloads; w++)
        if (gb_workloads[w].plot.chart != GB_CHART_NONE &&
            workload_chart(rd, &sty, &gb_workloads[w], pdir, subtitle))
            kinds[nk++] = gb_workloads[w].plot.kind;

    struct gb_buf data, lts;
    gb_buf_init(&data);
    gb_buf_init(&lts);
    if (overview_data(rd, &sty, &data, &lts) > 0 &&
        write_chart(pdir, "overview", subtitle, NULL, &lts, &data, NULL, NULL) == 0)
        kinds[nk++] = "overview";
    gb_buf_free(&data);
    gb_buf_free(&lts);

    char label[256];
    gb_buf_init(&data);
    if (efficiency_data(rd, &data, label, sizeof label) > 0 &&
        write_chart(pdir, "efficiency", subtitle, label, NULL, &data, NULL, NULL) == 0)
        kinds[nk++] = "efficiency";
    gb_buf_free(&data);

    int drawn = want_draw && nk > 0 ? draw_all(pdir, kinds, nk) : 0;
    free(kinds);
    free(pdir);
    return drawn;
}
