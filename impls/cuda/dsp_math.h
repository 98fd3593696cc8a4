/* dsp_math.h — the arithmetic of the audio front ends' kernels (dsp_kernels.cu), compiled
 * by nvcc for the device and by cc for tests/test_cuda_math_dsp.c: where a padded sample
 * comes from, where a clip's value sits in either mel layout, and the log and clamp steps
 * (issue 10: every index carries the clip). */
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

#endif
