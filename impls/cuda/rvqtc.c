/* rvqtc.c — cuda/rvq-tc for rvq.encode (issue 26): per stage, vq-tc's fused distance +
 * argmin kernel (vqtc_kernels.cu) on the current residual, then the residual kernel of
 * vq_kernels.cu (r -= c in float32). Stage 0 reads the vectors in the dtype's storage
 * (on its grid, as vq-tc); later stages read the float32 residual split into dtype parts,
 * so the search sees the float32 residual the op's check walks (3 bf16 parts; 2 tf32
 * parts for tf32 and for f16, whose codewords are exact in tf32: vqtc_math.h says why
 * not f16 parts). Load uploads, converts to 16-bit and computes the norms, untimed. */
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
    long long K, D, T, q;
    int kind;       /* stage 0's: FA2_BF16, FA2_F16, FA2_TF32 */
    int rkind, np;  /* the residual stages': kind and parts */
    float *in, *cn; /* device: [codebooks | vectors] float32, norms [q, K] */
    void *in16;     /* device: the input in 16-bit storage (bf16, f16) */
    float *r;       /* device: [T, D] residual */
    int *codes;     /* device: [q, T] */
} state;

static void dims(const sono_params *p, long long *K, long long *D, long long *T, long long *q)
{
    *K = sono_param_int(p, "K", 1024);
    *D = sono_param_int(p, "D", 128);
    *T = sono_param_int(p, "T", 750);
    *q = sono_param_int(p, "n_q", 8);
}

static int kind_of(const sono_params *p)
{
    int t = nn_dtype(p);
    return t == NN_BF16 ? FA2_BF16 : t == NN_F16 ? FA2_F16 : FA2_TF32;
}

static double dev_bytes(long long K, long long D, long long T, long long q, int kind)
{
    double n = (double)(q * K * D + T * D);
    return 4.0 * n + (kind == FA2_TF32 ? 0.0 : 2.0 * n) + 4.0 * (double)(q * K) +
           4.0 * (double)(T * D) + 4.0 * (double)(q * T);
}

static int supports(const void *ctx, const sono_params *p, char *why, size_t n)
{
    long long K, D, T, q;
    (void)ctx;
    if (nn_dtype(p) == NN_F32) {
        snprintf(why, n, "dtype=f32: IEEE float32, which tensor cores do not compute (they "
                 "read float32 as tf32: dtype=tf32 rounds the inputs so the reference sees "
                 "the same values); cuda/vq-cublas and cuda/vq-fused are the float32 rungs");
        return SONO_EUNSUPPORTED;
    }
    dims(p, &K, &D, &T, &q);
    if (D % 16 || D > 256 || K > INT_MAX / 2 || T > (1LL << 37) || q < 1) {
        snprintf(why, n, "D=%lld: a multiple of 16 up to 256 (the mma's k, the shared tiles); "
                 "K=%lld, T=%lld within int range", D, K, T);
        return SONO_EUNSUPPORTED;
    }
    return cu_supports_common(p, dev_bytes(K, D, T, q, kind_of(p)), why, n);
}

static void teardown(void *vst)
{
    state *st = vst;
    if (!st)
        return;
    cu_free(st->in);
    cu_free(st->cn);
    cu_free(st->in16);
    cu_free(st->r);
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
        return sono_fail(err, rc, "cuda/rvq-tc: %s", why);
    state *st = calloc(1, sizeof *st);
    if (!st)
        return sono_fail(err, SONO_ENOMEM, "cuda/rvq-tc: cannot allocate its state");
    dims(p, &st->K, &st->D, &st->T, &st->q);
    st->kind = kind_of(p);
    st->rkind = st->kind == FA2_BF16 ? FA2_BF16 : FA2_TF32;
    st->np = vqt_parts(st->rkind);
    size_t n = (size_t)(st->q * st->K * st->D + st->T * st->D);
    if ((rc = cu_hdr_init(&st->h, "rvq.encode", "rvq-tc", run, p, err)))
        goto fail;
    cu_range_push(&st->h, "setup");
    const char *who = st->h.label;
    if (!(rc = cu_alloc((void **)&st->in, n * sizeof(float), who, err)) &&
        (st->kind == FA2_TF32 || !(rc = cu_alloc(&st->in16, n * 2, who, err))) &&
        !(rc = cu_alloc((void **)&st->cn, (size_t)(st->q * st->K) * sizeof(float), who, err)) &&
        !(rc = cu_alloc((void **)&st->r, (size_t)(st->T * st->D) * sizeof(float), who, err)))
        rc = cu_alloc((void **)&st->codes, (size_t)(st->q * st->T) * sizeof(int), who, err);
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
    long long need = st->q * st->K * st->D + st->T * st->D;
    if (in->dtype != SONO_F32 || sono_buf_elems(in) != need ||
        in->nbytes < (size_t)need * sizeof(float))
        return sono_fail(err, SONO_EINVAL, "%s: input must be f32 [%lld] (codebooks then "
                         "vectors); got dtype %d, %lld elements", st->h.label, need,
                         (int)in->dtype, sono_buf_elems(in));
    cu_range_push(&st->h, "load");
    cudaStream_t s = st->h.dev->stream;
    int rc = CU_OK(cudaMemcpyAsync(st->in, in->data, (size_t)need * sizeof(float),
                                   cudaMemcpyHostToDevice, s), st->h.label, err);
    if (!rc && st->in16) /* exact: the op rounded the values to the dtype */
        rc = CU_OK(cu_fa2_convert(st->in, st->in16, need, st->kind, s), st->h.label, err);
    if (!rc)
        rc = CU_OK(cu_vq_norms_launch(st->in, st->q * st->K, (int)st->D, st->cn, s),
                   st->h.label, err);
    if (!rc)
        rc = CU_OK(cudaStreamSynchronize(s), st->h.label, err);
    cu_range_pop();
    return rc;
}

/* Element offset e of the input in the storage a kernel of kind k reads (16-bit or float). */
static const void *at(const state *st, long long e, int k)
{
    return k == FA2_TF32 ? (const void *)(st->in + e)
                         : (const void *)((const char *)st->in16 + (size_t)e * 2);
}

static int run(void *vst)
{
    state *st = vst;
    long long K = st->K, D = st->D, T = st->T, ncb = st->q * K * D;
    cudaStream_t s = st->h.dev->stream;
    int rc = CU_RUN(cu_vqtc_launch(at(st, 0, st->kind), st->cn, at(st, ncb, st->kind), T, K,
                                   (int)D, st->kind, st->kind == FA2_TF32 ? 1 : 0, st->codes,
                                   s), &st->h);
    if (rc || st->q == 1)
        return rc;
    if ((rc = CU_RUN(cudaMemcpyAsync(st->r, st->in + ncb, (size_t)(T * D) * sizeof(float),
                                     cudaMemcpyDeviceToDevice, s), &st->h)))
        return rc;
    for (long long stage = 1; stage < st->q; stage++) {
        if ((rc = CU_RUN(cu_vq_subtract_launch(st->r, st->in + (stage - 1) * K * D,
                                               st->codes + (stage - 1) * T, T, (int)D, s),
                         &st->h)) ||
            (rc = CU_RUN(cu_vqtc_launch(at(st, stage * K * D, st->rkind), st->cn + stage * K,
                                        st->r, T, K, (int)D, st->rkind, st->np,
                                        st->codes + stage * T, s), &st->h)))
            return rc;
    }
    return 0;
}

static int store(void *vst, sono_buf *out, sono_error *err)
{
    state *st = vst;
    size_t need = (size_t)(st->q * st->T) * sizeof(int);
    if (out->dtype != SONO_I32 || out->nbytes < need)
        return sono_fail(err, SONO_EINVAL, "%s: output must be i32 [n_q, T] (%zu bytes); got "
                         "dtype %d, %zu bytes", st->h.label, need, (int)out->dtype,
                         out->nbytes);
    cu_range_push(&st->h, "store");
    int rc = CU_OK(cudaMemcpyAsync(out->data, st->codes, need, cudaMemcpyDeviceToHost,
                                   st->h.dev->stream), st->h.label, err);
    if (!rc)
        rc = CU_OK(cudaStreamSynchronize(st->h.dev->stream), st->h.label, err);
    cu_range_pop();
    return rc;
}

static const char *kname(int k)
{
    return k == FA2_BF16 ? "m16n8k16 bf16" : k == FA2_F16 ? "m16n8k16 f16" : "m16n8k8 tf32";
}

static int describe(void *vst, char *buf, size_t n)
{
    const state *st = vst;
    snprintf(buf, n, "per stage: cuda/vq-tc's fused distance + argmin (stage 0 on the "
             "vectors, mma.sync %s; stages 1..%lld on the float32 residual as %d parts, "
             "mma.sync %s; fp32 accumulation), then the residual kernel r -= c in FP32; "
             "norms in FP32 at load", kname(st->kind), st->q - 1, st->np, kname(st->rkind));
    return 0;
}

static size_t workspace(void *vst)
{
    const state *st = vst;
    return sizeof *st + (size_t)dev_bytes(st->K, st->D, st->T, st->q, st->kind);
}

const sono_impl cu_rvqtc_impls[1] = {
    {.abi = SONO_ABI_VERSION, .op = "rvq.encode", .name = "rvq-tc",
     .summary = "per stage: vq-tc's fused distance + argmin on tensor cores (float32 "
                "residual split into dtype parts), residual kernel; dtype bf16|f16|tf32",
     .device = "cuda:0", .growth = SONO_ERR_LINEAR, .supports = supports, .setup = setup,
     .load = load, .run = run, .store = store, .teardown = teardown, .describe = describe,
     .workspace = workspace},
};
