/* dc_math.h — the arithmetic and index maps of cuda/dac's own kernels (dc_kernels.cu),
 * compiled by nvcc for the device and by cc for tests/test_cuda_math_dac.c: im2col with
 * zero padding over S clips (and Snake applied as it gathers), the conv epilogue (bias,
 * residual, Snake, tanh), the transposed conv's overlap-add, the L2 normalisation and the
 * codebook search's score and tie rule. Layouts as impls/common/dac_net.h: [C][S][T]. */
#ifndef IMPLS_CUDA_DC_MATH_H
#define IMPLS_CUDA_DC_MATH_H

#include <math.h>

#ifdef __CUDACC__
#define DC_HD __host__ __device__ static inline
#else
#define DC_HD static inline
#endif

/* Snake (dac.h): x + sin(alpha x)^2 / (alpha + 1e-9), per channel alpha. */
DC_HD float dc_snake(float x, float alpha)
{
    float s = sinf(alpha * x);
    return x + (1.0f / (alpha + 1e-9f)) * s * s;
}

/* Element e of the im2col columns col [cin*k][S*T] (row i*k + j, column s*T + t, so one
 * SGEMM's N spans every clip) of x [cin][S][L] with zero padding p on both sides of each
 * clip: the index of x it reads, or -1 for a padding zero. */
DC_HD long long dc_im2col_src(long long e, long long k, long long stride, long long dil,
                              long long pad, long long L, long long T, long long S)
{
    long long n = e % (S * T), row = e / (S * T);
    long long s = n / T, t = n % T, j = row % k, i = row / k;
    long long u = t * stride + j * dil - pad;
    return u >= 0 && u < L ? (i * S + s) * L + u : -1;
}

/* The conv epilogue on one output of channel o: the bias, the residual (has_res), then
 * Snake with the next layer's alpha (has_alpha), or tanh (the decoder's last conv). */
DC_HD float dc_epilogue(float acc, float bias, int has_res, float res, int has_alpha,
                        float alpha, int tanh_out)
{
    float v = acc + bias;
    if (has_res)
        v += res;
    if (has_alpha)
        v = dc_snake(v, alpha);
    if (tanh_out)
        v = tanhf(v);
    return v;
}

/* Transposed conv (PyTorch's ConvTranspose1d, padding p, dilation 1): output u of a clip
 * gathers input steps t whose tap j = u + p - t*stride lies in [0, k), t in [0, L): the
 * range [*lo, *hi] of such t (empty when lo > hi). */
DC_HD void dc_ola_range(long long u, long long pad, long long stride, long long k,
                        long long L, long long *lo, long long *hi)
{
    long long v = u + pad;
    *lo = v >= k ? (v - k) / stride + 1 : 0;
    *hi = v / stride < L - 1 ? v / stride : L - 1;
}

/* The columns' index, in col [cout*k][S*L] (one SGEMM of W^T x over every clip), of
 * channel o's tap j at clip s's input step t. */
DC_HD long long dc_ola_col(long long o, long long j, long long s, long long t, long long k,
                           long long S, long long L)
{
    return (o * k + j) * S * L + s * L + t;
}

/* F.normalize of z [D] (stride `stride` between its elements) into zn [D] (stride 1),
 * eps 1e-12, in double as the CPU rungs; returns ||zn||^2 summed in float. */
DC_HD float dc_l2norm(const float *z, long long stride, int D, float *zn)
{
    double nn = 0;
    for (int j = 0; j < D; j++)
        nn += (double)z[j * stride] * z[j * stride];
    double l = sqrt(nn);
    l = l > 1e-12 ? l : 1e-12;
    float s2 = 0;
    for (int j = 0; j < D; j++) {
        zn[j] = (float)(z[j * stride] / l);
        s2 += zn[j] * zn[j];
    }
    return s2;
}

/* The score of unit codeword cn [D] (squared norm cc) for unit zn (squared norm zz):
 * 2 zn.cn - zz + cc, the negated squared distance; the largest wins. */
DC_HD float dc_score(const float *zn, float zz, const float *cn, float cc, int D)
{
    float dot = 0;
    for (int j = 0; j < D; j++)
        dot += zn[j] * cn[j];
    return 2.0f * dot - zz + cc;
}

/* The tie rule (dac.h: the lowest index on ties): does (v, k) beat (bv, bk)? Order-free,
 * so a reduction in any order gives the lowest index of the best score. bk < 0: none. */
DC_HD int dc_better(float v, int k, float bv, int bk)
{
    return bk < 0 || v > bv || (v == bv && k < bk);
}

#endif
