/* vq_bf16.c — cpu/avx512bf16 for vq.encode in dtype bf16 (issue 26): the CPU's own bf16
 * path, where it has AVX-512 BF16 (cpuid leaf 7 subleaf 1, EAX bit 5; refused with that
 * reason elsewhere). Load packs the vectors as rows of bf16 pairs and the codebook as the
 * engine's 32-codeword panels (exact: the op rounded them), the norms in float32; run
 * takes x.c for 64 vectors at a time as one bf16 GEMM (bf16_gemm.c: products of bf16
 * pairs accumulated in float32) and keeps each row's first smallest ||c||^2 - 2 x.c.
 * Single-threaded, like cpu/naive. VDPBF16PS flushes subnormal inputs to zero (bf16
 * subnormals are below 1.2e-38: audio windows and codewords have none). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bf16_gemm.h"
#include "cpu_impls.h"
#include "nndtype.h"

#define RB 64 /* vectors a GEMM: a multiple of BG_MR */

typedef struct vb_state {
    long long K, D, T, dh, np, tp; /* dh: D's pairs; np: K up to 32; tp: T up to RB */
    uint32_t *x;                   /* [tp][dh] the vectors' pairs */
    uint32_t *bp;                  /* [np / 32][dh][32] the codebook's panels */
    float *cn;                     /* [K] */
    float *c;                      /* [RB][np] x.c of a block */
    int32_t *codes;                /* [T] */
} vb_state;

int vq_bf16_supports(const void *ctx, const sono_params *p, char *why, size_t n)
{
    (void)ctx;
    long long K = sono_param_int(p, "K", 1024), D = sono_param_int(p, "D", 128),
              T = sono_param_int(p, "T", 750), threads = sono_param_int(p, "threads", 1);
    if (bg_supports(p, why, n))
        return SONO_EUNSUPPORTED;
    if (threads != 1) {
        snprintf(why, n, "single-threaded impl (threads=1 only), got threads=%lld", threads);
        return SONO_EUNSUPPORTED;
    }
    if (K < 1 || K > (1LL << 24) || D < 1 || D > (1LL << 20) || T < 1 || T > (1LL << 26)) {
        snprintf(why, n, "K=%lld, D=%lld, T=%lld out of range", K, D, T);
        return SONO_EUNSUPPORTED;
    }
    return 0;
}

void vq_bf16_teardown(void *vst)
{
    vb_state *st = vst;
    if (!st)
        return;
    free(st->x);
    free(st->bp);
    free(st->cn);
    free(st->c);
    free(st->codes);
    free(st);
}

int vq_bf16_setup(const void *ctx, const sono_params *p, void **stp, sono_error *err)
{
    char why[256];
    int rc;
    *stp = NULL;
    if ((rc = vq_bf16_supports(ctx, p, why, sizeof why)) < 0)
        return sono_fail(err, rc, "cpu/avx512bf16: %s", why);
    vb_state *st = calloc(1, sizeof *st);
    if (!st)
        return sono_fail(err, SONO_ENOMEM, "cpu/avx512bf16: cannot allocate its state");
    st->K = sono_param_int(p, "K", 1024);
    st->D = sono_param_int(p, "D", 128);
    st->T = sono_param_int(p, "T", 750);
    st->dh = (st->D + 1) / 2;
    st->np = (st->K + BG_NR - 1) / BG_NR * BG_NR;
    st->tp = (st->T + RB - 1) / RB * RB;
    st->x = calloc((size_t)(st->tp * st->dh), sizeof *st->x);
    st->bp = calloc((size_t)(st->np * st->dh), sizeof *st->bp);
    st->cn = malloc((size_t)st->K * sizeof *st->cn);
    st->c = malloc((size_t)(RB * st->np) * sizeof *st->c);
    st->codes = malloc((size_t)st->T * sizeof *st->codes);
    if (!st->x || !st->bp || !st->cn || !st->c || !st->codes) {
        vq_bf16_teardown(st);
        return sono_fail(err, SONO_ENOMEM, "cpu/avx512bf16: cannot allocate K=%lld, T=%lld "
                         "vectors of %lld bf16 pairs", (long long)sono_param_int(p, "K", 1024),
                         (long long)sono_param_int(p, "T", 750),
                         (long long)((sono_param_int(p, "D", 128) + 1) / 2));
    }
    *stp = st;
    return 0;
}

int vq_bf16_load(void *vst, const sono_buf *in, sono_error *err)
{
    vb_state *st = vst;
    long long need = st->K * st->D + st->T * st->D;
    if (in->dtype != SONO_F32 || sono_buf_elems(in) != need ||
        in->nbytes < (size_t)need * sizeof(float))
        return sono_fail(err, SONO_EINVAL, "cpu/avx512bf16: input must be f32 [%lld] "
                         "(codebook then vectors); got dtype %d, %lld elements", need,
                         (int)in->dtype, sono_buf_elems(in));
    const float *cb = in->data, *x = cb + st->K * st->D;
    long long bad = bg_off_grid(cb, need);
    if (bad >= 0)
        return sono_fail(err, SONO_EINVAL, "cpu/avx512bf16: input value %lld (%g) is not "
                         "a bf16 value: the op rounds its input at dtype=bf16", bad,
                         (double)cb[bad]);
    bg_pack_a(x, st->D, st->T, st->D, st->tp, st->x);
    for (long long k = 0; k < st->np; k++) /* codeword k: panel k / 32, column k % 32 */
        for (long long p = 0; p < st->dh; p++) {
            const float *r = cb + k * st->D;
            st->bp[((k / BG_NR) * st->dh + p) * BG_NR + k % BG_NR] =
                k >= st->K ? 0 : bg_pair(r[2 * p], 2 * p + 1 < st->D ? r[2 * p + 1] : 0);
        }
    for (long long k = 0; k < st->K; k++) {
        float a = 0;
        for (long long c = 0; c < st->D; c++)
            a += cb[k * st->D + c] * cb[k * st->D + c];
        st->cn[k] = a;
    }
    return 0;
}

int vq_bf16_run(void *vst)
{
    vb_state *st = vst;
    for (long long t0 = 0; t0 < st->T; t0 += RB) {
        bg_gemm_panels(st->x + t0 * st->dh, RB, st->dh, st->bp, 0, st->np / BG_NR, st->c,
                       st->np);
        long long n = st->T - t0 < RB ? st->T - t0 : RB;
        for (long long r = 0; r < n; r++) {
            const float *xc = st->c + r * st->np;
            float best = INFINITY;
            int32_t bi = 0;
            for (long long k = 0; k < st->K; k++) {
                float d = st->cn[k] - 2.0f * xc[k];
                if (d < best) { /* the first smallest: ties to the lowest index */
                    best = d;
                    bi = (int32_t)k;
                }
            }
            st->codes[t0 + r] = bi;
        }
    }
    return 0;
}

int vq_bf16_store(void *vst, sono_buf *out, sono_error *err)
{
    vb_state *st = vst;
    size_t need = (size_t)st->T * sizeof(int32_t);
    if (out->dtype != SONO_I32 || out->nbytes < need)
        return sono_fail(err, SONO_EINVAL, "cpu/avx512bf16: output must be i32 [T] (%zu "
                         "bytes); got dtype %d, %zu bytes", need, (int)out->dtype, out->nbytes);
    memcpy(out->data, st->codes, need);
    return 0;
}

int vq_bf16_describe(void *vst, char *buf, size_t n)
{
    const vb_state *st = vst;
    snprintf(buf, n, "VDPBF16PS (AVX-512 BF16): x.c for %d vectors at a time as a bf16 GEMM "
             "(%lld pairs of D, fp32 accumulation); argmin of |c|^2 - 2 x.c, norms in fp32",
             RB, st->dh);
    return 0;
}

size_t vq_bf16_workspace(void *vst)
{
    const vb_state *st = vst;
    return (size_t)((st->tp + st->np) * st->dh) * 4 + (size_t)st->K * 4 +
           (size_t)(RB * st->np) * 4 + (size_t)st->T * 4;
}
