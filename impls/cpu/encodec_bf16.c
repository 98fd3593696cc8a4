/* encodec_bf16.c — cpu/avx512bf16 for codec.encodec in dtype bf16 (issue 26): EnCodec with
 * every convolution (and transposed convolution) a bf16 GEMM (bf16_gemm.c), weights
 * rounded to bf16 once at setup, each conv's input activations rounded to bf16 as they
 * are packed, float32 accumulation, bias, ELU and sums in float32; the LSTM and the
 * codebook search stay float32 (cpu/naive's), as cuda/encodec's dtype path keeps them.
 * So it is a reduced-precision network the op's dtype tolerance (f32 + 4 u sqrt(G)) can
 * be measured on without a GPU: a precision rung, not a speed one (its time goes mostly
 * to cpu/naive's scalar LSTM and codebook loops). Single-threaded; the op's streams in
 * one GEMM per conv (columns are (clip, time) pairs). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bf16_gemm.h"
#include "cpu_impls.h"
#include "encodec_net.h"
#include "nndtype.h"

/* y[o][s][t] = b[o] + W[o] . im2col(xp)[:, (s, t)] */
static void conv(const en_conv *c, const float *xp, long long lp, int S, float *y,
                 long long lout, float *scratch)
{
    const bg_conv_w *w = c->own;
    long long n = (long long)S * lout, np = bg_up(n, BG_NR), kk = (long long)c->cin * c->k;
    uint32_t *bp = (uint32_t *)scratch;
    float *cc = bg_conv_c(w, scratch, np);
    for (long long p = 0; p < w->kh; p++) { /* rows 2p, 2p+1 of im2col: (channel, tap) */
        long long r0 = 2 * p, r1 = r0 + 1;
        const float *x0 = xp + (r0 / c->k) * S * lp + (r0 % c->k) * c->dil;
        const float *x1 = r1 < kk ? xp + (r1 / c->k) * S * lp + (r1 % c->k) * c->dil : NULL;
        long long s = 0, t = 0; /* column (s, t), walked in order */
        for (long long col = 0; col < np; col++) {
            float v0 = 0, v1 = 0;
            if (col < n) {
                long long at = s * lp + t * c->stride;
                v0 = x0[at];
                v1 = x1 ? x1[at] : 0;
                if (++t == lout)
                    t = 0, s++;
            }
            bp[((col / BG_NR) * w->kh + p) * BG_NR + col % BG_NR] = bg_pair(v0, v1);
        }
    }
    bg_gemm_panels(w->a, w->mp, w->kh, bp, 0, np / BG_NR, cc, np);
    for (int o = 0; o < c->cout; o++) /* columns (s, t) are y's row o, clip after clip */
        for (long long col = 0; col < n; col++)
            y[(long long)o * n + col] = cc[o * np + col] + c->b[o];
}

/* Z[(o, k)][(s, t)] = sum_i W[i][o][k] x[i][s][t], then scattered: y[o][s][t*stride + k]
 * += Z, onto the bias. */
static void convtr(const en_conv *c, const float *x, long long l, int S, float *y,
                   float *scratch)
{
    const bg_conv_w *w = c->own;
    long long n = (long long)S * l, np = bg_up(n, BG_NR), full = (l - 1) * c->stride + c->k;
    uint32_t *bp = (uint32_t *)scratch;
    float *z = bg_conv_c(w, scratch, np);
    for (long long p = 0; p < w->kh; p++) { /* x's rows 2p, 2p+1: all clips, in order */
        const float *x0 = x + 2 * p * n, *x1 = 2 * p + 1 < c->cin ? x0 + n : NULL;
        for (long long col = 0; col < np; col++)
            bp[((col / BG_NR) * w->kh + p) * BG_NR + col % BG_NR] =
                col < n ? bg_pair(x0[col], x1 ? x1[col] : 0) : 0;
    }
    bg_gemm_panels(w->a, w->mp, w->kh, bp, 0, np / BG_NR, z, np);
    for (long long r = 0; r < (long long)c->cout * S; r++)
        for (long long u = 0; u < full; u++)
            y[r * full + u] = c->b[r / S];
    for (int o = 0; o < c->cout; o++)
        for (int k = 0; k < c->k; k++) {
            const float *zr = z + ((long long)o * c->k + k) * np;
            for (int s = 0; s < S; s++) {
                float *yo = y + ((long long)o * S + s) * full + k;
                const float *zs = zr + (long long)s * l;
                for (long long t = 0; t < l; t++)
                    yo[t * c->stride] += zs[t];
            }
        }
}

static const en_kernels kernels = {.conv = conv, .convtr = convtr,
                                   .lstm = encodec_naive_lstm, .vq = encodec_naive_vq};

static size_t scratch_for(const en_net *net, const en_layer *l, int which, long long lin)
{
    long long S = net->batch;
    if (!l)
        return 0;
    const en_conv *c = &l->c[which];
    switch (l->kind) {
    case EN_CONV:
    case EN_RES:
        return bg_conv_scratch(c->cout, (long long)c->cin * c->k, S * (lin / c->stride + 2));
    case EN_CONVTR:
        return bg_conv_scratch((long long)c->cout * c->k, c->cin, S * lin);
    case EN_LSTM:
        return 6 * (size_t)l->h;
    }
    return 0;
}

/* Each conv's weights rounded to bf16 and packed (bg_conv_pack). */
static int pack_weights(en_net *net, sono_error *err)
{
    for (int d = 0; d < 2; d++)
        for (int li = 0; li < net->n[d]; li++) {
            en_layer *y = &net->l[d][li];
            int nc = y->kind == EN_RES ? 3 : y->kind == EN_CONV || y->kind == EN_CONVTR ? 1 : 0;
            for (int j = 0; j < nc; j++) {
                en_conv *c = &y->c[j];
                if (!c->w)
                    continue;
                if (!(c->own = bg_conv_pack(c->w, c->cin, c->cout, c->k, c->tr)))
                    return sono_fail(err, SONO_ENOMEM, "cpu/avx512bf16: out of memory");
            }
        }
    return 0;
}

static void free_weights(en_net *net)
{
    for (int d = 0; d < 2; d++)
        for (int li = 0; li < net->n[d]; li++)
            for (int j = 0; j < 3; j++) {
                bg_conv_free(net->l[d][li].c[j].own);
                net->l[d][li].c[j].own = NULL;
            }
}

int encodec_bf16_supports(const void *ctx, const sono_params *p, char *why, size_t n)
{
    (void)ctx;
    if (bg_supports(p, why, n))
        return SONO_EUNSUPPORTED;
    if (sono_param_int(p, "threads", 1) != 1) {
        snprintf(why, n, "single-threaded impl (threads=1 only)");
        return SONO_EUNSUPPORTED;
    }
    return en_supports(p, why, n);
}

void encodec_bf16_teardown(void *st)
{
    if (!st)
        return;
    free_weights(st);
    en_free(st);
    free(st);
}

int encodec_bf16_setup(const void *ctx, const sono_params *p, void **st, sono_error *err)
{
    char why[256];
    int rc = encodec_bf16_supports(ctx, p, why, sizeof why);
    *st = NULL;
    if (rc)
        return sono_fail(err, rc, "cpu/avx512bf16: %s", why);
    en_net *net = calloc(1, sizeof *net);
    if (!net)
        return sono_fail(err, SONO_ENOMEM, "cpu/avx512bf16: out of memory");
    rc = en_setup(net, p, &kernels, scratch_for, err);
    net->streams = 1;
    if (!rc)
        rc = pack_weights(net, err);
    if (rc) {
        encodec_bf16_teardown(net);
        return rc;
    }
    *st = net;
    return 0;
}

int encodec_bf16_describe(void *st, char *buf, size_t n)
{
    const en_net *net = st;
    snprintf(buf, n, "every conv a VDPBF16PS GEMM (weights and activations rounded to bf16, "
             "fp32 accumulation), LSTM and codebook search fp32; n_q=%d, %lld frames x %d "
             "streams", net->nq, net->frames, net->batch);
    return 0;
}
