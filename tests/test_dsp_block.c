/* test_dsp_block.c — cpu/fast's front-end block kernels (impls/cpu/dsp_block.c, compiled in)
 * on both paths, the portable scalar loops and AVX2+FMA where the CPU has it: the
 * polynomial log10 against log10 in double over a sweep of floats from the floor (1e-10)
 * to 1e12, the floor and the returned max, and the mel filterbank over frame lanes against
 * sums in double over frontend.c's Whisper and librosa filterbanks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../impls/common/frontend.h"
#include "../impls/cpu/dsp_block.h"
#include "op.h"
#include "params.h"

#define NV 4096

static int db_paths(void)
{
    return dspb_has_avx2() ? 2 : 1;
}

/* The log's error bound, relative to the result: two roundings of its size. Cephes' fit
 * of log(1 + f) is good to 2^-24 relative (its own bound); the final sum y log10(e) +
 * f log10(e) + e log10(2) adds a rounding per term, and when e = -1 and f > 0 (or e = 1,
 * f < 0) the terms are up to ~2.5 times the result; the dB scale (x 10) rounds once more,
 * half an eps. Measured: 1.3 FLT_EPSILON (scalar), 0.85 (AVX2, fewer roundings with FMAs),
 * 1.66 and 1.24 with the scale. The ops' own tolerance (dsp_tol.h) is about a thousand
 * times looser, so this checks the kernel, not the op. */
#define DB_LOG_REL (2.0 * FLT_EPSILON)
#define DB_LOG_REL_SCALED (2.5 * FLT_EPSILON)

static void db_log_sweep(int simd, float scale)
{
    float *v = malloc(NV * sizeof *v);
    double *x = malloc(NV * sizeof *x);
    assert_non_null(v);
    assert_non_null(x);
    float a = 1e-10f, b = 1e12f;
    uint32_t lo, hi;
    memcpy(&lo, &a, sizeof lo);
    memcpy(&hi, &b, sizeof hi);
    double worst = 0;
    size_t checked = 0;
    for (uint32_t bits = lo; bits < hi;) {
        size_t n = 0;
        /* every 7th float in [1/2, 2), where log10 crosses 0 and the relative bound is
         * strictest; every 331st elsewhere (about 2e6 values in all) */
        for (; n < NV && bits < hi; n++) {
            memcpy(&v[n], &bits, sizeof bits);
            x[n] = v[n];
            bits += bits > 0x3f000000u && bits < 0x40000000u ? 7 : 331;
        }
        n &= ~(size_t)(DSPB_W - 1);
        float max = dspb_log(v, n, scale, simd);
        double want_max = -INFINITY;
        const double bound = scale == 1.0f ? DB_LOG_REL : DB_LOG_REL_SCALED;
        for (size_t i = 0; i < n; i++) {
            double r = scale * log10(x[i]), e = fabs(v[i] - r) / fabs(r);
            want_max = v[i] > want_max ? v[i] : want_max;
            if (!(e <= bound))
                fail_msg("simd=%d scale=%g: log10(%.9g) = %.9g, want %.9g (relative error "
                         "%.3g > %.3g)", simd, scale, x[i], v[i], r, e, bound);
            worst = e > worst ? e : worst;
            if (simd == 0 && scale == 1.0f)
                assert_true(dspb_log10((float)x[i]) == v[i]); /* the scalar path is it */
        }
        assert_true(max == (float)want_max);
        checked += n;
    }
    assert_true(checked > 1000000);
    print_message("log10 simd=%d scale=%g: %zu values, largest relative error %.3g\n", simd,
                  scale, checked, worst);
    free(v);
    free(x);
}

static void test_log_error(void **state)
{
    (void)state;
    for (int simd = 0; simd < db_paths(); simd++) {
        db_log_sweep(simd, 1.0f);
        db_log_sweep(simd, 10.0f);
    }
}

/* Below the floor, zero, negative and NaN become log10(1e-10) (Whisper's clamp, librosa's
 * amin); the max is over the block's lanes. */
static void test_log_floor(void **state)
{
    (void)state;
    for (int simd = 0; simd < db_paths(); simd++) {
        float v[2 * DSPB_W] = {0.0f, -1.0f, NAN, 1e-12f, 1e-10f, 1e-30f, -INFINITY, 0.0f,
                               1.0f, 1000.0f, 0.5f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f};
        float max = dspb_log(v, 2 * DSPB_W, 1.0f, simd);
        for (int i = 0; i < 2 * DSPB_W; i++)
            if (i != 8 && i != 9 && i != 10)
                assert_true(fabs(v[i] - log10(1e-10f)) <= DB_LOG_REL * 10);
        assert_true(v[8] == 0.0f); /* f = 0, e = 0: every term is exactly zero */
        assert_true(fabs(v[9] - 3.0) <= DB_LOG_REL * 3);
        assert_true(fabs(v[10] - log10(0.5)) <= DB_LOG_REL * 0.31);
        assert_true(max == v[9]);
    }
}

static uint64_t db_seed = 0x243f6a8885a308d3ull;

static float db_rand01(void)
{
    uint64_t z = (db_seed += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return (float)((double)(z >> 40) * 0x1p-24);
}

static void db_dims(const char *op, const char *const *kv, fe_op fo, fe_dims *d)
{
    sono_params p;
    memset(&p, 0, sizeof p);
    sono_params_defaults(sono_op_find(op), &p);
    for (size_t i = 0; kv && kv[i]; i += 2) {
        sono_param *q = (sono_param *)sono_param_find(&p, kv[i]);
        assert_non_null(q);
        q->i = atoi(kv[i + 1]);
    }
    char why[256] = "";
    if (fe_dims_get(fo, &p, 1, d, why, sizeof why) != 0)
        fail_msg("%s: %s", op, why);
    sono_params_free(&p);
}

/* Each mel of each lane against the sum in double of the same float weights times the
 * same powers: recursive summation of len nonnegative products (with or without FMA, in
 * one or two partial sums) errs by at most (len + 1) eps times the sum of the products. */
static void db_mel_check(const fe_dims *d)
{
    fe_melbank bank;
    assert_int_equal(fe_melbank_make(d, &bank), 0);
    float *pt = malloc(DSPB_W * d->nbins * sizeof *pt);
    float *mel = malloc(DSPB_W * d->n_mels * sizeof *mel);
    assert_non_null(pt);
    assert_non_null(mel);
    /* powers over eight decades, as a spectrum's are */
    for (size_t i = 0; i < DSPB_W * d->nbins; i++)
        pt[i] = db_rand01() * powf(10.0f, -8.0f * db_rand01());
    for (int simd = 0; simd < db_paths(); simd++) {
        memset(mel, 0xff, DSPB_W * d->n_mels * sizeof *mel);
        dspb_mel(&bank, pt, mel, simd);
        for (size_t m = 0; m < d->n_mels; m++)
            for (int l = 0; l < DSPB_W; l++) {
                double s = 0;
                for (size_t i = 0; i < bank.len[m]; i++)
                    s += (double)bank.wt[bank.off[m] + i] *
                         pt[(bank.first[m] + i) * DSPB_W + (size_t)l];
                double got = mel[m * DSPB_W + (size_t)l];
                double tol = (double)(bank.len[m] + 1) * FLT_EPSILON * s;
                if (!(fabs(got - s) <= tol))
                    fail_msg("n_fft=%zu n_mels=%zu simd=%d mel %zu lane %d: %.9g, want %.9g",
                             d->n_fft, d->n_mels, simd, m, l, got, s);
            }
    }
    free(pt);
    free(mel);
    fe_melbank_free(&bank);
}

static void test_mel(void **state)
{
    (void)state;
    fe_dims d;
    db_dims("logmel", NULL, FE_LOGMEL, &d); /* Whisper: n_fft 400, 80 slaney mels */
    db_mel_check(&d);
    static const char *const w128[] = {"n_mels", "128", NULL};
    db_dims("logmel", w128, FE_LOGMEL, &d);
    db_mel_check(&d);
    db_dims("melspec", NULL, FE_MELSPEC, &d);
    db_mel_check(&d);
    static const char *const mf[] = {"n_mels", "40", NULL};
    db_dims("mfcc", mf, FE_MFCC, &d);
    db_mel_check(&d);
}

/* One lane's power lands in that lane only, for power 2, 1 and another exponent. */
static void test_power_lane(void **state)
{
    (void)state;
    const size_t n = 5;
    const float spec[10] = {3, 4, 0, 0, -1, 0, 0, 2, 1, 1};
    const double want2[5] = {25, 0, 1, 4, 2};
    const double powers[3] = {2, 1, 3};
    float pt[5 * DSPB_W];
    for (int k = 0; k < 3; k++)
        for (int lane = 0; lane < DSPB_W; lane += 3) {
            memset(pt, 0, sizeof pt);
            dspb_power_lane(powers[k], spec, n, pt, lane);
            for (size_t i = 0; i < n; i++)
                for (int l = 0; l < DSPB_W; l++) {
                    double want = l == lane ? pow(want2[i], powers[k] / 2) : 0;
                    assert_true(fabs(pt[i * DSPB_W + (size_t)l] - want) <=
                                4 * FLT_EPSILON * want);
                }
        }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_log_error),
        cmocka_unit_test(test_log_floor),
        cmocka_unit_test(test_mel),
        cmocka_unit_test(test_power_lane),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
