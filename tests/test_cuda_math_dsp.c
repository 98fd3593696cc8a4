/* test_cuda_math_dsp.c — the cuda audio front ends without a GPU (issue 10, 29): the
 * kernels' own thread bodies (impls/cuda/dsp_math.h's dsp_*_one) run for every thread of
 * each launch cu_dsp_run (impls/cuda/dsp.c) makes, with the window, filterbank, filter
 * bands and DCT built by impls/common/frontend.c as the plugin's tables() builds them,
 * over a batch of 3 clips of different loudness. Both pipelines (cuda/cufft: fused mel +
 * log into [B, n_mels, frames], then the per-clip max and clamp in place; cuda/cufft-cublas:
 * power, the filterbank as one GEMM into [n_mels, B*frames], the max of the raw values,
 * then log + clamp + reorder) of melspec, logmel and mfcc pass each clip's float64
 * reference (mel64.h) at the op's tolerance. cuFFT, cuBLAS and the max reduction's tree
 * are library calls or exact, so stand-ins here (a float64 DFT, float64 sums, fmaxf). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../impls/common/frontend.h"
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

/* One case's shapes, from the same params: the reference's (sd) and the impl's (fd). */
static void dm_dims(const char *op, sono_dsp_dims *sd, fe_dims *fd)
{
    sono_params p;
    memset(&p, 0, sizeof p);
    sono_params_defaults(sono_op_find(op), &p);
    ((sono_param *)sono_param_find(&p, "seconds"))->r = 0.3;
    ((sono_param *)sono_param_find(&p, "batch"))->i = B;
    if (strcmp(op, "logmel") == 0)
        ((sono_param *)sono_param_find(&p, "pad_or_trim"))->i = 0;
    sono_error err = {0};
    assert_int_equal(sono_dsp_dims_get(op, &p, sd, &err), 0);
    fe_op fo = strcmp(op, "melspec") == 0 ? FE_MELSPEC : strcmp(op, "logmel") == 0 ? FE_LOGMEL
                                                                                : FE_MFCC;
    char why[256] = "";
    if (fe_dims_get(fo, &p, 1, fd, why, sizeof why) != 0)
        fail_msg("%s: %s", op, why);
    sono_params_free(&p);
}

/* Clips of gain 1, 5e-5 (86 dB down: a clamp over the batch would flatten it) and 0.1. */
static float *dm_input(const fe_dims *d)
{
    const double g[B] = {1.0, 5e-5, 0.1};
    float *x = malloc(sizeof *x * B * d->samples);
    assert_non_null(x);
    for (size_t b = 0; b < B; b++)
        for (size_t i = 0; i < d->samples; i++)
            x[b * d->samples + i] = (float)(g[b] * dm_rand());
    return x;
}

/* cu_dsp_run on the host, for d's op (melspec, logmel, mfcc) and pipeline (gemm:
 * cufft-cublas). Returns out [B][rows][frames]. */
static float *dm_cu_dsp_run(const fe_dims *d, int gemm, const float *x)
{
    size_t F = d->frames, n = d->n_fft, nb = d->nbins, nm = d->n_mels, nc = d->n_mfcc;
    /* tables(): frontend.c's window, dense filterbank and DCT; each filter's band */
    float *win = malloc(sizeof *win * n), *w = malloc(sizeof *w * nm * nb);
    int *first = malloc(sizeof *first * nm), *len = malloc(sizeof *len * nm);
    float *dct = d->op == FE_MFCC ? malloc(sizeof *dct * nc * nm) : NULL;
    assert_true(win && w && first && len && (dct || d->op != FE_MFCC));
    fe_window_make(d, win);
    assert_int_equal(fe_mel_dense(d, w), 0);
    for (size_t m = 0; m < nm; m++)
        dsp_band(w + m * nb, nb, &first[m], &len[m]);
    if (dct)
        fe_dct_make(d, dct);

    /* cu_frame_sig_launch: one thread per element of [B * F][n_fft] */
    float *frames = malloc(sizeof *frames * B * F * n), *spec = malloc(sizeof *spec * 2 * B * F * nb);
    assert_true(frames && spec);
    for (size_t g = 0; g < B * F * n; g++)
        dsp_frame_one(x, d->samples, d->used, d->center ? n / 2 : 0, win, frames, n, d->hop, F,
                      g);
    /* cufftExecR2C: a float64 DFT of each frame, rounded once */
    for (size_t r = 0; r < B * F; r++)
        for (size_t k = 0; k < nb; k++) {
            double re = 0, im = 0;
            for (size_t j = 0; j < n; j++) {
                double a = -2.0 * M_PI * (double)((j * k) % n) / (double)n;
                re += frames[r * n + j] * cos(a);
                im += frames[r * n + j] * sin(a);
            }
            spec[2 * (r * nb + k)] = (float)re;
            spec[2 * (r * nb + k) + 1] = (float)im;
        }

    int log = d->op == FE_LOGMEL ? 1 : d->op == FE_MFCC ? 2 : 0;
    float *out = calloc(B * (d->op == FE_MFCC ? nc : nm) * F, sizeof *out);
    float *mel = d->op == FE_MFCC ? calloc(B * nm * F, sizeof *mel) : out;
    float *melg = calloc(nm * B * F, sizeof *melg), *p = malloc(sizeof *p * B * F * nb);
    assert_true(out && mel && melg && p);
    if (gemm) { /* mel_gemm: cu_power_launch, then melg[m][g] = W[m] . P[g] (cuBLAS) */
        for (size_t i = 0; i < B * F * nb; i++)
            dsp_power_one(spec, p, (float)d->power, i);
        for (size_t m = 0; m < nm; m++)
            for (size_t g = 0; g < B * F; g++) {
                double acc = 0;
                for (size_t k = 0; k < nb; k++)
                    acc += (double)w[m * nb + k] * p[g * nb + k];
                melg[m * B * F + g] = (float)acc;
            }
    } else { /* cu_mel_band_launch: one thread per (b, m, t) */
        for (size_t b = 0; b < B; b++)
            for (size_t m = 0; m < nm; m++)
                for (size_t t = 0; t < F; t++)
                    dsp_mel_one(spec, w, first, len, mel, nb, F, nm, (float)d->power, log, b, m,
                                t);
    }
    /* finish(): the max per clip (cu_max_launch: exact in any order), then k_finish */
    int clamp = d->op == FE_LOGMEL || (d->op == FE_MFCC && d->top_db > 0);
    const float *src = gemm ? melg : mel;
    size_t sb = gemm ? F : nm * F, sr = gemm ? B * F : F;
    float max[B];
    for (size_t b = 0; b < B; b++) {
        max[b] = -INFINITY;
        for (size_t i = 0; i < nm * F; i++)
            max[b] = fmaxf(max[b], src[dsp_view(b, i, sb, sr, F)]);
    }
    if (clamp || gemm)
        for (size_t g = 0; g < B * nm * F; g++)
            dsp_finish_one(src, sb, sr, mel, nm, F, clamp ? max : NULL, gemm ? log : 0,
                           d->op == FE_LOGMEL, (float)d->top_db, g);
    if (d->op == FE_MFCC) /* the strided-batched DCT GEMM */
        for (size_t b = 0; b < B; b++)
            for (size_t c = 0; c < nc; c++)
                for (size_t t = 0; t < F; t++) {
                    double acc = 0;
                    for (size_t m = 0; m < nm; m++)
                        acc += (double)dct[c * nm + m] * mel[(b * nm + m) * F + t];
                    out[(b * nc + c) * F + t] = (float)acc;
                }
    if (mel != out)
        free(mel);
    free(melg);
    free(p);
    free(frames);
    free(spec);
    free(win);
    free(w);
    free(first);
    free(len);
    free(dct);
    return out;
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

static void dm_melspec(void **state)
{
    (void)state;
    sono_dsp_dims sd;
    fe_dims fd;
    dm_dims("melspec", &sd, &fd);
    float *x = dm_input(&fd);
    for (int gemm = 0; gemm < 2; gemm++) {
        float *out = dm_cu_dsp_run(&fd, gemm, x);
        dm_check(&sd, x, out, sd.n_mels, sono_melspec64, sono_dsp_tol_melspec(&sd, SONO_ERR_LOG),
                 gemm ? "cufft-cublas melspec" : "cufft melspec");
        free(out);
    }
    free(x);
}

static void dm_logmel_pipelines(void **state)
{
    (void)state;
    sono_dsp_dims sd;
    fe_dims fd;
    dm_dims("logmel", &sd, &fd);
    size_t nm = fd.n_mels, F = fd.frames;
    float *x = dm_input(&fd);
    for (int gemm = 0; gemm < 2; gemm++) {
        float *out = dm_cu_dsp_run(&fd, gemm, x);
        dm_check(&sd, x, out, sd.n_mels, sono_logmel64, sono_dsp_tol_logmel(&sd, SONO_ERR_LOG),
                 gemm ? "cufft-cublas logmel" : "cufft logmel");
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
        free(out);
    }
    free(x);
}

static void dm_mfcc_pipelines(void **state)
{
    (void)state;
    sono_dsp_dims sd;
    fe_dims fd;
    dm_dims("mfcc", &sd, &fd);
    float *x = dm_input(&fd);
    for (int gemm = 0; gemm < 2; gemm++) {
        float *out = dm_cu_dsp_run(&fd, gemm, x);
        dm_check(&sd, x, out, sd.n_mfcc, sono_mfcc64, sono_dsp_tol_mfcc(&sd, SONO_ERR_LOG),
                 gemm ? "cufft-cublas mfcc" : "cufft mfcc");
        free(out);
    }
    free(x);
}

/* The stft output kernel's layouts: [B][nbins][frames] from [B*frames][nbins]. */
static void dm_stft_out(void **state)
{
    (void)state;
    enum { NB = 5, F = 4 };
    float spec[2 * B * F * NB], out[2 * B * NB * F];
    for (size_t i = 0; i < 2 * B * F * NB; i++)
        spec[i] = (float)dm_rand();
    for (int kind = 0; kind < 3; kind++) {
        for (size_t g = 0; g < B * NB * F; g++)
            dsp_stft_out_one(spec, out, NB, F, kind, g);
        for (size_t b = 0; b < B; b++)
            for (size_t k = 0; k < NB; k++)
                for (size_t t = 0; t < F; t++) {
                    const float *z = spec + 2 * ((b * F + t) * NB + k);
                    size_t o = (b * NB + k) * F + t;
                    double p = (double)z[0] * z[0] + (double)z[1] * z[1];
                    if (kind == 2)
                        assert_true(out[2 * o] == z[0] && out[2 * o + 1] == z[1]);
                    else
                        assert_float_equal(out[o], kind == 0 ? p : sqrt(p), 1e-6);
                }
    }
}

/* The reflection and logmel's zero padding, against numpy.pad's definition; a band covers
 * exactly the nonzero weights. */
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
    const float row[] = {0, 0, 0.5f, 0, 0.25f, 0, 0};
    int f, l;
    dsp_band(row, 7, &f, &l);
    assert_int_equal(f, 2);
    assert_int_equal(l, 3);
    dsp_band(row, 2, &f, &l);
    assert_int_equal(l, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(dm_src_index),    cmocka_unit_test(dm_stft_out),
        cmocka_unit_test(dm_melspec),      cmocka_unit_test(dm_logmel_pipelines),
        cmocka_unit_test(dm_mfcc_pipelines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
