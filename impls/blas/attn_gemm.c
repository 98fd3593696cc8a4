/* attn_gemm.c — blas/gemm for attention, FlashAttention's schedule on the CPU: per head,
 * blocks of BQ queries against blocks of BK keys; S = Q_b K_b^T / sqrt(d) by one SGEMM,
 * then a streaming softmax (running row max m and sum l: when m grows, what was summed is
 * rescaled by exp(m_old - m_new)), then O_b += P V_b by a second SGEMM, O divided by l at
 * the end. Memory is one BQ x BK tile plus the output, never seq^2; under the causal mask
 * key blocks past a query block are skipped. Threads: OpenBLAS's, inside each SGEMM. */
#include <cblas.h>
#include <math.h>
#include <string.h>

#include "blas_impls.h"
#include "nnshape.h"

#define BQ 128
#define BK 256

typedef struct attn_state {
    nn_attn a;
    int threads;
    const float *q, *k, *v;
    float *o;    /* [heads, seq, d]: the output, accumulated in place */
    float *s;    /* [BQ, BK]: scores, then weights */
    float *m, *l; /* [BQ]: running max and sum per query row */
} attn_state;

int attn_gemm_supports(const void *ctx, const sono_params *p, char *why, size_t n)
{
    nn_attn a;
    (void)ctx;
    int rc = nn_attn_shape(p, 1024, &a, why, n);
    if (!rc && (a.seq > INT32_MAX || a.d > INT32_MAX)) {
        snprintf(why, n, "seq or head_dim exceeds INT_MAX (CBLAS takes int)");
        return SONO_EUNSUPPORTED;
    }
    return rc ? rc : blas_threads_ok(p, why, n);
}

void attn_gemm_teardown(void *vst)
{
    attn_state *st = vst;
    if (st) {
        free(st->o);
        free(st->s);
        free(st->m);
        free(st->l);
    }
    free(st);
}

int attn_gemm_setup(const void *ctx, const sono_params *p, void **stp, sono_error *err)
{
    char why[256];
    int rc;
    *stp = NULL;
    if ((rc = attn_gemm_supports(ctx, p, why, sizeof why)))
        return sono_fail(err, rc, "blas/gemm attention: %s", why);
    attn_state *st = calloc(1, sizeof *st);
    if (!st)
        return sono_fail(err, SONO_ENOMEM, "blas/gemm attention: no memory for its state");
    nn_attn_shape(p, 1024, &st->a, why, sizeof why);
    st->threads = (int)sono_param_int(p, "threads", 1);
    st->o = blas_alloc(st->a.heads * st->a.per_head * sizeof(float));
    st->s = blas_alloc((size_t)BQ * BK * sizeof(float));
    st->m = blas_alloc(BQ * sizeof(float));
    st->l = blas_alloc(BQ * sizeof(float));
    if (!st->o || !st->s || !st->m || !st->l) {
        attn_gemm_teardown(st);
        return sono_fail(err, SONO_ENOMEM, "blas/gemm attention: no memory for the output "
                         "and a %d x %d tile", BQ, BK);
    }
    openblas_set_num_threads(st->threads);
    *stp = st;
    return 0;
}

int attn_gemm_load(void *vst, const sono_buf *in, sono_error *err)
{
    attn_state *st = vst;
    size_t n = st->a.heads * st->a.per_head;
    int rc = nn_check_input("blas/gemm attention", in, 3 * n, err);
    if (rc)
        return rc;
    st->q = in->data;
    st->k = st->q + n;
    st->v = st->k + n;
    return 0;
}

/* The tile S [nq, nk] of rows q0.. against keys k0..: masked, turned into weights
 * exp(S - m_new), rows of O rescaled, m and l brought up to date. */
static void softmax_tile(attn_state *st, float *o, size_t q0, size_t nq, size_t k0, size_t nk)
{
    const size_t d = st->a.d;
    for (size_t i = 0; i < nq; i++) {
        float *s = st->s + i * BK;
        /* causal: keys after query q0+i are out; a row may have none left here */
        size_t valid = nk;
        if (st->a.causal)
            valid = q0 + i < k0 ? 0 : q0 + i - k0 + 1 < nk ? q0 + i - k0 + 1 : nk;
        if (valid == 0) {
            memset(s, 0, nk * sizeof *s);
            continue;
        }
        float mx = s[0];
        for (size_t j = 1; j < valid; j++)
            mx = s[j] > mx ? s[j] : mx;
        float mnew = mx > st->m[i] ? mx : st->m[i];
        float corr = expf(st->m[i] - mnew); /* 0 on the first block: m = -inf */
        float sum = 0;
        for (size_t j = 0; j < valid; j++) {
            s[j] = expf(s[j] - mnew);
            sum += s[j];
        }
        for (size_t j = valid; j < nk; j++)
            s[j] = 0;
        st->l[i] = st->l[i] * corr + sum;
        st->m[i] = mnew;
        if (corr != 1.0f) {
            float *oi = o + i * d;
            for (size_t c = 0; c < d; c++)
                oi[c] *= corr;
        }
    }
}

static void one_head(attn_state *st, size_t h)
{
    const size_t seq = st->a.seq, d = st->a.d;
    const float *q = st->q + h * st->a.per_head, *k = st->k + h * st->a.per_head,
                *v = st->v + h * st->a.per_head;
    float scale = 1.0f / sqrtf((float)d);
    for (size_t q0 = 0; q0 < seq; q0 += BQ) {
        size_t nq = seq - q0 < BQ ? seq - q0 : BQ;
        float *o = st->o + h * st->a.per_head + q0 * d;
        memset(o, 0, nq * d * sizeof *o);
        for (size_t i = 0; i < nq; i++) {
            st->m[i] = -INFINITY;
            st->l[i] = 0;
        }
        size_t kend = st->a.causal ? q0 + nq : seq;
        for (size_t k0 = 0; k0 < kend; k0 += BK) {
            size_t nk = kend - k0 < BK ? kend - k0 : BK;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)nq, (int)nk, (int)d,
                        scale, q + q0 * d, (int)d, k + k0 * d, (int)d, 0.0f, st->s, BK);
            softmax_tile(st, o, q0, nq, k0, nk);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)nq, (int)d, (int)nk,
                        1.0f, st->s, BK, v + k0 * d, (int)d, 1.0f, o, (int)d);
        }
        for (size_t i = 0; i < nq; i++) {
            float inv = 1.0f / st->l[i], *oi = o + i * d;
            for (size_t c = 0; c < d; c++)
                oi[c] *= inv;
        }
    }
}

int attn_gemm_run(void *vst)
{
    attn_state *st = vst;
    for (size_t h = 0; h < st->a.heads; h++)
        one_head(st, h);
    return 0;
}

int attn_gemm_store(void *vst, sono_buf *out, sono_error *err)
{
    attn_state *st = vst;
    size_t n = st->a.heads * st->a.per_head;
    int rc = nn_check_output("blas/gemm attention", out, n, err);
    if (!rc)
        memcpy(out->data, st->o, n * sizeof(float));
    return rc;
}

int attn_gemm_describe(void *vst, char *buf, size_t n)
{
    const attn_state *st = vst;
    snprintf(buf, n, "tiles %d queries x %d keys, streaming softmax, 2 SGEMMs per tile; "
             "OpenBLAS threads=%d (asked %d)", BQ, BK, openblas_get_num_threads(),
             st->threads);
    return 0;
}

/* The output, one score tile and two rows of running statistics. */
size_t attn_gemm_workspace(void *vst)
{
    const attn_state *st = vst;
    return (st->a.heads * st->a.per_head + (size_t)BQ * BK + 2 * BQ) * sizeof(float);
}
