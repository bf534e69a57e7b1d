/* harness/stats.h: the statistics of a run, for the results model and
 * compare. Summaries use medians and distribution-free intervals, since
 * benchmark timings are skewed and have outliers; outliers are counted
 * (Tukey), never dropped. Comparisons use the Mann-Whitney U test and the
 * Moses interval of the ratio. Inputs are arrays of n doubles the caller
 * keeps; nothing here allocates what it returns. */
#ifndef GREENBENCH_STATS_H
#define GREENBENCH_STATS_H

#include <stdbool.h>
#include <stddef.h>

struct gb_stats {
    size_t n;
    double median, mean, stddev, cv, min, max, q1, q3;
    /* The distribution-free interval of the median and its exact coverage
     * (>= the level asked for with 6 or more values, lower with fewer:
     * 93.75% with 5, 75% with 3; docs/results-format.md, "Intervals"). */
    double ci_low, ci_high, ci_level;
    size_t outliers_mild, outliers_severe; /* Tukey 1.5 / 3 IQR, counted only */
};

/* Quantile p of n sorted values by linear interpolation (Hyndman-Fan type
 * 7, the default of R and numpy); NaN when n is 0. */
double gb_quantile(const double *sorted, size_t n, double p);
/* P(X <= k) for X ~ Binomial(n, 1/2). */
double gb_binom_half_cdf(long k, long n);
/* Interval [x(k), x(n+1-k)] of sorted data with the highest k whose coverage
 * 1 - 2 P(X <= k-1) is at least level; with too few values the widest one
 * and its (lower) coverage. */
void gb_median_ci(const double *sorted, size_t n, double level, double *lo, double *hi,
                  double *coverage);
/* All of the above for n values (any order; x is not changed), the
 * median's interval at level. Returns 0, or -EINVAL when n is 0 (st->n 0). */
int gb_stats_compute(const double *x, size_t n, double level, struct gb_stats *st);

/* The level every interval of the median asks for. */
#define GB_CI_LEVEL 0.95
/* Does an interval of this coverage reach GB_CI_LEVEL (an interval of the
 * median: 6 values or more)? */
bool gb_ci_nominal(double coverage);
/* The half-width of the median's interval relative to the median:
 * (ci_high - ci_low) / 2 / |median|; 0 when the interval is a point, NaN
 * without values. */
double gb_rel_half_width(const struct gb_stats *st);

struct gb_mwu {
    double u;   /* U of the first sample: pairs (a, b) with a > b, ties 1/2 */
    double p;   /* two-sided */
    bool exact; /* exact null distribution (no ties, n1 + n2 <= 50) */
};
/* Mann-Whitney U of a against b: 0, or -EINVAL when either is empty. */
int gb_mann_whitney(const double *a, size_t na, const double *b, size_t nb, struct gb_mwu *out);
/* The smallest two-sided p the exact U test can give for samples of na and
 * nb values (every value of one above every value of the other):
 * 2 / C(na + nb, na). With p_min >= alpha no difference can be significant:
 * too few repetitions to tell. 1 when either is empty. */
double gb_mwu_min_p(size_t na, size_t nb);
/* Distribution-free interval of the ratio b/a (Moses / Hodges-Lehmann on the
 * n1*n2 pairwise ratios; positive data) at level: est is the ratio of the
 * medians. 0, or -EINVAL when either is empty or a value is not positive. */
int gb_ratio_ci(const double *a, size_t na, const double *b, size_t nb, double level,
                double *est, double *lo, double *hi, double *coverage);

#endif /* GREENBENCH_STATS_H */
