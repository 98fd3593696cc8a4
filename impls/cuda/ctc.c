/* ctc.c — cuda/ctc-greedy and cuda/ctc-beam (issue 23; layouts: harness/ops/ctc.c).
 * Setup allocates, load uploads the log-probabilities, run decodes the whole batch
 * (ctc_kernels.cu: greedy's argmax warps, the beam search's block per utterance), store
 * downloads the rows. */
#include <limits.h>
#include <math.h>
#include <stdlib.h>

#include "ctc_kernels.h"
#include "cu.h"
#include "cuda_impls.h"

typedef struct variant {
    const char *op, *impl;
    int beam; /* 0: greedy */
} variant;

static const variant v_greedy = {"ctc.greedy", "ctc-greedy", 0};
static const variant v_beam = {"ctc.beam", "ctc-beam", 1};

typedef struct state {
    cu_hdr h; /* first: the device's time_runs reads it */
    const variant *v;
    long long T, V, B;
    int beam;
    float prune;
    float *lp;     /* [B, T, V] */
    int32_t *rows; /* [B, T + 1] */
    int *idx;      /* greedy: [B, T] */
    float *val;
    void *scratch; /* beam: B * cu_ctc_beam_scratch */
} state;

static void dims(const variant *v, const sono_params *p, long long *T, long long *V,
                 long long *B, int *beam, float *prune)
{
    *T = llround(sono_param_real(p, "seconds", 10) * 50.0); /* 50 frames per second */
    *T = *T < 1 ? 1 : *T;
    *V = sono_param_int(p, "V", 32);
    *B = sono_param_int(p, "batch", 1);
    *beam = v->beam ? (int)sono_param_int(p, "beam", 8) : 1;
    *prune = v->beam ? (float)sono_param_real(p, "prune", 0) : 0;
}

static double dev_bytes(const variant *v, long long T, long long V, long long B, int beam)
{
    double b = 4.0 * (double)(B * T) * (double)V + 4.0 * (double)(B * (T + 1));
    if (v->beam)
        return b + (double)B * (double)cu_ctc_beam_scratch((int)T, (int)V, beam);
    return b + 8.0 * (double)(B * T);
}

static int supports(const void *ctx, const sono_params *p, char *why, size_t n)
{
    const variant *v = ctx;
    long long T, V, B;
    int beam;
    float prune;
    dims(v, p, &T, &V, &B, &beam, &prune);
    /* the kernels take T, V as int and one block per utterance (grid x < 2^31) */
    if (V < 2 || V > INT_MAX / 2 || T > INT_MAX / 2 || B < 1 || B > INT_MAX ||
        beam < 1 || beam > 256 || (double)T * (double)beam > (double)(INT_MAX / 2)) {
        snprintf(why, n, "T=%lld V=%lld batch=%lld beam=%d out of range", T, V, B, beam);
        return SONO_EUNSUPPORTED;
    }
    return cu_supports_common(p, dev_bytes(v, T, V, B, beam), why, n);
}

static void teardown(void *vst)
{
    state *st = vst;
    if (!st)
        return;
    cu_free(st->lp);
    cu_free(st->rows);
    cu_free(st->idx);
    cu_free(st->val);
    cu_free(st->scratch);
    free(st);
}

static int ctc_run(void *vst);

static int setup(const void *ctx, const sono_params *p, void **stp, sono_error *err)
{
    const variant *v = ctx;
    char why[256];
    int rc;
    *stp = NULL;
    if ((rc = supports(ctx, p, why, sizeof why)) < 0)
        return sono_fail(err, rc, "cuda/%s: %s", v->impl, why);
    state *st = calloc(1, sizeof *st);
    if (!st)
        return sono_fail(err, SONO_ENOMEM, "cuda/%s: cannot allocate its state", v->impl);
    st->v = v;
    dims(v, p, &st->T, &st->V, &st->B, &st->beam, &st->prune);
    if ((rc = cu_hdr_init(&st->h, v->op, v->impl, ctc_run, p, err)))
        goto fail;
    cu_range_push(&st->h, "setup");
    const char *who = st->h.label;
    size_t BT = (size_t)(st->B * st->T);
    if (!(rc = cu_alloc((void **)&st->lp, BT * (size_t)st->V * sizeof(float), who, err)))
        rc = cu_alloc((void **)&st->rows, (size_t)(st->B * (st->T + 1)) * sizeof(int32_t),
                      who, err);
    if (!rc && !v->beam && !(rc = cu_alloc((void **)&st->idx, BT * sizeof(int), who, err)))
        rc = cu_alloc((void **)&st->val, BT * sizeof(float), who, err);
    if (!rc && v->beam)
        rc = cu_alloc(&st->scratch, (size_t)st->B * cu_ctc_beam_scratch((int)st->T, (int)st->V,
                                                                         st->beam), who, err);
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
    long long need = st->B * st->T * st->V;
    if (in->dtype != SONO_F32 || sono_buf_elems(in) != need ||
        in->nbytes < (size_t)need * sizeof(float))
        return sono_fail(err, SONO_EINVAL, "%s: input must be f32 [batch=%lld, T=%lld, "
                         "V=%lld]; got dtype %d, %lld elements", st->h.label, st->B, st->T,
                         st->V, (int)in->dtype, sono_buf_elems(in));
    cu_range_push(&st->h, "load");
    cudaStream_t s = st->h.dev->stream;
    int rc = CU_OK(cudaMemcpyAsync(st->lp, in->data, (size_t)need * sizeof(float),
                                   cudaMemcpyHostToDevice, s), st->h.label, err);
    if (!rc)
        rc = CU_OK(cudaStreamSynchronize(s), st->h.label, err);
    cu_range_pop();
    return rc;
}

static int ctc_run(void *vst)
{
    state *st = vst;
    cudaStream_t s = st->h.dev->stream;
    if (!st->v->beam)
        return CU_RUN(cu_ctc_greedy_launch(st->lp, st->B, (int)st->T, (int)st->V, st->idx,
                                           st->val, st->rows, s), &st->h);
    return CU_RUN(cu_ctc_beam_launch(st->lp, st->B, (int)st->T, (int)st->V, st->beam,
                                     st->prune, st->scratch, st->rows, s), &st->h);
}

static int store(void *vst, sono_buf *out, sono_error *err)
{
    state *st = vst;
    size_t need = (size_t)(st->B * (st->T + 1)) * sizeof(int32_t);
    if (out->dtype != SONO_I32 || out->nbytes < need)
        return sono_fail(err, SONO_EINVAL, "%s: output must be i32 [%lld, %lld]; got dtype "
                         "%d, %zu bytes", st->h.label, st->B, st->T + 1, (int)out->dtype,
                         out->nbytes);
    cu_range_push(&st->h, "store");
    cudaStream_t s = st->h.dev->stream;
    int rc = CU_OK(cudaMemcpyAsync(out->data, st->rows, need, cudaMemcpyDeviceToHost, s),
                   st->h.label, err);
    if (!rc)
        rc = CU_OK(cudaStreamSynchronize(s), st->h.label, err);
    cu_range_pop();
    return rc;
}

static int describe(void *vst, char *buf, size_t n)
{
    const state *st = vst;
    if (!st->v->beam)
        snprintf(buf, n, "warp-per-frame argmax kernel, thread-per-utterance merge; "
                 "batch=%lld", st->B);
    else
        snprintf(buf, n, "one 256-thread block per utterance (batch=%lld): radix selects of "
                 "the beam + 1 best labels and the beam heaviest candidates, 64-bit prefix "
                 "hashes, log domain; beam=%d prune=%g", st->B, st->beam, (double)st->prune);
    return 0;
}

static size_t workspace(void *vst)
{
    const state *st = vst;
    return sizeof *st + (size_t)dev_bytes(st->v, st->T, st->V, st->B, st->beam);
}

#define CTC_IMPL(OP, NAME, CTX, SUMMARY)                                                     \
    {.abi = SONO_ABI_VERSION, .op = OP, .name = NAME, .summary = SUMMARY,                    \
     .device = "cuda:0", .growth = SONO_ERR_LINEAR, .ctx = &(CTX), .supports = supports,   \
     .setup = setup, .load = load, .run = ctc_run, .store = store, .teardown = teardown,  \
     .describe = describe, .workspace = workspace}

const sono_impl cu_ctc_impls[2] = {
    CTC_IMPL("ctc.greedy", "ctc-greedy", v_greedy,
             "warp-per-frame argmax, thread-per-utterance merge of repeats and blanks"),
    CTC_IMPL("ctc.beam", "ctc-beam", v_beam,
             "prefix beam search, one block per utterance, radix-selected labels and beam"),
};
