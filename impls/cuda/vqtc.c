/* vqtc.c — cuda/vq-tc for vq.encode (issue 26): the fused distance + argmin kernel on
 * tensor cores of vqtc_kernels.cu, for dtype bf16 and f16 (mma m16n8k16) and tf32
 * (m16n8k8 on the float32 storage), fp32 accumulation. Load uploads the float32 input
 * (already on the dtype's grid), converts it to 16-bit storage on the device (exact; not
 * for tf32) and computes the codebook norms from the same values in float32, untimed, as
 * the other VQ rungs do; run is the one kernel. */
#include <limits.h>
#include <stdlib.h>

#include "cu.h"
#include "cuda_impls.h"
#include "fa2_kernels.h"
#include "nndtype.h"
#include "vq_kernels.h"
#include "vqtc_kernels.h"

typedef struct state {
    cu_hdr h; /* first: the device's time_runs reads it */
    long long K, D, T;
    int kind;
    float *in, *cn; /* device: [codebook | vectors] float32, norms [K] */
    void *in16;     /* device: the input in 16-bit storage */
    int *codes;     /* device: [T] */
} state;

static int supports(const void *ctx, const sono_params *p, char *why, size_t n)
{
    (void)ctx;
    long long K = sono_param_int(p, "K", 1024), D = sono_param_int(p, "D", 128),
              T = sono_param_int(p, "T", 750);
    int dt = nn_dtype(p);
    if (dt == NN_F32) {
        snprintf(why, n, "dtype=f32: IEEE float32, which tensor cores do not compute (they "
                 "read float32 as tf32: dtype=tf32 rounds the inputs so the reference sees "
                 "the same values); cuda/vq-cublas and cuda/vq-fused are the float32 rungs");
        return SONO_EUNSUPPORTED;
    }
    if (D % 16 || D > 256 || K > INT_MAX / 2 || T > (1LL << 37)) {
        snprintf(why, n, "D=%lld: a multiple of 16 up to 256 (the mma's k, the shared tiles); "
                 "K=%lld, T=%lld within int range", D, K, T);
        return SONO_EUNSUPPORTED;
    }
    double bytes = (dt == NN_TF32 ? 4.0 : 6.0) * (double)(K * D + T * D) + 4.0 * (double)K +
                   4.0 * (double)T;
    return cu_supports_common(p, bytes, why, n);
}

static void teardown(void *vst)
{
    state *st = vst;
    if (!st)
        return;
    cu_free(st->in);
    cu_free(st->cn);
    cu_free(st->in16);
    cu_free(st->codes);
    free(st);
}

static int run(void *vst);

static int setup(const void *ctx, const sono_params *p, void **stp, sono_error *err)
{
    char why[256];
    int rc;
    *stp = NULL;
    if ((rc = supports(ctx, p, why, sizeof why)) < 0)
        return sono_fail(err, rc, "cuda/vq-tc: %s", why);
    state *st = calloc(1, sizeof *st);
    if (!st)
        return sono_fail(err, SONO_ENOMEM, "cuda/vq-tc: cannot allocate its state");
    st->K = sono_param_int(p, "K", 1024);
    st->D = sono_param_int(p, "D", 128);
    st->T = sono_param_int(p, "T", 750);
    int dt = nn_dtype(p);
    st->kind = dt == NN_BF16 ? FA2_BF16 : dt == NN_F16 ? FA2_F16 : FA2_TF32;
    size_t n = (size_t)(st->K * st->D + st->T * st->D);
    if ((rc = cu_hdr_init(&st->h, "vq.encode", "vq-tc", run, p, err)))
        goto fail;
    cu_range_push(&st->h, "setup");
    const char *who = st->h.label;
    if (!(rc = cu_alloc((void **)&st->in, n * sizeof(float), who, err)) &&
        (st->kind == FA2_TF32 || !(rc = cu_alloc(&st->in16, n * 2, who, err))) &&
        !(rc = cu_alloc((void **)&st->cn, (size_t)st->K * sizeof(float), who, err)))
        rc = cu_alloc((void **)&st->codes, (size_t)st->T * sizeof(int), who, err);
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
    long long need = st->K * st->D + st->T * st->D;
    if (in->dtype != SONO_F32 || sono_buf_elems(in) != need ||
        in->nbytes < (size_t)need * sizeof(float))
        return sono_fail(err, SONO_EINVAL, "%s: input must be f32 [%lld] (codebook then "
                         "vectors); got dtype %d, %lld elements", st->h.label, need,
                         (int)in->dtype, sono_buf_elems(in));
    cu_range_push(&st->h, "load");
    cudaStream_t s = st->h.dev->stream;
    int rc = CU_OK(cudaMemcpyAsync(st->in, in->data, (size_t)need * sizeof(float),
                                   cudaMemcpyHostToDevice, s), st->h.label, err);
    if (!rc && st->in16)
        rc = CU_OK(cu_fa2_convert(st->in, st->in16, need, st->kind, s), st->h.label, err);
    if (!rc)
        rc = CU_OK(cu_vq_norms_launch(st->in, st->K, (int)st->D, st->cn, s), st->h.label, err);
    if (!rc)
        rc = CU_OK(cudaStreamSynchronize(s), st->h.label, err);
    cu_range_pop();
    return rc;
}

static int run(void *vst)
{
    state *st = vst;
    if (st->kind == FA2_TF32) /* the float32 storage itself, one tf32 part */
        return CU_RUN(cu_vqtc_launch(st->in, st->cn, st->in + st->K * st->D, st->T, st->K,
                                     (int)st->D, st->kind, 1, st->codes, st->h.dev->stream),
                      &st->h);
    const char *x = (const char *)st->in16 + (size_t)(st->K * st->D) * 2;
    return CU_RUN(cu_vqtc_launch(st->in16, st->cn, x, st->T, st->K, (int)st->D, st->kind, 0,
                                 st->codes, st->h.dev->stream), &st->h);
}

static int store(void *vst, sono_buf *out, sono_error *err)
{
    state *st = vst;
    size_t need = (size_t)st->T * sizeof(int);
    if (out->dtype != SONO_I32 || out->nbytes < need)
        return sono_fail(err, SONO_EINVAL, "%s: output must be i32 [T] (%zu bytes); got dtype "
                         "%d, %zu bytes", st->h.label, need, (int)out->dtype, out->nbytes);
    cu_range_push(&st->h, "store");
    int rc = CU_OK(cudaMemcpyAsync(out->data, st->codes, need, cudaMemcpyDeviceToHost,
                                   st->h.dev->stream), st->h.label, err);
    if (!rc)
        rc = CU_OK(cudaStreamSynchronize(st->h.dev->stream), st->h.label, err);
    cu_range_pop();
    return rc;
}

static int describe(void *vst, char *buf, size_t n)
{
    const state *st = vst;
    snprintf(buf, n, "fused distance + argmin: %d vectors a block in shared memory, codebook "
             "tiles of %d double-buffered by cp.async, mma.sync %s (fp32 "
             "accumulation), running argmin in registers; norms in FP32 at load",
             VQT_BV, VQT_BK, st->kind == FA2_BF16 ? "m16n8k16 bf16"
             : st->kind == FA2_F16 ? "m16n8k16 f16" : "m16n8k8 tf32");
    return 0;
}

static size_t workspace(void *vst)
{
    const state *st = vst;
    size_t n = (size_t)(st->K * st->D + st->T * st->D);
    return sizeof *st + n * (st->kind == FA2_TF32 ? 4 : 6) + (size_t)(st->K + st->T) * 4;
}

const sono_impl cu_vqtc_impls[1] = {
    {.abi = SONO_ABI_VERSION, .op = "vq.encode", .name = "vq-tc",
     .summary = "fused distance + argmin on tensor cores (mma.sync bf16/f16, tf32, cp.async "
                "codebook tiles, running argmin in registers); dtype bf16|f16|tf32",
     .device = "cuda:0", .growth = SONO_ERR_LINEAR, .supports = supports, .setup = setup,
     .load = load, .run = run, .store = store, .teardown = teardown, .describe = describe,
     .workspace = workspace},
};
