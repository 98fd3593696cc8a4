/* sp_math.h — the arithmetic of the speech kernels (sp_kernels.cu: wav2vec2.features'
 * norm + GELU epilogue, attention.relpos's buckets, gate and biased softmax), compiled by
 * nvcc for the device and by cc for tests/test_cuda_math_speech.c, which assembles host
 * versions of both ops from these functions and checks them against the ops' float64
 * references. Contracts: harness/ops/w2v.h and harness/ops/relpos.h. */
#ifndef IMPLS_CUDA_SP_MATH_H
#define IMPLS_CUDA_SP_MATH_H

#include <math.h>

#ifdef __CUDACC__
#define SP_HD __host__ __device__ static inline
#else
#define SP_HD static inline
#endif

/* ---- wav2vec2.features ----------------------------------------------------------------- */

enum { SP_NORM_NONE = 0, SP_NORM_GROUP = 1, SP_NORM_LAYER = 2 };

/* GELU, exact: y/2 (1 + erf(y / sqrt 2)). */
SP_HD float sp_gelu(float y)
{
    return 0.5f * y * (1.0f + erff(y * 0.70710678118654752f));
}

/* mean and 1/sqrt(var + 1e-5) from the double sums of n values and of their squares. */
SP_HD void sp_stats(double sum, double sq, double n, float *mean, float *inv)
{
    double m = sum / n, v = sq / n - m * m;
    *mean = (float)m;
    *inv = (float)(1.0 / sqrt((v > 0 ? v : 0) + 1e-5));
}

/* One value of a layer's output after its norm (mean, inv, g, b) and GELU. */
SP_HD float sp_norm_gelu(float y, float mean, float inv, float g, float b)
{
    return sp_gelu((y - mean) * inv * g + b);
}

/* The im2col source of column i of output step t: the activations are time-major [T][cin],
 * so output t's taps are the k*cin floats from row t*s on. */
SP_HD long long sp_col_src(long long t, long long i, long long s, long long cin)
{
    return t * s * cin + i;
}

/* ---- attention.relpos ------------------------------------------------------------------ */

/* WavLM's bucket of r = key - query, with torch's float32 logarithm. */
SP_HD int sp_bucket(long long r, int nb, int md)
{
    int n = nb / 2, m = n / 2, b = r > 0 ? n : 0;
    long long a = r < 0 ? -r : r;
    if (a < m)
        return b + (int)a;
    float v = logf((float)a / (float)m) / logf((float)md / (float)m) * (float)(n - m);
    int big = (int)((float)m + v);
    return b + (big < n - 1 ? big : n - 1);
}

SP_HD float sp_sigmoid(float x)
{
    return 1.0f / (1.0f + expf(-x));
}

/* The gate of a query whose layer input is x (d floats): p = Wg x + bg, then
 * ga (gb c - 1) + 2 with ga, gb the sigmoids of the sums of p's two halves. */
SP_HD float sp_gate(const float *x, const float *wg, const float *bg, float c, int d)
{
    float p[8];
    for (int k = 0; k < 8; k++) {
        float a = bg[k];
        for (int e = 0; e < d; e++)
            a += wg[k * d + e] * x[e];
        p[k] = a;
    }
    float ga = sp_sigmoid(p[0] + p[1] + p[2] + p[3]), gb = sp_sigmoid(p[4] + p[5] + p[6] + p[7]);
    return ga * (gb * c - 1.0f) + 2.0f;
}

/* Score (i, j) of head h with its bias: the scaled dot product plus gate x E[bucket, h]. */
SP_HD float sp_biased(float scaled, float gate, const float *E, const int *bucket_of_r,
                      long long i, long long j, long long S, int H, int h)
{
    return scaled + gate * E[(long long)bucket_of_r[j - i + S - 1] * H + h];
}

#endif
