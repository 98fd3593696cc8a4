/* test_cuda_math_gdt.c — gemm_dt's host-side pieces without a GPU (issue 26): the element
 * conversions of gdt_math.h against independent computations in double (the nearest
 * grid point by scaling and rint, ties to even) over every upper half of a float with the
 * low halves that make ties and near-ties, their agreement with the harness's input hook,
 * and gemm_dt_map.h's row-major to column-major mapping run through a host column-major
 * GEMM with cuBLASLt's semantics against the row-major product in double. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <fenv.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../impls/common/nndtype.h"
#include "../impls/cuda/gdt_math.h"
#include "../impls/cuda/gemm_dt_map.h"
#include "nndtype.h"

/* The low 16 bits tried under every upper half: zero, one, ties and their neighbours for
 * bf16 (bit 15) and for f16/tf32 (bit 12), all ones, and a few others. */
static const uint32_t lows[] = {0x0000, 0x0001, 0x0fff, 0x1000, 0x1001, 0x1fff, 0x2000,
                                0x3000, 0x7fff, 0x8000, 0x8001, 0x9000, 0xa5a5, 0xffff};

/* x rounded to the grid of spacing 2^q by rint in double (exact: x / 2^q fits a double's
 * significand), so ties go to the even multiple. */
static double grid_round(double x, int q)
{
    return ldexp(rint(ldexp(x, -q)), q);
}

/* The exponent e with 2^e <= |x| < 2^(e+1), for finite x != 0. */
static int expo(double x)
{
    int e;
    frexp(x, &e);
    return e - 1;
}

/* bf16: 8 significand bits, float's exponent range; subnormal grid 2^-133. */
static double ref_bf16(float x)
{
    if (x == 0)
        return x;
    int e = expo(x);
    double r = grid_round(x, (e < -126 ? -126 : e) - 7);
    return fabs(r) > FLT_MAX ? copysign(INFINITY, x) : r;
}

/* f16: 11 significand bits, exponents -14..15, subnormal grid 2^-24, max 65504. */
static double ref_f16(float x)
{
    if (x == 0)
        return x;
    int e = expo(x);
    double r = grid_round(x, (e < -14 ? -14 : e) - 10);
    return fabs(r) > 65504.0 ? copysign(INFINITY, x) : r;
}

/* tf32: 11 significand bits, float's exponent range; subnormal grid 2^-136. */
static double ref_tf32(float x)
{
    if (x == 0)
        return x;
    int e = expo(x);
    double r = grid_round(x, (e < -126 ? -126 : e) - 10);
    return fabs(r) > FLT_MAX ? copysign(INFINITY, x) : r;
}

static void conversions_match_double(void **s)
{
    (void)s;
    assert_int_equal(fegetround(), FE_TONEAREST);
    long long checked = 0;
    for (uint32_t hi = 0; hi < 0x10000u; hi++)
        for (size_t j = 0; j < sizeof lows / sizeof lows[0]; j++) {
            uint32_t u = hi << 16 | lows[j];
            float x = gdt_float(u);
            if (isnan(x)) {
                assert_true(isnan(gdt_bf16_to_f32(gdt_bf16_rne(x))));
                assert_true(isnan(gdt_f16_to_f32(gdt_f16_rne(x))));
                assert_true(isnan(gdt_tf32_rne(x)));
                continue;
            }
            if (isinf(x))
                continue; /* inf stays inf: checked through the overflow rows below */
            double b = gdt_bf16_to_f32(gdt_bf16_rne(x)), h = gdt_f16_to_f32(gdt_f16_rne(x));
            double t = gdt_tf32_rne(x);
            if (b != ref_bf16(x) || h != ref_f16(x) || t != ref_tf32(x))
                fail_msg("0x%08x (%a): bf16 %a want %a, f16 %a want %a, tf32 %a want %a",
                         u, (double)x, b, ref_bf16(x), h, ref_f16(x), t, ref_tf32(x));
            /* the sign of a zero result is the input's */
            assert_int_equal(signbit(b) != 0, signbit(x) != 0);
            assert_int_equal(signbit(h) != 0, signbit(x) != 0);
            checked++;
        }
    assert_true(checked > 800000);
}

/* Every bf16 and f16 pattern (not NaN) survives to float and back; f16's are all exact. */
static void sixteen_bit_round_trips(void **s)
{
    (void)s;
    for (uint32_t h = 0; h < 0x10000u; h++) {
        float b = gdt_bf16_to_f32((uint16_t)h), f = gdt_f16_to_f32((uint16_t)h);
        if (!isnan(b))
            assert_int_equal(gdt_bf16_rne(b), h);
        if (!isnan(f))
            assert_int_equal(gdt_f16_rne(f), h);
    }
    /* hand values: 1 + 2^-8 is bf16's tie between 1 and 1 + 2^-7: even (1) */
    assert_int_equal(gdt_bf16_rne(1.0f + 0x1p-8f), 0x3f80);
    assert_int_equal(gdt_bf16_rne(1.0f + 0x1p-7f + 0x1p-8f), 0x3f82); /* odd: up */
    assert_int_equal(gdt_f16_rne(65504.0f), 0x7bff);
    assert_int_equal(gdt_f16_rne(65520.0f), 0x7c00);  /* the tie past max: infinity */
    assert_int_equal(gdt_f16_rne(0x1p-24f), 0x0001);  /* smallest subnormal */
    assert_int_equal(gdt_f16_rne(0x1p-25f), 0x0000);  /* its tie with zero: even */
    assert_int_equal(gdt_f16_rne(0x1.8p-24f), 0x0002); /* 1.5 ulp: to 2, even */
}

/* The kernels must put a value where the harness's input hook put it: a converted input
 * is then exact, and a converted activation lies on the grid the tolerance assumes. */
static void agrees_with_the_input_hook(void **s)
{
    (void)s;
    for (uint32_t hi = 0; hi < 0x10000u; hi++)
        for (size_t j = 0; j < sizeof lows / sizeof lows[0]; j++) {
            float x = gdt_float(hi << 16 | lows[j]);
            if (isnan(x))
                continue;
            assert_int_equal(gdt_bf16_rne(x), sono_f32_to_bf16_bits(x));
            assert_int_equal(gdt_f16_rne(x), sono_f32_to_f16_bits(x));
            assert_int_equal(gdt_bits(gdt_tf32_rne(x)), gdt_bits(sono_round_tf32(x)));
        }
}

/* cuBLAS's TF32 path reads the top 19 bits: exact on values gemm_dt has rounded, and a
 * truncation (toward zero, never up) on values it has not. */
static void tf32_truncation_is_exact_after_rounding(void **s)
{
    (void)s;
    for (uint32_t hi = 0; hi < 0x10000u; hi++)
        for (size_t j = 0; j < sizeof lows / sizeof lows[0]; j++) {
            float x = gdt_float(hi << 16 | lows[j]);
            if (!isfinite(x))
                continue;
            float r = gdt_tf32_rne(x);
            if (isfinite(r))
                assert_int_equal(gdt_bits(gdt_tf32_trunc(r)), gdt_bits(r));
            float t = gdt_tf32_trunc(x);
            assert_true(fabsf(t) <= fabsf(x));
            int e = expo(x) < -126 ? -126 : expo(x); /* subnormals: the fixed grid */
            assert_true(fabs((double)x - t) < ldexp(1.0, e - 10) || x == 0);
        }
    /* 1 + 2^-11 + 2^-12 rounds up to 1 + 2^-10 but truncates to 1 */
    float x = 1.0f + 0x1p-11f + 0x1p-12f;
    assert_true(gdt_tf32_rne(x) == 1.0f + 0x1p-10f);
    assert_true(gdt_tf32_trunc(x) == 1.0f);
}

static void types_follow_the_dtype(void **s)
{
    (void)s;
    assert_int_equal(GDT_F32, NN_F32);
    assert_int_equal(GDT_TF32, NN_TF32);
    assert_int_equal(GDT_BF16, NN_BF16);
    assert_int_equal(GDT_F16, NN_F16);
    gdt_types f = gdt_types_of(GDT_F32), t = gdt_types_of(GDT_TF32),
              b = gdt_types_of(GDT_BF16), h = gdt_types_of(GDT_F16);
    assert_int_equal(f.ab, GDT_CUDA_R_32F);
    assert_int_equal(f.compute, GDT_COMPUTE_32F);
    assert_int_equal(t.ab, GDT_CUDA_R_32F); /* tf32 is float32 storage */
    assert_int_equal(t.compute, GDT_COMPUTE_32F_FAST_TF32);
    assert_int_equal(t.esize, 4);
    assert_int_equal(b.ab, GDT_CUDA_R_16BF);
    assert_int_equal(b.compute, GDT_COMPUTE_32F); /* fp32 accumulation */
    assert_int_equal(b.esize, 2);
    assert_int_equal(h.ab, GDT_CUDA_R_16F);
    assert_int_equal(h.compute, GDT_COMPUTE_32F);
    for (int d = 0; d < 4; d++) { /* float32 out, float32 alpha and beta */
        assert_int_equal(gdt_types_of(d).cd, GDT_CUDA_R_32F);
        assert_int_equal(gdt_types_of(d).scale, GDT_CUDA_R_32F);
    }
    assert_true(gdt_ld_aligned(8, 2));
    assert_false(gdt_ld_aligned(12, 2));
    assert_true(gdt_ld_aligned(12, 4));
}

/* cuBLASLt's D = op(A) op(B) + bias (column-major, bias per row of D), with the layouts
 * read only through the map: element (i, j) of a column-major layout is p[i + j ld]. */
static void lt_host(const gdt_map *g, const float *A, const float *B, const float *bias,
                    float *D)
{
    for (long long i = 0; i < g->m; i++)
        for (long long j = 0; j < g->n; j++) {
            double acc = bias ? bias[i] : 0.0;
            for (long long p = 0; p < g->k; p++) {
                double a = g->op_a ? A[p + i * g->a.ld] : A[i + p * g->a.ld];
                double b = g->op_b ? B[j + p * g->b.ld] : B[p + j * g->b.ld];
                acc += a * b;
            }
            D[i + j * g->d.ld] = (float)acc;
        }
}

static void mapping_gives_the_rowmajor_product(void **s)
{
    (void)s;
    srand(7);
    const long long shapes[][3] = {{1, 1, 1}, {3, 5, 7}, {6, 2, 9}, {4, 8, 1}, {9, 11, 5}};
    for (size_t c = 0; c < sizeof shapes / sizeof shapes[0]; c++)
        for (int at = 0; at < 2; at++)
            for (int bt = 0; bt < 2; bt++)
                for (int withb = 0; withb < 2; withb++) {
                    long long M = shapes[c][0], N = shapes[c][1], K = shapes[c][2];
                    float *A = malloc(sizeof(float) * (size_t)(M * K)),
                          *B = malloc(sizeof(float) * (size_t)(K * N)),
                          *bias = malloc(sizeof(float) * (size_t)N),
                          *D = malloc(sizeof(float) * (size_t)(M * N));
                    assert_non_null(A);
                    assert_non_null(B);
                    assert_non_null(bias);
                    assert_non_null(D);
                    for (long long i = 0; i < M * K; i++)
                        A[i] = (float)(rand() % 17 - 8);
                    for (long long i = 0; i < K * N; i++)
                        B[i] = (float)(rand() % 13 - 6);
                    for (long long i = 0; i < N; i++)
                        bias[i] = (float)(rand() % 7 - 3);
                    gdt_map g = gdt_map_rowmajor(M, N, K, at, bt);
                    assert_int_equal(g.bias_len, N);
                    /* the layouts cover exactly the stored buffers */
                    assert_int_equal(g.a.rows * g.a.cols, K * N);
                    assert_int_equal(g.b.rows * g.b.cols, M * K);
                    assert_int_equal(g.d.rows * g.d.cols, M * N);
                    lt_host(&g, B, A, withb ? bias : NULL, D); /* its A is our B */
                    for (long long i = 0; i < M; i++)
                        for (long long j = 0; j < N; j++) {
                            double want = withb ? bias[j] : 0; /* small integers: exact */
                            for (long long p = 0; p < K; p++)
                                want += (double)(at ? A[p * M + i] : A[i * K + p]) *
                                        (bt ? B[j * K + p] : B[p * N + j]);
                            if (D[i * N + j] != want)
                                fail_msg("M%lld N%lld K%lld at%d bt%d bias%d: D[%lld][%lld] "
                                         "%g want %g", M, N, K, at, bt, withb, i, j,
                                         (double)D[i * N + j], want);
                        }
                    free(A);
                    free(B);
                    free(bias);
                    free(D);
                }
}

/* argmin_rows of gdt_kernels.cu, emulated: 32 lanes scan columns lane, lane + 32, ...
 * with a strict <, then the shuffle-down tree merges lane l + o into lane l. Rows with
 * repeated minima at different lanes and strides, against the first minimum by a plain
 * scan (a merge that keeps the higher index of a tie fails). */
static int warp_argmin(const float *row, int cols)
{
    float bv[32];
    int bi[32];
    for (int l = 0; l < 32; l++) {
        bv[l] = INFINITY;
        bi[l] = cols;
        for (int c = l; c < cols; c += 32)
            if (row[c] < bv[l]) {
                bv[l] = row[c];
                bi[l] = c;
            }
    }
    for (int o = 16; o > 0; o /= 2)
        for (int l = 0; l + o < 32; l++) /* lanes read l + o before it is written: l < 16 */
            gdt_argmin_merge(&bv[l], &bi[l], bv[l + o], bi[l + o]);
    return bi[0] < cols ? bi[0] : 0;
}

static void argmin_takes_the_first_minimum(void **s)
{
    (void)s;
    srand(11);
    float row[300];
    for (int trial = 0; trial < 2000; trial++) {
        int cols = 1 + rand() % 300;
        for (int c = 0; c < cols; c++)
            row[c] = (float)(rand() % 6); /* few values: many ties of the minimum */
        int want = 0;
        for (int c = 1; c < cols; c++)
            if (row[c] < row[want])
                want = c;
        assert_int_equal(warp_argmin(row, cols), want);
    }
}

int main(void)
{
    const struct CMUnitTest t[] = {
        cmocka_unit_test(conversions_match_double),
        cmocka_unit_test(sixteen_bit_round_trips),
        cmocka_unit_test(agrees_with_the_input_hook),
        cmocka_unit_test(tf32_truncation_is_exact_after_rounding),
        cmocka_unit_test(types_follow_the_dtype),
        cmocka_unit_test(mapping_gives_the_rowmajor_product),
        cmocka_unit_test(argmin_takes_the_first_minimum),
    };
    return cmocka_run_group_tests(t, NULL, NULL);
}
