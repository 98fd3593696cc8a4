/* dsp.c — cuda/cufft for the audio front ends (stft, melspec, logmel, mfcc): framing +
 * window kernel from the raw signal, cuFFT R2C batched over all frames, then per op the
 * layout change (stft) or the fused power -> mel -> log kernel (filterbank computed on
 * the host by impls/common, uploaded in setup), logmel's and mfcc's global max by a
 * reduction and the clamp, mfcc's DCT as one cuBLAS SGEMM. */
#include <stdlib.h>

#include <cublas_v2.h>
#include <cufft.h>

#include "cu.h"
#include "cuda_impls.h"
#include "frontend.h"
#include "kernels.h"

#define MAX_BLOCKS 256 /* partial maxima of the reduction's first stage */

typedef struct state {
    cu_hdr h; /* first: the device's time_runs reads it */
    fe_dims d;
    size_t out_bytes, dev_bytes;
    float *x, *win, *frames, *spec, *mel, *out, *w, *dct, *scratch, *max; /* device */
    int *first, *len;                                                     /* device */
    cufftHandle plan;
    int has_plan;
    size_t plan_work;
    cublasHandle_t blas;
    int has_blas;
} state;

static const char *const op_names[] = {"stft", "melspec", "logmel", "mfcc"};

/* Device bytes the case needs, for the memory gate and workspace(). */
static double dev_bytes(const fe_dims *d)
{
    double f = (double)d->frames, b = 4.0;
    double mels = d->op == FE_STFT ? 0 : (double)d->n_mels;
    return b * ((double)d->samples + (double)d->n_fft + f * (double)d->n_fft +
                2.0 * f * (double)d->nbins + mels * f + (double)fe_out_floats(d) +
                mels * (double)d->nbins + (double)d->n_mfcc * mels + MAX_BLOCKS + 1) +
           8.0 * mels;
}

static int supports(const void *ctx, const sono_params *p, char *why, size_t n)
{
    fe_dims d;
    int rc = fe_dims_get(*(const fe_op *)ctx, p, 1, &d, why, n);
    if (rc)
        return rc;
    if (d.n_fft > (size_t)1 << 30 || d.frames > (size_t)1 << 30) {
        snprintf(why, n, "n_fft=%zu and frames=%zu must be below 2^30 (cuFFT takes int)",
                 d.n_fft, d.frames);
        return SONO_EUNSUPPORTED;
    }
    return cu_supports_common(p, dev_bytes(&d), why, n);
}

static void teardown(void *vst)
{
    state *st = vst;
    if (!st)
        return;
    if (st->has_plan)
        (void)cufftDestroy(st->plan);
    if (st->has_blas)
        (void)cublasDestroy(st->blas);
    void *bufs[] = {st->x, st->win, st->frames, st->spec, st->mel, st->out, st->w,
                    st->dct, st->scratch, st->max, st->first, st->len};
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

/* The host tables: window, dense filterbank with each filter's nonzero band, DCT. */
static int tables(state *st, sono_error *err)
{
    const fe_dims *d = &st->d;
    size_t nm = d->op == FE_STFT ? 0 : d->n_mels;
    float *win = malloc(d->n_fft * sizeof *win);
    float *w = nm ? malloc(nm * d->nbins * sizeof *w) : NULL;
    int *first = nm ? malloc(nm * sizeof *first) : NULL, *len = nm ? malloc(nm * sizeof *len)
                                                                 : NULL;
    float *dct = d->op == FE_MFCC ? malloc(d->n_mfcc * d->n_mels * sizeof *dct) : NULL;
    int rc = 0;
    if (!win || (nm && (!w || !first || !len)) || (d->op == FE_MFCC && !dct))
        rc = sono_fail(err, SONO_ENOMEM, "%s: no memory for the host tables", st->h.label);
    if (!rc) {
        fe_window_make(d, win);
        rc = up((void **)&st->win, win, d->n_fft * sizeof *win, st, err);
    }
    if (!rc && nm && (rc = fe_mel_dense(d, w)))
        rc = sono_fail(err, rc, "%s: no memory for the filterbank", st->h.label);
    for (size_t m = 0; !rc && m < nm; m++) {
        size_t a = 0, b = 0; /* [a, b): the span of nonzero weights */
        for (size_t k = 0; k < d->nbins; k++)
            if (w[m * d->nbins + k] != 0.0f) {
                if (b == 0)
                    a = k;
                b = k + 1;
            }
        first[m] = (int)a;
        len[m] = (int)(b - a);
    }
    if (!rc && nm)
        rc = up((void **)&st->w, w, nm * d->nbins * sizeof *w, st, err);
    if (!rc && nm)
        rc = up((void **)&st->first, first, nm * sizeof *first, st, err);
    if (!rc && nm)
        rc = up((void **)&st->len, len, nm * sizeof *len, st, err);
    if (!rc && dct) {
        fe_dct_make(d, dct);
        rc = up((void **)&st->dct, dct, d->n_mfcc * d->n_mels * sizeof *dct, st, err);
    }
    free(win);
    free(w);
    free(first);
    free(len);
    free(dct);
    return rc;
}

static int setup(const void *ctx, const sono_params *p, void **stp, sono_error *err)
{
    fe_op op = *(const fe_op *)ctx;
    char why[256];
    int rc;

    *stp = NULL;
    if ((rc = supports(ctx, p, why, sizeof why)) < 0)
        return sono_fail(err, rc, "cuda/cufft %s: %s", op_names[op], why);
    state *st = calloc(1, sizeof *st);
    if (!st)
        return sono_fail(err, SONO_ENOMEM, "cuda/cufft: cannot allocate its state");
    (void)fe_dims_get(op, p, 1, &st->d, why, sizeof why);
    const fe_dims *d = &st->d;
    st->out_bytes = fe_out_floats(d) * sizeof(float);
    if ((rc = cu_hdr_init(&st->h, op_names[op], "cufft", cu_dsp_run, p, err)))
        goto fail;
    cu_range_push(&st->h, "setup");
    size_t f = d->frames, nm = op == FE_STFT ? 0 : d->n_mels;
    if ((rc = up((void **)&st->x, NULL, d->samples * sizeof(float), st, err)) ||
        (rc = up((void **)&st->frames, NULL, f * d->n_fft * sizeof(float), st, err)) ||
        (rc = up((void **)&st->spec, NULL, f * d->nbins * 2 * sizeof(float), st, err)) ||
        (rc = up((void **)&st->out, NULL, st->out_bytes, st, err)) ||
        (rc = up((void **)&st->scratch, NULL, MAX_BLOCKS * sizeof(float), st, err)) ||
        (rc = up((void **)&st->max, NULL, sizeof(float), st, err)) ||
        (op == FE_MFCC && (rc = up((void **)&st->mel, NULL, nm * f * sizeof(float), st, err))) ||
        (rc = tables(st, err)))
        goto fail_range;
    int n = (int)d->n_fft, odist = (int)d->nbins;
    cufftResult r = cufftCreate(&st->plan);
    if (r == CUFFT_SUCCESS) {
        st->has_plan = 1;
        r = cufftMakePlanMany(st->plan, 1, &n, NULL, 1, n, NULL, 1, odist, CUFFT_R2C, (int)f,
                              &st->plan_work);
    }
    if (r == CUFFT_SUCCESS)
        r = cufftSetStream(st->plan, st->h.dev->stream);
    if (r != CUFFT_SUCCESS) {
        rc = sono_fail(err, SONO_EDEVICE, "%s: cuFFT R2C plan n_fft=%d batch=%zu failed: %s",
                       st->h.label, n, f, cu_cufft_error(r));
        goto fail_range;
    }
    if (op == FE_MFCC) {
        cublasStatus_t s = cublasCreate(&st->blas);
        if (s == CUBLAS_STATUS_SUCCESS) {
            st->has_blas = 1;
            s = cublasSetStream(st->blas, st->h.dev->stream);
        }
        if (s == CUBLAS_STATUS_SUCCESS) /* plain FP32: no TF32, the tolerance assumes float */
            s = cublasSetMathMode(st->blas, CUBLAS_DEFAULT_MATH);
        if (s != CUBLAS_STATUS_SUCCESS) {
            rc = sono_fail(err, SONO_EDEVICE, "%s: cuBLAS handle: %s", st->h.label,
                           cublasGetStatusString(s));
            goto fail_range;
        }
    }
    rc = CU_OK(cudaDeviceSynchronize(), st->h.label, err);
fail_range:
    cu_range_pop();
    if (rc)
        goto fail;
    st->dev_bytes = (size_t)dev_bytes(d);
    *stp = st;
    return 0;
fail:
    teardown(st);
    return rc;
}

static int load(void *vst, const sono_buf *in, sono_error *err)
{
    state *st = vst;
    size_t need = st->d.samples * sizeof(float);
    if (in->dtype != SONO_F32 || sono_buf_elems(in) != (long long)st->d.samples ||
        in->nbytes < need)
        return sono_fail(err, SONO_EINVAL, "%s: input must be f32 [samples=%zu]; got dtype "
                         "%d, %lld elements, %zu bytes", st->h.label, st->d.samples,
                         (int)in->dtype, sono_buf_elems(in), in->nbytes);
    cu_range_push(&st->h, "load");
    int rc = CU_OK(cudaMemcpyAsync(st->x, in->data, need, cudaMemcpyHostToDevice,
                                   st->h.dev->stream), st->h.label, err);
    if (!rc)
        rc = CU_OK(cudaStreamSynchronize(st->h.dev->stream), st->h.label, err);
    cu_range_pop();
    return rc;
}

int cu_dsp_run(void *vst)
{
    state *st = vst;
    const fe_dims *d = &st->d;
    cudaStream_t s = st->h.dev->stream;
    size_t f = d->frames, rows = fe_rows(d), n = rows * f;
    int rc;
    if ((rc = CU_RUN(cu_frame_sig_launch(st->x, d->samples, d->used,
                                         d->center ? d->n_fft / 2 : 0, st->win, st->frames,
                                         d->n_fft, d->hop, f, s), &st->h)))
        return rc;
    cufftResult r = cufftExecR2C(st->plan, st->frames, (cufftComplex *)st->spec);
    if (r != CUFFT_SUCCESS) {
        snprintf(st->h.msg, sizeof st->h.msg, "cufftExecR2C failed: %s", cu_cufft_error(r));
        return SONO_EDEVICE;
    }
    switch (d->op) {
    case FE_STFT:
        return CU_RUN(cu_stft_out_launch(st->spec, st->out, d->nbins, f,
                                         d->out == FE_OUT_POWER ? 0
                                         : d->out == FE_OUT_MAGNITUDE ? 1 : 2, s), &st->h);
    case FE_MELSPEC:
        return CU_RUN(cu_mel_band_launch(st->spec, st->w, st->first, st->len, st->out,
                                         d->nbins, d->n_mels, f, d->power, 0, s), &st->h);
    case FE_LOGMEL:
        if ((rc = CU_RUN(cu_mel_band_launch(st->spec, st->w, st->first, st->len, st->out,
                                            d->nbins, d->n_mels, f, 2.0, 1, s), &st->h)) ||
            (rc = CU_RUN(cu_max_launch(st->out, n, st->scratch, MAX_BLOCKS, st->max, s),
                         &st->h)))
            return rc;
        return CU_RUN(cu_clamp_launch(st->out, n, st->max, 1, 0, s), &st->h);
    case FE_MFCC: {
        size_t nm = d->n_mels * f;
        if ((rc = CU_RUN(cu_mel_band_launch(st->spec, st->w, st->first, st->len, st->mel,
                                            d->nbins, d->n_mels, f, 2.0, 2, s), &st->h)))
            return rc;
        if (d->top_db > 0 &&
            ((rc = CU_RUN(cu_max_launch(st->mel, nm, st->scratch, MAX_BLOCKS, st->max, s),
                          &st->h)) ||
             (rc = CU_RUN(cu_clamp_launch(st->mel, nm, st->max, 0, (float)d->top_db, s),
                          &st->h))))
            return rc;
        /* row-major out[n_mfcc][f] = dct[n_mfcc][n_mels] mel[n_mels][f], as column-major
         * out^T (f x n_mfcc) = mel^T (f x n_mels) dct^T (n_mels x n_mfcc) */
        const float one = 1.0f, zero = 0.0f;
        cublasStatus_t b = cublasSgemm(st->blas, CUBLAS_OP_N, CUBLAS_OP_N, (int)f,
                                       (int)d->n_mfcc, (int)d->n_mels, &one, st->mel, (int)f,
                                       st->dct, (int)d->n_mels, &zero, st->out, (int)f);
        if (b != CUBLAS_STATUS_SUCCESS) {
            snprintf(st->h.msg, sizeof st->h.msg, "cublasSgemm failed: %s",
                     cublasGetStatusString(b));
            return SONO_EDEVICE;
        }
        return 0;
    }
    }
    return SONO_EINTERNAL;
}

static int store(void *vst, sono_buf *out, sono_error *err)
{
    state *st = vst;
    const fe_dims *d = &st->d;
    int complex = d->op == FE_STFT && d->out == FE_OUT_COMPLEX;
    if (out->dtype != (complex ? SONO_C64 : SONO_F32) || out->nbytes < st->out_bytes ||
        sono_buf_elems(out) != (long long)(fe_rows(d) * d->frames))
        return sono_fail(err, SONO_EINVAL, "%s: output must be %s [%zu, frames=%zu]; got "
                         "dtype %d, %lld elements, %zu bytes", st->h.label,
                         complex ? "c64" : "f32", fe_rows(d), d->frames, (int)out->dtype,
                         sono_buf_elems(out), out->nbytes);
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
    snprintf(buf, n, "frame+window kernel, cufftPlanMany R2C n_fft=%zu batch=%zu "
             "work_bytes=%zu%s", st->d.n_fft, st->d.frames, st->plan_work,
             st->d.op == FE_STFT ? "" : st->d.op == FE_MFCC
                 ? ", fused power->mel->dB kernel (band-limited), max+clamp, cublasSgemm DCT"
                 : ", fused power->mel->log kernel (band-limited), max+clamp");
    return 0;
}

static size_t workspace(void *vst)
{
    const state *st = vst;
    return sizeof *st + st->dev_bytes + st->plan_work;
}

#define DSP_IMPL(OP, I, SUMMARY)                                                             \
    {.abi = SONO_ABI_VERSION, .op = OP, .name = "cufft", .summary = SUMMARY,                 \
     .device = "cuda:0", .growth = SONO_ERR_LOG, .ctx = &fe_ops[I], .supports = supports,   \
     .setup = setup, .load = load, .run = cu_dsp_run, .store = store,                       \
     .teardown = teardown, .describe = describe, .workspace = workspace}

const sono_impl cu_dsp_impls[4] = {
    DSP_IMPL("stft", FE_STFT, "framing kernel + cuFFT R2C over all frames + layout kernel"),
    DSP_IMPL("melspec", FE_MELSPEC, "cuFFT R2C over frames + fused power->mel kernel"),
    DSP_IMPL("logmel", FE_LOGMEL, "cuFFT R2C over frames + fused power->mel->log10, max, clamp"),
    DSP_IMPL("mfcc", FE_MFCC, "cuFFT R2C over frames + fused power->mel->dB, clamp, SGEMM DCT"),
};
