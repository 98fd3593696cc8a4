/* vq_bf16.c — cpu/avx512bf16 for vq.encode in dtype bf16 (issue 26): the CPU's own bf16
 * path, where it has AVX-512 BF16 (cpuid leaf 7 subleaf 1, EAX bit 5; refused with that
 * reason elsewhere). Load packs codebook and vectors as bf16 pairs (D padded with zeros to
 * 32; exact, the op rounded them) and the codebook norms in float32; run takes each x.c as
 * VDPBF16PS (products of bf16 pairs accumulated in float32) and keeps the first smallest
 * ||c||^2 - 2 x.c. Single-threaded, like cpu/naive. VDPBF16PS flushes subnormal inputs
 * to zero (bf16 subnormals are below 1.2e-38: audio windows and codewords have none). */
#include <immintrin.h>
#include <math.h>
#include <stdint.h>

#include "bf16_gemm.h"
#include "cpu_impls.h"
#include "nndtype.h"

#define VB_TARGET __attribute__((target("avx512f,avx512bw,avx512bf16")))

typedef struct vb_state {
    long long K, D, T, Dp; /* Dp: D rounded up to 32 */
    uint16_t *cb, *x;      /* bf16 [K][Dp], [T][Dp] */
    float *cn;             /* [K] */
    int32_t *codes;        /* [T] */
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
    free(st->cb);
    free(st->x);
    free(st->cn);
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
    st->Dp = (st->D + 31) / 32 * 32;
    st->cb = amalloc((size_t)(st->K * st->Dp) * 2);
    st->x = amalloc((size_t)(st->T * st->Dp) * 2);
    st->cn = amalloc((size_t)st->K * sizeof(float));
    st->codes = amalloc((size_t)st->T * sizeof(int32_t));
    if (!st->cb || !st->x || !st->cn || !st->codes) {
        vq_bf16_teardown(st);
        return sono_fail(err, SONO_ENOMEM, "cpu/avx512bf16: cannot allocate K=%lld, T=%lld "
                         "rows of %lld bf16", (long long)sono_param_int(p, "K", 1024),
                         (long long)sono_param_int(p, "T", 750),
                         (long long)((sono_param_int(p, "D", 128) + 31) / 32 * 32));
    }
    *stp = st;
    return 0;
}

/* rows of float on the bf16 grid -> bf16 bits (the top half: exact there), zero padded */
static void pack(const float *src, long long rows, long long D, long long Dp, uint16_t *dst)
{
    for (long long r = 0; r < rows; r++)
        for (long long c = 0; c < Dp; c++) {
            uint32_t u = 0;
            if (c < D)
                memcpy(&u, &src[r * D + c], sizeof u);
            dst[r * Dp + c] = (uint16_t)(u >> 16);
        }
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
    for (long long i = 0; i < need; i++) {
        uint32_t u;
        memcpy(&u, &cb[i], sizeof u);
        if (u & 0xffffu)
            return sono_fail(err, SONO_EINVAL, "cpu/avx512bf16: input value %lld (%g) is not "
                             "a bf16 value: the op rounds its input at dtype=bf16", i,
                             (double)cb[i]);
    }
    pack(cb, st->K, st->D, st->Dp, st->cb);
    pack(x, st->T, st->D, st->Dp, st->x);
    for (long long k = 0; k < st->K; k++) {
        float a = 0;
        for (long long c = 0; c < st->D; c++)
            a += cb[k * st->D + c] * cb[k * st->D + c];
        st->cn[k] = a;
    }
    return 0;
}

VB_TARGET static float dot(const uint16_t *a, const uint16_t *b, long long Dp)
{
    __m512 acc = _mm512_setzero_ps();
    for (long long c = 0; c < Dp; c += 32) {
        __m512i va = _mm512_loadu_si512((const void *)(a + c));
        __m512i vb = _mm512_loadu_si512((const void *)(b + c));
        acc = _mm512_dpbf16_ps(acc, (__m512bh)va, (__m512bh)vb);
    }
    return _mm512_reduce_add_ps(acc);
}

int vq_bf16_run(void *vst)
{
    vb_state *st = vst;
    for (long long t = 0; t < st->T; t++) {
        const uint16_t *xt = st->x + t * st->Dp;
        float best = INFINITY;
        int32_t bi = 0;
        for (long long k = 0; k < st->K; k++) {
            float d = st->cn[k] - 2.0f * dot(xt, st->cb + k * st->Dp, st->Dp);
            if (d < best) {
                best = d;
                bi = (int32_t)k;
            }
        }
        st->codes[t] = bi;
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
    snprintf(buf, n, "VDPBF16PS (AVX-512 BF16): x.c as bf16 pairs accumulated in fp32, D "
             "padded to %lld; argmin of |c|^2 - 2 x.c, norms in fp32", st->Dp);
    return 0;
}

size_t vq_bf16_workspace(void *vst)
{
    const vb_state *st = vst;
    return (size_t)((st->K + st->T) * st->Dp) * 2 + (size_t)(st->K + st->T) * 4;
}
