/* vqste.c — cuda/ste for vq.ste (layouts: harness/ops/ref/vqste64.h): the codebook norms
 * and the argmin of ||e||^2 - 2 x.e over cuBLAS SGEMM blocks (vq_kernels.cu's, as
 * cuda/cublas of vq.encode), then vqste_kernels.cu: the straight-through forward and
 * backward, the cluster sums by atomics, the EMA update and restarts. Setup allocates, load
 * uploads, run computes, store downloads the whole output. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include <cublas_v2.h>

#include "cu.h"
#include "cuda_impls.h"
#include "vq_kernels.h"
#include "vqste_kernels.h"

#define ROWS 4096 /* vectors per SGEMM block: a 4096 x K score block (16 MiB at K 1024) */

typedef struct ste_state {
    cu_hdr h; /* first: the device's time_runs reads it */
    long long K, D, N, nin, nout;
    float beta, decay, eps, dead;
    unsigned long long seed;
    float *in, *out, *cn, *g, *nk, *sk, *acc;
    int *codes;
    cublasHandle_t blas;
    int has_blas;
} ste_state;

static void shape(const sono_params *p, ste_state *s)
{
    s->K = sono_param_int(p, "K", 1024);
    s->D = sono_param_int(p, "D", 128);
    s->N = sono_param_int(p, "N", 4800);
    s->beta = (float)sono_param_real(p, "beta", 0.25);
    s->decay = (float)sono_param_real(p, "decay", 0.99);
    s->eps = (float)sono_param_real(p, "eps", 1e-5);
    s->dead = (float)sono_param_real(p, "dead", 2);
    s->seed = (unsigned long long)sono_param_int(p, "seed", 1);
    s->nin = 2 * s->K * s->D + s->K + 2 * s->N * s->D;
    s->nout = s->N + 2 * s->N * s->D + 2 + 2 * s->K * s->D;
}

static double dev_bytes(const ste_state *s)
{
    long long rows = s->N < ROWS ? s->N : ROWS;
    return 4.0 * (double)(s->nin + s->nout + s->K + rows * s->K + 2 * s->K + s->K * s->D + 2 +
                          s->N);
}

static int supports(const void *ctx, const sono_params *p, char *why, size_t n)
{
    (void)ctx;
    ste_state s;
    shape(p, &s);
    if (s.K > INT_MAX / 2 || s.D > INT_MAX / 2 || s.N > INT_MAX / 2) {
        snprintf(why, n, "K=%lld D=%lld N=%lld beyond int", s.K, s.D, s.N);
        return SONO_EUNSUPPORTED;
    }
    return cu_supports_common(p, dev_bytes(&s), why, n);
}

static void teardown(void *vst)
{
    ste_state *st = vst;
    if (!st)
        return;
    if (st->has_blas)
        cublasDestroy(st->blas);
    cu_free(st->in);
    cu_free(st->out);
    cu_free(st->cn);
    cu_free(st->g);
    cu_free(st->nk);
    cu_free(st->sk);
    cu_free(st->acc);
    cu_free(st->codes);
    free(st);
}

static int ste_run(void *vst);

static int setup(const void *ctx, const sono_params *p, void **stp, sono_error *err)
{
    char why[256];
    int rc;
    *stp = NULL;
    if ((rc = supports(ctx, p, why, sizeof why)) < 0)
        return sono_fail(err, rc, "cuda/ste: %s", why);
    ste_state *st = calloc(1, sizeof *st);
    if (!st)
        return sono_fail(err, SONO_ENOMEM, "cuda/ste: cannot allocate its state");
    shape(p, st);
    if ((rc = cu_hdr_init(&st->h, "vq.ste", "ste", ste_run, p, err)))
        goto fail;
    cu_range_push(&st->h, "setup");
    const char *who = st->h.label;
    long long rows = st->N < ROWS ? st->N : ROWS;
    if (!(rc = cu_alloc((void **)&st->in, (size_t)st->nin * 4, who, err)) &&
        !(rc = cu_alloc((void **)&st->out, (size_t)st->nout * 4, who, err)) &&
        !(rc = cu_alloc((void **)&st->cn, (size_t)st->K * 4, who, err)) &&
        !(rc = cu_alloc((void **)&st->g, (size_t)(rows * st->K) * 4, who, err)) &&
        !(rc = cu_alloc((void **)&st->nk, (size_t)(2 * st->K) * 4, who, err)) &&
        !(rc = cu_alloc((void **)&st->sk, (size_t)(st->K * st->D) * 4, who, err)) &&
        !(rc = cu_alloc((void **)&st->acc, 2 * 4, who, err)) &&
        !(rc = cu_alloc((void **)&st->codes, (size_t)st->N * sizeof(int), who, err)))
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
    ste_state *st = vst;
    if (in->dtype != SONO_F32 || sono_buf_elems(in) != st->nin ||
        in->nbytes < (size_t)st->nin * 4)
        return sono_fail(err, SONO_EINVAL, "%s: input must be f32 [%lld]; got dtype %d, %lld "
                         "elements", st->h.label, st->nin, (int)in->dtype, sono_buf_elems(in));
    cu_range_push(&st->h, "load");
    cudaStream_t s = st->h.dev->stream;
    int rc = CU_OK(cudaMemcpyAsync(st->in, in->data, (size_t)st->nin * 4,
                                   cudaMemcpyHostToDevice, s), st->h.label, err);
    if (!rc)
        rc = CU_OK(cudaStreamSynchronize(s), st->h.label, err);
    cu_range_pop();
    return rc;
}

static int ste_run(void *vst)
{
    ste_state *st = vst;
    cudaStream_t s = st->h.dev->stream;
    int K = (int)st->K, D = (int)st->D;
    const float *e = st->in, *cnt0 = e + st->K * st->D, *sum0 = cnt0 + st->K,
                *x = sum0 + st->K * st->D, *g = x + st->N * st->D;
    int rc = CU_RUN(cu_vq_norms_launch(e, st->K, D, st->cn, s), &st->h);
    const float one = 1.0f, zero = 0.0f;
    /* row-major scores [m][K] = x [m][D] e^T: column-major (K x m) = op(e) x */
    for (long long n0 = 0; n0 < st->N && !rc; n0 += ROWS) {
        int m = (int)(st->N - n0 < ROWS ? st->N - n0 : ROWS);
        rc = CU_BLAS_RUN(cublasSgemm(st->blas, CUBLAS_OP_T, CUBLAS_OP_N, K, m, D, &one, e, D,
                                     x + n0 * D, D, &zero, st->g, K), &st->h);
        if (!rc)
            rc = CU_RUN(cu_vq_argmin_launch(st->g, st->cn, m, K, st->codes + n0, s), &st->h);
    }
    if (!rc)
        rc = CU_RUN(cu_ste_forward_launch(e, x, g, st->codes, st->N, K, D, st->beta, st->nk,
                                          st->sk, st->acc, st->out, s), &st->h);
    if (!rc)
        rc = CU_RUN(cu_ste_ema_launch(e, cnt0, sum0, x, st->N, K, D, st->beta, st->decay,
                                      st->eps, st->dead, st->seed, st->nk, st->sk, st->acc,
                                      st->out, s), &st->h);
    return rc;
}

static int store(void *vst, sono_buf *out, sono_error *err)
{
    ste_state *st = vst;
    size_t need = (size_t)st->nout * 4;
    if (out->dtype != SONO_F32 || out->nbytes < need)
        return sono_fail(err, SONO_EINVAL, "%s: output must be f32 [%lld]", st->h.label,
                         st->nout);
    cu_range_push(&st->h, "store");
    cudaStream_t s = st->h.dev->stream;
    int rc = CU_OK(cudaMemcpyAsync(out->data, st->out, need, cudaMemcpyDeviceToHost, s),
                   st->h.label, err);
    if (!rc)
        rc = CU_OK(cudaStreamSynchronize(s), st->h.label, err);
    cu_range_pop();
    return rc;
}

static int describe(void *vst, char *buf, size_t n)
{
    const ste_state *st = vst;
    snprintf(buf, n, "cublasSgemm (FP32) of %d-row blocks + warp-per-row argmin; STE, cluster "
             "sums by atomicAdd, EMA and restarts in element-wise kernels; K=%lld D=%lld",
             ROWS, st->K, st->D);
    return 0;
}

static size_t workspace(void *vst)
{
    return sizeof(ste_state) + (size_t)dev_bytes(vst);
}

const sono_impl cu_vqste_impls[1] = {
    {.abi = SONO_ABI_VERSION, .op = "vq.ste", .name = "ste",
     .summary = "cuBLAS distances + argmin, STE and EMA kernels, cluster sums by atomics",
     .device = "cuda:0", .growth = SONO_ERR_LINEAR, .ctx = NULL, .supports = supports,
     .setup = setup, .load = load, .run = ste_run, .store = store, .teardown = teardown,
     .describe = describe, .workspace = workspace},
};
