/* test_cuda_math_stockham.c — cuda/stockham without a GPU (issue 26): the radix plans,
 * every pass's read and write maps (each a permutation of the row, for every length the
 * rung takes up to 65536, and Whisper's 400), the four-step split, and the kernels' own
 * thread bodies (impls/cuda/stockham_math.h) run over every thread of every block of the
 * launches cu_stockham_launch makes, against the float64 DFT (harness/ops/ref/dft64.c)
 * and, for small n, a DFT by definition written here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../impls/cuda/stockham_math.h"
#include "ops/ref/dft64.h"

static uint64_t sk_seed = 0x5eedull;

static double sk_rand(void) /* [-0.5, 0.5) */
{
    uint64_t z = (sk_seed += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return (double)(z >> 11) * 0x1p-53 - 0.5;
}

/* The table the rung uploads: exp(-2 pi i t / N), t < N, in double rounded once. */
static sk_cf *sk_table(unsigned N)
{
    sk_cf *tw = malloc(N * sizeof *tw);
    assert_non_null(tw);
    for (unsigned t = 0; t < N; t++) {
        double a = -2.0 * M_PI * (double)t / (double)N;
        tw[t] = (sk_cf){(float)cos(a), (float)sin(a)};
    }
    return tw;
}

static const unsigned lengths[] = {2,    4,    8,    16,    32,    64,   128, 256, 512,
                                   1024, 2048, 4096, 8192,  16384, 32768, 65536,
                                   400,  200,  1000, 3,     5,     6,     15,  160, 4000, 20000};

static void sk_plans(void **state)
{
    (void)state;
    int r[SK_MAX_PASSES];
    for (size_t i = 0; i < sizeof lengths / sizeof lengths[0]; i++) {
        unsigned n = lengths[i], prod = 1;
        int np = sk_plan(n, r);
        assert_true(np > 0);
        for (int p = 0; p < np; p++) {
            assert_true(r[p] == 2 || r[p] == 3 || r[p] == 4 || r[p] == 5 || r[p] == 8);
            prod *= (unsigned)r[p];
        }
        assert_int_equal(prod, n);
        unsigned code = sk_pack_plan(r, np); /* the kernels' argument */
        for (int p = 0; p < np; p++)
            assert_int_equal(sk_radix(code, p), r[p]);
        int twos = 0; /* at most one radix-2 pass: 8 x 2 becomes 4 x 4 */
        for (int p = 0; p < np; p++)
            twos += r[p] == 2;
        assert_true(twos <= 1);
    }
    assert_int_equal(sk_plan(400, r), 4); /* Whisper's n_fft: 4 4 5 5 */
    assert_int_equal(r[0], 4);
    assert_int_equal(r[1], 4);
    assert_int_equal(r[2], 5);
    assert_int_equal(r[3], 5);
    assert_int_equal(sk_plan(512, r), 3);
    assert_true(r[0] == 8 && r[1] == 8 && r[2] == 8);
    assert_int_equal(sk_plan(7, r), 0);
    assert_int_equal(sk_plan(1, r), 0);
    assert_int_equal(sk_plan(22, r), 0);
}

/* Each pass reads every element once and writes every element once. */
static void sk_maps(void **state)
{
    (void)state;
    int r[SK_MAX_PASSES];
    for (size_t i = 0; i < sizeof lengths / sizeof lengths[0]; i++) {
        unsigned n = lengths[i], ns = 1;
        int np = sk_plan(n, r);
        unsigned char *rd = malloc(n), *wr = malloc(n);
        assert_true(rd && wr);
        for (int p = 0; p < np; p++) {
            unsigned R = (unsigned)r[p];
            memset(rd, 0, n);
            memset(wr, 0, n);
            for (unsigned j = 0; j < n / R; j++)
                for (unsigned q = 0; q < R; q++) {
                    unsigned s = sk_src(j, q, n, R), d = sk_dst(j, q, ns, R);
                    assert_true(s < n && d < n);
                    rd[s]++;
                    wr[d]++;
                }
            for (unsigned e = 0; e < n; e++)
                if (rd[e] != 1 || wr[e] != 1)
                    fail_msg("n=%u pass %d (radix %u): element %u read %d, written %d times", n,
                             p, R, e, rd[e], wr[e]);
            ns *= R;
        }
        assert_int_equal(ns, n);
        free(rd);
        free(wr);
    }
}

/* The four-step split: n2 = n / n1 fits shared memory, both planable; the row pass's
 * writes cover the row once. */
static void sk_splits(void **state)
{
    (void)state;
    int r[SK_MAX_PASSES];
    for (unsigned n = 8192; n <= 65536; n *= 2) {
        unsigned n1 = sk_split(n), n2 = n / n1;
        assert_true(n1 > 1 && n % n1 == 0 && n2 <= SK_SHARED_MAX);
        assert_true(sk_plan(n1, r) > 0 && sk_plan(n2, r) > 0);
        unsigned char *wr = calloc(n, 1);
        assert_non_null(wr);
        for (unsigned k1 = 0; k1 < n1; k1++)
            for (unsigned k2 = 0; k2 < n2; k2++)
                wr[sk_row_dst(k1, k2, n1)]++;
        for (unsigned e = 0; e < n; e++)
            assert_int_equal(wr[e], 1);
        free(wr);
    }
    assert_int_equal(sk_split(4096), 1);
    assert_int_equal(sk_split(400), 1);
    assert_int_equal(sk_split(7), 0);
    assert_int_equal(sk_split(20000), 5); /* 5 x 4000 */
}

/* cu_stockham_launch's launches, every thread of every block: n1 > 1 first the column
 * kernel (one thread per column of each row), then the row kernel (one block per
 * sub-row of m = n / n1, T = sk_row_threads(m) threads, the passes ping-ponging through
 * two shared buffers with a barrier between). */
static void sk_emulate(const sk_cf *x, sk_cf *y, unsigned n, unsigned batch, const sk_cf *tw)
{
    unsigned n1 = sk_split(n), m = n / n1, T = sk_row_threads(m);
    int r[SK_MAX_PASSES], np = sk_plan(m, r);
    sk_cf *tmp = malloc((size_t)n * batch * sizeof *tmp), *s0 = malloc(m * sizeof *s0),
          *s1 = malloc(m * sizeof *s1), a[64], b[64];
    assert_true(tmp && s0 && s1);
    const sk_cf *src = x;
    if (n1 > 1) {
        for (unsigned long long g = 0; g < (unsigned long long)batch * m; g++)
            sk_column(x + g / m * n, tmp + g / m * n, n, n1, (unsigned)(g % m), tw, a, b);
        src = tmp;
    }
    for (unsigned long long g = 0; g < (unsigned long long)batch * n1; g++) {
        for (unsigned t = 0; t < T; t++)
            sk_row_load(src, s0, m, g, t, T);
        sk_cf *in = s0, *out = s1;
        unsigned ns = 1;
        unsigned plan = sk_pack_plan(r, np); /* as cu_stockham_launch passes it */
        for (int p = 0; p < np; p++) {
            unsigned R = sk_radix(plan, p);
            for (unsigned t = 0; t < T; t++)
                sk_block_pass(in, out, m, R, ns, tw, n, t, T);
            ns *= R;
            sk_cf *sw = in;
            in = out;
            out = sw;
        }
        for (unsigned t = 0; t < T; t++)
            sk_row_store(in, y, m, n1, g, t, T);
    }
    free(tmp);
    free(s0);
    free(s1);
}

/* Relative L2 error of y against the float64 DFT of x, per row, and its bound: each pass
 * rounds an R-term sum and a twiddle product (R + 2 float roundings of the value, the
 * table's own rounding included), relative to the row's norm since the DFT is unitary up
 * to sqrt(n); the column pass's final twiddle adds 2; so eps x sum over passes (R + 2). */
static void sk_check(unsigned n, unsigned batch)
{
    sk_cf *tw = sk_table(n), *x = malloc((size_t)n * batch * sizeof *x),
          *y = malloc((size_t)n * batch * sizeof *y);
    double *xd = malloc(2 * sizeof(double) * n * batch), *X = malloc(2 * sizeof(double) * n * batch);
    assert_true(x && y && xd && X);
    for (size_t i = 0; i < (size_t)n * batch; i++) {
        x[i] = (sk_cf){(float)sk_rand(), (float)sk_rand()};
        xd[2 * i] = x[i].re;
        xd[2 * i + 1] = x[i].im;
    }
    assert_int_equal(sono_dft64(xd, X, n, batch), 0);
    sk_emulate(x, y, n, batch, tw);
    int r[SK_MAX_PASSES];
    unsigned n1 = sk_split(n);
    double bound = n1 > 1 ? 2.0 : 0.0;
    for (int p = 0, np = sk_plan(n / n1, r); p < np; p++)
        bound += r[p] + 2;
    for (int p = 0, np = n1 > 1 ? sk_plan(n1, r) : 0; p < np; p++)
        bound += r[p] + 2;
    bound *= FLT_EPSILON;
    for (unsigned b = 0; b < batch; b++) {
        double e2 = 0, r2 = 0;
        for (unsigned k = 0; k < n; k++) {
            size_t i = (size_t)b * n + k;
            double dr = y[i].re - X[2 * i], di = y[i].im - X[2 * i + 1];
            e2 += dr * dr + di * di;
            r2 += X[2 * i] * X[2 * i] + X[2 * i + 1] * X[2 * i + 1];
        }
        double rel = sqrt(e2 / r2);
        if (!(rel <= bound))
            fail_msg("n=%u row %u: relative L2 error %.3g over the bound %.3g", n, b, rel, bound);
    }
    free(tw);
    free(x);
    free(y);
    free(xd);
    free(X);
}

static void sk_against_dft64(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof lengths / sizeof lengths[0]; i++)
        sk_check(lengths[i], lengths[i] >= 16384 ? 1 : 3);
}

/* An independent check of the small lengths: the DFT by its definition in double. */
static void sk_against_definition(void **state)
{
    (void)state;
    const unsigned ns[] = {8, 12, 20, 400, 512};
    for (size_t c = 0; c < sizeof ns / sizeof ns[0]; c++) {
        unsigned n = ns[c];
        sk_cf *tw = sk_table(n), *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
        assert_true(x && y);
        for (unsigned j = 0; j < n; j++)
            x[j] = (sk_cf){(float)sk_rand(), (float)sk_rand()};
        sk_emulate(x, y, n, 1, tw);
        double e2 = 0, r2 = 0;
        for (unsigned k = 0; k < n; k++) {
            double re = 0, im = 0;
            for (unsigned j = 0; j < n; j++) {
                double a = -2.0 * M_PI * (double)((unsigned long long)j * k % n) / n;
                re += x[j].re * cos(a) - x[j].im * sin(a);
                im += x[j].re * sin(a) + x[j].im * cos(a);
            }
            e2 += (y[k].re - re) * (y[k].re - re) + (y[k].im - im) * (y[k].im - im);
            r2 += re * re + im * im;
        }
        /* the bound of sk_check for these plans: at most 4 passes of radix <= 8 */
        assert_true(sqrt(e2 / r2) <= 40 * FLT_EPSILON);
        free(tw);
        free(x);
        free(y);
    }
}

/* The rfft two-for-one: rows a, b (b absent for an odd last row) packed, transformed,
 * split, against the float64 DFT of each row alone. */
static void sk_real_pairs(void **state)
{
    (void)state;
    const unsigned n = 1024, rows = 3;
    float *x = malloc(sizeof(float) * n * rows);
    sk_cf *z = malloc(sizeof(sk_cf) * n * 2), *Z = malloc(sizeof(sk_cf) * n * 2),
          *tw = sk_table(n);
    double *xd = malloc(2 * sizeof(double) * n * rows), *X = malloc(2 * sizeof(double) * n * rows);
    assert_true(x && z && Z && xd && X);
    for (unsigned i = 0; i < n * rows; i++) {
        x[i] = (float)sk_rand();
        xd[2 * i] = x[i];
        xd[2 * i + 1] = 0;
    }
    assert_int_equal(sono_dft64(xd, X, n, rows), 0);
    for (unsigned p = 0; p < 2; p++)
        for (unsigned j = 0; j < n; j++)
            z[p * n + j] = sk_pack_one(x, n, rows, p, j);
    sk_emulate(z, Z, n, 2, tw);
    for (unsigned p = 0; p < 2; p++)
        for (unsigned k = 0; k <= n / 2; k++) {
            sk_cf a, b;
            sk_split_one(Z + p * n, n, k, &a, &b);
            for (unsigned h = 0; h < 2 && 2 * p + h < rows; h++) {
                sk_cf v = h ? b : a;
                size_t i = (size_t)(2 * p + h) * n + k;
                /* per bin at most the row's whole L2 error: the spectrum's L2 norm times
                 * sk_check's bound for 1024 (8 8 4 4: 32 eps) plus the split's 2 */
                double nx = 0;
                for (unsigned q = 0; q < n; q++)
                    nx += X[2 * ((2 * p + h) * n + q)] * X[2 * ((2 * p + h) * n + q)] +
                          X[2 * ((2 * p + h) * n + q) + 1] * X[2 * ((2 * p + h) * n + q) + 1];
                double tol = sqrt(nx) * 34 * FLT_EPSILON;
                if (fabs(v.re - X[2 * i]) > tol || fabs(v.im - X[2 * i + 1]) > tol)
                    fail_msg("row %u bin %u: (%g, %g) vs (%g, %g)", 2 * p + h, k, v.re, v.im,
                             X[2 * i], X[2 * i + 1]);
            }
        }
    free(x);
    free(z);
    free(Z);
    free(tw);
    free(xd);
    free(X);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sk_plans),         cmocka_unit_test(sk_maps),
        cmocka_unit_test(sk_splits),        cmocka_unit_test(sk_against_dft64),
        cmocka_unit_test(sk_against_definition), cmocka_unit_test(sk_real_pairs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
