/* wh_math.h — the arithmetic of cuda/whisper's own kernels (wh_kernels.cu), compiled by
 * nvcc for the device and by cc for tests/test_cuda_math_whisper.c: the exact GELU, the
 * conv stem's im2col indices (k 3, pad 1; stride 1 then 2), a LayerNorm element from its
 * row's mean and inverse deviation, and a softmax weight from its row's max and sum. */
#ifndef IMPLS_CUDA_WH_MATH_H
#define IMPLS_CUDA_WH_MATH_H

#include <math.h>

#ifdef __CUDACC__
#define WH_HD __host__ __device__ static inline
#else
#define WH_HD static inline
#endif

/* x Phi(x) = x (1 + erf(x / sqrt 2)) / 2 */
WH_HD float wh_gelu(float x)
{
    return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f));
}

/* conv1's columns over B clips: element e of col [B*F][M*3] (row b*F + t, column i*3 + k)
 * reads x [B][M][F] at the returned index, or -1 for the zero padding (t + k - 1 outside
 * [0, F)). */
WH_HD long long wh_col1_src(long long e, long long M, long long F)
{
    long long c = e % (M * 3), row = e / (M * 3);
    long long t = row % F, b = row / F, i = c / 3, k = c % 3, u = t + k - 1;
    return u < 0 || u >= F ? -1 : (b * M + i) * F + u;
}

/* conv2's (stride 2): element e of col [B*T][D*3] (row b*T + t, column i*3 + k) reads
 * a1 [B*F][D] at the returned index, or -1 where 2t + k - 1 is outside [0, F). */
WH_HD long long wh_col2_src(long long e, long long D, long long F, long long T)
{
    long long c = e % (D * 3), row = e / (D * 3);
    long long t = row % T, b = row / T, i = c / 3, k = c % 3, u = 2 * t + k - 1;
    return u < 0 || u >= F ? -1 : (b * F + u) * D + i;
}

/* 1 / sqrt(var + 1e-5) of a row from its sum and sum of squared deviations over D. */
WH_HD float wh_ln_rstd(float sq_dev, int D)
{
    return 1.0f / sqrtf(sq_dev / (float)D + 1e-5f);
}

WH_HD float wh_ln(float x, float mean, float rstd, float g, float b)
{
    return (x - mean) * rstd * g + b;
}

/* A row's softmax weight once its max mx and sum of exp(s - mx) are known. */
WH_HD float wh_softmax_w(float s, float mx, float inv_sum)
{
    return expf(s - mx) * inv_sum;
}

#endif
