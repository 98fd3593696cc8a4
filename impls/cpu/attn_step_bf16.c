/* attn_step_bf16.c — cpu/avx512bf16 for attention.step in dtype bf16 (issue 26): the KV
 * cache held in bf16, half the bytes a decode step streams through (the step is bound by
 * them). K as panels of 16 slots by k-pairs of d (q . K: a broadcast of q's pair against
 * 16 keys a VDPBF16PS), V as panels of 16 columns of d by pairs of slots (P V: a broadcast
 * of two weights against 16 columns); the softmax in float32 with P rounded to bf16 and
 * the normaliser unrounded, as op attention.step's tolerance allows. Four panels at a time
 * keep four independent accumulations in flight. `threads` lanes of the pool take heads. */
#include <immintrin.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bf16_gemm.h"
#include "cpu_impls.h"
#include "nndtype.h"
#include "nnshape.h"
#include "nnstep.h"
#include "pool.h"

#define SB_TARGET __attribute__((target("avx512f,avx512bw,avx512bf16")))
#define PW 16 /* slots (K) or columns (V) a panel: one vector of 16 floats */

typedef struct sb_lane {
    float *s;    /* [nkp * PW] scores */
    uint32_t *p; /* [ch] the weights' pairs */
    uint32_t *q; /* [dh] the query's pairs */
} sb_lane;

typedef struct sb_state {
    nn_step a;
    long long dh, nkp, ch, ndp; /* d's pairs; K panels; slot pairs; V panels */
    uint32_t *kb;               /* [H][nkp][dh][PW] */
    uint32_t *vb;               /* [H][ndp][ch][PW] */
    float *o;                   /* [H][d] */
    const float *q, *k, *v;
    sb_lane *lane;
    int lanes;
    cpu_pool *pool;
} sb_state;

int attn_step_bf16_supports(const void *ctx, const sono_params *p, char *why, size_t n)
{
    (void)ctx;
    nn_step a;
    if (bg_supports(p, why, n))
        return SONO_EUNSUPPORTED;
    return nn_step_shape(p, 1024, &a, why, n);
}

void attn_step_bf16_teardown(void *vst)
{
    sb_state *st = vst;
    if (!st)
        return;
    cpu_pool_free(st->pool);
    for (int i = 0; st->lane && i < st->lanes; i++) {
        free(st->lane[i].s);
        free(st->lane[i].p);
        free(st->lane[i].q);
    }
    free(st->lane);
    free(st->kb);
    free(st->vb);
    free(st->o);
    free(st);
}

/* Slot s of head h: key x into K's panels, value y into V's (one half of a pair word). */
static void put(sb_state *st, long long h, long long s, const float *x, const float *y)
{
    long long d = (long long)st->a.d;
    uint32_t *kb = st->kb + ((h * st->nkp + s / PW) * st->dh) * PW + s % PW;
    for (long long p = 0; p < st->dh; p++)
        kb[p * PW] = bg_pair(x[2 * p], 2 * p + 1 < d ? x[2 * p + 1] : 0);
    for (long long c = 0; c < d; c++) {
        uint32_t *w = st->vb + ((h * st->ndp + c / PW) * st->ch + s / 2) * PW + c % PW;
        uint32_t b = bg_bits(y[c]);
        *w = s % 2 ? (*w & 0xffffu) | b << 16 : (*w & 0xffff0000u) | b;
    }
}

/* Head h's scores (scaled; padding slots -inf) into s. */
SB_TARGET static void scores(const sb_state *st, long long h, const float *q, uint32_t *qp,
                             float *s)
{
    const uint32_t *kb = st->kb + h * st->nkp * st->dh * PW;
    long long d = (long long)st->a.d, cap = (long long)st->a.cap;
    for (long long p = 0; p < st->dh; p++)
        qp[p] = bg_pair(q[2 * p], 2 * p + 1 < d ? q[2 * p + 1] : 0);
    __m512 scale = _mm512_set1_ps(1.0f / sqrtf((float)d));
    for (long long j = 0; j < st->nkp; j += 4) {
        int m = st->nkp - j < 4 ? (int)(st->nkp - j) : 4;
        __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(),
                         _mm512_setzero_ps()};
        for (long long p = 0; p < st->dh; p++) {
            __m512i qv = _mm512_set1_epi32((int)qp[p]);
            for (int u = 0; u < m; u++)
                acc[u] = _mm512_dpbf16_ps(acc[u], (__m512bh)qv,
                                          (__m512bh)_mm512_loadu_si512(kb + ((j + u) * st->dh + p) * PW));
        }
        for (int u = 0; u < m; u++)
            _mm512_storeu_ps(s + (j + u) * PW, _mm512_mul_ps(acc[u], scale));
    }
    for (long long i = cap; i < st->nkp * PW; i++)
        s[i] = -INFINITY;
}

/* o = sum over slots of p V / l, four column panels at a time. */
SB_TARGET static void weigh(const sb_state *st, long long h, const uint32_t *pw, float l,
                            float *o)
{
    const uint32_t *vb = st->vb + h * st->ndp * st->ch * PW;
    long long d = (long long)st->a.d;
    __m512 inv = _mm512_set1_ps(1.0f / l);
    for (long long c = 0; c < st->ndp; c += 4) {
        int m = st->ndp - c < 4 ? (int)(st->ndp - c) : 4;
        __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(),
                         _mm512_setzero_ps()};
        for (long long j = 0; j < st->ch; j++) {
            __m512i pv = _mm512_set1_epi32((int)pw[j]);
            for (int u = 0; u < m; u++)
                acc[u] = _mm512_dpbf16_ps(acc[u], (__m512bh)pv,
                                          (__m512bh)_mm512_loadu_si512(vb + ((c + u) * st->ch + j) * PW));
        }
        for (int u = 0; u < m; u++) {
            float t[PW];
            _mm512_storeu_ps(t, _mm512_mul_ps(acc[u], inv));
            long long c0 = (c + u) * PW, n = d - c0 < PW ? d - c0 : PW;
            memcpy(o + c0, t, (size_t)n * sizeof *o);
        }
    }
}

/* Slot L % cap gets the same k and v on every run: runs repeat. */
static void lane_job(void *ctx, int job, int lane)
{
    (void)job;
    sb_state *st = ctx;
    const nn_step *a = &st->a;
    sb_lane *L = &st->lane[lane];
    for (long long h = lane; h < (long long)a->heads; h += st->lanes) {
        long long d = (long long)a->d;
        put(st, h, (long long)(a->len % a->cap), st->k + h * d, st->v + h * d);
        scores(st, h, st->q + h * d, L->q, L->s);
        float m = -INFINITY, l = 0;
        for (long long i = 0; i < st->nkp * PW; i++)
            m = L->s[i] > m ? L->s[i] : m;
        for (long long j = 0; j < st->ch; j++) {
            float e0 = expf(L->s[2 * j] - m), e1 = expf(L->s[2 * j + 1] - m);
            l += e0 + e1;
            L->p[j] = bg_bits(e0) | bg_bits(e1) << 16; /* P in bf16, to nearest */
        }
        weigh(st, h, L->p, l, st->o + h * d);
    }
}

int attn_step_bf16_setup(const void *ctx, const sono_params *p, void **out, sono_error *err)
{
    char why[256];
    *out = NULL;
    int rc = attn_step_bf16_supports(ctx, p, why, sizeof why);
    if (rc)
        return sono_fail(err, rc, "cpu/avx512bf16 attention.step: %s", why);
    sb_state *st = calloc(1, sizeof *st);
    if (!st)
        return sono_fail(err, SONO_ENOMEM, "cpu/avx512bf16 attention.step: no memory");
    nn_step_shape(p, 1024, &st->a, why, sizeof why);
    const nn_step *a = &st->a;
    long long H = (long long)a->heads, d = (long long)a->d, cap = (long long)a->cap;
    st->dh = (d + 1) / 2;
    st->nkp = (cap + PW - 1) / PW;
    st->ch = st->nkp * PW / 2; /* slot pairs up to the K panels' padding: all -inf there */
    st->ndp = (d + PW - 1) / PW;
    st->lanes = (int)sono_param_int(p, "threads", 1);
    st->kb = calloc((size_t)(H * st->nkp * st->dh * PW), sizeof *st->kb);
    st->vb = calloc((size_t)(H * st->ndp * st->ch * PW), sizeof *st->vb);
    st->o = malloc((size_t)(H * d) * sizeof *st->o);
    st->lane = calloc((size_t)st->lanes, sizeof *st->lane);
    int ok = st->kb && st->vb && st->o && st->lane;
    for (int i = 0; ok && i < st->lanes; i++) {
        st->lane[i].s = malloc((size_t)(st->nkp * PW) * sizeof(float));
        st->lane[i].p = malloc((size_t)st->ch * sizeof(uint32_t));
        st->lane[i].q = malloc((size_t)st->dh * sizeof(uint32_t));
        ok = st->lane[i].s && st->lane[i].p && st->lane[i].q;
    }
    if (!ok) {
        attn_step_bf16_teardown(st);
        return sono_fail(err, SONO_ENOMEM, "cpu/avx512bf16 attention.step: no memory for a "
                         "KV cache of %lld tokens x %lld heads x %lld", cap, H, d);
    }
    if ((rc = cpu_pool_new(st->lanes, lane_job, st, "cpu/avx512bf16 attention.step",
                           &st->pool, err))) {
        attn_step_bf16_teardown(st);
        return rc;
    }
    *out = st;
    return 0;
}

/* The cache in bf16: the input's values are on the grid (the op rounds them). */
int attn_step_bf16_load(void *vst, const sono_buf *in, sono_error *err)
{
    sb_state *st = vst;
    const nn_step *a = &st->a;
    int rc = nn_check_input("cpu/avx512bf16 attention.step", in, a->nin, err);
    if (rc)
        return rc;
    long long bad = bg_off_grid(in->data, (long long)a->nin);
    if (bad >= 0)
        return sono_fail(err, SONO_EINVAL, "cpu/avx512bf16 attention.step: input value %lld "
                         "(%g) is not a bf16 value: the op rounds it at dtype=bf16", bad,
                         (double)((const float *)in->data)[bad]);
    size_t n = a->heads * a->cap * a->d;
    float *kc = malloc(n * sizeof *kc), *vc = malloc(n * sizeof *vc);
    if (!kc || !vc) {
        free(kc);
        free(vc);
        return sono_fail(err, SONO_ENOMEM, "cpu/avx512bf16 attention.step: no memory");
    }
    nn_step_fill(a, in->data, kc, vc);
    for (long long h = 0; h < (long long)a->heads; h++)
        for (long long s = 0; s < (long long)a->cap; s++) {
            size_t at = ((size_t)h * a->cap + (size_t)s) * a->d;
            put(st, h, s, kc + at, vc + at);
        }
    free(kc);
    free(vc);
    st->q = (const float *)in->data + 2 * a->heads * a->len * a->d;
    st->k = st->q + a->heads * a->d;
    st->v = st->k + a->heads * a->d;
    return 0;
}

int attn_step_bf16_run(void *vst)
{
    sb_state *st = vst;
    cpu_pool_run(st->pool, 0);
    return 0;
}

int attn_step_bf16_store(void *vst, sono_buf *out, sono_error *err)
{
    sb_state *st = vst;
    size_t n = st->a.heads * st->a.d;
    int rc = nn_check_output("cpu/avx512bf16 attention.step", out, n, err);
    if (!rc)
        memcpy(out->data, st->o, n * sizeof *st->o);
    return rc;
}

/* The KV cache in bf16 (the memory a stream holds per layer), the lanes' rows, the output. */
size_t attn_step_bf16_workspace(void *vst)
{
    const sb_state *st = vst;
    long long H = (long long)st->a.heads;
    return (size_t)(H * st->nkp * st->dh * PW) * 4 + (size_t)(H * st->ndp * st->ch * PW) * 4 +
           (size_t)st->lanes * (size_t)(st->nkp * PW * 4 + st->ch * 4 + st->dh * 4) +
           st->a.heads * st->a.d * 4 + cpu_pool_bytes(st->pool);
}

int attn_step_bf16_describe(void *vst, char *buf, size_t n)
{
    const sb_state *st = vst;
    char c[200];
    nn_step_describe(&st->a, c, sizeof c);
    snprintf(buf, n, "%s; the cache in bf16, q.K and P V by VDPBF16PS, P rounded to bf16; "
             "%d lane%s over heads", c, st->lanes, st->lanes == 1 ? "" : "s");
    return 0;
}
