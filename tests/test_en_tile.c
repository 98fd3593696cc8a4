/* test_en_tile.c — blas/encodec's tiled convolutions (impls/blas/en_tile.c, compiled in,
 * on OpenBLAS) against direct sums in double written here: convs (kernel, stride, dilation,
 * 1x1) and transposed convs over several clips side by side, at tile widths from 1 column
 * to all of them, so tiles start and end inside clips and span clip boundaries. With small
 * integer data every sum is exact in float, so each tiling must equal the reference bit
 * for bit; with random data each output stays within its rounding bound; the fused forms
 * (added onto y, ELU on the output) likewise. Scratch is
 * allocated at the size en_tile.h states, so ASan sees a tile that writes past it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../impls/blas/en_tile.h"
#include "../impls/common/en_elu.h"

static uint64_t rng = 88172645463325252ull;

static double urand(void) /* xorshift64, [0, 1) */
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (double)(rng >> 11) / 9007199254740992.0;
}

/* integers in -2..2 (exact sums) or uniform in [-1, 1) */
static float val(int exact)
{
    return exact ? (float)((int)(urand() * 5) - 2) : (float)(2 * urand() - 1);
}

static float *fill(size_t n, int exact)
{
    float *p = malloc((n ? n : 1) * sizeof *p);
    assert_non_null(p);
    for (size_t i = 0; i < n; i++)
        p[i] = val(exact);
    return p;
}

typedef struct shape {
    int cin, cout, k, stride, dil, S;
    long long l; /* conv: lout; transposed: input length */
} shape;

static const shape convs[] = {
    {3, 5, 7, 1, 1, 3, 11}, {4, 2, 3, 1, 3, 2, 9}, {2, 3, 4, 2, 1, 4, 5},
    {5, 4, 10, 5, 1, 2, 7}, {6, 3, 1, 1, 1, 3, 8}, {1, 4, 7, 1, 1, 1, 300},
    {5, 1, 7, 1, 1, 3, 40}, {3, 1, 3, 1, 2, 2, 17}, {4, 1, 4, 2, 1, 2, 9}, /* one output */
};

/* |error| of a float sum of `terms` products (and the bias) in any order: terms * eps
 * times the sum of the magnitudes (the standard gamma_n bound, n = terms + 1 roundings). */
static double bound(int terms, double mag)
{
    return (terms + 1) * (double)FLT_EPSILON * mag;
}

static void conv_case(const shape *sh, int exact)
{
    en_conv c = {sh->cin, sh->cout, sh->k, sh->stride, sh->dil, 0, NULL, NULL, 0, NULL};
    int S = sh->S, K = c.cin * c.k;
    long long lout = sh->l, lp = (lout - 1) * c.stride + (long long)(c.k - 1) * c.dil + 1;
    long long N = S * lout;
    float *x = fill((size_t)c.cin * (size_t)S * (size_t)lp, exact);
    c.w = fill((size_t)c.cout * (size_t)K, exact);
    c.b = fill((size_t)c.cout, exact);
    double *ref = malloc((size_t)(c.cout * N) * sizeof *ref),
           *mag = malloc((size_t)(c.cout * N) * sizeof *mag);
    assert_non_null(ref);
    assert_non_null(mag);
    for (int o = 0; o < c.cout; o++)
        for (int s = 0; s < S; s++)
            for (long long t = 0; t < lout; t++) {
                double a = c.b[o], m = fabs(c.b[o]);
                for (int i = 0; i < c.cin; i++)
                    for (int k = 0; k < c.k; k++) {
                        double p = (double)c.w[((size_t)o * c.cin + i) * c.k + k] *
                                   x[((size_t)i * S + s) * (size_t)lp +
                                     (size_t)(t * c.stride + (long long)k * c.dil)];
                        a += p;
                        m += fabs(p);
                    }
                ref[(size_t)o * N + (size_t)(s * lout + t)] = a;
                mag[(size_t)o * N + (size_t)(s * lout + t)] = m;
            }
    long long tws[] = {1, 2, 3, lout - 1, lout, lout + 1, 2 * lout + 3, N, N + 5, 0};
    /* flags: plain, added onto y0, ELU on the output (both paths where the CPU has AVX2),
     * and both */
    int fl[] = {0, EN_TILE_ACC, EN_TILE_ELU, EN_TILE_ELU | EN_TILE_SIMD,
                EN_TILE_ACC | EN_TILE_ELU | EN_TILE_SIMD};
    int nfl = en_elu_simd() ? 5 : 3;
    float *y0 = fill((size_t)(c.cout * N), exact);
    for (int f = 0; f < nfl; f++)
        for (size_t j = 0; j < sizeof tws / sizeof tws[0]; j++) {
            long long tw = tws[j] > 0 ? tws[j] : 0, cols = tw > 0 && tw < N ? tw : N;
            int direct = c.k == 1 && c.stride == 1;
            float *col = malloc((size_t)(direct ? 1 : K * cols) * sizeof *col);
            float *y = malloc((size_t)(c.cout * N) * sizeof *y);
            assert_non_null(col);
            assert_non_null(y);
            memcpy(y, y0, (size_t)(c.cout * N) * sizeof *y);
            en_tile_conv(&c, x, lp, S, y, lout, direct ? NULL : col, tw, fl[f]);
            for (long long i = 0; i < c.cout * N; i++) {
                int acc = fl[f] & EN_TILE_ACC;
                double want = ref[i] + (acc ? y0[i] : 0), m = mag[i] + (acc ? fabs(y0[i]) : 0);
                /* the sum's bound (one more term with acc); ELU is 1-Lipschitz, so it
                 * passes that error on at most, plus its own (en_elu.h) on the result */
                double lim = exact && !(fl[f] & EN_TILE_ELU) ? 0 : bound(K + 1, m);
                if (fl[f] & EN_TILE_ELU) {
                    want = want > 0 ? want : expm1(want);
                    lim += (EN_ELU_REL_ERR + FLT_EPSILON) * fabs(want);
                }
                double e = fabs(y[i] - want);
                if (!(e <= lim))
                    fail_msg("conv cin %d cout %d k %d stride %d dil %d S %d lout %lld, tile "
                             "%lld, flags %d: y[%lld] = %.9g, want %.9g (bound %.3g)", c.cin,
                             c.cout, c.k, c.stride, c.dil, S, lout, tw, fl[f], i, y[i], want,
                             lim);
            }
            free(col);
            free(y);
        }
    free(y0);
    free(x);
    free(c.w);
    free(c.b);
    free(ref);
    free(mag);
}

static void conv_tiles(void **state)
{
    (void)state;
    for (int exact = 1; exact >= 0; exact--)
        for (size_t i = 0; i < sizeof convs / sizeof convs[0]; i++)
            conv_case(&convs[i], exact);
}

static const shape convtrs[] = {
    {4, 3, 16, 8, 1, 3, 5}, {3, 2, 4, 2, 1, 2, 9}, {2, 5, 10, 5, 1, 4, 3},
    {5, 2, 3, 1, 1, 2, 6}, {2, 2, 4, 2, 1, 1, 1},
};

static void convtr_case(const shape *sh, int exact)
{
    en_conv c = {sh->cin, sh->cout, sh->k, sh->stride, 1, 1, NULL, NULL, 0, NULL};
    int S = sh->S, ok = c.cout * c.k;
    long long l = sh->l, full = (l - 1) * c.stride + c.k, N = S * l;
    float *x = fill((size_t)(c.cin * N), exact);
    c.w = fill((size_t)c.cin * (size_t)ok, exact); /* [cin][cout][k] */
    c.b = fill((size_t)c.cout, exact);
    size_t ny = (size_t)c.cout * (size_t)S * (size_t)full;
    double *ref = calloc(ny, sizeof *ref), *mag = calloc(ny, sizeof *mag);
    assert_non_null(ref);
    assert_non_null(mag);
    for (int o = 0; o < c.cout; o++)
        for (int s = 0; s < S; s++) {
            size_t row = ((size_t)o * S + s) * (size_t)full;
            for (long long u = 0; u < full; u++) {
                ref[row + u] = c.b[o];
                mag[row + u] = fabs(c.b[o]);
            }
            for (int i = 0; i < c.cin; i++)
                for (long long t = 0; t < l; t++)
                    for (int k = 0; k < c.k; k++) {
                        double p = (double)x[(size_t)i * N + (size_t)(s * l + t)] *
                                   c.w[((size_t)i * c.cout + o) * c.k + k];
                        ref[row + (size_t)(t * c.stride + k)] += p;
                        mag[row + (size_t)(t * c.stride + k)] += fabs(p);
                    }
        }
    /* terms per output: cin per tap landing there, at most ceil(k / stride) taps */
    int terms = c.cin * ((c.k + c.stride - 1) / c.stride);
    long long tws[] = {1, 2, l - 1 > 0 ? l - 1 : 1, l, l + 1, N, N + 2, 0};
    for (size_t j = 0; j < sizeof tws / sizeof tws[0]; j++) {
        long long tw = tws[j], cols = tw > 0 && tw < N ? tw : N;
        float *z = malloc((size_t)(ok * cols) * sizeof *z), *y = malloc(ny * sizeof *y);
        assert_non_null(z);
        assert_non_null(y);
        en_tile_convtr(&c, x, l, S, y, z, tw);
        for (size_t i = 0; i < ny; i++) {
            double e = fabs(y[i] - ref[i]), lim = exact ? 0 : bound(terms, mag[i]);
            if (!(e <= lim))
                fail_msg("convtr cin %d cout %d k %d stride %d S %d l %lld, tile %lld: y[%zu] "
                         "= %.9g, want %.9g (bound %.3g)", c.cin, c.cout, c.k, c.stride, S,
                         l, tw, i, y[i], ref[i], lim);
        }
        free(z);
        free(y);
    }
    free(x);
    free(c.w);
    free(c.b);
    free(ref);
    free(mag);
}

static void convtr_tiles(void **state)
{
    (void)state;
    for (int exact = 1; exact >= 0; exact--)
        for (size_t i = 0; i < sizeof convtrs / sizeof convtrs[0]; i++)
            convtr_case(&convtrs[i], exact);
}

/* en_tile_cols: EN_TILE_BYTES of columns, never under EN_TILE_MIN, by hand */
static void tile_cols(void **state)
{
    (void)state;
    assert_int_equal(en_tile_cols(7), EN_TILE_BYTES / 4 / 7);
    assert_int_equal(en_tile_cols(96), EN_TILE_BYTES / 4 / 96);
    assert_int_equal(en_tile_cols(4096), EN_TILE_MIN);
    assert_int_equal(en_tile_cols(0), EN_TILE_BYTES / 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(conv_tiles),
        cmocka_unit_test(convtr_tiles),
        cmocka_unit_test(tile_cols),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
