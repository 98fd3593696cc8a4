/* dsp_math.h — the audio front ends' kernels (dsp_kernels.cu): their arithmetic and each
 * kernel thread's whole body, compiled by nvcc for the device and by cc for
 * tests/test_cuda_math_dsp.c, which runs these bodies over every thread of cu_dsp_run's
 * launches with impls/common/frontend.c's window and filterbank: where a padded sample
 * comes from, where a clip's value sits in either mel layout, the filter bands, and the
 * log and clamp steps (issue 10: every index carries the clip). */
#ifndef IMPLS_CUDA_DSP_MATH_H
#define IMPLS_CUDA_DSP_MATH_H

#include <math.h>
#include <stddef.h>

#ifdef __CUDACC__
#define DSP_HD __host__ __device__ static inline
#else
#define DSP_HD static inline
#endif

/* Padded position p of one clip: x[p - off] reflected into [0, used) (numpy "reflect",
 * no repeated edge); the index into the clip's samples, or -1 where it is a zero (at or
 * past `samples`: logmel's pad_or_trim). */
DSP_HD long long dsp_src_index(long long p, long long off, long long used, long long samples)
{
    long long s = p - off;
    if (s < 0)
        s = -s;
    if (s >= used)
        s = 2 * (used - 1) - s;
    return s >= 0 && s < samples ? s : -1;
}

/* |z|^power from its parts. */
DSP_HD float dsp_powered(float re, float im, float power)
{
    float p2 = re * re + im * im;
    if (power == 2.0f)
        return p2;
    if (power == 1.0f)
        return sqrtf(p2);
    return powf(p2, 0.5f * power);
}

/* log 0: none, 1: Whisper's log10(max(v, 1e-10)), 2: dB. Monotone (non-decreasing) in v,
 * so the step of a clip's max is the max of its stepped values, bit for bit: the clamp
 * may take the max before the log. */
DSP_HD float dsp_log_step(float v, int log)
{
    if (log == 1)
        return log10f(fmaxf(v, 1e-10f));
    if (log == 2)
        return 10.0f * log10f(fmaxf(v, 1e-10f));
    return v;
}

/* Value i (= r * cols + c, row r of cols) of clip b in a layout with clip stride sb and
 * row stride sr: [B][rows][cols] is sb = rows * cols, sr = cols; cuBLAS's filterbank
 * output [rows][B][cols] is sb = cols, sr = B * cols. */
DSP_HD size_t dsp_view(size_t b, size_t i, size_t sb, size_t sr, size_t cols)
{
    return b * sb + i / cols * sr + i % cols;
}

/* One output value: the log step, then (has_max) the clamp against the clip's max
 * through the same step: Whisper's (max(v, M - 8) + 4) / 4, else max(v, M - top_db). */
DSP_HD float dsp_finish(float v, float max, int has_max, int log, int whisper, float top_db)
{
    v = dsp_log_step(v, log);
    if (!has_max)
        return v;
    float m = dsp_log_step(max, log);
    return whisper ? (fmaxf(v, m - 8.0f) + 4.0f) / 4.0f : fmaxf(v, m - top_db);
}

/* ---- each kernel thread's body (spectra: interleaved re, im floats) ---------------- */

/* A complex value at p: one 8-byte load on the device (cuFFT's cufftComplex is 8-byte
 * aligned), two floats on the host; the same values either way. */
DSP_HD void dsp_cload(const float *p, float *re, float *im)
{
#ifdef __CUDA_ARCH__
    float2 z = *(const float2 *)p;
    *re = z.x;
    *im = z.y;
#else
    *re = p[0];
    *im = p[1];
#endif
}

/* k_frame, element g of [batch * nframes][n_fft]: the windowed padded sample of its clip. */
DSP_HD void dsp_frame_one(const float *x, size_t samples, size_t used, size_t off,
                          const float *win, float *frames, size_t n_fft, size_t hop,
                          size_t nframes, size_t g)
{
    size_t row = g / n_fft, j = g % n_fft, t = row % nframes;
    x += row / nframes * samples; /* clip b's signal */
    long long s = dsp_src_index((long long)(t * hop + j), (long long)off, (long long)used,
                                (long long)samples);
    frames[g] = (s >= 0 ? x[s] : 0.0f) * win[j];
}

/* k_stft_out, element g of out [batch][nbins][frames] from spec [batch*frames][nbins]:
 * kind 0 power, 1 magnitude, 2 complex (two floats at 2 g). */
DSP_HD void dsp_stft_out_one(const float *spec, float *out, size_t nbins, size_t frames,
                             int kind, size_t g)
{
    size_t b = g / (nbins * frames), r = g % (nbins * frames);
    size_t k = r / frames, t = r % frames;
    float re, im;
    dsp_cload(spec + 2 * ((b * frames + t) * nbins + k), &re, &im);
    if (kind == 2) {
        out[2 * g] = re;
        out[2 * g + 1] = im;
        return;
    }
    float p = re * re + im * im;
    out[g] = kind == 0 ? p : sqrtf(p);
}

/* k_mel, (clip b, filter m, frame t) of n_mels filters: the filter's band [first[m],
 * first[m] + len[m]) of dense W[m][k] times |X|^power, the log step, into mel[b][m][t]. */
DSP_HD void dsp_mel_one(const float *spec, const float *w, const int *first, const int *len,
                        float *mel, size_t nbins, size_t frames, size_t n_mels, float power,
                        int log, size_t b, size_t m, size_t t)
{
    const float *x = spec + 2 * ((b * frames + t) * nbins);
    const float *wm = w + m * nbins;
    float acc = 0.0f;
    for (int k = first[m], e = first[m] + len[m]; k < e; k++) {
        float re, im;
        dsp_cload(x + 2 * k, &re, &im);
        acc += wm[k] * dsp_powered(re, im, power);
    }
    mel[(b * n_mels + m) * frames + t] = dsp_log_step(acc, log);
}

/* k_power, value i: |spec[i]|^power. */
DSP_HD void dsp_power_one(const float *spec, float *p, float power, size_t i)
{
    float re, im;
    dsp_cload(spec + 2 * i, &re, &im);
    p[i] = dsp_powered(re, im, power);
}

/* k_finish, dst[g] of [batch][rows][cols] from src viewed with clip stride sb and row
 * stride sr (in place when src == dst with the same layout: each thread its own value). */
DSP_HD void dsp_finish_one(const float *src, size_t sb, size_t sr, float *dst, size_t rows,
                           size_t cols, const float *max, int log, int whisper, float top_db,
                           size_t g)
{
    size_t b = g / (rows * cols), i = g % (rows * cols);
    dst[g] = dsp_finish(src[dsp_view(b, i, sb, sr, cols)], max ? max[b] : 0.0f, max != 0, log,
                        whisper, top_db);
}

/* Filter m's band of nonzero weights in its dense row wm[nbins]: [*first, *first + *len)
 * (empty at 0 when the row is all zero). The mel kernel sums over it alone. */
DSP_HD void dsp_band(const float *wm, size_t nbins, int *first, int *len)
{
    size_t a = 0, b = 0;
    for (size_t k = 0; k < nbins; k++)
        if (wm[k] != 0.0f) {
            if (b == 0)
                a = k;
            b = k + 1;
        }
    *first = (int)a;
    *len = (int)(b - a);
}

#endif
