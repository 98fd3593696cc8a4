/* flash2.c — cuda/flash2 for attention (issue 26): the FA2-style tensor-core kernel of
 * fa2_kernels.cu in the case's dtype: bf16 and f16 (mma m16n8k16) and tf32 (m16n8k8, the
 * float32 storage path), fp32 accumulation; head_dim 64 or 128, causal or not, no window.
 * dtype=f32 is refused: tensor cores would round float32 inputs to tf32, which the
 * float32 reference does not see; dtype=tf32 is that path with the rounding in the input.
 * Load uploads the float32 values (already on the dtype's grid) and converts them to the
 * 16-bit storage on the device, exactly, untimed; run only enqueues. */
#include <math.h>
#include <stdlib.h>

#include "cu.h"
#include "cuda_impls.h"
#include "fa2_kernels.h"
#include "nndtype.h"
#include "nnshape.h"

typedef struct state {
    cu_hdr h; /* first: the device's time_runs reads it */
    nn_attn a;
    int kind;       /* FA2_BF16, FA2_F16, FA2_TF32 */
    float *in, *out; /* device: [Q | K | V] float32 (the tf32 kernel's own), O */
    void *in16;      /* device: [Q | K | V] in 16-bit storage (bf16, f16) */
} state;

static int kind_of(const sono_params *p)
{
    int t = nn_dtype(p);
    return t == NN_BF16 ? FA2_BF16 : t == NN_F16 ? FA2_F16 : FA2_TF32;
}

static int supports(const void *ctx, const sono_params *p, char *why, size_t n)
{
    nn_attn a;
    (void)ctx;
    int rc = nn_attn_shape(p, 1, &a, why, n);
    if (rc)
        return rc;
    if (nn_dtype(p) == NN_F32) {
        snprintf(why, n, "dtype=f32: tensor cores take float32 storage as tf32 (dtype=tf32 "
                 "rounds the inputs so the reference sees the same values); the float32 "
                 "rungs are cuda/attn-naive and cuda/attn-flash");
        return SONO_EUNSUPPORTED;
    }
    if (a.d != 64 && a.d != 128) {
        snprintf(why, n, "head_dim=%zu: the kernel is instantiated for 64 and 128", a.d);
        return SONO_EUNSUPPORTED;
    }
    if (a.window) {
        snprintf(why, n, "window=%zu: no sliding window (the tile schedule skips causal tiles "
                 "only)", a.window);
        return SONO_EUNSUPPORTED;
    }
    if (a.heads > 65535 || a.seq > 0x7fffffffLL / 2) {
        snprintf(why, n, "heads=%zu over 65535 (the grid's y) or seq=%zu too long", a.heads,
                 a.seq);
        return SONO_EUNSUPPORTED;
    }
    double n3 = 3.0 * (double)(a.heads * a.per_head);
    double bytes = 4.0 * n3 + 4.0 * (double)(a.heads * a.per_head) +
                   (kind_of(p) == FA2_TF32 ? 0.0 : 2.0 * n3);
    return cu_supports_common(p, bytes, why, n);
}

static void teardown(void *vst)
{
    state *st = vst;
    if (!st)
        return;
    cu_free(st->in);
    cu_free(st->out);
    cu_free(st->in16);
    free(st);
}

static int run(void *vst);

static int setup(const void *ctx, const sono_params *p, void **stp, sono_error *err)
{
    char why[320];
    int rc;
    *stp = NULL;
    if ((rc = supports(ctx, p, why, sizeof why)) < 0)
        return sono_fail(err, rc, "cuda/flash2 attention: %s", why);
    state *st = calloc(1, sizeof *st);
    if (!st)
        return sono_fail(err, SONO_ENOMEM, "cuda/flash2: cannot allocate its state");
    (void)nn_attn_shape(p, 1, &st->a, why, sizeof why);
    st->kind = kind_of(p);
    size_t n = st->a.heads * st->a.per_head;
    if ((rc = cu_hdr_init(&st->h, "attention", "flash2", run, p, err)))
        goto fail;
    cu_range_push(&st->h, "setup");
    const char *who = st->h.label;
    if (!(rc = cu_alloc((void **)&st->in, 3 * n * sizeof(float), who, err)) &&
        !(rc = cu_alloc((void **)&st->out, n * sizeof(float), who, err)) &&
        st->kind != FA2_TF32)
        rc = cu_alloc(&st->in16, 3 * n * sizeof(uint16_t), who, err);
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
    size_t n = 3 * st->a.heads * st->a.per_head;
    int rc = nn_check_input(st->h.label, in, n, err);
    if (rc)
        return rc;
    cu_range_push(&st->h, "load");
    cudaStream_t s = st->h.dev->stream;
    rc = CU_OK(cudaMemcpyAsync(st->in, in->data, n * sizeof(float), cudaMemcpyHostToDevice, s),
               st->h.label, err);
    if (!rc && st->kind != FA2_TF32)
        rc = CU_OK(cu_fa2_convert(st->in, st->in16, (long long)n, st->kind, s), st->h.label,
                   err);
    if (!rc)
        rc = CU_OK(cudaStreamSynchronize(s), st->h.label, err);
    cu_range_pop();
    return rc;
}

static int run(void *vst)
{
    state *st = vst;
    const nn_attn *a = &st->a;
    size_t n = a->heads * a->per_head, es = st->kind == FA2_TF32 ? 4 : 2;
    const char *base = st->kind == FA2_TF32 ? (const char *)st->in : (const char *)st->in16;
    return CU_RUN(cu_fa2_launch(base, base + n * es, base + 2 * n * es, st->out,
                                (long long)a->heads, (long long)a->seq, (int)a->d, a->causal,
                                st->kind, st->h.dev->stream),
                  &st->h);
}

static int store(void *vst, sono_buf *out, sono_error *err)
{
    state *st = vst;
    size_t n = st->a.heads * st->a.per_head;
    int rc = nn_check_output(st->h.label, out, n, err);
    if (rc)
        return rc;
    cu_range_push(&st->h, "store");
    rc = CU_OK(cudaMemcpyAsync(out->data, st->out, n * sizeof(float), cudaMemcpyDeviceToHost,
                               st->h.dev->stream), st->h.label, err);
    if (!rc)
        rc = CU_OK(cudaStreamSynchronize(st->h.dev->stream), st->h.label, err);
    cu_range_pop();
    return rc;
}

static int describe(void *vst, char *buf, size_t n)
{
    const state *st = vst;
    static const char *const mma[] = {"m16n8k16 bf16", "m16n8k16 f16", "m16n8k8 tf32"};
    snprintf(buf, n, "FA2-style: %d warps x 16 queries a block, key tiles of %d double-"
             "buffered by cp.async, mma.sync %s with fp32 accumulation, online softmax in "
             "registers, P rounded to the dtype for P V, causal tiles skipped; %zu B shared "
             "memory a block", FA2_WARPS, FA2_BK, mma[st->kind], cu_fa2_smem((int)st->a.d,
                                                                            st->kind));
    return 0;
}

static size_t workspace(void *vst)
{
    const state *st = vst;
    size_t n = st->a.heads * st->a.per_head;
    return sizeof *st + 4 * n * sizeof(float) + (st->in16 ? 3 * n * sizeof(uint16_t) : 0);
}

const sono_impl cu_flash2_impls[1] = {
    {.abi = SONO_ABI_VERSION, .op = "attention", .name = "flash2",
     .summary = "FA2-style tensor-core kernel (mma.sync bf16/f16/tf32, cp.async double "
                "buffering, online softmax in registers); dtype bf16|f16|tf32, head_dim 64|128",
     .device = "cuda:0", .growth = SONO_ERR_LINEAR, .supports = supports, .setup = setup,
     .load = load, .run = run, .store = store, .teardown = teardown, .describe = describe,
     .workspace = workspace},
};
