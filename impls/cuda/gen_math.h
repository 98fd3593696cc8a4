/* gen_math.h — the arithmetic and index maps of cuda/hifigan's and cuda/wavenet's own
 * kernels (gen_kernels.cu), compiled by nvcc for the device and by cc for
 * tests/test_cuda_math_gen.c: the leaky ReLU fused into a conv's im2col, the im2col source
 * of a dilated "same" conv, the inputs a transposed conv's output sums, WaveNet's gated
 * activation and its stacked past/now/conditioning columns. */
#ifndef IMPLS_CUDA_GEN_MATH_H
#define IMPLS_CUDA_GEN_MATH_H

#include <math.h>

#ifdef __CUDACC__
#define GEN_HD __host__ __device__ static inline
#else
#define GEN_HD static inline
#endif

GEN_HD float gen_lrelu(float v, float slope)
{
    return v >= 0 ? v : v * slope;
}

/* A conv's im2col: element e of col [cin K][T] (row c K + k, column u) reads x [cin][T] at
 * the returned index, or -1 for the zero padding (u + k dil - pad outside [0, T)). */
GEN_HD long long gen_conv_src(long long e, long long T, int K, int dil, int pad)
{
    long long u = e % T, row = e / T, c = row / K, k = row % K;
    long long t = u + k * dil - pad;
    return t < 0 || t >= T ? -1 : c * T + t;
}

/* The inputs t in [*lo, *hi] that output u of a transposed conv (stride s, kernel K,
 * padding pad, Tin inputs) sums: t s + k = u + pad with 0 <= k < K. Empty when *lo > *hi. */
GEN_HD void gen_tconv_range(long long u, int s, int K, int pad, long long Tin, long long *lo,
                            long long *hi)
{
    long long v = u + pad, h = v / s, l = v - K + 1 <= 0 ? 0 : (v - K + 1 + s - 1) / s;
    *lo = l;
    *hi = h < Tin - 1 ? h : Tin - 1;
}

/* tanh(zf) sigmoid(zg) */
GEN_HD float gen_gate(float zf, float zg)
{
    return tanhf(zf) * (1.0f / (1.0f + expf(-zg)));
}

/* WaveNet's gate columns: element e of col [T][2R + Cc] (row t) is h[t - d][i] for column
 * i < R, h[t][i - R] for R <= i < 2R (h time-major [T][R]), and the conditioning x[1 + j]
 * [t] for 2R + j (x [1 + Cc][T]). *from: 0 h, 1 x; -1 for h before time 0 (zero). */
GEN_HD long long gen_wv_col_src(long long e, int R, int Cc, long long T, long long d, int *from)
{
    long long K = 2LL * R + Cc, t = e / K, i = e % K;
    if (i >= 2LL * R) {
        *from = 1;
        return (1 + i - 2LL * R) * T + t;
    }
    *from = 0;
    if (i < R)
        return t >= d ? (t - d) * R + i : -1;
    return t * R + (i - R);
}

#endif
