/* bf16_gemm.h — the cpu/avx512bf16 rungs' GEMM engine (issue 26): C = A B with A and B in
 * bf16 and C in float32, by VDPBF16PS (products of bf16 pairs accumulated in float32) in
 * 8 x 32 register tiles. A is packed once as rows of k-pairs; B as 32-column panels of
 * k-pairs, which each rung fills its own way (sgemm from B's rows, conv1d from the signal
 * as im2col would read it), so the engine never sees a layout of the op's. */
#ifndef CPU_BF16_GEMM_H
#define CPU_BF16_GEMM_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define BG_MR 8   /* rows of a register tile */
#define BG_NR 32  /* columns of a panel: two vectors of 16 floats */
#define BG_KC 128 /* k-pairs per block: a panel's block (16 KiB) stays in L1 over C's rows */

/* A finite float rounded to bf16, to nearest, ties to even, as its 16 bits: exact (the
 * float's top half) on the grid, where the op's hooks put the inputs; the activations and
 * weights of a model rung, and attention's weights P, are rounded so. */
static inline uint32_t bg_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return (u + 0x7fffu + (u >> 16 & 1u)) >> 16;
}

/* A k-pair: lo at the even k, hi at the odd one (0 past k's end). */
static inline uint32_t bg_pair(float lo, float hi)
{
    return bg_bits(lo) | bg_bits(hi) << 16;
}

/* 0 where the CPU has AVX-512 BF16; else SONO_EUNSUPPORTED with the reason in why. */
int bg_cpu_ok(char *why, size_t n);

struct sono_params;
/* The gate every cpu/avx512bf16 rung starts supports() with: dtype=bf16 (what VDPBF16PS
 * multiplies) on a CPU with the instructions; else SONO_EUNSUPPORTED and why. */
int bg_supports(const struct sono_params *p, char *why, size_t n);

/* The index of the first value of x[0..n) off the bf16 grid, or -1 (the op's input hook
 * rounds them; anything else is not what the reference multiplies). */
long long bg_off_grid(const float *x, long long n);

/* A [m][k] (row stride lda) into a [mp][kh] pairs, kh = ceil(k / 2), rows m..mp zero;
 * each value rounded to bf16 (bg_bits). */
void bg_pack_a(const float *A, long long lda, long long m, long long k, long long mp,
               uint32_t *a);

/* C's panels [j0, j1), all mp rows: c[i * ldc + j * BG_NR + col] = sum over k-pairs
 * p < kh of a[i * lda + p] . bp[(j * ldb + p) * BG_NR + col]: A's rows lda pairs apart,
 * B's panels ldb pairs apart, the first kh pairs of each used. Overwrites C; mp a
 * multiple of BG_MR. */
void bg_gemm(const uint32_t *a, long long lda, long long mp, const uint32_t *bp,
             long long ldb, long long kh, long long j0, long long j1, float *c, long long ldc);

/* n rounded up to a multiple of q. */
static inline long long bg_up(long long n, long long q)
{
    return (n + q - 1) / q * q;
}

/* A conv layer's weights as the engine's A: rows o over (i, k) for a conv (W [cout][cin]
 * [k]); rows (o, k) over i for a transposed one (W [cin][cout][k], read as W^T), each
 * value rounded to bf16 once. The model rungs keep one per conv. */
typedef struct bg_conv_w {
    long long mp, kh;
    uint32_t *a; /* [mp][kh] */
} bg_conv_w;

/* NULL when out of memory. */
bg_conv_w *bg_conv_pack(const float *w, long long cin, long long cout, long long k, int tr);
void bg_conv_free(bg_conv_w *w);
/* Scratch floats of one such GEMM on cols columns: B's panels (kh x np pairs, 16-float
 * aligned), then C (mp x np floats); bg_conv_c() is where C starts. */
size_t bg_conv_scratch(long long rows, long long depth, long long cols);
static inline float *bg_conv_c(const bg_conv_w *w, float *scratch, long long np)
{
    return scratch + bg_up(w->kh * np, 16);
}

/* The same with A and B packed dense (lda = ldb = kh). */
static inline void bg_gemm_panels(const uint32_t *a, long long mp, long long kh,
                                  const uint32_t *bp, long long j0, long long j1, float *c,
                                  long long ldc)
{
    bg_gemm(a, kh, mp, bp, kh, kh, j0, j1, c, ldc);
}


#endif
