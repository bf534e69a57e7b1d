/* tests/test_harness_stats.c: the harness's statistics against reference
 * values computed independently (by hand and with a brute-force Python
 * enumeration of the exact U distribution; see the comments); and the
 * results model built on them: which thread cell each cell is compared
 * with (gb_baseline), and a run directory loaded into summaries, baselines
 * and ratios (gb_rundata_load). */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cell.h"
#include "csv.h"
#include "findings.h"
#include "report.h"
#include "results.h"
#include "stats.h"
#include "units.h"
#include "util.h"

#define NEAR(a, b, tol) CU_ASSERT_DOUBLE_EQUAL((a), (b), (tol))

static void test_quantiles(void)
{
    /* numpy.quantile([3,1,4,1,5,9,2,6], [.25,.5,.75]) = 1.75, 3.5, 5.25 */
    double x[] = { 3, 1, 4, 1, 5, 9, 2, 6 };
    struct gb_stats st;
    CU_ASSERT_EQUAL(gb_stats_compute(x, 8, 0.95, &st), 0);
    NEAR(st.q1, 1.75, 1e-12);
    NEAR(st.median, 3.5, 1e-12);
    NEAR(st.q3, 5.25, 1e-12);
    NEAR(st.mean, 3.875, 1e-12);
    NEAR(st.stddev, 2.748376143938713, 1e-12); /* sample (n-1) */
    NEAR(st.cv, 2.748376143938713 / 3.875, 1e-12);
    NEAR(st.min, 1, 0);
    NEAR(st.max, 9, 0);
    double s[] = { 1, 2, 3 };
    NEAR(gb_quantile(s, 3, 0.0), 1, 0);
    NEAR(gb_quantile(s, 3, 1.0), 3, 0);
    NEAR(gb_quantile(s, 3, 0.5), 2, 0);
    NEAR(gb_quantile(s, 1, 0.3), 1, 0);
}

static void test_odd_median_and_single(void)
{
    double x[] = { 5, 1, 3 };
    struct gb_stats st;
    CU_ASSERT_EQUAL(gb_stats_compute(x, 3, 0.95, &st), 0);
    NEAR(st.median, 3, 0);
    double one[] = { 42 };
    CU_ASSERT_EQUAL(gb_stats_compute(one, 1, 0.95, &st), 0);
    NEAR(st.median, 42, 0);
    NEAR(st.stddev, 0, 0);
    NEAR(st.ci_low, 42, 0);
    NEAR(st.ci_high, 42, 0);
    NEAR(st.ci_level, 0, 1e-12);
    CU_ASSERT_EQUAL(gb_stats_compute(one, 0, 0.95, &st), -EINVAL);
}

static void test_binomial(void)
{
    NEAR(gb_binom_half_cdf(2, 10), 56.0 / 1024, 1e-15); /* (1+10+45)/2^10 */
    NEAR(gb_binom_half_cdf(5, 20), 0.020694732666015625, 1e-15);
    NEAR(gb_binom_half_cdf(-1, 10), 0, 0);
    NEAR(gb_binom_half_cdf(10, 10), 1, 0);
    NEAR(gb_binom_half_cdf(1000, 2000), 0.5 + 0.5 * 0.017839, 1e-4); /* symmetric + P(X=1000) */
}

static void test_median_ci(void)
{
    double x[100];
    for (int i = 0; i < 100; i++)
        x[i] = i + 1; /* sorted: x(k) = k */
    /* n (the first n of x), the interval [x(lo), x(hi)] expected at 95%,
     * and its coverage. */
    static const struct {
        size_t n;
        double lo, hi, cov, cov_tol;
    } cases[] = {
        /* n=5: no interval reaches 95%; the widest, [x(1), x(5)], covers 1-2/32. */
        { 5, 1, 5, 0.9375, 1e-12 },
        { 6, 1, 6, 0.96875, 1e-12 },
        /* n=10: [x(2), x(9)], 1 - 2*11/1024 (the textbook table) */
        { 10, 2, 9, 0.978515625, 1e-12 },
        { 20, 6, 15, 0.9586105346679688, 1e-12 },
        { 100, 40, 61, 0.9647997997822952, 1e-9 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double lo, hi, cov;
        gb_median_ci(x, cases[i].n, 0.95, &lo, &hi, &cov);
        NEAR(lo, cases[i].lo, 0);
        NEAR(hi, cases[i].hi, 0);
        NEAR(cov, cases[i].cov, cases[i].cov_tol);
    }
}

static void test_tukey_outliers(void)
{
    /* q1 = 12.75, q3 = 18.25, IQR 5.5: fences 26.5 (mild) and 34.75 (severe). */
    double x[] = { 80, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 28 };
    struct gb_stats st;
    CU_ASSERT_EQUAL(gb_stats_compute(x, 12, 0.95, &st), 0);
    NEAR(st.q1, 12.75, 1e-12);
    NEAR(st.q3, 18.25, 1e-12);
    CU_ASSERT_EQUAL(st.outliers_mild, 1);   /* 28 */
    CU_ASSERT_EQUAL(st.outliers_severe, 1); /* 80 */
    NEAR(st.max, 80, 0);                    /* counted, never dropped */
    double flat[] = { 7, 7, 7, 7 };
    CU_ASSERT_EQUAL(gb_stats_compute(flat, 4, 0.95, &st), 0);
    CU_ASSERT_EQUAL(st.outliers_mild + st.outliers_severe, 0);
    NEAR(st.cv, 0, 0);
}

static void test_mann_whitney_exact(void)
{
    struct gb_mwu u;
    /* Complete separation, 5 vs 5: p = 2 / C(10,5) = 2/252. */
    double a1[] = { 1, 2, 3, 4, 5 }, b1[] = { 6, 7, 8, 9, 10 };
    CU_ASSERT_EQUAL(gb_mann_whitney(a1, 5, b1, 5, &u), 0);
    CU_ASSERT_TRUE(u.exact);
    NEAR(u.u, 0, 0);
    NEAR(u.p, 0.007936507936507936, 1e-12);
    CU_ASSERT_EQUAL(gb_mann_whitney(b1, 5, a1, 5, &u), 0);
    NEAR(u.u, 25, 0);
    NEAR(u.p, 0.007936507936507936, 1e-12);
    /* Interleaved: U = 10, p = 174/252 (enumeration of all 252 splits). */
    double a2[] = { 1, 3, 5, 7, 9 }, b2[] = { 2, 4, 6, 8, 10 };
    CU_ASSERT_EQUAL(gb_mann_whitney(a2, 5, b2, 5, &u), 0);
    NEAR(u.u, 10, 0);
    NEAR(u.p, 0.6904761904761905, 1e-12);
    /* Unequal sizes 4 vs 6: U = 4, p = 24/210. */
    double a3[] = { 1.1, 2.2, 3.3, 4.4 }, b3[] = { 0.5, 5.5, 6.6, 7.7, 8.8, 9.9 };
    CU_ASSERT_EQUAL(gb_mann_whitney(a3, 4, b3, 6, &u), 0);
    NEAR(u.u, 4, 0);
    NEAR(u.p, 0.11428571428571428, 1e-12);
}

static void test_mann_whitney_normal(void)
{
    struct gb_mwu u;
    /* Ties: normal approximation with tie and continuity corrections
     * (as scipy.stats.mannwhitneyu(method="asymptotic")). */
    double a[] = { 1, 2, 2, 3, 3, 3, 4, 5 }, b[] = { 3, 4, 4, 5, 5, 6, 7, 7 };
    CU_ASSERT_EQUAL(gb_mann_whitney(a, 8, b, 8, &u), 0);
    CU_ASSERT_FALSE(u.exact);
    NEAR(u.u, 7.5, 0);
    NEAR(u.p, 0.010515245935858918, 1e-9);
    /* 30 vs 30, no ties: past the exact limit. */
    double x[30], y[30];
    for (int i = 0; i < 30; i++) {
        x[i] = i;
        y[i] = i + 8.37;
    }
    CU_ASSERT_EQUAL(gb_mann_whitney(x, 30, y, 30, &u), 0);
    CU_ASSERT_FALSE(u.exact);
    NEAR(u.u, 231, 0);
    NEAR(u.p, 0.0012361845632090141, 1e-9);
    double same[] = { 4, 4, 4 };
    CU_ASSERT_EQUAL(gb_mann_whitney(same, 3, same, 3, &u), 0);
    NEAR(u.p, 1, 0);
    CU_ASSERT_EQUAL(gb_mann_whitney(same, 0, same, 3, &u), -EINVAL);
}

static void test_ratio_ci(void)
{
    /* 25 pairwise ratios b/a; for 5 vs 5 the 95% Moses interval is
     * [r(3), r(23)] (P(U <= 2) = 4/252 <= 0.025 < P(U <= 3) = 7/252). */
    double a[] = { 10, 11, 12, 13, 14 }, b[] = { 20, 21, 22, 23, 24 };
    double est, lo, hi, cov;
    CU_ASSERT_EQUAL(gb_ratio_ci(a, 5, b, 5, 0.95, &est, &lo, &hi, &cov), 0);
    NEAR(est, 22.0 / 12.0, 1e-12);
    NEAR(lo, 20.0 / 13.0, 1e-12);
    NEAR(hi, 2.2, 1e-12);
    NEAR(cov, 1 - 2 * 4.0 / 252, 1e-12);
    CU_ASSERT_TRUE(lo <= est && est <= hi);
    double neg[] = { -1, 2 };
    CU_ASSERT_EQUAL(gb_ratio_ci(neg, 2, b, 5, 0.95, &est, &lo, &hi, &cov), -EINVAL);
    /* Large samples use the normal approximation and still bracket 1 for
     * identical distributions. */
    double x[40], y[40];
    for (int i = 0; i < 40; i++) {
        x[i] = 100 + i;
        y[i] = 100.5 + i;
    }
    CU_ASSERT_EQUAL(gb_ratio_ci(x, 40, y, 40, 0.95, &est, &lo, &hi, &cov), 0);
    CU_ASSERT_TRUE(lo < 1 && hi > 1);
}

/* ---- the results model: baselines ---- */

/* A summary of cell "<workload> <impl> [sw[/loop]]" with n and cpus
 * (-1: none) and, when with_results, a time per op. */
static void summary(struct gb_summary *s, const char *workload, const char *impl,
                    const char *sw, long n, long cpus, bool with_results)
{
    memset(s, 0, sizeof *s);
    gb_cell_init(&s->cell);
    snprintf(s->cell.workload, sizeof s->cell.workload, "%s", workload);
    snprintf(s->cell.impl, sizeof s->cell.impl, "%s", impl);
    snprintf(s->cell.sw, sizeof s->cell.sw, "%s", sw);
    s->cell.n = n;
    s->cell.cpus = cpus;
    gb_cell_make_key(&s->cell);
    s->ns.n = with_results ? 3 : 0;
}

static void test_baseline_same_parameters(void)
{
    /* spawn's cost depends on n: the baseline has the same n. */
    struct gb_summary sums[6];
    summary(&sums[0], "spawn", "threads", "", 100, -1, true);
    summary(&sums[1], "spawn", "threads", "", 1000, -1, true);
    summary(&sums[2], "spawn", "green", "asm", 100, -1, true);
    summary(&sums[3], "spawn", "green", "asm", 1000, -1, true);
    summary(&sums[4], "spawn", "green", "asm", 500, -1, true);
    summary(&sums[5], "yield", "green", "asm", 100, -1, true);
    struct gb_rundata rd = { .sums = sums, .nsums = 6 };
    CU_ASSERT_PTR_EQUAL(gb_baseline(&rd, &sums[2]), &sums[0]);
    CU_ASSERT_PTR_EQUAL(gb_baseline(&rd, &sums[3]), &sums[1]);
    CU_ASSERT_PTR_NULL(gb_baseline(&rd, &sums[4])); /* no threads cell at n=500 */
    CU_ASSERT_PTR_NULL(gb_baseline(&rd, &sums[5])); /* another workload's threads do not count */
    CU_ASSERT_PTR_NULL(gb_baseline(&rd, &sums[0])); /* threads have none */
    /* A threads cell without results is no baseline. */
    sums[0].ns.n = 0;
    CU_ASSERT_PTR_NULL(gb_baseline(&rd, &sums[2]));
}

static void test_baseline_cpus_then_n(void)
{
    /* switch's cost per switch does not depend on n: any n matches. The
     * same --cpus wins, else the fewest CPUs, then the same n. */
    struct gb_summary sums[7];
    summary(&sums[0], "switch", "threads", "", 5000, 2, true);
    summary(&sums[1], "switch", "threads", "", 5000, 1, true);
    summary(&sums[2], "switch", "threads", "", 50000, 1, true);
    summary(&sums[3], "switch", "green", "asm", 50000, -1, true);
    summary(&sums[4], "switch", "green", "asm", 50000, 2, true);
    summary(&sums[5], "switch", "green", "asm", 7, -1, true);
    summary(&sums[6], "switch", "go", "", 5000, 4, true);
    struct gb_rundata rd = { .sums = sums, .nsums = 7 };
    CU_ASSERT_PTR_EQUAL(gb_baseline(&rd, &sums[3]), &sums[2]); /* fewest CPUs, same n */
    CU_ASSERT_PTR_EQUAL(gb_baseline(&rd, &sums[4]), &sums[0]); /* same CPUs, other n */
    CU_ASSERT_PTR_EQUAL(gb_baseline(&rd, &sums[5]), &sums[1]); /* fewest CPUs, the first */
    CU_ASSERT_PTR_EQUAL(gb_baseline(&rd, &sums[6]), &sums[1]); /* a peer: as green */
    sums[2].ns.n = 0;
    CU_ASSERT_PTR_EQUAL(gb_baseline(&rd, &sums[3]), &sums[1]);
    sums[0].ns.n = sums[1].ns.n = 0;
    CU_ASSERT_PTR_NULL(gb_baseline(&rd, &sums[4]));
}

static void test_baseline_other_axes(void)
{
    /* Every work axis but n must match (joinall: the delay, the size). */
    struct gb_summary sums[3];
    summary(&sums[0], "joinall", "threads", "", 100, -1, true);
    summary(&sums[1], "joinall", "green", "asm", 100, -1, true);
    summary(&sums[2], "joinall", "green", "asm", 100, -1, true);
    sums[0].cell.delay_ms = sums[1].cell.delay_ms = 5;
    sums[2].cell.delay_ms = 10;
    sums[0].cell.size = sums[1].cell.size = sums[2].cell.size = 1024;
    struct gb_rundata rd = { .sums = sums, .nsums = 3 };
    CU_ASSERT_PTR_EQUAL(gb_baseline(&rd, &sums[1]), &sums[0]);
    CU_ASSERT_PTR_NULL(gb_baseline(&rd, &sums[2]));
    sums[1].cell.size = 100;
    CU_ASSERT_PTR_NULL(gb_baseline(&rd, &sums[1]));
}

/* ---- the results model: a run directory loaded ---- */

static void write_text(const char *dir, const char *name, const char *text)
{
    char *path = gb_xasprintf("%s/%s", dir, name);
    CU_ASSERT_EQUAL(gb_write_file(path, text, strlen(text)), 0);
    free(path);
}

static void remove_tree(const char *dir)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CU_ASSERT_EQUAL(system(cmd), 0);
}

/* Write rd's summary.csv into dir and parse it into *c, which must have
 * `rows` rows (the header included). Returns the file's text, which c's
 * cells point into: free it after gb_csv_free. */
static char *summary_csv(const struct gb_rundata *rd, const char *dir, struct gb_csv *c, size_t rows)
{
    char *path = gb_xasprintf("%s/summary.csv", dir), *text = NULL;
    CU_ASSERT_EQUAL(gb_write_summary_csv(rd, path), 0);
    CU_ASSERT_EQUAL(gb_read_file(path, &text, NULL), 0);
    free(path);
    CU_ASSERT_EQUAL_FATAL(gb_csv_parse(text ? text : "", c), rows);
    return text;
}

/* Write b (then freed) as dir's cells.jsonl and load the run into *rd. */
static void load_run(const char *dir, struct gb_buf *b, struct gb_rundata *rd)
{
    write_text(dir, "cells.jsonl", gb_buf_str(b));
    gb_buf_free(b);
    char err[256];
    CU_ASSERT_EQUAL_FATAL(gb_rundata_load(dir, rd, err, sizeof err), 0);
}

/* Write rd's reports into dir and read report.md into *md (to be freed). */
static void read_report_md(const struct gb_rundata *rd, const char *dir, char **md)
{
    CU_ASSERT_EQUAL(gb_write_reports(rd, 0), 0);
    char *path = gb_xasprintf("%s/report.md", dir);
    *md = NULL;
    CU_ASSERT_EQUAL_FATAL(gb_read_file(path, md, NULL), 0);
    free(path);
}

static void test_rundata_load_ratios(void)
{
    char dir[] = "/tmp/gb-test-results-XXXXXX";
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    write_text(dir, "meta.json",
               "{\"plan\": {\"cells\": ["
               "{\"workload\": \"spawn\", \"impl\": \"green\", \"switch\": \"asm\", "
               "\"loop\": \"libev\", \"n\": 100},"
               "{\"workload\": \"spawn\", \"impl\": \"threads\", \"n\": 100}]}}\n");
    /* threads 200, 400, 300 ns (a warm-up at 9999 not counted); green 20,
     * 40, 30 and one crash; a torn line at the end. */
    static const char *const recs[] = {
        "\"spawn threads n=100\",\"rep\":0,\"status\":\"ok\",\"result\":{\"ns_per_op\":9999}",
        "\"spawn threads n=100\",\"rep\":1,\"status\":\"ok\",\"result\":{\"ns_per_op\":200}",
        "\"spawn threads n=100\",\"rep\":2,\"status\":\"ok\",\"result\":{\"ns_per_op\":400}",
        "\"spawn threads n=100\",\"rep\":3,\"status\":\"ok\",\"result\":{\"ns_per_op\":300}",
        "\"spawn green asm/libev n=100\",\"rep\":1,\"status\":\"ok\",\"result\":{\"ns_per_op\":20}",
        "\"spawn green asm/libev n=100\",\"rep\":2,\"status\":\"crashed\",\"message\":\"boom\"",
        "\"spawn green asm/libev n=100\",\"rep\":3,\"status\":\"ok\",\"result\":{\"ns_per_op\":40}",
        "\"spawn green asm/libev n=100\",\"rep\":4,\"status\":\"ok\",\"result\":{\"ns_per_op\":30}",
    };
    struct gb_buf b;
    gb_buf_init(&b);
    for (size_t i = 0; i < sizeof recs / sizeof recs[0]; i++)
        gb_buf_printf(&b, "{\"cell\":%s}\n", recs[i]);
    gb_buf_puts(&b, "{\"cell\":\"spawn thr");

    struct gb_rundata rd;
    load_run(dir, &b, &rd);
    CU_ASSERT_EQUAL_FATAL(rd.nsums, 2);
    CU_ASSERT_EQUAL(rd.nrecs, 8);
    CU_ASSERT_EQUAL_FATAL(rd.nbad_lines, 1);
    CU_ASSERT_EQUAL(rd.bad_lines[0], 9); /* the torn last line, by its number */
    const struct gb_summary *green = &rd.sums[0], *threads = &rd.sums[1]; /* plan order */
    CU_ASSERT_STRING_EQUAL(green->cell.key, "spawn green asm/libev n=100");
    CU_ASSERT_PTR_EQUAL(gb_rundata_find(&rd, "spawn threads n=100"), threads);
    CU_ASSERT_EQUAL(threads->reps_total, 3);
    CU_ASSERT_DOUBLE_EQUAL(threads->ns.median, 300, 1e-9);
    CU_ASSERT_EQUAL(green->reps_ok, 3);
    CU_ASSERT_EQUAL(green->reps_failed, 1);
    CU_ASSERT_EQUAL(green->by_status[GB_ST_CRASHED], 1);
    CU_ASSERT_STRING_EQUAL(green->first_error, "crashed: boom");
    CU_ASSERT_PTR_EQUAL(green->baseline, threads);
    CU_ASSERT_PTR_NULL(threads->baseline);
    CU_ASSERT_TRUE(green->ratio_ok);
    CU_ASSERT_DOUBLE_EQUAL(green->ratio, 0.1, 1e-12); /* median 30 / median 300 */
    CU_ASSERT_TRUE(green->ratio_lo <= 0.1 && green->ratio_hi >= 0.1);
    CU_ASSERT_FALSE(threads->ratio_ok);
    gb_rundata_free(&rd);
    remove_tree(dir);
}

/* ---- verdicts, findings, figures for people ---- */

static void test_min_p_and_half_width(void)
{
    NEAR(gb_mwu_min_p(3, 3), 0.1, 1e-12);        /* 2 / C(6, 3) */
    NEAR(gb_mwu_min_p(4, 4), 2.0 / 70, 1e-12);
    NEAR(gb_mwu_min_p(2, 30), 2.0 / 496, 1e-12);
    NEAR(gb_mwu_min_p(0, 5), 1, 0);
    struct gb_stats st;
    double x[] = { 90, 100, 110 };
    CU_ASSERT_EQUAL(gb_stats_compute(x, 3, 0.95, &st), 0);
    NEAR(gb_rel_half_width(&st), 0.1, 1e-12); /* [90, 110] around 100 */
    double same[] = { 5, 5, 5, 5, 5, 5 };
    gb_stats_compute(same, 6, 0.95, &st);
    NEAR(gb_rel_half_width(&st), 0, 0);
    gb_stats_compute(same, 0, 0.95, &st);
    CU_ASSERT_TRUE(isnan(gb_rel_half_width(&st)));
}

static void test_verdicts(void)
{
    double threads[] = { 300, 310, 290, 305, 295, 300 }, green[] = { 30, 31, 29, 30.5, 29.5, 30 };
    struct gb_verdict v;
    char t[200];
    CU_ASSERT_EQUAL(gb_verdict_of(threads, 6, green, 6, 0.05, &v), 0);
    CU_ASSERT_EQUAL(v.kind, GB_VERDICT_LOWER);
    NEAR(v.ratio, 0.1, 1e-12);
    CU_ASSERT_TRUE(v.coverage >= 0.95);
    gb_verdict_text(&v, false, t, sizeof t);
    CU_ASSERT_PTR_NOT_NULL(strstr(t, "10.0× faster ("));
    gb_verdict_text(&v, true, t, sizeof t);
    CU_ASSERT_PTR_NOT_NULL(strstr(t, "10.0× less memory ("));
    CU_ASSERT_EQUAL(gb_verdict_of(green, 6, threads, 6, 0.05, &v), 0);
    CU_ASSERT_EQUAL(v.kind, GB_VERDICT_HIGHER);
    gb_verdict_text(&v, false, t, sizeof t);
    CU_ASSERT_PTR_NOT_NULL(strstr(t, "10.0× slower ("));
    /* Overlapping samples: same within noise, with its interval. */
    double a[] = { 100, 104, 98, 101, 99, 103 }, b[] = { 101, 97, 102, 100, 104, 99 };
    CU_ASSERT_EQUAL(gb_verdict_of(a, 6, b, 6, 0.05, &v), 0);
    CU_ASSERT_EQUAL(v.kind, GB_VERDICT_SAME);
    gb_verdict_text(&v, false, t, sizeof t);
    CU_ASSERT_EQUAL(strncmp(t, "same within noise (", 19), 0);
    /* Three a side: even ten times faster cannot be told at 0.05. */
    CU_ASSERT_EQUAL(gb_verdict_of(threads, 3, green, 3, 0.05, &v), 0);
    CU_ASSERT_EQUAL(v.kind, GB_VERDICT_FEW);
    gb_verdict_text(&v, false, t, sizeof t);
    CU_ASSERT_STRING_EQUAL(t, "too few repetitions to tell");
    /* Four a side can tell, and the interval then covers 95% or more:
     * 1 - 2 / C(8, 4), as the smallest p is 2 / C(8, 4). */
    CU_ASSERT_EQUAL(gb_verdict_of(threads, 4, green, 4, 0.05, &v), 0);
    CU_ASSERT_EQUAL(v.kind, GB_VERDICT_LOWER);
    NEAR(v.coverage, 1 - 2.0 / 70, 1e-12);
    CU_ASSERT_EQUAL(gb_verdict_of(threads, 0, green, 6, 0.05, &v), -EINVAL);
    /* No figures then: a p of 0 would read as the most significant. */
    CU_ASSERT_TRUE(isnan(v.u.p) && isnan(v.u.u) && isnan(v.ratio));
}

static void test_server_bound(void)
{
    json_t *quiet = json_pack("{s:i, s:f, s:i}", "requests", 1000, "late_p99_ms", 0.3, "late_over_1ms", 5);
    json_t *late = json_pack("{s:i, s:f, s:i}", "requests", 1000, "late_p99_ms", 1.5, "late_over_1ms", 5);
    json_t *many = json_pack("{s:i, s:f, s:i}", "requests", 1000, "late_p99_ms", 0.9, "late_over_1ms", 11);
    CU_ASSERT_FALSE(gb_server_window_late(quiet, 10));
    CU_ASSERT_TRUE(gb_server_window_late(late, 10));  /* p99 above 1 ms, a tenth of 10 */
    CU_ASSERT_FALSE(gb_server_window_late(late, 100)); /* below a tenth of 100 */
    CU_ASSERT_TRUE(gb_server_window_late(many, 100)); /* more than 1 % over 1 ms */

    /* Late server, but a client whose CPUs were busy: it set its own pace. */
    json_t *busy = json_pack("{s:f, s:f, s:i}", "cpu_ns", 1.9e9, "wall_ns", 1e9, "cpus", 2);
    json_t *waiting = json_pack("{s:f, s:f, s:i}", "cpu_ns", 1.7e9, "wall_ns", 1e9, "cpus", 2);
    json_t *unknown = json_pack("{s:f, s:f}", "cpu_ns", 1.9e9, "wall_ns", 1e9);
    CU_ASSERT_TRUE(gb_client_saturated(busy));     /* 95 % of 2 CPUs */
    CU_ASSERT_FALSE(gb_client_saturated(waiting)); /* 85 % */
    CU_ASSERT_FALSE(gb_client_saturated(unknown)); /* no "cpus": nothing says it was busy */
    CU_ASSERT_FALSE(gb_rep_server_bound(late, 10, busy));
    CU_ASSERT_TRUE(gb_rep_server_bound(late, 10, waiting));
    CU_ASSERT_TRUE(gb_rep_server_bound(late, 10, unknown));
    CU_ASSERT_FALSE(gb_rep_server_bound(quiet, 10, waiting));
    json_decref(busy);
    json_decref(waiting);
    json_decref(unknown);
    json_decref(quiet);
    json_decref(late);
    json_decref(many);

    /* A cell is server-bound when more than half its windows were. */
    char dir[] = "/tmp/gb-test-bound-XXXXXX";
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    write_text(dir, "meta.json",
               "{\"plan\": {\"min_reps\": 4, \"max_reps\": 4, \"timeout_s\": 9, "
               "\"cells\": [{\"workload\": \"joinall\", \"impl\": \"threads\", "
               "\"n\": 100, \"delay_ms\": 10}]}}\n");
    struct gb_buf b;
    gb_buf_init(&b);
    static const double p99[] = { 5, 5, 5, 0.2, /* then the other cell */ 5, 5, 0.2, 0.2 };
    for (int i = 0; i < 8; i++)
        gb_buf_printf(
            &b,
            "{\"cell\":\"%s\",\"rep\":%d,\"status\":\"ok\",\"params\":{\"workload\":"
            "\"joinall\",\"impl\":\"%s\",\"n\":100,\"delay_ms\":10},\"result\":{\"ns_per_op\":100,"
            "\"ops\":100,\"wall_ns\":10000,\"cpu_ns\":%d},\"server\":{\"requests\":100,"
            "\"late_p99_ms\":%g,\"late_over_1ms\":0,\"cpu_ns\":2000}}\n",
            i < 4 ? "joinall threads n=100 d=10ms" : "joinall epoll n=100 d=10ms", i % 4 + 1,
            i < 4 ? "threads" : "epoll", 5000 + i, p99[i]);
    struct gb_rundata rd;
    load_run(dir, &b, &rd);
    const struct gb_summary *t = gb_rundata_find(&rd, "joinall threads n=100 d=10ms");
    const struct gb_summary *e = gb_rundata_find(&rd, "joinall epoll n=100 d=10ms");
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    CU_ASSERT_EQUAL(t->server_reps, 4);
    CU_ASSERT_EQUAL(t->server_bound_reps, 3);
    CU_ASSERT_TRUE(t->server_bound);
    CU_ASSERT_EQUAL(e->server_bound_reps, 2);
    CU_ASSERT_FALSE(e->server_bound); /* half is not more than half */
    NEAR(t->server_cpu_ns_op, 20, 1e-9);   /* the server's 2 000 ns over 100 requests */
    NEAR(t->cpu_ns_op.median, 50.015, 1e-9); /* the client's, median of 50.00 .. 50.03 */
    CU_ASSERT_PTR_EQUAL(t->ceiling, e); /* the epoll cell of the same work */
    NEAR(t->of_ceiling, 1, 1e-9);
    CU_ASSERT_PTR_NULL(e->ceiling);
    gb_rundata_free(&rd);
    remove_tree(dir);
}

/* A run dir with one threads cell of workload wl, n=100, and meta.json's
 * "server" (the harness writes it in every run); its report.md into *md. */
static void report_of_one_cell(const char *wl, char **md)
{
    char dir[] = "/tmp/gb-test-served-XXXXXX";
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    char *meta = gb_xasprintf("{\"server\": {\"threads\": 1, \"cpus\": \"last\"}, \"plan\": {\"cells\": "
                              "[{\"workload\": \"%s\", \"impl\": \"threads\", \"n\": 100}]}}\n",
                              wl);
    write_text(dir, "meta.json", meta);
    free(meta);
    struct gb_buf b;
    gb_buf_init(&b);
    gb_buf_printf(&b,
                  "{\"cell\":\"%s threads n=100\",\"rep\":1,\"status\":\"ok\",\"params\":{\"workload\":"
                  "\"%s\",\"impl\":\"threads\",\"n\":100},\"result\":{\"ns_per_op\":100,\"ops\":100,"
                  "\"wall_ns\":10000}}\n",
                  wl, wl);
    struct gb_rundata rd;
    load_run(dir, &b, &rd);
    read_report_md(&rd, dir, md);
    gb_rundata_free(&rd);
    remove_tree(dir);
}

/* The report's "Local HTTP server" section: in a run with a workload that
 * fetches from greenbench-server (GB_SERVER_HTTP), naming that one alone;
 * in a run without one, not at all, although meta.json says where the
 * server would have run. The workloads are the catalog's first of each. */
static void test_server_section_when_served(void)
{
    const struct gb_workload *served = NULL, *other = NULL;
    for (size_t w = 0; w < gb_nworkloads; w++) {
        if (!served && gb_workloads[w].server == GB_SERVER_HTTP)
            served = &gb_workloads[w];
        if (!other && gb_workloads[w].server == GB_SERVER_NONE)
            other = &gb_workloads[w];
    }
    CU_ASSERT_PTR_NOT_NULL_FATAL(served);
    CU_ASSERT_PTR_NOT_NULL_FATAL(other);
    char *md = NULL;
    report_of_one_cell(other->name, &md);
    CU_ASSERT_PTR_NULL(strstr(md, "Local HTTP server"));
    CU_ASSERT_PTR_NULL(strstr(md, "fetched from greenbench-server"));
    free(md);
    report_of_one_cell(served->name, &md);
    CU_ASSERT_PTR_NOT_NULL(strstr(md, "## Local HTTP server"));
    char *said = gb_xasprintf("\n%s fetched from greenbench-server, with 1 event loop", served->name);
    CU_ASSERT_PTR_NOT_NULL(strstr(md, said));
    if (!strstr(md, said))
        fprintf(stderr, "\n  no '%s' in its report.md\n", said + 1);
    free(said);
    free(md);
}

/* Where the clients ran beside the server, from each cell's own cpus: a
 * threads cell on both CPUs shares the server's, a green one on one does
 * not (the report said every cell ran on the CPUs before the server's); and
 * a capacity wrk measured with the server's CPU to spare is a lower bound. */
static void test_server_section_says_where_clients_ran(void)
{
    char dir[] = "/tmp/gb-test-clients-XXXXXX";
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    write_text(dir, "meta.json",
               "{\"machine\": {\"cpus_allowed\": 2}, \"server\": {\"threads\": 1, \"cpus\": \"last\"}, "
               "\"server_capacity\": {\"tool\": \"wrk\", \"duration_s\": 3, \"connections\": 64, "
               "\"keepalive\": {\"req_per_s\": 76400, \"server_cpu_share\": 0.97}, "
               "\"close\": {\"req_per_s\": 18300, \"server_cpu_share\": 0.57}}, "
               "\"plan\": {\"cells\": [{\"workload\": \"joinall\", \"impl\": \"threads\", \"n\": 100}, "
               "{\"workload\": \"joinall\", \"impl\": \"green\", \"switch\": \"asm\", \"loop\": \"libev\", "
               "\"n\": 100}]}}\n");
    struct gb_buf b;
    gb_buf_init(&b);
    const char *window = "\"server\":{\"requests\":100,\"delayed\":100,\"late_p99_ms\":0.1,"
                         "\"late_over_1ms\":0,\"connections\":100,\"cpu_ns\":1000,\"window_ns\":10000}";
    gb_buf_printf(&b,
                  "{\"cell\":\"joinall threads n=100\",\"rep\":1,\"status\":\"ok\",\"params\":{"
                  "\"workload\":\"joinall\",\"impl\":\"threads\",\"n\":100},%s,\"result\":{"
                  "\"ns_per_op\":100,\"ops\":100,\"wall_ns\":10000,\"cpus\":2}}\n"
                  "{\"cell\":\"joinall green asm/libev n=100\",\"rep\":1,\"status\":\"ok\",\"params\":{"
                  "\"workload\":\"joinall\",\"impl\":\"green\",\"switch\":\"asm\",\"loop\":\"libev\","
                  "\"n\":100},%s,\"result\":{\"ns_per_op\":50,\"ops\":100,\"wall_ns\":5000,\"cpus\":1}}\n",
                  window, window);
    struct gb_rundata rd;
    load_run(dir, &b, &rd);
    char *md = NULL;
    read_report_md(&rd, dir, &md);
    CU_ASSERT_PTR_NOT_NULL(md && strstr(md, "The green cells ran on the CPUs before it."));
    CU_ASSERT_PTR_NOT_NULL(md && strstr(md, "The threads cells ran on all 2 CPUs, the server's included"));
    CU_ASSERT_PTR_NULL(md ? strstr(md, "the cells ran on the CPUs before it") : "");
    CU_ASSERT_PTR_NOT_NULL(md && strstr(md, "76.4k request/s with keep-alive"));
    CU_ASSERT_PTR_NOT_NULL(
        md && strstr(md, "at least 18.3k request/s (wrk's bound: the server used 57% of its CPU)"));
    if (md && !strstr(md, "ran on all 2 CPUs"))
        fprintf(stderr, "\n%s\n", md);
    free(md);
    gb_rundata_free(&rd);
    remove_tree(dir);
}

static void test_units(void)
{
    static const struct {
        double v;
        const char *num;
    } nums[] = {
        { 1810, "1\xe2\x80\xaf"
                "810" },
        { 1814.9, "1\xe2\x80\xaf"
                  "810" },
        { 12345, "12\xe2\x80\xaf"
                 "300" },
        { 5.304, "5.30" },
        { 0.01234, "0.0123" },
        { 830.4, "830" },
        { 18.44, "18.4" },
        { 0, "0" },
        { -2.5, "-2.50" },
        { NAN, "n/a" },
        { 1234567, "1\xe2\x80\xaf"
                   "230\xe2\x80\xaf"
                   "000" },
        /* No exponent at either end (1.23e-05 and 40 digits cut short before). */
        { 0.0001234, "0.000123" },
        { -0.00001234, "-0.0000123" },
        { 4e-12, "0.000000000" },
    };
    char t[256];
    for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
        gb_fmt_num(t, sizeof t, nums[i].v);
        CU_ASSERT_STRING_EQUAL(t, nums[i].num);
    }
    gb_fmt_time(t, sizeof t, 2910);
    CU_ASSERT_STRING_EQUAL(t, "2.91 µs");
    gb_fmt_time(t, sizeof t, 5.3);
    CU_ASSERT_STRING_EQUAL(t, "5.30 ns");
    gb_fmt_time(t, sizeof t, 1.2e9);
    CU_ASSERT_STRING_EQUAL(t, "1.20 s");
    gb_fmt_time(t, sizeof t, 999.9); /* rounds up into the next unit */
    CU_ASSERT_STRING_EQUAL(t, "1.00 µs");
    gb_fmt_rate(t, sizeof t, 10240, "request/s");
    CU_ASSERT_STRING_EQUAL(t, "10.2k request/s");
    gb_fmt_bytes(t, sizeof t, 4180);
    CU_ASSERT_STRING_EQUAL(t, "4.08 KiB");
    gb_fmt_bytes(t, sizeof t, 512);
    CU_ASSERT_STRING_EQUAL(t, "512 B");
    gb_fmt_ratio(t, sizeof t, 1810);
    CU_ASSERT_STRING_EQUAL(t, "1\xe2\x80\xaf"
                              "810×");
    gb_fmt_time_range(t, sizeof t, 2850, 3050);
    CU_ASSERT_STRING_EQUAL(t, "2.85–3.05 µs");
    gb_fmt_pct(t, sizeof t, 0.96875);
    CU_ASSERT_STRING_EQUAL(t, "96.9%");
    gb_fmt_pct(t, sizeof t, 0.75);
    CU_ASSERT_STRING_EQUAL(t, "75%");
    gb_fmt_pct(t, sizeof t, 10.9961); /* No exponent: 1.1e+03% before. */
    CU_ASSERT_STRING_EQUAL(t, "1\xe2\x80\xaf"
                              "100%");
    /* Every digit of a huge figure, not the first 39. */
    gb_fmt_num(t, sizeof t, 1.5e40);
    size_t digits = 0;
    for (const char *c = t; *c; c++)
        digits += *c >= '0' && *c <= '9';
    CU_ASSERT_EQUAL(digits, 41);
    CU_ASSERT_EQUAL(strncmp(t, "15", 2), 0);
    gb_fmt_pct(t, sizeof t, 1.234e-7); /* 1.23e-05% before */
    CU_ASSERT_STRING_EQUAL(t, "0.0000123%");
    /* A count stays exact: one thread more is a fact, not noise. */
    gb_fmt_count(t, sizeof t, 10002);
    CU_ASSERT_STRING_EQUAL(t, "10\xe2\x80\xaf"
                              "002");
    gb_fmt_count(t, sizeof t, 1);
    CU_ASSERT_STRING_EQUAL(t, "1");
    gb_fmt_count(t, sizeof t, NAN);
    CU_ASSERT_STRING_EQUAL(t, "n/a");
}

/* A spawn cell of test_findings' runs: its key, params and time per op. */
struct spawn_cell {
    const char *key, *params;
    double ns;
};

/* A run of spawn cells in dir (made here), six repetitions each within
 * 2% of its ns, loaded into *rd. */
static void load_spawn_run(char *dir, const struct spawn_cell *cells, size_t n, struct gb_rundata *rd)
{
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    write_text(dir, "meta.json",
               "{\"plan\": {\"min_reps\": 6, \"max_reps\": 6, \"timeout_s\": 9, "
               "\"cells\": [{\"workload\": \"spawn\", \"impl\": \"threads\", "
               "\"n\": 1000}]}}\n");
    struct gb_buf b;
    gb_buf_init(&b);
    for (size_t i = 0; i < n; i++)
        for (int rep = 1; rep <= 6; rep++)
            gb_buf_printf(&b,
                          "{\"cell\":\"%s\",\"rep\":%d,\"status\":\"ok\",\"params\":{\"workload\":"
                          "\"spawn\",%s},\"result\":{\"ns_per_op\":%g}}\n",
                          cells[i].key, rep, cells[i].params, cells[i].ns * (1 + 0.01 * (rep % 3)));
    load_run(dir, &b, rd);
}

static void test_findings(void)
{
    char dir[] = "/tmp/gb-test-findings-XXXXXX";
    /* spawn at n=100 and 1000: two green pairs, threads, and st (a peer). */
    static const struct spawn_cell cells[] = {
        { "spawn green asm/libev n=1000",
          "\"impl\":\"green\",\"switch\":\"asm\",\"loop\":\"libev\",\"n\":1000", 20 },
        { "spawn green boost/libev n=1000",
          "\"impl\":\"green\",\"switch\":\"boost\",\"loop\":\"libev\",\"n\":1000", 10 },
        { "spawn green boost/libev n=100",
          "\"impl\":\"green\",\"switch\":\"boost\",\"loop\":\"libev\",\"n\":100", 5 },
        { "spawn threads n=1000", "\"impl\":\"threads\",\"n\":1000", 10000 },
        { "spawn st n=1000", "\"impl\":\"st\",\"n\":1000", 1000 },
    };
    struct gb_rundata rd;
    load_spawn_run(dir, cells, sizeof cells / sizeof cells[0], &rd);
    struct gb_finding f[8];
    size_t n = gb_findings(&rd, false, f, 8);
    CU_ASSERT_EQUAL_FATAL(n, 2); /* spawn: against threads, against st */
    /* The best green at the largest n, not the faster one at n=100. */
    CU_ASSERT_STRING_EQUAL(f[0].green->cell.key, "spawn green boost/libev n=1000");
    CU_ASSERT_STRING_EQUAL(f[0].other->cell.key, "spawn threads n=1000");
    CU_ASSERT_EQUAL(f[0].v.kind, GB_VERDICT_LOWER);
    NEAR(f[0].v.ratio, 0.001, 1e-9);
    CU_ASSERT_STRING_EQUAL(f[1].other->cell.key, "spawn st n=1000");
    CU_ASSERT_EQUAL(gb_findings(&rd, true, f, 8), 1);
    char fig[64];
    gb_figure_text(f[0].green, fig, sizeof fig);
    CU_ASSERT_STRING_EQUAL(fig, "10.1 ns"); /* median of 10.0, 10.1, 10.2 twice each */
    /* A fixed count: stop reason "fixed" for every cell. */
    CU_ASSERT_EQUAL(rd.sums[0].stop, GB_STOP_FIXED);
    gb_rundata_free(&rd);
    remove_tree(dir);
}

/* A run without green cells (--impl=threads,PEER: a runtime author's own
 * runtime): each peer's best takes green's place against OS threads. */
static void test_findings_without_green(void)
{
    char dir[] = "/tmp/gb-test-findings-XXXXXX";
    static const struct spawn_cell cells[] = {
        { "spawn threads n=1000", "\"impl\":\"threads\",\"n\":1000", 10000 },
        { "spawn st n=1000", "\"impl\":\"st\",\"n\":1000", 1000 },
        { "spawn go n=1000", "\"impl\":\"go\",\"n\":1000", 500 },
    };
    struct gb_rundata rd;
    load_spawn_run(dir, cells, sizeof cells / sizeof cells[0], &rd);
    struct gb_finding f[8];
    size_t n = gb_findings(&rd, true, f, 8);
    CU_ASSERT_EQUAL_FATAL(n, 2); /* each peer against threads, in gb_peers order; not each other */
    for (size_t i = 0; i < n; i++) {
        CU_ASSERT_STRING_EQUAL(f[i].other->cell.key, "spawn threads n=1000");
        CU_ASSERT_EQUAL(f[i].v.kind, GB_VERDICT_LOWER);
    }
    CU_ASSERT_NOT_EQUAL(strcmp(f[0].green->cell.impl, f[1].green->cell.impl), 0);
    gb_rundata_free(&rd);
    remove_tree(dir);
}

/* test_floor_paired's findings: asm (a) against threads (t), then one
 * floor row per green series, at its largest n. */
static void check_floor_findings(const struct gb_rundata *rd, const struct gb_summary *a,
                                 const struct gb_summary *t)
{
    struct gb_finding f[8];
    size_t n = gb_findings(rd, false, f, 8);
    CU_ASSERT_EQUAL_FATAL(n, 3);
    CU_ASSERT_FALSE(f[0].floor);
    CU_ASSERT_PTR_EQUAL(f[0].other, t);
    CU_ASSERT_TRUE(f[1].floor);
    CU_ASSERT_PTR_EQUAL(f[1].green, a);
    NEAR(f[1].v.ratio, 1.25, 1e-12);
    CU_ASSERT_EQUAL(f[1].v.kind, GB_VERDICT_SAME); /* the interval reaches 1 */
    CU_ASSERT_TRUE(f[2].floor);
    CU_ASSERT_STRING_EQUAL(f[2].green->cell.key, "switch green ucontext n=200000");
    NEAR(f[2].v.ratio, 1.02, 1e-9);
    CU_ASSERT_EQUAL(f[2].v.kind, GB_VERDICT_HIGHER);
    CU_ASSERT_EQUAL(gb_findings(rd, true, f, 8), 1); /* threads rows only */
}

/* test_floor_paired's records, six repetitions per cell. asm at n=200000
 * has the ratios 1.0 1.1 1.2 1.3 1.5 2.0 to its floor, median 1.25; the
 * medians' ratio would be 12 / 10 = 1.2. */
static void write_floor_records(struct gb_buf *b)
{
    static const double asm_ns[] = { 9, 11, 12, 13, 12, 20 }, asm_floor[] = { 9, 10, 10, 10, 8, 10 };
    static const struct {
        const char *key, *params, *floor;
        double ns, floor_ns; /* 0: the asm values above */
    } cells[] = {
        { "switch green asm n=200000", "\"impl\":\"green\",\"switch\":\"asm\",\"n\":200000", "regs+fp", 0,
          0 },
        /* Smaller n, 3x its floor: not the series' row in the findings. */
        { "switch green asm n=1000", "\"impl\":\"green\",\"switch\":\"asm\",\"n\":1000", "regs+fp", 30,
          10 },
        { "switch green ucontext n=200000", "\"impl\":\"green\",\"switch\":\"ucontext\",\"n\":200000",
          "swapcontext", 1020, 1000 },
        { "switch threads cpus=1 n=10000", "\"impl\":\"threads\",\"cpus\":1,\"n\":10000", NULL, 3000, 0 },
    };
    for (size_t i = 0; i < sizeof cells / sizeof cells[0]; i++)
        for (int rep = 1; rep <= 6; rep++) {
            double ns = cells[i].ns ? cells[i].ns * (1 + 0.01 * rep) : asm_ns[rep - 1];
            double fl = cells[i].ns ? cells[i].floor_ns * (1 + 0.01 * rep) : asm_floor[rep - 1];
            gb_buf_printf(b,
                          "{\"cell\":\"%s\",\"rep\":%d,\"status\":\"ok\",\"params\":{\"workload\":"
                          "\"switch\",%s},\"result\":{\"ns_per_op\":%g",
                          cells[i].key, rep, cells[i].params, ns);
            if (cells[i].floor)
                gb_buf_printf(b, ",\"floor\":\"%s\",\"floor_ns_per_op\":%g", cells[i].floor, fl);
            gb_buf_puts(b, "}}\n");
        }
}

/* test_floor_paired's summaries: asm's paired ratio and its text; none for
 * threads. */
static void check_floor_summaries(const struct gb_summary *a, const struct gb_summary *t)
{
    CU_ASSERT_STRING_EQUAL(a->floor_name, "regs+fp");
    CU_ASSERT_EQUAL(a->of_floor.n, 6);
    NEAR(a->of_floor.median, 1.25, 1e-12);
    NEAR(a->of_floor.ci_low, 1.0, 1e-12); /* six values: [min, max], 96.9% */
    NEAR(a->of_floor.ci_high, 2.0, 1e-12);
    NEAR(a->of_floor.ci_level, 0.96875, 1e-9);
    NEAR(a->floor_ns.median, 10, 1e-12);
    NEAR(a->ns.median, 12, 1e-12);
    CU_ASSERT_STRING_EQUAL(t->floor_name, "");
    CU_ASSERT_EQUAL(t->of_floor.n, 0);
    char text[128];
    gb_floor_text(a, text, sizeof text);
    CU_ASSERT_STRING_EQUAL(text, "1.25× its floor (1.00–2.00)");
    gb_floor_text(t, text, sizeof text);
    CU_ASSERT_STRING_EQUAL(text, "");
}

/* test_floor_paired's summary.csv: the five columns at the end, empty
 * without a floor. */
static void check_floor_csv(struct gb_rundata *rd, const char *dir)
{
    struct gb_csv c;
    char *text_csv = summary_csv(rd, dir, &c, 5);
    size_t nc = c.ncols[0];
    CU_ASSERT_FATAL(nc > 9);
    nc -= 4; /* the spawn's cold figure's three, then os_threads_peak, come after them */
    static const char *const tail[] = { "floor", "floor_ns_per_op", "of_floor", "of_floor_ci_low",
                                        "of_floor_ci_high" };
    for (size_t k = 0; k < 5; k++)
        CU_ASSERT_STRING_EQUAL(c.cells[0][nc - 5 + k], tail[k]);
    for (size_t r = 1; r < c.rows; r++) {
        CU_ASSERT_EQUAL_FATAL(c.ncols[r], nc + 4);
        char **row = c.cells[r];
        if (strcmp(row[0], "switch green asm n=200000") == 0) {
            CU_ASSERT_STRING_EQUAL(row[nc - 5], "regs+fp");
            CU_ASSERT_STRING_EQUAL(row[nc - 4], "10");
            CU_ASSERT_STRING_EQUAL(row[nc - 3], "1.25");
            CU_ASSERT_STRING_EQUAL(row[nc - 2], "1");
            CU_ASSERT_STRING_EQUAL(row[nc - 1], "2");
        } else if (strcmp(row[0], "switch threads cpus=1 n=10000") == 0) {
            for (size_t k = 1; k <= 5; k++)
                CU_ASSERT_STRING_EQUAL(row[nc - k], "");
        }
    }
    gb_csv_free(&c);
    free(text_csv);
}

/* The switch workload's floor: the median of the repetitions' own ratios
 * (paired: each from one process), not the ratio of the two medians; its
 * columns in summary.csv; and a floor row per green series in the
 * findings, at the series' largest n. */
static void test_floor_paired(void)
{
    char dir[] = "/tmp/gb-test-floor-XXXXXX";
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    write_text(dir, "meta.json",
               "{\"plan\": {\"min_reps\": 6, \"max_reps\": 6, \"timeout_s\": 9, \"cells\": []}}\n");
    struct gb_buf b;
    gb_buf_init(&b);
    write_floor_records(&b);
    struct gb_rundata rd;
    load_run(dir, &b, &rd);
    const struct gb_summary *a = gb_rundata_find(&rd, "switch green asm n=200000");
    const struct gb_summary *t = gb_rundata_find(&rd, "switch threads cpus=1 n=10000");
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    check_floor_summaries(a, t);
    check_floor_findings(&rd, a, t);
    check_floor_csv(&rd, dir);
    gb_rundata_free(&rd);
    remove_tree(dir);
}

/* test_cold_first_pass's summary.csv: the three columns after the floor's
 * (os_threads_peak came later, last), empty for threads. */
static void check_cold_csv(struct gb_rundata *rd, const char *dir)
{
    struct gb_csv c;
    char *text = summary_csv(rd, dir, &c, 4);
    size_t nc = c.ncols[0];
    CU_ASSERT_FATAL(nc > 5);
    CU_ASSERT_STRING_EQUAL(c.cells[0][nc - 5], "of_floor_ci_high");
    CU_ASSERT_STRING_EQUAL(c.cells[0][nc - 4], "cold_ns_per_op");
    CU_ASSERT_STRING_EQUAL(c.cells[0][nc - 3], "cold_ns_per_op_ci_low");
    CU_ASSERT_STRING_EQUAL(c.cells[0][nc - 2], "cold_ns_per_op_ci_high");
    int seen = 0;
    for (size_t r = 1; r < c.rows; r++) {
        CU_ASSERT_EQUAL_FATAL(c.ncols[r], nc);
        char **row = c.cells[r];
        if (strcmp(row[0], "spawn green asm/libev n=1000") == 0) {
            CU_ASSERT_STRING_EQUAL(row[nc - 4], "55");
            CU_ASSERT_STRING_EQUAL(row[nc - 3], "40");
            CU_ASSERT_STRING_EQUAL(row[nc - 2], "90");
            seen++;
        } else {
            for (size_t k = 2; k <= 4; k++)
                CU_ASSERT_STRING_EQUAL(row[nc - k], "");
            seen += 10;
        }
    }
    CU_ASSERT_EQUAL(seen, 21);
    gb_csv_free(&c);
    free(text);
}

/* test_cold_first_pass's report.md: the column in the spawn table, for the
 * green row alone; none in the yield table (before it), which has no cold
 * figure. */
static void check_cold_report(struct gb_rundata *rd, const char *dir)
{
    char *md;
    read_report_md(rd, dir, &md);
    const char *spawn = strstr(md, "\n### spawn\n"), *yield = strstr(md, "\n### yield\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(spawn);
    CU_ASSERT_TRUE_FATAL(yield != NULL && yield < spawn);
    const char *col = strstr(md, " first N (cold) |");
    CU_ASSERT_TRUE_FATAL(col != NULL && col > spawn);
    CU_ASSERT_PTR_NULL(strstr(col + 1, " first N (cold) |"));
    CU_ASSERT_PTR_NOT_NULL(strstr(spawn, "First N (cold): "));
    const char *row = strstr(spawn, "\n| green asm/libev | n=1000 |");
    CU_ASSERT_PTR_NOT_NULL_FATAL(row);
    const char *eol = strchr(row + 1, '\n');
    CU_ASSERT_TRUE(eol != NULL && eol - row > 12 && strncmp(eol - 11, "| 55.0 ns |", 11) == 0);
    row = strstr(spawn, "\n| threads | n=1000 |");
    CU_ASSERT_PTR_NOT_NULL_FATAL(row);
    eol = strchr(row + 1, '\n');
    CU_ASSERT_TRUE(eol != NULL && strncmp(eol - 4, "|  |", 4) == 0);
    free(md);
}

/* The spawn workload's first pass: the median and interval of the counted
 * ok repetitions' cold_ns_per_op (one fresh process each), its three
 * columns at the end of summary.csv, and the report's "first N (cold)"
 * column in the spawn table alone. */
static void test_cold_first_pass(void)
{
    char dir[] = "/tmp/gb-test-cold-XXXXXX";
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    write_text(dir, "meta.json",
               "{\"plan\": {\"min_reps\": 6, \"max_reps\": 6, \"timeout_s\": 9, \"cells\": ["
               "{\"workload\": \"spawn\", \"impl\": \"green\", \"switch\": \"asm\", "
               "\"loop\": \"libev\", \"n\": 1000},"
               "{\"workload\": \"spawn\", \"impl\": \"threads\", \"n\": 1000},"
               "{\"workload\": \"yield\", \"impl\": \"green\", \"switch\": \"asm\", "
               "\"loop\": \"libev\", \"n\": 1000}]}}\n");
    /* Green: 70 40 90 50 45 60 counted (median 55, [40, 90] with six); the
     * warm-up's 1000 and the failed repetition's 5 are not counted. */
    static const double cold[] = { 70, 40, 90, 50, 45, 60 };
    struct gb_buf b;
    gb_buf_init(&b);
    gb_buf_puts(&b, "{\"cell\":\"spawn green asm/libev n=1000\",\"rep\":0,\"status\":\"ok\","
                    "\"result\":{\"ns_per_op\":12,\"cold_ns_per_op\":1000}}\n");
    for (int rep = 1; rep <= 6; rep++) {
        gb_buf_printf(&b,
                      "{\"cell\":\"spawn green asm/libev n=1000\",\"rep\":%d,\"status\":\"ok\","
                      "\"result\":{\"ns_per_op\":%d,\"cold_ns_per_op\":%g}}\n",
                      rep, 10 + rep, cold[rep - 1]);
        gb_buf_printf(&b,
                      "{\"cell\":\"spawn threads n=1000\",\"rep\":%d,\"status\":\"ok\","
                      "\"result\":{\"ns_per_op\":%d}}\n",
                      rep, 20000 + rep);
        gb_buf_printf(&b,
                      "{\"cell\":\"yield green asm/libev n=1000\",\"rep\":%d,\"status\":\"ok\","
                      "\"result\":{\"ns_per_op\":%d}}\n",
                      rep, 50 + rep);
    }
    gb_buf_puts(&b, "{\"cell\":\"spawn green asm/libev n=1000\",\"rep\":7,\"status\":\"failed\","
                    "\"message\":\"late\",\"result\":{\"ns_per_op\":11,\"cold_ns_per_op\":5}}\n");
    struct gb_rundata rd;
    load_run(dir, &b, &rd);
    const struct gb_summary *g = gb_rundata_find(&rd, "spawn green asm/libev n=1000");
    const struct gb_summary *t = gb_rundata_find(&rd, "spawn threads n=1000");
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_EQUAL(g->reps_ok, 6);
    CU_ASSERT_EQUAL(g->cold_ns.n, 6);
    NEAR(g->cold_ns.median, 55, 1e-12);
    NEAR(g->cold_ns.ci_low, 40, 1e-12);
    NEAR(g->cold_ns.ci_high, 90, 1e-12);
    NEAR(g->cold_ns.ci_level, 0.96875, 1e-9);
    NEAR(g->ns.median, 13.5, 1e-12); /* the warm figure stays the headline */
    CU_ASSERT_EQUAL(t->cold_ns.n, 0);

    check_cold_csv(&rd, dir);
    check_cold_report(&rd, dir);
    gb_rundata_free(&rd);
    remove_tree(dir);
}

/* The harness's samples of a process's OS threads: the largest
 * os_threads_peak of a cell's counted ok repetitions (not the warm-up's,
 * not a failed one's; a null is skipped), summary.csv's last column, the
 * report's "OS threads (peak)" column; a record without it (a run made
 * before the harness sampled) reads as unknown: empty, a dash. */
static void test_os_threads_peak(void)
{
    char dir[] = "/tmp/gb-test-threads-XXXXXX";
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    write_text(dir, "meta.json",
               "{\"plan\": {\"min_reps\": 3, \"max_reps\": 3, \"timeout_s\": 9, \"cells\": ["
               "{\"workload\": \"spawn\", \"impl\": \"green\", \"switch\": \"asm\", "
               "\"loop\": \"libev\", \"n\": 100},"
               "{\"workload\": \"spawn\", \"impl\": \"threads\", \"n\": 100},"
               "{\"workload\": \"spawn\", \"impl\": \"threads\", \"cpus\": 2, \"n\": 100}]}}\n");
    static const char *const recs[] = {
        "\"spawn threads n=100\",\"rep\":0,\"status\":\"ok\",\"os_threads_peak\":999",
        "\"spawn threads n=100\",\"rep\":1,\"status\":\"ok\",\"os_threads_peak\":101",
        "\"spawn threads n=100\",\"rep\":2,\"status\":\"ok\",\"os_threads_peak\":97",
        "\"spawn threads n=100\",\"rep\":3,\"status\":\"ok\",\"os_threads_peak\":null",
        "\"spawn threads n=100\",\"rep\":4,\"status\":\"failed\",\"message\":\"x\",\"os_threads_peak\":500",
        "\"spawn green asm/libev n=100\",\"rep\":1,\"status\":\"ok\",\"os_threads_peak\":1",
        "\"spawn green asm/libev n=100\",\"rep\":2,\"status\":\"ok\",\"os_threads_peak\":1",
        "\"spawn threads cpus=2 n=100\",\"rep\":1,\"status\":\"ok\"",
        "\"spawn threads cpus=2 n=100\",\"rep\":2,\"status\":\"ok\"",
    };
    struct gb_buf b;
    gb_buf_init(&b);
    for (size_t i = 0; i < sizeof recs / sizeof *recs; i++)
        gb_buf_printf(&b, "{\"cell\":%s,\"result\":{\"ns_per_op\":%zu}}\n", recs[i], 100 + i);
    struct gb_rundata rd;
    load_run(dir, &b, &rd);
    const struct gb_summary *t = gb_rundata_find(&rd, "spawn threads n=100");
    const struct gb_summary *g = gb_rundata_find(&rd, "spawn green asm/libev n=100");
    const struct gb_summary *old = gb_rundata_find(&rd, "spawn threads cpus=2 n=100");
    CU_ASSERT_TRUE_FATAL(t && g && old);
    CU_ASSERT_EQUAL(t->os_threads_peak, 101);
    CU_ASSERT_EQUAL(g->os_threads_peak, 1);
    CU_ASSERT_EQUAL(old->os_threads_peak, 0);

    struct gb_csv c;
    char *text = summary_csv(&rd, dir, &c, 4);
    size_t nc = c.ncols[0];
    CU_ASSERT_STRING_EQUAL(c.cells[0][nc - 1], "os_threads_peak");
    int seen = 0;
    for (size_t r = 1; r < c.rows; r++) {
        CU_ASSERT_EQUAL_FATAL(c.ncols[r], nc);
        const char *key = c.cells[r][0], *v = c.cells[r][nc - 1];
        if (strcmp(key, "spawn threads n=100") == 0)
            seen += strcmp(v, "101") == 0;
        else if (strcmp(key, "spawn green asm/libev n=100") == 0)
            seen += 10 * (strcmp(v, "1") == 0);
        else
            seen += 100 * (strcmp(v, "") == 0);
    }
    CU_ASSERT_EQUAL(seen, 111);
    gb_csv_free(&c);
    free(text);

    /* report.md: the column beside peak RSS; a dash where unknown. */
    char *md;
    read_report_md(&rd, dir, &md);
    const char *spawn = strstr(md, "\n### spawn\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(spawn);
    CU_ASSERT_PTR_NOT_NULL(strstr(spawn, "| peak RSS | OS threads (peak) |"));
    static const char *const rows[][2] = {
        { "\n| threads | n=100 |", "| 101 |" },
        { "\n| green asm/libev | n=100 |", "| 1 |" },
        { "\n| threads cpus=2 | n=100 |", "| — |" },
    };
    for (size_t i = 0; i < 3; i++) {
        const char *row = strstr(spawn, rows[i][0]);
        CU_ASSERT_PTR_NOT_NULL_FATAL(row);
        const char *eol = strchr(row + 1, '\n');
        size_t len = strlen(rows[i][1]);
        CU_ASSERT_TRUE(eol != NULL && (size_t)(eol - row) > len &&
                       strncmp(eol - len, rows[i][1], len) == 0);
    }
    free(md);
    gb_rundata_free(&rd);
    remove_tree(dir);
}

static CU_TestInfo results_tests[] = {
    { "baseline_same_parameters", test_baseline_same_parameters },
    { "baseline_cpus_then_n", test_baseline_cpus_then_n },
    { "baseline_other_axes", test_baseline_other_axes },
    { "rundata_load_ratios", test_rundata_load_ratios },
    { "verdicts", test_verdicts },
    { "findings", test_findings },
    { "findings_without_green", test_findings_without_green },
    { "units", test_units },
    { "server_bound", test_server_bound },
    { "server_section_when_served", test_server_section_when_served },
    { "server_section_says_where_clients_ran", test_server_section_says_where_clients_ran },
    { "floor_paired", test_floor_paired },
    { "cold_first_pass", test_cold_first_pass },
    { "os_threads_peak", test_os_threads_peak },
    CU_TEST_INFO_NULL,
};

static CU_TestInfo stats_tests[] = {
    { "quantiles", test_quantiles },
    { "odd_median_and_single", test_odd_median_and_single },
    { "binomial", test_binomial },
    { "median_ci", test_median_ci },
    { "tukey_outliers", test_tukey_outliers },
    { "mann_whitney_exact", test_mann_whitney_exact },
    { "mann_whitney_normal", test_mann_whitney_normal },
    { "ratio_ci", test_ratio_ci },
    { "min_p_and_half_width", test_min_p_and_half_width },
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo green_test_suites[] = {
    { .pName = "harness_stats", .pTests = stats_tests },
    { .pName = "harness_results", .pTests = results_tests },
    CU_SUITE_INFO_NULL,
};
