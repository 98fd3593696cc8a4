/* maskgit.c — cuda/maskgit for maskgit.step and maskgit.decode (layouts: harness/ops/
 * maskgit.c): the iteration as tok_kernels.cu's block-per-frame draw (the sampling kernel's
 * radix select, bitonic sort and walk) with block-reduced softmax confidences, then the
 * confidence sort in one block; decode's MLP as an embedding-sum kernel and two cuBLAS
 * SGEMMs. The host tracks how many frames are masked, so it computes each nmask. */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <cublas_v2.h>

#include "cu.h"
#include "cuda_impls.h"
#include "tok_kernels.h"
#include "tok_math.h"

typedef struct mg_state {
    cu_hdr h; /* first: the device's time_runs reads it */
    int decode;
    long long L, F, K, d, level, it, iters, iters0, iters_rest, n;
    float temp, temp_rest;
    unsigned long long seed;
    long long masked0;           /* step: masked frames of the level in the input */
    float *w;                    /* decode: weights; step: logits [F, K] */
    int32_t *tok0, *tok, *was;   /* step: the input tokens; the current; scratch [F] */
    float *conf, *hbuf, *abuf, *logits;
    int32_t *out;                /* decode: [n, L, F]; step: = tok */
    int32_t *host;               /* staging for the step's tokens */
    cublasHandle_t blas;
    int has_blas;
} mg_state;

static const int k_step = 0, k_decode = 1;

static void shape(int decode, const sono_params *p, mg_state *s)
{
    s->decode = decode;
    s->L = sono_param_int(p, "levels", 8);
    s->F = sono_param_int(p, "frames", 500);
    s->K = sono_param_int(p, "K", 1024);
    s->seed = (unsigned long long)sono_param_int(p, "seed", 1);
    s->temp = (float)sono_param_real(p, "temperature", 1);
    if (!decode) {
        s->level = sono_param_int(p, "level", 0);
        s->it = sono_param_int(p, "iter", 0);
        s->iters = sono_param_int(p, "iters", 16);
        return;
    }
    s->d = sono_param_int(p, "d", 128);
    s->iters0 = sono_param_int(p, "iters0", 16);
    s->iters_rest = sono_param_int(p, "iters_rest", 1);
    s->temp_rest = (float)sono_param_real(p, "temperature_rest", 0);
    s->n = s->iters0 + (s->L - 1) * s->iters_rest;
}

static long long in_elems(const mg_state *s)
{
    if (!s->decode)
        return s->L * s->F + s->F * s->K;
    return s->L * (s->K + 1) * s->d + s->d * s->d + s->d + s->d * s->K + s->L * s->K;
}

static double dev_bytes(const mg_state *s)
{
    double b = 4.0 * (double)(in_elems(s) + 3 * s->L * s->F + 2 * s->F + s->F * s->K);
    if (s->decode)
        b += 4.0 * (double)(2 * s->F * s->d + s->n * s->L * s->F);
    return b;
}

static int supports(const void *ctx, const sono_params *p, char *why, size_t n)
{
    mg_state s = {0};
    shape(*(const int *)ctx, p, &s);
    if (s.K > 1024 || s.F > CU_MG_FRAMES) {
        snprintf(why, n, "K=%lld, frames=%lld: cuda/maskgit draws over at most 1024 codes and "
                 "sorts at most %d frames' confidences in one block", s.K, s.F, CU_MG_FRAMES);
        return SONO_EUNSUPPORTED;
    }
    return cu_supports_common(p, dev_bytes(&s), why, n);
}

static void teardown(void *vst)
{
    mg_state *st = vst;
    if (!st)
        return;
    if (st->has_blas)
        cublasDestroy(st->blas);
    cu_free(st->w);
    cu_free(st->tok0);
    cu_free(st->tok);
    cu_free(st->was);
    cu_free(st->conf);
    cu_free(st->hbuf);
    cu_free(st->abuf);
    cu_free(st->logits);
    if (st->decode)
        cu_free(st->out);
    free(st->host);
    free(st);
}

static int mg_run(void *vst);

static int setup(const void *ctx, const sono_params *p, void **stp, sono_error *err)
{
    char why[256];
    int rc;
    *stp = NULL;
    if ((rc = supports(ctx, p, why, sizeof why)) < 0)
        return sono_fail(err, rc, "cuda/maskgit: %s", why);
    mg_state *st = calloc(1, sizeof *st);
    if (!st)
        return sono_fail(err, SONO_ENOMEM, "cuda/maskgit: cannot allocate its state");
    shape(*(const int *)ctx, p, st);
    if ((rc = cu_hdr_init(&st->h, st->decode ? "maskgit.decode" : "maskgit.step", "maskgit",
                          mg_run, p, err)))
        goto fail;
    cu_range_push(&st->h, "setup");
    const char *who = st->h.label;
    size_t LF = (size_t)(st->L * st->F), F = (size_t)st->F;
    if (!(rc = cu_alloc((void **)&st->w, (size_t)in_elems(st) * 4, who, err)) &&
        !(rc = cu_alloc((void **)&st->tok, LF * 4, who, err)) &&
        !(rc = cu_alloc((void **)&st->was, F * 4, who, err)) &&
        !(rc = cu_alloc((void **)&st->conf, F * 4, who, err))) {
        if (!st->decode) {
            if (!(rc = cu_alloc((void **)&st->tok0, LF * 4, who, err))) {
                st->out = st->tok;
                st->host = malloc(LF * 4);
                if (!st->host)
                    rc = sono_fail(err, SONO_ENOMEM, "%s: cannot allocate", who);
            }
        } else if (!(rc = cu_alloc((void **)&st->hbuf, F * (size_t)st->d * 4, who, err)) &&
                   !(rc = cu_alloc((void **)&st->abuf, F * (size_t)st->d * 4, who, err)) &&
                   !(rc = cu_alloc((void **)&st->logits, F * (size_t)st->K * 4, who, err)) &&
                   !(rc = cu_alloc((void **)&st->out, (size_t)st->n * LF * 4, who, err)))
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

static int load(void *vst, const sono_buf *in, sono_error *err)
{
    mg_state *st = vst;
    long long need = in_elems(st);
    if (in->dtype != SONO_F32 || sono_buf_elems(in) != need || in->nbytes < (size_t)need * 4)
        return sono_fail(err, SONO_EINVAL, "%s: input must be f32 [%lld]; got dtype %d, %lld "
                         "elements", st->h.label, need, (int)in->dtype, sono_buf_elems(in));
    cu_range_push(&st->h, "load");
    cudaStream_t s = st->h.dev->stream;
    const float *f = in->data;
    int rc;
    if (!st->decode) {
        long long LF = st->L * st->F;
        st->masked0 = 0;
        for (long long i = 0; i < LF; i++) {
            st->host[i] = (int32_t)f[i];
            st->masked0 += i / st->F == st->level && st->host[i] == MG_MASK_TOKEN;
        }
        rc = CU_OK(cudaMemcpyAsync(st->tok0, st->host, (size_t)LF * 4, cudaMemcpyHostToDevice,
                                   s), st->h.label, err);
        if (!rc)
            rc = CU_OK(cudaMemcpyAsync(st->w, f + LF, (size_t)(st->F * st->K) * 4,
                                       cudaMemcpyHostToDevice, s), st->h.label, err);
    } else
        rc = CU_OK(cudaMemcpyAsync(st->w, f, (size_t)need * 4, cudaMemcpyHostToDevice, s),
                   st->h.label, err);
    if (!rc)
        rc = CU_OK(cudaStreamSynchronize(s), st->h.label, err);
    cu_range_pop();
    return rc;
}

static int logits_of(mg_state *st, long long level)
{
    cudaStream_t s = st->h.dev->stream;
    int L = (int)st->L, F = (int)st->F, K = (int)st->K, d = (int)st->d;
    const float *E = st->w, *W1 = E + st->L * (st->K + 1) * st->d, *b1 = W1 + st->d * st->d,
                *W2 = b1 + st->d, *b2 = W2 + st->d * st->K;
    const float one = 1.0f;
    int rc = CU_RUN(cu_mg_hidden_launch(E, st->tok, L, F, K, d, b1, st->hbuf, st->abuf, s),
                    &st->h);
    /* row-major a [F, d] += h [F, d] W1 [d, d]: column-major a^T = W1^T h^T */
    if (!rc)
        rc = CU_BLAS_RUN(cublasSgemm(st->blas, CUBLAS_OP_N, CUBLAS_OP_N, d, F, d, &one, W1, d,
                                     st->hbuf, d, &one, st->abuf, d), &st->h);
    if (!rc)
        rc = CU_RUN(cu_mg_relu_bias_launch(st->abuf, F, d, b2 + level * st->K, K, st->logits,
                                           s), &st->h);
    if (!rc)
        rc = CU_BLAS_RUN(cublasSgemm(st->blas, CUBLAS_OP_N, CUBLAS_OP_N, K, F, d, &one, W2, K,
                                     st->abuf, d, &one, st->logits, K), &st->h);
    return rc;
}

static int mg_run(void *vst)
{
    mg_state *st = vst;
    cudaStream_t s = st->h.dev->stream;
    int F = (int)st->F, K = (int)st->K;
    long long LF = st->L * st->F;
    if (!st->decode) {
        int rc = CU_RUN(cudaMemcpyAsync(st->tok, st->tok0, (size_t)LF * 4,
                                        cudaMemcpyDeviceToDevice, s), &st->h);
        long long nm = mg_gpu_nmask(st->F, st->masked0, st->it, st->iters);
        if (!rc)
            rc = CU_RUN(cu_mg_step_launch(st->w, F, K, st->temp, st->seed, (int)st->level,
                                          (int)st->it, (int)nm, st->tok + st->level * st->F,
                                          st->was, st->conf, s), &st->h);
        return rc;
    }
    int rc = CU_RUN(cudaMemsetAsync(st->tok, 0xff, (size_t)LF * 4, s), &st->h); /* all -1 */
    long long i = 0;
    for (long long lv = 0; lv < st->L && !rc; lv++) {
        long long n = lv ? st->iters_rest : st->iters0, masked = st->F;
        for (long long t = 0; t < n && !rc; t++, i++) {
            long long nm = mg_gpu_nmask(st->F, masked, t, n);
            rc = logits_of(st, lv);
            if (!rc)
                rc = CU_RUN(cu_mg_step_launch(st->logits, F, K, lv ? st->temp_rest : st->temp,
                                              st->seed, (int)lv, (int)t, (int)nm,
                                              st->tok + lv * st->F, st->was, st->conf, s),
                            &st->h);
            if (!rc)
                rc = CU_RUN(cudaMemcpyAsync(st->out + i * LF, st->tok, (size_t)LF * 4,
                                            cudaMemcpyDeviceToDevice, s), &st->h);
            masked = nm;
        }
    }
    return rc;
}

static int store(void *vst, sono_buf *out, sono_error *err)
{
    mg_state *st = vst;
    size_t need = (size_t)((st->decode ? st->n : 1) * st->L * st->F) * 4;
    if (out->dtype != SONO_I32 || out->nbytes < need)
        return sono_fail(err, SONO_EINVAL, "%s: output must be i32 (%zu bytes)", st->h.label,
                         need);
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
    const mg_state *st = vst;
    snprintf(buf, n, "a 256-thread block per masked frame (radix select, bitonic sort, walk; "
             "block softmax confidence), one block's bitonic confidence sort%s",
             st->decode ? "; MLP as an embedding-sum kernel and two cublasSgemm (FP32)" : "");
    return 0;
}

static size_t workspace(void *vst)
{
    return sizeof(mg_state) + (size_t)dev_bytes(vst);
}

const sono_impl cu_maskgit_impls[2] = {
    {.abi = SONO_ABI_VERSION, .op = "maskgit.step", .name = "maskgit",
     .summary = "block-per-frame draws and confidences, one block's bitonic confidence sort",
     .device = "cuda:0", .growth = SONO_ERR_LINEAR, .ctx = &k_step, .supports = supports,
     .setup = setup, .load = load, .run = mg_run, .store = store, .teardown = teardown,
     .describe = describe, .workspace = workspace},
    {.abi = SONO_ABI_VERSION, .op = "maskgit.decode", .name = "maskgit",
     .summary = "MaskGIT decode loop: cuBLAS MLP, block-per-frame draws, confidence sort",
     .device = "cuda:0", .growth = SONO_ERR_LINEAR, .ctx = &k_decode, .supports = supports,
     .setup = setup, .load = load, .run = mg_run, .store = store, .teardown = teardown,
     .describe = describe, .workspace = workspace},
};
