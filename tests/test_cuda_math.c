/* test_cuda_math.c — cuda/radix2-gpu without a GPU: radix2_math.h compiled by cc, its
 * kernels' thread bodies (r2_block_* of the one-block path, r2_rev_one and r2_stage_one of
 * the global-memory passes for n > R2_SHARED_MAX) run for every thread of every launch
 * cu_radix2_launch makes, over batches of rows, checked against the float64 DFT. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>
#include <stdlib.h>

#include "../impls/cuda/radix2_math.h"
#include "ops/ref/dft64.h"

static void cm_log2_and_bitrev(void **state)
{
    (void)state;
    assert_int_equal(r2_log2(1), 0);
    assert_int_equal(r2_log2(2), 1);
    assert_int_equal(r2_log2(4096), 12);
    assert_int_equal(r2_log2(1ULL << 30), 30);
    assert_int_equal(r2_log2(0), -1);
    assert_int_equal(r2_log2(3), -1);
    assert_int_equal(r2_log2(480), -1);
    /* 3 bits: 001 -> 100, 011 -> 110, 110 -> 011 */
    assert_int_equal(r2_bitrev(1, 3), 4);
    assert_int_equal(r2_bitrev(3, 3), 6);
    assert_int_equal(r2_bitrev(6, 3), 3);
    assert_int_equal(r2_bitrev(0, 0), 0);
    /* a permutation and its own inverse at every size the kernels use */
    for (int bits = 1; bits <= 12; bits++) {
        unsigned n = 1u << bits;
        char *seen = calloc(n, 1);
        assert_non_null(seen);
        for (unsigned i = 0; i < n; i++) {
            unsigned r = r2_bitrev(i, bits);
            assert_true(r < n);
            assert_int_equal(r2_bitrev(r, bits), i);
            seen[r]++;
        }
        for (unsigned i = 0; i < n; i++)
            assert_int_equal(seen[i], 1);
        free(seen);
    }
}

/* Every stage's butterflies touch each index exactly once, the pair half apart. */
static void cm_pairs_cover_each_stage(void **state)
{
    (void)state;
    unsigned n = 64;
    for (unsigned half = 1; half < n; half *= 2) {
        char seen[64] = {0};
        for (unsigned j = 0; j < n / 2; j++) {
            unsigned i0, t;
            r2_pair(j, half, n, &i0, &t);
            assert_true(i0 + half < n);
            assert_int_equal((i0 / half) % 2, 0); /* i0 in the block's first half */
            assert_true(t < n / 2);
            seen[i0]++;
            seen[i0 + half]++;
        }
        for (unsigned i = 0; i < n; i++)
            assert_int_equal(seen[i], 1);
    }
}

/* cu_radix2_launch (radix2.cu) on the host: the same path for n, every thread of each
 * launch running the kernel's own body, launches and barrier phases in order. Threads of
 * one phase touch disjoint elements (cm_pairs_cover_each_stage), so running them one
 * after another is one of the schedules the GPU may take. */
static void host_radix2(const r2_cf *x, r2_cf *y, const r2_cf *tw, unsigned n, unsigned batch)
{
    int bits = r2_log2(n);
    if (n <= R2_SHARED_MAX) {
        unsigned nt = r2_block_threads(n);
        r2_cf *s = malloc(n * sizeof *s);
        assert_non_null(s);
        for (unsigned b = 0; b < batch; b++) { /* one block a row */
            for (unsigned t = 0; t < nt; t++)
                r2_block_load(x + (size_t)b * n, s, n, bits, t, nt);
            for (unsigned half = 1; half < n; half *= 2)
                for (unsigned t = 0; t < nt; t++)
                    r2_block_stage(s, tw, n, half, t, nt);
            for (unsigned t = 0; t < nt; t++)
                r2_block_store(s, y + (size_t)b * n, n, t, nt);
        }
        free(s);
        return;
    }
    unsigned long long total = (unsigned long long)n * batch;
    for (unsigned long long g = 0; g < total; g++)
        r2_rev_one(x, y, n, bits, g);
    for (unsigned half = 1; half < n; half *= 2)
        for (unsigned long long g = 0; g < total / 2; g++)
            r2_stage_one(y, tw, n, half, g);
}

static uint64_t cm_seed = 0x2545f4914f6cdd1dull;
static float cm_rand(void) /* xorshift64*, uniform in [-1, 1) */
{
    cm_seed ^= cm_seed >> 12;
    cm_seed ^= cm_seed << 25;
    cm_seed ^= cm_seed >> 27;
    return (float)((double)((cm_seed * 0x2545f4914f6cdd1dull) >> 11) / 9007199254740992.0 *
                   2.0 - 1.0);
}

/* rel_l2 of rows y against the float64 DFT of x (batch rows of n). */
static double cm_rel_err(const r2_cf *x, const r2_cf *y, unsigned n, unsigned batch)
{
    size_t m = (size_t)n * batch;
    double *xd = malloc(2 * m * sizeof *xd), *ref = malloc(2 * m * sizeof *ref);
    assert_true(xd && ref);
    for (size_t i = 0; i < m; i++) {
        xd[2 * i] = x[i].re;
        xd[2 * i + 1] = x[i].im;
    }
    assert_int_equal(sono_dft64(xd, ref, n, batch), 0);
    double num = 0, den = 0;
    for (size_t i = 0; i < m; i++) {
        double dr = y[i].re - ref[2 * i], di = y[i].im - ref[2 * i + 1];
        num += dr * dr + di * di;
        den += ref[2 * i] * ref[2 * i] + ref[2 * i + 1] * ref[2 * i + 1];
    }
    free(xd);
    free(ref);
    return den > 0 ? sqrt(num / den) : sqrt(num);
}

/* Both paths, 3 different rows each (a row index wrong in a kernel mixes them up). */
static void cm_radix2_matches_dft64(void **state)
{
    (void)state;
    const unsigned batch = 3;
    for (int bits = 0; bits <= 16; bits++) {
        unsigned n = 1u << bits;
        size_t m = (size_t)n * batch;
        r2_cf *x = malloc(m * sizeof *x), *y = malloc(m * sizeof *y);
        r2_cf *tw = malloc((n / 2 + 1) * sizeof *tw);
        assert_true(x && y && tw);
        for (size_t i = 0; i < m; i++)
            x[i] = (r2_cf){cm_rand(), cm_rand()};
        r2_twiddles(tw, n);
        host_radix2(x, y, tw, n, batch);
        /* float32 radix-2: error ~ eps * log2 n; 1e-6 * (bits + 1) is ~8x that */
        double rel = cm_rel_err(x, y, n, batch);
        if (rel > 1e-6 * (bits + 1))
            fail_msg("n=%u (%s): rel_l2 %.3g", n, n <= R2_SHARED_MAX ? "one block" : "passes",
                     rel);
        free(x);
        free(y);
        free(tw);
    }
}

/* A wrong twiddle sign (the inverse transform) must not pass that check. */
static void cm_conjugate_twiddles_fail(void **state)
{
    (void)state;
    enum { N = 16 };
    r2_cf x[N], y[N], tw[N / 2];
    for (unsigned i = 0; i < N; i++)
        x[i] = (r2_cf){cm_rand(), cm_rand()};
    r2_twiddles(tw, N);
    for (unsigned t = 0; t < N / 2; t++)
        tw[t].im = -tw[t].im;
    host_radix2(x, y, tw, N, 1);
    assert_true(cm_rel_err(x, y, N, 1) > 0.1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cm_log2_and_bitrev),
        cmocka_unit_test(cm_pairs_cover_each_stage),
        cmocka_unit_test(cm_radix2_matches_dft64),
        cmocka_unit_test(cm_conjugate_twiddles_fail),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
