/* stats.c — summaries of timing samples for the measure loop and the results records.
 * The CI of the median is distribution-free (order statistics + exact binomial), because
 * timing samples are skewed and heavy-tailed, so no normal approximation is trusted. */
#include "stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ln 2, spelled out: M_LN2 is not in C11 proper. */
static const double LN2 = 0.69314718055994530941723212145818;

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double sono_quantile_sorted(const double *sorted, size_t n, double q)
{
    if (n == 0)
        return 0.0;
    if (!(q > 0.0)) /* also catches NaN */
        return sorted[0];
    if (q >= 1.0)
        return sorted[n - 1];
    /* NumPy 'linear': h = (n-1) q, interpolate between floor(h) and floor(h)+1. */
    double h = (double)(n - 1) * q;
    size_t i = (size_t)h;
    if (i >= n - 1)
        return sorted[n - 1];
    double frac = h - (double)i;
    return sorted[i] + frac * (sorted[i + 1] - sorted[i]);
}

/* log P(B = k) for B ~ Bin(n, 1/2); lgamma keeps it finite for n up to millions, where
 * 2^-n itself underflows a double. */
static double log_binom_half(size_t n, size_t k)
{
    return lgamma((double)n + 1.0) - lgamma((double)k + 1.0) -
           lgamma((double)(n - k) + 1.0) - (double)n * LN2;
}

/* Coverage of the pair (lo, n-1-lo) is P(lo+1 <= B <= n-1-lo) = 1 - 2 P(B <= lo) by the
 * symmetry of Bin(n, 1/2), so the widest-interior pair is the largest lo whose lower tail
 * P(B <= lo) keeps the coverage >= 0.95. For n < 6 even lo = 0 covers only 1 - 2^(1-n)
 * < 0.95 (n = 5: 0.9375), so the whole range is returned: the best the sample can do. */
void sono_median_ci_ranks(size_t n, size_t *lo, size_t *hi)
{
    if (n < 6) {
        *lo = 0;
        *hi = n ? n - 1 : 0;
        return;
    }
    double tail = 0.0; /* P(B <= k) */
    size_t best = 0;
    for (size_t k = 0; k < n / 2; k++) {
        double lp = log_binom_half(n, k);
        if (lp > -745.0) /* below that exp() is 0 anyway; skip the call */
            tail += exp(lp);
        if (1.0 - 2.0 * tail < 0.95)
            break;
        best = k;
    }
    *lo = best;
    *hi = n - 1 - best;
}

/* Tukey's classification over the sorted sample; strict comparisons, so a sample on a
 * fence counts as inside. */
static void count_outliers(const double *sorted, size_t n, sono_summary *s)
{
    double iqr = s->q3 - s->q1;
    double lo_in = s->q1 - 1.5 * iqr, lo_out = s->q1 - 3.0 * iqr;
    double hi_in = s->q3 + 1.5 * iqr, hi_out = s->q3 + 3.0 * iqr;
    for (size_t i = 0; i < n && sorted[i] < lo_in; i++) {
        if (sorted[i] < lo_out)
            s->low_severe++;
        else
            s->low_mild++;
    }
    for (size_t i = n; i > 0 && sorted[i - 1] > hi_in; i--) {
        if (sorted[i - 1] > hi_out)
            s->high_severe++;
        else
            s->high_mild++;
    }
}

void sono_summarize(const double *x, size_t n, sono_summary *s)
{
    memset(s, 0, sizeof *s);
    if (n == 0)
        return;
    double *v = malloc(n * sizeof *v);
    s->n = n;
    /* Two passes over the unsorted data, so the moments exist even if malloc fails. */
    double sum = 0.0, mn = x[0], mx = x[0];
    for (size_t i = 0; i < n; i++) {
        sum += x[i];
        mn = x[i] < mn ? x[i] : mn;
        mx = x[i] > mx ? x[i] : mx;
    }
    s->min = mn;
    s->max = mx;
    s->mean = sum / (double)n;
    if (n > 1) {
        double ss = 0.0;
        for (size_t i = 0; i < n; i++) {
            double d = x[i] - s->mean;
            ss += d * d;
        }
        s->stddev = sqrt(ss / (double)(n - 1));
    }
    if (!v) {
        /* No memory for the sorted copy: order statistics unknown, say so with NaN
         * rather than invent them. */
        s->median = s->p95 = s->p99 = s->ci_lo = s->ci_hi = s->ci_rel = NAN;
        s->q1 = s->q3 = NAN;
        return;
    }
    memcpy(v, x, n * sizeof *v);
    qsort(v, n, sizeof *v, cmp_double);
    s->median = sono_quantile_sorted(v, n, 0.5);
    s->p95 = sono_quantile_sorted(v, n, 0.95);
    s->p99 = sono_quantile_sorted(v, n, 0.99);
    size_t lo, hi;
    sono_median_ci_ranks(n, &lo, &hi);
    s->ci_lo = v[lo];
    s->ci_hi = v[hi];
    s->ci_rel = s->median != 0.0 ? (s->ci_hi - s->ci_lo) / 2.0 / s->median : 0.0;
    s->q1 = sono_quantile_sorted(v, n, 0.25);
    s->q3 = sono_quantile_sorted(v, n, 0.75);
    count_outliers(v, n, s);
    free(v);
}
