/* vqtc_math.h — cuda/vq-tc (issue 26), nearest codeword on tensor cores: the distance
 * ||c||^2 - 2 x.c of a warp's 16 vectors against a tile of 64 codewords from fa2_math.h's
 * m16n8k16 fragments (x as A, the codebook tile as B: the layout of Q K^T), a running
 * argmin per row in the lane (ties to the lowest index), and the merge of a row's 4 lanes.
 * tf32 (m16n8k8, float tiles) and vectors split into dtype parts (a float32 residual as
 * the sum of 2 or 3 values of the dtype: cuda/rvq-tc) are here too.
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


/* ---- tf32 and split vectors (issue 26: vq-tc in tf32, cuda/rvq-tc) ----------------------
 * nsplit 0: the vectors in the dtype's 16-bit storage (vq.encode's inputs are on its grid).
 * nsplit n >= 1: the vectors as float32 in shared memory, each A element the sum of n
 * values of the dtype: part 0 = round(v), part p = round(v - parts before); every
 * remainder is exact in float32 (v and round(v) within a factor 2, or round(v) = 0), so n
 * parts hold 8n (bf16) or 11n (tf32) significant bits: rvq's float32 residuals pass the
 * float32 check with 3 bf16 parts or 2 tf32 parts (tests/test_cuda_math_vqtc.c). Not f16:
 * its smallest step, 2^-24, is absolute, so a residual's low part (2^-11 of it) loses
 * bits below 2^-3; f16 codewords are exact in tf32, so rvq-tc's f16 residual stages run
 * the tf32 split on them. */
#define VQT_MAXSPLIT 3

/* The parts rvq-tc's later stages use: bf16 3 (24 bits), tf32 2 (22 bits). */
FA2_HD int vqt_parts(int kind)
{
    return kind == FA2_BF16 ? 3 : 2;
}

/* How a block holds its vectors: 16-bit kinds keep nsplit 16-bit tiles (1 when nsplit is
 * 0), the parts computed once when the block starts, so the codebook tiles reuse them;
 * tf32 keeps the float32 tile and splits at each fragment load (integer rounding, cheap;
 * two more float tiles would not fit beside the codebook's at d 256). */
FA2_HD int vqt_x_tiles(int kind, int nsplit)
{
    return kind == FA2_TF32 ? 1 : nsplit ? nsplit : 1;
}
/* Row strides (elements): the codebook tile (16-bit d + 8, tf32 d + 4: fa2's), and the
 * vector tiles (16-bit d + 8; tf32's float tile d + 4, rows 4 banks apart). */
FA2_HD int vqt_stride_b(int d, int kind)
{
    return fa2_stride_qk(d, kind);
}
FA2_HD int vqt_stride_x(int d, int kind, int nsplit)
{
    (void)nsplit;
    return fa2_stride_qk(d, kind);
}
/* Bytes of the vector tiles, then the dynamic shared bytes of a block (two codebook
 * tiles after them). */
FA2_HD long long vqt_xbytes(int d, int kind, int nsplit)
{
    return (long long)vqt_x_tiles(kind, nsplit) * VQT_BV * vqt_stride_x(d, kind, nsplit) *
           (kind == FA2_TF32 ? 4 : 2);
}
FA2_HD long long vqt_smem(int d, int kind, int nsplit)
{
    return vqt_xbytes(d, kind, nsplit) +
           2LL * VQT_BK * vqt_stride_b(d, kind) * (kind == FA2_TF32 ? 4 : 2);
}

/* v rounded to the kind (nearest even), as a float. */
FA2_HD float vqt_round(float v, int kind)
{
    uint32_t u;
    if (kind == FA2_TF32) {
        u = fa2_tf32_bits(v);
    } else {
        uint16_t h = (uint16_t)(fa2_pack2(v, 0.0f, kind) & 0xffffu);
        if (kind == FA2_BF16) {
            u = (uint32_t)h << 16;
        } else {
#ifdef __CUDA_ARCH__
            return __half2float(__ushort_as_half(h));
#else
            int e = (h >> 10) & 31, m = h & 1023;
            float f = e ? ldexpf((float)(1024 + m), e - 25) : ldexpf((float)m, -24);
            return (h & 0x8000) ? -f : f;
#endif
        }
    }
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* The first n parts of v's split into the kind's values, at once. */
FA2_HD void vqt_split(float v, int n, int kind, float *parts)
{
    for (int p = 0; p < n; p++) {
        float h = vqt_round(v, kind);
        parts[p] = h;
        v -= h;
    }
}

/* Part p of v's split. */
FA2_HD float vqt_part(float v, int p, int kind)
{
    float parts[VQT_MAXSPLIT];
    vqt_split(v, p + 1, kind, parts);
    return parts[p];
}

/* Element e (< VQT_BV * d) of a block's 16-bit part tiles: the block's vector row r =
 * e / d, column c = e % d; part p of it goes to tiles[p * VQT_BV * stride + r * stride + c]
 * as storage bits (rows past T are zero). */
FA2_HD void vqt_fill_parts(uint16_t *tiles, int stride, int d, int e, float v, int n, int kind)
{
    float parts[VQT_MAXSPLIT];
    int r = e / d, c = e % d;
    vqt_split(v, n, kind, parts);
    for (int p = 0; p < n; p++)
        tiles[(p * VQT_BV + r) * stride + c] =
            (uint16_t)(fa2_pack2(parts[p], 0.0f, kind) & 0xffffu);
}

/* A fragment of part p from a float vector tile: the elements of fa2_load_q16 (16-bit
 * kinds, k-step kk of 16) or fa2_load_q8 (tf32, k-step of 8), each replaced by its part.
 * The kernel uses it for tf32; the 16-bit kinds read vqt_fill_parts' tiles. */
FA2_HD void vqt_load_a_split(const float *xs, int stride, int r0, int kk, int lane, int p,
                             int kind, uint32_t a[4])
{
    int g = lane >> 2;
    if (kind == FA2_TF32) {
        int c = kk * 8 + (lane & 3);
        a[0] = fa2_tf32_bits(vqt_part(xs[(r0 + g) * stride + c], p, kind));
        a[1] = fa2_tf32_bits(vqt_part(xs[(r0 + g + 8) * stride + c], p, kind));
        a[2] = fa2_tf32_bits(vqt_part(xs[(r0 + g) * stride + c + 4], p, kind));
        a[3] = fa2_tf32_bits(vqt_part(xs[(r0 + g + 8) * stride + c + 4], p, kind));
        return;
    }
    int c = kk * 16 + (lane & 3) * 2;
    const float *r_lo = xs + (r0 + g) * stride + c, *r_hi = xs + (r0 + g + 8) * stride + c;
    a[0] = fa2_pack2(vqt_part(r_lo[0], p, kind), vqt_part(r_lo[1], p, kind), kind);
    a[1] = fa2_pack2(vqt_part(r_hi[0], p, kind), vqt_part(r_hi[1], p, kind), kind);
    a[2] = fa2_pack2(vqt_part(r_lo[8], p, kind), vqt_part(r_lo[9], p, kind), kind);
    a[3] = fa2_pack2(vqt_part(r_hi[8], p, kind), vqt_part(r_hi[9], p, kind), kind);
}

#endif
