/* sgemm.c — cuda/cublas for op "sgemm" (C = A B, row-major float32): one cublasSgemm in
 * plain FP32 (no TF32), so a suite can put cuBLAS's FLOP/s beside the GEMM-shaped cuda
 * rungs (vq-cublas, conv-im2col, attn-naive) in the same run: the achieved-vs-peak
 * figure of issue 11, until `harness calibrate` measures the GPU itself. Issue 26: with
 * dtype tf32, bf16 or f16, one cublasGemmEx on tensor cores (A, B in the dtype, C float32,
 * fp32 accumulation; tf32 as CUBLAS_COMPUTE_32F_FAST_TF32): calibrate's tensor-core peaks.
 * bf16/f16 inputs are converted on the device in load (exact: the op rounded them). */
#include <stdlib.h>

#include "cu.h"
#include "cuda_impls.h"
#include "fa2_kernels.h"
#include "nndtype.h"

typedef struct state {
    cu_hdr h; /* first: the device's time_runs reads it */
    long long m, n, k;
    float *a, *c; /* device: A then B in one buffer (as the op packs them), C */
    int dt;       /* issue 26: NN_F32, NN_TF32, NN_BF16, NN_F16 */
    void *a16;    /* device: A then B in 16-bit storage (bf16, f16) */
    cublasHandle_t blas;
    int has_blas;
} state;

static void dims(const sono_params *p, long long *m, long long *n, long long *k)
{
    *m = sono_param_int(p, "m", 256);
    *n = sono_param_int(p, "n", 256);
    *k = sono_param_int(p, "k", 256);
}

static int supports(const void *ctx, const sono_params *p, char *why, size_t len)
{
    long long m, n, k;
    (void)ctx;
    dims(p, &m, &n, &k);
    if (m < 1 || n < 1 || k < 1 || m > (1 << 30) || n > (1 << 30) || k > (1 << 30)) {
        snprintf(why, len, "m=%lld n=%lld k=%lld must be in [1, 2^30]", m, n, k);
        return SONO_EUNSUPPORTED;
    }
    int dt = nn_dtype(p);
    double extra = dt == NN_BF16 || dt == NN_F16 ? 2.0 * ((double)(m * k) + (double)(k * n)) : 0;
    return cu_supports_common(p, 4.0 * ((double)(m * k) + (double)(k * n) + (double)(m * n)) +
                              extra, why, len);
}

static void teardown(void *vst)
{
    state *st = vst;
    if (!st)
        return;
    if (st->has_blas)
        (void)cublasDestroy(st->blas);
    cu_free(st->a);
    cu_free(st->c);
    cu_free(st->a16);
    free(st);
}

static int sgemm_run(void *vst);

static int setup(const void *ctx, const sono_params *p, void **stp, sono_error *err)
{
    char why[256];
    int rc;
    *stp = NULL;
    if ((rc = supports(ctx, p, why, sizeof why)) < 0)
        return sono_fail(err, rc, "cuda/cublas sgemm: %s", why);
    state *st = calloc(1, sizeof *st);
    if (!st)
        return sono_fail(err, SONO_ENOMEM, "cuda/cublas: cannot allocate its state");
    dims(p, &st->m, &st->n, &st->k);
    st->dt = nn_dtype(p);
    if ((rc = cu_hdr_init(&st->h, "sgemm", "cublas", sgemm_run, p, err)))
        goto fail;
    cu_range_push(&st->h, "setup");
    const char *who = st->h.label;
    if (!(rc = cu_alloc((void **)&st->a, (size_t)(st->m * st->k + st->k * st->n) *
                        sizeof(float), who, err)) &&
        !(rc = cu_alloc((void **)&st->c, (size_t)(st->m * st->n) * sizeof(float), who, err)) &&
        !(rc = (st->dt == NN_BF16 || st->dt == NN_F16)
                   ? cu_alloc(&st->a16, (size_t)(st->m * st->k + st->k * st->n) * 2, who, err)
                   : 0))
        rc = cu_blas_create(&st->h, &st->blas, &st->has_blas, err);
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

static int load(void *vst, const sono_buf *in, sono_error *err)
{
    state *st = vst;
    long long need = st->m * st->k + st->k * st->n;
    if (in->dtype != SONO_F32 || sono_buf_elems(in) != need ||
        in->nbytes < (size_t)need * sizeof(float))
        return sono_fail(err, SONO_EINVAL, "%s: input must be f32 [m*k + k*n = %lld] (A then "
                         "B); got dtype %d, %lld elements", st->h.label, need, (int)in->dtype,
                         sono_buf_elems(in));
    cu_range_push(&st->h, "load");
    int rc = CU_OK(cudaMemcpyAsync(st->a, in->data, (size_t)need * sizeof(float),
                                   cudaMemcpyHostToDevice, st->h.dev->stream), st->h.label, err);
    if (!rc && st->a16)
        rc = CU_OK(cu_fa2_convert(st->a, st->a16, need, st->dt == NN_BF16 ? FA2_BF16 : FA2_F16,
                                  st->h.dev->stream), st->h.label, err);
    if (!rc)
        rc = CU_OK(cudaStreamSynchronize(st->h.dev->stream), st->h.label, err);
    cu_range_pop();
    return rc;
}

/* Row-major C = A B is column-major C^T = B^T A^T: B and A as they lie, n x k and k x m. */
static int sgemm_run(void *vst)
{
    state *st = vst;
    const float one = 1.0f, zero = 0.0f, *b = st->a + st->m * st->k;
    if (st->dt != NN_F32) { /* issue 26: tensor cores */
        int h = st->a16 != NULL;
        cudaDataType_t t = st->dt == NN_BF16 ? CUDA_R_16BF : st->dt == NN_F16 ? CUDA_R_16F
                                                                              : CUDA_R_32F;
        const char *a = h ? (const char *)st->a16 : (const char *)st->a;
        const char *bb = a + (size_t)(st->m * st->k) * (h ? 2 : 4);
        cublasComputeType_t ct =
            st->dt == NN_TF32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
        return CU_BLAS_RUN(cublasGemmEx(st->blas, CUBLAS_OP_N, CUBLAS_OP_N, (int)st->n,
                                        (int)st->m, (int)st->k, &one, bb, t, (int)st->n, a, t,
                                        (int)st->k, &zero, st->c, CUDA_R_32F, (int)st->n, ct,
                                        CUBLAS_GEMM_DEFAULT), &st->h);
    }
    return CU_BLAS_RUN(cublasSgemm(st->blas, CUBLAS_OP_N, CUBLAS_OP_N, (int)st->n, (int)st->m,
                                   (int)st->k, &one, b, (int)st->n, st->a, (int)st->k, &zero,
                                   st->c, (int)st->n), &st->h);
}

static int store(void *vst, sono_buf *out, sono_error *err)
{
    state *st = vst;
    size_t need = (size_t)(st->m * st->n) * sizeof(float);
    if (out->dtype != SONO_F32 || out->nbytes < need)
        return sono_fail(err, SONO_EINVAL, "%s: output must be f32 [m=%lld, n=%lld] (%zu "
                         "bytes); got dtype %d, %zu bytes", st->h.label, st->m, st->n, need,
                         (int)out->dtype, out->nbytes);
    cu_range_push(&st->h, "store");
    int rc = CU_OK(cudaMemcpyAsync(out->data, st->c, need, cudaMemcpyDeviceToHost,
                                   st->h.dev->stream), st->h.label, err);
    if (!rc)
        rc = CU_OK(cudaStreamSynchronize(st->h.dev->stream), st->h.label, err);
    cu_range_pop();
    return rc;
}

static int describe(void *vst, char *buf, size_t n)
{
    const state *st = vst;
    static const char *const dts[] = {"", "CUDA_R_32F in, CUBLAS_COMPUTE_32F_FAST_TF32",
                                      "CUDA_R_16BF in, CUDA_R_32F out, CUBLAS_COMPUTE_32F",
                                      "CUDA_R_16F in, CUDA_R_32F out, CUBLAS_COMPUTE_32F"};
    if (st->dt == NN_F32)
        snprintf(buf, n, "cublasSgemm, CUBLAS_DEFAULT_MATH (FP32, no TF32), beta = 0");
    else
        snprintf(buf, n, "cublasGemmEx on tensor cores: %s, CUBLAS_GEMM_DEFAULT, beta = 0",
                 dts[st->dt]);
    return 0;
}

static size_t workspace(void *vst)
{
    const state *st = vst;
    return sizeof *st +
           (size_t)(st->m * st->k + st->k * st->n + st->m * st->n) * sizeof(float) +
           (st->a16 ? (size_t)(st->m * st->k + st->k * st->n) * 2 : 0);
}

const sono_impl cu_sgemm_impls[1] = {
    {.abi = SONO_ABI_VERSION, .op = "sgemm", .name = "cublas",
     .summary = "cuBLAS cublasSgemm, FP32 (no TF32), row-major via C^T = B^T A^T",
     .device = "cuda:0", .growth = SONO_ERR_LINEAR, .supports = supports, .setup = setup,
     .load = load, .run = sgemm_run, .store = store, .teardown = teardown,
     .describe = describe, .workspace = workspace,
     .role = SONO_ROLE_PEAK_FLOPS}, /* harness calibrate's device peak */
};
