/* harness/stats.c: the statistics of a run (stats.h): medians and their
 * distribution-free intervals, as criterion.rs and pyperf report timings;
 * Tukey's outlier counts; the Mann-Whitney U test and the Moses interval of
 * a ratio. */
#include "stats.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double *sorted_copy(const double *x, size_t n)
{
    double *s = gb_xmalloc(n * sizeof *s);
    memcpy(s, x, n * sizeof *s);
    qsort(s, n, sizeof *s, cmp_double);
    return s;
}

double gb_quantile(const double *sorted, size_t n, double p)
{
    if (n == 0)
        return NAN;
    if (p <= 0)
        return sorted[0];
    if (p >= 1)
        return sorted[n - 1];
    double h = (double)(n - 1) * p;
    size_t lo = (size_t)floor(h);
    if (lo + 1 >= n)
        return sorted[n - 1];
    return sorted[lo] + (h - (double)lo) * (sorted[lo + 1] - sorted[lo]);
}

double gb_binom_half_cdf(long k, long n)
{
    if (k < 0)
        return 0.0;
    if (k >= n)
        return 1.0;
    /* Sum in log space: 2^-n underflows past n = 1074. */
    double sum = 0.0, ln2n = (double)n * log(2.0);
    for (long i = 0; i <= k; i++)
        sum += exp(lgamma((double)n + 1) - lgamma((double)i + 1) - lgamma((double)(n - i) + 1) - ln2n);
    return sum > 1.0 ? 1.0 : sum;
}

void gb_median_ci(const double *sorted, size_t n, double level, double *lo, double *hi,
                  double *coverage)
{
    if (n == 0) {
        *lo = *hi = NAN;
        *coverage = 0;
        return;
    }
    /* Order statistics x(k) and x(n+1-k) bracket the median with probability
     * P(k <= B <= n-k), B ~ Binomial(n, 1/2). Take the narrowest that reaches
     * the level; k = 1 when none does. */
    long best = 1;
    for (long k = (long)(n + 1) / 2; k >= 1; k--) {
        if (1.0 - 2.0 * gb_binom_half_cdf(k - 1, (long)n) >= level) {
            best = k;
            break;
        }
    }
    *lo = sorted[best - 1];
    *hi = sorted[n - (size_t)best];
    double cov = 1.0 - 2.0 * gb_binom_half_cdf(best - 1, (long)n);
    *coverage = cov < 0 ? 0 : cov;
}

int gb_stats_compute(const double *x, size_t n, double level, struct gb_stats *st)
{
    memset(st, 0, sizeof *st);
    st->median = st->mean = st->stddev = st->cv = st->min = st->max = NAN;
    st->q1 = st->q3 = st->ci_low = st->ci_high = NAN;
    if (n == 0)
        return -EINVAL;
    double *s = sorted_copy(x, n);
    st->n = n;
    st->min = s[0];
    st->max = s[n - 1];
    st->median = gb_quantile(s, n, 0.5);
    st->q1 = gb_quantile(s, n, 0.25);
    st->q3 = gb_quantile(s, n, 0.75);
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += s[i];
    st->mean = sum / (double)n;
    double ss = 0;
    for (size_t i = 0; i < n; i++)
        ss += (s[i] - st->mean) * (s[i] - st->mean);
    st->stddev = n > 1 ? sqrt(ss / (double)(n - 1)) : 0.0;
    st->cv = st->mean != 0 ? st->stddev / fabs(st->mean) : NAN;
    gb_median_ci(s, n, level, &st->ci_low, &st->ci_high, &st->ci_level);
    double iqr = st->q3 - st->q1;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < st->q1 - 3 * iqr || s[i] > st->q3 + 3 * iqr)
            st->outliers_severe++;
        else if (s[i] < st->q1 - 1.5 * iqr || s[i] > st->q3 + 1.5 * iqr)
            st->outliers_mild++;
    }
    free(s);
    return 0;
}

bool gb_ci_nominal(double coverage)
{
    return coverage >= GB_CI_LEVEL - 1e-9;
}

double gb_rel_half_width(const struct gb_stats *st)
{
    if (st->n == 0)
        return NAN;
    double width = st->ci_high - st->ci_low;
    if (width == 0)
        return 0;
    return st->median != 0 ? width / 2 / fabs(st->median) : INFINITY;
}

double gb_mwu_min_p(size_t na, size_t nb)
{
    if (na == 0 || nb == 0)
        return 1;
    /* C(na + nb, na) in log space: it overflows long before p matters. */
    double lc = lgamma((double)(na + nb) + 1) - lgamma((double)na + 1) - lgamma((double)nb + 1);
    return fmin(1.0, 2.0 * exp(-lc));
}

/* Number of arrangements of n1 + n2 distinct values giving each U in
 * 0..n1*n2, divided by C(n1+n2, n1): the exact null distribution of U.
 * Recurrence f(m, n; u) = f(m-1, n; u-n) + f(m, n-1; u) (Mann & Whitney 1947). */
static double *u_null_pmf(size_t n1, size_t n2)
{
    size_t umax = n1 * n2;
    size_t width = umax + 1;
    double *prev = gb_xcalloc((n2 + 1) * width, sizeof(double));
    double *cur = gb_xcalloc((n2 + 1) * width, sizeof(double));
    for (size_t n = 0; n <= n2; n++)
        prev[n * width] = 1; /* m = 0: only u = 0 */
    for (size_t m = 1; m <= n1; m++) {
        memset(cur, 0, (n2 + 1) * width * sizeof(double));
        cur[0] = 1; /* n = 0: only u = 0 */
        for (size_t n = 1; n <= n2; n++)
            for (size_t u = 0; u <= m * n; u++)
                cur[n * width + u] = (u >= n ? prev[n * width + u - n] : 0) + cur[(n - 1) * width + u];
        double *t = prev;
        prev = cur;
        cur = t;
    }
    double *pmf = gb_xmalloc(width * sizeof *pmf);
    double total = 0;
    for (size_t u = 0; u <= umax; u++)
        total += prev[n2 * width + u];
    for (size_t u = 0; u <= umax; u++)
        pmf[u] = prev[n2 * width + u] / total;
    free(prev);
    free(cur);
    return pmf;
}

/* Inverse of the standard normal CDF by bisection on erfc: plenty for CIs. */
static double normal_quantile(double p)
{
    double lo = -40, hi = 40;
    for (int i = 0; i < 200; i++) {
        double mid = (lo + hi) / 2;
        if (0.5 * erfc(-mid / sqrt(2.0)) < p)
            lo = mid;
        else
            hi = mid;
    }
    return (lo + hi) / 2;
}

#define GB_EXACT_MAX 50 /* n1 + n2 up to which exact distributions are used */

int gb_mann_whitney(const double *a, size_t na, const double *b, size_t nb, struct gb_mwu *out)
{
    memset(out, 0, sizeof *out);
    out->p = NAN;
    if (na == 0 || nb == 0)
        return -EINVAL;
    double u = 0;
    for (size_t i = 0; i < na; i++)
        for (size_t j = 0; j < nb; j++)
            u += a[i] > b[j] ? 1.0 : a[i] == b[j] ? 0.5 : 0.0;
    out->u = u;

    /* Tie groups in the pooled sample. */
    size_t n = na + nb;
    double *pool = gb_xmalloc(n * sizeof *pool);
    memcpy(pool, a, na * sizeof *a);
    memcpy(pool + na, b, nb * sizeof *b);
    qsort(pool, n, sizeof *pool, cmp_double);
    double ties = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && pool[j] == pool[i])
            j++;
        double t = (double)(j - i);
        ties += t * t * t - t;
        i = j;
    }
    free(pool);

    double mu = (double)na * (double)nb / 2.0;
    double ubig = u > mu ? u : (double)na * (double)nb - u; /* max(U1, U2) */
    if (ties == 0 && n <= GB_EXACT_MAX) {
        double *pmf = u_null_pmf(na, nb);
        double sf = 0; /* P(U >= ubig) */
        for (size_t k = (size_t)ubig; k <= na * nb; k++)
            sf += pmf[k];
        free(pmf);
        out->exact = true;
        out->p = fmin(1.0, 2.0 * sf);
        return 0;
    }
    /* Normal approximation with tie and continuity corrections (as scipy). */
    double nn = (double)n;
    double var = (double)na * (double)nb / 12.0 * ((nn + 1) - ties / (nn * (nn - 1)));
    if (var <= 0) {
        out->p = 1.0;
        return 0;
    }
    double z = (ubig - mu - 0.5) / sqrt(var);
    out->p = fmin(1.0, erfc(z / sqrt(2.0)));
    return 0;
}

int gb_ratio_ci(const double *a, size_t na, const double *b, size_t nb, double level,
                double *est, double *lo, double *hi, double *coverage)
{
    *est = *lo = *hi = NAN;
    *coverage = 0;
    if (na == 0 || nb == 0)
        return -EINVAL;
    for (size_t i = 0; i < na; i++)
        if (!(a[i] > 0))
            return -EINVAL;
    for (size_t j = 0; j < nb; j++)
        if (!(b[j] > 0))
            return -EINVAL;
    double *sa = sorted_copy(a, na), *sb = sorted_copy(b, nb);
    *est = gb_quantile(sb, nb, 0.5) / gb_quantile(sa, na, 0.5);
    free(sa);
    free(sb);

    size_t N = na * nb;
    double *r = gb_xmalloc(N * sizeof *r);
    for (size_t i = 0; i < na; i++)
        for (size_t j = 0; j < nb; j++)
            r[i * nb + j] = b[j] / a[i];
    qsort(r, N, sizeof *r, cmp_double);

    /* Moses: [r(k), r(N+1-k)] with k the largest such that
     * P(U <= k-1) <= (1-level)/2 under the null distribution of U. */
    size_t k = 1;
    double cov;
    if (na + nb <= GB_EXACT_MAX) {
        double *pmf = u_null_pmf(na, nb);
        double cdf = pmf[0]; /* P(U <= k-1) for k = 1 */
        cov = 1.0 - 2.0 * cdf;
        for (size_t kk = 2; kk <= (N + 1) / 2; kk++) {
            cdf += pmf[kk - 1];
            if (1.0 - 2.0 * cdf < level)
                break;
            k = kk;
            cov = 1.0 - 2.0 * cdf;
        }
        free(pmf);
    } else {
        double z = normal_quantile(0.5 + level / 2.0);
        double kk = (double)N / 2.0 - z * sqrt((double)na * (double)nb * (double)(na + nb + 1) / 12.0);
        k = kk < 1 ? 1 : (size_t)floor(kk);
        cov = level;
    }
    if (k > (N + 1) / 2)
        k = (N + 1) / 2;
    *lo = r[k - 1];
    *hi = r[N - k];
    *coverage = cov < 0 ? 0 : cov;
    free(r);
    return 0;
}
