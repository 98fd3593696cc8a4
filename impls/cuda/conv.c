/* conv.c — conv1d on the GPU (contract: harness/ops/conv1d.h): cuda/conv-direct, our own
 * kernel (one thread per output value, causal/valid, strided, dilated, grouped,
 * transposed, bias and ELU/Snake fused), and cuda/conv-im2col: an im2col kernel, one
 * cuBLAS strided-batched SGEMM over the groups, then bias+activation; transposed convs
 * run the GEMM first (W^T x per group) and a col2im kernel sums the taps into place.
 * Load uploads the packed input (x, W, b, alpha); run only enqueues. */
#include <stdlib.h>

#include "cu.h"
#include "cuda_impls.h"
#include "nndtype.h"
#include "nn_kernels.h"
#include "nnshape.h"

typedef struct variant {
    const char *impl;
    int gemm;
} variant;

static const variant v_direct = {"conv-direct", 0};
static const variant v_im2col = {"conv-im2col", 1};

typedef struct state {
    cu_hdr h; /* first: the device's time_runs reads it */
    const variant *v;
    nn_conv c;
    nnc_dims nd;
    float *in, *y, *col; /* device: packed input, output, im2col (or transposed's Z) */
    size_t col_floats;
    cublasHandle_t blas;
    int has_blas;
} state;

/* The GEMM variant's scratch: im2col [cin*k, tout], or transposed's Z [cout*k, T]. */
static double col_floats(const variant *v, const nn_conv *c)
{
    if (!v->gemm)
        return 0;
    return c->transposed ? (double)c->cout * (double)c->k * (double)c->T
                         : (double)c->cin * (double)c->k * (double)c->tout;
}

static int supports(const void *ctx, const sono_params *p, char *why, size_t n)
{
    const variant *v = ctx;
    nn_conv c;
    int rc = nn_dtype_f32_only(p, NULL, why, n); /* issue 26: float32 kernels and SGEMM */
    if (!rc)
        rc = nn_conv_shape(p, 1, &c, why, n);
    if (rc)
        return rc;
    /* grid.y is the output channel; cuBLAS takes int sizes */
    if (c.cout > 65535 || (v->gemm && (c.cig * c.k > 0x7fffffff || c.cog * c.k > 0x7fffffff))) {
        snprintf(why, n, "cout=%zu over 65535 or a GEMM size over 2^31", c.cout);
        return SONO_EUNSUPPORTED;
    }
    double bytes = 4.0 * ((double)c.nin + (double)(c.cout * c.tout) + col_floats(v, &c));
    return cu_supports_common(p, bytes, why, n);
}

static void teardown(void *vst)
{
    state *st = vst;
    if (!st)
        return;
    if (st->has_blas)
        (void)cublasDestroy(st->blas);
    cu_free(st->in);
    cu_free(st->y);
    cu_free(st->col);
    free(st);
}

static int conv_run(void *vst);

static int setup(const void *ctx, const sono_params *p, void **stp, sono_error *err)
{
    const variant *v = ctx;
    char why[256];
    int rc;
    *stp = NULL;
    if ((rc = supports(ctx, p, why, sizeof why)) < 0)
        return sono_fail(err, rc, "cuda/%s conv1d: %s", v->impl, why);
    state *st = calloc(1, sizeof *st);
    if (!st)
        return sono_fail(err, SONO_ENOMEM, "cuda/%s: cannot allocate its state", v->impl);
    st->v = v;
    (void)nn_conv_shape(p, 1, &st->c, why, sizeof why);
    const nn_conv *c = &st->c;
    st->nd = (nnc_dims){.cin = (long long)c->cin, .cout = (long long)c->cout,
                        .k = (long long)c->k, .stride = (long long)c->stride,
                        .dil = (long long)c->dil, .groups = (long long)c->groups,
                        .T = (long long)c->T, .tout = (long long)c->tout,
                        .pad = (long long)c->pad, .cig = (long long)c->cig,
                        .cog = (long long)c->cog, .act = c->act};
    st->col_floats = (size_t)col_floats(v, c);
    if ((rc = cu_hdr_init(&st->h, "conv1d", v->impl, conv_run, p, err)))
        goto fail;
    cu_range_push(&st->h, "setup");
    const char *who = st->h.label;
    if (!(rc = cu_alloc((void **)&st->in, c->nin * sizeof(float), who, err)) &&
        !(rc = cu_alloc((void **)&st->y, c->cout * c->tout * sizeof(float), who, err)) &&
        v->gemm && !(rc = cu_alloc((void **)&st->col, st->col_floats * sizeof(float), who, err)))
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
    int rc = nn_check_input(st->h.label, in, st->c.nin, err);
    if (rc)
        return rc;
    cu_range_push(&st->h, "load");
    rc = CU_OK(cudaMemcpyAsync(st->in, in->data, st->c.nin * sizeof(float),
                               cudaMemcpyHostToDevice, st->h.dev->stream), st->h.label, err);
    if (!rc)
        rc = CU_OK(cudaStreamSynchronize(st->h.dev->stream), st->h.label, err);
    cu_range_pop();
    return rc;
}

/* Forward: y_g (cog x tout) = W_g (cog x cig*k) col_g (cig*k x tout), read column-major
 * as y_g^T = col_g^T W_g^T. Transposed: Z_g (cog*k x T) = W_g^T x_g with W_g the group's
 * rows [cig][cog*k], column-major Z_g^T = x_g^T W_g. One batched call over the groups. */
static int gemm(state *st, const float *x, const float *w)
{
    const nnc_dims *c = &st->nd;
    const float one = 1.0f, zero = 0.0f;
    if (st->c.transposed)
        return CU_BLAS_RUN(cublasSgemmStridedBatched(
            st->blas, CUBLAS_OP_N, CUBLAS_OP_T, (int)c->T, (int)(c->cog * c->k), (int)c->cig,
            &one, x, (int)c->T, c->cig * c->T, w, (int)(c->cog * c->k),
            c->cig * c->cog * c->k, &zero, st->col, (int)c->T, c->cog * c->k * c->T,
            (int)c->groups), &st->h);
    return CU_BLAS_RUN(cublasSgemmStridedBatched(
        st->blas, CUBLAS_OP_N, CUBLAS_OP_N, (int)c->tout, (int)c->cog, (int)(c->cig * c->k),
        &one, st->col, (int)c->tout, c->cig * c->k * c->tout, w, (int)(c->cig * c->k),
        c->cog * c->cig * c->k, &zero, st->y, (int)c->tout, c->cog * c->tout,
        (int)c->groups), &st->h);
}

static int conv_run(void *vst)
{
    state *st = vst;
    const nnc_dims *c = &st->nd;
    cudaStream_t s = st->h.dev->stream;
    const float *x = st->in, *w = x + st->c.nx, *b = w + st->c.nw, *alpha = b + st->c.cout;
    int rc;
    if (!st->v->gemm)
        return CU_RUN(cu_conv_direct_launch(c, st->c.transposed, x, w, b, alpha, st->y, s),
                      &st->h);
    if (st->c.transposed) {
        if ((rc = gemm(st, x, w)))
            return rc;
        return CU_RUN(cu_col2im_launch(c, st->col, b, alpha, st->y, s), &st->h);
    }
    if ((rc = CU_RUN(cu_im2col_launch(c, x, st->col, s), &st->h)) || (rc = gemm(st, x, w)))
        return rc;
    return CU_RUN(cu_bias_act_launch(c, b, alpha, st->y, s), &st->h);
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
    const nn_conv *c = &st->c;
    if (!st->v->gemm)
        snprintf(buf, n, "direct kernel, one thread per output, %s weights%s",
                 c->cig * c->k <= 8192 ? "shared-memory" : "global-memory",
                 c->transposed ? ", transposed by tap" : "");
    else
        snprintf(buf, n, "%s + cublasSgemmStridedBatched (FP32) over %zu group(s), "
                 "%zu-float scratch", c->transposed ? "W^T x GEMM + col2im kernel"
                 : "im2col kernel", c->groups, st->col_floats);
    return 0;
}

static size_t workspace(void *vst)
{
    const state *st = vst;
    return sizeof *st + (st->c.nin + st->c.cout * st->c.tout + st->col_floats) * sizeof(float);
}

#define CONV_IMPL(NAME, CTX, SUMMARY)                                                        \
    {.abi = SONO_ABI_VERSION, .op = "conv1d", .name = NAME, .summary = SUMMARY,              \
     .device = "cuda:0", .growth = SONO_ERR_LINEAR, .ctx = &(CTX), .supports = supports,   \
     .setup = setup, .load = load, .run = conv_run, .store = store, .teardown = teardown, \
     .describe = describe, .workspace = workspace}

const sono_impl cu_conv_impls[2] = {
    CONV_IMPL("conv-direct", v_direct,
              "own kernel: thread per output, causal/dilated/strided/grouped/transposed"),
    CONV_IMPL("conv-im2col", v_im2col,
              "im2col (or col2im) kernel + cuBLAS strided-batched SGEMM over groups"),
};
