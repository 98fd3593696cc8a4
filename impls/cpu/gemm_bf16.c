/* gemm_bf16.c — cpu/avx512bf16 for sgemm in dtype bf16 (issue 26): the CPU's own bf16 GEMM,
 * where it has AVX-512 BF16, beside blas/sgemm's float32 peak. Load stores A and B as bf16
 * (exact: the op rounded them); run packs B into k-pairs per 32-column panel and computes
 * 8 x 32 register tiles with VDPBF16PS (products of bf16 pairs accumulated in float32),
 * over `threads` lanes of the pool that split C's rows. */
#include <immintrin.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_impls.h"
#include "nndtype.h"
#include "pool.h"

#define GB_TARGET __attribute__((target("avx512f,avx512bw,avx512bf16")))
#define MR 8   /* rows of a register tile */
#define NR 32  /* columns: two vectors of 16 floats */
#define KC 128 /* k-pairs per block: a B panel of 16 KiB stays in L1 across C's rows */

enum { JOB_PACK, JOB_GEMM };

typedef struct gb_state {
    long long m, n, k, mp, np, kh; /* mp, np: m, n rounded up to MR, NR; kh: k-pairs */
    uint32_t *a;                   /* [mp][kh]: row i's pair p = (a[i][2p], a[i][2p+1]) */
    uint16_t *b;                   /* bf16 [k][n], as stored */
    uint32_t *bp;                  /* [np / NR][kh][NR]: panel j's pair p, column c */
    float *c;                      /* [mp][np] */
    int lanes;
    cpu_pool *pool;
} gb_state;

int gemm_bf16_supports(const void *ctx, const sono_params *p, char *why, size_t n)
{
    (void)ctx;
    long long m = sono_param_int(p, "m", 256), nn = sono_param_int(p, "n", 256),
              k = sono_param_int(p, "k", 256), threads = sono_param_int(p, "threads", 1);
    if (nn_dtype(p) != NN_BF16) {
        snprintf(why, n, "dtype=%s: VDPBF16PS multiplies bf16 pairs (dtype=bf16 only)",
                 nn_dtype_str(p));
        return SONO_EUNSUPPORTED;
    }
    if (!__builtin_cpu_supports("avx512bf16")) {
        snprintf(why, n, "this CPU lacks AVX-512 BF16 (cpuid leaf 7 subleaf 1, EAX bit 5)");
        return SONO_EUNSUPPORTED;
    }
    if (threads < 1 || threads > 1024) {
        snprintf(why, n, "threads=%lld: 1 to 1024", threads);
        return SONO_EUNSUPPORTED;
    }
    if (m < 1 || nn < 1 || k < 1 || m > (1 << 16) || nn > (1 << 16) || k > (1 << 16)) {
        snprintf(why, n, "m=%lld, n=%lld, k=%lld out of range", m, nn, k);
        return SONO_EUNSUPPORTED;
    }
    return 0;
}

void gemm_bf16_teardown(void *vst)
{
    gb_state *st = vst;
    if (!st)
        return;
    cpu_pool_free(st->pool);
    free(st->a);
    free(st->b);
    free(st->bp);
    free(st->c);
    free(st);
}

/* Lane's share [r0, r1) of n items, cut at multiples of q. */
static void share(long long n, long long q, int lanes, int lane, long long *r0, long long *r1)
{
    long long blocks = (n + q - 1) / q, b0 = blocks * lane / lanes, b1 = blocks * (lane + 1) / lanes;
    *r0 = b0 * q < n ? b0 * q : n;
    *r1 = b1 * q < n ? b1 * q : n;
}

static uint32_t pair(const uint16_t *b, long long n, long long k, long long r, long long c)
{
    uint32_t lo = r < k ? b[r * n + c] : 0, hi = r + 1 < k ? b[(r + 1) * n + c] : 0;
    return lo | hi << 16;
}

/* B's panels [j0, j1) into pairs; columns past n are zeros. */
static void pack_b(gb_state *st, long long j0, long long j1)
{
    for (long long j = j0; j < j1; j++)
        for (long long p = 0; p < st->kh; p++) {
            uint32_t *d = st->bp + (j * st->kh + p) * NR;
            for (int c = 0; c < NR; c++) {
                long long col = j * NR + c;
                d[c] = col < st->n ? pair(st->b, st->n, st->k, 2 * p, col) : 0;
            }
        }
}

/* C[i0 .. i0+MR)[panel j] (+)= A's rows times the panel over pairs [p0, p1). */
GB_TARGET static void tile(const gb_state *st, long long i0, long long j, long long p0,
                           long long p1)
{
    __m512 acc[MR][2]; /* registers once the loops are unrolled (-O2 alone keeps memory) */
    float *c = st->c + i0 * st->np + j * NR;
#pragma GCC unroll 8
    for (int r = 0; r < MR; r++)
        for (int h = 0; h < 2; h++)
            acc[r][h] = p0 ? _mm512_loadu_ps(c + r * st->np + 16 * h) : _mm512_setzero_ps();
    const uint32_t *a = st->a + i0 * st->kh, *b = st->bp + (j * st->kh) * NR;
    for (long long p = p0; p < p1; p++) {
        __m512i b0 = _mm512_loadu_si512(b + p * NR), b1 = _mm512_loadu_si512(b + p * NR + 16);
#pragma GCC unroll 8
        for (int r = 0; r < MR; r++) {
            __m512i ar = _mm512_set1_epi32((int)a[r * st->kh + p]);
            acc[r][0] = _mm512_dpbf16_ps(acc[r][0], (__m512bh)ar, (__m512bh)b0);
            acc[r][1] = _mm512_dpbf16_ps(acc[r][1], (__m512bh)ar, (__m512bh)b1);
        }
    }
#pragma GCC unroll 8
    for (int r = 0; r < MR; r++)
        for (int h = 0; h < 2; h++)
            _mm512_storeu_ps(c + r * st->np + 16 * h, acc[r][h]);
}

/* The lane's rows, block by block of k-pairs, each B panel swept over all of them. */
static void gemm_rows(const gb_state *st, long long i0, long long i1)
{
    for (long long p0 = 0; p0 < st->kh; p0 += KC) {
        long long p1 = p0 + KC < st->kh ? p0 + KC : st->kh;
        for (long long j = 0; j < st->np / NR; j++)
            for (long long i = i0; i < i1; i += MR)
                tile(st, i, j, p0, p1);
    }
}

static void lane_job(void *ctx, int job, int lane)
{
    gb_state *st = ctx;
    long long r0, r1;
    if (job == JOB_PACK) {
        share(st->np / NR, 1, st->lanes, lane, &r0, &r1);
        pack_b(st, r0, r1);
    } else {
        share(st->mp, MR, st->lanes, lane, &r0, &r1);
        gemm_rows(st, r0, r1);
    }
}

int gemm_bf16_setup(const void *ctx, const sono_params *p, void **out, sono_error *err)
{
    char why[256];
    *out = NULL;
    int rc = gemm_bf16_supports(ctx, p, why, sizeof why);
    if (rc)
        return sono_fail(err, rc, "cpu/avx512bf16: %s", why);
    gb_state *st = calloc(1, sizeof *st);
    if (!st)
        return sono_fail(err, SONO_ENOMEM, "cpu/avx512bf16: cannot allocate its state");
    st->m = sono_param_int(p, "m", 256);
    st->n = sono_param_int(p, "n", 256);
    st->k = sono_param_int(p, "k", 256);
    st->mp = (st->m + MR - 1) / MR * MR;
    st->np = (st->n + NR - 1) / NR * NR;
    st->kh = (st->k + 1) / 2;
    st->lanes = (int)sono_param_int(p, "threads", 1);
    st->a = calloc((size_t)(st->mp * st->kh), sizeof *st->a);
    st->b = malloc((size_t)(st->k * st->n) * sizeof *st->b);
    st->bp = malloc((size_t)(st->np * st->kh) * sizeof *st->bp);
    st->c = malloc((size_t)(st->mp * st->np) * sizeof *st->c);
    if (!st->a || !st->b || !st->bp || !st->c) {
        gemm_bf16_teardown(st);
        return sono_fail(err, SONO_ENOMEM, "cpu/avx512bf16: cannot allocate A, B, C for "
                         "m=%lld n=%lld k=%lld", sono_param_int(p, "m", 256),
                         sono_param_int(p, "n", 256), sono_param_int(p, "k", 256));
    }
    if ((rc = cpu_pool_new(st->lanes, lane_job, st, "cpu/avx512bf16", &st->pool, err))) {
        gemm_bf16_teardown(st);
        return rc;
    }
    *out = st;
    return 0;
}

static uint32_t bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

/* A and B from the op's float32 buffer to bf16, refusing a value off the bf16 grid (the
 * input hook rounds them; anything else is not what the reference multiplies). */
int gemm_bf16_load(void *vst, const sono_buf *in, sono_error *err)
{
    gb_state *st = vst;
    long long na = st->m * st->k, nb = st->k * st->n;
    if (in->dtype != SONO_F32 || sono_buf_elems(in) != na + nb)
        return sono_fail(err, SONO_EINVAL, "cpu/avx512bf16: input must be f32 [m*k + k*n = "
                         "%lld] (A then B)", na + nb);
    const float *x = in->data;
    for (long long i = 0; i < na + nb; i++)
        if (bits(x[i]) & 0xffffu)
            return sono_fail(err, SONO_EINVAL, "cpu/avx512bf16: input value %lld (%g) is not "
                             "a bf16 value: the op rounds its input at dtype=bf16", i,
                             (double)x[i]);
    /* a bf16 value is its float's top half; A's row pairs in the low half first */
    for (long long i = 0; i < st->m; i++)
        for (long long q = 0; q < st->kh; q++) {
            uint32_t lo = bits(x[i * st->k + 2 * q]) >> 16,
                     hi = 2 * q + 1 < st->k ? bits(x[i * st->k + 2 * q + 1]) >> 16 : 0;
            st->a[i * st->kh + q] = lo | hi << 16;
        }
    for (long long i = 0; i < nb; i++)
        st->b[i] = (uint16_t)(bits(x[na + i]) >> 16);
    return 0;
}

int gemm_bf16_run(void *vst)
{
    gb_state *st = vst;
    cpu_pool_run(st->pool, JOB_PACK);
    cpu_pool_run(st->pool, JOB_GEMM);
    return 0;
}

int gemm_bf16_store(void *vst, sono_buf *out, sono_error *err)
{
    gb_state *st = vst;
    if (out->dtype != SONO_F32 || sono_buf_elems(out) != st->m * st->n)
        return sono_fail(err, SONO_EINVAL, "cpu/avx512bf16: output must be f32 [m=%lld, "
                         "n=%lld]", st->m, st->n);
    float *y = out->data;
    for (long long i = 0; i < st->m; i++)
        memcpy(y + i * st->n, st->c + i * st->np, (size_t)st->n * sizeof *y);
    return 0;
}

size_t gemm_bf16_workspace(void *vst)
{
    const gb_state *st = vst;
    return (size_t)(st->mp * st->kh) * 4 + (size_t)(st->k * st->n) * 2 +
           (size_t)(st->np * st->kh) * 4 + (size_t)(st->mp * st->np) * 4 +
           cpu_pool_bytes(st->pool);
}

int gemm_bf16_describe(void *vst, char *buf, size_t n)
{
    const gb_state *st = vst;
    snprintf(buf, n, "VDPBF16PS, %dx%d float32 tiles over blocks of %d k-pairs; B packed in "
             "run; %d lane%s", MR, NR, KC, st->lanes, st->lanes == 1 ? "" : "s");
    return 0;
}
