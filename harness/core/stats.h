/* stats.h — summaries of timing samples: order statistics, moments, the distribution-free
 * confidence interval of the median, and the stopping rule the measure loop uses. */
#ifndef SONO_STATS_H
#define SONO_STATS_H

#include <stddef.h>

typedef struct sono_summary {
    size_t n;
    double min, max, mean, stddev; /* stddev: sample (n-1) */
    double median, p95, p99;       /* linear interpolation between order statistics */
    double ci_lo, ci_hi;           /* 95 % CI of the median (order statistics, binomial) */
    double ci_rel;                 /* (ci_hi - ci_lo) / 2 / median: relative half-width */
    /* Tukey's fences, appended: quartiles (same linear rule) and how many samples lie
     * beyond q1 - 1.5 IQR / q3 + 1.5 IQR (mild) or beyond 3 IQR (severe). Outliers are
     * only counted: every statistic above is over all n samples. A value exactly on a
     * fence is inside it. With IQR = 0 (e.g. a coarse clock giving equal samples) any
     * sample off the quartiles is severe, as the definition says. */
    double q1, q3;
    size_t low_mild, low_severe;   /* [q1 - 3 IQR, q1 - 1.5 IQR)  and  < q1 - 3 IQR */
    size_t high_mild, high_severe; /* (q3 + 1.5 IQR, q3 + 3 IQR]  and  > q3 + 3 IQR */
} sono_summary;

/* Summarise x[0..n) (not modified). n == 0 gives all zeros. For n < 6 the CI of the
 * median cannot reach 95 % coverage: ci_lo = min, ci_hi = max. If the sorted copy cannot
 * be allocated, the order statistics (median .. ci_rel, q1, q3) are NaN and the outlier
 * counts 0. */
void sono_summarize(const double *x, size_t n, sono_summary *s);

/* q-quantile (0..1) of sorted[0..n), linear interpolation (NumPy's default). */
double sono_quantile_sorted(const double *sorted, size_t n, double q);

/* Ranks (0-based, into the sorted sample) bounding the 95 % CI of the median:
 * the largest j and smallest k with P(Bin(n,1/2) in [j+1, k]) >= 0.95, exact binomial. */
void sono_median_ci_ranks(size_t n, size_t *lo, size_t *hi);

#endif
