/* relpos_gemm.c — blas/gemm for attention.relpos: per head, the gates of all queries as
 * one SGEMM (X_h [S, D] times Wg^T [D, 8]), the score matrix Q_h K_h^T / sqrt(D) [S, S] as
 * another, then per row the bias gate_i * E_h[j - i] (E_h: the head's bias by relative
 * position, from the buckets once per run: contiguous in j) and the softmax, and O_h = P
 * V_h as a third SGEMM. Memory: one head's S^2 scores (9 MiB at S = 1500). Threads:
 * OpenBLAS's, inside each SGEMM. */
#include <cblas.h>
#include <string.h>

#include "blas_impls.h"
#include "relpos_shape.h"

typedef struct rp_gemm {
    rp_shape r;
    int threads;
    const float *in;
    float *s;    /* [S, S] */
    float *p8;   /* [S, 8] gate projections */
    float *eh;   /* [2S - 1] one head's bias by relative position */
    int *bk;     /* [2S - 1] buckets */
    float *out;  /* [H, S, D] */
} rp_gemm;

int relpos_gemm_supports(const void *ctx, const sono_params *p, char *why, size_t n)
{
    rp_shape r;
    (void)ctx;
    int rc = rp_shape_get(p, &r, why, n);
    if (!rc && r.S > 46340) {
        snprintf(why, n, "seq^2 exceeds INT_MAX (CBLAS takes int)");
        return SONO_EUNSUPPORTED;
    }
    return rc ? rc : blas_threads_ok(p, why, n);
}

void relpos_gemm_teardown(void *vst)
{
    rp_gemm *st = vst;
    if (st) {
        free(st->s);
        free(st->p8);
        free(st->eh);
        free(st->bk);
        free(st->out);
    }
    free(st);
}

int relpos_gemm_setup(const void *ctx, const sono_params *p, void **stp, sono_error *err)
{
    char why[256];
    *stp = NULL;
    int rc = relpos_gemm_supports(ctx, p, why, sizeof why);
    if (rc)
        return sono_fail(err, rc, "blas/gemm: %s", why);
    rp_gemm *st = calloc(1, sizeof *st);
    if (!st)
        return sono_fail(err, SONO_ENOMEM, "blas/gemm: no memory");
    rp_shape_get(p, &st->r, why, sizeof why);
    size_t S = st->r.S;
    st->threads = (int)sono_param_int(p, "threads", 1);
    st->s = blas_alloc(S * S * sizeof(float));
    st->p8 = blas_alloc(S * 8 * sizeof(float));
    st->eh = blas_alloc(2 * S * sizeof(float));
    st->bk = blas_alloc(2 * S * sizeof(int));
    st->out = blas_alloc(st->r.n * sizeof(float));
    if (!st->s || !st->p8 || !st->eh || !st->bk || !st->out) {
        relpos_gemm_teardown(st);
        return sono_fail(err, SONO_ENOMEM, "blas/gemm: no memory for [%zu, %zu] scores", S, S);
    }
    openblas_set_num_threads(st->threads);
    *stp = st;
    return 0;
}

int relpos_gemm_load(void *vst, const sono_buf *in, sono_error *err)
{
    rp_gemm *st = vst;
    if (in->dtype != SONO_F32 || (size_t)sono_buf_elems(in) != st->r.nin)
        return sono_fail(err, SONO_EINVAL, "blas/gemm attention.relpos: input must be f32 of "
                         "%zu values", st->r.nin);
    st->in = in->data;
    return 0;
}

int relpos_gemm_run(void *vst)
{
    rp_gemm *st = vst;
    const rp_shape *r = &st->r;
    int H = (int)r->H, S = (int)r->S, D = (int)r->D;
    const float *Q = st->in, *K = Q + r->n, *V = K + r->n, *X = V + r->n, *E = st->in + r->oE,
                *Wg = st->in + r->oW, *bg = st->in + r->ob, *c = st->in + r->oc;
    for (int d = -(S - 1); d < S; d++)
        st->bk[d + S - 1] = rp_bucket(d, (int)r->NB, (int)r->MD);
    float scale = 1.0f / sqrtf((float)D);
    for (int h = 0; h < H; h++) {
        size_t off = (size_t)h * (size_t)S * (size_t)D;
        for (int d = 0; d < 2 * S - 1; d++)
            st->eh[d] = E[(size_t)st->bk[d] * (size_t)H + (size_t)h];
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, S, 8, D, 1.0f, X + off, D, Wg, D,
                    0.0f, st->p8, 8);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, S, S, D, scale, Q + off, D,
                    K + off, D, 0.0f, st->s, S);
        for (int i = 0; i < S; i++) {
            float p[8], *row = st->s + (size_t)i * (size_t)S, mx = -INFINITY, sum = 0;
            for (int k = 0; k < 8; k++)
                p[k] = st->p8[i * 8 + k] + bg[k];
            float gate = rp_gate(p, c[h]);
            const float *eh = st->eh + (S - 1 - i); /* eh[j] = E_h[j - i] */
            for (int j = 0; j < S; j++) {
                row[j] += gate * eh[j];
                mx = row[j] > mx ? row[j] : mx;
            }
            for (int j = 0; j < S; j++) {
                row[j] = expf(row[j] - mx);
                sum += row[j];
            }
            float inv = 1.0f / sum;
            for (int j = 0; j < S; j++)
                row[j] *= inv;
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, S, D, S, 1.0f, st->s, S,
                    V + off, D, 0.0f, st->out + off, D);
    }
    return 0;
}

int relpos_gemm_store(void *vst, sono_buf *out, sono_error *err)
{
    rp_gemm *st = vst;
    if (out->dtype != SONO_F32 || (size_t)sono_buf_elems(out) != st->r.n)
        return sono_fail(err, SONO_EINVAL, "blas/gemm attention.relpos: output must be f32 of "
                         "%zu values", st->r.n);
    memcpy(out->data, st->out, st->r.n * sizeof(float));
    return 0;
}

int relpos_gemm_describe(void *vst, char *buf, size_t n)
{
    rp_gemm *st = vst;
    snprintf(buf, n, "3 SGEMMs per head (gates, scores, P V); OpenBLAS threads=%d (asked %d)",
             openblas_get_num_threads(), st->threads);
    return 0;
}

size_t relpos_gemm_workspace(void *vst)
{
    const rp_gemm *st = vst;
    size_t S = st->r.S;
    return (S * S + S * 8 + 4 * S + st->r.n) * sizeof(float);
}
