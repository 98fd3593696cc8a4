/* test_cuda_math_dsp.c — the audio front ends' kernel arithmetic without a GPU (issue 10):
 * dsp_math.h compiled by cc. Host copies of both cuda pipelines over a batch of 3 clips
 * of different loudness (cuda/cufft: fused mel+log into [B, n_mels, frames], then the
 * per-clip max and clamp in place; cuda/cufft-cublas: power, the filterbank as one GEMM
 * into [n_mels, B*frames], the per-clip max of the raw values, then log + clamp + reorder)
 * pass the float64 reference of each clip (mel64.h) at the op's tolerance; the clamp may
 * take the max before the log because the log step is monotone, bit for bit. cuFFT's
 * part is a float64 DFT here: what is checked is the indexing, layouts and clamps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../impls/cuda/dsp_math.h"
#include "op.h"
#include "ops/dsp_tol.h"
#include "ops/ref/mel64.h"
#include "params.h"

#define B 3

static uint64_t dm_seed = 0x5eedull;

static double dm_rand(void) /* [-0.5, 0.5) */
{
    uint64_t z = (dm_seed += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return (double)(z >> 11) * 0x1p-53 - 0.5;
}

/* The case's sizes from the op's own contract: seconds 0.3, batch 3. */
static void dm_dims(const char *op, sono_dsp_dims *d)
{
    sono_params p;
    memset(&p, 0, sizeof p);
    sono_params_defaults(sono_op_find(op), &p);
    ((sono_param *)sono_param_find(&p, "seconds"))->r = 0.3;
    ((sono_param *)sono_param_find(&p, "batch"))->i = B;
    if (strcmp(op, "logmel") == 0)
        ((sono_param *)sono_param_find(&p, "pad_or_trim"))->i = 0;
    sono_error err = {0};
    assert_int_equal(sono_dsp_dims_get(op, &p, d, &err), 0);
    sono_params_free(&p);
}

/* What the frame kernel and cuFFT give: spec[(b*F + t)][k] (re, im) for every clip. */
static float *dm_spectrum(const sono_dsp_dims *d, const float *x)
{
    long long F = d->frames, n = d->n_fft, nb = d->nbins;
    float *win = malloc(sizeof *win * (size_t)n), *fr = malloc(sizeof *fr * (size_t)n);
    float *spec = malloc(sizeof *spec * 2 * (size_t)(B * F * nb));
    assert_true(win && fr && spec);
    for (long long j = 0; j < n; j++)
        win[j] = (float)(0.5 - 0.5 * cos(2.0 * M_PI * (double)j / (double)n));
    for (long long g = 0; g < B * F; g++) {
        const float *xb = x + g / F * d->samples;
        long long t = g % F;
        for (long long j = 0; j < n; j++) {
            long long s = dsp_src_index(t * d->hop + j, n / 2, d->used, d->samples);
            fr[j] = (s >= 0 ? xb[s] : 0.0f) * win[j];
        }
        for (long long k = 0; k < nb; k++) {
            double re = 0, im = 0;
            for (long long j = 0; j < n; j++) {
                double a = -2.0 * M_PI * (double)((j * k) % n) / (double)n;
                re += fr[j] * cos(a);
                im += fr[j] * sin(a);
            }
            spec[2 * (g * nb + k)] = (float)re;
            spec[2 * (g * nb + k) + 1] = (float)im;
        }
    }
    free(win);
    free(fr);
    return spec;
}

/* k_max_partial's view: clip b's (r, c) at v + b*sb, then r*sr + c. */
static void dm_max(const float *v, size_t sb, size_t sr, size_t rows, size_t cols, float *max)
{
    for (size_t b = 0; b < B; b++) {
        const float *x = v + b * sb;
        max[b] = -INFINITY;
        for (size_t i = 0; i < rows * cols; i++)
            max[b] = fmaxf(max[b], x[dsp_view(0, i, 0, sr, cols)]);
    }
}

/* rel L2 of each clip's [rows, F] block against the clip's own float64 reference. */
static void dm_check(const sono_dsp_dims *d, const float *x, const float *out, long long rows,
                     int (*ref)(const sono_dsp_dims *, const float *, double *, sono_error *),
                     double tol, const char *what)
{
    long long n = rows * d->frames;
    double *r = malloc(sizeof *r * (size_t)n);
    assert_non_null(r);
    for (long long b = 0; b < B; b++) {
        sono_error err = {0};
        assert_int_equal(ref(d, x + b * d->samples, r, &err), 0);
        double e = 0, s = 0;
        for (long long i = 0; i < n; i++) {
            double dv = out[b * n + i] - r[i];
            e += dv * dv;
            s += r[i] * r[i];
        }
        double rel = sqrt(e / s);
        if (!(rel < tol))
            fail_msg("%s clip %lld: rel L2 %g against its reference, tol %g", what, b, rel, tol);
    }
    free(r);
}

/* Clips of gain 1, 5e-5 (86 dB down: a clamp over the batch would flatten it) and 0.1. */
static float *dm_input(const sono_dsp_dims *d)
{
    const double g[B] = {1.0, 5e-5, 0.1};
    float *x = malloc(sizeof *x * (size_t)(B * d->samples));
    assert_non_null(x);
    for (long long b = 0; b < B; b++)
        for (long long i = 0; i < d->samples; i++)
            x[b * d->samples + i] = (float)(g[b] * dm_rand());
    return x;
}

static float *dm_bank(const sono_dsp_dims *d)
{
    double *W = malloc(sizeof *W * (size_t)(d->n_mels * d->nbins));
    float *w = malloc(sizeof *w * (size_t)(d->n_mels * d->nbins));
    assert_true(W && w);
    assert_int_equal(sono_melbank64(d, W), 0);
    for (long long i = 0; i < d->n_mels * d->nbins; i++)
        w[i] = (float)W[i];
    free(W);
    return w;
}

static void dm_logmel_pipelines(void **state)
{
    (void)state;
    sono_dsp_dims d;
    dm_dims("logmel", &d);
    size_t F = (size_t)d.frames, nm = (size_t)d.n_mels, nb = (size_t)d.nbins;
    float *x = dm_input(&d), *spec = dm_spectrum(&d, x), *w = dm_bank(&d);
    float *mel = calloc(B * nm * F, sizeof *mel), *melg = calloc(B * nm * F, sizeof *melg);
    float *out = calloc(B * nm * F, sizeof *out), max[B];
    assert_true(mel && melg && out);
    double tol = sono_dsp_tol_logmel(&d, SONO_ERR_LOG);

    /* cuda/cufft: k_mel (log 1) into [B][n_mels][F], max of the logged values, clamp */
    for (size_t b = 0; b < B; b++)
        for (size_t m = 0; m < nm; m++)
            for (size_t t = 0; t < F; t++) {
                const float *z = spec + 2 * ((b * F + t) * nb);
                float acc = 0;
                for (size_t k = 0; k < nb; k++)
                    acc += w[m * nb + k] * dsp_powered(z[2 * k], z[2 * k + 1], 2.0f);
                mel[(b * nm + m) * F + t] = dsp_log_step(acc, 1);
            }
    dm_max(mel, nm * F, F, nm, F, max);
    for (size_t g = 0; g < B * nm * F; g++)
        out[g] = dsp_finish(mel[dsp_view(g / (nm * F), g % (nm * F), nm * F, F, F)],
                            max[g / (nm * F)], 1, 0, 1, 0);
    dm_check(&d, x, out, d.n_mels, sono_logmel64, tol, "cufft logmel");

    /* cuda/cufft-cublas: P, melg[n_mels][B*F] = W P^T, max of the raw values, finish */
    for (size_t m = 0; m < nm; m++)
        for (size_t g = 0; g < B * F; g++) {
            float acc = 0;
            for (size_t k = 0; k < nb; k++)
                acc += w[m * nb + k] *
                       dsp_powered(spec[2 * (g * nb + k)], spec[2 * (g * nb + k) + 1], 2.0f);
            melg[m * B * F + g] = acc;
        }
    float rawmax[B];
    dm_max(melg, F, B * F, nm, F, rawmax);
    for (size_t g = 0; g < B * nm * F; g++) {
        size_t b = g / (nm * F);
        out[g] = dsp_finish(melg[dsp_view(b, g % (nm * F), F, B * F, F)], rawmax[b], 1, 1, 1,
                            0);
    }
    dm_check(&d, x, out, d.n_mels, sono_logmel64, tol, "cufft-cublas logmel");
    /* the max through the log step is the max of the logged values, bit for bit */
    for (size_t b = 0; b < B; b++) {
        float best = -INFINITY;
        for (size_t i = 0; i < nm * F; i++)
            best = fmaxf(best, dsp_log_step(melg[dsp_view(b, i, F, B * F, F)], 1));
        assert_true(dsp_log_step(rawmax[b], 1) == best);
    }
    /* clip 1 is wholly below clip 0's floor: only a per-clip clamp keeps its spread */
    float hi[B], lo[B];
    for (size_t b = 0; b < B; b++) {
        hi[b] = -INFINITY;
        lo[b] = INFINITY;
        for (size_t i = 0; i < nm * F; i++) {
            hi[b] = fmaxf(hi[b], out[b * nm * F + i]);
            lo[b] = fminf(lo[b], out[b * nm * F + i]);
        }
    }
    assert_true(hi[1] < hi[0] - 2.05f);
    assert_true(hi[1] - lo[1] > 0.3f);
    free(x);
    free(spec);
    free(w);
    free(mel);
    free(melg);
    free(out);
}

/* cufft-cublas's mfcc: the GEMM layout, dB + clamp against each clip's raw max into
 * [B][n_mels][F], then the DCT per clip (the strided-batched GEMM). */
static void dm_mfcc_cublas(void **state)
{
    (void)state;
    sono_dsp_dims d;
    dm_dims("mfcc", &d);
    size_t F = (size_t)d.frames, nm = (size_t)d.n_mels, nb = (size_t)d.nbins;
    size_t nc = (size_t)d.n_mfcc;
    float *x = dm_input(&d), *spec = dm_spectrum(&d, x), *w = dm_bank(&d);
    float *melg = calloc(B * nm * F, sizeof *melg), *mel = calloc(B * nm * F, sizeof *mel);
    float *out = calloc(B * nc * F, sizeof *out), max[B];
    assert_true(melg && mel && out);
    for (size_t m = 0; m < nm; m++)
        for (size_t g = 0; g < B * F; g++) {
            float acc = 0;
            for (size_t k = 0; k < nb; k++)
                acc += w[m * nb + k] *
                       dsp_powered(spec[2 * (g * nb + k)], spec[2 * (g * nb + k) + 1], 2.0f);
            melg[m * B * F + g] = acc;
        }
    dm_max(melg, F, B * F, nm, F, max);
    for (size_t g = 0; g < B * nm * F; g++) {
        size_t b = g / (nm * F);
        mel[g] = dsp_finish(melg[dsp_view(b, g % (nm * F), F, B * F, F)], max[b], 1, 2, 0,
                            (float)d.top_db);
    }
    for (size_t b = 0; b < B; b++)
        for (size_t c = 0; c < nc; c++)
            for (size_t t = 0; t < F; t++) {
                double s = sqrt((c == 0 ? 1.0 : 2.0) / (double)nm), acc = 0;
                for (size_t m = 0; m < nm; m++)
                    acc += (float)(s * cos(M_PI * (double)c * (2.0 * (double)m + 1.0) /
                                           (2.0 * (double)nm))) *
                           mel[(b * nm + m) * F + t];
                out[(b * nc + c) * F + t] = (float)acc;
            }
    dm_check(&d, x, out, d.n_mfcc, sono_mfcc64, sono_dsp_tol_mfcc(&d, SONO_ERR_LOG),
             "cufft-cublas mfcc");
    free(x);
    free(spec);
    free(w);
    free(melg);
    free(mel);
    free(out);
}

/* The reflection and logmel's zero padding, against numpy.pad's definition. */
static void dm_src_index(void **state)
{
    (void)state;
    /* samples 5, used 5, off 2: padded = x2 x1 | x0 x1 x2 x3 x4 | x3 x2 */
    const long long want[] = {2, 1, 0, 1, 2, 3, 4, 3, 2};
    for (long long p = 0; p < 9; p++)
        assert_int_equal(dsp_src_index(p, 2, 5, 5), want[p]);
    /* pad_or_trim past the input: used 8 > samples 5, the tail is zeros, reflected too */
    const long long pad[] = {2, 1, 0, 1, 2, 3, 4, -1, -1, -1, -1, -1};
    for (long long p = 0; p < 12; p++)
        assert_int_equal(dsp_src_index(p, 2, 8, 5), pad[p]);
    /* the log steps are monotone: the step of a max is the max of the steps */
    for (int i = 0; i < 20000; i++) {
        float a = (float)(fabs(dm_rand()) * pow(10.0, 30.0 * dm_rand()));
        float b = (float)(fabs(dm_rand()) * pow(10.0, 30.0 * dm_rand()));
        for (int log = 1; log <= 2; log++)
            assert_true(dsp_log_step(fmaxf(a, b), log) ==
                        fmaxf(dsp_log_step(a, log), dsp_log_step(b, log)));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(dm_src_index),
        cmocka_unit_test(dm_logmel_pipelines),
        cmocka_unit_test(dm_mfcc_cublas),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
