/* openblas.c — the blas backend: blas/sgemm, OpenBLAS's cblas_sgemm on row-major float32,
 * the tuned kernel whose rate `harness calibrate` takes as the machine's peak FLOP/s.
 * OpenBLAS's thread count is process-wide: setup sets it for the case about to run.
 * blas/gemm (vq_gemm.c): the vector quantisers as SGEMMs plus an argmin. */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>

#include <cblas.h>

#include "nndtype.h"
#include "blas_impls.h"
#include "dac_blas.h"
#include "encodec_blas.h"
#include "sono.h"
#include "vq_gemm.h"
#include "vqste_gemm.h" /* issue 25 */
#include "maskgit_gemm.h" /* issue 25 */

typedef struct state {
    int m, n, k, threads;
    float *a, *b, *c; /* own copies of A [m,k] and B [k,n]; C [m,n] the result */
} state;

/* Rounded up to the alignment, which aligned_alloc requires; NULL on overflow too. */
static void *amalloc(size_t bytes)
{
    if (bytes == 0)
        bytes = 1;
    if (bytes > SIZE_MAX - 63)
        return NULL;
    return aligned_alloc(64, (bytes + 63) & ~(size_t)63);
}

static int supports(const void *ctx, const sono_params *p, char *why, size_t n)
{
    long long m = sono_param_int(p, "m", 0), nn = sono_param_int(p, "n", 0),
              k = sono_param_int(p, "k", 0), threads = sono_param_int(p, "threads", 1);

    (void)ctx;
    if (nn_dtype_f32_only(p, "the CPU's peak is float32 (cblas_sgemm)", why, n))
        return SONO_EUNSUPPORTED; /* issue 26 */
    /* CBLAS takes every dimension and leading dimension as int. */
    if (m < 1 || nn < 1 || k < 1 || m > INT_MAX || nn > INT_MAX || k > INT_MAX) {
        snprintf(why, n, "m=%lld, n=%lld, k=%lld must be in [1, INT_MAX]", m, nn, k);
        return SONO_EUNSUPPORTED;
    }
    if (threads < 1 || threads > 1024) {
        snprintf(why, n, "threads=%lld must be in [1, 1024]", threads);
        return SONO_EUNSUPPORTED;
    }
    if (threads > 1 && openblas_get_parallel() == 0) {
        snprintf(why, n, "this OpenBLAS is the sequential build; threads=%lld needs the "
                 "pthread or OpenMP one", threads);
        return SONO_EUNSUPPORTED;
    }
    return 0;
}

static void teardown(void *vst)
{
    state *st = vst;
    if (!st)
        return;
    free(st->a);
    free(st->b);
    free(st->c);
    free(st);
}

static int setup(const void *ctx, const sono_params *p, void **stp, sono_error *err)
{
    char why[256];
    int rc;

    *stp = NULL;
    if ((rc = supports(ctx, p, why, sizeof why)) < 0)
        return sono_fail(err, rc, "blas/sgemm: %s", why);
    state *st = calloc(1, sizeof *st);
    if (!st)
        return sono_fail(err, SONO_ENOMEM, "blas/sgemm: cannot allocate its state");
    st->m = (int)sono_param_int(p, "m", 0);
    st->n = (int)sono_param_int(p, "n", 0);
    st->k = (int)sono_param_int(p, "k", 0);
    st->threads = (int)sono_param_int(p, "threads", 1);
    size_t m = (size_t)st->m, n = (size_t)st->n, k = (size_t)st->k;
    st->a = amalloc(m * k * sizeof(float));
    st->b = amalloc(k * n * sizeof(float));
    st->c = amalloc(m * n * sizeof(float));
    if (!st->a || !st->b || !st->c) {
        teardown(st);
        return sono_fail(err, SONO_ENOMEM, "blas/sgemm: cannot allocate A, B, C for m=%zu "
                         "n=%zu k=%zu", m, n, k);
    }
    openblas_set_num_threads(st->threads);
    *stp = st;
    return 0;
}

/* Input: one 1-D buffer, A [m,k] then B [k,n], both row-major (the op's contract). */
static int load(void *vst, const sono_buf *in, sono_error *err)
{
    state *st = vst;
    size_t na = (size_t)st->m * (size_t)st->k, nb = (size_t)st->k * (size_t)st->n;
    if (in->dtype != SONO_F32 || sono_buf_elems(in) != (long long)(na + nb) ||
        in->nbytes < (na + nb) * sizeof(float))
        return sono_fail(err, SONO_EINVAL,
                         "blas/sgemm: input must be f32 [m*k + k*n = %zu] (A then B); got "
                         "dtype %d, %lld elements, %zu bytes", na + nb, (int)in->dtype,
                         sono_buf_elems(in), in->nbytes);
    memcpy(st->a, in->data, na * sizeof(float));
    memcpy(st->b, (const float *)in->data + na, nb * sizeof(float));
    return 0;
}

/* beta = 0: C is overwritten, so every call computes the same thing. */
static int run(void *vst)
{
    state *st = vst;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, st->m, st->n, st->k, 1.0f, st->a,
                st->k, st->b, st->n, 0.0f, st->c, st->n);
    return 0;
}

static int store(void *vst, sono_buf *out, sono_error *err)
{
    state *st = vst;
    size_t need = (size_t)st->m * (size_t)st->n * sizeof(float);
    if (out->dtype != SONO_F32 || out->nbytes < need)
        return sono_fail(err, SONO_EINVAL,
                         "blas/sgemm: output must be f32 [m=%d, n=%d] (%zu bytes); got dtype "
                         "%d, %zu bytes", st->m, st->n, need, (int)out->dtype, out->nbytes);
    memcpy(out->data, st->c, need);
    return 0;
}

/* What OpenBLAS really uses: it caps the count at the threads it was started with. */
static int describe(void *vst, char *buf, size_t n)
{
    const state *st = vst;
    int par = openblas_get_parallel();
    snprintf(buf, n, "%s; core %s; threads=%d (asked %d); %s", openblas_get_config(),
             openblas_get_corename(), openblas_get_num_threads(), st->threads,
             par == 0 ? "sequential build" : par == 1 ? "pthreads" : "OpenMP");
    return 0;
}

static size_t workspace(void *vst)
{
    const state *st = vst;
    size_t m = (size_t)st->m, n = (size_t)st->n, k = (size_t)st->k;
    return (m * k + k * n + m * n) * sizeof(float);
}

static const sono_impl impls[] = {
    {.abi = SONO_ABI_VERSION, .op = "sgemm", .name = "sgemm",
     .summary = "OpenBLAS cblas_sgemm, row-major, beta = 0",
     .device = "cpu", .growth = SONO_ERR_LINEAR, .ctx = NULL,
     .supports = supports, .setup = setup, .load = load, .run = run, .store = store,
     .teardown = teardown, .describe = describe, .workspace = workspace,
     .role = SONO_ROLE_PEAK_FLOPS},
    {.abi = SONO_ABI_VERSION, .op = "conv1d", .name = "im2col",
     .summary = "im2col + one SGEMM per group and chunk; transposed: SGEMM then col2im",
     .device = "cpu", .growth = SONO_ERR_LINEAR, .ctx = NULL,
     .supports = im2col_supports, .setup = im2col_setup, .load = im2col_load,
     .run = im2col_run, .store = im2col_store, .teardown = im2col_teardown,
     .describe = im2col_describe, .workspace = im2col_workspace,
     /* issue 12: streaming with a history of (kernel - 1) * dilation steps */
     .stream_begin = im2col_stream_begin, .push = im2col_push},
    {.abi = SONO_ABI_VERSION, .op = "attention", .name = "gemm",
     .summary = "tiled SGEMMs with a streaming softmax (FlashAttention schedule), O(tile) memory",
     .device = "cpu", .growth = SONO_ERR_LINEAR, .ctx = NULL,
     .supports = attn_gemm_supports, .setup = attn_gemm_setup, .load = attn_gemm_load,
     .run = attn_gemm_run, .store = attn_gemm_store, .teardown = attn_gemm_teardown,
     .describe = attn_gemm_describe, .workspace = attn_gemm_workspace,
     /* issue 12: streaming with a KV cache */
     .stream_begin = attn_gemm_stream_begin, .push = attn_gemm_push},
    {.abi = SONO_ABI_VERSION, .op = "vq.encode", .name = "gemm",
     .summary = "one SGEMM of vectors x codebook, argmin of |c|^2 - 2 x.c",
     .device = "cpu", .growth = SONO_ERR_LINEAR, .ctx = &vq_gemm_kinds[0],
     .supports = vq_gemm_supports, .setup = vq_gemm_setup, .load = vq_gemm_load,
     .run = vq_gemm_run, .store = vq_gemm_store, .teardown = vq_gemm_teardown,
     .describe = vq_gemm_describe, .workspace = vq_gemm_workspace},
    {.abi = SONO_ABI_VERSION, .op = "rvq.encode", .name = "gemm",
     .summary = "per stage one SGEMM of residuals x codebook, argmin of |c|^2 - 2 r.c",
     .device = "cpu", .growth = SONO_ERR_LINEAR, .ctx = &vq_gemm_kinds[1],
     .supports = vq_gemm_supports, .setup = vq_gemm_setup, .load = vq_gemm_load,
     .run = vq_gemm_run, .store = vq_gemm_store, .teardown = vq_gemm_teardown,
     .describe = vq_gemm_describe, .workspace = vq_gemm_workspace},
    {.abi = SONO_ABI_VERSION, .op = "rvq.decode", .name = "gemm",
     .summary = "gather-add of the n_q codewords of each vector",
     .device = "cpu", .growth = SONO_ERR_LINEAR, .ctx = &vq_gemm_kinds[2],
     .supports = vq_gemm_supports, .setup = vq_gemm_setup, .load = vq_gemm_load,
     .run = vq_gemm_run, .store = vq_gemm_store, .teardown = vq_gemm_teardown,
     .describe = vq_gemm_describe, .workspace = vq_gemm_workspace},
    {.abi = SONO_ABI_VERSION, .op = "codec.encodec", .name = "encodec",
     .summary = "EnCodec: convs as im2col + SGEMM, LSTM projections as SGEMM + SGEMV steps, "
                "codebook search as SGEMM",
     .device = "cpu", .growth = SONO_ERR_LOG, .ctx = NULL,
     .supports = encodec_blas_supports, .setup = encodec_blas_setup,
     .load = encodec_blas_load, .run = encodec_blas_run, .store = encodec_blas_store,
     .teardown = encodec_blas_teardown, .describe = encodec_blas_describe,
     .workspace = encodec_blas_workspace,
     /* issue 12 part C: streaming */
     .stream_begin = encodec_blas_stream_begin, .push = encodec_blas_push},
    /* issue 24: DAC (impls/common/dac_net.c with SGEMM kernels) */
    {.abi = SONO_ABI_VERSION, .op = "codec.dac", .name = "dac",
     .summary = "DAC: convs as im2col + SGEMM, Snake in place, factorised codebook search "
                "of every frame as one SGEMM per stage",
     .device = "cpu", .growth = SONO_ERR_LOG, .ctx = NULL,
     .supports = dac_blas_supports, .setup = dac_blas_setup, .load = dac_blas_load,
     .run = dac_blas_run, .store = dac_blas_store, .teardown = dac_blas_teardown,
     .describe = dac_blas_describe, .workspace = dac_blas_workspace},
    /* issue 24: SoundStream, the same network code on its config (encodec.h) */
    {.abi = SONO_ABI_VERSION, .op = "codec.soundstream", .name = "encodec",
     .summary = "SoundStream on blas/encodec's network: im2col + SGEMM convs, codebook "
                "search as SGEMM",
     .device = "cpu", .growth = SONO_ERR_LOG, .ctx = NULL,
     .supports = encodec_blas_supports, .setup = encodec_blas_setup,
     .load = encodec_blas_load, .run = encodec_blas_run, .store = encodec_blas_store,
     .teardown = encodec_blas_teardown, .describe = encodec_blas_describe,
     .workspace = encodec_blas_workspace,
     .stream_begin = encodec_blas_stream_begin, .push = encodec_blas_push},
    /* issue 12 (streaming): one attention decode step against a KV cache */
    {.abi = SONO_ABI_VERSION, .op = "attention.step", .name = "gemv",
     .summary = "decode step: ring KV cache, SGEMV scores, softmax, SGEMV weighted sum of V",
     .device = "cpu", .growth = SONO_ERR_LINEAR, .ctx = NULL,
     .supports = attn_step_gemv_supports, .setup = attn_step_gemv_setup,
     .load = attn_step_gemv_load, .run = attn_step_gemv_run,
     .store = attn_step_gemv_store, .teardown = attn_step_gemv_teardown,
     .describe = attn_step_gemv_describe, .workspace = attn_step_gemv_workspace},
    /* issue 23: speech models */
    {.abi = SONO_ABI_VERSION, .op = "whisper.encoder", .name = "whisper",
     .summary = "Whisper encoder: linear layers and the im2col conv stem as SGEMMs over all "
                "clips, attention per head as two SGEMMs around a row softmax",
     .device = "cpu", .growth = SONO_ERR_LOG, .ctx = NULL,
     .supports = whisper_blas_supports, .setup = whisper_blas_setup,
     .load = whisper_blas_load, .run = whisper_blas_run, .store = whisper_blas_store,
     .teardown = whisper_blas_teardown, .describe = whisper_blas_describe,
     .workspace = whisper_blas_workspace},
    /* issue 24: Mimi */
    {.abi = SONO_ABI_VERSION, .op = "codec.mimi", .name = "mimi",
     .summary = "Mimi: im2col SGEMM convs, SGEMM transformer (windowed attention in "
                "blocks), each codebook stage one SGEMM over all frames",
     .device = "cpu", .growth = SONO_ERR_LOG, .ctx = NULL,
     .supports = mimi_blas_supports, .setup = mimi_blas_setup, .load = mimi_blas_load,
     .run = mimi_blas_run, .store = mimi_blas_store, .teardown = mimi_blas_teardown,
     .describe = mimi_blas_describe, .workspace = mimi_blas_workspace},
    {.abi = SONO_ABI_VERSION, .op = "wav2vec2.features", .name = "gemm",
     .summary = "wav2vec2 conv feature encoder: im2col SGEMMs, fused norm + GELU on threads",
     .device = "cpu", .growth = SONO_ERR_LINEAR, .ctx = NULL,
     .supports = w2v_gemm_supports, .setup = w2v_gemm_setup, .load = w2v_gemm_load,
     .run = w2v_gemm_run, .store = w2v_gemm_store, .teardown = w2v_gemm_teardown,
     .describe = w2v_gemm_describe, .workspace = w2v_gemm_workspace},
    {.abi = SONO_ABI_VERSION, .op = "attention.relpos", .name = "gemm",
     .summary = "WavLM gated relative-position attention: per head SGEMMs, bias + softmax rows",
     .device = "cpu", .growth = SONO_ERR_LINEAR, .ctx = NULL,
     .supports = relpos_gemm_supports, .setup = relpos_gemm_setup, .load = relpos_gemm_load,
     .run = relpos_gemm_run, .store = relpos_gemm_store, .teardown = relpos_gemm_teardown,
     .describe = relpos_gemm_describe, .workspace = relpos_gemm_workspace},
    /* issue 25: generation */
    {.abi = SONO_ABI_VERSION, .op = "wavenet.stack", .name = "wavenet",
     .summary = "WaveNet stack: 2 SGEMMs per layer over time, fused gate and sums; streams "
                "a sample at a time by SGEMV",
     .device = "cpu", .growth = SONO_ERR_LOG, .ctx = NULL,
     .supports = wavenet_blas_supports, .setup = wavenet_blas_setup,
     .load = wavenet_blas_load, .run = wavenet_blas_run, .store = wavenet_blas_store,
     .teardown = wavenet_blas_teardown, .describe = wavenet_blas_describe,
     .workspace = wavenet_blas_workspace, .stream_begin = wavenet_blas_stream_begin,
     .push = wavenet_blas_push},
    {.abi = SONO_ABI_VERSION, .op = "vocoder.hifigan", .name = "hifigan",
     .summary = "HiFi-GAN generator: im2col SGEMM convs with the leaky ReLU fused, SGEMM + "
                "overlap-add transposed convs; streams by mel chunks",
     .device = "cpu", .growth = SONO_ERR_LOG, .ctx = NULL,
     .supports = hifigan_blas_supports, .setup = hifigan_blas_setup,
     .load = hifigan_blas_load, .run = hifigan_blas_run, .store = hifigan_blas_store,
     .teardown = hifigan_blas_teardown, .describe = hifigan_blas_describe,
     .workspace = hifigan_blas_workspace, .stream_begin = hifigan_blas_stream_begin,
     .push = hifigan_blas_push},
    /* issue 25: the VQ training step */
    {.abi = SONO_ABI_VERSION, .op = "vq.ste", .name = "gemm",
     .summary = "VQ training step: SGEMM distances (|e|^2 - 2 x.e), float32 STE, EMA, restarts",
     .device = "cpu", .growth = SONO_ERR_LINEAR, .ctx = NULL,
     .supports = vqste_gemm_supports, .setup = vqste_gemm_setup, .load = vqste_gemm_load,
     .run = vqste_gemm_run, .store = vqste_gemm_store, .teardown = vqste_gemm_teardown,
     .describe = vqste_gemm_describe, .workspace = vqste_gemm_workspace},
    {.abi = SONO_ABI_VERSION, .op = "maskgit.decode", .name = "gemm",
     .summary = "MaskGIT decode loop, the logits MLP as two SGEMMs over all frames",
     .device = "cpu", .growth = SONO_ERR_LINEAR, .ctx = NULL,
     .supports = maskgit_gemm_supports, .setup = maskgit_gemm_setup,
     .load = maskgit_gemm_load, .run = maskgit_gemm_run, .store = maskgit_gemm_store,
     .teardown = maskgit_gemm_teardown, .describe = maskgit_gemm_describe,
     .workspace = maskgit_gemm_workspace},
};

SONO_EXPORT int sono_plugin_init(sono_registry *r, sono_error *err)
{
    if (r->abi != SONO_ABI_VERSION)
        return sono_fail(err, SONO_EABI, "blas plugin built for ABI %d, harness has ABI %d",
                         SONO_ABI_VERSION, r->abi);
    for (size_t i = 0; i < sizeof impls / sizeof impls[0]; i++) {
        int rc = r->add_impl(r, &impls[i]);
        if (rc < 0)
            return sono_fail(err, rc, "blas: registering %s/blas/%s failed (%d)",
                             impls[i].op, impls[i].name, rc);
    }
    if (r->add_lib)
        r->add_lib(r, "openblas", openblas_get_config());
    return 0;
}
