/* w2v_gemm.c — blas/gemm for wav2vec2.features: activations time-major [T][C], so the taps
 * of output step t are the k*cin floats from row t*s on. Where the kernel spans more than
 * its stride (layers 0-4) a chunk of output steps is copied out as an im2col matrix
 * [rows, k*cin] and multiplied by the weights reordered [C][k*cin] in one SGEMM; where
 * k = s (layers 5, 6) the rows do not overlap and the activations are the matrix itself
 * (lda = s*cin, no copy). The norm and GELU are one fused pass over each layer's output
 * (statistics in double), split over `threads` POSIX threads; OpenBLAS runs its SGEMMs on
 * the same number. */
#include <cblas.h>
#include <pthread.h>
#include <string.h>

#include "blas_impls.h"
#include "w2v_net.h"
#include "nndtype.h"

/* Floats in a chunk of the im2col matrix: 4 MiB, near an L2 + L3 share. */
#define COL_FLOATS (1u << 20)

typedef struct w2v_gemm {
    w2v_net n;
    int threads;
    const float *x;
    float *wr[W2V_LAYERS]; /* [C][k][cin] */
    float *a, *b;          /* [T_1][C], [T_2][C]: ping-pong */
    float *col;            /* im2col chunk */
    size_t col_rows;
    float *out;            /* [batch][frames][C] */
    double *sum, *sq;      /* group norm: per-channel sums, per thread [threads][C] */
} w2v_gemm;

int w2v_gemm_supports(const void *ctx, const sono_params *p, char *why, size_t n)
{
    w2v_net net;
    (void)ctx;
    int rc = w2v_shape(p, &net, why, n);
    if (!rc && (net.len[1] > INT32_MAX / 4 || net.C * 10 > INT32_MAX / 4)) {
        snprintf(why, n, "a matrix dimension exceeds INT_MAX (CBLAS takes int)");
        return SONO_EUNSUPPORTED;
    }
    return rc ? rc : blas_threads_ok(p, why, n);
}

void w2v_gemm_teardown(void *vst)
{
    w2v_gemm *st = vst;
    if (st) {
        w2v_free(&st->n);
        for (int l = 0; l < W2V_LAYERS; l++)
            free(st->wr[l]);
        free(st->a);
        free(st->b);
        free(st->col);
        free(st->out);
        free(st->sum);
        free(st->sq);
    }
    free(st);
}

int w2v_gemm_setup(const void *ctx, const sono_params *p, void **stp, sono_error *err)
{
    char why[512];
    *stp = NULL;
    int rc = w2v_gemm_supports(ctx, p, why, sizeof why);
    if (rc)
        return sono_fail(err, rc, "blas/gemm: %s", why);
    w2v_gemm *st = calloc(1, sizeof *st);
    if (!st)
        return sono_fail(err, SONO_ENOMEM, "blas/gemm: no memory");
    w2v_shape(p, &st->n, why, sizeof why);
    if ((rc = w2v_load(&st->n, err))) {
        free(st);
        return rc;
    }
    const w2v_net *n = &st->n;
    size_t C = n->C;
    st->threads = (int)sono_param_int(p, "threads", 1);
    int bad = 0;
    for (int l = 0; l < W2V_LAYERS; l++) {
        size_t cin = l ? C : 1, k = (size_t)w2v_k[l];
        if (!(st->wr[l] = blas_alloc(C * k * cin * sizeof(float)))) {
            bad = 1;
            break;
        }
        for (size_t co = 0; co < C; co++)
            for (size_t ci = 0; ci < cin; ci++)
                for (size_t j = 0; j < k; j++)
                    st->wr[l][(co * k + j) * cin + ci] = n->w[l][(co * cin + ci) * k + j];
    }
    st->col_rows = COL_FLOATS / (3 * C) > 64 ? COL_FLOATS / (3 * C) : 64;
    st->a = blas_alloc(n->len[1] * C * sizeof(float));
    st->b = blas_alloc(n->len[2] * C * sizeof(float));
    st->col = blas_alloc(st->col_rows * 3 * (C > 4 ? C : 4) * sizeof(float));
    st->out = blas_alloc(n->batch * n->frames * C * sizeof(float));
    st->sum = malloc((size_t)st->threads * C * sizeof(double));
    st->sq = malloc((size_t)st->threads * C * sizeof(double));
    if (bad || !st->a || !st->b || !st->col || !st->out || !st->sum || !st->sq) {
        w2v_gemm_teardown(st);
        return sono_fail(err, SONO_ENOMEM, "blas/gemm: no memory for [%zu, %zu] activations",
                         n->len[1], C);
    }
    openblas_set_num_threads(st->threads);
    *stp = st;
    return 0;
}

int w2v_gemm_load(void *vst, const sono_buf *in, sono_error *err)
{
    w2v_gemm *st = vst;
    if (in->dtype != SONO_F32 || (size_t)sono_buf_elems(in) != st->n.batch * st->n.samples)
        return sono_fail(err, SONO_EINVAL, "blas/gemm wav2vec2.features: input must be f32 "
                         "[%zu, %zu]", st->n.batch, st->n.samples);
    st->x = in->data;
    return 0;
}

/* ---- the epilogue, over rows [r0, r1) of y [T][C] on one thread --------------------- */
typedef struct epi {
    w2v_gemm *st;
    int l, pass, id;
    float *y;
    size_t T, r0, r1;
    const float *mean, *inv; /* group norm: per channel */
} epi;

static void *epi_run(void *arg)
{
    epi *e = arg;
    const w2v_net *n = &e->st->n;
    size_t C = n->C;
    const float *g = n->gamma[e->l], *b = n->beta[e->l];
    if (e->pass == 0) { /* group norm's column sums, this thread's share of rows */
        double *s = e->st->sum + (size_t)e->id * C, *q = e->st->sq + (size_t)e->id * C;
        for (size_t c = 0; c < C; c++)
            s[c] = q[c] = 0;
        for (size_t t = e->r0; t < e->r1; t++)
            for (size_t c = 0; c < C; c++) {
                double v = e->y[t * C + c];
                s[c] += v;
                q[c] += v * v;
            }
        return NULL;
    }
    for (size_t t = e->r0; t < e->r1; t++) {
        float *row = e->y + t * C;
        if (g && n->layer_norm) {
            float m, inv;
            w2v_stats(row, C, 1, &m, &inv);
            for (size_t c = 0; c < C; c++)
                row[c] = w2v_gelu((row[c] - m) * inv * g[c] + b[c]);
        } else if (g)
            for (size_t c = 0; c < C; c++)
                row[c] = w2v_gelu((row[c] - e->mean[c]) * e->inv[c] * g[c] + b[c]);
        else
            for (size_t c = 0; c < C; c++)
                row[c] = w2v_gelu(row[c]);
    }
    return NULL;
}

static void epi_pass(w2v_gemm *st, int l, int pass, float *y, size_t T, const float *mean,
                     const float *inv)
{
    int nt = st->threads < 64 ? st->threads : 64;
    if ((size_t)nt > T)
        nt = 1;
    pthread_t th[64];
    epi e[64];
    int started[64] = {0};
    for (int i = 0; i < nt; i++) {
        e[i] = (epi){st, l, pass, i, y, T, T * (size_t)i / (size_t)nt,
                     T * (size_t)(i + 1) / (size_t)nt, mean, inv};
        if (i > 0)
            started[i] = pthread_create(&th[i], NULL, epi_run, &e[i]) == 0;
        if (i > 0 && !started[i])
            epi_run(&e[i]);
    }
    epi_run(&e[0]);
    for (int i = 1; i < nt; i++)
        if (started[i])
            pthread_join(th[i], NULL);
    if (pass == 0) { /* threads' sums into thread 0's */
        for (int i = 1; i < nt; i++)
            for (size_t c = 0; c < st->n.C; c++) {
                st->sum[c] += st->sum[(size_t)i * st->n.C + c];
                st->sq[c] += st->sq[(size_t)i * st->n.C + c];
            }
    }
}

/* Norm and GELU of layer l's output y [T][C]. Group norm: the variance as E[y^2] - mean^2
 * in double (53 bits hold it for any T here: the cancellation loses at most log2 of
 * (mean^2 / var) bits, far fewer than the 29 double has beyond float). */
static void epilogue(w2v_gemm *st, int l, float *y, size_t T)
{
    const w2v_net *n = &st->n;
    size_t C = n->C;
    if (n->gamma[l] && !n->layer_norm) {
        float mean[C > 0 ? C : 1], inv[C > 0 ? C : 1];
        epi_pass(st, l, 0, y, T, NULL, NULL);
        for (size_t c = 0; c < C; c++) {
            double m = st->sum[c] / (double)T, v = st->sq[c] / (double)T - m * m;
            mean[c] = (float)m;
            inv[c] = (float)(1.0 / sqrt((v > 0 ? v : 0) + 1e-5));
        }
        epi_pass(st, l, 1, y, T, mean, inv);
    } else
        epi_pass(st, l, 1, y, T, NULL, NULL);
}

/* y [To][C] = conv of in [Ti][cin] by layer l's weights. */
static void conv(w2v_gemm *st, int l, const float *in, float *y)
{
    const w2v_net *n = &st->n;
    size_t C = n->C, cin = l ? C : 1, k = (size_t)w2v_k[l], s = (size_t)w2v_s[l];
    size_t To = n->len[l + 1], K = k * cin;
    if (k == s) { /* rows of the activations are the matrix: no copy */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)To, (int)C, (int)K, 1.0f, in,
                    (int)(s * cin), st->wr[l], (int)K, 0.0f, y, (int)C);
        return;
    }
    size_t rows = st->col_rows * 3 * (C > 4 ? C : 4) / K;
    for (size_t t0 = 0; t0 < To; t0 += rows) {
        size_t m = To - t0 < rows ? To - t0 : rows;
        for (size_t t = 0; t < m; t++)
            memcpy(st->col + t * K, in + (t0 + t) * s * cin, K * sizeof(float));
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, (int)C, (int)K, 1.0f,
                    st->col, (int)K, st->wr[l], (int)K, 0.0f, y + t0 * C, (int)C);
    }
}

int w2v_gemm_run(void *vst)
{
    w2v_gemm *st = vst;
    const w2v_net *n = &st->n;
    for (size_t b = 0; b < n->batch; b++) {
        const float *in = st->x + b * n->samples;
        float *bufs[2] = {st->a, st->b};
        for (int l = 0; l < W2V_LAYERS; l++) {
            float *y = l == W2V_LAYERS - 1 ? st->out + b * n->frames * n->C : bufs[l & 1];
            conv(st, l, in, y);
            epilogue(st, l, y, n->len[l + 1]);
            in = y;
        }
    }
    return 0;
}

int w2v_gemm_store(void *vst, sono_buf *out, sono_error *err)
{
    w2v_gemm *st = vst;
    size_t want = st->n.batch * st->n.frames * st->n.C;
    if (out->dtype != SONO_F32 || (size_t)sono_buf_elems(out) != want)
        return sono_fail(err, SONO_EINVAL, "blas/gemm wav2vec2.features: output must be f32 "
                         "of %zu values", want);
    memcpy(out->data, st->out, want * sizeof(float));
    return 0;
}

int w2v_gemm_describe(void *vst, char *buf, size_t n)
{
    w2v_gemm *st = vst;
    int k = w2v_describe(&st->n, buf, n);
    if (k >= 0 && (size_t)k < n)
        snprintf(buf + k, n - (size_t)k, "; im2col chunks of %zu floats, layers 5-6 without "
                 "a copy; OpenBLAS threads=%d (asked %d)", st->col_rows * 3 * st->n.C,
                 openblas_get_num_threads(), st->threads);
    nn_dtype_append(buf, n, st->n.dtnote); /* issue 26: float32 SGEMM on rounded inputs */
    return 0;
}

size_t w2v_gemm_workspace(void *vst)
{
    const w2v_gemm *st = vst;
    const w2v_net *n = &st->n;
    size_t C = n->C, w = 0;
    for (int l = 0; l < W2V_LAYERS; l++)
        w += 2 * C * (size_t)w2v_k[l] * (l ? C : 1);
    return (w + (n->len[1] + n->len[2]) * C + st->col_rows * 3 * C +
            n->batch * n->frames * C) * sizeof(float) + 2 * (size_t)st->threads * C * sizeof(double);
}
