/* copy.c — op "copy" on a GPU (issue 10): cuda/memcpy (cudaMemcpyAsync device to device,
 * the copy engine's or the driver's best) and cuda/copy-kernel (an own float4 grid-stride
 * kernel), the device's bandwidth ceiling for `harness calibrate`. Load and store cross
 * the bus outside the timed run; run() copies between two device buffers only. */
#include <stdlib.h>

#include "cu.h"
#include "cuda_impls.h"
#include "kernels.h"

typedef struct copy_variant {
    int kernel; /* 0: cudaMemcpyAsync; 1: cu_copy_launch */
    const char *name;
} copy_variant;

static const copy_variant by_memcpy = {0, "memcpy"}, by_kernel = {1, "copy-kernel"};

typedef struct state {
    cu_hdr h; /* first: the device's time_runs reads it */
    const copy_variant *v;
    size_t n;
    float *src, *dst;
    int blocks; /* copy-kernel's grid: 4 blocks of 256 per SM keep every SM busy */
} state;

static int supports(const void *ctx, const sono_params *p, char *why, size_t len)
{
    long long n = sono_param_int(p, "n", 0);
    (void)ctx;
    if (n < 1 || n > (1LL << 32)) {
        snprintf(why, len, "n=%lld must be in [1, 2^32]", n);
        return SONO_EUNSUPPORTED;
    }
    return cu_supports_common(p, 8.0 * (double)n, why, len);
}

static void teardown(void *vst)
{
    state *st = vst;
    if (!st)
        return;
    cu_free(st->src);
    cu_free(st->dst);
    free(st);
}

static int copy_run(void *vst);

static int setup(const void *ctx, const sono_params *p, void **stp, sono_error *err)
{
    const copy_variant *v = ctx;
    char why[256];
    int rc;
    *stp = NULL;
    if ((rc = supports(ctx, p, why, sizeof why)) < 0)
        return sono_fail(err, rc, "cuda/%s: %s", v->name, why);
    state *st = calloc(1, sizeof *st);
    if (!st)
        return sono_fail(err, SONO_ENOMEM, "cuda/%s: cannot allocate its state", v->name);
    st->v = v;
    st->n = (size_t)sono_param_int(p, "n", 0);
    if ((rc = cu_hdr_init(&st->h, "copy", v->name, copy_run, p, err)))
        goto fail;
    st->blocks = 4 * (st->h.dev->prop.multiProcessorCount > 0
                          ? st->h.dev->prop.multiProcessorCount : 1);
    cu_range_push(&st->h, "setup");
    const char *who = st->h.label;
    if (!(rc = cu_alloc((void **)&st->src, st->n * sizeof(float), who, err)) &&
        !(rc = cu_alloc((void **)&st->dst, st->n * sizeof(float), who, err)))
        /* written once, so the first timed copy does not pay for first touch */
        rc = CU_OK(cudaMemsetAsync(st->dst, 0, st->n * sizeof(float), st->h.dev->stream),
                   who, err);
    if (!rc)
        rc = CU_OK(cudaStreamSynchronize(st->h.dev->stream), who, err);
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
    if (in->dtype != SONO_F32 || sono_buf_elems(in) != (long long)st->n ||
        in->nbytes < st->n * sizeof(float))
        return sono_fail(err, SONO_EINVAL, "%s: input must be f32 [n=%zu]; got dtype %d, %lld "
                         "elements", st->h.label, st->n, (int)in->dtype, sono_buf_elems(in));
    cu_range_push(&st->h, "load");
    int rc = CU_OK(cudaMemcpyAsync(st->src, in->data, st->n * sizeof(float),
                                   cudaMemcpyHostToDevice, st->h.dev->stream), st->h.label, err);
    if (!rc)
        rc = CU_OK(cudaStreamSynchronize(st->h.dev->stream), st->h.label, err);
    cu_range_pop();
    return rc;
}

static int copy_run(void *vst)
{
    state *st = vst;
    if (st->v->kernel)
        return CU_RUN(cu_copy_launch(st->src, st->dst, st->n, st->blocks, st->h.dev->stream),
                      &st->h);
    return CU_RUN(cudaMemcpyAsync(st->dst, st->src, st->n * sizeof(float),
                                  cudaMemcpyDeviceToDevice, st->h.dev->stream), &st->h);
}

static int store(void *vst, sono_buf *out, sono_error *err)
{
    state *st = vst;
    if (out->dtype != SONO_F32 || out->nbytes < st->n * sizeof(float))
        return sono_fail(err, SONO_EINVAL, "%s: output must be f32 [n=%zu]; got dtype %d, %zu "
                         "bytes", st->h.label, st->n, (int)out->dtype, out->nbytes);
    cu_range_push(&st->h, "store");
    int rc = CU_OK(cudaMemcpyAsync(out->data, st->dst, st->n * sizeof(float),
                                   cudaMemcpyDeviceToHost, st->h.dev->stream), st->h.label, err);
    if (!rc)
        rc = CU_OK(cudaStreamSynchronize(st->h.dev->stream), st->h.label, err);
    cu_range_pop();
    return rc;
}

static int describe(void *vst, char *buf, size_t n)
{
    const state *st = vst;
    if (st->v->kernel)
        snprintf(buf, n, "float4 grid-stride kernel, %d blocks x 256 threads on %s",
                 st->blocks, st->h.dev->name);
    else
        snprintf(buf, n, "cudaMemcpyAsync device to device on %s", st->h.dev->name);
    return 0;
}

static size_t workspace(void *vst)
{
    const state *st = vst;
    return sizeof *st + 2 * st->n * sizeof(float);
}

const sono_impl cu_copy_impls[2] = {
    {.abi = SONO_ABI_VERSION, .op = "copy", .name = "memcpy",
     .summary = "cudaMemcpyAsync device to device (the device's copy bandwidth)",
     .device = "cuda:0", .growth = SONO_ERR_LOG, .ctx = &by_memcpy, .supports = supports,
     .setup = setup, .load = load, .run = copy_run, .store = store, .teardown = teardown,
     .describe = describe, .workspace = workspace,
     .role = SONO_ROLE_BANDWIDTH}, /* harness calibrate's device bandwidth */
    {.abi = SONO_ABI_VERSION, .op = "copy", .name = "copy-kernel",
     .summary = "own float4 grid-stride copy kernel, 4 blocks of 256 per SM",
     .device = "cuda:0", .growth = SONO_ERR_LOG, .ctx = &by_kernel, .supports = supports,
     .setup = setup, .load = load, .run = copy_run, .store = store, .teardown = teardown,
     .describe = describe, .workspace = workspace},
};
