/* wavenet_blas.c — blas/wavenet for wavenet.stack: offline, each layer as two SGEMMs over
 * time (the gates' [T, 2R + Cc] x [2R + Cc, 2R] on the stacked past/now/conditioning
 * columns, then the skip and residual 1x1s [T, R] x [R, S + R]) with the gated activation
 * and the bias, skip and residual sums fused in one pass after each; streaming, the same
 * per sample as two SGEMVs (the latency-bound form). Threads offline: lanes of a pool
 * share the time steps of every layer (their rows of both SGEMMs, the gates, the sums),
 * OpenBLAS single-threaded inside: with OpenBLAS's threads the gates' tanh and sigmoid
 * stayed on one thread (1.19x at 2). A layer is two pool jobs, as its residual sums
 * rewrite h while the next steps' columns read it. Streaming: OpenBLAS's threads. */
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "blas_impls.h"
#include "nndtype.h"
#include "pool.h"
#include "wavenet_net.h"

enum { JOB_INIT, JOB_GATES, JOB_SUMS };

typedef struct wvb_state wvb_state;
static void lane_job(void *ctx, int job, int lane);
static void use_blas_threads(wvb_state *s, int n);

struct wvb_state {
    wv_net n;
    int threads;
    cpu_pool *pool;    /* NULL for one thread */
    int layer;         /* the layer the lanes are on */
    int blas_threads;  /* what OpenBLAS was last set to: 1 offline, threads streaming */
    size_t K; /* 2R + Cc */
    float *Wg;  /* per layer [2R][K]: rows f then g; cols past, now, cond */
    float *Wsr; /* per layer [S + R][R]: skip rows then residual rows */
    float *bsr; /* per layer [S + R] */
    float *h, *col, *z, *a, *y, *skip; /* offline, time-major */
    float *xs, *zs, *as, *ys; /* one sample: [K], [2R], [R], [S + R] */
};

/* The setting is the process's: each mode sets it when it changes. */
static void use_blas_threads(wvb_state *s, int n)
{
    if (s->blas_threads != n)
        openblas_set_num_threads(n);
    s->blas_threads = n;
}

int wavenet_blas_supports(const void *ctx, const sono_params *p, char *why, size_t n)
{
    (void)ctx;
    long long th = sono_param_int(p, "threads", 1);
    if (th < 1 || th > 1024 || (th > 1 && openblas_get_parallel() == 0)) {
        snprintf(why, n, "threads=%lld needs a threaded OpenBLAS (1..1024)", th);
        return SONO_EUNSUPPORTED;
    }
    wv_net w;
    return wv_dims(p, &w, why, n) ? SONO_EUNSUPPORTED : 0;
}

void wavenet_blas_teardown(void *st)
{
    wvb_state *s = st;
    if (!s)
        return;
    cpu_pool_free(s->pool);
    wv_free(&s->n);
    float *f[] = {s->Wg, s->Wsr, s->bsr, s->h, s->col, s->z, s->a, s->y, s->skip,
                  s->xs, s->zs, s->as, s->ys};
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        free(f[i]);
    free(s);
}

int wavenet_blas_setup(const void *ctx, const sono_params *p, void **stp, sono_error *err)
{
    (void)ctx;
    char why[160];
    wvb_state *s = calloc(1, sizeof *s);
    if (!s)
        return sono_fail(err, SONO_ENOMEM, "blas/wavenet: out of memory");
    int rc = 0;
    if (wv_dims(p, &s->n, why, sizeof why))
        rc = sono_fail(err, SONO_EUNSUPPORTED, "%s", why);
    if (!rc)
        rc = wv_alloc(&s->n, err);
    if (rc) {
        wavenet_blas_teardown(s);
        return rc;
    }
    size_t T = (size_t)s->n.T, R = (size_t)s->n.R, S = (size_t)s->n.S, L = (size_t)s->n.L;
    s->K = 2 * R + (size_t)s->n.Cc;
    s->threads = (int)sono_param_int(p, "threads", 1);
    s->Wg = malloc(L * 2 * R * s->K * sizeof(float));
    s->Wsr = malloc(L * (S + R) * R * sizeof(float));
    s->bsr = malloc(L * (S + R) * sizeof(float));
    s->h = malloc(T * R * sizeof(float));
    s->col = malloc(T * s->K * sizeof(float));
    s->z = malloc(T * 2 * R * sizeof(float));
    s->a = malloc(T * R * sizeof(float));
    s->y = malloc(T * (S + R) * sizeof(float));
    s->skip = malloc(T * S * sizeof(float));
    s->xs = malloc(s->K * sizeof(float));
    s->zs = malloc(2 * R * sizeof(float));
    s->as = malloc(R * sizeof(float));
    s->ys = malloc((S + R) * sizeof(float));
    if (!s->Wg || !s->Wsr || !s->bsr || !s->h || !s->col || !s->z || !s->a || !s->y ||
        !s->skip || !s->xs || !s->zs || !s->as || !s->ys) {
        wavenet_blas_teardown(s);
        return sono_fail(err, SONO_ENOMEM, "blas/wavenet: out of memory (T %zu, R %zu)", T, R);
    }
    if (s->threads > 1 &&
        (rc = cpu_pool_new(s->threads, lane_job, s, "blas/wavenet", &s->pool, err)) < 0) {
        wavenet_blas_teardown(s);
        return rc;
    }
    use_blas_threads(s, 1);
    *stp = s;
    return 0;
}

/* The weights repacked for the GEMMs (part of load: they arrive with the input). */
int wavenet_blas_load(void *st, const sono_buf *in, sono_error *err)
{
    wvb_state *s = st;
    int rc = wv_bind(&s->n, in, err);
    if (rc)
        return rc;
    size_t R = (size_t)s->n.R, S = (size_t)s->n.S, Cc = (size_t)s->n.Cc, K = s->K;
    for (int l = 0; l < s->n.L; l++) {
        const wv_layer *y = &s->n.layer[l];
        float *W = s->Wg + (size_t)l * 2 * R * K;
        for (size_t g = 0; g < 2; g++)
            for (size_t c = 0; c < R; c++) {
                const float *src = g ? y->Wg : y->Wf, *v = g ? y->Vg : y->Vf;
                float *row = W + (g * R + c) * K;
                for (size_t i = 0; i < R; i++) {
                    row[i] = src[(c * R + i) * 2];
                    row[R + i] = src[(c * R + i) * 2 + 1];
                }
                for (size_t j = 0; j < Cc; j++)
                    row[2 * R + j] = v[c * Cc + j];
            }
        float *Ws = s->Wsr + (size_t)l * (S + R) * R, *b = s->bsr + (size_t)l * (S + R);
        memcpy(Ws, y->Ws, S * R * sizeof(float));
        memcpy(Ws + S * R, y->Wr, R * R * sizeof(float));
        memcpy(b, y->bs, S * sizeof(float));
        memcpy(b + S, y->br, R * sizeof(float));
    }
    return 0;
}

/* a = tanh(zf + bf) sigmoid(zg + bg) for `rows` time steps of z [rows][2R]. */
static void gate(const wv_layer *y, size_t R, const float *z, float *a, size_t rows)
{
    for (size_t t = 0; t < rows; t++)
        for (size_t c = 0; c < R; c++)
            a[t * R + c] = tanhf(z[t * 2 * R + c] + y->bf[c]) *
                           wv_sigmoid(z[t * 2 * R + R + c] + y->bg[c]);
}

/* Time steps [t0, t1) of the current job. */
static void steps(wvb_state *s, int job, size_t t0, size_t t1)
{
    const wv_net *n = &s->n;
    size_t T = (size_t)n->T, R = (size_t)n->R, S = (size_t)n->S, Cc = (size_t)n->Cc, K = s->K;
    if (t1 <= t0)
        return;
    if (job == JOB_INIT) {
        for (size_t t = t0; t < t1; t++) {
            for (size_t c = 0; c < R; c++)
                s->h[t * R + c] = n->w_in[c] * n->x[t] + n->b_in[c];
            for (size_t j = 0; j < Cc; j++) /* the conditioning columns never change */
                s->col[t * K + 2 * R + j] = n->x[(1 + j) * T + t];
        }
        memset(s->skip + t0 * S, 0, (t1 - t0) * S * sizeof(float));
        return;
    }
    int l = s->layer;
    const wv_layer *y = &n->layer[l];
    if (job == JOB_GATES) {
        size_t d = (size_t)y->dil;
        for (size_t t = t0; t < t1; t++) {
            if (t >= d)
                memcpy(s->col + t * K, s->h + (t - d) * R, R * sizeof(float));
            else
                memset(s->col + t * K, 0, R * sizeof(float));
            memcpy(s->col + t * K + R, s->h + t * R, R * sizeof(float));
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)(t1 - t0), (int)(2 * R),
                    (int)K, 1.0f, s->col + t0 * K, (int)K, s->Wg + (size_t)l * 2 * R * K, (int)K,
                    0.0f, s->z + t0 * 2 * R, (int)(2 * R));
        gate(y, R, s->z + t0 * 2 * R, s->a + t0 * R, t1 - t0);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)(t1 - t0), (int)(S + R),
                    (int)R, 1.0f, s->a + t0 * R, (int)R, s->Wsr + (size_t)l * (S + R) * R,
                    (int)R, 0.0f, s->y + t0 * (S + R), (int)(S + R));
        return;
    }
    const float *b = s->bsr + (size_t)l * (S + R);
    for (size_t t = t0; t < t1; t++) {
        const float *yt = s->y + t * (S + R);
        for (size_t k = 0; k < S; k++)
            s->skip[t * S + k] += yt[k] + b[k];
        for (size_t c = 0; c < R; c++)
            s->h[t * R + c] += yt[S + c] + b[S + c];
    }
}

static void lane_job(void *ctx, int job, int lane)
{
    wvb_state *s = ctx;
    size_t T = (size_t)s->n.T, per = (T + (size_t)s->threads - 1) / (size_t)s->threads;
    size_t t0 = per * (size_t)lane < T ? per * (size_t)lane : T;
    steps(s, job, t0, t0 + per < T ? t0 + per : T);
}

static void run_job(wvb_state *s, int job)
{
    if (s->pool)
        cpu_pool_run(s->pool, job);
    else
        steps(s, job, 0, (size_t)s->n.T);
}

int wavenet_blas_run(void *st)
{
    wvb_state *s = st;
    use_blas_threads(s, 1);
    run_job(s, JOB_INIT);
    for (s->layer = 0; s->layer < s->n.L; s->layer++) {
        run_job(s, JOB_GATES);
        run_job(s, JOB_SUMS);
    }
    return 0;
}

int wavenet_blas_store(void *st, sono_buf *out, sono_error *err)
{
    wvb_state *s = st;
    size_t T = (size_t)s->n.T, S = (size_t)s->n.S;
    if (out->dtype != SONO_F32 || (size_t)sono_buf_elems(out) != T * S)
        return sono_fail(err, SONO_EINVAL, "blas/wavenet: output buffer is not [%zu, %zu]", S,
                         T);
    float *o = out->data;
    for (size_t t = 0; t < T; t++)
        for (size_t k = 0; k < S; k++)
            o[k * T + t] = s->skip[t * S + k];
    return 0;
}

size_t wavenet_blas_workspace(void *st)
{
    wvb_state *s = st;
    size_t T = (size_t)s->n.T, R = (size_t)s->n.R, S = (size_t)s->n.S, L = (size_t)s->n.L;
    size_t K = s->K;
    return (L * (2 * R * K + (S + R) * R + S + R) + T * (R + K + 2 * R + R + S + R + S) + K +
            2 * R + R + S + R) * sizeof(float) + wv_queue_bytes(&s->n) + cpu_pool_bytes(s->pool);
}

int wavenet_blas_describe(void *st, char *buf, size_t n)
{
    wvb_state *s = st;
    snprintf(buf, n, "core %s; threads=%d (offline a pool of %d lanes sharing time, OpenBLAS "
             "at 1; streams OpenBLAS's); layers: %d; R: %d; S: %d; cond: %d; offline: 2 SGEMMs "
             "per layer over time; stream: 2 SGEMVs per layer and sample",
             openblas_get_corename(), s->threads, cpu_pool_threads(s->pool) + 1, s->n.L,
             s->n.R, s->n.S, s->n.Cc);
    nn_dtype_append(buf, n, s->n.dtnote); /* issue 26: float32 SGEMM on rounded inputs */
    return 0;
}

int wavenet_blas_stream_begin(void *st, sono_error *err)
{
    (void)err;
    use_blas_threads(st, ((wvb_state *)st)->threads);
    wv_stream_reset(&((wvb_state *)st)->n);
    return 0;
}

int wavenet_blas_push(void *st, long long t0, long long n, int last, sono_buf *out,
                      long long *done, sono_error *err)
{
    (void)last;
    wvb_state *s = st;
    wv_net *w = &s->n;
    if (t0 != w->fed || n < 1 || t0 + n > w->T)
        return sono_fail(err, SONO_EINVAL, "wavenet.stack stream: push [%lld, %lld) after %lld "
                         "of %lld", t0, t0 + n, w->fed, w->T);
    size_t R = (size_t)w->R, S = (size_t)w->S, T = (size_t)w->T, Cc = (size_t)w->Cc, K = s->K;
    float *o = out->data, *sk = s->skip; /* this sample's skip sums */
    for (long long t = t0; t < t0 + n; t++) {
        float *now = s->xs + R;
        for (size_t c = 0; c < R; c++)
            now[c] = w->w_in[c] * w->x[t] + w->b_in[c];
        for (size_t j = 0; j < Cc; j++)
            s->xs[2 * R + j] = w->x[(1 + j) * T + (size_t)t];
        memset(sk, 0, S * sizeof(float));
        for (int l = 0; l < w->L; l++) {
            const wv_layer *y = &w->layer[l];
            float *q = w->queue + w->qoff[l] + (size_t)(t % y->dil) * R;
            memcpy(s->xs, q, R * sizeof(float));
            memcpy(q, now, R * sizeof(float));
            cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)(2 * R), (int)K, 1.0f,
                        s->Wg + (size_t)l * 2 * R * K, (int)K, s->xs, 1, 0.0f, s->zs, 1);
            gate(y, R, s->zs, s->as, 1);
            cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)(S + R), (int)R, 1.0f,
                        s->Wsr + (size_t)l * (S + R) * R, (int)R, s->as, 1, 0.0f, s->ys, 1);
            const float *b = s->bsr + (size_t)l * (S + R);
            for (size_t k = 0; k < S; k++)
                sk[k] += s->ys[k] + b[k];
            for (size_t c = 0; c < R; c++)
                now[c] += s->ys[S + c] + b[S + c];
        }
        for (size_t k = 0; k < S; k++)
            o[k * T + (size_t)t] = sk[k];
    }
    w->fed = t0 + n;
    *done = w->fed;
    return 0;
}
