/* test_en_elu.c — blas/encodec's ELU (impls/common/en_elu.c, compiled in) on both paths,
 * the portable libm loop and AVX2+FMA where the CPU has it, against expm1 in double: a
 * sweep of the negative floats (denormals to -inf), edge values (signed zeros, NaN, +-inf,
 * the clamp at -87), positives passed through, tails of every length, in place and not,
 * and the SONO_FASTFFT_SCALAR switch. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../impls/common/en_elu.h"

#define NV 4096

static int paths(void)
{
    unsetenv("SONO_FASTFFT_SCALAR");
    return en_elu_simd() ? 2 : 1;
}

/* The bound for each path, relative to expm1(x): libm's expm1f is good to about 1 ulp
 * (glibc's stated bound; 2^-23 relative covers it at any mantissa); the AVX2 polynomial's
 * budget is EN_ELU_REL_ERR (en_elu.c: reduction, series, Horner, final fma). */
static double bound(int simd)
{
    return simd ? EN_ELU_REL_ERR : 2.0 * FLT_EPSILON;
}

static void check(int simd, const float *x, const float *y, size_t n, double *worst)
{
    for (size_t i = 0; i < n; i++) {
        if (isnan(x[i])) {
            assert_true(isnan(y[i]));
            continue;
        }
        if (!(x[i] < 0)) { /* +0, -0, positives, +inf pass through bit for bit */
            assert_memory_equal(&x[i], &y[i], sizeof(float));
            continue;
        }
        double want = expm1((double)x[i]), e = fabs(y[i] - want) / fabs(want);
        if (!(e <= bound(simd)))
            fail_msg("simd=%d: elu(%.9g) = %.9g, want %.9g (relative error %.3g > %.3g)",
                     simd, x[i], y[i], want, e, bound(simd));
        *worst = e > *worst ? e : *worst;
    }
}

/* Every 53rd negative float from the smallest denormal to -FLT_MAX (about 4e7), and every
 * 3rd in [-1, -2^-8], where n goes from 0 to -1 and the final fma adds 2^n - 1 to a p of
 * nearly its size (the path's hardest spot). */
static void sweep(void **state)
{
    (void)state;
    float *x = malloc(NV * sizeof *x), *y = malloc(NV * sizeof *y);
    assert_non_null(x);
    assert_non_null(y);
    const uint32_t lo = 0x80000001u, hi = 0xff7fffffu, d0 = 0xbb800000u, d1 = 0xbf800000u;
    for (int simd = 0; simd < paths(); simd++) {
        double worst = 0;
        size_t checked = 0;
        for (uint32_t bits = lo; bits <= hi && bits >= lo;) {
            size_t n = 0;
            for (; n < NV && bits <= hi && bits >= lo; n++) {
                memcpy(&x[n], &bits, sizeof bits);
                bits += bits >= d0 && bits <= d1 ? 3 : 53;
            }
            en_elu(x, y, n, simd);
            check(simd, x, y, n, &worst);
            checked += n;
        }
        assert_true(checked > 10000000);
        print_message("elu simd=%d: %zu negative floats, largest relative error %.3g "
                      "(bound %.3g)\n", simd, checked, worst, bound(simd));
    }
    free(x);
    free(y);
}

static void edges(void **state)
{
    (void)state;
    const float v[] = {0.0f, -0.0f, NAN, -NAN, INFINITY, -INFINITY, FLT_MIN, -FLT_MIN,
                       -FLT_TRUE_MIN, FLT_TRUE_MIN, -FLT_MAX, FLT_MAX, -86.9f, -87.0f,
                       -87.1f, -88.7f, -104.0f, -1e-30f, -1e-7f, 1e-7f, -0.3465736f,
                       -0.3465737f, -0.6931472f, -1.0397208f, 1.0f, 3.5f, -1.0f, -20.0f};
    size_t n = sizeof v / sizeof v[0];
    for (int simd = 0; simd < paths(); simd++) {
        float y[sizeof v / sizeof v[0]];
        double worst = 0;
        en_elu(v, y, n, simd);
        check(simd, v, y, n, &worst);
        /* expm1 is -1 in float from about -17.3 on: the clamp must give it exactly */
        for (size_t i = 0; i < n; i++)
            if (v[i] < -17.4f)
                assert_true(y[i] == -1.0f);
    }
}

/* n = 0..19 (tails of every length past 0, 8 and 16), exact-size buffers (ASan sees a
 * write past n), in place giving the same bits as out of place. */
static void tails(void **state)
{
    (void)state;
    for (int simd = 0; simd < paths(); simd++)
        for (size_t n = 0; n < 20; n++) {
            float *x = malloc((n ? n : 1) * sizeof *x), *y = malloc((n ? n : 1) * sizeof *y);
            assert_non_null(x);
            assert_non_null(y);
            for (size_t i = 0; i < n; i++)
                x[i] = (float)(i % 3 == 0 ? 0.7 * (double)i : -0.37 * (double)i - 0.01);
            double worst = 0;
            en_elu(x, y, n, simd);
            check(simd, x, y, n, &worst);
            en_elu(x, x, n, simd);
            if (n)
                assert_memory_equal(x, y, n * sizeof *x);
            free(x);
            free(y);
        }
}

static void scalar_switch(void **state)
{
    (void)state;
    int has = paths() == 2;
    setenv("SONO_FASTFFT_SCALAR", "1", 1);
    assert_int_equal(en_elu_simd(), 0);
    setenv("SONO_FASTFFT_SCALAR", "0", 1);
    assert_int_equal(en_elu_simd(), has);
    unsetenv("SONO_FASTFFT_SCALAR");
    assert_int_equal(en_elu_simd(), has);
    /* the scalar path is libm's expm1f, bit for bit */
    float x[3] = {-0.5f, -3.0f, -1e-4f}, y[3];
    en_elu(x, y, 3, 0);
    for (int i = 0; i < 3; i++)
        assert_true(y[i] == expm1f(x[i]));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sweep),
        cmocka_unit_test(edges),
        cmocka_unit_test(tails),
        cmocka_unit_test(scalar_switch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
