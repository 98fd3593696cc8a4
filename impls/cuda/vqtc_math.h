/* vqtc_math.h — cuda/vq-tc (issue 26), nearest codeword on tensor cores: the distance
 * ||c||^2 - 2 x.c of a warp's 16 vectors against a tile of 64 codewords from fa2_math.h's
 * m16n8k16 fragments (x as A, the codebook tile as B: the layout of Q K^T), a running
 * argmin per row in the lane (ties to the lowest index), and the merge of a row's 4 lanes.
 * Compiled by nvcc for vqtc_kernels.cu and by cc for tests/test_cuda_math_vqtc.c. */
#ifndef IMPLS_CUDA_VQTC_MATH_H
#define IMPLS_CUDA_VQTC_MATH_H

#include "fa2_math.h"

#define VQT_WARPS 4
#define VQT_BV 64 /* vectors a block: 16 a warp */
#define VQT_BK 64 /* codewords a tile: 8 n-tiles of 8 */

/* Fold one tile's dot products s (C fragments: rows g, g+8 of the warp; codewords
 * key0 + 8 nt + 2t (+1)) into the lane's best (distance, index) of its two rows. Codes
 * past K are not candidates. Within a lane the codewords come in ascending order, so a
 * strict < keeps the lowest index of equal distances. */
FA2_HD void vqt_fold(const float s[FA2_NT][4], const float *cn, long long key0, long long K,
                     int lane, float best[2], int idx[2])
{
    FA2_UNROLL
    for (int nt = 0; nt < FA2_NT; nt++)
        FA2_UNROLL
        for (int i = 0; i < 4; i++) {
            long long key = key0 + nt * 8 + fa2_c_col(lane, i);
            if (key >= K)
                continue;
            float dist = cn[key] - 2.0f * s[nt][i];
            int r = i >> 1;
            if (dist < best[r] || (dist == best[r] && (int)key < idx[r])) {
                best[r] = dist;
                idx[r] = (int)key;
            }
        }
}

/* The smaller of two (distance, index) pairs, ties to the lower index: the merge of the
 * lanes of a row (__shfl_xor_sync 1 and 2 on the device). */
FA2_HD void vqt_merge(float *best, int *idx, float obest, int oidx)
{
    if (obest < *best || (obest == *best && oidx < *idx)) {
        *best = obest;
        *idx = oidx;
    }
}

#endif
