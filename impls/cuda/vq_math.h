/* vq_math.h — the arithmetic of the cuda quantiser kernels (vq_kernels.cu), compiled by
 * nvcc for the device and by cc for tests/test_cuda_math_vq.c: the score a codeword gets,
 * the tie rule that merges partial argmins, and the lane split of the fused kernel. */
#ifndef IMPLS_CUDA_VQ_MATH_H
#define IMPLS_CUDA_VQ_MATH_H

#ifdef __CUDACC__
#define VQ_HD __host__ __device__ static inline
#else
#define VQ_HD static inline
#endif

/* No codeword yet: loses to any candidate, even +inf at the largest index. */
#define VQ_NONE 0x7fffffff

/* ||x - c||^2 - ||x||^2 = ||c||^2 - 2 x.c: ||x||^2 is the same for every codeword of a
 * vector, so it is left out of the comparison. */
VQ_HD float vq_score(float cnorm, float dot)
{
    return cnorm - 2.0f * dot;
}

/* Whether (d, k) beats the best so far (bd, bk): a smaller score, or an equal one at a
 * lower index. Because equal scores go to the lower index whatever the order, threads
 * that each scan a part of the codebook and then merge pairwise in any tree agree with
 * one scan from k = 0 up (the op's "first smallest"). A NaN score never wins. */
VQ_HD int vq_better(float d, int k, float bd, int bk)
{
    return d < bd || (d == bd && k < bk);
}

/* The fused kernel's tile: VQ_BV vectors by VQ_BK codewords per block of 256 threads;
 * thread (ty, tx) = (tid / 16, tid % 16) owns vectors VQ_VT ty + v (v < VQ_VT) and
 * codewords tx + 16 m (m < VQ_BK / 16) of each tile, a 4 x 4 register tile (8 shared
 * loads per 16 multiply-adds); a D chunk of VQ_DC floats is staged at a time. */
#define VQ_LANES 16
#define VQ_VT 4
#define VQ_BV (VQ_LANES * VQ_VT)
#define VQ_BK 64
#define VQ_DC 32

/* The m-th codeword (m < VQ_BK / VQ_LANES) of lane tx in the tile starting at k0. */
VQ_HD int vq_lane_code(int k0, int tx, int m)
{
    return k0 + tx + VQ_LANES * m;
}

#endif
