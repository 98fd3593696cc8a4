/* gen.c — issue 25's cuda impls (layouts: harness/ops/sample.c, delay.c): cuda/sample for
 * sample.topk (a block per row: radix select, bitonic sort, the shared walk; tokens equal
 * cpu/naive's) and cuda/delay for codes.delay (a thread per output code). Setup allocates,
 * load uploads, run launches (tok_kernels.cu), store downloads. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "cu.h"
#include "cuda_impls.h"
#include "tok_kernels.h"

typedef struct gstate {
    cu_hdr h; /* first: the device's time_runs reads it */
    int delay;
    long long rows, C, V, B, K, T, nin, nout;
    int k, undelay;
    int32_t pad;
    float temp, top_p;
    unsigned long long seed;
    void *in;      /* device: logits (f32) or codes (i32) */
    int32_t *out;  /* device */
} gstate;

static const int k_sample = 0, k_delay = 1;

static void shape(int delay, const sono_params *p, gstate *g)
{
    g->delay = delay;
    if (!delay) {
        g->C = sono_param_int(p, "codebooks", 8);
        g->rows = sono_param_int(p, "batch", 1) * g->C;
        g->V = sono_param_int(p, "V", 2048);
        long long k = sono_param_int(p, "top_k", 250);
        g->k = (int)(k <= 0 || k > g->V ? g->V : k);
        g->temp = (float)sono_param_real(p, "temperature", 0.8);
        g->top_p = (float)sono_param_real(p, "top_p", 1);
        g->seed = (unsigned long long)sono_param_int(p, "seed", 1);
        g->nin = g->rows * g->V;
        g->nout = g->rows;
        return;
    }
    g->B = sono_param_int(p, "batch", 1);
    g->K = sono_param_int(p, "K", 4);
    g->T = sono_param_int(p, "T", 1500);
    g->undelay = strcmp(sono_param_str(p, "direction", "delay"), "undelay") == 0;
    g->pad = (int32_t)sono_param_int(p, "pad", 2048);
    long long S = g->T + g->K - 1;
    g->nin = g->B * g->K * (g->undelay ? S : g->T);
    g->nout = g->B * g->K * (g->undelay ? g->T : S);
}

static int supports(const void *ctx, const sono_params *p, char *why, size_t n)
{
    gstate g = {0};
    shape(*(const int *)ctx, p, &g);
    if (!g.delay) {
        int argmax = g.temp == 0 || g.k == 1;
        if (!argmax && g.k > 1024) {
            snprintf(why, n, "top_k=%d: cuda/sample sorts at most 1024 kept classes in "
                     "shared memory (top_k 0 keeps all V=%lld)", g.k, g.V);
            return SONO_EUNSUPPORTED;
        }
        if (g.V > INT_MAX || g.rows > INT_MAX || g.C > INT_MAX) {
            snprintf(why, n, "V=%lld or rows=%lld beyond int", g.V, g.rows);
            return SONO_EUNSUPPORTED;
        }
    } else if (g.T + g.K > INT_MAX || g.nout > (1LL << 40)) {
        snprintf(why, n, "T=%lld out of range", g.T);
        return SONO_EUNSUPPORTED;
    }
    return cu_supports_common(p, 4.0 * (double)(g.nin + g.nout), why, n);
}

static void teardown(void *vst)
{
    gstate *st = vst;
    if (!st)
        return;
    cu_free(st->in);
    cu_free(st->out);
    free(st);
}

static int gen_run(void *vst);

static int setup(const void *ctx, const sono_params *p, void **stp, sono_error *err)
{
    int delay = *(const int *)ctx;
    const char *name = delay ? "delay" : "sample";
    char why[256];
    int rc;
    *stp = NULL;
    if ((rc = supports(ctx, p, why, sizeof why)) < 0)
        return sono_fail(err, rc, "cuda/%s: %s", name, why);
    gstate *st = calloc(1, sizeof *st);
    if (!st)
        return sono_fail(err, SONO_ENOMEM, "cuda/%s: cannot allocate its state", name);
    shape(delay, p, st);
    if ((rc = cu_hdr_init(&st->h, delay ? "codes.delay" : "sample.topk", name, gen_run, p,
                          err)))
        goto fail;
    cu_range_push(&st->h, "setup");
    if (!(rc = cu_alloc(&st->in, (size_t)st->nin * 4, st->h.label, err)))
        rc = cu_alloc((void **)&st->out, (size_t)st->nout * 4, st->h.label, err);
    if (!rc)
        rc = CU_OK(cudaDeviceSynchronize(), st->h.label, err);
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
    gstate *st = vst;
    sono_dtype want = st->delay ? SONO_I32 : SONO_F32;
    if (in->dtype != want || sono_buf_elems(in) != st->nin ||
        in->nbytes < (size_t)st->nin * 4)
        return sono_fail(err, SONO_EINVAL, "%s: input must be %s [%lld]; got dtype %d, %lld "
                         "elements", st->h.label, st->delay ? "i32" : "f32", st->nin,
                         (int)in->dtype, sono_buf_elems(in));
    cu_range_push(&st->h, "load");
    cudaStream_t s = st->h.dev->stream;
    int rc = CU_OK(cudaMemcpyAsync(st->in, in->data, (size_t)st->nin * 4,
                                   cudaMemcpyHostToDevice, s), st->h.label, err);
    if (!rc)
        rc = CU_OK(cudaStreamSynchronize(s), st->h.label, err);
    cu_range_pop();
    return rc;
}

static int gen_run(void *vst)
{
    gstate *st = vst;
    cudaStream_t s = st->h.dev->stream;
    if (st->delay)
        return CU_RUN(cu_delay_launch(st->in, st->B, (int)st->K, (int)st->T, st->undelay,
                                      st->pad, st->out, s), &st->h);
    return CU_RUN(cu_sample_launch(st->in, st->rows, (int)st->C, (int)st->V, st->k, st->temp,
                                   st->top_p, st->seed, st->out, s), &st->h);
}

static int store(void *vst, sono_buf *out, sono_error *err)
{
    gstate *st = vst;
    size_t need = (size_t)st->nout * 4;
    if (out->dtype != SONO_I32 || out->nbytes < need)
        return sono_fail(err, SONO_EINVAL, "%s: output must be i32 [%lld]", st->h.label,
                         st->nout);
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
    const gstate *st = vst;
    if (st->delay)
        snprintf(buf, n, "a thread per output code, 256 per block; %lld codes", st->nout);
    else
        snprintf(buf, n, "a 256-thread block per row (%lld rows): radix select of the "
                 "k-th logit, bitonic sort of up to %d candidates in shared memory, "
                 "sequential walk (sample_math.h); k=%d", st->rows, CU_SAMPLE_CAP, st->k);
    return 0;
}

static size_t workspace(void *vst)
{
    const gstate *st = vst;
    return sizeof *st + (size_t)(st->nin + st->nout) * 4;
}

const sono_impl cu_tok_impls[2] = {
    {.abi = SONO_ABI_VERSION, .op = "sample.topk", .name = "sample",
     .summary = "block per row: radix select, bitonic sort, shared walk (== cpu/naive)",
     .device = "cuda:0", .growth = SONO_ERR_LINEAR, .ctx = &k_sample, .supports = supports,
     .setup = setup, .load = load, .run = gen_run, .store = store, .teardown = teardown,
     .describe = describe, .workspace = workspace},
    {.abi = SONO_ABI_VERSION, .op = "codes.delay", .name = "delay",
     .summary = "the delay pattern's index map, a thread per output code",
     .device = "cuda:0", .growth = SONO_ERR_LOG, .ctx = &k_delay, .supports = supports,
     .setup = setup, .load = load, .run = gen_run, .store = store, .teardown = teardown,
     .describe = describe, .workspace = workspace},
};
