/* gemm_bf16.c — cpu/avx512bf16 for sgemm in dtype bf16 (issue 26): the CPU's own bf16 GEMM,
 * where it has AVX-512 BF16, beside blas/sgemm's float32 peak. Load stores A and B as bf16
 * (exact: the op rounded them); in run each of `threads` lanes of the pool packs its share
 * of B's 32-column panels into k-pairs and computes them with bf16_gemm.c's engine, so the
 * lanes never wait on each other. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bf16_gemm.h"
#include "cpu_impls.h"
#include "nndtype.h"
#include "pool.h"

typedef struct gb_state {
    long long m, n, k, mp, np, kh; /* mp, np: m, n rounded up to BG_MR, BG_NR; kh: k-pairs */
    uint32_t *a;                   /* [mp][kh] pairs */
    const float *b;                /* B [k][n] as loaded (on the bf16 grid) */
    float *bcopy;                  /* its own copy of B */
    uint32_t *bp;                  /* [np / BG_NR][kh][BG_NR] panels */
    float *c;                      /* [mp][np] */
    int lanes;
    cpu_pool *pool;
} gb_state;

int gemm_bf16_supports(const void *ctx, const sono_params *p, char *why, size_t n)
{
    (void)ctx;
    long long m = sono_param_int(p, "m", 256), nn = sono_param_int(p, "n", 256),
              k = sono_param_int(p, "k", 256), threads = sono_param_int(p, "threads", 1);
    if (bg_supports(p, why, n))
        return SONO_EUNSUPPORTED;
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
    free(st->bcopy);
    free(st->bp);
    free(st->c);
    free(st);
}

/* Lane's share [r0, r1) of n items. */
static void share(long long n, int lanes, int lane, long long *r0, long long *r1)
{
    *r0 = n * lane / lanes;
    *r1 = n * (lane + 1) / lanes;
}

/* B's panels [j0, j1) into k-pairs; columns past n and the odd k's partner are zeros. */
static void pack_b(gb_state *st, long long j0, long long j1)
{
    for (long long j = j0; j < j1; j++)
        for (long long p = 0; p < st->kh; p++) {
            uint32_t *d = st->bp + (j * st->kh + p) * BG_NR;
            const float *r0 = st->b + 2 * p * st->n, *r1 = r0 + st->n;
            int odd = 2 * p + 1 >= st->k;
            for (int c = 0; c < BG_NR; c++) {
                long long col = j * BG_NR + c;
                d[c] = col >= st->n ? 0 : bg_pair(r0[col], odd ? 0 : r1[col]);
            }
        }
}

static void lane_job(void *ctx, int job, int lane)
{
    (void)job;
    gb_state *st = ctx;
    long long j0, j1;
    share(st->np / BG_NR, st->lanes, lane, &j0, &j1);
    pack_b(st, j0, j1);
    bg_gemm_panels(st->a, st->mp, st->kh, st->bp, j0, j1, st->c, st->np);
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
    st->mp = (st->m + BG_MR - 1) / BG_MR * BG_MR;
    st->np = (st->n + BG_NR - 1) / BG_NR * BG_NR;
    st->kh = (st->k + 1) / 2;
    st->lanes = (int)sono_param_int(p, "threads", 1);
    st->a = calloc((size_t)(st->mp * st->kh), sizeof *st->a);
    st->bcopy = malloc((size_t)(st->k * st->n) * sizeof *st->bcopy);
    st->bp = malloc((size_t)(st->np * st->kh) * sizeof *st->bp);
    st->c = malloc((size_t)(st->mp * st->np) * sizeof *st->c);
    st->b = st->bcopy;
    if (!st->a || !st->bcopy || !st->bp || !st->c) {
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
    long long bad = bg_off_grid(x, na + nb);
    if (bad >= 0)
        return sono_fail(err, SONO_EINVAL, "cpu/avx512bf16: input value %lld (%g) is not "
                         "a bf16 value: the op rounds its input at dtype=bf16", bad,
                         (double)x[bad]);
    bg_pack_a(x, st->k, st->m, st->k, st->mp, st->a);
    memcpy(st->bcopy, x + na, (size_t)nb * sizeof *x); /* packed in run, as a BLAS packs */
    return 0;
}

int gemm_bf16_run(void *vst)
{
    gb_state *st = vst;
    cpu_pool_run(st->pool, 0);
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
    return (size_t)(st->mp * st->kh) * 4 + (size_t)(st->k * st->n) * 4 +
           (size_t)(st->np * st->kh) * 4 + (size_t)(st->mp * st->np) * 4 +
           cpu_pool_bytes(st->pool);
}

int gemm_bf16_describe(void *vst, char *buf, size_t n)
{
    const gb_state *st = vst;
    snprintf(buf, n, "VDPBF16PS, %dx%d float32 tiles over blocks of %d k-pairs; B packed in "
             "run; %d lane%s over B's panels", BG_MR, BG_NR, BG_KC, st->lanes,
             st->lanes == 1 ? "" : "s");
    return 0;
}
