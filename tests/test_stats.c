/* test_stats.c — checks harness/core/stats.c against answers derived by hand from the
 * definitions (NumPy's 'linear' quantile rule) and against an exact binomial coverage
 * computed here independently, by brute-force summation in long double. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>

#include "stats.h"

/* P(a <= B <= b), B ~ Bin(n, 1/2), as sum of C(n,k) / 2^n with C built by Pascal's rule
 * rather than lgamma, so it shares nothing with the code under test. */
static long double st_coverage(size_t n, long a, long b)
{
    long double row[201] = {1.0L};
    for (size_t i = 1; i <= n; i++)
        for (size_t k = i; k > 0; k--)
            row[k] += row[k - 1];
    long double sum = 0.0L;
    for (long k = a; k <= b; k++)
        if (k >= 0 && k <= (long)n)
            sum += row[k];
    return sum / powl(2.0L, (long double)n);
}

static void st_quantiles_1_to_10(void **state)
{
    (void)state;
    const double x[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    /* NumPy linear: h = (n-1) q = 9q; value = x[floor h] + frac(h) (x[floor h + 1] - x[..])
     * q=0.5: h=4.5 -> 5 + .5*1 = 5.5; q=0.25: h=2.25 -> 3.25; q=0.95: h=8.55 -> 9.55;
     * q=0.99: h=8.91 -> 9.91; q=0: 1; q=1: 10. */
    assert_float_equal(sono_quantile_sorted(x, 10, 0.5), 5.5, 1e-12);
    assert_float_equal(sono_quantile_sorted(x, 10, 0.25), 3.25, 1e-12);
    assert_float_equal(sono_quantile_sorted(x, 10, 0.95), 9.55, 1e-12);
    assert_float_equal(sono_quantile_sorted(x, 10, 0.99), 9.91, 1e-12);
    assert_float_equal(sono_quantile_sorted(x, 10, 0.0), 1.0, 0);
    assert_float_equal(sono_quantile_sorted(x, 10, 1.0), 10.0, 0);
    /* one element: every quantile is it; odd n: the median is the middle element */
    assert_float_equal(sono_quantile_sorted(x + 3, 1, 0.7), 4.0, 0);
    assert_float_equal(sono_quantile_sorted(x, 5, 0.5), 3.0, 0);
}

static void st_ci_ranks_exact(void **state)
{
    (void)state;
    /* Hand values (the classic table): n=10 -> 2nd..9th, n=20 -> 6th..15th,
     * n=100 -> 40th..61st order statistics, 1-based. */
    const size_t ns[3] = {10, 20, 100};
    const size_t want_lo[3] = {1, 5, 39};
    for (int i = 0; i < 3; i++) {
        size_t n = ns[i], lo = 999, hi = 999;
        sono_median_ci_ranks(n, &lo, &hi);
        assert_int_equal(lo, want_lo[i]);
        assert_int_equal(hi, n - 1 - lo);
        long double cov = st_coverage(n, (long)lo + 1, (long)hi);
        assert_true(cov >= 0.95L);
        long double narrower = st_coverage(n, (long)lo + 2, (long)hi - 1);
        assert_true(narrower < 0.95L);
    }
}

static void st_ci_ranks_small_and_large(void **state)
{
    (void)state;
    size_t lo, hi;
    for (size_t n = 1; n < 6; n++) {
        sono_median_ci_ranks(n, &lo, &hi);
        assert_int_equal(lo, 0);
        assert_int_equal(hi, n - 1);
    }
    /* n = 6 is the first n where (0, 5) reaches 95 %: 1 - 2/64 = 0.96875 */
    sono_median_ci_ranks(6, &lo, &hi);
    assert_int_equal(lo, 0);
    assert_int_equal(hi, 5);
    /* every n up to 200 against brute force */
    for (size_t n = 6; n <= 200; n++) {
        sono_median_ci_ranks(n, &lo, &hi);
        assert_int_equal(hi, n - 1 - lo);
        assert_true(st_coverage(n, (long)lo + 1, (long)hi) >= 0.95L);
        assert_true(st_coverage(n, (long)lo + 2, (long)hi - 1) < 0.95L);
    }
    /* large n must not overflow; normal approximation: lo ~ n/2 - 1.96 sqrt(n)/2 */
    sono_median_ci_ranks(100000, &lo, &hi);
    double approx = 50000.0 - 1.959964 * sqrt(100000.0) / 2.0;
    assert_true(fabs((double)lo - approx) < 3.0);
    assert_int_equal(hi, 100000 - 1 - lo);
}

static void st_summarize(void **state)
{
    (void)state;
    /* 10..1 in reverse: summarize must sort a copy and leave x alone */
    double x[10];
    for (int i = 0; i < 10; i++)
        x[i] = 10 - i;
    sono_summary s;
    sono_summarize(x, 10, &s);
    assert_int_equal(s.n, 10);
    assert_float_equal(x[0], 10.0, 0);
    assert_float_equal(s.min, 1.0, 0);
    assert_float_equal(s.max, 10.0, 0);
    assert_float_equal(s.mean, 5.5, 1e-12);
    /* sum of squared deviations of 1..10 = 82.5; / 9 */
    assert_float_equal(s.stddev, sqrt(82.5 / 9.0), 1e-12);
    assert_float_equal(s.median, 5.5, 1e-12);
    assert_float_equal(s.p95, 9.55, 1e-12);
    assert_float_equal(s.p99, 9.91, 1e-12);
    /* ranks 1 and 8 of 1..10 */
    assert_float_equal(s.ci_lo, 2.0, 0);
    assert_float_equal(s.ci_hi, 9.0, 0);
    assert_float_equal(s.ci_rel, (9.0 - 2.0) / 2.0 / 5.5, 1e-12);
}

static void st_summarize_edges(void **state)
{
    (void)state;
    sono_summary s;
    sono_summarize(NULL, 0, &s);
    assert_int_equal(s.n, 0);
    assert_float_equal(s.median, 0, 0);
    assert_float_equal(s.ci_rel, 0, 0);

    const double one = 3.0;
    sono_summarize(&one, 1, &s);
    assert_int_equal(s.n, 1);
    assert_float_equal(s.stddev, 0, 0);
    assert_float_equal(s.median, 3.0, 0);
    assert_float_equal(s.ci_lo, 3.0, 0);
    assert_float_equal(s.ci_hi, 3.0, 0);

    /* n < 6: the CI is [min, max] */
    const double few[4] = {4, 1, 3, 2};
    sono_summarize(few, 4, &s);
    assert_float_equal(s.ci_lo, 1.0, 0);
    assert_float_equal(s.ci_hi, 4.0, 0);
    assert_float_equal(s.median, 2.5, 0);

    /* median 0: ci_rel is defined as 0, not inf */
    const double z[3] = {-1, 0, 1};
    sono_summarize(z, 3, &s);
    assert_float_equal(s.median, 0, 0);
    assert_float_equal(s.ci_rel, 0, 0);
}

static void st_outliers_planted(void **state)
{
    (void)state;
    /* 1..20 plus one planted value per class. Sorted (n = 24): -40, -15, 1..20, 45, 80,
     * so sorted[i] = i - 1 for i in 2..21.
     * q1: h = 23 * .25 = 5.75 -> sorted[5] + .75 (sorted[6] - sorted[5]) = 4 + .75 = 4.75
     * q3: h = 23 * .75 = 17.25 -> 16 + .25 = 16.25; IQR = 11.5, 1.5 IQR = 17.25, 3 IQR = 34.5
     * low fences -12.5 / -29.75: -15 mild, -40 severe;
     * high fences 33.5 / 50.75: 45 mild, 80 severe. */
    double x[24];
    for (int i = 0; i < 20; i++)
        x[i] = i + 1;
    x[20] = 80;
    x[21] = -15;
    x[22] = 45;
    x[23] = -40;
    sono_summary s;
    sono_summarize(x, 24, &s);
    assert_float_equal(s.q1, 4.75, 1e-12);
    assert_float_equal(s.q3, 16.25, 1e-12);
    assert_int_equal(s.low_mild, 1);
    assert_int_equal(s.low_severe, 1);
    assert_int_equal(s.high_mild, 1);
    assert_int_equal(s.high_severe, 1);
    /* counted, not dropped: n, extremes and mean are over all 24.
     * sum = 210 - 15 - 40 + 45 + 80 = 280; median h = 11.5 -> 10 + .5 = 10.5 */
    assert_int_equal(s.n, 24);
    assert_float_equal(s.min, -40.0, 0);
    assert_float_equal(s.max, 80.0, 0);
    assert_float_equal(s.mean, 280.0 / 24.0, 1e-12);
    assert_float_equal(s.median, 10.5, 1e-12);
}

static void st_outliers_fences_and_clean(void **state)
{
    (void)state;
    /* 1..20 alone: q1 = h 4.75 -> 5.75, q3 = h 14.25 -> 15.25, fences -8.5 / 29.5: none */
    double x[22];
    for (int i = 0; i < 20; i++)
        x[i] = i + 1;
    sono_summary s;
    sono_summarize(x, 20, &s);
    assert_float_equal(s.q1, 5.75, 1e-12);
    assert_float_equal(s.q3, 15.25, 1e-12);
    assert_int_equal(s.low_mild + s.low_severe + s.high_mild + s.high_severe, 0);

    /* Values exactly on a fence are inside it. Sorted (n = 22): a, 1..20, b, with
     * q1 = h 5.25 -> 5.25, q3 = h 15.75 -> 15.75, IQR = 10.5 (all exact in binary):
     * inner low fence 5.25 - 15.75 = -10.5, outer high fence 15.75 + 31.5 = 47.25.
     * a = -10.5 on the inner fence: not an outlier; b = 47.25 on the outer: mild. */
    x[20] = -10.5;
    x[21] = 47.25;
    sono_summarize(x, 22, &s);
    assert_float_equal(s.q1, 5.25, 0);
    assert_float_equal(s.q3, 15.75, 0);
    assert_int_equal(s.low_mild, 0);
    assert_int_equal(s.low_severe, 0);
    assert_int_equal(s.high_mild, 1);
    assert_int_equal(s.high_severe, 0);

    /* just past each fence: -10.5 - 1/64 mild low, 47.25 + 1/64 severe high */
    x[20] = -10.5 - 1.0 / 64;
    x[21] = 47.25 + 1.0 / 64;
    sono_summarize(x, 22, &s);
    assert_int_equal(s.low_mild, 1);
    assert_int_equal(s.high_severe, 1);
    assert_int_equal(s.low_severe + s.high_mild, 0);
}

static void st_outliers_degenerate(void **state)
{
    (void)state;
    /* IQR = 0: seven equal samples and one a tick above. q1 = q3 = 5, so every fence is 5
     * and 9 is beyond 5 + 3 * 0: severe. */
    const double x[8] = {5, 5, 5, 9, 5, 5, 5, 5};
    sono_summary s;
    sono_summarize(x, 8, &s);
    assert_float_equal(s.q1, 5.0, 0);
    assert_float_equal(s.q3, 5.0, 0);
    assert_int_equal(s.high_severe, 1);
    assert_int_equal(s.low_mild + s.low_severe + s.high_mild, 0);

    /* all equal: nothing outside; n == 0: zeros */
    sono_summarize(x, 3, &s);
    assert_int_equal(s.low_mild + s.low_severe + s.high_mild + s.high_severe, 0);
    sono_summarize(NULL, 0, &s);
    assert_float_equal(s.q1, 0, 0);
    assert_float_equal(s.q3, 0, 0);
    assert_int_equal(s.low_mild + s.low_severe + s.high_mild + s.high_severe, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(st_quantiles_1_to_10),
        cmocka_unit_test(st_ci_ranks_exact),
        cmocka_unit_test(st_ci_ranks_small_and_large),
        cmocka_unit_test(st_summarize),
        cmocka_unit_test(st_summarize_edges),
        cmocka_unit_test(st_outliers_planted),
        cmocka_unit_test(st_outliers_fences_and_clean),
        cmocka_unit_test(st_outliers_degenerate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
