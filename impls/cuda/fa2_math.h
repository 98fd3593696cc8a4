/* fa2_math.h — cuda/flash2 (issue 26), an FA2-style attention on tensor cores: which lane
 * holds which element of the A, B and C fragments of mma.sync m16n8k16 (bf16, f16) and
 * m16n8k8 (tf32), the fragment loads from the shared-memory tiles, the online softmax in
 * registers, the reuse of P's C fragments as A fragments, and the tile schedule (causal
 * tiles skipped). Compiled by nvcc for fa2_kernels.cu and by cc for
 * tests/test_cuda_math_flash.c, which runs the same pieces over 32 emulated lanes. */
#ifndef IMPLS_CUDA_FA2_MATH_H
#define IMPLS_CUDA_FA2_MATH_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#ifdef __CUDACC__
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#define FA2_HD __host__ __device__ __forceinline__ static
#define FA2_UNROLL _Pragma("unroll")
#else
#define FA2_HD static inline
#define FA2_UNROLL
#endif

/* A block: 4 warps, 16 query rows each (one m16 tile a warp), so 64 queries; key tiles of
 * 64 keys, double-buffered. */
#define FA2_WARPS 4
#define FA2_BQ 64
#define FA2_BK 64
#define FA2_NT (FA2_BK / 8) /* n-tiles of 8 keys in a key tile: S is 8 C fragments a warp */

/* The element kinds of the mma: 16-bit pairs packed in a 32-bit register, or tf32 (the
 * float's bits, its low 13 mantissa bits zero after rounding). */
enum { FA2_BF16 = 0, FA2_F16 = 1, FA2_TF32 = 2 };

/* Shared-memory row strides in elements. 16-bit tiles: d + 8 (a row is d/2 + 4 words, so
 * the 8 rows a fragment load touches start 4 banks apart and the 4 lanes of a group fill
 * the gaps). tf32: Q and K rows d + 4 words (rows 4 banks apart, lanes t = 0..3 add 0..3);
 * V is read down columns (keys t and t + 4 for lanes t), so d + 8 (rows 8 banks apart,
 * lanes g = 0..7 add 0..7). Every stride keeps 16-byte rows for cp.async. */
FA2_HD int fa2_stride_qk(int d, int kind)
{
    return kind == FA2_TF32 ? d + 4 : d + 8;
}
FA2_HD int fa2_stride_v(int d, int kind)
{
    (void)kind;
    return d + 8;
}

/* ---- fragment layouts (PTX ISA, "Matrix fragments for mma.m16n8k16 / m16n8k8") --------
 * g = lane >> 2 (the group), t = lane & 3 (the thread in the group). */

/* m16n8k16, 16-bit A (16 x 16, row): element i = 0..7 of the lane (register i / 2, half
 * i % 2): rows g, g, g+8, g+8, g, g, g+8, g+8; cols 2t, 2t+1 (+8 for i >= 4). */
FA2_HD int fa2_a16_row(int lane, int i)
{
    return (lane >> 2) + 8 * ((i >> 1) & 1);
}
FA2_HD int fa2_a16_col(int lane, int i)
{
    return (lane & 3) * 2 + (i & 1) + 8 * (i >> 2);
}
/* m16n8k16, 16-bit B (16 x 8, col): element i = 0..3: k = 2t, 2t+1, 2t+8, 2t+9; n = g. */
FA2_HD int fa2_b16_k(int lane, int i)
{
    return (lane & 3) * 2 + (i & 1) + 8 * (i >> 1);
}
FA2_HD int fa2_b16_n(int lane, int i)
{
    (void)i;
    return lane >> 2;
}
/* m16n8k8, tf32 A (16 x 8): element i = 0..3: rows g, g+8, g, g+8; cols t, t, t+4, t+4. */
FA2_HD int fa2_a8_row(int lane, int i)
{
    return (lane >> 2) + 8 * (i & 1);
}
FA2_HD int fa2_a8_col(int lane, int i)
{
    return (lane & 3) + 4 * (i >> 1);
}
/* m16n8k8, tf32 B (8 x 8): element i = 0..1: k = t, t+4; n = g. */
FA2_HD int fa2_b8_k(int lane, int i)
{
    return (lane & 3) + 4 * i;
}
FA2_HD int fa2_b8_n(int lane, int i)
{
    (void)i;
    return lane >> 2;
}
/* C and D (16 x 8, float) of both shapes: element i = 0..3: rows g, g, g+8, g+8; cols 2t,
 * 2t+1. */
FA2_HD int fa2_c_row(int lane, int i)
{
    return (lane >> 2) + 8 * (i >> 1);
}
FA2_HD int fa2_c_col(int lane, int i)
{
    return (lane & 3) * 2 + (i & 1);
}

/* ---- conversions ------------------------------------------------------------------------ */

/* Round a float to tf32 (nearest, ties to even) by its bits: the same integer code on the
 * host and the device (PTX's cvt.rna.tf32 rounds ties away, so it is not used). */
FA2_HD uint32_t fa2_tf32_bits(float x)
{
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    if ((u & 0x7fffffffu) >= 0x7f800000u)
        return u;
    u += 0xfffu + ((u >> 13) & 1u);
    return u & ~0x1fffu;
}

#ifndef __CUDA_ARCH__
/* Host: float -> bf16 / f16 bits, nearest even (what __float2bfloat16_rn and
 * __float2half_rn do on the device). Finite inputs in [0, 1] here: P's weights. */
static inline uint16_t fa2_h_bf16(float x)
{
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}
static inline uint16_t fa2_h_f16(float x)
{
    uint32_t u, sign;
    memcpy(&u, &x, sizeof u);
    sign = (u >> 16) & 0x8000u;
    u &= 0x7fffffffu;
    if (u >= 0x477ff000u)
        return (uint16_t)(sign | 0x7c00u);
    if (u >= 0x38800000u) { /* >= 2^-14: normal */
        u += 0xfffu + ((u >> 13) & 1u);
        return (uint16_t)(sign | ((u >> 13) - (112u << 10)));
    }
    /* subnormal or zero: units of 2^-24, nearest even by rint in double (exact) */
    double v = (double)x * 16777216.0;
    return (uint16_t)(sign | (uint16_t)rint(fabs(v)));
}
#endif

/* Two floats as a packed 16-bit pair (lo in the low half), rounded to the kind. */
FA2_HD uint32_t fa2_pack2(float lo, float hi, int kind)
{
#ifdef __CUDA_ARCH__
    uint32_t r;
    if (kind == FA2_BF16) {
        __nv_bfloat162 h = __floats2bfloat162_rn(lo, hi);
        memcpy(&r, &h, sizeof r);
    } else {
        __half2 h = __floats2half2_rn(lo, hi);
        memcpy(&r, &h, sizeof r);
    }
    return r;
#else
    if (kind == FA2_BF16)
        return (uint32_t)fa2_h_bf16(lo) | ((uint32_t)fa2_h_bf16(hi) << 16);
    return (uint32_t)fa2_h_f16(lo) | ((uint32_t)fa2_h_f16(hi) << 16);
#endif
}

/* Two adjacent 16-bit elements as one register (p even: 4-byte aligned in the tiles). */
FA2_HD uint32_t fa2_ld2(const uint16_t *p)
{
#ifdef __CUDA_ARCH__
    return *(const uint32_t *)p;
#else
    return (uint32_t)p[0] | ((uint32_t)p[1] << 16);
#endif
}

/* ---- fragment loads from the shared tiles --------------------------------------------- */

/* A of S = Q K^T, 16-bit: rows r0.. of the Q tile, k-step kk (columns 16 kk ..). */
FA2_HD void fa2_load_q16(const uint16_t *qs, int stride, int r0, int kk, int lane, uint32_t a[4])
{
    int g = lane >> 2, c = kk * 16 + (lane & 3) * 2;
    a[0] = fa2_ld2(qs + (r0 + g) * stride + c);
    a[1] = fa2_ld2(qs + (r0 + g + 8) * stride + c);
    a[2] = fa2_ld2(qs + (r0 + g) * stride + c + 8);
    a[3] = fa2_ld2(qs + (r0 + g + 8) * stride + c + 8);
}
/* B of S = Q K^T, 16-bit: B[k = dim][n = key] = K[key][dim], keys 8 nt .., dims 16 kk .. */
FA2_HD void fa2_load_k16(const uint16_t *ks, int stride, int nt, int kk, int lane, uint32_t b[2])
{
    const uint16_t *row = ks + (nt * 8 + (lane >> 2)) * stride + kk * 16 + (lane & 3) * 2;
    b[0] = fa2_ld2(row);
    b[1] = fa2_ld2(row + 8);
}
/* B of O += P V, 16-bit: B[k = key][n = dim] = V[key][dim], keys 16 kb .., dims 8 dn .. */
FA2_HD void fa2_load_v16(const uint16_t *vs, int stride, int kb, int dn, int lane, uint32_t b[2])
{
    int key = kb * 16 + (lane & 3) * 2, dim = dn * 8 + (lane >> 2);
    b[0] = (uint32_t)vs[key * stride + dim] | ((uint32_t)vs[(key + 1) * stride + dim] << 16);
    b[1] = (uint32_t)vs[(key + 8) * stride + dim] | ((uint32_t)vs[(key + 9) * stride + dim] << 16);
}
/* tf32: A of Q K^T (k-step of 8 columns), B of K^T, B of V. */
FA2_HD void fa2_load_q8(const float *qs, int stride, int r0, int kk, int lane, uint32_t a[4])
{
    int g = lane >> 2, c = kk * 8 + (lane & 3);
    a[0] = fa2_tf32_bits(qs[(r0 + g) * stride + c]);
    a[1] = fa2_tf32_bits(qs[(r0 + g + 8) * stride + c]);
    a[2] = fa2_tf32_bits(qs[(r0 + g) * stride + c + 4]);
    a[3] = fa2_tf32_bits(qs[(r0 + g + 8) * stride + c + 4]);
}
FA2_HD void fa2_load_k8(const float *ks, int stride, int nt, int kk, int lane, uint32_t b[2])
{
    const float *row = ks + (nt * 8 + (lane >> 2)) * stride + kk * 8 + (lane & 3);
    b[0] = fa2_tf32_bits(row[0]);
    b[1] = fa2_tf32_bits(row[4]);
}
FA2_HD void fa2_load_v8(const float *vs, int stride, int kb, int dn, int lane, uint32_t b[2])
{
    int key = kb * 8 + (lane & 3), dim = dn * 8 + (lane >> 2);
    b[0] = fa2_tf32_bits(vs[key * stride + dim]);
    b[1] = fa2_tf32_bits(vs[(key + 4) * stride + dim]);
}

/* ---- P: from S's C fragments to the A fragments of P V ---------------------------------
 * 16-bit: the C fragments of n-tiles 2kb and 2kb+1 are, element for element, the A
 * fragment of the 16-key k-block kb (C rows g / g+8, cols 2t, 2t+1 = A's a0..a3; the next
 * n-tile's = a4..a7), so P stays in the lane's registers, only rounded and packed. */
FA2_HD void fa2_p_a16(const float s[FA2_NT][4], int kb, int kind, uint32_t a[4])
{
    a[0] = fa2_pack2(s[2 * kb][0], s[2 * kb][1], kind);
    a[1] = fa2_pack2(s[2 * kb][2], s[2 * kb][3], kind);
    a[2] = fa2_pack2(s[2 * kb + 1][0], s[2 * kb + 1][1], kind);
    a[3] = fa2_pack2(s[2 * kb + 1][2], s[2 * kb + 1][3], kind);
}
/* tf32: A element i of k-block kb (8 keys) is at row fa2_a8_row, key column t or t + 4,
 * which lane g*4 + col/2 holds as its C element (col & 1) (+2 for row g+8). The kernel
 * fetches it with __shfl_sync from that lane: fa2_p8_src gives (lane, element). */
FA2_HD void fa2_p8_src(int lane, int i, int *src_lane, int *src_elem)
{
    int col = fa2_a8_col(lane, i), hi = i & 1; /* row g+8 */
    *src_lane = (lane & ~3) | (col >> 1);
    *src_elem = (col & 1) + 2 * hi;
}

/* ---- online softmax, per lane ------------------------------------------------------------
 * A lane holds, of each of the warp's rows g and g+8, 2 scores per n-tile. Scores are kept
 * in the log2 domain (scaled by log2(e) / sqrt(d)), so a weight is exp2(s - m). m and l are
 * the running row max and the lane's partial row sum; the row max is reduced over the 4
 * lanes of a group (xor 1, 2) before it is used, so every lane rescales by the same
 * factor and the partial sums are summed only at the end. */

/* The lane's max of rows g (mx[0]) and g+8 (mx[1]) in this tile. */
FA2_HD void fa2_tile_max(const float s[FA2_NT][4], float mx[2])
{
    mx[0] = mx[1] = -INFINITY;
    FA2_UNROLL
    for (int nt = 0; nt < FA2_NT; nt++) {
        mx[0] = fmaxf(mx[0], fmaxf(s[nt][0], s[nt][1]));
        mx[1] = fmaxf(mx[1], fmaxf(s[nt][2], s[nt][3]));
    }
}

/* Given the row maxima of this tile over the group (mx), update m, rescale the partial sum
 * l and the output fragments o (nd n-tiles of 8 dims), and turn s into the weights. A row
 * whose every key so far is masked keeps m = -inf; its weights are exp2(-inf - 0) = 0. */
FA2_HD void fa2_softmax_step(float s[FA2_NT][4], const float mx[2], float m[2], float l[2],
                             float (*o)[4], int nd)
{
    float alpha[2], base[2];
    FA2_UNROLL
    for (int r = 0; r < 2; r++) {
        float mn = fmaxf(m[r], mx[r]);
        base[r] = mn == -INFINITY ? 0.0f : mn;
        alpha[r] = m[r] == -INFINITY ? 0.0f : exp2f(m[r] - mn);
        m[r] = mn;
        l[r] *= alpha[r];
    }
    for (int dn = 0; dn < nd; dn++) {
        o[dn][0] *= alpha[0];
        o[dn][1] *= alpha[0];
        o[dn][2] *= alpha[1];
        o[dn][3] *= alpha[1];
    }
    FA2_UNROLL
    for (int nt = 0; nt < FA2_NT; nt++)
        FA2_UNROLL
        for (int i = 0; i < 4; i++) {
            s[nt][i] = exp2f(s[nt][i] - base[i >> 1]);
            l[i >> 1] += s[nt][i];
        }
}

/* ---- the tile schedule ------------------------------------------------------------------ */

/* Query tile of block bx: the longest (causal: the last) first, so the tail of the grid is
 * short tiles. */
FA2_HD int fa2_qtile(int bx, int nqt)
{
    return nqt - 1 - bx;
}
/* Key tiles query tile qt visits: causal, tiles 0..qt only (BQ == BK, so tile kt > qt has
 * every key after every query of the tile: skipped whole); else all. */
FA2_HD int fa2_key_tiles(int qt, long long seq, int causal)
{
    int all = (int)((seq + FA2_BK - 1) / FA2_BK);
    return causal && qt + 1 < all ? qt + 1 : all;
}
/* Whether some (query, key) of the tile pair is not visible, so the tile is masked key by
 * key: the causal diagonal tile, and the last tile when seq is not a multiple of BK. */
FA2_HD int fa2_tile_masked(int qt, int kt, long long seq, int causal)
{
    return (causal && kt == qt) || (long long)(kt + 1) * FA2_BK > seq;
}
FA2_HD int fa2_visible(long long row, long long key, long long seq, int causal)
{
    return key < seq && (!causal || key <= row);
}

/* Scale the raw scores of one tile into the log2 domain and mask what is not visible:
 * row0 = the warp's first query, key0 = the tile's first key. */
FA2_HD void fa2_scale_mask(float s[FA2_NT][4], float scale_log2, int masked, long long row0,
                           long long key0, long long seq, int causal, int lane)
{
    FA2_UNROLL
    for (int nt = 0; nt < FA2_NT; nt++)
        FA2_UNROLL
        for (int i = 0; i < 4; i++) {
            float v = s[nt][i] * scale_log2;
            if (masked && !fa2_visible(row0 + fa2_c_row(lane, i),
                                       key0 + nt * 8 + fa2_c_col(lane, i), seq, causal))
                v = -INFINITY;
            s[nt][i] = v;
        }
}

#endif
