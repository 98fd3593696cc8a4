/* convtc.c — cuda/conv-tc for conv1d (issue 26): the implicit-GEMM kernel of
 * convtc_kernels.cu on tensor cores, dtype bf16 and f16 (mma m16n8k16) or tf32 (m16n8k8),
 * fp32 accumulation; forward convs (causal or valid, strided, dilated, grouped, ELU/Snake
 * fused). Load uploads the packed float32 input (already on the dtype's grid), converts x
 * to the dtype's storage and packs W into rows padded to the reduction tile, untimed; run
 * is the one kernel. */
#include <stdlib.h>

#include "convtc_kernels.h"
#include "cu.h"
#include "cuda_impls.h"
#include "fa2_kernels.h"
#include "nndtype.h"
#include "nnshape.h"

typedef struct state {
    cu_hdr h; /* first: the device's time_runs reads it */
    nn_conv c;
    nnc_dims nd;
    int kind;       /* FA2_BF16, FA2_F16, FA2_TF32 */
    float *in, *y;  /* device: packed input (x, W, b, alpha) float32, output */
    void *x16, *wp; /* device: x in 16-bit storage (not tf32), packed weights */
} state;

static int kind_of(const sono_params *p)
{
    int t = nn_dtype(p);
    return t == NN_BF16 ? FA2_BF16 : t == NN_F16 ? FA2_F16 : FA2_TF32;
}

static nnc_dims dims_of(const nn_conv *c)
{
    return (nnc_dims){.cin = (long long)c->cin, .cout = (long long)c->cout,
                      .k = (long long)c->k, .stride = (long long)c->stride,
                      .dil = (long long)c->dil, .groups = (long long)c->groups,
                      .T = (long long)c->T, .tout = (long long)c->tout,
                      .pad = (long long)c->pad, .cig = (long long)c->cig,
                      .cog = (long long)c->cog, .act = c->act};
}

/* Device bytes: the float32 input, the 16-bit x, the packed weights, the output. */
static double dev_bytes(const nn_conv *c, int kind)
{
    nnc_dims d = dims_of(c);
    double es = kind == FA2_TF32 ? 4.0 : 2.0;
    return 4.0 * (double)c->nin + (kind == FA2_TF32 ? 0.0 : 2.0 * (double)c->nx) +
           es * (double)(d.cout * ct_kp(&d)) + 4.0 * (double)(c->cout * c->tout);
}

static int supports(const void *ctx, const sono_params *p, char *why, size_t n)
{
    nn_conv c;
    (void)ctx;
    if (nn_dtype(p) == NN_F32) {
        snprintf(why, n, "dtype=f32: IEEE float32, which tensor cores do not compute (they "
                 "read float32 as tf32: dtype=tf32 rounds the inputs so the reference sees "
                 "the same values); the float32 rungs are cuda/conv-direct and "
                 "cuda/conv-im2col");
        return SONO_EUNSUPPORTED;
    }
    int rc = nn_conv_shape(p, 1, &c, why, n);
    if (rc)
        return rc;
    if (c.transposed) {
        snprintf(why, n, "transposed=1: the implicit GEMM is the forward conv's (cuda/conv-"
                 "direct and cuda/conv-im2col take transposed convs)");
        return SONO_EUNSUPPORTED;
    }
    nnc_dims d = dims_of(&c);
    if (ct_mtiles(&d) > 65535 || d.groups > 65535 || ct_ntiles(&d) > 0x7fffffffLL) {
        snprintf(why, n, "cout/groups=%zu or groups=%zu over the grid's 65535", c.cog,
                 c.groups);
        return SONO_EUNSUPPORTED;
    }
    return cu_supports_common(p, dev_bytes(&c, kind_of(p)), why, n);
}

static void teardown(void *vst)
{
    state *st = vst;
    if (!st)
        return;
    cu_free(st->in);
    cu_free(st->y);
    cu_free(st->x16);
    cu_free(st->wp);
    free(st);
}

static int run(void *vst);

static int setup(const void *ctx, const sono_params *p, void **stp, sono_error *err)
{
    char why[256];
    int rc;
    *stp = NULL;
    if ((rc = supports(ctx, p, why, sizeof why)) < 0)
        return sono_fail(err, rc, "cuda/conv-tc conv1d: %s", why);
    state *st = calloc(1, sizeof *st);
    if (!st)
        return sono_fail(err, SONO_ENOMEM, "cuda/conv-tc: cannot allocate its state");
    (void)nn_conv_shape(p, 1, &st->c, why, sizeof why);
    st->nd = dims_of(&st->c);
    st->kind = kind_of(p);
    const nn_conv *c = &st->c;
    size_t es = st->kind == FA2_TF32 ? 4 : 2;
    if ((rc = cu_hdr_init(&st->h, "conv1d", "conv-tc", run, p, err)))
        goto fail;
    cu_range_push(&st->h, "setup");
    const char *who = st->h.label;
    if (!(rc = cu_alloc((void **)&st->in, c->nin * sizeof(float), who, err)) &&
        !(rc = cu_alloc((void **)&st->y, c->cout * c->tout * sizeof(float), who, err)) &&
        !(rc = cu_alloc(&st->wp, (size_t)(st->nd.cout * ct_kp(&st->nd)) * es, who, err)) &&
        st->kind != FA2_TF32)
        rc = cu_alloc(&st->x16, c->nx * 2, who, err);
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
    int rc = nn_check_input(st->h.label, in, st->c.nin, err);
    if (rc)
        return rc;
    cu_range_push(&st->h, "load");
    cudaStream_t s = st->h.dev->stream;
    rc = CU_OK(cudaMemcpyAsync(st->in, in->data, st->c.nin * sizeof(float),
                               cudaMemcpyHostToDevice, s), st->h.label, err);
    if (!rc && st->x16) /* exact: the op rounded the values to the dtype */
        rc = CU_OK(cu_fa2_convert(st->in, st->x16, (long long)st->c.nx, st->kind, s),
                   st->h.label, err);
    if (!rc)
        rc = CU_OK(cu_convtc_pack(&st->nd, st->in + st->c.nx, st->wp, st->kind, s),
                   st->h.label, err);
    if (!rc)
        rc = CU_OK(cudaStreamSynchronize(s), st->h.label, err);
    cu_range_pop();
    return rc;
}

static int run(void *vst)
{
    state *st = vst;
    const float *b = st->in + st->c.nx + st->c.nw, *alpha = b + st->c.cout;
    const void *x = st->x16 ? st->x16 : (const void *)st->in;
    return CU_RUN(cu_convtc_launch(&st->nd, st->wp, x, b, alpha, st->y, st->kind,
                                   st->h.dev->stream), &st->h);
}

static int store(void *vst, sono_buf *out, sono_error *err)
{
    state *st = vst;
    size_t n = st->c.cout * st->c.tout;
    int rc = nn_check_output(st->h.label, out, n, err);
    if (rc)
        return rc;
    cu_range_push(&st->h, "store");
    rc = CU_OK(cudaMemcpyAsync(out->data, st->y, n * sizeof(float), cudaMemcpyDeviceToHost,
                               st->h.dev->stream), st->h.label, err);
    if (!rc)
        rc = CU_OK(cudaStreamSynchronize(st->h.dev->stream), st->h.label, err);
    cu_range_pop();
    return rc;
}

static int describe(void *vst, char *buf, size_t n)
{
    const state *st = vst;
    snprintf(buf, n, "implicit GEMM on tensor cores: %dx%d (channels x steps) tiles per "
             "block, reduction cin/groups*kernel = %lld in tiles of %d (weights by cp.async, "
             "input gathered through the causal/stride/dilation map, no im2col), mma.sync %s "
             "(fp32 accumulation), bias and activation fused; %zu group(s)",
             CT_BM, CT_BN, ct_kk(&st->nd), CT_BK,
             st->kind == FA2_BF16 ? "m16n8k16 bf16" : st->kind == FA2_F16 ? "m16n8k16 f16"
                                                                          : "m16n8k8 tf32",
             st->c.groups);
    return 0;
}

static size_t workspace(void *vst)
{
    const state *st = vst;
    return sizeof *st + (size_t)dev_bytes(&st->c, st->kind);
}

const sono_impl cu_convtc_impls[1] = {
    {.abi = SONO_ABI_VERSION, .op = "conv1d", .name = "conv-tc",
     .summary = "implicit GEMM on tensor cores (mma.sync bf16/f16 m16n8k16, tf32 m16n8k8, "
                "input gathered on the fly); dtype bf16|f16|tf32",
     .device = "cuda:0", .growth = SONO_ERR_LINEAR, .supports = supports, .setup = setup,
     .load = load, .run = run, .store = store, .teardown = teardown, .describe = describe,
     .workspace = workspace},
};
