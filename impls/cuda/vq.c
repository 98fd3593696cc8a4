/* vq.c — cuda/vq-cublas and cuda/vq-fused for vq.encode and rvq.encode, cuda/gather for
 * rvq.decode (layouts: harness/ops/vq.c, rvq.c). Setup allocates, load uploads the input
 * and computes the codebook norms (they depend on the codebooks only, so untimed, as
 * blas/gemm does); run quantises stage by stage: the nearest code minimises ||c||^2 -
 * 2 x.c, from one SGEMM of the residuals against the codebook plus an argmin kernel
 * (cublas) or from one kernel with codebook tiles in shared memory (fused), then the
 * chosen codewords are subtracted for the next stage. Decode gathers and adds. */
#include <limits.h>
#include <math.h>
#include <stdlib.h>

#include "cu.h"
#include "cuda_impls.h"
#include "fa2_kernels.h"
#include "nndtype.h"
#include "vq_kernels.h"
#include "vq_math.h"

/* The score block of the cuBLAS variant: at most 2^26 floats (256 MiB) of x.c at once. */
#define SCORE_FLOATS (1LL << 26)

typedef struct variant {
    const char *op, *impl;
    int kind;  /* 0 vq.encode, 1 rvq.encode, 2 rvq.decode */
    int fused; /* encode: the one-kernel search instead of SGEMM + argmin */
} variant;

static const variant v_vq_cublas = {"vq.encode", "vq-cublas", 0, 0};
static const variant v_vq_fused = {"vq.encode", "vq-fused", 0, 1};
static const variant v_rvq_cublas = {"rvq.encode", "vq-cublas", 1, 0};
static const variant v_rvq_fused = {"rvq.encode", "vq-fused", 1, 1};
static const variant v_rvq_decode = {"rvq.decode", "gather", 2, 0};

typedef struct state {
    cu_hdr h; /* first: the device's time_runs reads it */
    const variant *v;
    long long K, D, T, n_q, rows; /* rows: residuals per SGEMM block */
    size_t in_floats, out_bytes;
    float *in;   /* device: the whole input (decode: codebooks only) */
    float *cn;   /* [n_q, K] norms */
    float *r;    /* [T, D] residuals (rvq encode) or the decoded output */
    float *g;    /* [rows, K] dot products (cublas) */
    int *codes;  /* [n_q, T] */
    cublasHandle_t blas;
    int has_blas;
    int dt;      /* issue 26: NN_F32.. ; vq-cublas on vq.encode only */
    void *in16;  /* device: the input in 16-bit storage (bf16, f16) */
} state;

static void dims(const variant *v, const sono_params *p, long long *K, long long *D,
                 long long *T, long long *q)
{
    *K = sono_param_int(p, "K", 1024);
    *D = sono_param_int(p, "D", 128);
    *T = sono_param_int(p, "T", 750);
    *q = v->kind ? sono_param_int(p, "n_q", 8) : 1;
}

/* Device bytes of the case: the input, norms, residuals, scores and codes. */
static double dev_bytes(const variant *v, long long K, long long D, long long T, long long q)
{
    double b = 4.0 * ((double)(q * K * D) + (double)(T * D) + (double)(q * T));
    if (v->kind == 2)
        return b + 4.0 * (double)(T * D);
    b += 4.0 * (double)(q * K) + 4.0 * (double)(T * D);
    if (!v->fused) {
        double rows = (double)(SCORE_FLOATS / K < T ? SCORE_FLOATS / K : T);
        b += 4.0 * rows * (double)K;
    }
    return b;
}

static int supports(const void *ctx, const sono_params *p, char *why, size_t n)
{
    const variant *v = ctx;
    long long K, D, T, q;
    /* issue 26: vq-cublas on vq.encode takes every dtype (cublasGemmEx on tensor cores);
     * the rest are float32 kernels, and rvq's residuals are float32 between stages */
    if (v != &v_vq_cublas &&
        nn_dtype_f32_only(p, "cuda/vq-cublas takes the dtypes on vq.encode", why, n))
        return SONO_EUNSUPPORTED;
    dims(v, p, &K, &D, &T, &q);
    /* cuBLAS and the kernels take K, D as int; codes are int32 */
    if (K < 1 || D < 1 || T < 1 || q < 1 || q > 64 || K > INT_MAX / 2 || D > INT_MAX / 2 ||
        T > (1LL << 40) / D || K > (1LL << 40) / D) {
        snprintf(why, n, "K=%lld D=%lld T=%lld n_q=%lld out of range", K, D, T, q);
        return SONO_EUNSUPPORTED;
    }
    return cu_supports_common(p, dev_bytes(v, K, D, T, q), why, n);
}

static void teardown(void *vst)
{
    state *st = vst;
    if (!st)
        return;
    if (st->has_blas)
        (void)cublasDestroy(st->blas);
    cu_free(st->in);
    cu_free(st->in16);
    cu_free(st->cn);
    cu_free(st->r);
    cu_free(st->g);
    cu_free(st->codes);
    free(st);
}

static int vq_run(void *vst);

static int setup(const void *ctx, const sono_params *p, void **stp, sono_error *err)
{
    const variant *v = ctx;
    char why[256];
    int rc;
    *stp = NULL;
    if ((rc = supports(ctx, p, why, sizeof why)) < 0)
        return sono_fail(err, rc, "cuda/%s: %s", v->impl, why);
    state *st = calloc(1, sizeof *st);
    if (!st)
        return sono_fail(err, SONO_ENOMEM, "cuda/%s: cannot allocate its state", v->impl);
    st->v = v;
    st->dt = nn_dtype(p);
    dims(v, p, &st->K, &st->D, &st->T, &st->n_q);
    long long K = st->K, D = st->D, T = st->T, q = st->n_q;
    int dec = v->kind == 2;
    st->in_floats = (size_t)(q * K * D + (dec ? 0 : T * D));
    st->out_bytes = dec ? (size_t)(T * D) * sizeof(float) : (size_t)(q * T) * sizeof(int);
    st->rows = SCORE_FLOATS / K < T ? SCORE_FLOATS / K : T;
    if ((rc = cu_hdr_init(&st->h, v->op, v->impl, vq_run, p, err)))
        goto fail;
    cu_range_push(&st->h, "setup");
    const char *who = st->h.label;
    if (!(rc = cu_alloc((void **)&st->in, st->in_floats * sizeof(float), who, err)) &&
        !(rc = cu_alloc((void **)&st->codes, (size_t)(q * T) * sizeof(int), who, err)) &&
        (dec || q > 1))
        rc = cu_alloc((void **)&st->r, (size_t)(T * D) * sizeof(float), who, err);
    if (!rc && !dec)
        rc = cu_alloc((void **)&st->cn, (size_t)(q * K) * sizeof(float), who, err);
    if (!rc && (st->dt == NN_BF16 || st->dt == NN_F16))
        rc = cu_alloc(&st->in16, st->in_floats * 2, who, err);
    if (!rc && !dec && !v->fused) {
        rc = cu_alloc((void **)&st->g, (size_t)(st->rows * K) * sizeof(float), who, err);
        if (!rc)
            rc = cu_blas_create(&st->h, &st->blas, &st->has_blas, err);
    }
    if (!rc)
        rc = CU_OK(cudaDeviceSynchronize(), who, err);
    cu_range_pop();
    if (rc)
        goto fail;
    *stp = st;
    return 0;
fail:
    teardown(st);
    return rc;
}

/* Decode's codes arrive as exact float integers: checked here, uploaded as int32. */
static int upload_codes(state *st, const float *f, sono_error *err)
{
    long long n = st->n_q * st->T;
    int *c = malloc((size_t)n * sizeof *c);
    if (!c)
        return sono_fail(err, SONO_ENOMEM, "%s: no memory for %lld codes", st->h.label, n);
    for (long long i = 0; i < n; i++) {
        if (!(f[i] >= 0 && f[i] < (float)st->K && f[i] == floorf(f[i]))) {
            free(c);
            return sono_fail(err, SONO_EINVAL, "%s: code %lld of the input is %g, not an "
                             "integer in [0, %lld)", st->h.label, i, (double)f[i], st->K);
        }
        c[i] = (int)f[i];
    }
    int rc = CU_OK(cudaMemcpy(st->codes, c, (size_t)n * sizeof *c, cudaMemcpyHostToDevice),
                   st->h.label, err);
    free(c);
    return rc;
}

static int load(void *vst, const sono_buf *in, sono_error *err)
{
    state *st = vst;
    long long K = st->K, D = st->D, T = st->T, q = st->n_q, ncb = q * K * D;
    int dec = st->v->kind == 2;
    long long need = ncb + (dec ? q * T : 0) + T * D;
    if (in->dtype != SONO_F32 || sono_buf_elems(in) != need ||
        in->nbytes < (size_t)need * sizeof(float))
        return sono_fail(err, SONO_EINVAL, "%s: input must be f32 [%lld] (codebooks%s then "
                         "vectors); got dtype %d, %lld elements", st->h.label, need,
                         dec ? ", codes" : "", (int)in->dtype, sono_buf_elems(in));
    cu_range_push(&st->h, "load");
    cudaStream_t s = st->h.dev->stream;
    int rc = CU_OK(cudaMemcpyAsync(st->in, in->data, st->in_floats * sizeof(float),
                                   cudaMemcpyHostToDevice, s), st->h.label, err);
    if (!rc && dec)
        rc = upload_codes(st, (const float *)in->data + ncb, err);
    if (!rc && !dec)
        rc = CU_OK(cu_vq_norms_launch(st->in, q * K, (int)D, st->cn, s), st->h.label, err);
    if (!rc && st->in16) /* exact: the op rounded the values to the dtype */
        rc = CU_OK(cu_fa2_convert(st->in, st->in16, (long long)st->in_floats,
                                  st->dt == NN_BF16 ? FA2_BF16 : FA2_F16, s), st->h.label, err);
    if (!rc)
        rc = CU_OK(cudaStreamSynchronize(s), st->h.label, err);
    cu_range_pop();
    return rc;
}

/* One stage's codes for the T vectors at x: SGEMM blocks of rows then argmin, or fused. */
static int search(state *st, const float *book, const float *cn, const float *x, int *codes)
{
    int K = (int)st->K, D = (int)st->D;
    cudaStream_t s = st->h.dev->stream;
    if (st->v->fused)
        return CU_RUN(cu_vq_fused_launch(book, cn, x, st->T, K, D, codes, s), &st->h);
    /* row-major g [m][K] = x [m][D] book^T is column-major g (K x m) = op(book) x:
     * row-major book [K][D] reads column-major as D x K (so OP_T), x as D x m */
    const float one = 1.0f, zero = 0.0f;
    /* issue 26: the same product on tensor cores, float32 out (vq.encode: one stage, so
     * book and x are the input's codebook and vectors, at the same offsets in in16) */
    cudaDataType_t t = st->dt == NN_BF16 ? CUDA_R_16BF : st->dt == NN_F16 ? CUDA_R_16F
                                                                          : CUDA_R_32F;
    size_t es = st->in16 ? 2 : 4;
    const char *b16 = st->in16 ? (const char *)st->in16 + (size_t)(book - st->in) * 2
                               : (const char *)book;
    const char *x16 = st->in16 ? (const char *)st->in16 + (size_t)(x - st->in) * 2
                               : (const char *)x;
    cublasComputeType_t ct =
        st->dt == NN_TF32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
    for (long long t0 = 0; t0 < st->T; t0 += st->rows) {
        int m = (int)(st->T - t0 < st->rows ? st->T - t0 : st->rows);
        int rc = st->dt == NN_F32
                     ? CU_BLAS_RUN(cublasSgemm(st->blas, CUBLAS_OP_T, CUBLAS_OP_N, K, m, D,
                                               &one, book, D, x + t0 * D, D, &zero, st->g, K),
                                   &st->h)
                     : CU_BLAS_RUN(cublasGemmEx(st->blas, CUBLAS_OP_T, CUBLAS_OP_N, K, m, D,
                                                &one, b16, t, D, x16 + (size_t)(t0 * D) * es,
                                                t, D, &zero, st->g, CUDA_R_32F, K, ct,
                                                CUBLAS_GEMM_DEFAULT), &st->h);
        if (!rc)
            rc = CU_RUN(cu_vq_argmin_launch(st->g, cn, m, K, codes + t0, s), &st->h);
        if (rc)
            return rc;
    }
    return 0;
}

static int vq_run(void *vst)
{
    state *st = vst;
    long long K = st->K, D = st->D, T = st->T, q = st->n_q, ncb = q * K * D;
    cudaStream_t s = st->h.dev->stream;
    int rc;
    if (st->v->kind == 2)
        return CU_RUN(cu_vq_gather_launch(st->in, st->codes, (int)q, (int)K, T, (int)D, st->r,
                                          s), &st->h);
    const float *x = st->in + ncb;
    if (q > 1) { /* the residual starts as the vectors; stage 0 could read x itself */
        if ((rc = CU_RUN(cudaMemcpyAsync(st->r, x, (size_t)(T * D) * sizeof(float),
                                         cudaMemcpyDeviceToDevice, s), &st->h)))
            return rc;
        x = st->r;
    }
    for (long long stage = 0; stage < q; stage++) {
        const float *book = st->in + stage * K * D;
        int *codes = st->codes + stage * T;
        if ((rc = search(st, book, st->cn + stage * K, x, codes)))
            return rc;
        if (stage + 1 < q &&
            (rc = CU_RUN(cu_vq_subtract_launch(st->r, book, codes, T, (int)D, s), &st->h)))
            return rc;
    }
    return 0;
}

static int store(void *vst, sono_buf *out, sono_error *err)
{
    state *st = vst;
    int dec = st->v->kind == 2;
    if (out->dtype != (dec ? SONO_F32 : SONO_I32) || out->nbytes < st->out_bytes)
        return sono_fail(err, SONO_EINVAL, "%s: output must be %s (%zu bytes); got dtype "
                         "%d, %zu bytes", st->h.label, dec ? "f32 [T, D]" : "i32 [n_q, T]",
                         st->out_bytes, (int)out->dtype, out->nbytes);
    cu_range_push(&st->h, "store");
    cudaStream_t s = st->h.dev->stream;
    int rc = CU_OK(cudaMemcpyAsync(out->data, dec ? (void *)st->r : (void *)st->codes,
                                   st->out_bytes, cudaMemcpyDeviceToHost, s), st->h.label, err);
    if (!rc)
        rc = CU_OK(cudaStreamSynchronize(s), st->h.label, err);
    cu_range_pop();
    return rc;
}

static int describe(void *vst, char *buf, size_t n)
{
    const state *st = vst;
    if (st->v->kind == 2)
        snprintf(buf, n, "gather-add kernel, one thread per output value, n_q=%lld",
                 st->n_q);
    else if (st->v->fused)
        snprintf(buf, n, "fused kernel: %d vectors x %d codewords per block (4 x 4 per "
                 "thread), D staged %d at a time in shared memory, running argmin; n_q=%lld",
                 VQ_BV, VQ_BK, VQ_DC, st->n_q);
    else if (st->dt != NN_F32) /* issue 26 */
        snprintf(buf, n, "cublasGemmEx (%s in, FP32 out and accumulation, tensor cores) of "
                 "%lld-row blocks + warp-per-row argmin kernel; norms from the rounded "
                 "codebook in FP32", st->dt == NN_BF16 ? "BF16" : st->dt == NN_F16 ? "FP16"
                                                                                   : "TF32",
                 st->rows);
    else
        snprintf(buf, n, "cublasSgemm (FP32) of %lld-row blocks + warp-per-row argmin "
                 "kernel; n_q=%lld", st->rows, st->n_q);
    return 0;
}

static size_t workspace(void *vst)
{
    const state *st = vst;
    return sizeof *st + (size_t)dev_bytes(st->v, st->K, st->D, st->T, st->n_q);
}

#define VQ_IMPL(OP, NAME, CTX, SUMMARY)                                                      \
    {.abi = SONO_ABI_VERSION, .op = OP, .name = NAME, .summary = SUMMARY,                    \
     .device = "cuda:0", .growth = SONO_ERR_LINEAR, .ctx = &(CTX), .supports = supports,   \
     .setup = setup, .load = load, .run = vq_run, .store = store, .teardown = teardown,   \
     .describe = describe, .workspace = workspace}

const sono_impl cu_vq_impls[5] = {
    VQ_IMPL("vq.encode", "vq-cublas", v_vq_cublas,
            "cuBLAS SGEMM of x.c + argmin kernel of ||c||^2 - 2 x.c"),
    VQ_IMPL("vq.encode", "vq-fused", v_vq_fused,
            "one kernel: codebook tiles in shared memory, running argmin"),
    VQ_IMPL("rvq.encode", "vq-cublas", v_rvq_cublas,
            "per stage: cuBLAS SGEMM + argmin kernel, residual kernel"),
    VQ_IMPL("rvq.encode", "vq-fused", v_rvq_fused,
            "per stage: fused shared-memory search, residual kernel"),
    VQ_IMPL("rvq.decode", "gather", v_rvq_decode,
            "gather-add kernel of the n_q codewords per vector"),
};
