/* mimi.c — cuda/mimi for codec.mimi: impls/common/mimi_net.c reads the config and the
 * weights (MimiModel's names, random or a safetensors file) and builds the layer graph in
 * setup; every weight, codebook and a RoPE table are then uploaded once, and run() walks
 * mimi_net.c's graph on the device: convolutions as the padded im2col (mi_kernels.cu) +
 * cuBLAS SGEMM with a fused epilogue (bias, the residual sum, the next layer's ELU), 1x1
 * convs straight on the activation, transposed convolutions as one SGEMM into columns and
 * the causal col2im, the grouped upsample by its taps, the transformers' projections and
 * MLP as SGEMMs over every row with own LayerNorm, RoPE, windowed-attention, GELU and
 * layer-scale kernels, and the split RVQ as SGEMM projections, one SGEMM of scores per
 * stage and a fused nearest-codeword + residual-update kernel. The op's streams: S clips
 * side by side in each channel's row (every GEMM's N spans them), transformer rows of all
 * clips stacked (attention per clip), the RVQ over S * frames rows. FP32 throughout. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cu.h"
#include "cuda_impls.h"
#include "mi_kernels.h"
#include "mi_math.h"
#include "mi_mem.h"
#include "mimi_net.h"
#include "nndtype.h"

/* mi_attention keeps a query and its output row in shared memory */
#define MI_MAX_DH 2048

typedef struct dconv {
    float *w, *b;
} dconv;

typedef struct dtl {
    float *wq, *wk, *wv, *wo, *w1, *w2, *ln1g, *ln1b, *ln2g, *ln2b, *ls1, *ls2;
} dtl;

typedef struct state {
    cu_hdr h; /* first: the device's time_runs reads it */
    mn_model m;
    mi_plan plan;
    dconv l[2][MN_MAX_LAYERS][2];
    dconv down, up;
    dtl *t[2];
    float *qin[2], *qout[2], *cb[2], *cbn[2];
    float *cs, *sn;                        /* RoPE cos, sin [Tmax][dh/2] */
    float *in, *buf[3], *col;              /* signal, activations (x, y, hidden), columns */
    float *th, *tu, *tq, *tk, *tv, *ta, *tf; /* transformer rows */
    float *e, *res, *sc;                   /* RVQ: [S*F][D], [S*F][Q], [S*F][K] */
    int *codes;                            /* [S][n_q][F] */
    size_t act_n, col_n, dev_bytes;
    cublasHandle_t blas;
    int has_blas;
} state;

static int supports(const void *ctx, const sono_params *p, char *why, size_t n)
{
    (void)ctx;
    int rc = nn_dtype_f32_only(p, NULL, why, n);
    if (rc)
        return rc;
    mn_model *m = malloc(sizeof *m);
    if (!m) {
        snprintf(why, n, "out of host memory planning the case");
        return SONO_EUNSUPPORTED;
    }
    rc = mn_dims(p, m, why, n) ? SONO_EUNSUPPORTED : 0;
    if (!rc && m->c.dh > MI_MAX_DH) {
        snprintf(why, n, "head_dim %d: the attention kernel holds a head's row in shared "
                 "memory, at most %d", m->c.dh, MI_MAX_DH);
        rc = SONO_EUNSUPPORTED;
    }
    mi_plan pl;
    if (!rc) {
        mi_plan_walk(&m->c, m->samples, m->frames, &pl);
        rc = cu_supports_common(p, mi_device_bytes(m, &pl), why, n);
    }
    free(m);
    return rc;
}

static void teardown(void *vst)
{
    state *st = vst;
    if (!st)
        return;
    if (st->has_blas)
        (void)cublasDestroy(st->blas);
    for (int d = 0; d < 2; d++) {
        for (int i = 0; i < MN_MAX_LAYERS; i++)
            for (int j = 0; j < 2; j++) {
                cu_free(st->l[d][i][j].w);
                cu_free(st->l[d][i][j].b);
            }
        for (int i = 0; st->t[d] && i < st->m.c.layers; i++) {
            dtl *t = &st->t[d][i];
            float *w[] = {t->wq, t->wk, t->wv, t->wo, t->w1, t->w2, t->ln1g, t->ln1b,
                          t->ln2g, t->ln2b, t->ls1, t->ls2};
            for (size_t k = 0; k < sizeof w / sizeof w[0]; k++)
                cu_free(w[k]);
        }
        free(st->t[d]);
        cu_free(st->qin[d]);
        cu_free(st->qout[d]);
        cu_free(st->cb[d]);
        cu_free(st->cbn[d]);
    }
    void *b[] = {st->down.w, st->down.b, st->up.w, st->up.b, st->cs, st->sn, st->in,
                 st->buf[0], st->buf[1], st->buf[2], st->col, st->th, st->tu, st->tq,
                 st->tk, st->tv, st->ta, st->tf, st->e, st->res, st->sc, st->codes};
    for (size_t i = 0; i < sizeof b / sizeof b[0]; i++)
        cu_free(b[i]);
    mn_free(&st->m);
    free(st);
}

/* A device copy of floats host[0..n) (NULL stays NULL), counted in dev_bytes. */
static int up(state *st, float **dst, const float *host, size_t n, sono_error *err)
{
    if (!host)
        return 0;
    int rc = cu_alloc((void **)dst, n * sizeof(float), st->h.label, err);
    if (!rc)
        rc = CU_OK(cudaMemcpy(*dst, host, n * sizeof(float), cudaMemcpyHostToDevice),
                   st->h.label, err);
    st->dev_bytes += n * sizeof(float);
    return rc;
}

static int buf(state *st, void **dst, size_t bytes, sono_error *err)
{
    st->dev_bytes += bytes;
    return cu_alloc(dst, bytes ? bytes : sizeof(float), st->h.label, err);
}

static int up_conv(state *st, const mn_conv *c, dconv *d, int tr, sono_error *err)
{
    size_t a = (size_t)(tr ? c->cin : c->cout), b = (size_t)((tr ? c->cout : c->cin) / c->groups);
    size_t nw = a * b * (size_t)c->k;
    int rc = up(st, &d->w, c->w, nw, err);
    return rc ? rc : up(st, &d->b, c->b, (size_t)c->cout, err);
}

static int upload(state *st, sono_error *err)
{
    const mn_model *m = &st->m;
    const mn_cfg *c = &m->c;
    int rc = 0;
    size_t D = (size_t)c->hidden, F = (size_t)c->ffn, Q = (size_t)c->cdim,
           K = (size_t)c->codebook;
    for (int d = 0; d < 2 && !rc; d++)
        for (int i = 0; i < m->n[d] && !rc; i++) {
            const mn_layer *y = &m->l[d][i];
            if (y->kind == MN_CONV || y->kind == MN_CONVTR)
                rc = up_conv(st, &y->c[0], &st->l[d][i][0], y->kind == MN_CONVTR, err);
            else if (y->kind == MN_RES) {
                rc = up_conv(st, &y->c[0], &st->l[d][i][0], 0, err);
                rc = rc ? rc : up_conv(st, &y->c[1], &st->l[d][i][1], 0, err);
            }
        }
    if (!rc)
        rc = up_conv(st, &m->down, &st->down, 0, err);
    if (!rc)
        rc = up_conv(st, &m->up, &st->up, 1, err);
    for (int d = 0; d < 2 && !rc; d++) {
        if (!(st->t[d] = calloc((size_t)c->layers + 1, sizeof(dtl))))
            return sono_fail(err, SONO_ENOMEM, "%s: out of memory", st->h.label);
        for (int i = 0; i < c->layers && !rc; i++) {
            const mn_tlayer *h = &m->t[d][i];
            dtl *t = &st->t[d][i];
            struct { float **d; const float *h; size_t n; } w[] = {
                {&t->wq, h->wq, D * D},  {&t->wk, h->wk, D * D},  {&t->wv, h->wv, D * D},
                {&t->wo, h->wo, D * D},  {&t->w1, h->w1, F * D},  {&t->w2, h->w2, D * F},
                {&t->ln1g, h->ln1g, D},  {&t->ln1b, h->ln1b, D},  {&t->ln2g, h->ln2g, D},
                {&t->ln2b, h->ln2b, D},  {&t->ls1, h->ls1, D},    {&t->ls2, h->ls2, D}};
            for (size_t k = 0; k < sizeof w / sizeof w[0] && !rc; k++)
                rc = up(st, w[k].d, w[k].h, w[k].n, err);
        }
        const mn_rvq *v = &m->q[d];
        if (!rc)
            rc = up(st, &st->qin[d], v->in, Q * D, err);
        if (!rc)
            rc = up(st, &st->qout[d], v->out, D * Q, err);
        if (!rc && v->n > 0)
            rc = up(st, &st->cb[d], v->cb, (size_t)v->n * K * Q, err);
        if (!rc && v->n > 0)
            rc = up(st, &st->cbn[d], v->norm2, (size_t)v->n * K, err);
    }
    /* RoPE's cos and sin per position and pair, as mn_rope computes them */
    long long T = mi_tmax(&st->plan);
    size_t half = (size_t)c->dh / 2, nt = (size_t)T * half;
    float *cs = malloc((nt ? nt : 1) * sizeof *cs), *sn = malloc((nt ? nt : 1) * sizeof *sn);
    if (!rc && (!cs || !sn))
        rc = sono_fail(err, SONO_ENOMEM, "%s: out of memory", st->h.label);
    for (long long t = 0; !rc && t < T; t++)
        for (size_t i = 0; i < half; i++) {
            double a = mi_rope_angle(t, (int)i, c->dh, c->theta);
            cs[(size_t)t * half + i] = (float)cos(a);
            sn[(size_t)t * half + i] = (float)sin(a);
        }
    if (!rc && nt)
        rc = up(st, &st->cs, cs, nt, err);
    if (!rc && nt)
        rc = up(st, &st->sn, sn, nt, err);
    free(cs);
    free(sn);
    return rc;
}

static int mi_cuda_run(void *vst);

static int setup(const void *ctx, const sono_params *p, void **stp, sono_error *err)
{
    char why[512];
    int rc;
    *stp = NULL;
    if ((rc = supports(ctx, p, why, sizeof why)) < 0)
        return sono_fail(err, rc, "cuda/mimi: %s", why);
    state *st = calloc(1, sizeof *st);
    if (!st)
        return sono_fail(err, SONO_ENOMEM, "cuda/mimi: cannot allocate its state");
    if ((rc = cu_hdr_init(&st->h, "codec.mimi", "mimi", mi_cuda_run, p, err))) {
        free(st);
        return rc;
    }
    cu_range_push(&st->h, "setup");
    rc = mn_load(p, &st->m, err);
    const mn_model *m = &st->m;
    const mn_cfg *c = &m->c;
    if (!rc) {
        mi_plan_walk(c, m->samples, m->frames, &st->plan);
        rc = upload(st, err);
    }
    size_t S = (size_t)m->S, R = S * (size_t)m->frames, TR = S * (size_t)mi_tmax(&st->plan);
    size_t D = (size_t)c->hidden;
    st->act_n = (size_t)(S * st->plan.act);
    st->col_n = (size_t)(S * st->plan.col);
    struct { void **d; size_t bytes; } a[] = {
        {(void **)&st->in, S * (size_t)m->samples * sizeof(float)},
        {(void **)&st->buf[0], st->act_n * sizeof(float)},
        {(void **)&st->buf[1], st->act_n * sizeof(float)},
        {(void **)&st->buf[2], st->act_n * sizeof(float)},
        {(void **)&st->col, st->col_n * sizeof(float)},
        {(void **)&st->th, TR * D * sizeof(float)}, {(void **)&st->tu, TR * D * sizeof(float)},
        {(void **)&st->tq, TR * D * sizeof(float)}, {(void **)&st->tk, TR * D * sizeof(float)},
        {(void **)&st->tv, TR * D * sizeof(float)}, {(void **)&st->ta, TR * D * sizeof(float)},
        {(void **)&st->tf, TR * (size_t)c->ffn * sizeof(float)},
        {(void **)&st->e, R * D * sizeof(float)},
        {(void **)&st->res, R * (size_t)c->cdim * sizeof(float)},
        {(void **)&st->sc, R * (size_t)c->codebook * sizeof(float)},
        {(void **)&st->codes, R * (size_t)m->nq * sizeof(int)}};
    for (size_t i = 0; i < sizeof a / sizeof a[0] && !rc; i++)
        rc = buf(st, a[i].d, a[i].bytes, err);
    if (!rc)
        rc = cu_blas_create(&st->h, &st->blas, &st->has_blas, err);
    if (!rc)
        rc = CU_OK(cudaDeviceSynchronize(), st->h.label, err);
    cu_range_pop();
    if (rc) {
        teardown(st);
        return rc;
    }
    *stp = st;
    return 0;
}

static int load(void *vst, const sono_buf *in, sono_error *err)
{
    state *st = vst;
    const mn_model *m = &st->m;
    int dec = m->mode == MN_DECODE;
    long long want = m->S * (dec ? (long long)m->nq * m->frames : m->samples);
    if (sono_buf_elems(in) != want || in->dtype != (dec ? SONO_I32 : SONO_F32))
        return sono_fail(err, SONO_EINVAL, "%s: input has %lld values, want %lld of %s",
                         st->h.label, sono_buf_elems(in), want, dec ? "i32" : "f32");
    cu_range_push(&st->h, "load");
    /* codes arrive [S][n_q][F], the device's layout (mi_code_at) */
    int rc = CU_OK(cudaMemcpyAsync(dec ? (void *)st->codes : (void *)st->in, in->data,
                                   (size_t)want * 4, cudaMemcpyHostToDevice,
                                   st->h.dev->stream), st->h.label, err);
    if (!rc)
        rc = CU_OK(cudaStreamSynchronize(st->h.dev->stream), st->h.label, err);
    cu_range_pop();
    return rc;
}

/* ---- the forward pass on the device (mimi_net.c's mn_encode / mn_decode) ---- */

#define TRY(call)                                                                          \
    do {                                                                                   \
        cudaError_t e_ = (call);                                                           \
        if (e_ != cudaSuccess)                                                             \
            return cu_run_ok(e_, #call, &st->h);                                           \
    } while (0)
#define TRYB(call)                                                                         \
    do {                                                                                   \
        int rc_ = CU_BLAS_RUN((call), &st->h);                                             \
        if (rc_)                                                                           \
            return rc_;                                                                    \
    } while (0)

/* A buffer the plan made too small: a defect, said rather than overrun. */
static int fits(state *st, size_t need, size_t have, const char *what)
{
    if (need <= have)
        return 0;
    snprintf(st->h.msg, sizeof st->h.msg, "%s: %zu floats planned for %s, %zu needed",
             st->h.label, have, what, need);
    return SONO_EDEVICE;
}

/* y [R][O] = x [R][I] w [O][I]^T (+ beta y): column-major y^T = w x^T */
static int linear(state *st, const float *x, long long R, int I, const float *w, int O,
                  float *y, float beta)
{
    const float one = 1.0f;
    TRYB(cublasSgemm(st->blas, CUBLAS_OP_T, CUBLAS_OP_N, O, (int)R, I, &one, w, I, x, I, &beta,
                     y, O));
    return 0;
}

/* MimiConv1d over S clips: x [cin][S][L] -> y [cout][S][lo] (the GEMM's sums), then the
 * epilogue into out: bias, + res (the residual block's skip), ELU when act. elu: the
 * input's ELU on read (im2col even for a 1x1 conv). The output length in *lo. */
static int conv(state *st, const mn_conv *c, const dconv *d, const float *x, long long L,
                int elu, float *y, const float *res, int act, float *out, long long *lo)
{
    cudaStream_t s = st->h.dev->stream;
    int S = st->m.S, rc;
    long long keff = (long long)(c->k - 1) * c->dil + 1, left = keff - c->stride;
    long long n = (L + c->stride - 1) / c->stride, N = n * S;
    *lo = n;
    if ((rc = fits(st, (size_t)c->cout * (size_t)N, st->act_n, "a conv's output")))
        return rc;
    const float *B = x;
    int kk = c->cin * c->k;
    if (elu || c->k != 1 || c->stride != 1 || left != 0) {
        if ((rc = fits(st, (size_t)kk * (size_t)N, st->col_n, "im2col columns")))
            return rc;
        TRY(cu_mi_col_launch(x, c->cin, c->k, c->stride, c->dil, L, left, n, S, c->replicate,
                             elu, st->col, s));
        B = st->col;
    }
    /* row-major y [cout][N] = W [cout][cin k] B [cin k][N]: column-major y^T = B^T W^T */
    const float one = 1.0f, zero = 0.0f;
    TRYB(cublasSgemm(st->blas, CUBLAS_OP_N, CUBLAS_OP_N, (int)N, c->cout, kk, &one, B, (int)N,
                     d->w, kk, &zero, y, (int)N));
    if (d->b || res || act || out != y)
        TRY(cu_mi_epilogue_launch(y, d->b, res, c->cout, N, act, out, s));
    return 0;
}

/* MimiConvTranspose1d (groups 1), causal: Z [cout k][S L] = W^T x, then the first L s
 * samples of each clip's col2im with the bias (and ELU when act) into y. */
static int convtr(state *st, const mn_conv *c, const dconv *d, const float *x, long long L,
                  int act, float *y)
{
    int S = st->m.S, ok = c->cout * c->k, rc;
    long long N = L * S;
    if ((rc = fits(st, (size_t)ok * (size_t)N, st->col_n, "transposed-conv columns")) ||
        (rc = fits(st, (size_t)c->cout * (size_t)N * (size_t)c->stride, st->act_n,
                   "a transposed conv's output")))
        return rc;
    const float one = 1.0f, zero = 0.0f;
    TRYB(cublasSgemm(st->blas, CUBLAS_OP_N, CUBLAS_OP_T, (int)N, ok, c->cin, &one, x, (int)N,
                     d->w, ok, &zero, st->col, (int)N));
    TRY(cu_mi_col2im_launch(st->col, d->b, c->cout, c->k, c->stride, L, S, act, y,
                            st->h.dev->stream));
    return 0;
}

/* A side's layer list over buf[0] ([C][S][L]); the result left in buf[0]. A layer followed
 * by ELU applies it in its epilogue; a residual block takes its input's ELU on read. */
static int layers(state *st, int side, int *C, long long *L)
{
    const mn_model *m = &st->m;
    float **B = st->buf; /* 0: x, 1: y, 2: the residual block's hidden */
    long long t;
    int rc, fused = 0;
    for (int i = 0; i < m->n[side]; i++) {
        const mn_layer *y = &m->l[side][i];
        const dconv *g = st->l[side][i];
        int post = i + 1 < m->n[side] && m->l[side][i + 1].kind == MN_ELU, swap = 1;
        switch (y->kind) {
        case MN_ELU:
            if (!fused)
                TRY(cu_mi_elu_launch(B[0], (long long)*C * m->S * *L, st->h.dev->stream));
            swap = 0;
            break;
        case MN_CONV:
            if ((rc = conv(st, &y->c[0], &g[0], B[0], *L, 0, B[1], NULL, post, B[1], L)))
                return rc;
            *C = y->c[0].cout;
            break;
        case MN_CONVTR:
            if ((rc = convtr(st, &y->c[0], &g[0], B[0], *L, post, B[1])))
                return rc;
            *L *= y->c[0].stride;
            *C = y->c[0].cout;
            break;
        case MN_RES:
            if ((rc = conv(st, &y->c[0], &g[0], B[0], *L, 1, B[2], NULL, 1, B[2], &t)) ||
                (rc = conv(st, &y->c[1], &g[1], B[2], *L, 0, B[1], B[0], post, B[0], &t)))
                return rc;
            swap = 0;
            break;
        }
        fused = y->kind != MN_ELU && post;
        if (swap) {
            float *sw = B[0];
            B[0] = B[1];
            B[1] = sw;
        }
    }
    return 0;
}

/* buf[0] [D][S*T] in place through a side's transformer (rows [S*T][D] meanwhile). */
static int transformer(state *st, int side, long long T)
{
    const mn_model *m = &st->m;
    const mn_cfg *c = &m->c;
    cudaStream_t s = st->h.dev->stream;
    int D = c->hidden, rc;
    long long R = T * m->S;
    TRY(cu_mi_transpose_launch(st->buf[0], D, R, st->th, s));
    for (int l = 0; l < c->layers; l++) {
        const dtl *w = &st->t[side][l];
        TRY(cu_mi_layernorm_launch(st->th, R, D, w->ln1g, w->ln1b, c->eps, st->tu, s));
        if ((rc = linear(st, st->tu, R, D, w->wq, D, st->tq, 0.0f)) ||
            (rc = linear(st, st->tu, R, D, w->wk, D, st->tk, 0.0f)) ||
            (rc = linear(st, st->tu, R, D, w->wv, D, st->tv, 0.0f)))
            return rc;
        TRY(cu_mi_rope_launch(st->tq, R, T, c->heads, c->dh, st->cs, st->sn, s));
        TRY(cu_mi_rope_launch(st->tk, R, T, c->heads, c->dh, st->cs, st->sn, s));
        TRY(cu_mi_attention_launch(st->tq, st->tk, st->tv, m->S, T, c->heads, c->dh, c->window,
                                   st->ta, s));
        if ((rc = linear(st, st->ta, R, D, w->wo, D, st->tu, 0.0f)))
            return rc;
        TRY(cu_mi_ls_add_launch(st->th, w->ls1, st->tu, R, D, s));
        TRY(cu_mi_layernorm_launch(st->th, R, D, w->ln2g, w->ln2b, c->eps, st->tu, s));
        if ((rc = linear(st, st->tu, R, D, w->w1, c->ffn, st->tf, 0.0f)))
            return rc;
        TRY(cu_mi_gelu_launch(st->tf, R * c->ffn, s));
        if ((rc = linear(st, st->tf, R, c->ffn, w->w2, D, st->tu, 0.0f)))
            return rc;
        TRY(cu_mi_ls_add_launch(st->th, w->ls2, st->tu, R, D, s));
    }
    TRY(cu_mi_transpose_launch(st->th, R, D, st->buf[0], s));
    return 0;
}

static int encode(state *st)
{
    const mn_model *m = &st->m;
    const mn_cfg *c = &m->c;
    cudaStream_t s = st->h.dev->stream;
    int C = 1, D = c->hidden, Q = c->cdim, K = c->codebook, rc;
    long long L = m->samples, F, R = m->frames * m->S;
    TRY(cudaMemcpyAsync(st->buf[0], st->in, (size_t)(L * m->S) * sizeof(float),
                        cudaMemcpyDeviceToDevice, s));
    if ((rc = layers(st, 0, &C, &L)) || (rc = transformer(st, 0, L)) ||
        (rc = conv(st, &m->down, &st->down, st->buf[0], L, 0, st->buf[1], NULL, 0, st->buf[1],
                   &F)))
        return rc;
    TRY(cu_mi_transpose_launch(st->buf[1], D, R, st->e, s)); /* e [S*F][D] */
    for (int v = 0; v < 2; v++) {
        int q0 = v ? c->nsem : 0, q1 = v ? m->nq : c->nsem;
        if (q0 >= q1)
            continue;
        if ((rc = linear(st, st->e, R, D, st->qin[v], Q, st->res, 0.0f)))
            return rc;
        for (int q = q0; q < q1; q++) {
            const float *cb = st->cb[v] + (size_t)(q - q0) * (size_t)K * (size_t)Q;
            if ((rc = linear(st, st->res, R, Q, cb, K, st->sc, 0.0f)))
                return rc;
            TRY(cu_mi_nearest_launch(st->sc, st->cbn[v] + (size_t)(q - q0) * (size_t)K, cb, R,
                                     K, Q, q, m->nq, m->frames, st->res, st->codes, s));
        }
    }
    return 0;
}

static int decode(state *st)
{
    const mn_model *m = &st->m;
    const mn_cfg *c = &m->c;
    cudaStream_t s = st->h.dev->stream;
    int D = c->hidden, Q = c->cdim, C = D, rc;
    long long F = m->frames, R = F * m->S, L = 2 * F;
    for (int v = 0; v < 2; v++) {
        int q0 = v ? c->nsem : 0, q1 = v ? m->nq : c->nsem;
        if (q0 >= q1)
            continue;
        TRY(cu_mi_gather_launch(st->cb[v], st->codes, q0, q1, m->nq, c->codebook, Q, R, F,
                                st->res, s));
        if ((rc = linear(st, st->res, R, Q, st->qout[v], D, st->e, v ? 1.0f : 0.0f)))
            return rc;
    }
    TRY(cu_mi_transpose_launch(st->e, R, D, st->buf[1], s)); /* [D][S*F] */
    const mn_conv *u = &m->up;
    TRY(cu_mi_convtr_grouped_launch(st->buf[1], st->up.w, st->up.b, u->cin, u->cout,
                                    u->groups, u->k, u->stride, F, m->S, st->buf[0], s));
    if ((rc = transformer(st, 1, L)))
        return rc;
    return layers(st, 1, &C, &L);
}

static int mi_cuda_run(void *vst)
{
    state *st = vst;
    int rc = 0;
    /* layers() leaves its result in whichever buffer is buf[0] then; buf[0..2] are the
     * same size, so a run may start from any assignment */
    if (st->m.mode != MN_DECODE)
        rc = encode(st);
    if (!rc && st->m.mode != MN_ENCODE)
        rc = decode(st);
    return rc;
}

static int store(void *vst, sono_buf *out, sono_error *err)
{
    state *st = vst;
    const mn_model *m = &st->m;
    int enc = m->mode == MN_ENCODE;
    size_t S = (size_t)m->S, nc = (size_t)m->nq * (size_t)m->frames;
    size_t na = (size_t)(m->frames * m->c.frame_hop),
           len = m->mode == MN_ROUNDTRIP ? (size_t)m->samples : na;
    size_t need = enc ? S * nc * sizeof(int32_t) : S * len * sizeof(float);
    if (out->dtype != (enc ? SONO_I32 : SONO_F32) || out->nbytes < need)
        return sono_fail(err, SONO_EINVAL, "%s: output must be %s (%zu bytes); got dtype %d, "
                         "%zu bytes", st->h.label, enc ? "i32 codes [n_q, frames]"
                         : "f32 audio", need, (int)out->dtype, out->nbytes);
    cu_range_push(&st->h, "store");
    cudaStream_t cs = st->h.dev->stream;
    int rc;
    if (enc) /* [S][n_q][F] on the device too */
        rc = CU_OK(cudaMemcpyAsync(out->data, st->codes, need, cudaMemcpyDeviceToHost, cs),
                   st->h.label, err);
    else /* each clip's row cut to its output length (roundtrip: the input's) */
        rc = CU_OK(cudaMemcpy2DAsync(out->data, len * sizeof(float), st->buf[0],
                                     na * sizeof(float), len * sizeof(float), S,
                                     cudaMemcpyDeviceToHost, cs), st->h.label, err);
    if (!rc)
        rc = CU_OK(cudaStreamSynchronize(cs), st->h.label, err);
    cu_range_pop();
    return rc;
}

static int describe(void *vst, char *buf, size_t n)
{
    const state *st = vst;
    const mn_model *m = &st->m;
    snprintf(buf, n, "weights on the device: %s; im2col + cublasSgemm convs with fused bias/"
             "residual/ELU epilogues, SGEMM + causal col2im transposed, SGEMM transformer "
             "with own LayerNorm, RoPE, windowed online-softmax attention, GELU, layer scale; "
             "SGEMM scores + fused nearest/residual RVQ kernel; hidden %d, %d layers, %d heads, "
             "window %d, n_q %d of %d, %lld frames x %d streams, FP32", m->path, m->c.hidden,
             m->c.layers, m->c.heads, m->c.window, m->nq, m->c.nq_max, m->frames, m->S);
    return 0;
}

static size_t workspace(void *vst)
{
    const state *st = vst;
    return sizeof *st + st->dev_bytes;
}

const sono_impl cu_mimi_impls[1] = {
    {.abi = SONO_ABI_VERSION, .op = "codec.mimi", .name = "mimi",
     .summary = "Mimi on the GPU: cuBLAS convs, transformer and RVQ scores; own ELU epilogue, "
                "RoPE, windowed attention, layer scale and nearest-codeword kernels",
     .device = "cuda:0", .growth = SONO_ERR_LINEAR, .supports = supports, .setup = setup,
     .load = load, .run = mi_cuda_run, .store = store, .teardown = teardown,
     .describe = describe, .workspace = workspace},
};
