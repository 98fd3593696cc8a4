/* dsp.c — cuda/cufft and cuda/cufft-cublas for the audio front ends: framing + window
 * kernel from the raw signal, one cuFFT R2C plan over the frames of all clips (batch,
 * issue 10), then per op the layout change (stft) or the mel filterbank (computed on the
 * host by impls/common, uploaded in setup): cufft's fused power -> mel -> log kernel over
 * each filter's band, or cufft-cublas's power kernel and the dense filterbank as ONE
 * SGEMM over all frames of all clips. Then each clip's max by a reduction and the clamp
 * (fused with the log and the reordering into [batch, n_mels, frames] for cufft-cublas),
 * and mfcc's DCT as one strided-batched cuBLAS SGEMM. One file, a ctx flag apart. */
#include <stdlib.h>

#include <cublas_v2.h>
#include <cufft.h>

#include "cu.h"
#include "cuda_impls.h"
#include "dsp_math.h"
#include "frontend.h"
#include "kernels.h"

#define MAX_BLOCKS 256 /* partial maxima per clip of the reduction's first stage */

/* The impl tables' ctx: the op, and whether the filterbank is cuBLAS's SGEMM. */
typedef struct dsp_ctx {
    fe_op op;
    int gemm;
} dsp_ctx;

typedef struct state {
    cu_hdr h; /* first: the device's time_runs reads it */
    fe_dims d;
    int gemm;       /* cufft-cublas */
    size_t blocks;  /* first-stage blocks of the max, per clip */
    size_t out_bytes, dev_bytes;
    float *x, *win, *frames, *spec, *mel, *out, *w, *dct, *scratch, *max; /* device */
    float *melg;    /* cufft-cublas: the SGEMM's [n_mels, batch * frames] */
    int *first, *len;                                                     /* device */
    cufftHandle plan;
    int has_plan;
    size_t plan_work;
    cublasHandle_t blas;
    int has_blas;
} state;

static const char *const op_names[] = {"stft", "melspec", "logmel", "mfcc"};

/* Device bytes the case needs, for the memory gate and workspace(). cufft-cublas's power
 * reuses the frames buffer (n_fft >= nbins floats a frame), its SGEMM output is extra. */
static double dev_bytes(const fe_dims *d, int gemm)
{
    double B = (double)d->batch, f = B * (double)d->frames, b = 4.0;
    double mels = d->op == FE_STFT ? 0 : (double)d->n_mels;
    double mfcc_mel = d->op == FE_MFCC ? mels * f : 0;
    return b * (B * (double)d->samples + (double)d->n_fft + f * (double)d->n_fft +
                2.0 * f * (double)d->nbins + mfcc_mel + (gemm ? mels * f : 0) +
                B * (double)fe_out_floats(d) + mels * (double)d->nbins +
                (double)d->n_mfcc * mels + B * (MAX_BLOCKS + 1)) +
           8.0 * mels;
}

static int supports(const void *vctx, const sono_params *p, char *why, size_t n)
{
    const dsp_ctx *ctx = vctx;
    fe_dims d;
    int rc = fe_dims_get(ctx->op, p, 1, &d, why, n);
    if (rc)
        return rc;
    if (d.n_fft > (size_t)1 << 30 || d.batch * d.frames > (size_t)1 << 30) {
        snprintf(why, n, "n_fft=%zu and batch=%zu x frames=%zu must be below 2^30 (cuFFT and "
                 "cuBLAS take int)", d.n_fft, d.batch, d.frames);
        return SONO_EUNSUPPORTED;
    }
    return cu_supports_common(p, dev_bytes(&d, ctx->gemm), why, n);
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
                    st->dct, st->scratch, st->max, st->first, st->len, st->melg};
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
    for (size_t m = 0; !rc && m < nm; m++)
        dsp_band(w + m * d->nbins, d->nbins, &first[m], &len[m]);
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

static int setup(const void *vctx, const sono_params *p, void **stp, sono_error *err)
{
    const dsp_ctx *ctx = vctx;
    fe_op op = ctx->op;
    const char *impl = ctx->gemm ? "cufft-cublas" : "cufft";
    char why[256];
    int rc;

    *stp = NULL;
    if ((rc = supports(ctx, p, why, sizeof why)) < 0)
        return sono_fail(err, rc, "cuda/%s %s: %s", impl, op_names[op], why);
    state *st = calloc(1, sizeof *st);
    if (!st)
        return sono_fail(err, SONO_ENOMEM, "cuda/%s: cannot allocate its state", impl);
    (void)fe_dims_get(op, p, 1, &st->d, why, sizeof why);
    const fe_dims *d = &st->d;
    st->gemm = ctx->gemm;
    st->out_bytes = d->batch * fe_out_floats(d) * sizeof(float);
    size_t per = d->n_mels * d->frames; /* one clip's mel values, for the max's blocks */
    st->blocks = (per + 1023) / 1024 < MAX_BLOCKS ? (per + 1023) / 1024 : MAX_BLOCKS;
    st->blocks = st->blocks ? st->blocks : 1; /* stft: no mels, and no max either */
    if ((rc = cu_hdr_init(&st->h, op_names[op], impl, cu_dsp_run, p, err)))
        goto fail;
    cu_range_push(&st->h, "setup");
    size_t B = d->batch, f = B * d->frames, nm = op == FE_STFT ? 0 : d->n_mels;
    if ((rc = up((void **)&st->x, NULL, B * d->samples * sizeof(float), st, err)) ||
        (rc = up((void **)&st->frames, NULL, f * d->n_fft * sizeof(float), st, err)) ||
        (rc = up((void **)&st->spec, NULL, f * d->nbins * 2 * sizeof(float), st, err)) ||
        (rc = up((void **)&st->out, NULL, st->out_bytes, st, err)) ||
        (rc = up((void **)&st->scratch, NULL, B * MAX_BLOCKS * sizeof(float), st, err)) ||
        (rc = up((void **)&st->max, NULL, B * sizeof(float), st, err)) ||
        (op == FE_MFCC && (rc = up((void **)&st->mel, NULL, nm * f * sizeof(float), st, err))) ||
        (st->gemm && (rc = up((void **)&st->melg, NULL, nm * f * sizeof(float), st, err))) ||
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
    if (op == FE_MFCC || st->gemm) {
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
    st->dev_bytes = (size_t)dev_bytes(d, st->gemm);
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

/* cufft-cublas: |X|^power into the frames buffer (free once the FFT has run), then
 * melg[n_mels, B*frames] = W[n_mels, nbins] x P[B*frames, nbins]^T as ONE SGEMM: in
 * cuBLAS's column-major terms melg^T (B*f x n_mels) = P^T (B*f x nbins) x W^T. */
static int mel_gemm(state *st)
{
    const fe_dims *d = &st->d;
    size_t f = d->batch * d->frames;
    int rc = CU_RUN(cu_power_launch(st->spec, st->frames, f * d->nbins, d->power,
                                    st->h.dev->stream), &st->h);
    if (rc)
        return rc;
    const float one = 1.0f, zero = 0.0f;
    int nb = (int)d->nbins;
    cublasStatus_t b = cublasSgemm(st->blas, CUBLAS_OP_T, CUBLAS_OP_N, (int)f, (int)d->n_mels,
                                   nb, &one, st->frames, nb, st->w, nb, &zero, st->melg, (int)f);
    if (b != CUBLAS_STATUS_SUCCESS) {
        snprintf(st->h.msg, sizeof st->h.msg, "cublasSgemm (filterbank) failed: %s",
                 cublasGetStatusString(b));
        return SONO_EDEVICE;
    }
    return 0;
}

/* The mel values, per clip b, m, t: cufft's own [B, n_mels, frames] (already logged by
 * the mel kernel: log 0 here) or cufft-cublas's melg [n_mels, B, frames] (raw: the log
 * is fused into the finish). dst gets [B, n_mels, frames]; clamp: take each clip's max
 * first. whisper/top_db as cu_finish_launch's. */
static int finish(state *st, float *dst, int log, int clamp, int whisper, float top_db)
{
    const fe_dims *d = &st->d;
    cudaStream_t s = st->h.dev->stream;
    size_t f = d->frames, nm = d->n_mels, B = d->batch;
    const float *src = st->gemm ? st->melg : dst;
    size_t sb = st->gemm ? f : nm * f, sr = st->gemm ? B * f : f;
    int rc = 0;
    if (!st->gemm)
        log = 0;
    if (clamp)
        rc = CU_RUN(cu_max_launch(src, B, sb, sr, nm, f, st->scratch, st->blocks, st->max, s),
                    &st->h);
    if (!rc && (clamp || st->gemm)) /* cufft unclamped: the mel kernel wrote dst already */
        rc = CU_RUN(cu_finish_launch(src, sb, sr, dst, B, nm, f, clamp ? st->max : NULL, log,
                                     whisper, top_db, s), &st->h);
    return rc;
}

int cu_dsp_run(void *vst)
{
    state *st = vst;
    const fe_dims *d = &st->d;
    cudaStream_t s = st->h.dev->stream;
    size_t B = d->batch, f = d->frames;
    int rc;
    if ((rc = CU_RUN(cu_frame_sig_launch(st->x, d->samples, d->used,
                                         d->center ? d->n_fft / 2 : 0, st->win, st->frames,
                                         d->n_fft, d->hop, f, B, s), &st->h)))
        return rc;
    cufftResult r = cufftExecR2C(st->plan, st->frames, (cufftComplex *)st->spec);
    if (r != CUFFT_SUCCESS) {
        snprintf(st->h.msg, sizeof st->h.msg, "cufftExecR2C failed: %s", cu_cufft_error(r));
        return SONO_EDEVICE;
    }
    if (d->op == FE_STFT)
        return CU_RUN(cu_stft_out_launch(st->spec, st->out, d->nbins, f, B,
                                         d->out == FE_OUT_POWER ? 0
                                         : d->out == FE_OUT_MAGNITUDE ? 1 : 2, s), &st->h);
    /* logmel's and mfcc's steps: log 1 Whisper's, 2 dB (cu_mel_band_launch) */
    int log = d->op == FE_LOGMEL ? 1 : d->op == FE_MFCC ? 2 : 0;
    float *mel = d->op == FE_MFCC ? st->mel : st->out;
    if (st->gemm)
        rc = mel_gemm(st);
    else
        rc = CU_RUN(cu_mel_band_launch(st->spec, st->w, st->first, st->len, mel, d->nbins,
                                       d->n_mels, f, B, d->power, log, s), &st->h);
    if (!rc)
        rc = finish(st, mel, log, d->op == FE_LOGMEL || (d->op == FE_MFCC && d->top_db > 0),
                    d->op == FE_LOGMEL, (float)d->top_db);
    if (rc || d->op != FE_MFCC)
        return rc;
    /* per clip, row-major out[n_mfcc][f] = dct[n_mfcc][n_mels] mel[n_mels][f], as
     * column-major out^T (f x n_mfcc) = mel^T (f x n_mels) dct^T (n_mels x n_mfcc); the
     * clips strided, the DCT shared (stride 0) */
    const float one = 1.0f, zero = 0.0f;
    long long nm = (long long)d->n_mels, nc = (long long)d->n_mfcc, lf = (long long)f;
    cublasStatus_t b = cublasSgemmStridedBatched(
        st->blas, CUBLAS_OP_N, CUBLAS_OP_N, (int)f, (int)nc, (int)nm, &one, st->mel, (int)f,
        nm * lf, st->dct, (int)nm, 0, &zero, st->out, (int)f, nc * lf, (int)B);
    if (b != CUBLAS_STATUS_SUCCESS) {
        snprintf(st->h.msg, sizeof st->h.msg, "cublasSgemmStridedBatched (DCT) failed: %s",
                 cublasGetStatusString(b));
        return SONO_EDEVICE;
    }
    return 0;
}

static int store(void *vst, sono_buf *out, sono_error *err)
{
    state *st = vst;
    const fe_dims *d = &st->d;
    int complex = d->op == FE_STFT && d->out == FE_OUT_COMPLEX;
    if (out->dtype != (complex ? SONO_C64 : SONO_F32) || out->nbytes < st->out_bytes ||
        sono_buf_elems(out) != (long long)(d->batch * fe_rows(d) * d->frames))
        return sono_fail(err, SONO_EINVAL, "%s: output must be %s [batch=%zu, %zu, "
                         "frames=%zu]; got dtype %d, %lld elements, %zu bytes", st->h.label,
                         complex ? "c64" : "f32", d->batch, fe_rows(d), d->frames,
                         (int)out->dtype, sono_buf_elems(out), out->nbytes);
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
    const char *mel = st->gemm ? "power kernel, filterbank as one cublasSgemm over all frames "
                                 "[n_mels x nbins x batch*frames]"
                               : "fused power->mel kernel (band-limited)";
    const char *post = d->op == FE_LOGMEL ? ", per-clip max, log10+clamp"
                       : d->op == FE_MFCC ? ", per-clip max, dB+clamp, strided-batched "
                                            "cublasSgemm DCT"
                                          : "";
    snprintf(buf, n, "frame+window kernel, cufftPlanMany R2C n_fft=%zu batch=%zu (%zu clips x "
             "%zu frames) work_bytes=%zu%s%s%s", d->n_fft, d->batch * d->frames, d->batch,
             d->frames, st->plan_work, d->op == FE_STFT ? "" : ", ",
             d->op == FE_STFT ? "" : mel, post);
    return 0;
}

static size_t workspace(void *vst)
{
    const state *st = vst;
    return sizeof *st + st->dev_bytes + st->plan_work;
}

static const dsp_ctx ctxs[2][4] = {
    {{FE_STFT, 0}, {FE_MELSPEC, 0}, {FE_LOGMEL, 0}, {FE_MFCC, 0}},
    {{FE_STFT, 1}, {FE_MELSPEC, 1}, {FE_LOGMEL, 1}, {FE_MFCC, 1}},
};

#define DSP_IMPL(OP, I, G, NAME, SUMMARY)                                                    \
    {.abi = SONO_ABI_VERSION, .op = OP, .name = NAME, .summary = SUMMARY,                    \
     .device = "cuda:0", .growth = SONO_ERR_LOG, .ctx = &ctxs[G][I], .supports = supports,  \
     .setup = setup, .load = load, .run = cu_dsp_run, .store = store,                       \
     .teardown = teardown, .describe = describe, .workspace = workspace}

const sono_impl cu_dsp_impls[7] = {
    DSP_IMPL("stft", FE_STFT, 0, "cufft",
             "framing kernel + cuFFT R2C over all frames + layout kernel"),
    DSP_IMPL("melspec", FE_MELSPEC, 0, "cufft",
             "cuFFT R2C over frames + fused power->mel kernel"),
    DSP_IMPL("logmel", FE_LOGMEL, 0, "cufft",
             "cuFFT R2C over frames + fused power->mel->log10, max, clamp"),
    DSP_IMPL("mfcc", FE_MFCC, 0, "cufft",
             "cuFFT R2C over frames + fused power->mel->dB, clamp, SGEMM DCT"),
    /* issue 10: the filterbank as one dense cuBLAS SGEMM over all frames of all clips */
    DSP_IMPL("melspec", FE_MELSPEC, 1, "cufft-cublas",
             "cuFFT R2C over frames + power kernel + filterbank as one cuBLAS SGEMM"),
    DSP_IMPL("logmel", FE_LOGMEL, 1, "cufft-cublas",
             "cuFFT R2C + power kernel + cuBLAS SGEMM filterbank + fused log10/clamp"),
    DSP_IMPL("mfcc", FE_MFCC, 1, "cufft-cublas",
             "cuFFT R2C + power kernel + cuBLAS SGEMM filterbank + dB/clamp + SGEMM DCT"),
};
