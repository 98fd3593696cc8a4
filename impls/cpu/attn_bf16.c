/* attn_bf16.c — cpu/avx512bf16 for attention in dtype bf16 (issue 26): per head and block
 * of 64 queries, the scores S = Q K^T as one bf16 GEMM over the keys the block can see
 * (causal: up to its last query; window: from its first query's first key), the softmax
 * in float32 with each weight rounded to bf16 (the P a tensor-core kernel feeds to P V,
 * which attention's tolerance allows for) and the normaliser from the unrounded weights,
 * then O = P V as a second bf16 GEMM, divided by the normaliser. K and V are packed into
 * the engine's panels in run (timed), each head by one lane; then `threads` lanes of the
 * pool take (head, block) items from an atomic counter, last blocks first. */
#include <math.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bf16_gemm.h"
#include "cpu_impls.h"
#include "nndtype.h"
#include "nnshape.h"
#include "pool.h"

#define QB 64 /* queries a block: a multiple of BG_MR */

enum { JOB_PACK, JOB_ATTN };

typedef struct ab_lane {
    float *s;    /* [QB][npk] scores, then nothing */
    uint32_t *p; /* [QB][npk / 2] the weights' bf16 pairs */
    float *o;    /* [QB][npd] P V */
    float *l;    /* [QB] normalisers */
} ab_lane;

typedef struct ab_state {
    nn_attn a;
    long long dh, nqb, npk, npd; /* d's pairs, query blocks, keys and d rounded up to 32 */
    uint32_t *qa;                /* [heads][nqb QB][dh] */
    uint32_t *kb;                /* [heads][npk / 32][dh][32] */
    uint32_t *vb;                /* [heads][npd / 32][npk / 2][32] */
    const float *in;             /* Q | K | V, bound in load */
    float *out;                  /* [heads][seq][d] */
    ab_lane *lane;
    int lanes;
    atomic_llong item;
    cpu_pool *pool;
} ab_state;

int attn_bf16_supports(const void *ctx, const sono_params *p, char *why, size_t n)
{
    (void)ctx;
    nn_attn a;
    if (bg_supports(p, why, n))
        return SONO_EUNSUPPORTED;
    return nn_attn_shape(p, 1024, &a, why, n);
}

void attn_bf16_teardown(void *vst)
{
    ab_state *st = vst;
    if (!st)
        return;
    cpu_pool_free(st->pool);
    for (int i = 0; st->lane && i < st->lanes; i++) {
        free(st->lane[i].s);
        free(st->lane[i].p);
        free(st->lane[i].o);
        free(st->lane[i].l);
    }
    free(st->lane);
    free(st->qa);
    free(st->kb);
    free(st->vb);
    free(st->out);
    free(st);
}

static float at(const float *m, long long rows, long long cols, long long r, long long c)
{
    return r < rows && c < cols ? m[r * cols + c] : 0;
}

/* Head h's Q rows, K's key panels (pairs over d) and V's d panels (pairs over keys). */
static void pack_head(ab_state *st, long long h)
{
    long long seq = (long long)st->a.seq, d = (long long)st->a.d, dh = st->dh;
    const float *Q = st->in + h * seq * d, *K = Q + (long long)st->a.heads * seq * d,
                *V = K + (long long)st->a.heads * seq * d;
    uint32_t *qa = st->qa + h * st->nqb * QB * dh;
    for (long long i = 0; i < st->nqb * QB; i++)
        for (long long p = 0; p < dh; p++)
            qa[i * dh + p] = bg_pair(at(Q, seq, d, i, 2 * p), at(Q, seq, d, i, 2 * p + 1));
    uint32_t *kb = st->kb + h * st->npk * dh;
    for (long long j = 0; j < st->npk; j++) /* key j: panel j / 32, column j % 32 */
        for (long long p = 0; p < dh; p++)
            kb[((j / BG_NR) * dh + p) * BG_NR + j % BG_NR] =
                bg_pair(at(K, seq, d, j, 2 * p), at(K, seq, d, j, 2 * p + 1));
    long long kh = st->npk / 2;
    uint32_t *vb = st->vb + h * st->npd * kh;
    for (long long jd = 0; jd < st->npd / BG_NR; jd++)
        for (long long p = 0; p < kh; p++)
            for (int c = 0; c < BG_NR; c++) {
                long long col = jd * BG_NR + c;
                vb[(jd * kh + p) * BG_NR + c] =
                    bg_pair(at(V, seq, d, 2 * p, col), at(V, seq, d, 2 * p + 1, col));
            }
}

/* Query block b of head h on lane L's buffers. */
static void block(ab_state *st, ab_lane *L, long long h, long long b)
{
    const nn_attn *a = &st->a;
    long long seq = (long long)a->seq, d = (long long)a->d, dh = st->dh;
    long long i0 = b * QB, i1 = i0 + QB < seq ? i0 + QB : seq;
    long long kend = a->causal ? i1 : seq;
    long long kfirst = a->window && i0 + 1 > (long long)a->window ? i0 + 1 - (long long)a->window
                                                                 : 0;
    long long jp0 = kfirst / BG_NR, jp1 = (kend + BG_NR - 1) / BG_NR, ks = jp0 * BG_NR;
    long long nk = (jp1 - jp0) * BG_NR, ldp = st->npk / 2;
    bg_gemm(st->qa + (h * st->nqb + b) * QB * dh, dh, QB, st->kb + (h * st->npk + ks) * dh,
            dh, dh, 0, jp1 - jp0, L->s, st->npk);
    float scale = 1.0f / sqrtf((float)d);
    for (long long r = 0; r < QB; r++) {
        long long i = i0 + r;
        float *s = L->s + r * st->npk, m = -INFINITY, l = 0;
        uint32_t *pr = L->p + r * ldp;
        if (i >= i1) { /* the padding rows: weights 0 */
            memset(pr, 0, (size_t)(nk / 2) * sizeof *pr);
            L->l[r] = 1;
            continue;
        }
        long long lo = a->window && i + 1 > (long long)a->window ? i + 1 - (long long)a->window
                                                                 : 0,
                  hi = a->causal ? i + 1 : seq; /* keys [lo, hi) */
        for (long long c = 0; c < nk; c++) {
            long long j = ks + c;
            s[c] = j >= lo && j < hi ? s[c] * scale : -INFINITY;
            m = s[c] > m ? s[c] : m;
        }
        for (long long c = 0; c < nk; c += 2) {
            float e0 = expf(s[c] - m), e1 = expf(s[c + 1] - m); /* masked: exp(-inf) = 0 */
            l += e0 + e1;
            pr[c / 2] = bg_bits(e0) | bg_bits(e1) << 16; /* rounded to nearest */
        }
        L->l[r] = l;
    }
    bg_gemm(L->p, ldp, QB, st->vb + (h * st->npd * ldp) + (ks / 2) * BG_NR, ldp, nk / 2, 0,
            st->npd / BG_NR, L->o, st->npd);
    for (long long r = 0; r < i1 - i0; r++) {
        float *o = st->out + (h * seq + i0 + r) * d, inv = 1.0f / L->l[r];
        for (long long c = 0; c < d; c++)
            o[c] = L->o[r * st->npd + c] * inv;
    }
}

static void lane_job(void *ctx, int job, int lane)
{
    ab_state *st = ctx;
    long long H = (long long)st->a.heads, n = H * st->nqb;
    if (job == JOB_PACK) {
        for (long long h = lane; h < H; h += st->lanes)
            pack_head(st, h);
        return;
    }
    for (;;) { /* the last blocks (the most keys under a causal mask) first */
        long long q = atomic_fetch_add_explicit(&st->item, 1, memory_order_relaxed);
        if (q >= n)
            break;
        long long b = st->nqb - 1 - q / H, h = q % H;
        block(st, &st->lane[lane], h, b);
    }
}

int attn_bf16_setup(const void *ctx, const sono_params *p, void **out, sono_error *err)
{
    char why[256];
    *out = NULL;
    int rc = attn_bf16_supports(ctx, p, why, sizeof why);
    if (rc)
        return sono_fail(err, rc, "cpu/avx512bf16 attention: %s", why);
    ab_state *st = calloc(1, sizeof *st);
    if (!st)
        return sono_fail(err, SONO_ENOMEM, "cpu/avx512bf16 attention: cannot allocate its "
                         "state");
    nn_attn_shape(p, 1024, &st->a, why, sizeof why);
    long long seq = (long long)st->a.seq, d = (long long)st->a.d, H = (long long)st->a.heads;
    st->dh = (d + 1) / 2;
    st->nqb = (seq + QB - 1) / QB;
    st->npk = (seq + BG_NR - 1) / BG_NR * BG_NR;
    st->npd = (d + BG_NR - 1) / BG_NR * BG_NR;
    st->lanes = (int)sono_param_int(p, "threads", 1);
    st->qa = malloc((size_t)(H * st->nqb * QB * st->dh) * sizeof *st->qa);
    st->kb = malloc((size_t)(H * st->npk * st->dh) * sizeof *st->kb);
    st->vb = malloc((size_t)(H * st->npd * (st->npk / 2)) * sizeof *st->vb);
    st->out = malloc((size_t)(H * seq * d) * sizeof *st->out);
    st->lane = calloc((size_t)st->lanes, sizeof *st->lane);
    int ok = st->qa && st->kb && st->vb && st->out && st->lane;
    for (int i = 0; ok && i < st->lanes; i++) {
        ab_lane *L = &st->lane[i];
        L->s = malloc((size_t)(QB * st->npk) * sizeof *L->s);
        L->p = malloc((size_t)(QB * st->npk / 2) * sizeof *L->p);
        L->o = malloc((size_t)(QB * st->npd) * sizeof *L->o);
        L->l = malloc(QB * sizeof *L->l);
        ok = L->s && L->p && L->o && L->l;
    }
    if (!ok) {
        attn_bf16_teardown(st);
        return sono_fail(err, SONO_ENOMEM, "cpu/avx512bf16 attention: cannot allocate its "
                         "buffers (heads=%lld, seq=%lld, head_dim=%lld)", H, seq, d);
    }
    if ((rc = cpu_pool_new(st->lanes, lane_job, st, "cpu/avx512bf16 attention", &st->pool,
                           err))) {
        attn_bf16_teardown(st);
        return rc;
    }
    *out = st;
    return 0;
}

int attn_bf16_load(void *vst, const sono_buf *in, sono_error *err)
{
    ab_state *st = vst;
    size_t n = 3 * st->a.heads * st->a.per_head;
    int rc = nn_check_input("cpu/avx512bf16 attention", in, n, err);
    if (rc)
        return rc;
    long long bad = bg_off_grid(in->data, (long long)n);
    if (bad >= 0)
        return sono_fail(err, SONO_EINVAL, "cpu/avx512bf16 attention: input value %lld (%g) "
                         "is not a bf16 value: the op rounds Q, K, V at dtype=bf16", bad,
                         (double)((const float *)in->data)[bad]);
    st->in = in->data;
    return 0;
}

int attn_bf16_run(void *vst)
{
    ab_state *st = vst;
    cpu_pool_run(st->pool, JOB_PACK);
    atomic_store_explicit(&st->item, 0, memory_order_relaxed);
    cpu_pool_run(st->pool, JOB_ATTN);
    return 0;
}

int attn_bf16_store(void *vst, sono_buf *out, sono_error *err)
{
    ab_state *st = vst;
    size_t n = st->a.heads * st->a.per_head;
    int rc = nn_check_output("cpu/avx512bf16 attention", out, n, err);
    if (!rc)
        memcpy(out->data, st->out, n * sizeof *st->out);
    return rc;
}

size_t attn_bf16_workspace(void *vst)
{
    const ab_state *st = vst;
    long long H = (long long)st->a.heads;
    size_t lane = (size_t)(QB * st->npk) * 4 + (size_t)(QB * st->npk / 2) * 4 +
                  (size_t)(QB * st->npd) * 4 + QB * 4;
    return (size_t)(H * st->nqb * QB * st->dh) * 4 + (size_t)(H * st->npk * st->dh) * 4 +
           (size_t)(H * st->npd * (st->npk / 2)) * 4 + H * st->a.per_head * 4 +
           (size_t)st->lanes * lane + cpu_pool_bytes(st->pool);
}

int attn_bf16_describe(void *vst, char *buf, size_t n)
{
    const ab_state *st = vst;
    snprintf(buf, n, "VDPBF16PS GEMMs per head and block of %d queries: S = Q K^T over the "
             "keys it sees, softmax in fp32 with P rounded to bf16 (the normaliser "
             "unrounded), O = P V; %d lane%s", QB, st->lanes, st->lanes == 1 ? "" : "s");
    return 0;
}
