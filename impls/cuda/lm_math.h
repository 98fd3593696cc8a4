/* lm_math.h — cuda/fused's Whisper log-mel (issue 26): each thread's work in the one
 * kernel that goes from the clips' samples to their logged mel tiles (frames read through
 * the centre reflection and pad_or_trim, the window, two frames per complex Stockham FFT
 * in shared memory, the split into both frames' power, the sparse filterbank over each
 * filter's nonzero band, log10, the block's max) and in the clamp kernel. Compiled by
 * nvcc for lm_kernels.cu and by cc for tests/test_cuda_math_lm.c, which runs these bodies
 * over every thread of every block of both launches. */
#ifndef IMPLS_CUDA_LM_MATH_H
#define IMPLS_CUDA_LM_MATH_H

#include <math.h>

#include "dsp_math.h"
#include "stockham_math.h"

#define LM_FPB 16u     /* frames per block: a tile row of 16 floats, 64-byte stores */
#define LM_THREADS 128u
#define LM_NFFT_MAX 2048u

/* The filterbank the kernel reads: filter m's weights wt[off[m] .. off[m] + len[m]) on
 * bins first[m] .. (fe_melbank's, as ints). */
typedef struct lm_bank {
    const int *first, *len, *off;
    const float *wt;
    unsigned n_mels;
} lm_bank;

/* The clip geometry (fe_dims's, one clip). */
typedef struct lm_geom {
    unsigned long long samples, used, off; /* off: n_fft / 2 when centred, else 0 */
    unsigned n_fft, hop, frames;
    float power;
} lm_geom;

/* Element j of the complex row of frames (ta, ta + 1) of clip x: both frames' windowed
 * padded samples as re and im (im 0 past the last frame). */
SK_HD sk_cf lm_load_one(const float *x, const float *win, const lm_geom *g, unsigned ta,
                        unsigned j)
{
    sk_cf z = {0.0f, 0.0f};
    for (unsigned h = 0; h < 2 && ta + h < g->frames; h++) {
        long long s = dsp_src_index((long long)(ta + h) * g->hop + j, (long long)g->off,
                                    (long long)g->used, (long long)g->samples);
        float v = (s >= 0 ? x[s] : 0.0f) * win[j];
        if (h)
            z.im = v;
        else
            z.re = v;
    }
    return z;
}

/* Bin k (0 <= k <= n/2) of both frames' spectrum from Z = DFT(row), |X|^power, into
 * P[k] (frame ta) and P[n/2 + 1 + k] (frame ta + 1). */
SK_HD void lm_power_one(const sk_cf *Z, unsigned n, unsigned k, float power, float *P)
{
    sk_cf a, b;
    sk_split_one(Z, n, k, &a, &b);
    P[k] = dsp_powered(a.re, a.im, power);
    P[n / 2 + 1 + k] = dsp_powered(b.re, b.im, power);
}

/* Item i < 2 n_mels of the mel step: frame h = i / n_mels of the pair, filter m: the band's
 * weighted sum of P, Whisper's log10(max(v, 1e-10)), into the tile [n_mels][LM_FPB] at
 * column c + h. */
SK_HD void lm_mel_one(const float *P, unsigned n, const lm_bank *bk, unsigned i, float *tile,
                      unsigned c)
{
    unsigned h = i / bk->n_mels, m = i % bk->n_mels;
    const float *p = P + h * (n / 2 + 1) + bk->first[m];
    const float *w = bk->wt + bk->off[m];
    float acc = 0.0f;
    for (int q = 0; q < bk->len[m]; q++)
        acc += w[q] * p[q];
    tile[m * LM_FPB + c + h] = dsp_log_step(acc, 1);
}

/* Item i < n_mels LM_FPB of the tile's store: mel[m][t0 + c] of the clip's [n_mels][frames]
 * when that frame exists; returns the value stored, or -inf, for the block's max. */
SK_HD float lm_store_one(const float *tile, float *mel, unsigned frames, unsigned t0, unsigned i)
{
    unsigned m = i / LM_FPB, c = i % LM_FPB;
    if (t0 + c >= frames)
        return -INFINITY;
    mel[(unsigned long long)m * frames + t0 + c] = tile[i];
    return tile[i];
}

/* The clamp kernel's value: Whisper's (max(v, M - 8) + 4) / 4 with M the clip's max of the
 * logged values (dsp_finish's clamp, the log already taken). */
SK_HD float lm_clamp(float v, float M)
{
    return (fmaxf(v, M - 8.0f) + 4.0f) / 4.0f;
}

/* Blocks of the mel kernel per clip. */
SK_HD unsigned lm_blocks(unsigned frames)
{
    return (frames + LM_FPB - 1) / LM_FPB;
}

/* Shared floats the mel kernel needs: two complex rows, both frames' power, the tile,
 * the max reduction's LM_THREADS. */
SK_HD unsigned long long lm_shared_floats(unsigned n, unsigned n_mels)
{
    return 4ull * n + 2ull * (n / 2 + 1) + (unsigned long long)n_mels * LM_FPB + LM_THREADS;
}

#endif
