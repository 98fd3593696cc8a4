/* speech.c — issue 23's rungs on the GPU: cuda/cublas for wav2vec2.features (per layer an
 * im2col kernel where the kernel spans more than its stride, else the activations as the
 * matrix, one cuBLAS SGEMM, then the norm statistics and a fused norm + GELU kernel) and
 * for attention.relpos (the gates by a kernel, the scores of all heads by one strided-
 * batched SGEMM, the bias + softmax rows by a kernel, P V by a second batched SGEMM).
 * Weights are uploaded at setup, the input at load; run only enqueues. Issue 26: with
 * wav2vec2.features' dtype tf32, bf16 or f16 each layer's GEMM is gemm_dt.h's cuBLASLt
 * GEMM in that dtype (weights converted at setup, the im2col matrix or activation rounded
 * by gdt_kernels.cu before it, fp32 accumulation, a plan per layer made at setup); the
 * norms and GELU stay FP32. */
#include <stdlib.h>
#include <string.h>

#include "cu.h"
#include "cuda_impls.h"
#include "gdt_kernels.h"
#include "gemm_dt.h"
#include "nndtype.h"
#include "relpos_shape.h"
#include "sp_kernels.h"
#include "w2v_net.h"

/* ---- wav2vec2.features ----------------------------------------------------------------- */

typedef struct w2v_state {
    cu_hdr h; /* first: the device's time_runs reads it */
    w2v_net n;
    float *x, *a, *b, *col, *out;      /* device */
    float *w[W2V_LAYERS], *g[W2V_LAYERS], *bt[W2V_LAYERS]; /* device: [C][k][cin], norms */
    float *mean, *inv;                 /* device: max(T_1, C) each */
    size_t col_floats;
    cublasHandle_t blas;
    int has_blas;
    /* issue 26: at dtype != f32, w[l] holds the dtype's storage, not floats */
    int dt;
    gdt_ctx lt;
    gdt_plan plan[W2V_LAYERS];
    int nplans;
    void *xdt; /* a layer's GEMM operand in dtype: max over layers of To x K */
} w2v_state;

/* The largest im2col matrix (layers whose kernel spans more than the stride). */
static size_t w2v_col_floats(const w2v_net *n)
{
    size_t m = 0;
    for (int l = 0; l < W2V_LAYERS; l++)
        if (w2v_k[l] > w2v_s[l]) {
            size_t f = n->len[l + 1] * (size_t)w2v_k[l] * (l ? n->C : 1);
            m = f > m ? f : m;
        }
    return m;
}

static double w2v_bytes(const w2v_net *n)
{
    double C = (double)n->C;
    return 4.0 * ((double)(n->batch * n->samples) + (double)(n->len[1] + n->len[2]) * C +
                  (double)w2v_col_floats(n) + (double)(n->batch * n->frames) * C +
                  C * (10 + 16 * C) + 2.0 * (double)(n->len[1] > n->C ? n->len[1] : n->C));
}

static int w2v_supports(const void *ctx, const sono_params *p, char *why, size_t len)
{
    w2v_net n;
    (void)ctx;
    int rc = w2v_shape(p, &n, why, len);
    if (!rc && (n.len[1] * 10 > 0x7fffffff || n.C * 3 > 0x7fffffff)) {
        snprintf(why, len, "a GEMM size over 2^31 (cuBLAS takes int)");
        return SONO_EUNSUPPORTED;
    }
    return rc ? rc : cu_supports_common(p, w2v_bytes(&n), why, len);
}

static void w2v_teardown(void *vst)
{
    w2v_state *st = vst;
    if (!st)
        return;
    if (st->has_blas)
        (void)cublasDestroy(st->blas);
    for (int l = 0; l < st->nplans; l++)
        gdt_plan_free(&st->plan[l]);
    gdt_ctx_free(&st->lt);
    cu_free(st->xdt);
    cu_free(st->x);
    cu_free(st->a);
    cu_free(st->b);
    cu_free(st->col);
    cu_free(st->out);
    cu_free(st->mean);
    cu_free(st->inv);
    for (int l = 0; l < W2V_LAYERS; l++) {
        cu_free(st->w[l]);
        cu_free(st->g[l]);
        cu_free(st->bt[l]);
    }
    w2v_free(&st->n);
    free(st);
}

static int w2v_run(void *vst);

/* Upload layer l's weights reordered [C][k][cin] (so a row of the im2col matrix, k*cin
 * floats from output t's first tap, meets them in order) and its norm. */
static int w2v_upload(w2v_state *st, int l, sono_error *err)
{
    const w2v_net *n = &st->n;
    size_t C = n->C, cin = l ? C : 1, k = (size_t)w2v_k[l], nw = C * k * cin;
    float *host = malloc(nw * sizeof *host);
    if (!host)
        return sono_fail(err, SONO_ENOMEM, "%s: no host memory", st->h.label);
    for (size_t co = 0; co < C; co++)
        for (size_t ci = 0; ci < cin; ci++)
            for (size_t j = 0; j < k; j++)
                host[(co * k + j) * cin + ci] = n->w[l][(co * cin + ci) * k + j];
    const char *who = st->h.label;
    int rc;
    if (st->dt != NN_F32) { /* issue 26: converted once, here */
        void *d = NULL;
        rc = gdt_upload(host, nw, st->dt, &d, NULL, who, err);
        st->w[l] = d;
    } else if (!(rc = cu_alloc((void **)&st->w[l], nw * sizeof(float), who, err)))
        rc = CU_OK(cudaMemcpy(st->w[l], host, nw * sizeof(float), cudaMemcpyHostToDevice), who,
                   err);
    free(host);
    if (!rc && n->gamma[l]) {
        if (!(rc = cu_alloc((void **)&st->g[l], C * sizeof(float), who, err)) &&
            !(rc = cu_alloc((void **)&st->bt[l], C * sizeof(float), who, err)) &&
            !(rc = CU_OK(cudaMemcpy(st->g[l], n->gamma[l], C * sizeof(float),
                                    cudaMemcpyHostToDevice), who, err)))
            rc = CU_OK(cudaMemcpy(st->bt[l], n->beta[l], C * sizeof(float),
                                  cudaMemcpyHostToDevice), who, err);
    }
    return rc;
}

/* Issue 26: layer l's GEMM y [To][C] = B [To][K] W' [C][K]^T, a plan each, and the
 * buffer of the converted operand (the largest To x K). */
static int w2v_plans(w2v_state *st, sono_error *err)
{
    const w2v_net *n = &st->n;
    size_t most = 0;
    int rc = gdt_ctx_init(&st->lt, st->h.label, err);
    for (int l = 0; !rc && l < W2V_LAYERS; l++) {
        long long To = (long long)n->len[l + 1],
                  K = (long long)w2v_k[l] * (l ? (long long)n->C : 1);
        most = (size_t)(To * K) > most ? (size_t)(To * K) : most;
        /* the last layer writes clip b's rows at out + b frames C floats */
        int ad = l == W2V_LAYERS - 1 ? gdt_align_of((unsigned long long)(n->frames * n->C * 4))
                                     : 256;
        if (!(rc = gdt_plan_init(&st->lt, &st->plan[l], st->dt, To, (long long)n->C, K, 0, 1,
                                 NULL, 256, 256, ad, st->h.label, err)))
            st->nplans++;
    }
    if (!rc)
        rc = cu_alloc(&st->xdt, most * (size_t)gdt_types_of(st->dt).esize, st->h.label, err);
    return rc;
}

static int w2v_setup(const void *ctx, const sono_params *p, void **stp, sono_error *err)
{
    char why[512];
    int rc;
    *stp = NULL;
    if ((rc = w2v_supports(ctx, p, why, sizeof why)) < 0)
        return sono_fail(err, rc, "cuda/cublas wav2vec2.features: %s", why);
    w2v_state *st = calloc(1, sizeof *st);
    if (!st)
        return sono_fail(err, SONO_ENOMEM, "cuda/cublas: cannot allocate its state");
    (void)w2v_shape(p, &st->n, why, sizeof why);
    st->dt = nn_dtype(p);
    if ((rc = w2v_load(&st->n, err))) {
        free(st);
        return rc;
    }
    const w2v_net *n = &st->n;
    size_t C = n->C, rows = n->len[1] > C ? n->len[1] : C;
    st->col_floats = w2v_col_floats(n);
    if ((rc = cu_hdr_init(&st->h, "wav2vec2.features", "cublas", w2v_run, p, err)))
        goto fail;
    cu_range_push(&st->h, "setup");
    const char *who = st->h.label;
    if (!(rc = cu_alloc((void **)&st->x, n->batch * n->samples * sizeof(float), who, err)) &&
        !(rc = cu_alloc((void **)&st->a, n->len[1] * C * sizeof(float), who, err)) &&
        !(rc = cu_alloc((void **)&st->b, n->len[2] * C * sizeof(float), who, err)) &&
        !(rc = cu_alloc((void **)&st->col, st->col_floats * sizeof(float), who, err)) &&
        !(rc = cu_alloc((void **)&st->out, n->batch * n->frames * C * sizeof(float), who,
                        err)) &&
        !(rc = cu_alloc((void **)&st->mean, rows * sizeof(float), who, err)) &&
        !(rc = cu_alloc((void **)&st->inv, rows * sizeof(float), who, err)))
        for (int l = 0; l < W2V_LAYERS && !rc; l++)
            rc = w2v_upload(st, l, err);
    if (!rc)
        rc = cu_blas_create(&st->h, &st->blas, &st->has_blas, err);
    if (!rc && st->dt != NN_F32)
        rc = w2v_plans(st, err);
    if (!rc)
        rc = CU_OK(cudaDeviceSynchronize(), who, err);
    cu_range_pop();
    if (rc)
        goto fail;
    *stp = st;
    return 0;
fail:
    w2v_teardown(st);
    return rc;
}

static int w2v_load_in(void *vst, const sono_buf *in, sono_error *err)
{
    w2v_state *st = vst;
    size_t n = st->n.batch * st->n.samples;
    if (in->dtype != SONO_F32 || (size_t)sono_buf_elems(in) != n)
        return sono_fail(err, SONO_EINVAL, "%s: input must be f32 [%zu, %zu]", st->h.label,
                         st->n.batch, st->n.samples);
    cu_range_push(&st->h, "load");
    int rc = CU_OK(cudaMemcpyAsync(st->x, in->data, n * sizeof(float), cudaMemcpyHostToDevice,
                                   st->h.dev->stream), st->h.label, err);
    if (!rc)
        rc = CU_OK(cudaStreamSynchronize(st->h.dev->stream), st->h.label, err);
    cu_range_pop();
    return rc;
}

/* y [To][C] = in [Ti][cin] conv layer l, then its norm and GELU. Column-major, y^T
 * (C x To, ld C) = W'^T... : A = W' stored [C][K] (col-major K x C, transposed), B = the
 * im2col matrix [To][K] (col-major K x To). */
static int w2v_layer(w2v_state *st, int l, const float *in, float *y)
{
    const w2v_net *n = &st->n;
    cudaStream_t s = st->h.dev->stream;
    long long C = (long long)n->C, cin = l ? C : 1, k = w2v_k[l], str = w2v_s[l];
    long long To = (long long)n->len[l + 1], K = k * cin;
    const float *B = in;
    int rc;
    if (k > str) {
        if ((rc = CU_RUN(cu_w2v_im2col_launch(in, st->col, To, K, str, cin, s), &st->h)))
            return rc;
        B = st->col;
    }
    const float one = 1.0f, zero = 0.0f;
    if (st->dt != NN_F32) { /* issue 26 */
        if ((rc = CU_RUN(cu_gdt_convert_launch(B, st->xdt, To * K, st->dt, s), &st->h)) ||
            (rc = CU_BLAS_RUN(gdt_matmul(&st->lt, &st->plan[l], 1.0f, st->xdt, st->w[l], 0.0f,
                                         y, s), &st->h)))
            return rc;
    } else if ((rc = CU_BLAS_RUN(cublasSgemm(st->blas, CUBLAS_OP_T, CUBLAS_OP_N, (int)C,
                                             (int)To, (int)K, &one, st->w[l], (int)K, B,
                                             (int)K, &zero, y, (int)C), &st->h)))
        return rc;
    int mode = !n->gamma[l] ? SP_NORM_NONE : n->layer_norm ? SP_NORM_LAYER : SP_NORM_GROUP;
    if (mode != SP_NORM_NONE &&
        (rc = CU_RUN(cu_w2v_stats_launch(y, To, C, mode, st->mean, st->inv, s), &st->h)))
        return rc;
    return CU_RUN(cu_w2v_epilogue_launch(y, To, C, mode, st->mean, st->inv, st->g[l],
                                         st->bt[l], s), &st->h);
}

static int w2v_run(void *vst)
{
    w2v_state *st = vst;
    const w2v_net *n = &st->n;
    int rc = 0;
    for (size_t b = 0; b < n->batch && !rc; b++) {
        const float *in = st->x + b * n->samples;
        float *bufs[2] = {st->a, st->b};
        for (int l = 0; l < W2V_LAYERS && !rc; l++) {
            float *y = l == W2V_LAYERS - 1 ? st->out + b * n->frames * n->C : bufs[l & 1];
            rc = w2v_layer(st, l, in, y);
            in = y;
        }
    }
    return rc;
}

static int w2v_store(void *vst, sono_buf *out, sono_error *err)
{
    w2v_state *st = vst;
    size_t n = st->n.batch * st->n.frames * st->n.C;
    if (out->dtype != SONO_F32 || (size_t)sono_buf_elems(out) != n)
        return sono_fail(err, SONO_EINVAL, "%s: output must be f32 of %zu values", st->h.label,
                         n);
    cu_range_push(&st->h, "store");
    int rc = CU_OK(cudaMemcpyAsync(out->data, st->out, n * sizeof(float),
                                   cudaMemcpyDeviceToHost, st->h.dev->stream), st->h.label, err);
    if (!rc)
        rc = CU_OK(cudaStreamSynchronize(st->h.dev->stream), st->h.label, err);
    cu_range_pop();
    return rc;
}

static int w2v_describe_cu(void *vst, char *buf, size_t len)
{
    w2v_state *st = vst;
    int k = w2v_describe(&st->n, buf, len);
    static const char *const dts[] = {"", "TF32 (FP32 in, CUBLAS_COMPUTE_32F_FAST_TF32)",
                                      "BF16", "FP16"};
    if (k >= 0 && (size_t)k < len && st->dt != NN_F32) /* issue 26 */
        snprintf(buf + k, len - (size_t)k, "; im2col kernel (layers 0-4, %zu-float scratch) + "
                 "cublasLtMatmul in %s per layer (weights converted at setup, operand "
                 "rounded before each; FP32 out and accumulation; plans at setup), stats "
                 "kernel (double sums), fused norm + GELU kernel in FP32", st->col_floats,
                 dts[st->dt]);
    else if (k >= 0 && (size_t)k < len)
        snprintf(buf + k, len - (size_t)k, "; im2col kernel (layers 0-4, %zu-float scratch) + "
                 "cublasSgemm (FP32) per layer, stats kernel (double sums), fused norm + "
                 "GELU kernel", st->col_floats);
    return 0;
}

static size_t w2v_workspace(void *vst)
{
    const w2v_state *st = vst;
    return (size_t)w2v_bytes(&st->n);
}

/* ---- attention.relpos ------------------------------------------------------------------ */

typedef struct rp_state {
    cu_hdr h;
    rp_shape r;
    float *in, *sc, *gate, *out; /* device */
    int *bucket;
    cublasHandle_t blas;
    int has_blas;
} rp_state;

static double rp_bytes(const rp_shape *r)
{
    return 4.0 * ((double)r->nin + (double)r->H * (double)r->S * (double)r->S +
                  (double)(r->H * r->S) + (double)r->n + 2.0 * (double)r->S);
}

static int rp_supports(const void *ctx, const sono_params *p, char *why, size_t len)
{
    rp_shape r;
    (void)ctx;
    int rc = rp_shape_get(p, &r, why, len);
    if (!rc && (r.S > 46340 || r.H * r.S > 0x7fffffff)) {
        snprintf(why, len, "seq^2 over 2^31 (cuBLAS takes int)");
        return SONO_EUNSUPPORTED;
    }
    return rc ? rc : cu_supports_common(p, rp_bytes(&r), why, len);
}

static void rp_teardown(void *vst)
{
    rp_state *st = vst;
    if (!st)
        return;
    if (st->has_blas)
        (void)cublasDestroy(st->blas);
    cu_free(st->in);
    cu_free(st->sc);
    cu_free(st->gate);
    cu_free(st->out);
    cu_free(st->bucket);
    free(st);
}

static int rp_run(void *vst);

static int rp_setup(const void *ctx, const sono_params *p, void **stp, sono_error *err)
{
    char why[256];
    int rc;
    *stp = NULL;
    if ((rc = rp_supports(ctx, p, why, sizeof why)) < 0)
        return sono_fail(err, rc, "cuda/cublas attention.relpos: %s", why);
    rp_state *st = calloc(1, sizeof *st);
    if (!st)
        return sono_fail(err, SONO_ENOMEM, "cuda/cublas: cannot allocate its state");
    (void)rp_shape_get(p, &st->r, why, sizeof why);
    const rp_shape *r = &st->r;
    if ((rc = cu_hdr_init(&st->h, "attention.relpos", "cublas", rp_run, p, err)))
        goto fail;
    cu_range_push(&st->h, "setup");
    const char *who = st->h.label;
    if (!(rc = cu_alloc((void **)&st->in, r->nin * sizeof(float), who, err)) &&
        !(rc = cu_alloc((void **)&st->sc, r->H * r->S * r->S * sizeof(float), who, err)) &&
        !(rc = cu_alloc((void **)&st->gate, r->H * r->S * sizeof(float), who, err)) &&
        !(rc = cu_alloc((void **)&st->out, r->n * sizeof(float), who, err)) &&
        !(rc = cu_alloc((void **)&st->bucket, 2 * r->S * sizeof(int), who, err)))
        rc = cu_blas_create(&st->h, &st->blas, &st->has_blas, err);
    if (!rc)
        rc = CU_OK(cudaDeviceSynchronize(), who, err);
    cu_range_pop();
    if (rc)
        goto fail;
    *stp = st;
    return 0;
fail:
    rp_teardown(st);
    return rc;
}

static int rp_load(void *vst, const sono_buf *in, sono_error *err)
{
    rp_state *st = vst;
    if (in->dtype != SONO_F32 || (size_t)sono_buf_elems(in) != st->r.nin)
        return sono_fail(err, SONO_EINVAL, "%s: input must be f32 of %zu values", st->h.label,
                         st->r.nin);
    cu_range_push(&st->h, "load");
    int rc = CU_OK(cudaMemcpyAsync(st->in, in->data, st->r.nin * sizeof(float),
                                   cudaMemcpyHostToDevice, st->h.dev->stream), st->h.label, err);
    if (!rc)
        rc = CU_OK(cudaStreamSynchronize(st->h.dev->stream), st->h.label, err);
    cu_range_pop();
    return rc;
}

/* Row-major [S][S] scores of head h are column-major (j, i): sc = K_h^T Q_h read as
 * (T, N) of the [S][D] rows; O_h^T (D x S) = V_h^T P^T: (N, N) with P's rows as columns. */
static int rp_run(void *vst)
{
    rp_state *st = vst;
    const rp_shape *r = &st->r;
    cudaStream_t s = st->h.dev->stream;
    int H = (int)r->H, S = (int)r->S, D = (int)r->D, rc;
    const float *Q = st->in, *K = Q + r->n, *V = K + r->n, *X = V + r->n;
    const float scale = 1.0f / sqrtf((float)D), one = 1.0f, zero = 0.0f;
    long long sd = (long long)S * D, ss = (long long)S * S;
    if ((rc = CU_RUN(cu_relpos_buckets_launch(st->bucket, S, (int)r->NB, (int)r->MD, s),
                     &st->h)) ||
        (rc = CU_RUN(cu_relpos_gate_launch(X, st->in + r->oW, st->in + r->ob, st->in + r->oc,
                                           st->gate, H, S, D, s), &st->h)) ||
        (rc = CU_BLAS_RUN(cublasSgemmStridedBatched(st->blas, CUBLAS_OP_T, CUBLAS_OP_N, S, S, D,
                                                    &scale, K, D, sd, Q, D, sd, &zero, st->sc,
                                                    S, ss, H), &st->h)) ||
        (rc = CU_RUN(cu_relpos_softmax_launch(st->sc, st->gate, st->in + r->oE, st->bucket, H,
                                              S, s), &st->h)))
        return rc;
    return CU_BLAS_RUN(cublasSgemmStridedBatched(st->blas, CUBLAS_OP_N, CUBLAS_OP_N, D, S, S,
                                                 &one, V, D, sd, st->sc, S, ss, &zero, st->out,
                                                 D, sd, H), &st->h);
}

static int rp_store(void *vst, sono_buf *out, sono_error *err)
{
    rp_state *st = vst;
    if (out->dtype != SONO_F32 || (size_t)sono_buf_elems(out) != st->r.n)
        return sono_fail(err, SONO_EINVAL, "%s: output must be f32 of %zu values", st->h.label,
                         st->r.n);
    cu_range_push(&st->h, "store");
    int rc = CU_OK(cudaMemcpyAsync(out->data, st->out, st->r.n * sizeof(float),
                                   cudaMemcpyDeviceToHost, st->h.dev->stream), st->h.label, err);
    if (!rc)
        rc = CU_OK(cudaStreamSynchronize(st->h.dev->stream), st->h.label, err);
    cu_range_pop();
    return rc;
}

static int rp_describe(void *vst, char *buf, size_t len)
{
    (void)vst;
    snprintf(buf, len, "bucket and gate kernels, cublasSgemmStridedBatched (FP32) for the "
             "scores of all heads, bias + softmax kernel (a block per row), batched SGEMM for "
             "P V; scores [heads, seq, seq] in device memory");
    return 0;
}

static size_t rp_workspace(void *vst)
{
    return (size_t)rp_bytes(&((rp_state *)vst)->r);
}

const sono_impl cu_speech_impls[2] = {
    {.abi = SONO_ABI_VERSION, .op = "wav2vec2.features", .name = "cublas",
     .summary = "im2col kernel + cuBLAS SGEMM per layer, own norm-stats and norm + GELU kernels; "
                "dtype tf32|bf16|f16 GEMMs through cuBLASLt",
     .device = "cuda:0", .growth = SONO_ERR_LINEAR, .ctx = NULL, .supports = w2v_supports,
     .setup = w2v_setup, .load = w2v_load_in, .run = w2v_run, .store = w2v_store,
     .teardown = w2v_teardown, .describe = w2v_describe_cu, .workspace = w2v_workspace},
    {.abi = SONO_ABI_VERSION, .op = "attention.relpos", .name = "cublas",
     .summary = "batched cuBLAS SGEMMs, own bucket, gate and biased-softmax kernels",
     .device = "cuda:0", .growth = SONO_ERR_LINEAR, .ctx = NULL, .supports = rp_supports,
     .setup = rp_setup, .load = rp_load, .run = rp_run, .store = rp_store,
     .teardown = rp_teardown, .describe = rp_describe, .workspace = rp_workspace},
};
