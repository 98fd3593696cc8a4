/* convtc_math.h — cuda/conv-tc (issue 26), conv1d as an implicit GEMM on tensor cores:
 * Y[co][t] = b[co] + sum_k Wp[co][k] X^[k][t] per group, k = c*kernel + j, X^ gathered
 * from x on the fly (no im2col buffer). Here: the index maps (k -> (channel, tap), the
 * causal/valid bounds, the tiles' fills) and the epilogue; the mma fragment layouts and
 * loads are fa2_math.h's (A = the weight tile as Q, B = the gathered tile as K of Q K^T).
 * Compiled by nvcc for convtc_kernels.cu and by cc for tests/test_cuda_math_convtc.c. */
#ifndef IMPLS_CUDA_CONVTC_MATH_H
#define IMPLS_CUDA_CONVTC_MATH_H

#include "fa2_math.h"
#include "nn_math.h"

/* A block: 4 warps; a 64 x 64 tile of (output channel, output step), 16 channels a warp
 * (one m16 tile) by 8 n-tiles of 8 steps; the reduction in tiles of 32 (two k16 steps or
 * four k8 steps). */
#define CT_WARPS 4
#define CT_BM 64
#define CT_BN 64
#define CT_BK 32
#define CT_NT (CT_BN / 8)
/* Shared row strides (elements): 16-bit rows of 40 (20 words: the 8 rows of a fragment
 * load start 4 banks apart, as fa2's d + 8), tf32 rows of 36 words (4 banks apart); both
 * keep rows 16-byte aligned for cp.async. */
#define CT_S16 (CT_BK + 8)
#define CT_S32 (CT_BK + 4)

#ifdef __CUDACC__
#define CT_HD __host__ __device__ __forceinline__ static
#else
#define CT_HD static inline
#endif

/* The reduction length per group (cig * kernel) and the packed weights' row length: the
 * next multiple of CT_BK, zero-filled, so every weight tile is whole and aligned. */
CT_HD long long ct_kk(const nnc_dims *d)
{
    return d->cig * d->k;
}
CT_HD long long ct_kp(const nnc_dims *d)
{
    return (ct_kk(d) + CT_BK - 1) / CT_BK * CT_BK;
}

/* The grid: x over output-step tiles, y over channel tiles of a group, z over groups. */
CT_HD long long ct_ntiles(const nnc_dims *d)
{
    return (d->tout + CT_BN - 1) / CT_BN;
}
CT_HD long long ct_mtiles(const nnc_dims *d)
{
    return (d->cog + CT_BM - 1) / CT_BM;
}

/* Packed weight element (co, kc) of Wp [cout][kp] from W [cout][cig][kernel], whose rows
 * are already k = c*kernel + j in order; 0 past kk. */
CT_HD float ct_wpack_at(const nnc_dims *d, const float *w, long long co, long long kc)
{
    return kc < ct_kk(d) ? w[co * ct_kk(d) + kc] : 0.0f;
}

/* X^[k][t] of group g: the index into x [cin][T] of channel g*cig + k/kernel at step
 * nnc_src(t, k%kernel) (t*stride + j*dil - pad), or -1 where it is a zero: past kk (the
 * padded tail of the reduction), past tout (the ragged last tile), or outside [0, T) (the
 * causal left padding; 'valid' never reads past the end by construction of tout). */
CT_HD long long ct_x_index(const nnc_dims *d, long long g, long long t, long long kidx)
{
    if (kidx >= ct_kk(d) || t >= d->tout)
        return -1;
    long long c = kidx / d->k, j = kidx - c * d->k;
    long long u = nnc_src(d, t, j);
    if (u < 0 || u >= d->T)
        return -1;
    return (g * d->cig + c) * d->T + u;
}

/* Gathered tile: element e (0 .. CT_BN*CT_BK) of the block's fill loop is output step
 * n = e % CT_BN (consecutive threads read consecutive steps: coalesced for stride 1) and
 * reduction column kl = e / CT_BN; it lands at xs[n * stride + kl], the [n][k] layout of
 * fa2's K tile. With e = thread + i * CT_THREADS, a thread keeps one step n and walks the
 * columns thread / CT_BN + CT_KSTEP_B * i. */
#define CT_THREADS (CT_WARPS * 32)
#define CT_BPER (CT_BN * CT_BK / CT_THREADS) /* gathered elements a thread per tile */
#define CT_KSTEP_B (CT_THREADS / CT_BN)     /* its column step */
CT_HD void ct_b_elem(int e, int *n, int *kl)
{
    *n = e % CT_BN;
    *kl = e / CT_BN;
}

/* The kernel's walk of one thread's columns without a division per element: (c, j) of
 * reduction index k = c*kernel + j, advanced by `step`; c reaches cig past kk. */
typedef struct ct_walk {
    long long c, j;
} ct_walk;

CT_HD ct_walk ct_walk_at(const nnc_dims *d, long long kidx)
{
    ct_walk w;
    w.c = kidx / d->k;
    w.j = kidx - w.c * d->k;
    return w;
}
CT_HD void ct_walk_step(const nnc_dims *d, int step, ct_walk *w)
{
    w->j += step;
    while (w->j >= d->k) {
        w->j -= d->k;
        w->c++;
    }
}
/* ct_x_index of the walk's position for step t of group g: the index into x or -1. */
CT_HD long long ct_x_walk(const nnc_dims *d, long long g, long long t, const ct_walk *w)
{
    if (w->c >= d->cig || t >= d->tout)
        return -1;
    long long u = nnc_src(d, t, w->j);
    if (u < 0 || u >= d->T)
        return -1;
    return (g * d->cig + w->c) * d->T + u;
}

/* The x indices (or -1) of thread `tid`'s CT_BPER elements of the tile at (n0, k0), in
 * the order e = tid + i * CT_THREADS; *n: the step, every element's column tid / CT_BN +
 * CT_KSTEP_B * i. What the kernel loads and tests/test_cuda_math_convtc.c checks against
 * ct_x_index element by element. */
CT_HD int ct_gather(const nnc_dims *d, long long g, long long n0, long long k0, int tid,
                    long long idx[CT_BPER])
{
    int n = tid % CT_BN;
    ct_walk w = ct_walk_at(d, k0 + tid / CT_BN);
#ifdef __CUDACC__
#pragma unroll
#endif
    for (int i = 0; i < CT_BPER; i++) {
        idx[i] = ct_x_walk(d, g, n0 + n, &w);
        ct_walk_step(d, CT_KSTEP_B, &w);
    }
    return n;
}

/* Weight tile: 16-byte chunk ch of the cp.async fill, epc elements a chunk (8 16-bit, 4
 * tf32): row r = ch / (CT_BK/epc), column c = (ch % (CT_BK/epc)) * epc. The source is
 * Wp[(g*cog + m0 + r)][k0 + c], or nothing (zero-filled) for rows past cog. Returns the
 * element index into Wp or -1. */
CT_HD long long ct_a_chunk(const nnc_dims *d, long long g, long long m0, long long k0, int ch,
                           int epc, int *r, int *c)
{
    int per = CT_BK / epc;
    *r = ch / per;
    *c = (ch % per) * epc;
    if (m0 + *r >= d->cog)
        return -1;
    return (g * d->cog + m0 + *r) * ct_kp(d) + k0 + *c;
}

/* Epilogue of one C element: the accumulator at (channel row, step col) of the warp's
 * tile; the output index into y [cout][tout], or -1 outside (ragged tiles), and the value
 * after bias and the fused activation (nn_math.h's, as cuda/conv-direct). */
CT_HD long long ct_out(const nnc_dims *d, long long g, long long m0, long long n0, int row,
                       int col, float acc, const float *b, const float *alpha, float *v)
{
    long long col_l = m0 + row, t = n0 + col;
    if (col_l >= d->cog || t >= d->tout)
        return -1;
    long long co = g * d->cog + col_l;
    *v = nnc_act(d->act, acc + b[co], d->act == 2 ? alpha[co] : 1.0f);
    return co * d->tout + t;
}

#endif
