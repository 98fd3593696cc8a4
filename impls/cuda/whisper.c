/* whisper.c — cuda/whisper for whisper.encoder: weights read by the shared body
 * (impls/common/whisper_net.c) and uploaded once in setup; a run is cuBLAS SGEMMs (every
 * linear layer over the rows of all clips, the conv stem as im2col + SGEMM, attention per
 * clip as two strided-batched SGEMMs over the heads) around own kernels for im2col, bias +
 * GELU (+ positions), LayerNorm and the row softmax (wh_kernels.cu), FP32 throughout.
 * Issue 26: with whisper.encoder's dtype tf32, bf16 or f16 the linear layers and the conv
 * stem are gemm_dt.h's cuBLASLt GEMMs in that dtype (weights converted once in setup,
 * activations rounded by gdt_kernels.cu before each GEMM, fp32 accumulation, one plan per
 * distinct shape made in setup); attention's batched GEMMs and the kernels stay FP32. */
#include <stdlib.h>
#include <string.h>

#include <cublas_v2.h>

#include "cu.h"
#include "cuda_impls.h"
#include "gdt_kernels.h"
#include "gemm_dt.h"
#include "nndtype.h"
#include "wh_kernels.h"
#include "whisper_net.h"

typedef struct dblock {
    float *ln1g, *ln1b, *wq, *bq, *wk, *wv, *bv, *wo, *bo, *ln2g, *ln2b, *w1, *b1, *w2, *b2;
} dblock;

typedef struct state {
    cu_hdr h; /* first: the device reads it */
    wn_model m;
    float *c1w, *c1b, *c2w, *c2b, *pos, *lng, *lnb;
    dblock *b;
    float *x, *col, *a1, *hid, *u, *q, *k, *v, *o, *f, *S, *out;
    size_t dev_bytes;
    cublasHandle_t blas;
    int has_blas;
    /* issue 26: at dtype != f32 the GEMM weights above (c1w, c2w, wq..w2) hold the dtype's
     * storage, not floats; xdt the converted activation; a plan per distinct shape */
    int dt;
    gdt_ctx lt;
    gdt_plan plans[5];
    long long shape[5][3]; /* rows, out, in */
    int nplans;
    void *xdt;
} state;

/* Device bytes setup allocates: the weights, the activations of all clips, one clip's
 * scores over every head. */
static double device_bytes(const wn_model *m)
{
    double D = m->d, B = (double)m->batch, T = (double)m->T, F = (double)m->frames;
    double weights = D * (m->n_mels * 3.0 + 3 * D + 2 + 1500 + 2) +
                     m->layers * (4 * D * D + 2 * D * m->ffn + 9 * D + m->ffn);
    double wide = m->n_mels > m->d ? m->n_mels : m->d;
    double act = B * (m->n_mels * F + F * 3 * wide + F * D + 6 * T * D + T * m->ffn + T * D) +
                 (double)m->heads * T * T;
    return 4.0 * (weights + act);
}

static int supports(const void *ctx, const sono_params *p, char *why, size_t n)
{
    (void)ctx;
    wn_model m;
    if (wn_dims(p, &m, why, n))
        return SONO_EUNSUPPORTED;
    return cu_supports_common(p, device_bytes(&m), why, n);
}

static void teardown(void *vst)
{
    state *st = vst;
    if (!st)
        return;
    if (st->has_blas)
        (void)cublasDestroy(st->blas);
    for (int i = 0; i < st->nplans; i++)
        gdt_plan_free(&st->plans[i]);
    gdt_ctx_free(&st->lt);
    cu_free(st->xdt);
    float *w[] = {st->c1w, st->c1b, st->c2w, st->c2b, st->pos, st->lng, st->lnb, st->x,
                  st->col, st->a1, st->hid, st->u, st->q, st->k, st->v, st->o, st->f,
                  st->S, st->out};
    for (size_t i = 0; i < sizeof w / sizeof w[0]; i++)
        cu_free(w[i]);
    for (int l = 0; st->b && l < st->m.layers; l++) {
        dblock *b = &st->b[l];
        float *bw[] = {b->ln1g, b->ln1b, b->wq, b->bq, b->wk, b->wv, b->bv, b->wo,
                       b->bo,   b->ln2g, b->ln2b, b->w1, b->b1, b->w2, b->b2};
        for (size_t i = 0; i < sizeof bw / sizeof bw[0]; i++)
            cu_free(bw[i]);
    }
    free(st->b);
    wn_free(&st->m);
    free(st);
}

static int up(state *st, float **dst, const float *host, size_t n, sono_error *err)
{
    int rc = cu_alloc((void **)dst, n * sizeof(float), st->h.label, err);
    if (!rc)
        rc = CU_OK(cudaMemcpy(*dst, host, n * sizeof(float), cudaMemcpyHostToDevice),
                   st->h.label, err);
    st->dev_bytes += n * sizeof(float);
    return rc;
}

/* A GEMM weight: floats at f32, else the dtype's storage (issue 26; converted here once). */
static int upw(state *st, float **dst, const float *host, size_t n, sono_error *err)
{
    if (st->dt == NN_F32)
        return up(st, dst, host, n, err);
    void *d = NULL;
    int rc = gdt_upload(host, n, st->dt, &d, &st->dev_bytes, st->h.label, err);
    *dst = d;
    return rc;
}

static int buf(state *st, float **dst, size_t n, sono_error *err)
{
    st->dev_bytes += n * sizeof(float);
    return cu_alloc((void **)dst, n * sizeof(float), st->h.label, err);
}

static int upload(state *st, sono_error *err)
{
    const wn_model *m = &st->m;
    size_t D = (size_t)m->d, F = (size_t)m->ffn;
    int rc = upw(st, &st->c1w, m->c1w, D * (size_t)m->n_mels * 3, err);
    if (!rc)
        rc = up(st, &st->c1b, m->c1b, D, err);
    if (!rc)
        rc = upw(st, &st->c2w, m->c2w, D * D * 3, err);
    if (!rc)
        rc = up(st, &st->c2b, m->c2b, D, err);
    if (!rc)
        rc = up(st, &st->pos, m->pos, (size_t)m->T * D, err);
    if (!rc)
        rc = up(st, &st->lng, m->lng, D, err);
    if (!rc)
        rc = up(st, &st->lnb, m->lnb, D, err);
    for (int l = 0; !rc && l < m->layers; l++) {
        const wn_block *hb = &m->b[l];
        dblock *b = &st->b[l];
        struct { float **d; const float *h; size_t n; int w; } t[] = {
            {&b->ln1g, hb->ln1g, D, 0},     {&b->ln1b, hb->ln1b, D, 0},
            {&b->wq, hb->wq, D * D, 1},     {&b->bq, hb->bq, D, 0},
            {&b->wk, hb->wk, D * D, 1},     {&b->wv, hb->wv, D * D, 1},
            {&b->bv, hb->bv, D, 0},         {&b->wo, hb->wo, D * D, 1},
            {&b->bo, hb->bo, D, 0},         {&b->ln2g, hb->ln2g, D, 0},
            {&b->ln2b, hb->ln2b, D, 0},     {&b->w1, hb->w1, F * D, 1},
            {&b->b1, hb->b1, F, 0},         {&b->w2, hb->w2, D * F, 1},
            {&b->b2, hb->b2, D, 0}};
        for (size_t i = 0; !rc && i < sizeof t / sizeof t[0]; i++)
            rc = (t[i].w ? upw : up)(st, t[i].d, t[i].h, t[i].n, err);
    }
    return rc;
}

static int wh_cuda_run(void *vst);

/* Issue 26: the converted-activation buffer, the cuBLASLt context and one plan per
 * distinct GEMM shape of a run (rows, out, in): y [R][O] = x [R][I] w [O][I]^T. */
static int make_plans(state *st, sono_error *err)
{
    const wn_model *m = &st->m;
    long long B = m->batch, F = m->frames, BT = B * m->T, D = m->d, M = m->n_mels;
    long long wide = M > D ? M : D, ncol = B * F * 3 * wide, nf = BT * m->ffn;
    size_t nb = (size_t)(ncol > nf ? ncol : nf) * (size_t)gdt_types_of(st->dt).esize;
    int rc = cu_alloc(&st->xdt, nb, st->h.label, err);
    st->dev_bytes += nb + GDT_WORKSPACE_BYTES;
    if (!rc)
        rc = gdt_ctx_init(&st->lt, st->h.label, err);
    const long long want[5][3] = {{B * F, D, 3 * M}, {BT, D, 3 * D}, {BT, D, D},
                                  {BT, m->ffn, D}, {BT, D, m->ffn}};
    for (int i = 0; !rc && i < 5; i++) {
        int seen = 0;
        for (int j = 0; j < st->nplans; j++)
            seen |= !memcmp(st->shape[j], want[i], sizeof want[i]);
        if (seen)
            continue;
        if (!(rc = gdt_plan_init(&st->lt, &st->plans[st->nplans], st->dt, want[i][0],
                                 want[i][1], want[i][2], 0, 1, NULL, 256, 256, 256,
                                 st->h.label, err)))
            memcpy(st->shape[st->nplans++], want[i], sizeof want[i]);
    }
    return rc;
}

static int setup(const void *ctx, const sono_params *p, void **stp, sono_error *err)
{
    char why[512];
    int rc;
    *stp = NULL;
    if ((rc = supports(ctx, p, why, sizeof why)) < 0)
        return sono_fail(err, rc, "cuda/whisper: %s", why);
    state *st = calloc(1, sizeof *st);
    if (!st)
        return sono_fail(err, SONO_ENOMEM, "cuda/whisper: cannot allocate its state");
    st->dt = nn_dtype(p);
    if ((rc = cu_hdr_init(&st->h, "whisper.encoder", "whisper", wh_cuda_run, p, err))) {
        free(st);
        return rc;
    }
    cu_range_push(&st->h, "setup");
    rc = wn_load(p, &st->m, err);
    const wn_model *m = &st->m;
    if (!rc && !(st->b = calloc((size_t)m->layers, sizeof *st->b)))
        rc = sono_fail(err, SONO_ENOMEM, "cuda/whisper: out of memory");
    if (!rc)
        rc = upload(st, err);
    size_t B = (size_t)m->batch, D = (size_t)m->d, T = (size_t)m->T, F = (size_t)m->frames;
    size_t wide = (size_t)(m->n_mels > m->d ? m->n_mels : m->d);
    struct { float **d; size_t n; } a[] = {
        {&st->x, B * (size_t)m->n_mels * F}, {&st->col, B * F * 3 * wide},
        {&st->a1, B * F * D}, {&st->hid, B * T * D}, {&st->u, B * T * D},
        {&st->q, B * T * D}, {&st->k, B * T * D}, {&st->v, B * T * D}, {&st->o, B * T * D},
        {&st->f, B * T * (size_t)m->ffn}, {&st->S, (size_t)m->heads * T * T},
        {&st->out, B * T * D}};
    for (size_t i = 0; !rc && i < sizeof a / sizeof a[0]; i++)
        rc = buf(st, a[i].d, a[i].n, err);
    if (!rc)
        rc = cu_blas_create(&st->h, &st->blas, &st->has_blas, err);
    if (!rc && st->dt != NN_F32)
        rc = make_plans(st, err);
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
    const wn_model *m = &st->m;
    long long want = m->batch * m->n_mels * m->frames;
    if (in->dtype != SONO_F32 || sono_buf_elems(in) != want)
        return sono_fail(err, SONO_EINVAL, "%s: input must be f32 with %lld values, got %lld",
                         st->h.label, want, sono_buf_elems(in));
    cu_range_push(&st->h, "load");
    int rc = CU_OK(cudaMemcpyAsync(st->x, in->data, (size_t)want * sizeof(float),
                                   cudaMemcpyHostToDevice, st->h.dev->stream), st->h.label,
                   err);
    if (!rc)
        rc = CU_OK(cudaStreamSynchronize(st->h.dev->stream), st->h.label, err);
    cu_range_pop();
    return rc;
}

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

/* y [R][O] (beta 0: =, 1: +=) x [R][I] w[O][I]^T, row-major: column-major y^T = w x^T.
 * Issue 26: at a reduced dtype x is rounded into xdt and the shape's plan runs. */
static int gemm(state *st, const float *x, long long R, int I, const float *w, int O, float *y,
                float beta)
{
    const float one = 1.0f;
    if (st->dt != NN_F32) {
        const long long want[3] = {R, O, I};
        int j = 0;
        while (j < st->nplans && memcmp(st->shape[j], want, sizeof want))
            j++;
        if (j == st->nplans) {
            snprintf(st->h.msg, sizeof st->h.msg, "gemm_dt: no plan for [%lld x %d x %d]", R,
                     O, I);
            return SONO_EINTERNAL;
        }
        TRY(cu_gdt_convert_launch(x, st->xdt, R * I, st->dt, st->h.dev->stream));
        TRYB(gdt_matmul(&st->lt, &st->plans[j], 1.0f, st->xdt, w, beta, y, st->h.dev->stream));
        return 0;
    }
    TRYB(cublasSgemm(st->blas, CUBLAS_OP_T, CUBLAS_OP_N, O, (int)R, I, &one, w, I, x, I,
                     &beta, y, O));
    return 0;
}

/* One clip's attention over all heads: S_j = q_j k_j^T / sqrt(dh) (S row-major [T][T] per
 * head, column-major S^T = k_j q_j^T), softmax rows, o_j = S_j v_j (o^T = v_j^T S_j^T). */
static int attention(state *st, const float *q, const float *k, const float *v, float *o)
{
    const wn_model *m = &st->m;
    int T = (int)m->T, D = m->d, dh = m->dh;
    const float scale = 1.0f / sqrtf((float)dh), one = 1.0f, zero = 0.0f;
    long long TT = (long long)T * T;
    TRYB(cublasSgemmStridedBatched(st->blas, CUBLAS_OP_T, CUBLAS_OP_N, T, T, dh, &scale, k, D,
                                   dh, q, D, dh, &zero, st->S, T, TT, m->heads));
    TRY(cu_wh_softmax_launch(st->S, (long long)m->heads * T, T, st->h.dev->stream));
    TRYB(cublasSgemmStridedBatched(st->blas, CUBLAS_OP_N, CUBLAS_OP_N, dh, T, T, &one, v, D,
                                   dh, st->S, T, TT, &zero, o, D, dh, m->heads));
    return 0;
}

static int wh_cuda_run(void *vst)
{
    state *st = vst;
    const wn_model *m = &st->m;
    cudaStream_t cs = st->h.dev->stream;
    long long B = m->batch, F = m->frames, T = m->T, BT = B * T;
    int D = m->d, M = m->n_mels, rc;
    /* the stem over every clip: im2col, SGEMM, bias + GELU (+ positions after conv2) */
    TRY(cu_wh_col1_launch(st->x, B, M, F, st->col, cs));
    if ((rc = gemm(st, st->col, B * F, 3 * M, st->c1w, D, st->a1, 0.0f)))
        return rc;
    TRY(cu_wh_bias_gelu_launch(st->a1, st->c1b, B * F, D, NULL, 1, cs));
    TRY(cu_wh_col2_launch(st->a1, B, D, F, T, st->col, cs));
    if ((rc = gemm(st, st->col, BT, 3 * D, st->c2w, D, st->hid, 0.0f)))
        return rc;
    TRY(cu_wh_bias_gelu_launch(st->hid, st->c2b, BT, D, st->pos, T, cs));
    for (int l = 0; l < m->layers; l++) {
        const dblock *w = &st->b[l];
        TRY(cu_wh_layernorm_launch(st->hid, BT, D, w->ln1g, w->ln1b, st->u, cs));
        if ((rc = gemm(st, st->u, BT, D, w->wq, D, st->q, 0.0f)) ||
            (rc = gemm(st, st->u, BT, D, w->wk, D, st->k, 0.0f)) ||
            (rc = gemm(st, st->u, BT, D, w->wv, D, st->v, 0.0f)))
            return rc;
        TRY(cu_wh_bias_launch(st->q, w->bq, BT, D, cs));
        TRY(cu_wh_bias_launch(st->v, w->bv, BT, D, cs));
        for (long long b = 0; b < B; b++) {
            size_t off = (size_t)(b * T) * (size_t)D;
            if ((rc = attention(st, st->q + off, st->k + off, st->v + off, st->o + off)))
                return rc;
        }
        if ((rc = gemm(st, st->o, BT, D, w->wo, D, st->hid, 1.0f)))
            return rc;
        TRY(cu_wh_bias_launch(st->hid, w->bo, BT, D, cs));
        TRY(cu_wh_layernorm_launch(st->hid, BT, D, w->ln2g, w->ln2b, st->u, cs));
        if ((rc = gemm(st, st->u, BT, D, w->w1, m->ffn, st->f, 0.0f)))
            return rc;
        TRY(cu_wh_bias_gelu_launch(st->f, w->b1, BT, m->ffn, NULL, 1, cs));
        if ((rc = gemm(st, st->f, BT, m->ffn, w->w2, D, st->hid, 1.0f)))
            return rc;
        TRY(cu_wh_bias_launch(st->hid, w->b2, BT, D, cs));
    }
    TRY(cu_wh_layernorm_launch(st->hid, BT, D, st->lng, st->lnb, st->out, cs));
    return 0;
}

static int store(void *vst, sono_buf *out, sono_error *err)
{
    state *st = vst;
    size_t n = (size_t)(st->m.batch * st->m.T * st->m.d);
    if (out->dtype != SONO_F32 || (size_t)sono_buf_elems(out) != n)
        return sono_fail(err, SONO_EINVAL, "%s: output must be f32 with %zu values",
                         st->h.label, n);
    cu_range_push(&st->h, "store");
    int rc = CU_OK(cudaMemcpyAsync(out->data, st->out, n * sizeof(float),
                                   cudaMemcpyDeviceToHost, st->h.dev->stream), st->h.label,
                   err);
    if (!rc)
        rc = CU_OK(cudaStreamSynchronize(st->h.dev->stream), st->h.label, err);
    cu_range_pop();
    return rc;
}

static int describe(void *vst, char *buf, size_t n)
{
    const state *st = vst;
    static const char *const dts[] = {"", "TF32 (FP32 in, CUBLAS_COMPUTE_32F_FAST_TF32)",
                                      "BF16", "FP16"};
    if (st->dt != NN_F32) { /* issue 26 */
        snprintf(buf, n, "weights on the device: %s (names %s); linear layers and im2col "
                 "stem as cublasLtMatmul in %s (weights converted at setup, activations by a "
                 "rounding kernel before each; FP32 out and accumulation; %d plans chosen at "
                 "setup); attention's strided-batched SGEMMs, LayerNorm, bias+GELU, softmax "
                 "in FP32; d=%d, %d layers, %lld frames x %lld clips", st->m.path,
                 st->m.prefix, dts[st->dt], st->nplans, st->m.d, st->m.layers, st->m.frames,
                 st->m.batch);
        return 0;
    }
    snprintf(buf, n, "weights on the device: %s (names %s); cublasSgemm linear layers and "
             "im2col stem, strided-batched SGEMM attention per clip, own LayerNorm, "
             "bias+GELU, softmax kernels; d=%d, %d layers, %lld frames x %lld clips, FP32",
             st->m.path, st->m.prefix, st->m.d, st->m.layers, st->m.frames, st->m.batch);
    return 0;
}

static size_t workspace(void *vst)
{
    const state *st = vst;
    return sizeof *st + st->dev_bytes;
}

const sono_impl cu_whisper_impls[1] = {
    {.abi = SONO_ABI_VERSION, .op = "whisper.encoder", .name = "whisper",
     .summary = "Whisper encoder on the GPU: cuBLAS SGEMMs, own LayerNorm, GELU, softmax and "
                "conv-stem kernels; weights uploaded in setup; dtype tf32|bf16|f16 linear "
                "layers through cuBLASLt",
     .device = "cuda:0", .growth = SONO_ERR_LOG, .supports = supports, .setup = setup,
     .load = load, .run = wh_cuda_run, .store = store, .teardown = teardown,
     .describe = describe, .workspace = workspace},
};
