/* vqste_math.h — the per-element arithmetic of cuda/ste's kernels (vqste_kernels.cu) for
 * vq.ste, compiled by nvcc and by cc for tests/test_cuda_math_vqste.c: the straight-through
 * output and dx of one element, the decayed count, the Laplace-smoothed count, a new
 * codebook element, de, and the restart's choice (Philox, impls/common/philox.h). */
#ifndef IMPLS_CUDA_VQSTE_MATH_H
#define IMPLS_CUDA_VQSTE_MATH_H

#include <stdint.h>

#include "../common/philox.h" /* relative: the host tests have no -Iimpls/common */

#ifdef __CUDACC__
#define VS_HD __host__ __device__ static inline
#else
#define VS_HD static inline
#endif

/* q = x + (e - x), the forward value of x + sg(e - x). */
VS_HD float vs_q(float x, float e)
{
    return x + (e - x);
}

/* dx = g + s (x - e), s = 2 beta / (N D): the commitment term's gradient beside g. */
VS_HD float vs_dx(float g, float s, float x, float e)
{
    return g + s * (x - e);
}

/* The EMA count after the batch's n vectors. */
VS_HD float vs_count(float decay, float c0, float n)
{
    return decay * c0 + (1.0f - decay) * n;
}

/* The Laplace-smoothed count of a code of count c among K with total tot. */
VS_HD float vs_smoothed(float c, float eps, float tot, float K)
{
    return (c + eps) / (tot + K * eps) * tot;
}

/* A new codebook element from the decayed sum and the smoothed count. */
VS_HD float vs_row(float decay, float sum0, float sk, float sm)
{
    return (decay * sum0 + (1.0f - decay) * sk) / sm;
}

/* de = 2 (n e - s) / (N D) for a code chosen n times whose vectors sum to s. */
VS_HD float vs_de(float two_over_nd, float n, float e, float s)
{
    return two_over_nd * (n * e - s);
}

/* The batch vector code k restarts at. */
VS_HD uint32_t vs_restart(uint64_t seed, uint32_t k, uint32_t N)
{
    return philox_u32(seed, k, 0, 1) % N;
}

#endif
