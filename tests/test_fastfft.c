/* test_fastfft.c — the cpu backend's own FFT (impls/cpu/fastfft*.c, compiled in) against
 * the float64 reference sono_dft64 over every size class the planner tells apart, on the
 * AVX2 path (with AVX-512VL registers where the CPU has them, and without), the forced
 * scalar path, real and complex, one row and batches; then its contract: plan_new(0)
 * fails with a reason, exec leaves the input as it was, two threads share one plan. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fastfft.h"
#include "ops/ref/dft64.h"

#define FT_TWO_PI 6.283185307179586476925286766559005768

static uint64_t ft_seed = 0x13198a2e03707344ull;

/* splitmix64, uniform in [-1, 1) */
static float ft_rand(void)
{
    uint64_t z = (ft_seed += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return (float)((double)(z >> 40) * 0x1p-23 - 1.0);
}

static float *ft_work(const fastfft_plan *p)
{
    size_t bytes = (fastfft_work_floats(p) * sizeof(float) + 64) & ~(size_t)63;
    float *w = aligned_alloc(64, bytes);
    assert_non_null(w);
    return w;
}

/* The model of harness/ops/fft_common.c: 4 eps log2 n. Bluestein (primes here) runs two
 * FFTs of m < 4n points plus two chirp products, about twice one FFT's rounding at
 * log2 m <= log2 n + 2; its error (~2e-7 at n = 1009) stays far inside the same bound,
 * so it gets no looser one. */
static double ft_tol(size_t n)
{
    return 4.0 * FLT_EPSILON * (n > 2 ? log2((double)n) : 1.0);
}

/* The path asked for: 0 the widest the CPU has, 1 the portable scalar one
 * (SONO_FASTFFT_SCALAR), 2 AVX2 with 16 registers even where AVX-512VL would give the
 * codelets 32 (SONO_FASTFFT_NO512). */
static void ft_path(int path)
{
    unsetenv("SONO_FASTFFT_SCALAR");
    unsetenv("SONO_FASTFFT_NO512");
    if (path == 1)
        setenv("SONO_FASTFFT_SCALAR", "1", 1);
    if (path == 2)
        setenv("SONO_FASTFFT_NO512", "1", 1);
}

/* What describe must start with on that path. */
static const char *ft_path_name(int path)
{
    int avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    int wide = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl");
    if (path == 1 || !avx2)
        return "scalar; ";
    return path == 0 && wide ? "avx2+fma+avx512vl; " : "avx2+fma; ";
}

/* Plans n on the path asked for (ft_path), transforms one random row and returns the
 * relative L2 error against sono_dft64 (or, for n > 2^16 that is not a power of two,
 * against a direct double sum on 61 sampled bins). */
static double ft_error(size_t n, int real, int scalar)
{
    char why[256] = "";
    ft_path(scalar);
    fastfft_plan *p = fastfft_plan_new(n, real, why, sizeof why);
    ft_path(0);
    if (!p)
        fail_msg("plan n=%zu real=%d: %s", n, real, why);
    /* the record must say which path ran */
    const char *d = fastfft_describe(p), *want = ft_path_name(scalar);
    if (strncmp(d, want, strlen(want)) != 0)
        fail_msg("n=%zu real=%d path=%d: describe says \"%s\"", n, real, scalar, d);

    size_t nin = real ? n : 2 * n, nout = real ? n / 2 + 1 : n;
    float *in = malloc(nin * sizeof *in), *out = malloc(2 * nout * sizeof *out);
    double *x = calloc(2 * n, sizeof *x);
    assert_non_null(in);
    assert_non_null(out);
    assert_non_null(x);
    for (size_t j = 0; j < nin; j++)
        in[j] = ft_rand();
    for (size_t j = 0; j < n; j++) {
        x[2 * j] = real ? in[j] : in[2 * j];
        x[2 * j + 1] = real ? 0.0 : in[2 * j + 1];
    }
    float *work = ft_work(p);
    fastfft_exec(p, in, out, work);

    double num = 0, den = 0;
    int sampled = n > 65536 && (n & (n - 1)) != 0;
    if (!sampled) {
        double *y = malloc(2 * n * sizeof *y);
        assert_non_null(y);
        assert_int_equal(sono_dft64(x, y, (long long)n, 1), 0);
        for (size_t k = 0; k < nout; k++) {
            double dr = out[2 * k] - y[2 * k], di = out[2 * k + 1] - y[2 * k + 1];
            num += dr * dr + di * di;
            den += y[2 * k] * y[2 * k] + y[2 * k + 1] * y[2 * k + 1];
        }
        free(y);
    } else {
        for (size_t k = 0; k < nout; k += nout / 61 + 1) {
            double re = 0, im = 0;
            for (size_t j = 0; j < n; j++) {
                double a = -FT_TWO_PI * (double)((uint64_t)j * k % n) / (double)n;
                re += x[2 * j] * cos(a) - x[2 * j + 1] * sin(a);
                im += x[2 * j] * sin(a) + x[2 * j + 1] * cos(a);
            }
            double dr = out[2 * k] - re, di = out[2 * k + 1] - im;
            num += dr * dr + di * di;
            den += re * re + im * im;
        }
    }
    free(work);
    free(in);
    free(out);
    free(x);
    fastfft_free(p);
    return den > 0 ? sqrt(num / den) : sqrt(num);
}

static void ft_check(size_t n)
{
    for (int real = 0; real < 2; real++)
        for (int scalar = 0; scalar < 3; scalar++) {
            double e = ft_error(n, real, scalar);
            if (!(e <= ft_tol(n)))
                fail_msg("n=%zu real=%d path=%d: relative L2 error %.3g > %.3g", n, real,
                         scalar, e, ft_tol(n));
        }
}

static void test_small_sizes(void **state)
{
    (void)state;
    for (size_t n = 1; n <= 64; n++)
        ft_check(n);
}

static void test_powers_of_two(void **state)
{
    (void)state;
    for (size_t n = 128; n <= ((size_t)1 << 20); n *= 2)
        ft_check(n);
}

static void test_mixed_radix(void **state)
{
    (void)state;
    /* 100, 200 (n_fft 400's inner), 300, 1000: a first radix-4 pass whose m = n/4 is not
     * a multiple of 4, so the AVX2 pass ends with 1..3 p's done one at a time */
    static const size_t ns[] = {100, 200, 300, 400, 480, 1000, 1536, 4096 * 3, 7 * 7 * 8,
                                3 * 5 * 7 * 64};
    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++)
        ft_check(ns[i]);
}

static void test_bluestein_primes(void **state)
{
    (void)state;
    static const size_t ns[] = {17, 97, 1009, 2 * 1009, 65537};
    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++)
        ft_check(ns[i]);
}

/* fastfft_exec_rows over rows batches, with strides wider than a row (the padding must
 * stay untouched): each row against sono_dft64, on every path (ft_path). Batches of 1..13 and 64
 * reach the vector paths' blocks (4 complex, 8 real rows) and every remainder. */
static void ft_rows_check(size_t n, int real, int scalar, size_t rows)
{
    char why[256] = "";
    ft_path(scalar);
    fastfft_plan *p = fastfft_plan_new(n, real, why, sizeof why);
    ft_path(0);
    if (!p)
        fail_msg("plan n=%zu real=%d: %s", n, real, why);
    const size_t nin = real ? n : 2 * n, nout = real ? n / 2 + 1 : n;
    const size_t is = nin + 3, os = 2 * nout + 5;
    float *in = malloc(rows * is * sizeof *in), *out = malloc(rows * os * sizeof *out);
    double *x = calloc(2 * n, sizeof *x), *y = malloc(2 * n * sizeof *y);
    assert_non_null(in);
    assert_non_null(out);
    assert_non_null(x);
    assert_non_null(y);
    for (size_t j = 0; j < rows * is; j++)
        in[j] = ft_rand();
    for (size_t j = 0; j < rows * os; j++)
        out[j] = 1234.5f;
    float *work = ft_work(p);
    fastfft_exec_rows(p, in, is, out, os, rows, work);
    for (size_t b = 0; b < rows; b++) {
        const float *r = in + b * is, *o = out + b * os;
        for (size_t j = 0; j < n; j++) {
            x[2 * j] = real ? r[j] : r[2 * j];
            x[2 * j + 1] = real ? 0.0 : r[2 * j + 1];
        }
        assert_int_equal(sono_dft64(x, y, (long long)n, 1), 0);
        double num = 0, den = 0;
        for (size_t k = 0; k < nout; k++) {
            double dr = o[2 * k] - y[2 * k], di = o[2 * k + 1] - y[2 * k + 1];
            num += dr * dr + di * di;
            den += y[2 * k] * y[2 * k] + y[2 * k + 1] * y[2 * k + 1];
        }
        double e = den > 0 ? sqrt(num / den) : sqrt(num);
        if (!(e <= ft_tol(n)))
            fail_msg("rows: n=%zu real=%d path=%d rows=%zu row %zu: relative L2 error %.3g",
                     n, real, scalar, rows, b, e);
        for (size_t j = 2 * nout; j < os; j++)
            if (o[j] != 1234.5f)
                fail_msg("rows: n=%zu real=%d rows=%zu: row %zu written past its bins", n,
                         real, rows, b);
    }
    free(work);
    free(in);
    free(out);
    free(x);
    free(y);
    fastfft_free(p);
}

static void test_rows(void **state)
{
    (void)state;
    static const size_t ns[] = {1, 2, 4, 6, 8, 12, 16, 24, 32, 48, 64, 128, 256, 480};
    static const size_t batches[] = {1, 2, 3, 4, 5, 7, 8, 9, 12, 13, 64};
    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++)
        for (size_t b = 0; b < sizeof batches / sizeof batches[0]; b++)
            for (int real = 0; real < 2; real++)
                for (int scalar = 0; scalar < 3; scalar++)
                    ft_rows_check(ns[i], real, scalar, batches[b]);
}

/* The batch path of four complex rows per vector (only on request: it measured slower
 * than the row codelet) must still be right for every batch it splits. */
static void test_rows4(void **state)
{
    (void)state;
    static const size_t ns[] = {16, 32, 64};
    static const size_t batches[] = {3, 4, 5, 8, 11, 64};
    setenv("SONO_FASTFFT_ROWS4", "1", 1);
    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++)
        for (size_t b = 0; b < sizeof batches / sizeof batches[0]; b++)
            for (int path = 0; path < 3; path += 2)
                ft_rows_check(ns[i], 0, path, batches[b]);
    unsetenv("SONO_FASTFFT_ROWS4");
}

/* The committed codelets (impls/cpu/fastfft_gen_*.c) are the generator's output: a hand
 * edit, or a script change not rerun, fails here. Run from the repository root (as make
 * test does); skipped, saying so, where the script or /usr/bin/python3 is missing. */
static void test_codelets_fresh(void **state)
{
    (void)state;
    const char *script = "impls/cpu/gen/gencodelet.py";
    if (access(script, R_OK) != 0 || access("/usr/bin/python3", X_OK) != 0) {
        print_message("skipped: %s or /usr/bin/python3 not found from here\n", script);
        skip();
    }
    int rc = system("/usr/bin/python3 impls/cpu/gen/gencodelet.py --check");
    if (rc != 0)
        fail_msg("generated codelets differ from %s's output (exit %d): rerun it", script, rc);
}

/* A wrong twiddle must show: the error model is not so loose that it hides one. */
static void test_impulse_exact(void **state)
{
    (void)state;
    size_t n = 1024;
    char why[128];
    fastfft_plan *p = fastfft_plan_new(n, 0, why, sizeof why);
    assert_non_null(p);
    float *in = calloc(2 * n, sizeof *in), *out = malloc(2 * n * sizeof *out);
    float *work = ft_work(p);
    in[2 * 1] = 1.0f; /* x = delta at 1: X[k] = e^{-2 pi i k/n} */
    fastfft_exec(p, in, out, work);
    for (size_t k = 0; k < n; k++) {
        double a = -FT_TWO_PI * (double)k / (double)n;
        assert_true(fabs(out[2 * k] - cos(a)) < 1e-6);
        assert_true(fabs(out[2 * k + 1] - sin(a)) < 1e-6);
    }
    free(in);
    free(out);
    free(work);
    fastfft_free(p);
}

static void test_plan_zero_fails(void **state)
{
    (void)state;
    char why[256] = "";
    assert_null(fastfft_plan_new(0, 0, why, sizeof why));
    assert_true(strlen(why) > 0);
    assert_non_null(strstr(why, "n=0"));
    why[0] = '\0';
    assert_null(fastfft_plan_new(0, 1, why, sizeof why));
    assert_true(strlen(why) > 0);
}

static void test_input_unchanged(void **state)
{
    (void)state;
    static const size_t ns[] = {1024, 480, 97, 65536, 1000, 33};
    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++)
        for (int real = 0; real < 2; real++) {
            size_t n = ns[i], nin = real ? n : 2 * n;
            char why[128];
            fastfft_plan *p = fastfft_plan_new(n, real, why, sizeof why);
            assert_non_null(p);
            float *in = malloc(nin * sizeof *in), *keep = malloc(nin * sizeof *keep);
            float *out = malloc(2 * n * sizeof *out), *work = ft_work(p);
            for (size_t j = 0; j < nin; j++)
                in[j] = keep[j] = ft_rand();
            fastfft_exec(p, in, out, work);
            assert_memory_equal(in, keep, nin * sizeof *in);
            free(in);
            free(keep);
            free(out);
            free(work);
            fastfft_free(p);
        }
}

typedef struct ft_job {
    const fastfft_plan *p;
    const float *in;
    float *out;
    size_t n;
    int reps;
} ft_job;

static void *ft_worker(void *arg)
{
    ft_job *j = arg;
    float *work = ft_work(j->p);
    for (int r = 0; r < j->reps; r++) {
        memset(j->out, 0, 2 * j->n * sizeof *j->out);
        fastfft_exec(j->p, j->in, j->out, work);
    }
    free(work);
    return NULL;
}

/* Two threads run one plan at once, each with its own work buffer: they must agree
 * bit for bit with each other and with a run alone. */
static void test_two_threads_one_plan(void **state)
{
    (void)state;
    static const size_t ns[] = {4096, 1000, 1009};
    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++) {
        size_t n = ns[i];
        char why[128];
        fastfft_plan *p = fastfft_plan_new(n, 0, why, sizeof why);
        assert_non_null(p);
        float *in = malloc(2 * n * sizeof *in), *alone = malloc(2 * n * sizeof *alone);
        float *o1 = malloc(2 * n * sizeof *o1), *o2 = malloc(2 * n * sizeof *o2);
        for (size_t j = 0; j < 2 * n; j++)
            in[j] = ft_rand();
        ft_job solo = {p, in, alone, n, 1};
        ft_worker(&solo);
        ft_job a = {p, in, o1, n, 200}, b = {p, in, o2, n, 200};
        pthread_t ta, tb;
        assert_int_equal(pthread_create(&ta, NULL, ft_worker, &a), 0);
        assert_int_equal(pthread_create(&tb, NULL, ft_worker, &b), 0);
        pthread_join(ta, NULL);
        pthread_join(tb, NULL);
        assert_memory_equal(o1, o2, 2 * n * sizeof *o1);
        assert_memory_equal(o1, alone, 2 * n * sizeof *o1);
        free(in);
        free(alone);
        free(o1);
        free(o2);
        fastfft_free(p);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_small_sizes),
        cmocka_unit_test(test_powers_of_two),
        cmocka_unit_test(test_mixed_radix),
        cmocka_unit_test(test_bluestein_primes),
        cmocka_unit_test(test_rows),
        cmocka_unit_test(test_rows4),
        cmocka_unit_test(test_codelets_fresh),
        cmocka_unit_test(test_impulse_exact),
        cmocka_unit_test(test_plan_zero_fails),
        cmocka_unit_test(test_input_unchanged),
        cmocka_unit_test(test_two_threads_one_plan),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
