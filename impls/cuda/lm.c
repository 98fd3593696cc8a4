/* lm.c — cuda/fused (issue 26): Whisper's log-mel in two launches of our own kernels
 * (lm_kernels.cu), no cuFFT: samples to logged mel tiles in one kernel (framing through the
 * reflection and pad_or_trim, window, our shared-memory Stockham FFT two frames at a time,
 * power, the sparse filterbank, log10, each block's max), then each clip's max and the
 * clamp. The window, the twiddle table and the filterbank's bands are made on the host
 * (impls/common/frontend.c's, as cuda/cufft uses) and uploaded in setup. */
#include <limits.h>
#include <math.h>
#include <stdlib.h>

#include "cu.h"
#include "cuda_impls.h"
#include "frontend.h"
#include "lm_kernels.h"

typedef struct state {
    cu_hdr h; /* first: the device's time_runs reads it */
    fe_dims d;
    size_t out_bytes, dev_bytes, nwt;
    float *x, *win, *out, *part, *wt; /* device */
    int *first, *len, *off;           /* device */
    sk_cf *tw;                        /* device */
} state;

static double dev_bytes(const fe_dims *d, size_t nwt)
{
    double B = (double)d->batch;
    return 4.0 * (B * (double)d->samples + (double)d->n_fft + B * (double)fe_out_floats(d) +
                  B * (double)lm_blocks((unsigned)d->frames) + (double)nwt +
                  3.0 * (double)d->n_mels) +
           8.0 * (double)d->n_fft;
}

static int supports(const void *ctx, const sono_params *p, char *why, size_t n)
{
    (void)ctx;
    fe_dims d;
    int r[SK_MAX_PASSES], rc = fe_dims_get(FE_LOGMEL, p, 1, &d, why, n);
    if (rc)
        return rc;
    if (d.n_fft > LM_NFFT_MAX || !sk_plan((unsigned)d.n_fft, r) || sk_plan((unsigned)d.n_fft, r) > 8) {
        snprintf(why, n, "n_fft=%zu: the fused kernel's FFT takes n_fft = 2^a 3^b 5^c up to %u "
                 "(Whisper's 400, 512)", d.n_fft, LM_NFFT_MAX);
        return SONO_EUNSUPPORTED;
    }
    if (d.batch > 65535 || d.frames > (size_t)UINT_MAX / 2 || d.samples > ((size_t)1 << 40) ||
        d.hop > UINT_MAX / 2) {
        snprintf(why, n, "batch=%zu (at most 65535: a grid dimension) or frames=%zu out of "
                 "the kernel's range", d.batch, d.frames);
        return SONO_EUNSUPPORTED;
    }
    /* the filterbank's nonzero weights: at most n_mels x nbins */
    return cu_supports_common(p, dev_bytes(&d, d.n_mels * d.nbins), why, n);
}

static void teardown(void *vst)
{
    state *st = vst;
    if (!st)
        return;
    void *bufs[] = {st->x, st->win, st->out, st->part, st->wt, st->first, st->len, st->off,
                    st->tw};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        cu_free(bufs[i]);
    free(st);
}

static int up(void **dst, const void *src, size_t bytes, state *st, sono_error *err)
{
    int rc = cu_alloc(dst, bytes, st->h.label, err);
    if (!rc && src)
        rc = CU_OK(cudaMemcpy(*dst, src, bytes, cudaMemcpyHostToDevice), st->h.label, err);
    return rc;
}

/* Window, twiddles, and the sparse filterbank with its size_t index arrays as ints. */
static int tables(state *st, sono_error *err)
{
    const fe_dims *d = &st->d;
    size_t n = d->n_fft, nm = d->n_mels;
    fe_melbank bank = {0};
    float *win = malloc(n * sizeof *win);
    sk_cf *tw = malloc(n * sizeof *tw);
    int *idx = malloc(3 * nm * sizeof *idx);
    int rc = !win || !tw || !idx ? SONO_ENOMEM : fe_melbank_make(d, &bank);
    if (rc) {
        rc = sono_fail(err, SONO_ENOMEM, "%s: no memory for the host tables", st->h.label);
        goto done;
    }
    fe_window_make(d, win);
    for (size_t t = 0; t < n; t++) {
        double a = -2.0 * M_PI * (double)t / (double)n;
        tw[t] = (sk_cf){(float)cos(a), (float)sin(a)};
    }
    for (size_t m = 0; m < nm; m++) {
        idx[m] = (int)bank.first[m];
        idx[nm + m] = (int)bank.len[m];
        idx[2 * nm + m] = (int)bank.off[m];
    }
    st->nwt = bank.nwt;
    if (!(rc = up((void **)&st->win, win, n * sizeof *win, st, err)) &&
        !(rc = up((void **)&st->tw, tw, n * sizeof *tw, st, err)) &&
        !(rc = up((void **)&st->first, idx, nm * sizeof *idx, st, err)) &&
        !(rc = up((void **)&st->len, idx + nm, nm * sizeof *idx, st, err)) &&
        !(rc = up((void **)&st->off, idx + 2 * nm, nm * sizeof *idx, st, err)))
        rc = up((void **)&st->wt, bank.wt, (bank.nwt ? bank.nwt : 1) * sizeof(float), st, err);
done:
    fe_melbank_free(&bank);
    free(win);
    free(tw);
    free(idx);
    return rc;
}

int cu_lm_run(void *vst);

static int setup(const void *ctx, const sono_params *p, void **stp, sono_error *err)
{
    char why[256];
    int rc;
    *stp = NULL;
    if ((rc = supports(ctx, p, why, sizeof why)) < 0)
        return sono_fail(err, rc, "cuda/fused logmel: %s", why);
    state *st = calloc(1, sizeof *st);
    if (!st)
        return sono_fail(err, SONO_ENOMEM, "cuda/fused: cannot allocate its state");
    (void)fe_dims_get(FE_LOGMEL, p, 1, &st->d, why, sizeof why);
    const fe_dims *d = &st->d;
    st->out_bytes = d->batch * fe_out_floats(d) * sizeof(float);
    if ((rc = cu_hdr_init(&st->h, "logmel", "fused", cu_lm_run, p, err)))
        goto fail;
    cu_range_push(&st->h, "setup");
    if (!(rc = up((void **)&st->x, NULL, d->batch * d->samples * sizeof(float), st, err)) &&
        !(rc = up((void **)&st->out, NULL, st->out_bytes, st, err)) &&
        !(rc = up((void **)&st->part, NULL,
                  d->batch * lm_blocks((unsigned)d->frames) * sizeof(float), st, err)) &&
        !(rc = tables(st, err)))
        rc = CU_OK(cudaDeviceSynchronize(), st->h.label, err);
    cu_range_pop();
    if (rc)
        goto fail;
    st->dev_bytes = (size_t)dev_bytes(d, st->nwt);
    *stp = st;
    return 0;
fail:
    teardown(st);
    return rc;
}

static int load(void *vst, const sono_buf *in, sono_error *err)
{
    state *st = vst;
    size_t n = st->d.batch * st->d.samples, need = n * sizeof(float);
    if (in->dtype != SONO_F32 || sono_buf_elems(in) != (long long)n || in->nbytes < need)
        return sono_fail(err, SONO_EINVAL, "%s: input must be f32 [batch=%zu, samples=%zu]; "
                         "got dtype %d, %lld elements, %zu bytes", st->h.label, st->d.batch,
                         st->d.samples, (int)in->dtype, sono_buf_elems(in), in->nbytes);
    cu_range_push(&st->h, "load");
    int rc = CU_OK(cudaMemcpyAsync(st->x, in->data, need, cudaMemcpyHostToDevice,
                                   st->h.dev->stream), st->h.label, err);
    if (!rc)
        rc = CU_OK(cudaStreamSynchronize(st->h.dev->stream), st->h.label, err);
    cu_range_pop();
    return rc;
}

int cu_lm_run(void *vst)
{
    state *st = vst;
    const fe_dims *d = &st->d;
    lm_bank bk = {st->first, st->len, st->off, st->wt, (unsigned)d->n_mels};
    lm_geom g = {d->samples, d->used, d->center ? d->n_fft / 2 : 0, (unsigned)d->n_fft,
                 (unsigned)d->hop, (unsigned)d->frames, (float)d->power};
    return CU_RUN(cu_lm_launch(st->x, st->win, st->tw, bk, g, (unsigned)d->batch, st->out,
                               st->part, st->h.dev->stream), &st->h);
}

static int store(void *vst, sono_buf *out, sono_error *err)
{
    state *st = vst;
    const fe_dims *d = &st->d;
    if (out->dtype != SONO_F32 || out->nbytes < st->out_bytes ||
        sono_buf_elems(out) != (long long)(d->batch * d->n_mels * d->frames))
        return sono_fail(err, SONO_EINVAL, "%s: output must be f32 [batch=%zu, n_mels=%zu, "
                         "frames=%zu]; got dtype %d, %lld elements, %zu bytes", st->h.label,
                         d->batch, d->n_mels, d->frames, (int)out->dtype, sono_buf_elems(out),
                         out->nbytes);
    cu_range_push(&st->h, "store");
    int rc = CU_OK(cudaMemcpyAsync(out->data, st->out, st->out_bytes, cudaMemcpyDeviceToHost,
                                   st->h.dev->stream), st->h.label, err);
    if (!rc)
        rc = CU_OK(cudaStreamSynchronize(st->h.dev->stream), st->h.label, err);
    cu_range_pop();
    return rc;
}

static int describe(void *vst, char *buf, size_t n)
{
    state *st = vst;
    const fe_dims *d = &st->d;
    int r[SK_MAX_PASSES], np = sk_plan((unsigned)d->n_fft, r);
    char plan[64] = "";
    for (int p = 0, o = 0; p < np && o < (int)sizeof plan - 4; p++)
        o += snprintf(plan + o, sizeof plan - (size_t)o, "%s%d", p ? "x" : "", r[p]);
    snprintf(buf, n, "fused mel kernel (%u frames a block, 2 frames per complex Stockham FFT "
             "n_fft=%zu radix %s in shared memory, band-limited filterbank of %zu weights, "
             "log10, block max) + clamp kernel; %zu clips x %zu frames", LM_FPB, d->n_fft, plan,
             st->nwt, d->batch, d->frames);
    return 0;
}

static size_t workspace(void *vst)
{
    const state *st = vst;
    return sizeof *st + st->dev_bytes;
}

const sono_impl cu_lm_impls[1] = {
    {.abi = SONO_ABI_VERSION, .op = "logmel", .name = "fused",
     .summary = "own fused kernel: frames, window, Stockham FFT, power, sparse mel, log10, max; "
                "then the clamp (two launches, no cuFFT)",
     .device = "cuda:0", .growth = SONO_ERR_LOG, .supports = supports, .setup = setup,
     .load = load, .run = cu_lm_run, .store = store, .teardown = teardown,
     .describe = describe, .workspace = workspace},
};
