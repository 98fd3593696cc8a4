/* test_cuda_math_lm.c — cuda/fused's Whisper log-mel without a GPU (issue 26): the two
 * kernels of cu_lm_launch (impls/cuda/lm_kernels.cu) emulated on the host over every
 * thread of every block, in the kernels' own phase order (load, Stockham passes, power,
 * mel, then the tile's store and the block max; then each clip's max and the clamp),
 * with the window, twiddles and sparse filterbank lm.c uploads (impls/common/frontend.c's
 * tables). Whole clips of three loudnesses, n_fft 400 (radix 4 4 5 5) and 512 (8 8 8),
 * centred frames with and without pad_or_trim, against the float64 reference
 * (harness/ops/ref/mel64.c) at the op's tolerance; and each frame pair's power spectrum
 * against a DFT by its definition of the frame the reference framing gives. */
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
#include "../impls/cuda/lm_math.h"
#include "op.h"
#include "ops/dsp_tol.h"
#include "ops/ref/mel64.h"
#include "ops/ref/spec64.h"
#include "params.h"

#define B 3

static uint64_t lm_seed = 0x5eedull;

static double lm_rand(void) /* [-0.5, 0.5) */
{
    uint64_t z = (lm_seed += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return (double)(z >> 11) * 0x1p-53 - 0.5;
}

/* logmel's dims (its n_fft is Whisper's 400), or melspec's at n_fft 512 for the kernel's
 * other plan (the logmel op has no n_fft; the mel kernel does not care which op). */
static void lm_dims(const char *op, double seconds, int pad, sono_dsp_dims *sd, fe_dims *fd)
{
    int mel = strcmp(op, "melspec") == 0;
    sono_params p;
    memset(&p, 0, sizeof p);
    sono_params_defaults(sono_op_find(op), &p);
    ((sono_param *)sono_param_find(&p, "seconds"))->r = seconds;
    ((sono_param *)sono_param_find(&p, "batch"))->i = B;
    if (mel)
        ((sono_param *)sono_param_find(&p, "n_fft"))->i = 512;
    else
        ((sono_param *)sono_param_find(&p, "pad_or_trim"))->i = pad;
    sono_error err = {0};
    assert_int_equal(sono_dsp_dims_get(op, &p, sd, &err), 0);
    char why[256] = "";
    if (fe_dims_get(mel ? FE_MELSPEC : FE_LOGMEL, &p, 1, fd, why, sizeof why) != 0)
        fail_msg("%s: %s", op, why);
    sono_params_free(&p);
}

/* Clips of gain 1, 5e-5 (86 dB down: a clamp over the batch would flatten it) and 0.1. */
static float *lm_input(const fe_dims *d)
{
    const double g[B] = {1.0, 5e-5, 0.1};
    float *x = malloc(sizeof *x * B * d->samples);
    assert_non_null(x);
    for (size_t b = 0; b < B; b++)
        for (size_t i = 0; i < d->samples; i++)
            x[b * d->samples + i] = (float)(g[b] * lm_rand());
    return x;
}

/* Frame t of clip x as the float64 reference frames it, and its power spectrum by the
 * DFT's definition, against P (the kernel's for that frame); relative L2 within the
 * Stockham plan's bound (test_cuda_math_stockham's eps x sum (R + 2)) times 2 (the power
 * squares) plus the split's 2 roundings, over eps. */
static void lm_check_power(const sono_dsp_dims *sd, const float *x, long long t, const float *P,
                           unsigned n, int np, const int *r)
{
    double *w = malloc(sizeof *w * n), *f = malloc(sizeof *f * n);
    assert_true(w && f);
    sono_window64(sd, w);
    sono_frame64(sd, x, w, t, f);
    double e2 = 0, r2 = 0;
    for (unsigned k = 0; k <= n / 2; k++) {
        double re = 0, im = 0;
        for (unsigned j = 0; j < n; j++) {
            double a = -2.0 * M_PI * (double)((unsigned long long)j * k % n) / n;
            re += f[j] * cos(a);
            im += f[j] * sin(a);
        }
        double p = re * re + im * im;
        e2 += (P[k] - p) * (P[k] - p);
        r2 += p * p;
    }
    double bound = 2;
    for (int p = 0; p < np; p++)
        bound += r[p] + 2;
    bound *= 2 * FLT_EPSILON;
    if (r2 > 0 && !(sqrt(e2 / r2) <= bound))
        fail_msg("frame %lld: power rel L2 %g over %g", t, sqrt(e2 / r2), bound);
    free(w);
    free(f);
}

/* cu_lm_launch on the host: the mel kernel's grid (lm_blocks(frames) x B blocks of
 * LM_THREADS threads, each phase run for every thread before the next, as the barriers
 * order them), then the clamp kernel (a clip's max over its blocks' maxima; the order of
 * fmaxf does not change it). Returns mel [B][n_mels][frames]. */
static float *lm_emulate(const sono_dsp_dims *sd, const fe_dims *d, const float *x, int check)
{
    unsigned n = (unsigned)d->n_fft, F = (unsigned)d->frames, nm = (unsigned)d->n_mels,
             T = LM_THREADS;
    float *win = malloc(sizeof *win * n);
    sk_cf *tw = malloc(sizeof *tw * n);
    fe_melbank bank;
    assert_true(win && tw);
    assert_int_equal(fe_melbank_make(d, &bank), 0);
    int *first = malloc(sizeof(int) * nm), *len = malloc(sizeof(int) * nm),
        *off = malloc(sizeof(int) * nm);
    assert_true(first && len && off);
    for (unsigned m = 0; m < nm; m++) {
        first[m] = (int)bank.first[m];
        len[m] = (int)bank.len[m];
        off[m] = (int)bank.off[m];
    }
    fe_window_make(d, win);
    for (unsigned t = 0; t < n; t++) {
        double a = -2.0 * M_PI * (double)t / (double)n;
        tw[t] = (sk_cf){(float)cos(a), (float)sin(a)};
    }
    lm_bank bk = {first, len, off, bank.wt, nm};
    lm_geom g = {d->samples, d->used, d->center ? n / 2 : 0, n, (unsigned)d->hop, F,
                 (float)d->power};
    int r[SK_MAX_PASSES], np = sk_plan(n, r);
    unsigned nblk = lm_blocks(F);
    float *mel = malloc(sizeof *mel * B * nm * F), *part = malloc(sizeof *part * B * nblk);
    float *sm = malloc(sizeof *sm * lm_shared_floats(n, nm));
    assert_true(mel && part && sm);
    for (size_t i = 0; i < (size_t)B * nm * F; i++)
        mel[i] = NAN; /* every value must be written */
    sk_cf *s0 = (sk_cf *)sm, *s1 = s0 + n;
    float *P = sm + 4 * n, *tile = P + 2 * (n / 2 + 1), *red = tile + nm * LM_FPB;
    for (unsigned b = 0; b < B; b++)
        for (unsigned blk = 0; blk < nblk; blk++) {
            unsigned t0 = blk * LM_FPB;
            const float *xc = x + (size_t)b * d->samples;
            for (unsigned c = 0; c < LM_FPB && t0 + c < F; c += 2) {
                for (unsigned tid = 0; tid < T; tid++)
                    for (unsigned j = tid; j < n; j += T)
                        s0[j] = lm_load_one(xc, win, &g, t0 + c, j);
                sk_cf *in = s0, *out = s1;
                unsigned ns = 1;
                for (int p = 0; p < np; p++) {
                    unsigned R = sk_radix(sk_pack_plan(r, np), p); /* cu_lm_launch's */
                    for (unsigned tid = 0; tid < T; tid++)
                        sk_block_pass(in, out, n, R, ns, tw, n, tid, T);
                    ns *= R;
                    sk_cf *t = in;
                    in = out;
                    out = t;
                }
                for (unsigned tid = 0; tid < T; tid++)
                    for (unsigned k = tid; k <= n / 2; k += T)
                        lm_power_one(in, n, k, g.power, P);
                if (check)
                    for (unsigned h = 0; h < 2 && t0 + c + h < F; h++)
                        lm_check_power(sd, xc, t0 + c + h, P + h * (n / 2 + 1), n, np, r);
                for (unsigned tid = 0; tid < T; tid++)
                    for (unsigned i = tid; i < 2 * nm; i += T)
                        if (t0 + c + i / nm < F)
                            lm_mel_one(P, n, &bk, i, tile, c);
            }
            for (unsigned tid = 0; tid < T; tid++) {
                float mx = -INFINITY;
                for (unsigned i = tid; i < nm * LM_FPB; i += T)
                    mx = fmaxf(mx, lm_store_one(tile, mel + (size_t)b * nm * F, F, t0, i));
                red[tid] = mx;
            }
            for (unsigned h = T / 2; h > 0; h /= 2)
                for (unsigned tid = 0; tid < h; tid++)
                    red[tid] = fmaxf(red[tid], red[tid + h]);
            part[b * nblk + blk] = red[0];
        }
    for (unsigned b = 0; b < B; b++) {
        float M = -INFINITY;
        for (unsigned i = 0; i < nblk; i++)
            M = fmaxf(M, part[b * nblk + i]);
        for (size_t i = 0; i < (size_t)nm * F; i++)
            mel[(size_t)b * nm * F + i] = lm_clamp(mel[(size_t)b * nm * F + i], M);
    }
    fe_melbank_free(&bank);
    free(win);
    free(tw);
    free(first);
    free(len);
    free(off);
    free(part);
    free(sm);
    return mel;
}

/* Whisper's log step and clamp applied to a float64 mel spectrogram M of n values. */
static void lm_whisper64(double *M, long long n)
{
    double top = -INFINITY;
    for (long long i = 0; i < n; i++) {
        M[i] = log10(fmax(M[i], 1e-10));
        top = fmax(top, M[i]);
    }
    for (long long i = 0; i < n; i++)
        M[i] = (fmax(M[i], top - 8.0) + 4.0) / 4.0;
}

/* rel L2 of each clip's [n_mels, frames] against its own float64 reference: logmel's, or
 * (melspec dims) the melspec reference through Whisper's log and clamp; the logmel op's
 * tolerance for those dims. */
static void lm_check(const sono_dsp_dims *sd, int mel, const float *x, const float *out,
                     const char *what)
{
    long long n = sd->n_mels * sd->frames;
    double tol = sono_dsp_tol_logmel(sd, SONO_ERR_LOG);
    double *r = malloc(sizeof *r * (size_t)n);
    assert_non_null(r);
    for (long long b = 0; b < B; b++) {
        sono_error err = {0};
        if (mel) {
            assert_int_equal(sono_melspec64(sd, x + b * sd->samples, r, &err), 0);
            lm_whisper64(r, n);
        } else {
            assert_int_equal(sono_logmel64(sd, x + b * sd->samples, r, &err), 0);
        }
        double e = 0, s = 0;
        for (long long i = 0; i < n; i++) {
            if (isnan(out[b * n + i]))
                fail_msg("%s clip %lld: value %lld never written", what, b, i);
            double dv = out[b * n + i] - r[i];
            e += dv * dv;
            s += r[i] * r[i];
        }
        if (!(sqrt(e / s) < tol))
            fail_msg("%s clip %lld: rel L2 %g against its reference, tol %g", what, b,
                     sqrt(e / s), tol);
    }
    free(r);
}

static void lm_case(const char *op, double seconds, int pad, int check, const char *what)
{
    sono_dsp_dims sd;
    fe_dims fd;
    lm_dims(op, seconds, pad, &sd, &fd);
    float *x = lm_input(&fd);
    float *out = lm_emulate(&sd, &fd, x, check);
    lm_check(&sd, strcmp(op, "melspec") == 0, x, out, what);
    /* clip 1 is wholly below clip 0's floor: only a per-clip clamp keeps its spread */
    size_t per = fd.n_mels * fd.frames;
    float hi[B], lo[B];
    for (size_t b = 0; b < B; b++) {
        hi[b] = -INFINITY;
        lo[b] = INFINITY;
        for (size_t i = 0; i < per; i++) {
            hi[b] = fmaxf(hi[b], out[b * per + i]);
            lo[b] = fminf(lo[b], out[b * per + i]);
        }
    }
    assert_true(hi[1] < hi[0] - 2.05f);
    assert_true(hi[1] - lo[1] > 0.3f);
    free(out);
    free(x);
}

/* Whisper's own shape, n_fft 400 hop 160 80 mels, on 0.37 s (37 frames: a last block of 5,
 * an odd last pair), each frame's power checked too. */
static void lm_whisper_400(void **state)
{
    (void)state;
    lm_case("logmel", 0.37, 0, 1, "n_fft=400");
}

/* n_fft 512 (radix 8 8 8), hop 256, 128 mels: melspec's defaults through the same kernel
 * and Whisper's log and clamp; 0.6 s: 38 frames. */
static void lm_nfft_512(void **state)
{
    (void)state;
    lm_case("melspec", 0.6, 0, 1, "n_fft=512");
}

/* pad_or_trim: 0.5 s zero-padded to 30 s (3000 frames, 188 blocks), the zeros reaching
 * the log floor and the clamp. */
static void lm_padded_30s(void **state)
{
    (void)state;
    lm_case("logmel", 0.5, 1, 0, "n_fft=400 30 s");
}

/* The shapes the kernel is given: shared memory for Whisper's 80 mels under 48 KiB
 * (no opt-in), the blocks per clip. */
static void lm_shapes(void **state)
{
    (void)state;
    assert_true(lm_shared_floats(400, 80) * sizeof(float) <= 48 * 1024);
    assert_true(lm_shared_floats(512, 128) * sizeof(float) <= 48 * 1024);
    assert_int_equal(lm_blocks(3000), 188); /* 187 full blocks and 8 frames */
    assert_int_equal(lm_blocks(16), 1);
    assert_int_equal(lm_blocks(17), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(lm_whisper_400),
        cmocka_unit_test(lm_nfft_512),
        cmocka_unit_test(lm_padded_30s),
        cmocka_unit_test(lm_shapes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
