/* sgemm.c — cuda/cublas for op "sgemm" (C = A B, row-major float32): one cublasSgemm in
 * plain FP32 (no TF32), so a suite can put cuBLAS's FLOP/s beside the GEMM-shaped cuda
 * rungs (vq-cublas, conv-im2col, attn-naive) in the same run: the achieved-vs-peak
 * figure of issue 11, until `harness calibrate` measures the GPU itself. */
#include <stdlib.h>

#include "cu.h"
#include "cuda_impls.h"

typedef struct state {
    cu_hdr h; /* first: the device's time_runs reads it */
    long long m, n, k;
    float *a, *c; /* device: A then B in one buffer (as the op packs them), C */
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
    return cu_supports_common(p, 4.0 * ((double)(m * k) + (double)(k * n) + (double)(m * n)),
                              why, len);
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
    if ((rc = cu_hdr_init(&st->h, "sgemm", "cublas", sgemm_run, p, err)))
        goto fail;
    cu_range_push(&st->h, "setup");
    const char *who = st->h.label;
    if (!(rc = cu_alloc((void **)&st->a, (size_t)(st->m * st->k + st->k * st->n) *
                        sizeof(float), who, err)) &&
        !(rc = cu_alloc((void **)&st->c, (size_t)(st->m * st->n) * sizeof(float), who, err)))
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
    (void)vst;
    snprintf(buf, n, "cublasSgemm, CUBLAS_DEFAULT_MATH (FP32, no TF32), beta = 0");
    return 0;
}

static size_t workspace(void *vst)
{
    const state *st = vst;
    return sizeof *st +
           (size_t)(st->m * st->k + st->k * st->n + st->m * st->n) * sizeof(float);
}

const sono_impl cu_sgemm_impls[1] = {
    {.abi = SONO_ABI_VERSION, .op = "sgemm", .name = "cublas",
     .summary = "cuBLAS cublasSgemm, FP32 (no TF32), row-major via C^T = B^T A^T",
     .device = "cuda:0", .growth = SONO_ERR_LINEAR, .supports = supports, .setup = setup,
     .load = load, .run = sgemm_run, .store = store, .teardown = teardown,
     .describe = describe, .workspace = workspace,
     .role = SONO_ROLE_PEAK_FLOPS}, /* harness calibrate's device peak */
};
