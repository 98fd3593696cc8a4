/* test_reference.c — the float64 references of ops fft and rfft (harness/ops/ref/dft64.c and
 * the ops' reference functions) against a direct DFT written here in long double, and at
 * n = 65536 against properties of the DFT; then the ops' shapes, cost model and tolerance. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops/ref/dft64.h"
#include "op.h"
#include "runner.h"

#define RF_PI 3.141592653589793238462643383279502884L

static const long long rf_extra_sizes[] = {97, 480, 1000, 1024, 1920};

static uint64_t rf_seed = 0x243f6a8885a308d3ull;

/* splitmix64, uniform in [-1, 1) with 53 random bits */
static double rf_rand(void)
{
    uint64_t z = (rf_seed += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return (double)(z >> 11) * 0x1p-52 - 1.0;
}

/* X[k] = sum_j x[j] e^{-2 pi i (jk mod n)/n} over `batch` rows, in long double. */
static void rf_direct(const long double *x, long double *y, long long n, long long batch)
{
    long double *w = malloc(sizeof *w * 2 * (size_t)n);
    assert_non_null(w);
    for (long long m = 0; m < n; m++) {
        long double a = -2.0L * RF_PI * (long double)m / (long double)n;
        w[2 * m] = cosl(a);
        w[2 * m + 1] = sinl(a);
    }
    for (long long b = 0; b < batch; b++) {
        const long double *xr = x + 2 * b * n;
        for (long long k = 0; k < n; k++) {
            long double re = 0, im = 0;
            for (long long j = 0; j < n; j++) {
                long long m = j * k % n;
                re += xr[2 * j] * w[2 * m] - xr[2 * j + 1] * w[2 * m + 1];
                im += xr[2 * j] * w[2 * m + 1] + xr[2 * j + 1] * w[2 * m];
            }
            y[2 * (b * n + k)] = re;
            y[2 * (b * n + k) + 1] = im;
        }
    }
    free(w);
}

/* ||got - want|| / ||want|| over `count` scalars; want may not be all zero. */
static double rf_rel_l2(const double *got, const long double *want, size_t count)
{
    long double e = 0, r = 0;
    for (size_t i = 0; i < count; i++) {
        long double d = (long double)got[i] - want[i];
        e += d * d;
        r += want[i] * want[i];
    }
    assert_true(r > 0);
    return (double)sqrtl(e / r);
}

/* Calls fn(n, batch) for n = 1..64, then the larger sizes, each with batch 1 and 3. */
static void rf_each_size(void (*fn)(long long n, long long batch))
{
    for (long long n = 1; n <= 64; n++) {
        fn(n, 1);
        fn(n, 3);
    }
    for (size_t i = 0; i < sizeof rf_extra_sizes / sizeof rf_extra_sizes[0]; i++) {
        fn(rf_extra_sizes[i], 1);
        fn(rf_extra_sizes[i], 3);
    }
}

static void rf_check_dft64(long long n, long long batch)
{
    size_t count = (size_t)(2 * n * batch);
    double *x = malloc(count * sizeof *x), *y = malloc(count * sizeof *y);
    long double *xl = malloc(count * sizeof *xl), *yl = malloc(count * sizeof *yl);
    assert_true(x && y && xl && yl);
    for (size_t i = 0; i < count; i++)
        xl[i] = x[i] = rf_rand();
    assert_int_equal(sono_dft64(x, y, n, batch), 0);
    rf_direct(xl, yl, n, batch);
    double e = rf_rel_l2(y, yl, count);
    if (!(e < 1e-13))
        fail_msg("sono_dft64 n=%lld batch=%lld: rel L2 error %.3g >= 1e-13", n, batch, e);
    free(x);
    free(y);
    free(xl);
    free(yl);
}

static void rf_dft64_vs_direct(void **state)
{
    (void)state;
    rf_each_size(rf_check_dft64);
}

static sono_params rf_params(long long n, long long batch)
{
    sono_params p = {.count = 2,
                     .v = {{.name = "n", .type = SONO_PINT, .i = n},
                           {.name = "batch", .type = SONO_PINT, .i = batch}}};
    return p;
}

/* The op's reference on float input; for rfft also the fft reference of the same rows
 * as complex (im = 0), whose first n/2+1 bins must be the rfft's. */
static void rf_check_op(long long n, long long batch)
{
    const sono_op *fft = sono_op_find("fft"), *rfft = sono_op_find("rfft");
    sono_params p = rf_params(n, batch);
    sono_buf cin, cout, rin, rout;
    fft->shapes(&p, &cin, &cout);
    rfft->shapes(&p, &rin, &rout);
    long long h = n / 2 + 1;
    cout.dtype = sono_dtype_wide(cout.dtype);
    rout.dtype = sono_dtype_wide(rout.dtype);
    assert_int_equal(cout.dtype, SONO_C128);
    assert_int_equal(rout.dtype, SONO_C128);
    assert_int_equal(sono_buf_alloc(&cin, NULL), 0);
    assert_int_equal(sono_buf_alloc(&cout, NULL), 0);
    assert_int_equal(sono_buf_alloc(&rin, NULL), 0);
    assert_int_equal(sono_buf_alloc(&rout, NULL), 0);
    size_t count = (size_t)(2 * n * batch);
    long double *xl = calloc(count, sizeof *xl), *yl = malloc(count * sizeof *yl);
    long double *xr = calloc(count, sizeof *xr), *yr = malloc(count * sizeof *yr);
    assert_true(xl && yl && xr && yr);
    float *cf = cin.data, *rf = rin.data;
    for (size_t i = 0; i < count; i++)
        xl[i] = cf[i] = (float)rf_rand();
    for (long long i = 0; i < n * batch; i++)
        xr[2 * i] = rf[i] = (float)rf_rand();
    sono_error err = {0};
    assert_int_equal(fft->reference(&p, &cin, &cout, &err), 0);
    assert_int_equal(rfft->reference(&p, &rin, &rout, &err), 0);
    rf_direct(xl, yl, n, batch);
    rf_direct(xr, yr, n, batch);
    double e = rf_rel_l2(cout.data, yl, count);
    if (!(e < 1e-13))
        fail_msg("fft reference n=%lld batch=%lld: rel L2 error %.3g", n, batch, e);
    /* keep bins 0..n/2 of each row of the direct DFT */
    for (long long b = 0; b < batch; b++)
        for (long long k = 0; k < 2 * h; k++)
            yr[b * 2 * h + k] = yr[b * 2 * n + k];
    e = rf_rel_l2(rout.data, yr, (size_t)(2 * h * batch));
    if (!(e < 1e-13))
        fail_msg("rfft reference n=%lld batch=%lld: rel L2 error %.3g", n, batch, e);

    /* the same real rows through the fft reference */
    for (long long i = 0; i < n * batch; i++) {
        cf[2 * i] = rf[i];
        cf[2 * i + 1] = 0.0f;
    }
    assert_int_equal(fft->reference(&p, &cin, &cout, &err), 0);
    const double *full = cout.data, *half = rout.data;
    for (long long b = 0; b < batch; b++)
        for (long long k = 0; k < 2 * h; k++) {
            double a = full[b * 2 * n + k], r = half[b * 2 * h + k];
            if (fabs(a - r) > 1e-14 * (1.0 + fabs(a)))
                fail_msg("n=%lld row %lld scalar %lld: rfft %.17g, fft %.17g", n, b, k, r, a);
        }
    sono_buf_free(&cin);
    sono_buf_free(&cout);
    sono_buf_free(&rin);
    sono_buf_free(&rout);
    free(xl);
    free(yl);
    free(xr);
    free(yr);
}

static void rf_op_references_vs_direct(void **state)
{
    (void)state;
    rf_each_size(rf_check_op);
}

/* ---- n = 65536: properties instead of the O(n^2) sum ------------------------------ */
#define RF_BIG 65536

static double *rf_big_dft(const double *x)
{
    double *y = malloc(sizeof *y * 2 * RF_BIG);
    assert_non_null(y);
    assert_int_equal(sono_dft64(x, y, RF_BIG, 1), 0);
    return y;
}

static double *rf_big_random(void)
{
    double *x = malloc(sizeof *x * 2 * RF_BIG);
    assert_non_null(x);
    for (long long i = 0; i < 2 * RF_BIG; i++)
        x[i] = rf_rand();
    return x;
}

static void rf_big_parseval_and_linearity(void **state)
{
    (void)state;
    double *x = rf_big_random(), *z = rf_big_random(), *v = malloc(sizeof *v * 2 * RF_BIG);
    assert_non_null(v);
    double *X = rf_big_dft(x), *Z = rf_big_dft(z);
    long double sx = 0, sX = 0;
    for (long long i = 0; i < 2 * RF_BIG; i++) {
        sx += (long double)x[i] * x[i];
        sX += (long double)X[i] * X[i];
    }
    double e = (double)fabsl(sx * RF_BIG - sX) / (double)sX;
    if (!(e < 1e-12))
        fail_msg("Parseval at n=65536: relative mismatch %.3g", e);

    /* DFT(a x + c z) = a X + c Z for complex a, c */
    const double ar = 0.75, ai = -1.25, cr = -2.0, ci = 0.5;
    for (long long i = 0; i < RF_BIG; i++) {
        v[2 * i] = ar * x[2 * i] - ai * x[2 * i + 1] + cr * z[2 * i] - ci * z[2 * i + 1];
        v[2 * i + 1] = ar * x[2 * i + 1] + ai * x[2 * i] + cr * z[2 * i + 1] + ci * z[2 * i];
    }
    double *V = rf_big_dft(v);
    long double d2 = 0, n2 = 0;
    for (long long k = 0; k < RF_BIG; k++) {
        long double re = (long double)ar * X[2 * k] - (long double)ai * X[2 * k + 1] +
                         (long double)cr * Z[2 * k] - (long double)ci * Z[2 * k + 1];
        long double im = (long double)ar * X[2 * k + 1] + (long double)ai * X[2 * k] +
                         (long double)cr * Z[2 * k + 1] + (long double)ci * Z[2 * k];
        d2 += (V[2 * k] - re) * (V[2 * k] - re) + (V[2 * k + 1] - im) * (V[2 * k + 1] - im);
        n2 += re * re + im * im;
    }
    e = (double)sqrtl(d2 / n2);
    if (!(e < 1e-13))
        fail_msg("linearity at n=65536: rel L2 %.3g", e);
    free(x);
    free(z);
    free(v);
    free(X);
    free(Z);
    free(V);
}

static void rf_big_delta_and_exponential(void **state)
{
    (void)state;
    double *x = calloc(2 * RF_BIG, sizeof *x);
    assert_non_null(x);
    /* a unit delta at p: X[k] = e^{-2 pi i kp/n} */
    const long long ps[] = {0, 1, 12345, RF_BIG - 1};
    for (size_t t = 0; t < sizeof ps / sizeof ps[0]; t++) {
        long long p = ps[t];
        memset(x, 0, sizeof *x * 2 * RF_BIG);
        x[2 * p] = 1.0;
        double *X = rf_big_dft(x), worst = 0;
        for (long long k = 0; k < RF_BIG; k++) {
            long double a = -2.0L * RF_PI * (long double)(k * p % RF_BIG) / RF_BIG;
            double d = (double)hypotl(X[2 * k] - cosl(a), X[2 * k + 1] - sinl(a));
            worst = d > worst ? d : worst;
        }
        if (!(worst < 1e-13))
            fail_msg("delta at %lld: max |X[k] - e^{-2 pi i kp/n}| = %.3g", p, worst);
        free(X);
    }
    /* x[j] = e^{+2 pi i bj/n}: X[b] = n, every other bin 0 */
    const long long bins[] = {0, 3, 32768, RF_BIG - 7};
    for (size_t t = 0; t < sizeof bins / sizeof bins[0]; t++) {
        long long b = bins[t];
        for (long long j = 0; j < RF_BIG; j++) {
            long double a = 2.0L * RF_PI * (long double)(j * b % RF_BIG) / RF_BIG;
            x[2 * j] = (double)cosl(a);
            x[2 * j + 1] = (double)sinl(a);
        }
        double *X = rf_big_dft(x), worst = 0;
        for (long long k = 0; k < RF_BIG; k++) {
            double d = hypot(X[2 * k] - (k == b ? RF_BIG : 0.0), X[2 * k + 1]);
            worst = d > worst ? d : worst;
        }
        /* relative to the peak n: 1e-14 is a few ulps of n times log2 n */
        if (!(worst < 1e-14 * RF_BIG))
            fail_msg("exponential at bin %lld: max error %.3g (peak %d)", b, worst, RF_BIG);
        free(X);
    }
    free(x);
}

/* ---- contracts: shapes, cost, tolerance, validate --------------------------------- */

static void rf_shapes(void **state)
{
    (void)state;
    const sono_op *fft = sono_op_find("fft"), *rfft = sono_op_find("rfft");
    const long long ns[] = {1, 2, 7, 480, 1024};
    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++) {
        sono_params p = rf_params(ns[i], 5);
        sono_buf in, out;
        fft->shapes(&p, &in, &out);
        assert_int_equal(in.dtype, SONO_C64);
        assert_int_equal(out.dtype, SONO_C64);
        assert_int_equal(in.ndim, 2);
        assert_int_equal(out.ndim, 2);
        assert_int_equal(in.shape[0], 5);
        assert_int_equal(in.shape[1], ns[i]);
        assert_int_equal(out.shape[0], 5);
        assert_int_equal(out.shape[1], ns[i]);
        rfft->shapes(&p, &in, &out);
        assert_int_equal(in.dtype, SONO_F32);
        assert_int_equal(out.dtype, SONO_C64);
        assert_int_equal(in.shape[1], ns[i]);
        assert_int_equal(out.shape[0], 5);
        assert_int_equal(out.shape[1], ns[i] / 2 + 1); /* numpy.fft.rfft's bin count */
    }
}

static void rf_cost(void **state)
{
    (void)state;
    const sono_op *fft = sono_op_find("fft"), *rfft = sono_op_find("rfft");
    /* n = 1024, batch 3: log2 = 10; complex floats are 8 bytes, real floats 4 */
    sono_params p = rf_params(1024, 3);
    sono_cost c;
    fft->cost(&p, &c);
    assert_float_equal(c.flops, 3 * 5.0 * 1024 * 10, 1e-6);
    assert_float_equal(c.bytes, 3 * (1024 * 8.0 + 1024 * 8.0), 1e-9);
    rfft->cost(&p, &c);
    assert_float_equal(c.flops, 3 * 2.5 * 1024 * 10, 1e-6);
    assert_float_equal(c.bytes, 3 * (1024 * 4.0 + 513 * 8.0), 1e-9);
    /* n = 480 (not a power of two), batch 1; n = 7 odd: 4 bins */
    p = rf_params(480, 1);
    fft->cost(&p, &c);
    assert_float_equal(c.flops, 5.0 * 480 * log2(480.0), 1e-6);
    assert_float_equal(c.bytes, 480 * 16.0, 1e-9);
    p = rf_params(7, 2);
    rfft->cost(&p, &c);
    assert_float_equal(c.flops, 2 * 2.5 * 7 * log2(7.0), 1e-9);
    assert_float_equal(c.bytes, 2 * (7 * 4.0 + 4 * 8.0), 1e-9);
    /* n = 1: no arithmetic, still the bytes */
    p = rf_params(1, 1);
    fft->cost(&p, &c);
    assert_float_equal(c.flops, 0, 0);
    assert_float_equal(c.bytes, 16.0, 0);
}

static void rf_tolerance(void **state)
{
    (void)state;
    const sono_op *ops[] = {sono_op_find("fft"), sono_op_find("rfft")};
    const sono_err_growth gs[] = {SONO_ERR_LOG, SONO_ERR_LINEAR};
    for (int o = 0; o < 2; o++)
        for (int g = 0; g < 2; g++) {
            double prev = 0;
            for (long long n = 1; n <= 1 << 20; n++) {
                sono_params p = rf_params(n, 1);
                double t = ops[o]->tolerance(&p, gs[g]);
                /* positive, never shrinking with n, and always above float rounding */
                if (!(t >= prev && t >= FLT_EPSILON))
                    fail_msg("%s growth %d: tol(%lld) = %.3g after %.3g", ops[o]->name, g, n,
                             t, prev);
                prev = t;
                if (n >= 1024)
                    n = n * 2 - 1; /* then powers of two only */
            }
            sono_params small = rf_params(64, 1), large = rf_params(65536, 1);
            double ts = ops[o]->tolerance(&small, gs[g]), tl = ops[o]->tolerance(&large, gs[g]);
            assert_true(tl > ts); /* it grows, not only stays */
            /* a wrong twiddle costs ~1e-3: the fast-algorithm bound must stay far below */
            if (gs[g] == SONO_ERR_LOG)
                assert_true(tl < 1e-4);
            else /* eps * n for the direct sum: grows faster than the log bound */
                assert_true(tl > ops[o]->tolerance(&large, SONO_ERR_LOG));
        }
}

static void rf_validate(void **state)
{
    (void)state;
    const sono_op *fft = sono_op_find("fft"), *rfft = sono_op_find("rfft");
    sono_error err = {0};
    sono_params ok = rf_params(1 << 24, 16), big = rf_params(1 << 24, 17);
    assert_int_equal(fft->validate(&ok, &err), 0); /* exactly 2^28 samples */
    assert_int_equal(fft->validate(&big, &err), SONO_EINVAL);
    assert_non_null(strstr(err.msg, "2^28"));
    assert_int_equal(rfft->validate(&big, &err), SONO_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rf_dft64_vs_direct),
        cmocka_unit_test(rf_op_references_vs_direct),
        cmocka_unit_test(rf_big_parseval_and_linearity),
        cmocka_unit_test(rf_big_delta_and_exponential),
        cmocka_unit_test(rf_shapes),
        cmocka_unit_test(rf_cost),
        cmocka_unit_test(rf_tolerance),
        cmocka_unit_test(rf_validate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
