/* relpos_gemm.c — blas/gemm for attention.relpos: per head, the gates of all queries as
 * one SGEMM (X_h [S, D] times Wg^T [D, 8]), the score matrix Q_h K_h^T / sqrt(D) [S, S] as
 * another, then per row the bias gate_i * E_h[j - i] (E_h: the head's bias by relative
 * position, from the buckets once per run: contiguous in j) and the softmax, and O_h = P
 * V_h as a third SGEMM. Memory: one head's S^2 scores per thread (9 MiB at S = 1500).
 * Threads: lanes of a pool take heads from a shared counter, OpenBLAS single-threaded
 * inside (its own threads left the row softmax on one: 1.11x at 2); a head is one lane's,
 * so the bits do not depend on the lanes. */
#include <cblas.h>
#include <stdatomic.h>
#include <string.h>

#include "blas_impls.h"
#include "pool.h"
#include "relpos_shape.h"

typedef struct rp_lane {
    float *s;    /* [S, S] */
    float *p8;   /* [S, 8] gate projections */
    float *eh;   /* [2S - 1] one head's bias by relative position */
} rp_lane;

typedef struct rp_gemm {
    rp_shape r;
    int threads;
    const float *in;
    rp_lane *lane; /* [threads] */
    cpu_pool *pool; /* NULL for one thread */
    atomic_int head; /* the next head a lane takes */
    int *bk;     /* [2S - 1] buckets */
    float *out;  /* [H, S, D] */
} rp_gemm;

static void lane_job(void *ctx, int job, int lane);

int relpos_gemm_supports(const void *ctx, const sono_params *p, char *why, size_t n)
{
    rp_shape r;
    (void)ctx;
    int rc = rp_shape_get(p, &r, why, n);
    if (!rc && r.S > 46340) {
        snprintf(why, n, "seq^2 exceeds INT_MAX (CBLAS takes int)");
        return SONO_EUNSUPPORTED;
    }
    long long th = sono_param_int(p, "threads", 1);
    if (!rc && (th < 1 || th > 1024)) { /* the pool's lanes: any OpenBLAS build will do */
        snprintf(why, n, "threads=%lld is not in 1..1024", th);
        return SONO_EUNSUPPORTED;
    }
    return rc;
}

void relpos_gemm_teardown(void *vst)
{
    rp_gemm *st = vst;
    if (st) {
        cpu_pool_free(st->pool);
        for (int i = 0; st->lane && i < st->threads; i++) {
            free(st->lane[i].s);
            free(st->lane[i].p8);
            free(st->lane[i].eh);
        }
        free(st->lane);
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
    st->lane = calloc((size_t)st->threads, sizeof *st->lane);
    st->bk = blas_alloc(2 * S * sizeof(int));
    st->out = blas_alloc(st->r.n * sizeof(float));
    int ok = st->lane && st->bk && st->out;
    for (int i = 0; ok && i < st->threads; i++) {
        rp_lane *ln = &st->lane[i];
        ln->s = blas_alloc(S * S * sizeof(float));
        ln->p8 = blas_alloc(S * 8 * sizeof(float));
        ln->eh = blas_alloc(2 * S * sizeof(float));
        ok = ln->s && ln->p8 && ln->eh;
    }
    if (!ok) {
        relpos_gemm_teardown(st);
        return sono_fail(err, SONO_ENOMEM, "blas/gemm: no memory for %d x [%zu, %zu] scores",
                         st->threads, S, S);
    }
    if (st->threads > 1 &&
        (rc = cpu_pool_new(st->threads, lane_job, st, "blas/gemm", &st->pool, err)) < 0) {
        relpos_gemm_teardown(st);
        return rc;
    }
    openblas_set_num_threads(1); /* the lanes are the threads */
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

static void one_head(const rp_gemm *st, rp_lane *ln, int h)
{
    const rp_shape *r = &st->r;
    int H = (int)r->H, S = (int)r->S, D = (int)r->D;
    const float *Q = st->in, *K = Q + r->n, *V = K + r->n, *X = V + r->n, *E = st->in + r->oE,
                *Wg = st->in + r->oW, *bg = st->in + r->ob, *c = st->in + r->oc;
    float scale = 1.0f / sqrtf((float)D);
    size_t off = (size_t)h * (size_t)S * (size_t)D;
    for (int d = 0; d < 2 * S - 1; d++)
        ln->eh[d] = E[(size_t)st->bk[d] * (size_t)H + (size_t)h];
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, S, 8, D, 1.0f, X + off, D, Wg, D,
                0.0f, ln->p8, 8);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, S, S, D, scale, Q + off, D, K + off, D,
                0.0f, ln->s, S);
    for (int i = 0; i < S; i++) {
        float p[8], *row = ln->s + (size_t)i * (size_t)S, mx = -INFINITY, sum = 0;
        for (int k = 0; k < 8; k++)
            p[k] = ln->p8[i * 8 + k] + bg[k];
        float gate = rp_gate(p, c[h]);
        const float *eh = ln->eh + (S - 1 - i); /* eh[j] = E_h[j - i] */
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
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, S, D, S, 1.0f, ln->s, S, V + off, D,
                0.0f, st->out + off, D);
}

static void lane_job(void *ctx, int job, int lane)
{
    (void)job;
    rp_gemm *st = ctx;
    for (int h; (h = atomic_fetch_add_explicit(&st->head, 1, memory_order_relaxed)) <
                (int)st->r.H;)
        one_head(st, &st->lane[lane], h);
}

int relpos_gemm_run(void *vst)
{
    rp_gemm *st = vst;
    int S = (int)st->r.S;
    for (int d = -(S - 1); d < S; d++)
        st->bk[d + S - 1] = rp_bucket(d, (int)st->r.NB, (int)st->r.MD);
    atomic_store(&st->head, 0);
    if (st->pool)
        cpu_pool_run(st->pool, 0);
    else
        lane_job(st, 0, 0);
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
    snprintf(buf, n, "3 SGEMMs per head (gates, scores, P V); threads=%d: a pool of %d lanes "
             "taking heads, OpenBLAS at %d", st->threads, cpu_pool_threads(st->pool) + 1,
             openblas_get_num_threads());
    return 0;
}

size_t relpos_gemm_workspace(void *vst)
{
    const rp_gemm *st = vst;
    size_t S = st->r.S;
    return ((S * S + S * 8 + 2 * S) * (size_t)st->threads + 2 * S + st->r.n) * sizeof(float) +
           cpu_pool_bytes(st->pool);
}
