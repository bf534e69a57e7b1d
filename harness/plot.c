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

/* ---- series and their line styles ---- */

static void quoted(struct gb_buf *b, const char *s)
{
    gb_buf_add(b, "\"", 1);
    for (; *s; s++)
        gb_buf_add(b, *s == '"' ? "'" : s, 1);
    gb_buf_add(b, "\"", 1);
}

/* The line styles of style.gp: a family per kind of implementation, and
 * within the green and peer families a second set of the same colours
 * (dotted, dash-dotted) after the first. */
enum {
    LT_THREADS = 1,
    N_THREADS = 4,
    LT_GREEN = 11,
    N_GREEN = 24,
    GREEN_COLOURS = 12,
    LT_PEERS = 41,
    N_PEERS = 16,
    PEER_COLOURS = 8,
};

/* 0 threads, 1 green threads, 2 peers: the order of every chart. */
static int family(const struct gb_cell *c)
{
    return strcmp(c->impl, "threads") == 0 ? 0 : strcmp(c->impl, "green") == 0 ? 1 : 2;
}

/* A series of the run (gb_cell_series's label: "go cpus=1"), one of its
 * cells and its line style. */
struct series {
    char label[200];
    struct gb_cell cell;
    int lt;
};

/* Every series of the run in chart order, each with a line style of its
 * own, the same in every chart. */
struct styles {
    struct series *s;
    size_t n;
};

/* Chart order: threads, green threads, peers. Green pairs come first, by
 * switch then loop, so that the two loops of a switch take the two shades
 * of one hue (style.gp) when the run has two loops; green cells without a
 * loop (switch) after them. Numbers in labels compare as numbers. */
static int series_cmp(const void *pa, const void *pb)
{
    const struct series *a = pa, *b = pb;
    int fa = family(&a->cell), fb = family(&b->cell), c = 0;
    if (fa != fb)
        return fa - fb;
    if (fa == 1) {
        bool la = a->cell.loop[0] != '\0', lb = b->cell.loop[0] != '\0';
        if (la != lb)
            return la ? -1 : 1;
        c = strcmp(a->cell.sw, b->cell.sw);
        if (c == 0)
            c = strcmp(a->cell.loop, b->cell.loop);
    } else if (fa == 2) {
        c = strcmp(a->cell.impl, b->cell.impl);
    }
    return c ? c : strverscmp(a->label, b->label);
}

/* The index of c's series in st, or st->n. */
static size_t series_index(const struct styles *st, const struct gb_cell *c)
{
    char label[200];
    gb_cell_series(c, label, sizeof label);
    for (size_t i = 0; i < st->n; i++)
        if (strcmp(st->s[i].label, label) == 0)
            return i;
    return st->n;
}

/* Each family's series take its styles in chart order; past the family's
 * size they repeat (a run with more than 24 green series). */
static void styles_init(struct styles *st, const struct gb_rundata *rd)
{
    st->s = gb_xcalloc(rd->nsums + 1, sizeof *st->s);
    st->n = 0;
    for (size_t i = 0; i < rd->nsums; i++) {
        const struct gb_cell *c = &rd->sums[i].cell;
        if (series_index(st, c) < st->n)
            continue;
        struct series *s = &st->s[st->n++];
        gb_cell_series(c, s->label, sizeof s->label);
        s->cell = *c;
    }
    qsort(st->s, st->n, sizeof *st->s, series_cmp);
    int next[3] = { 0, 0, 0 };
    for (size_t i = 0; i < st->n; i++) {
        int f = family(&st->s[i].cell), k = next[f]++;
        st->s[i].lt = f == 0   ? LT_THREADS + k % N_THREADS
                      : f == 1 ? LT_GREEN + k % N_GREEN
                               : LT_PEERS + k % N_PEERS;
    }
}

static void styles_free(struct styles *st)
{
    free(st->s);
    st->s = NULL;
    st->n = 0;
}

/* The line styles of one chart's series, in order (its series_lt), each
 * used once in the chart. */
struct chart_lts {
    struct gb_buf text;
    int used[256];
    size_t n;
};

static bool lt_used(const struct chart_lts *l, int lt)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->used[i] == lt)
            return true;
    return false;
}

/* The next series of the chart, of style lt: lt, or when the chart has it
 * already (one series at two parameters, say two delays) the same colour
 * with the other dash of its family, else the next free style of the
 * family. */
static void chart_lt_add(struct chart_lts *l, int lt)
{
    int base = LT_THREADS, size = N_THREADS, colours = N_THREADS;
    if (lt >= LT_PEERS) {
        base = LT_PEERS, size = N_PEERS, colours = PEER_COLOURS;
    } else if (lt >= LT_GREEN) {
        base = LT_GREEN, size = N_GREEN, colours = GREEN_COLOURS;
    }
    int pick = lt;
    if (lt_used(l, pick))
        pick = base + (lt - base + colours) % size;
    for (int k = 1; k < size && lt_used(l, pick); k++)
        pick = base + (lt - base + k) % size;
    if (lt_used(l, pick))
        pick = lt; /* the family is full: share */
    if (l->n < sizeof l->used / sizeof l->used[0])
        l->used[l->n++] = pick;
    gb_buf_printf(&l->text, "%s%d", l->text.len ? " " : "", pick);
}

/* ---- data ---- */

static bool usable(const struct gb_stats *st)
{
    return st->n > 0 && st->median > 0 && isfinite(st->median);
}

static const struct gb_stats *metric(const struct gb_summary *s, enum gb_metric m)
{
    return m == GB_METRIC_NS_PER_OP ? &s->ns : m == GB_METRIC_OPS_PER_S ? &s->ops_s : &s->rss_task;
}

/* The interval of st's median as the charts draw it: its ends, or the
 * median where an end is missing (log axes need positive numbers). */
static void interval(const struct gb_stats *st, double *lo, double *hi)
{
    *lo = isfinite(st->ci_low) && st->ci_low > 0 && st->ci_low <= st->median ? st->ci_low : st->median;
    *hi = isfinite(st->ci_high) && st->ci_high >= st->median ? st->ci_high : st->median;
}

/* The coverage of the intervals of one chart: it depends on the number of
 * repetitions (docs/results-format.md, "summary.csv": ci_level), so the
 * charts say what it is rather than a level that was asked for. */
struct coverage {
    double lo, hi;
};

static void coverage_init(struct coverage *c)
{
    c->lo = INFINITY;
    c->hi = -INFINITY;
}

static void coverage_add(struct coverage *c, double level)
{
    if (!isfinite(level))
        return;
    c->lo = fmin(c->lo, level);
    c->hi = fmax(c->hi, level);
}

/* "error bars: interval of the median (coverage 93.8 %)", of what. */
static void coverage_note(const struct coverage *c, const char *what, struct gb_buf *out)
{
    gb_buf_printf(out, "error bars: interval of the %s", what);
    if (c->lo > c->hi)
        return;
    if (c->hi - c->lo < 5e-4)
        gb_buf_printf(out, " (coverage %.3g %%)", 100 * c->lo);
    else
        gb_buf_printf(out, " (coverage %.3g %% to %.3g %%)", 100 * c->lo, 100 * c->hi);
}

/* A point of a line chart: the summary, its series' place in chart order,
 * its label (the series and the parameters that vary) and its x. */
struct point {
    const struct gb_summary *s;
    size_t order;
    char label[200];
    long x;
};

static int point_cmp(const void *pa, const void *pb)
{
    const struct point *a = pa, *b = pb;
    if (a->order != b->order)
        return a->order < b->order ? -1 : 1;
    int c = strverscmp(a->label, b->label);
    if (c)
        return c;
    return (a->x > b->x) - (a->x < b->x);
}

/* Line chart: one block per series (+ the parameters that vary but are not
 * on the x axis), in chart order, rows x, median, ci_low, ci_high,
 * server-bound (1 when the local server was late, results.h); the x values
 * of the chart into xs ("100 300 1000"). Returns the number of points. */
static size_t line_data(const struct gb_rundata *rd, const struct styles *sty, const char *workload,
                        unsigned x, enum gb_metric m, struct gb_buf *out, struct chart_lts *lts,
                        struct gb_buf *xs, struct coverage *cov)
{
    struct point *el = gb_xcalloc(rd->nsums + 1, sizeof *el);
    size_t nel = 0;
    for (size_t i = 0; i < rd->nsums; i++)
        if (strcmp(rd->sums[i].cell.workload, workload) == 0 && usable(metric(&rd->sums[i], m)) &&
            gb_cell_axis(&rd->sums[i].cell, x) > 0) {
            el[nel].s = &rd->sums[i];
            el[nel].order = series_index(sty, &rd->sums[i].cell);
            el[nel].x = gb_cell_axis(&rd->sums[i].cell, x);
            nel++;
        }
    /* The labels show the other work axes that vary. */
    unsigned shown = 0;
    for (size_t i = 1; i < nel; i++)
        for (int a = 0; a < GB_NAXES; a++)
            if (gb_cell_get(&el[i].s->cell, a) != gb_cell_get(&el[0].s->cell, a))
                shown |= 1u << a;
    shown &= GB_AX_WORK & ~GB_AX_SERIES & ~x;
    struct gb_buf lb;
    gb_buf_init(&lb);
    for (size_t i = 0; i < nel; i++) {
        gb_cell_series(&el[i].s->cell, el[i].label, sizeof el[i].label);
        lb.len = 0;
        gb_buf_puts(&lb, el[i].label);
        gb_cell_params(&el[i].s->cell, shown, &lb);
        snprintf(el[i].label, sizeof el[i].label, "%s", gb_buf_str(&lb));
    }
    gb_buf_free(&lb);
    qsort(el, nel, sizeof *el, point_cmp);
    for (size_t i = 0; i < nel; i++) {
        if (i == 0 || strcmp(el[i].label, el[i - 1].label) != 0) {
            if (i)
                gb_buf_puts(out, "\n\n");
            chart_lt_add(lts, el[i].order < sty->n ? sty->s[el[i].order].lt : LT_GREEN);
            quoted(out, el[i].label);
            gb_buf_puts(out, " median ci_low ci_high server_bound\n");
        }
        const struct gb_stats *st = metric(el[i].s, m);
        double lo, hi;
        interval(st, &lo, &hi);
        coverage_add(cov, st->ci_level);
        gb_buf_printf(out, "%ld %.6g %.6g %.6g %d\n", el[i].x, st->median, lo, hi, el[i].s->server_bound);
    }
    if (nel)
        gb_buf_puts(out, "\n");
    /* The distinct x values, increasing. */
    long *v = gb_xcalloc(nel + 1, sizeof *v);
    size_t nv = 0;
    for (size_t i = 0; i < nel; i++) {
        size_t j = 0;
        while (j < nv && v[j] < el[i].x)
            j++;
        if (j < nv && v[j] == el[i].x)
            continue;
        memmove(v + j + 1, v + j, (nv - j) * sizeof *v);
        v[j] = el[i].x;
        nv++;
    }
    for (size_t j = 0; j < nv; j++)
        gb_buf_printf(xs, "%s%ld", j ? " " : "", v[j]);
    free(v);
    free(el);
    return nel;
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

/* Bar chart: one bar per series, its largest n, in chart order; rows label,
 * median, ci_low, ci_high, then the floor the cell measured beside it
 * (results.h): its median, ci_low, ci_high, the cell's multiple of it
 * (of_floor's median) and its name; 0 and "" without one. */
static size_t bar_data(const struct gb_rundata *rd, const struct styles *sty, const char *workload,
                       struct gb_buf *out, struct chart_lts *lts, struct coverage *cov)
{
    const struct gb_summary **best = gb_xcalloc(sty->n + 1, sizeof *best);
    for (size_t i = 0; i < rd->nsums; i++) {
        const struct gb_summary *s = &rd->sums[i];
        if (strcmp(s->cell.workload, workload) != 0 || !usable(&s->ns))
            continue;
        size_t k = series_index(sty, &s->cell);
        if (k < sty->n && (best[k] == NULL || s->cell.n > best[k]->cell.n))
            best[k] = s;
    }
    size_t rows = 0;
    for (size_t k = 0; k < sty->n; k++) {
        const struct gb_summary *s = best[k];
        if (s == NULL)
            continue;
        const char *series = sty->s[k].label;
        quoted(out, strncmp(series, "green ", 6) == 0 ? series + 6 : series);
        double lo, hi;
        interval(&s->ns, &lo, &hi);
        coverage_add(cov, s->ns.ci_level);
        gb_buf_printf(out, " %.6g %.6g %.6g", s->ns.median, lo, hi);
        if (usable(&s->floor_ns) && s->of_floor.n) {
            interval(&s->floor_ns, &lo, &hi);
            coverage_add(cov, s->floor_ns.ci_level);
            gb_buf_printf(out, " %.6g %.6g %.6g %.6g ", s->floor_ns.median, lo, hi, s->of_floor.median);
            quoted(out, s->floor_name);
            gb_buf_puts(out, "\n");
        } else {
            gb_buf_puts(out, " 0 0 0 0 \"\"\n"); /* not NaN: gnuplot would drop the row */
        }
        chart_lt_add(lts, sty->s[k].lt);
        rows++;
    }
    free(best);
    return rows;
}

/* Is a the better headline cell of its workload than b: larger n, then k. */
static bool headline_better(const struct gb_cell *a, const struct gb_cell *b)
{
    if (a->n != b->n)
        return a->n > b->n;
    return a->concurrency > b->concurrency;
}

/* The overview's table: a row per workload at its headline parameters, and
 * in it the ratio (and its interval) of every series compared with threads
 * there. Each cell stands in its own series: a green cell of a workload
 * without a loop ("green asm") is a series of its own, not one of every
 * "green asm/<loop>". */
struct overview {
    size_t ns;         /* the series of the run (styles) */
    char (*labels)[200]; /* a row's workload and headline parameters */
    double (*vals)[3];   /* a row's ratio, low, high per series: vals[row * ns + series] */
    size_t nrows;
};

/* Workload wk's row at its headline parameters (the largest n, then k,
 * with a comparison), kept when some series has a ratio. The flag axes
 * (keep-alive, TLS) belong to the series: each mode is a bar of its own. */
static void overview_row(const struct gb_rundata *rd, const struct styles *sty,
                         const struct gb_workload *wk, struct overview *ov, struct coverage *cov)
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
    double(*v)[3] = &ov->vals[ov->nrows * ov->ns];
    for (size_t j = 0; j < ov->ns; j++)
        v[j][0] = v[j][1] = v[j][2] = NAN;
    size_t filled = 0;
    for (size_t i = 0; i < rd->nsums; i++) {
        const struct gb_summary *sm = &rd->sums[i];
        if (strcmp(sm->cell.workload, wname) != 0 ||
            (!any_n && !gb_cell_same(&sm->cell, head, GB_AX_WORK & ~GB_AX_SERIES)) || !usable(&sm->ns) ||
            !sm->ratio_ok || !isfinite(sm->ratio) || sm->ratio <= 0)
            continue;
        size_t j = series_index(sty, &sm->cell);
        if (j >= ov->ns || isfinite(v[j][0]))
            continue; /* the first cell of a series in plan order */
        v[j][0] = sm->ratio;
        v[j][1] = isfinite(sm->ratio_lo) && sm->ratio_lo > 0 ? sm->ratio_lo : sm->ratio;
        v[j][2] = isfinite(sm->ratio_hi) && sm->ratio_hi >= sm->ratio ? sm->ratio_hi : sm->ratio;
        coverage_add(cov, sm->ratio_cov);
        filled++;
    }
    if (filled == 0)
        return;
    struct gb_buf lb;
    gb_buf_init(&lb);
    gb_buf_puts(&lb, wname);
    gb_cell_params(head, (any_n ? 0 : GB_AX_N) | GB_AX_CONCURRENCY, &lb);
    snprintf(ov->labels[ov->nrows], sizeof ov->labels[0], "%s", gb_buf_str(&lb));
    gb_buf_free(&lb);
    ov->nrows++;
}

/* overview.dat: the bars of a row side by side, a gap between rows, only
 * the series that row has. Block 0: each row's label at the middle of its
 * group; then a block per series with a ratio somewhere, in chart order:
 * x, ratio, low, high, the row's label. */
static void overview_write(const struct overview *ov, const struct styles *sty, struct gb_buf *out,
                           struct chart_lts *lts)
{
    double *x = gb_xcalloc(ov->nrows * ov->ns + 1, sizeof *x);
    double pos = 0;
    gb_buf_puts(out, "# x of the middle of each workload's group of bars, the workload\n");
    for (size_t r = 0; r < ov->nrows; r++) {
        double first = pos;
        for (size_t j = 0; j < ov->ns; j++)
            if (isfinite(ov->vals[r * ov->ns + j][0]))
                x[r * ov->ns + j] = pos++;
        gb_buf_printf(out, "%g ", (first + pos - 1) / 2);
        quoted(out, ov->labels[r]);
        gb_buf_puts(out, "\n");
        pos += 1; /* the gap */
    }
    for (size_t j = 0; j < ov->ns; j++) {
        bool any = false;
        for (size_t r = 0; r < ov->nrows; r++)
            any |= isfinite(ov->vals[r * ov->ns + j][0]);
        if (!any)
            continue;
        gb_buf_puts(out, "\n\n");
        quoted(out, sty->s[j].label);
        gb_buf_puts(out, " ratio low high workload\n");
        for (size_t r = 0; r < ov->nrows; r++) {
            const double *v = ov->vals[r * ov->ns + j];
            if (!isfinite(v[0]))
                continue;
            gb_buf_printf(out, "%g %.6g %.6g %.6g ", x[r * ov->ns + j], v[0], v[1], v[2]);
            quoted(out, ov->labels[r]);
            gb_buf_puts(out, "\n");
        }
        chart_lt_add(lts, sty->s[j].lt);
    }
    gb_buf_puts(out, "\n");
    free(x);
}

static size_t overview_data(const struct gb_rundata *rd, const struct styles *sty, struct gb_buf *out,
                            struct chart_lts *lts, struct coverage *cov)
{
    struct overview ov = { .ns = sty->n };
    if (ov.ns == 0)
        return 0;
    ov.labels = gb_xcalloc(gb_nworkloads, sizeof *ov.labels);
    ov.vals = gb_xcalloc(gb_nworkloads * ov.ns, sizeof *ov.vals);
    for (size_t w = 0; w < gb_nworkloads; w++)
        overview_row(rd, sty, &gb_workloads[w], &ov, cov);
    if (ov.nrows)
        overview_write(&ov, sty, out, lts);
    free(ov.labels);
    free(ov.vals);
    return ov.nrows;
}

/* The first throughput workload with results: each series' ops (*op) per
 * second and its client CPU time per op (µs) at the headline
 * parameters, in the headline cell's flag modes only (two bars per series
 * and mode would not fit; the report's "What a request costs the client"
 * table has every mode), with the interval of each median, the cores it
 * kept busy, and whether it was server-bound; in chart order. */
static size_t efficiency_data(const struct gb_rundata *rd, const struct styles *sty, struct gb_buf *out,
                              struct chart_lts *lts, struct coverage *cov, char *label, size_t labellen,
                              const char **op)
{
    for (size_t w = 0; w < gb_nworkloads; w++) {
        const char *wname = gb_workloads[w].name;
        if (gb_workloads[w].metric != GB_METRIC_OPS_PER_S)
            continue;
        const struct gb_cell *head = NULL;
        for (size_t i = 0; i < rd->nsums; i++) {
            const struct gb_summary *s = &rd->sums[i];
            if (strcmp(s->cell.workload, wname) != 0 || !usable(&s->ops_s) || !usable(&s->cpu_ns_op))
                continue;
            if (head == NULL || headline_better(&s->cell, head))
                head = &s->cell;
        }
        if (head == NULL)
            continue;
        struct gb_cell h = *head;
        size_t rows = 0;
        for (size_t k = 0; k < sty->n; k++)
            for (size_t i = 0; i < rd->nsums; i++) {
                const struct gb_summary *s = &rd->sums[i];
                if (strcmp(s->cell.workload, wname) != 0 || !gb_cell_same(&s->cell, &h, GB_AX_SAME_WORK) ||
                    !usable(&s->ops_s) || !usable(&s->cpu_ns_op) || series_index(sty, &s->cell) != k)
                    continue;
                double lo, hi, clo, chi;
                interval(&s->ops_s, &lo, &hi);
                interval(&s->cpu_ns_op, &clo, &chi);
                coverage_add(cov, s->ops_s.ci_level);
                coverage_add(cov, s->cpu_ns_op.ci_level);
                quoted(out, sty->s[k].label);
                gb_buf_printf(out, " %.6g %.6g %.6g %.6g %.6g %.6g %.4g %d\n", s->ops_s.median, lo, hi,
                              s->cpu_ns_op.median / 1e3, clo / 1e3, chi / 1e3,
                              s->cores.n ? s->cores.median : 0.0, s->server_bound);
                chart_lt_add(lts, sty->s[k].lt);
                rows++;
                break;
            }
        /* The workload and its parameters, for the title. */
        struct gb_buf params;
        gb_buf_init(&params);
        gb_cell_params(&h, GB_AX_N | GB_AX_CONCURRENCY | GB_AX_DELAY, &params);
        snprintf(label, labellen, "%s%s", wname, gb_buf_str(&params));
        gb_buf_free(&params);
        *op = gb_workloads[w].op;
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

/* name = 'value' with a comment, a line of a chart's preamble. */
static void gp_var(struct gb_buf *b, const char *name, const char *value, const char *comment)
{
    gb_buf_printf(b, "%s = ", name);
    gp_string(b, value);
    if (comment)
        gb_buf_printf(b, "   # %s", comment);
    gb_buf_puts(b, "\n");
}

/* One chart's files: the variables of its preamble, its line styles, its
 * data and, for some, a second data file. */
struct chart {
    struct gb_buf vars, data, extra;
    struct chart_lts lts;
    struct coverage cov;
};

static void chart_init(struct chart *c)
{
    memset(c, 0, sizeof *c);
    gb_buf_init(&c->vars);
    gb_buf_init(&c->data);
    gb_buf_init(&c->extra);
    gb_buf_init(&c->lts.text);
    coverage_init(&c->cov);
}

static void chart_free(struct chart *c)
{
    gb_buf_free(&c->vars);
    gb_buf_free(&c->data);
    gb_buf_free(&c->extra);
    gb_buf_free(&c->lts.text);
}

/* The chart's interval note ("error bars: interval of the <what> ...") into
 * its preamble. */
static void chart_note(struct chart *c, const char *what)
{
    struct gb_buf note;
    gb_buf_init(&note);
    coverage_note(&c->cov, what, &note);
    gp_var(&c->vars, "interval_note", gb_buf_str(&note), NULL);
    gb_buf_free(&note);
}

static int write_chart(const char *pdir, const char *kind, const char *subtitle, const struct chart *c,
                       const char *extra_name)
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
    gp_var(&gp, "subtitle", subtitle, NULL);
    if (c->lts.text.len)
        gp_var(&gp, "series_lt", gb_buf_str(&c->lts.text),
               "line style of each series, in order (style.gp)");
    gb_buf_puts(&gp, gb_buf_str(&c->vars));
    gb_buf_puts(&gp, "\n");
    gb_buf_puts(&gp, tmpl);
    free(tmpl);
    char *path = gb_xasprintf("%s/%s.gp", pdir, kind);
    int rc = gb_write_file(path, gp.data, gp.len);
    free(path);
    gb_buf_free(&gp);
    if (rc == 0) {
        path = gb_xasprintf("%s/%s.dat", pdir, kind);
        rc = gb_write_file(path, gb_buf_str(&c->data), c->data.len);
        free(path);
    }
    if (rc == 0 && extra_name) {
        path = gb_xasprintf("%s/%s", pdir, extra_name);
        rc = gb_write_file(path, gb_buf_str(&c->extra), c->extra.len);
        free(path);
    }
    return rc;
}

/* Workload wk's own chart into pdir: true when it had data and was
 * written. */
static bool workload_chart(const struct gb_rundata *rd, const struct styles *sty,
                           const struct gb_workload *wk, const char *pdir, const char *subtitle)
{
    struct chart c;
    chart_init(&c);
    char *ideal_file = wk->plot.ideal ? gb_xasprintf("%s_ideal.dat", wk->plot.kind) : NULL;
    size_t points;
    if (wk->plot.chart == GB_CHART_BARS) {
        points = bar_data(rd, sty, wk->name, &c.data, &c.lts, &c.cov);
    } else {
        struct gb_buf xs;
        gb_buf_init(&xs);
        if (wk->plot.ideal)
            ideal_data(rd, wk->name, wk->plot.x, wk->plot.ideal, &c.extra);
        points = line_data(rd, sty, wk->name, wk->plot.x, wk->metric, &c.data, &c.lts, &xs, &c.cov);
        gp_var(&c.vars, "x_values", gb_buf_str(&xs), "the x of the points, increasing");
        gb_buf_free(&xs);
    }
    chart_note(&c, "median");
    bool written = points > 0 && write_chart(pdir, wk->plot.kind, subtitle, &c, ideal_file) == 0;
    free(ideal_file);
    chart_free(&c);
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

static void unlink_in(const char *pdir, const char *name, const char *ext)
{
    char *path = gb_xasprintf("%s/%s%s", pdir, name, ext);
    if (unlink(path) != 0 && errno != ENOENT)
        fprintf(stderr, "greenbench: cannot remove %s: %s\n", path, strerror(errno));
    free(path);
}

/* Every file of pdir that gb_write_plots writes, for every chart it can
 * draw: a chart without data this time leaves no old picture behind. Files
 * of other names are left alone. */
static void remove_owned(const char *pdir)
{
    static const char *const exts[] = { ".svg", ".png", ".gp", ".dat" };
    static const char *const own[] = { "overview", "efficiency" };
    for (size_t w = 0; w < gb_nworkloads + 2; w++) {
        const char *kind = w < gb_nworkloads ? gb_workloads[w].plot.kind : own[w - gb_nworkloads];
        if (kind == NULL || (w < gb_nworkloads && gb_workloads[w].plot.chart == GB_CHART_NONE))
            continue;
        for (size_t e = 0; e < sizeof exts / sizeof exts[0]; e++)
            unlink_in(pdir, kind, exts[e]);
        unlink_in(pdir, kind, "_ideal.dat");
    }
    unlink_in(pdir, "style", ".gp");
    unlink_in(pdir, "gnuplot", ".log");
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
    remove_owned(pdir);
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

    struct chart c;
    chart_init(&c);
    if (overview_data(rd, &sty, &c.data, &c.lts, &c.cov) > 0) {
        chart_note(&c, "ratio");
        if (write_chart(pdir, "overview", subtitle, &c, NULL) == 0)
            kinds[nk++] = "overview";
    }
    chart_free(&c);

    char label[256];
    chart_init(&c);
    const char *op = "op";
    if (efficiency_data(rd, &sty, &c.data, &c.lts, &c.cov, label, sizeof label, &op) > 0) {
        gp_var(&c.vars, "workload_label", label, NULL);
        gp_var(&c.vars, "op", op, NULL);
        chart_note(&c, "median");
        if (write_chart(pdir, "efficiency", subtitle, &c, NULL) == 0)
            kinds[nk++] = "efficiency";
    }
    chart_free(&c);
    styles_free(&sty);

    int drawn = want_draw && nk > 0 ? draw_all(pdir, kinds, nk) : 0;
    free(kinds);
    free(pdir);
    return drawn;
}
