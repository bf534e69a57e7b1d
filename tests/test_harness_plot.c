/* tests/test_harness_plot.c: the plot stage (harness/plot.h) on small run
 * directories written here: a line style of its own for every series, the
 * overview's bars (each cell once), no stale file left in plots/, the
 * efficiency chart's intervals, and, where gnuplot is installed, the
 * scripts drawing without a word on gnuplot.log and num()'s numbers. */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cell.h"
#include "json.h"
#include "plot.h"
#include "process.h"
#include "results.h"
#include "util.h"

static char tmp[256];

static int suite_init(void)
{
    /* The POSIX locale, as under cron or a bare Slurm job: gnuplot's log
     * must stay empty there too (the gnuplot_draws tests). */
    setenv("LC_ALL", "C", 1);
    snprintf(tmp, sizeof tmp, "/tmp/greenbench-plot-XXXXXX");
    return mkdtemp(tmp) ? 0 : -1;
}

static int suite_clean(void)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    return system(cmd) == 0 ? 0 : -1;
}

/* One cell of a test run: its parameters (-1: none) and its median ns per
 * op; five counted repetitions spread around it, so that intervals have a
 * width. */
struct spec {
    const char *workload, *impl, *sw, *loop;
    long n, cpus, delay_ms, size;
    double ns;
    int flags; /* FLAG_KEEPALIVE, FLAG_TLS: those flag axes on (else not given). */
};
enum { FLAG_KEEPALIVE = 1, FLAG_TLS = 2 };

/* The floor a green switch cell measures beside its backend, as a real one
 * does (docs/cell-protocol.md): its name and median ns per op, spread the
 * other way than the backend's, so that the repetitions' ratios differ. */
static const struct {
    const char *sw, *name;
    double ns;
} floors[] = { { "asm", "regs+fp", 5.5 }, { "asm-nofpu", "regs", 3.2 } };

static void write_cell(FILE *f, const struct spec *s)
{
    struct gb_cell c;
    gb_cell_init(&c);
    snprintf(c.workload, sizeof c.workload, "%s", s->workload);
    snprintf(c.impl, sizeof c.impl, "%s", s->impl);
    snprintf(c.sw, sizeof c.sw, "%s", s->sw ? s->sw : "");
    snprintf(c.loop, sizeof c.loop, "%s", s->loop ? s->loop : "");
    c.n = s->n;
    c.cpus = s->cpus;
    c.delay_ms = s->delay_ms;
    c.size = s->size;
    if (s->flags & FLAG_KEEPALIVE)
        c.keepalive = 1;
    if (s->flags & FLAG_TLS)
        c.tls = 1;
    gb_cell_make_key(&c);
    for (int rep = 0; rep <= 5; rep++) {
        double ns = s->ns * (1 + 0.02 * (rep - 3)), ops = (double)s->n;
        json_t *res = json_object();
        json_object_set_new(res, "ok", json_true());
        json_object_set_new(res, "ns_per_op", json_real(ns));
        json_object_set_new(res, "wall_ns", json_real(ns * ops));
        json_object_set_new(res, "ops", json_real(ops));
        json_object_set_new(res, "cpu_ns", json_real(ns * ops * (0.8 + 0.01 * rep)));
        for (size_t k = 0; k < sizeof floors / sizeof floors[0]; k++) {
            if (strcmp(s->workload, "switch") != 0 || !s->sw || strcmp(s->sw, floors[k].sw) != 0)
                continue;
            json_object_set_new(res, "floor", json_string(floors[k].name));
            json_object_set_new(res, "floor_ns_per_op", json_real(floors[k].ns * (1 - 0.01 * (rep - 3))));
        }
        json_t *rec = json_object();
        json_object_set_new(rec, "schema", json_integer(1));
        json_object_set_new(rec, "cell", json_string(c.key));
        json_object_set_new(rec, "rep", json_integer(rep));
        json_object_set_new(rec, "status", json_string("ok"));
        json_object_set_new(rec, "params", gb_cell_to_json(&c));
        json_object_set_new(rec, "result", res);
        char *line = json_dumps(rec, GB_JSON_LINE);
        fprintf(f, "%s\n", line);
        free(line);
        json_decref(rec);
    }
}

/* A run directory tmp/name with cells.jsonl of the n specs (no meta.json),
 * loaded into *rd. */
static char *make_run(const char *name, const struct spec *specs, size_t n, struct gb_rundata *rd)
{
    char *dir = gb_xasprintf("%s/%s", tmp, name);
    CU_ASSERT_EQUAL_FATAL(gb_mkdir_p(dir), 0);
    char *path = gb_xasprintf("%s/cells.jsonl", dir);
    FILE *f = fopen(path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    for (size_t i = 0; i < n; i++)
        write_cell(f, &specs[i]);
    fclose(f);
    free(path);
    char err[256];
    int rc = gb_rundata_load(dir, rd, err, sizeof err);
    if (rc != 0)
        fprintf(stderr, "\n  %s\n", err);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    return dir;
}

/* The switch workload at the default matrix's shape (threads on 1 and 2
 * CPUs, green backends without a loop, the peers with Go on 1 and 2), spawn
 * with two loops and plain Go, joinall for the efficiency chart. */
static const struct spec mixed[] = {
    { "switch", "threads", NULL, NULL, 10000, 1, -1, -1, 2800, 0 },
    { "switch", "threads", NULL, NULL, 10000, 2, -1, -1, 9400, 0 },
    { "switch", "green", "asm", NULL, 200000, -1, -1, -1, 5.8, 0 },
    { "switch", "green", "asm-nofpu", NULL, 200000, -1, -1, -1, 3.6, 0 },
    { "switch", "gevent", NULL, NULL, 10000, -1, -1, -1, 146, 0 },
    { "switch", "go", NULL, NULL, 10000, 1, -1, -1, 172, 0 },
    { "switch", "go", NULL, NULL, 10000, 2, -1, -1, 145, 0 },
    { "switch", "st", NULL, NULL, 10000, -1, -1, -1, 19, 0 },
    { "spawn", "threads", NULL, NULL, 100, -1, -1, -1, 150000, 0 },
    { "spawn", "threads", NULL, NULL, 1000, -1, -1, -1, 160000, 0 },
    { "spawn", "green", "asm", "libev", 100, -1, -1, -1, 180, 0 },
    { "spawn", "green", "asm", "libev", 1000, -1, -1, -1, 11, 0 },
    { "spawn", "green", "asm", "libuv", 100, -1, -1, -1, 330, 0 },
    { "spawn", "green", "asm", "libuv", 1000, -1, -1, -1, 10, 0 },
    { "spawn", "go", NULL, NULL, 1000, -1, -1, -1, 730, 0 },
    { "joinall", "threads", NULL, NULL, 100, -1, 10, 1024, 300000, 0 },
    { "joinall", "green", "asm", "libev", 100, -1, 10, 1024, 150000, 0 },
    { "joinall", "go", NULL, NULL, 100, -1, 10, 1024, 250000, 0 },
};
#define NMIXED (sizeof mixed / sizeof mixed[0])

static char *slurp(const char *dir, const char *name)
{
    char *path = gb_xasprintf("%s/plots/%s", dir, name), *text;
    int rc = gb_read_file(path, &text, NULL);
    free(path);
    return rc == 0 ? text : NULL;
}

static bool exists_in(const char *dir, const char *name)
{
    char *path = gb_xasprintf("%s/plots/%s", dir, name);
    struct stat st;
    bool yes = stat(path, &st) == 0;
    free(path);
    return yes;
}

/* The line styles of series_lt in a chart's script: their number, or -1
 * when there is none. */
static int series_lt(const char *gp, int *lt, int max)
{
    const char *p = gp ? strstr(gp, "\nseries_lt = '") : NULL;
    if (p == NULL)
        return -1;
    p += strlen("\nseries_lt = '");
    int n = 0;
    while (*p && *p != '\'' && n < max) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p)
            return -1;
        lt[n++] = (int)v;
        p = end + strspn(end, " ");
    }
    return n;
}

static bool all_distinct(const int *v, int n)
{
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            if (v[i] == v[j])
                return false;
    return true;
}

/* The titles of a chart's data blocks (the quoted first line of each block
 * after the first blank-line pair; with first, also the first block's), in
 * order, into titles. */
static int block_titles(const char *dat, bool first, char titles[][64], int max)
{
    int n = 0;
    bool at_start = first;
    for (const char *p = dat; p && *p && n < max;) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        if (at_start && len > 0 && p[0] == '"') {
            const char *q = memchr(p + 1, '"', len - 1);
            if (q)
                snprintf(titles[n++], 64, "%.*s", (int)(q - p - 1), p + 1);
        }
        if (len > 0)
            at_start = false;
        if (len == 0 && p != dat && p[-1] == '\n' && p - 1 != dat && p[-2] == '\n')
            at_start = true; /* two blank lines: a new block */
        p = eol ? eol + 1 : p + len;
    }
    return n;
}

static int title_index(char titles[][64], int n, const char *t)
{
    for (int i = 0; i < n; i++)
        if (strcmp(titles[i], t) == 0)
            return i;
    return -1;
}

static void test_every_series_has_its_own_style(void)
{
    struct gb_rundata rd;
    char *dir = make_run("styles", mixed, NMIXED, &rd);
    CU_ASSERT_EQUAL(gb_write_plots(&rd, false), 0);
    /* The switch bars: threads cpus=1 and 2, go cpus=1 and 2 apart. */
    char *gp = slurp(dir, "switch.gp"), *dat = slurp(dir, "switch.dat");
    int lt[64];
    int n = series_lt(gp, lt, 64);
    CU_ASSERT_EQUAL(n, 8);
    CU_ASSERT_TRUE(all_distinct(lt, n));
    CU_ASSERT_PTR_NOT_NULL(dat && strstr(dat, "\"go cpus=1\""));
    CU_ASSERT_PTR_NOT_NULL(dat && strstr(dat, "\"go cpus=2\""));
    CU_ASSERT_PTR_NOT_NULL(dat && strstr(dat, "\"threads cpus=2\""));
    free(gp);
    free(dat);
    /* The overview: go, go cpus=1 and go cpus=2 each in a style of its own,
     * and every series in the style it has in the other charts. */
    gp = slurp(dir, "overview.gp");
    dat = slurp(dir, "overview.dat");
    char titles[64][64];
    int nt = block_titles(dat, false, titles, 64);
    n = series_lt(gp, lt, 64);
    CU_ASSERT_EQUAL(n, nt);
    CU_ASSERT_TRUE(all_distinct(lt, n));
    int go = title_index(titles, nt, "go"), go1 = title_index(titles, nt, "go cpus=1"),
        go2 = title_index(titles, nt, "go cpus=2"), libev = title_index(titles, nt, "green asm/libev");
    CU_ASSERT_TRUE(go >= 0 && go1 >= 0 && go2 >= 0 && libev >= 0);
    char *sgp = slurp(dir, "spawn.gp"), *sdat = slurp(dir, "spawn.dat");
    char stitles[64][64];
    int snt = block_titles(sdat, true, stitles, 64), slt[64];
    int sn = series_lt(sgp, slt, 64);
    CU_ASSERT_EQUAL(sn, snt);
    CU_ASSERT_TRUE(all_distinct(slt, sn));
    int sgo = title_index(stitles, snt, "go"), slibev = title_index(stitles, snt, "green asm/libev");
    CU_ASSERT_TRUE(sgo >= 0 && slibev >= 0);
    if (go >= 0 && sgo >= 0 && libev >= 0 && slibev >= 0 && n > 0 && sn > 0) {
        CU_ASSERT_EQUAL(lt[go], slt[sgo]);
        CU_ASSERT_EQUAL(lt[libev], slt[slibev]);
    }
    /* Threads first, then green threads, then peers. */
    CU_ASSERT_EQUAL(title_index(stitles, snt, "threads"), 0);
    CU_ASSERT_EQUAL(sgo, snt - 1);
    free(sgp);
    free(sdat);
    free(gp);
    free(dat);
    gb_rundata_free(&rd);
    free(dir);
}

static void test_overview_has_each_cell_once(void)
{
    struct gb_rundata rd;
    char *dir = make_run("overview", mixed, NMIXED, &rd);
    gb_write_plots(&rd, false);
    char *dat = slurp(dir, "overview.dat");
    CU_ASSERT_PTR_NOT_NULL_FATAL(dat);
    /* Rows: x ratio low high "workload", under their series' title. */
    char titles[64][64], current[64] = "";
    int nswitch = 0, per_title[64] = { 0 };
    int nt = block_titles(dat, false, titles, 64);
    char *save = NULL, *copy = gb_xstrdup(dat);
    for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == '"') {
            snprintf(current, sizeof current, "%.*s", (int)strcspn(line + 1, "\""), line + 1);
            continue;
        }
        size_t len = strlen(line);
        if (current[0] && len > 9 && strcmp(line + len - 9, " \"switch\"") == 0) {
            nswitch++;
            int t = title_index(titles, nt, current);
            CU_ASSERT_TRUE(t >= 0);
            if (t >= 0)
                per_title[t]++;
            CU_ASSERT_PTR_NULL(strchr(current, '/')); /* no loop column for switch */
            double x, r, lo, hi;
            CU_ASSERT_EQUAL(sscanf(line, "%lf %lf %lf %lf", &x, &r, &lo, &hi), 4);
            CU_ASSERT_TRUE(lo <= r && r <= hi && r > 0);
        }
    }
    free(copy);
    /* green asm, green asm-nofpu, gevent, go cpus=1, go cpus=2, st: once each. */
    CU_ASSERT_EQUAL(nswitch, 6);
    for (int t = 0; t < nt; t++)
        CU_ASSERT_TRUE(per_title[t] <= 1);
    int asm_ = title_index(titles, nt, "green asm"), nofpu = title_index(titles, nt, "green asm-nofpu");
    CU_ASSERT_TRUE(asm_ >= 0 && per_title[asm_ >= 0 ? asm_ : 0] == 1);
    CU_ASSERT_TRUE(nofpu >= 0 && per_title[nofpu >= 0 ? nofpu : 0] == 1);
    /* Titles say what the interval is, and no level it may not have. */
    char *gp = slurp(dir, "overview.gp");
    CU_ASSERT_PTR_NOT_NULL(gp && strstr(gp, "interval_note = 'error bars: interval of the ratio"));
    CU_ASSERT_PTR_NULL(gp ? strstr(gp, "95%") : NULL);
    free(gp);
    free(dat);
    gb_rundata_free(&rd);
    free(dir);
}

/* The flag axes belong to the series: the overview has a bar for every
 * mode at the headline parameters, not only the first mode's; the
 * efficiency chart keeps to the headline cell's modes (every mode's bars
 * would not fit). */
static void test_flag_modes_each_a_bar(void)
{
    static const struct spec modes[] = {
        { "pool", "threads", NULL, NULL, 300, -1, 5, 1024, 2e6, 0 },
        { "pool", "green", "asm", "libev", 300, -1, 5, 1024, 1e6, 0 },
        { "pool", "threads", NULL, NULL, 300, -1, 5, 1024, 3e6, FLAG_KEEPALIVE | FLAG_TLS },
        { "pool", "green", "asm", "libev", 300, -1, 5, 1024, 1.5e6, FLAG_KEEPALIVE | FLAG_TLS },
    };
    struct gb_rundata rd;
    char *dir = make_run("modes", modes, sizeof modes / sizeof modes[0], &rd);
    gb_write_plots(&rd, false);
    char *ov = slurp(dir, "overview.dat"), *eff = slurp(dir, "efficiency.dat");
    CU_ASSERT_PTR_NOT_NULL_FATAL(ov);
    CU_ASSERT_PTR_NOT_NULL_FATAL(eff);
    CU_ASSERT_PTR_NOT_NULL(strstr(ov, "\"green asm/libev\" ratio"));
    CU_ASSERT_PTR_NOT_NULL(strstr(ov, "\"green asm/libev keep-alive tls\" ratio"));
    CU_ASSERT_PTR_NOT_NULL(strstr(eff, "\"green asm/libev\" "));
    CU_ASSERT_PTR_NULL(strstr(eff, "\"threads keep-alive tls\" "));
    free(ov);
    free(eff);
    gb_rundata_free(&rd);
    free(dir);
}

static void touch(const char *dir, const char *name)
{
    char *path = gb_xasprintf("%s/plots/%s", dir, name);
    CU_ASSERT_EQUAL(gb_write_file(path, "old", 3), 0);
    free(path);
}

static void test_stale_files_are_removed(void)
{
    static const struct spec spawn_only[] = {
        { "spawn", "threads", NULL, NULL, 100, -1, -1, -1, 150000, 0 },
        { "spawn", "green", "asm", "libev", 100, -1, -1, -1, 180, 0 },
    };
    struct gb_rundata rd;
    char *dir = make_run("stale", spawn_only, 2, &rd);
    char *pdir = gb_xasprintf("%s/plots", dir);
    CU_ASSERT_EQUAL(gb_mkdir_p(pdir), 0);
    const char *stale[] = {
        "switch.svg", "pool.png",     "pool.gp",   "joinall_ideal.dat", "efficiency.svg",
        "memory.dat", "overview.png", "spawn.svg", "spawn.png",         "gnuplot.log",
        NULL
    };
    for (size_t i = 0; stale[i]; i++)
        touch(dir, stale[i]);
    touch(dir, "notes.txt"); /* not the plot stage's */
    CU_ASSERT_EQUAL(gb_write_plots(&rd, false), 0);
    for (size_t i = 0; stale[i]; i++) {
        CU_ASSERT_FALSE(exists_in(dir, stale[i]));
        if (exists_in(dir, stale[i]))
            fprintf(stderr, "\n  plots/%s is still there\n", stale[i]);
    }
    CU_ASSERT_TRUE(exists_in(dir, "notes.txt"));
    CU_ASSERT_TRUE(exists_in(dir, "spawn.gp"));
    CU_ASSERT_TRUE(exists_in(dir, "spawn.dat"));
    CU_ASSERT_TRUE(exists_in(dir, "overview.dat"));
    CU_ASSERT_TRUE(exists_in(dir, "style.gp"));
    CU_ASSERT_FALSE(exists_in(dir, "switch.gp"));
    gb_rundata_free(&rd);
    free(pdir);
    free(dir);

    /* A run without results: no chart at all, and none of the old ones. */
    char *empty = gb_xasprintf("%s/empty", tmp);
    CU_ASSERT_EQUAL_FATAL(gb_mkdir_p(empty), 0);
    char *path = gb_xasprintf("%s/cells.jsonl", empty);
    const char *failed = "{\"schema\":1,\"cell\":\"switch threads cpus=1 n=10\",\"rep\":1,"
                         "\"status\":\"failed\",\"params\":{\"workload\":\"switch\","
                         "\"impl\":\"threads\",\"n\":10,\"cpus\":1},\"result\":null}\n";
    CU_ASSERT_EQUAL(gb_write_file(path, failed, strlen(failed)), 0);
    free(path);
    char err[256];
    CU_ASSERT_EQUAL_FATAL(gb_rundata_load(empty, &rd, err, sizeof err), 0);
    pdir = gb_xasprintf("%s/plots", empty);
    CU_ASSERT_EQUAL(gb_mkdir_p(pdir), 0);
    touch(empty, "switch.svg");
    touch(empty, "overview.svg");
    CU_ASSERT_EQUAL(gb_write_plots(&rd, true), 0);
    CU_ASSERT_FALSE(exists_in(empty, "switch.svg"));
    CU_ASSERT_FALSE(exists_in(empty, "overview.svg"));
    CU_ASSERT_FALSE(exists_in(empty, "switch.gp"));
    gb_rundata_free(&rd);
    free(pdir);
    free(empty);
}

static void test_efficiency_has_intervals(void)
{
    struct gb_rundata rd;
    char *dir = make_run("efficiency", mixed, NMIXED, &rd);
    gb_write_plots(&rd, false);
    char *dat = slurp(dir, "efficiency.dat");
    CU_ASSERT_PTR_NOT_NULL_FATAL(dat);
    int rows = 0, wide = 0;
    char *save = NULL;
    for (char *line = strtok_r(dat, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        const char *p = strchr(line + 1, '"');
        CU_ASSERT_PTR_NOT_NULL_FATAL(p);
        double v[7];
        /* req/s and its interval, req per CPU-second and its, cores */
        CU_ASSERT_EQUAL(
            sscanf(p + 1, "%lf %lf %lf %lf %lf %lf %lf", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6]),
            7);
        CU_ASSERT_TRUE(v[1] <= v[0] && v[0] <= v[2]);
        CU_ASSERT_TRUE(v[4] <= v[3] && v[3] <= v[5]);
        wide += v[1] < v[2] && v[4] < v[5];
        rows++;
    }
    CU_ASSERT_EQUAL(rows, 3); /* threads, green asm/libev, go */
    CU_ASSERT_EQUAL(wide, 3);
    char *gp = slurp(dir, "efficiency.gp");
    /* Five repetitions: the interval of the median covers 93.75 %. */
    CU_ASSERT_PTR_NOT_NULL(gp && strstr(gp, "interval of the median (coverage 93.8 %)"));
    int lt[16];
    int n = series_lt(gp, lt, 16);
    CU_ASSERT_EQUAL(n, 3);
    CU_ASSERT_TRUE(all_distinct(lt, n));
    free(gp);
    free(dat);
    gb_rundata_free(&rd);
    free(dir);
}

/* switch.dat: each green backend's floor beside it (median, interval, the
 * backend's multiple of it, its name); zeros and "" for the others. */
static void test_switch_bars_have_floors(void)
{
    struct gb_rundata rd;
    char *dir = make_run("floors", mixed, NMIXED, &rd);
    gb_write_plots(&rd, false);
    char *dat = slurp(dir, "switch.dat");
    CU_ASSERT_PTR_NOT_NULL_FATAL(dat);
    int rows = 0, floors = 0;
    char *save = NULL;
    for (char *line = strtok_r(dat, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *p = strchr(line + 1, '"');
        CU_ASSERT_PTR_NOT_NULL_FATAL(p);
        *p = '\0';
        double v[7];
        char name[64] = "";
        int got = sscanf(p + 1, "%lf %lf %lf %lf %lf %lf %lf \"%63[^\"]\"", &v[0], &v[1], &v[2], &v[3],
                         &v[4], &v[5], &v[6], name);
        rows++;
        if (strcmp(line + 1, "asm") == 0) {
            CU_ASSERT_EQUAL(got, 8);
            CU_ASSERT_STRING_EQUAL(name, "regs+fp");
            CU_ASSERT_DOUBLE_EQUAL(v[3], 5.5, 1e-9);
            CU_ASSERT_TRUE(v[4] < v[3] && v[3] < v[5]);
            /* The median of the ratios 5.8 (1 + d) / (5.5 (1 - d)), d = -0.02 .. 0.02. */
            CU_ASSERT_DOUBLE_EQUAL(v[6], 5.8 / 5.5, 1e-4);
            floors++;
        } else if (strcmp(line + 1, "asm-nofpu") == 0) {
            CU_ASSERT_EQUAL(got, 8);
            CU_ASSERT_STRING_EQUAL(name, "regs");
            floors++;
        } else {
            CU_ASSERT_EQUAL(got, 7); /* the empty name does not scan */
            CU_ASSERT_TRUE(v[3] == 0 && v[4] == 0 && v[5] == 0 && v[6] == 0);
            CU_ASSERT_PTR_NOT_NULL(strstr(p + 1, " 0 0 0 0 \"\""));
        }
    }
    CU_ASSERT_EQUAL(rows, 8);
    CU_ASSERT_EQUAL(floors, 2);
    free(dat);
    gb_rundata_free(&rd);
    free(dir);
}

static void test_gnuplot_draws_every_chart(void)
{
    if (gb_gnuplot() == NULL) {
        fprintf(stderr, " (no gnuplot: skipped) ");
        return;
    }
    struct gb_rundata rd;
    char *dir = make_run("draw", mixed, NMIXED, &rd);
    /* switch, spawn, joinall, overview, efficiency */
    CU_ASSERT_EQUAL(gb_write_plots(&rd, true), 5);
    char *log = slurp(dir, "gnuplot.log");
    CU_ASSERT_STRING_EQUAL(log ? log : "(none)", "");
    if (log && *log)
        fprintf(stderr, "\n%s\n", log);
    free(log);
    /* num(): three significant digits, no exponent, thousands apart. */
    char *cmd = gb_xasprintf("cd '%s/plots' && gnuplot -e 'name=\"numtest\"; load \"style.gp\"; "
                             "set print \"-\"; print num(1810).\"|\".num(5.3).\"|\".num(0.0123)"
                             ".\"|\".num(15412).\"|\".num(99.96).\"|\".num(0.0000123456)'",
                             dir);
    char *argv[] = { "sh", "-c", cmd, NULL }, *out = NULL;
    CU_ASSERT_EQUAL(gb_run_capture(argv, false, 20000, &out), 0);
    CU_ASSERT_STRING_EQUAL(out ? out : "", "1 810|5.30|0.0123|15 400|100|0.0000123\n");
    free(out);
    free(cmd);
    /* The dodge keeps every series within 3% of its x, however many (26
     * series in pool drew K=300 at 400 before). */
    cmd = gb_xasprintf("cd '%s/plots' && gnuplot -e 'name=\"dodgetest\"; x_values=\"10 30 100 300\"; "
                       "series_lt=\"%s\"; load \"style.gp\"; set print \"-\"; "
                       "print sprintf(\"%%.4f %%.4f\", xdodge(300, 0) / 300, xdodge(300, 25) / 300)'",
                       dir, "1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26");
    argv[2] = cmd;
    out = NULL;
    CU_ASSERT_EQUAL(gb_run_capture(argv, false, 20000, &out), 0);
    CU_ASSERT_STRING_EQUAL(out ? out : "", "0.9709 1.0300\n");
    free(out);
    free(cmd);
    gb_rundata_free(&rd);
    free(dir);
}

/* A run of one network cell, not server-bound: its efficiency chart has a
 * single bar and no ‡ to draw (gnuplot 5.4 crashed on a labels plot whose
 * only point was undefined, and the chart was lost). */
static void test_gnuplot_draws_a_single_bar(void)
{
    if (gb_gnuplot() == NULL) {
        fprintf(stderr, " (no gnuplot: skipped) ");
        return;
    }
    static const struct spec one[] = {
        { "joinall", "green", "asm", "libev", 200, -1, 10, 1024, 800000, FLAG_TLS },
    };
    struct gb_rundata rd;
    char *dir = make_run("single", one, 1, &rd);
    gb_write_plots(&rd, true);
    char *log = slurp(dir, "gnuplot.log");
    CU_ASSERT_STRING_EQUAL(log ? log : "(none)", "");
    free(log);
    char *svg = slurp(dir, "efficiency.svg");
    CU_ASSERT_PTR_NOT_NULL(svg && strstr(svg, "</svg>"));
    free(svg);
    gb_rundata_free(&rd);
    free(dir);
}

/* A switch chart of one series, with its floor or without (the threads
 * alone): gnuplot 5.4 died (SIGSEGV) on the labels that did not apply,
 * every point of them undefined, and the chart was lost. */
static void test_gnuplot_draws_a_single_switch_bar(void)
{
    if (gb_gnuplot() == NULL) {
        fprintf(stderr, " (no gnuplot: skipped) ");
        return;
    }
    static const struct spec with_floor[] = { { "switch", "green", "asm", NULL, 200000, -1, -1, -1, 5.8,
                                                0 } };
    static const struct spec alone[] = { { "switch", "threads", NULL, NULL, 10000, 1, -1, -1, 2800, 0 } };
    const struct spec *runs[] = { with_floor, alone };
    for (size_t i = 0; i < 2; i++) {
        struct gb_rundata rd;
        char *dir = make_run(i == 0 ? "one-floor" : "one-alone", runs[i], 1, &rd);
        gb_write_plots(&rd, true);
        char *log = slurp(dir, "gnuplot.log"), *svg = slurp(dir, "switch.svg");
        CU_ASSERT_STRING_EQUAL(log ? log : "(none)", "");
        CU_ASSERT_PTR_NOT_NULL(svg && strstr(svg, "</svg>"));
        free(log);
        free(svg);
        gb_rundata_free(&rd);
        free(dir);
    }
}

/* Every server-bound point of joinall, pool and dns gets its red ring:
 * gnuplot's open-ended `for [i=0:*]` stopped at the first series without
 * one, so that a peer drawn after a green series never had it. */
static void test_every_server_bound_point_is_ringed(void)
{
    if (gb_gnuplot() == NULL) {
        fprintf(stderr, " (no gnuplot: skipped) ");
        return;
    }
    static const struct spec two[] = {
        { "joinall", "threads", NULL, NULL, 100, -1, 10, 1024, 300000, 0 },
        { "joinall", "green", "asm", "libev", 100, -1, 10, 1024, 80000, 0 },
        { "joinall", "go", NULL, NULL, 100, -1, 10, 1024, 250000, 0 },
    };
    struct gb_rundata rd;
    char *dir = make_run("rings", two, 3, &rd);
    gb_write_plots(&rd, false);
    /* threads and go server-bound, green between them not. */
    char *dat = gb_xasprintf("%s/plots/joinall.dat", dir);
    FILE *f = fopen(dat, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fprintf(f, "\"threads\" median ci_low ci_high server_bound\n100 3000 2900 3100 1\n\n\n"
               "\"green asm/libev\" median ci_low ci_high server_bound\n100 9000 8800 9100 0\n\n\n"
               "\"go\" median ci_low ci_high server_bound\n100 4000 3900 4100 1\n\n\n");
    fclose(f);
    char *cmd = gb_xasprintf("cd '%s/plots' && LC_ALL=C.UTF-8 gnuplot joinall.gp 2>&1", dir);
    char *argv[] = { "sh", "-c", cmd, NULL }, *out = NULL;
    CU_ASSERT_EQUAL(gb_run_capture(argv, false, 20000, &out), 0);
    CU_ASSERT_STRING_EQUAL(out ? out : "(none)", "");
    if (out && *out)
        fprintf(stderr, "\n%s\n", out);
    char *svg = slurp(dir, "joinall.svg");
    int rings = 0;
    for (const char *p = svg; p && (p = strstr(p, "color='rgb(192,   0,   0)'")) != NULL; p++)
        rings++;
    CU_ASSERT_EQUAL(rings, 2 + 1); /* and the key's */
    free(svg);
    free(out);
    free(cmd);
    free(dat);
    gb_rundata_free(&rd);
    free(dir);
}

/* Nine peer series, as a default run has (keep-alive and the preload
 * double them): each in a colour of its own. With eight colours gevent and
 * threads-preload were drawn alike, same colour, same point. */
static void test_nine_peers_nine_colours(void)
{
    static const struct spec peers[] = {
        { "spawn", "gevent", NULL, NULL, 1000, -1, -1, -1, 30000, 0 },
        { "spawn", "gevent", NULL, NULL, 1000, 1, -1, -1, 31000, 0 },
        { "spawn", "go", NULL, NULL, 1000, -1, -1, -1, 600, 0 },
        { "spawn", "go", NULL, NULL, 1000, 1, -1, -1, 610, 0 },
        { "spawn", "go", NULL, NULL, 1000, 2, -1, -1, 620, 0 },
        { "spawn", "st", NULL, NULL, 1000, -1, -1, -1, 13, 0 },
        { "spawn", "st", NULL, NULL, 1000, 1, -1, -1, 14, 0 },
        { "spawn", "threads-preload", NULL, NULL, 1000, -1, -1, -1, 1100, 0 },
        { "spawn", "threads-preload", NULL, NULL, 1000, 1, -1, -1, 1200, 0 },
    };
    struct gb_rundata rd;
    char *dir = make_run("peer-colours", peers, 9, &rd);
    gb_write_plots(&rd, false);
    char *gp = slurp(dir, "spawn.gp"), *style = slurp(dir, "style.gp");
    /* style.gp's peer styles: 41 on, peer_rgb's colours, then the same again dash-dotted. */
    const char *at = style ? strstr(style, "array peer_rgb[") : NULL;
    int colours = at ? atoi(at + strlen("array peer_rgb[")) : 0;
    CU_ASSERT_FATAL(colours > 0);
    int lt[64], colour[64];
    int n = series_lt(gp, lt, 64);
    CU_ASSERT_EQUAL(n, 9);
    for (int i = 0; i < n; i++) {
        CU_ASSERT_TRUE(lt[i] >= 41 && lt[i] < 41 + 2 * colours);
        colour[i] = (lt[i] - 41) % colours;
    }
    CU_ASSERT_TRUE(n > 0 && all_distinct(colour, n));
    free(style);
    free(gp);
    gb_rundata_free(&rd);
    free(dir);
}

/* The overview draws time: spawn-alive's group, whose findings are memory
 * ratios, says "time per task" in its label. */
static void test_overview_says_time_for_memory_workloads(void)
{
    static const struct spec alive[] = {
        { "spawn-alive", "threads", NULL, NULL, 1000, -1, -1, -1, 90000, 0 },
        { "spawn-alive", "green", "asm", "libev", 1000, -1, -1, -1, 900, 0 },
    };
    struct gb_rundata rd;
    char *dir = make_run("overview-alive", alive, 2, &rd);
    gb_write_plots(&rd, false);
    char *dat = slurp(dir, "overview.dat");
    CU_ASSERT_PTR_NOT_NULL(dat && strstr(dat, "spawn-alive n=1000 (time per task)"));
    free(dat);
    gb_rundata_free(&rd);
    free(dir);
}

static CU_TestInfo plot_tests[] = {
    { "every_series_has_its_own_style", test_every_series_has_its_own_style },
    { "overview_has_each_cell_once", test_overview_has_each_cell_once },
    { "flag_modes_each_a_bar", test_flag_modes_each_a_bar },
    { "stale_files_are_removed", test_stale_files_are_removed },
    { "efficiency_has_intervals", test_efficiency_has_intervals },
    { "switch_bars_have_floors", test_switch_bars_have_floors },
    { "gnuplot_draws_every_chart", test_gnuplot_draws_every_chart },
    { "gnuplot_draws_a_single_bar", test_gnuplot_draws_a_single_bar },
    { "gnuplot_draws_a_single_switch_bar", test_gnuplot_draws_a_single_switch_bar },
    { "every_server_bound_point_is_ringed", test_every_server_bound_point_is_ringed },
    { "nine_peers_nine_colours", test_nine_peers_nine_colours },
    { "overview_says_time_for_memory_workloads", test_overview_says_time_for_memory_workloads },
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo green_test_suites[] = {
    { .pName = "harness_plot", .pInitFunc = suite_init, .pCleanupFunc = suite_clean, .pTests = plot_tests },
    CU_SUITE_INFO_NULL,
};
