/* attn.c — attention on the GPU (contract: harness/ops/attention.c): cuda/attn-naive
 * materialises the scores, heads x seq x seq floats (two cuBLAS strided-batched SGEMMs
 * around a row-softmax kernel), cuda/attn-flash streams key tiles through shared memory
 * with an online softmax, so its memory is Q, K, V and O only (head_dim <= 128).
 * Load uploads [Q | K | V]; run only enqueues. */
#include <math.h>
#include <stdlib.h>

#include "cu.h"
#include "cuda_impls.h"
#include "nn_kernels.h"
#include "nndtype.h"
#include "nnshape.h"

typedef struct variant {
    const char *impl;
    int flash;
} variant;

static const variant v_naive = {"attn-naive", 0};
static const variant v_flash = {"attn-flash", 1};

typedef struct state {
    cu_hdr h; /* first: the device's time_runs reads it */
    const variant *v;
    nn_attn a;
    float *in, *out, *sc; /* device: [Q | K | V], O, the scores (naive) */
    size_t sc_floats;
    cublasHandle_t blas;
    int has_blas;
} state;

static int supports(const void *ctx, const sono_params *p, char *why, size_t n)
{
    const variant *v = ctx;
    nn_attn a;
    int rc = nn_attn_shape(p, 1, &a, why, n);
    if (rc)
        return rc;
    /* issue 26: these kernels are float32 on CUDA cores; cuda/flash2 takes the dtypes */
    if ((rc = nn_dtype_f32_only(p, "cuda/flash2 computes on tensor cores in each dtype", why, n)))
        return rc;
    if (v->flash && a.d > NN_FD) {
        snprintf(why, n, "head_dim=%zu: the flash kernel keeps a query's output in "
                 "registers, head_dim <= %d", a.d, NN_FD);
        return SONO_EUNSUPPORTED;
    }
    if (a.heads > 65535 || a.seq > 0x7fffffff / (a.seq > a.d ? a.seq : a.d)) {
        snprintf(why, n, "heads=%zu over 65535 or seq=%zu too long for int GEMM sizes",
                 a.heads, a.seq);
        return SONO_EUNSUPPORTED;
    }
    double bytes = 4.0 * 4.0 * (double)(a.heads * a.per_head);
    if (!v->flash)
        bytes += 4.0 * (double)a.heads * (double)a.seq * (double)a.seq;
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
    cu_free(st->out);
    cu_free(st->sc);
    free(st);
}

static int attn_run(void *vst);

static int setup(const void *ctx, const sono_params *p, void **stp, sono_error *err)
{
    const variant *v = ctx;
    char why[256];
    int rc;
    *stp = NULL;
    if ((rc = supports(ctx, p, why, sizeof why)) < 0)
        return sono_fail(err, rc, "cuda/%s attention: %s", v->impl, why);
    state *st = calloc(1, sizeof *st);
    if (!st)
        return sono_fail(err, SONO_ENOMEM, "cuda/%s: cannot allocate its state", v->impl);
    st->v = v;
    (void)nn_attn_shape(p, 1, &st->a, why, sizeof why);
    size_t n = st->a.heads * st->a.per_head;
    st->sc_floats = v->flash ? 0 : st->a.heads * st->a.seq * st->a.seq;
    if ((rc = cu_hdr_init(&st->h, "attention", v->impl, attn_run, p, err)))
        goto fail;
    cu_range_push(&st->h, "setup");
    const char *who = st->h.label;
    if (!(rc = cu_alloc((void **)&st->in, 3 * n * sizeof(float), who, err)) &&
        !(rc = cu_alloc((void **)&st->out, n * sizeof(float), who, err)) && !v->flash &&
        !(rc = cu_alloc((void **)&st->sc, st->sc_floats * sizeof(float), who, err)))
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
    size_t n = 3 * st->a.heads * st->a.per_head;
    int rc = nn_check_input(st->h.label, in, n, err);
    if (rc)
        return rc;
    cu_range_push(&st->h, "load");
    rc = CU_OK(cudaMemcpyAsync(st->in, in->data, n * sizeof(float), cudaMemcpyHostToDevice,
                               st->h.dev->stream), st->h.label, err);
    if (!rc)
        rc = CU_OK(cudaStreamSynchronize(st->h.dev->stream), st->h.label, err);
    cu_range_pop();
    return rc;
}

/* Per head, column-major: S^T (seq_k x seq_q) = K Q^T scaled (K, Q read as d x seq), the
 * softmax along each query's keys, then O^T (d x seq) = V^T P^T. */
static int attn_run(void *vst)
{
    state *st = vst;
    const nn_attn *a = &st->a;
    cudaStream_t s = st->h.dev->stream;
    long long hs = (long long)a->per_head, S = (long long)a->seq, H = (long long)a->heads;
    int d = (int)a->d, seq = (int)a->seq, rc;
    const float *q = st->in, *k = q + H * hs, *v = k + H * hs;
    if (st->v->flash)
        return CU_RUN(cu_flash_launch(q, k, v, st->out, H, S, d, a->causal, s), &st->h);
    const float scale = (float)(1.0 / sqrt((double)d)), one = 1.0f, zero = 0.0f;
    if ((rc = CU_BLAS_RUN(cublasSgemmStridedBatched(st->blas, CUBLAS_OP_T, CUBLAS_OP_N, seq,
                                                    seq, d, &scale, k, d, hs, q, d, hs, &zero,
                                                    st->sc, seq, S * S, (int)H), &st->h)) ||
        (rc = CU_RUN(cu_softmax_launch(st->sc, H, S, a->causal, s), &st->h)))
        return rc;
    return CU_BLAS_RUN(cublasSgemmStridedBatched(st->blas, CUBLAS_OP_N, CUBLAS_OP_N, d, seq,
                                                 seq, &one, v, d, hs, st->sc, seq, S * S,
                                                 &zero, st->out, d, hs, (int)H), &st->h);
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
    if (st->v->flash)
        snprintf(buf, n, "flash-style kernel: %d queries per block, %d thread(s) a query "
                 "holding q and the output in registers, key tiles of %d in shared memory, "
                 "online softmax, FP32", NN_FT / nn_fl_tpq((int)st->a.d),
                 nn_fl_tpq((int)st->a.d), NN_FK);
    else
        snprintf(buf, n, "cublasSgemmStridedBatched (FP32) x2 + row-softmax kernel; scores "
                 "%zu floats", st->sc_floats);
    return 0;
}

/* Device bytes: Q, K, V, O and (naive) the seq^2 scores per head. */
static size_t workspace(void *vst)
{
    const state *st = vst;
    return sizeof *st + (4 * st->a.heads * st->a.per_head + st->sc_floats) * sizeof(float);
}

#define ATTN_IMPL(NAME, CTX, SUMMARY)                                                        \
    {.abi = SONO_ABI_VERSION, .op = "attention", .name = NAME, .summary = SUMMARY,           \
     .device = "cuda:0", .growth = SONO_ERR_LINEAR, .ctx = &(CTX), .supports = supports,   \
     .setup = setup, .load = load, .run = attn_run, .store = store, .teardown = teardown, \
     .describe = describe, .workspace = workspace}

const sono_impl cu_attn_impls[2] = {
    ATTN_IMPL("attn-naive", v_naive, "cuBLAS batched S = QK^T, softmax kernel, cuBLAS P V"),
    ATTN_IMPL("attn-flash", v_flash,
              "tiled kernel, online softmax, memory O(seq d) per head; head_dim <= 128"),
};
