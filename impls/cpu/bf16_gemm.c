/* bf16_gemm.c — the bf16 GEMM engine of the cpu/avx512bf16 rungs (bf16_gemm.h): 8 x 32
 * float32 accumulators in registers, per k-pair two panel loads, eight broadcasts of A's
 * pairs and sixteen VDPBF16PS. Compiled for AVX-512 BF16 only in the functions that use
 * it, so the plugin loads on any x86-64 and the rungs refuse with the reason instead. */
#include "bf16_gemm.h"

#include <immintrin.h>
#include <stdio.h>
#include <stdlib.h>

#include "nndtype.h"
#include "sono.h"

#define BG_TARGET __attribute__((target("avx512f,avx512bw,avx512bf16")))

int bg_cpu_ok(char *why, size_t n)
{
    if (__builtin_cpu_supports("avx512bf16"))
        return 0;
    snprintf(why, n, "this CPU lacks AVX-512 BF16 (cpuid leaf 7 subleaf 1, EAX bit 5)");
    return SONO_EUNSUPPORTED;
}

int bg_supports(const sono_params *p, char *why, size_t n)
{
    if (nn_dtype(p) != NN_BF16) {
        snprintf(why, n, "dtype=%s: VDPBF16PS multiplies bf16 pairs (dtype=bf16 only)",
                 nn_dtype_str(p));
        return SONO_EUNSUPPORTED;
    }
    return bg_cpu_ok(why, n);
}

long long bg_off_grid(const float *x, long long n)
{
    for (long long i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &x[i], sizeof u);
        if (u & 0xffffu)
            return i;
    }
    return -1;
}

void bg_pack_a(const float *A, long long lda, long long m, long long k, long long mp,
               uint32_t *a)
{
    long long kh = (k + 1) / 2;
    for (long long i = 0; i < mp; i++)
        for (long long q = 0; q < kh; q++)
            a[i * kh + q] = i >= m ? 0
                            : 2 * q + 1 < k ? bg_pair(A[i * lda + 2 * q], A[i * lda + 2 * q + 1])
                                            : bg_pair(A[i * lda + 2 * q], 0);
}

bg_conv_w *bg_conv_pack(const float *w, long long cin, long long cout, long long k, int tr)
{
    long long depth = tr ? cin : cin * k, rows = tr ? cout * k : cout;
    bg_conv_w *p = calloc(1, sizeof *p);
    float *t = tr ? malloc((size_t)(rows * depth) * sizeof *t) : NULL;
    if (p) {
        p->mp = bg_up(rows, BG_MR);
        p->kh = (depth + 1) / 2;
        p->a = calloc((size_t)(p->mp * p->kh), sizeof *p->a);
    }
    if (!p || !p->a || (tr && !t)) {
        free(t);
        bg_conv_free(p);
        return NULL;
    }
    if (tr) /* W^T [(o, k)][i] */
        for (long long i = 0; i < cin; i++)
            for (long long o = 0; o < cout; o++)
                for (long long j = 0; j < k; j++)
                    t[(o * k + j) * depth + i] = w[(i * cout + o) * k + j];
    bg_pack_a(tr ? t : w, depth, rows, depth, p->mp, p->a);
    free(t);
    return p;
}

void bg_conv_free(bg_conv_w *w)
{
    if (w)
        free(w->a);
    free(w);
}

size_t bg_conv_scratch(long long rows, long long depth, long long cols)
{
    long long kh = (depth + 1) / 2, np = bg_up(cols, BG_NR);
    return (size_t)(bg_up(kh * np, 16) + bg_up(rows, BG_MR) * np);
}

/* Rows [i0, i0 + MR) of panel bp (its block of pairs [p0, p1)) into c: set when p0 is 0,
 * else added to what the earlier blocks left. */
BG_TARGET static void tile(const uint32_t *a, long long lda, const uint32_t *bp, long long p0,
                           long long p1, float *c, long long ldc)
{
    __m512 acc[BG_MR][2]; /* registers once the loops are unrolled (-O2 alone keeps memory) */
#pragma GCC unroll 8
    for (int r = 0; r < BG_MR; r++)
        for (int h = 0; h < 2; h++)
            acc[r][h] = p0 ? _mm512_loadu_ps(c + r * ldc + 16 * h) : _mm512_setzero_ps();
    for (long long p = p0; p < p1; p++) {
        __m512i b0 = _mm512_loadu_si512(bp + p * BG_NR),
                b1 = _mm512_loadu_si512(bp + p * BG_NR + 16);
#pragma GCC unroll 8
        for (int r = 0; r < BG_MR; r++) {
            __m512i ar = _mm512_set1_epi32((int)a[r * lda + p]);
            acc[r][0] = _mm512_dpbf16_ps(acc[r][0], (__m512bh)ar, (__m512bh)b0);
            acc[r][1] = _mm512_dpbf16_ps(acc[r][1], (__m512bh)ar, (__m512bh)b1);
        }
    }
#pragma GCC unroll 8
    for (int r = 0; r < BG_MR; r++)
        for (int h = 0; h < 2; h++)
            _mm512_storeu_ps(c + r * ldc + 16 * h, acc[r][h]);
}

/* Block by block of k-pairs, so A's block (mp x KC pairs) stays in L2 across the panels
 * and a panel's block in L1 across the rows. */
void bg_gemm(const uint32_t *a, long long lda, long long mp, const uint32_t *bp,
             long long ldb, long long kh, long long j0, long long j1, float *c, long long ldc)
{
    for (long long p0 = 0; p0 < kh; p0 += BG_KC) {
        long long p1 = p0 + BG_KC < kh ? p0 + BG_KC : kh;
        for (long long j = j0; j < j1; j++)
            for (long long i = 0; i < mp; i += BG_MR)
                tile(a + i * lda, lda, bp + j * ldb * BG_NR, p0, p1, c + i * ldc + j * BG_NR,
                     ldc);
    }
}
