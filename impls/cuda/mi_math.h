/* mi_math.h — the arithmetic and index maps of cuda/mimi's own kernels (mi_kernels.cu),
 * compiled by nvcc for the device and by cc for tests/test_cuda_math_mimi.c: the causal
 * (zero or replicate) padded im2col over S clips, the causal transposed conv's taps, the
 * conv epilogue (bias, residual, ELU), RoPE, the sliding-window mask, the online softmax's
 * rescale, LayerNorm, layer scale and the codebook search's distance and tie rule.
 * Layouts: activations [channels][S][time] (the S clips side by side in each row, so one
 * GEMM's N spans them all), transformer rows [S*T][D]. */
#ifndef IMPLS_CUDA_MI_MATH_H
#define IMPLS_CUDA_MI_MATH_H

#include <math.h>

#ifdef __CUDACC__
#define MI_HD __host__ __device__ static inline
#else
#define MI_HD static inline
#endif

/* ELU, alpha 1 (expm1f: no cancellation near 0) */
MI_HD float mi_elu(float v)
{
    return v > 0 ? v : expm1f(v);
}

/* The exact GELU, x Phi(x) */
MI_HD float mi_gelu(float v)
{
    return 0.5f * v * (1.0f + erff(v * 0.70710678118654752f));
}

/* Element e of the im2col columns col [cin*k][S][lout] (row i*k + j, column s*lout + t)
 * of a conv over x [cin][S][L] with `left` causal samples before each clip: the source
 * index in x, or -1 for a padding zero. With replicate (the downsample) the padding
 * repeats the clip's first or last sample instead. Padded position t*stride + j*dil is
 * sample t*stride + j*dil - left of the clip. */
MI_HD long long mi_col_src(long long e, long long k, long long stride, long long dil,
                           long long L, long long left, long long lout, long long S,
                           int replicate)
{
    long long t = e % lout, s = (e / lout) % S, row = e / (lout * S);
    long long j = row % k, i = row / k, u = t * stride + j * dil - left;
    if (u < 0 || u >= L) {
        if (!replicate)
            return -1;
        u = u < 0 ? 0 : L - 1;
    }
    return (i * S + s) * L + u;
}

/* Causal transposed conv (stride s, kernel k; the full output's first L*s samples kept):
 * output sample u sums the inputs t with 0 <= u - t*s < k, i.e. t in [first, last]. */
MI_HD long long mi_tr_first(long long u, long long k, long long s)
{
    return u < k ? 0 : (u - k) / s + 1;
}

MI_HD long long mi_tr_last(long long u, long long s, long long L)
{
    long long t = u / s;
    return t < L - 1 ? t : L - 1;
}

/* A conv's output element: the GEMM's sum, its bias, the residual (0 without), then ELU
 * when the next layer is the activation (fused: the raw value is not needed after). */
MI_HD float mi_epilogue(float acc, float bias, float res, int act)
{
    float v = acc + bias + res;
    return act ? mi_elu(v) : v;
}

/* RoPE's angle (rotate_half pairing, i < dh/2) at position pos, in double as the CPU
 * rungs compute it; cuda/mimi tabulates cos and sin of it in setup. */
MI_HD double mi_rope_angle(long long pos, int i, int dh, double theta)
{
    return (double)pos * pow(theta, -2.0 * i / dh);
}

/* (x_i, x_{i+dh/2}) rotated by the angle whose cos and sin are cs, sn */
MI_HD void mi_rope(float x1, float x2, float cs, float sn, float *y1, float *y2)
{
    *y1 = x1 * cs - x2 * sn;
    *y2 = x2 * cs + x1 * sn;
}

/* The first key query t sees: keys (t - window, t], causal and windowed. */
MI_HD long long mi_attn_first(long long t, long long window)
{
    return t + 1 > window ? t + 1 - window : 0;
}

/* Online softmax: the factor that moves a sum (and the weighted values) taken against
 * the running max m_old onto the new max m_new >= m_old; 0 before any key. */
MI_HD float mi_rescale(float m_old, float m_new)
{
    return m_old == -INFINITY ? 0.0f : expf(m_old - m_new);
}

/* LayerNorm with the row's mean and biased variance taken in double (a row's offset
 * does not cancel in float), then the element in float as the CPU rungs do. */
MI_HD float mi_ln_rstd(double var, double eps)
{
    return (float)(1.0 / sqrt(var + eps));
}

MI_HD float mi_ln(float x, float mean, float rstd, float g, float b)
{
    return (x - mean) * rstd * g + b;
}

/* h += ls * u, the layer-scaled residual of one element (ls the column's scale) */
MI_HD float mi_ls_add(float h, float ls, float u)
{
    return h + ls * u;
}

/* The codebook search's distance without the row's common ||r||^2: ||e||^2 - 2 r.e */
MI_HD float mi_nn_dist(float norm2, float dot)
{
    return norm2 - 2.0f * dot;
}

/* Whether (d, k) beats the best so far (bd, bk): smaller distance, the lower index on a
 * tie, so any order of a parallel reduction picks what the sequential scan picks. */
MI_HD int mi_nn_better(float d, int k, float bd, int bk)
{
    return d < bd || (d == bd && k < bk);
}

/* Codes are [S][n_q][F]: stage q of frame f of clip s, the op's layout (row r = s*F + f
 * of the residuals [S*F][Q]). */
MI_HD long long mi_code_at(long long r, int q, int nq, long long F)
{
    return ((r / F) * nq + q) * F + r % F;
}

#endif
