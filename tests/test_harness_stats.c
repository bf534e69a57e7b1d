/* tests/test_harness_stats.c: the harness's statistics against reference
 * values computed independently (by hand and with a brute-force Python
 * enumeration of the exact U distribution; see the comments). */
#include <CUnit/CUnit.h>
#include <errno.h>

#include "stats.h"

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

static CU_TestInfo stats_tests[] = {
    { "quantiles", test_quantiles },
    { "odd_median_and_single", test_odd_median_and_single },
    { "binomial", test_binomial },
    { "median_ci", test_median_ci },
    { "tukey_outliers", test_tukey_outliers },
    { "mann_whitney_exact", test_mann_whitney_exact },
    { "mann_whitney_normal", test_mann_whitney_normal },
    { "ratio_ci", test_ratio_ci },
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo green_test_suites[] = {
    { .pName = "harness_stats", .pTests = stats_tests },
    CU_SUITE_INFO_NULL,
};
