/* stft.c — op "stft": short-time Fourier transform of a float32 signal (periodic window,
 * centred by reflection, one DFT of n_fft per hop), as power, magnitude or complex
 * [nbins, frames]; the definitions are in dsp_common.h. */
#include <math.h>
#include <stdlib.h>

#include "dsp_tol.h"
#include "spec64.h"

static int validate(const sono_params *p, sono_error *err)
{
    sono_dsp_dims d;
    return sono_dsp_dims_get("stft", p, &d, err);
}

static void shapes(const sono_params *p, sono_buf *in, sono_buf *out)
{
    sono_dsp_dims d;
    sono_dsp_dims_get("stft", p, &d, NULL);
    *in = (sono_buf){.dtype = SONO_F32, .ndim = 1, .shape = {d.samples}};
    *out = (sono_buf){.dtype = d.stft_output == 2 ? SONO_C64 : SONO_F32,
                      .ndim = 2,
                      .shape = {d.nbins, d.frames}};
    sono_dsp_batch_shapes(&d, in, out);
}

static int ref_complex(const sono_dsp_dims *d, const float *x, double *y, sono_error *err)
{
    return sono_stft64(d, x, y, err);
}

static int ref_pow(const sono_dsp_dims *d, const float *x, double *y, sono_error *err)
{
    return sono_stft64_pow(d, x, d->stft_output == 1 ? 1.0 : 2.0, y, err);
}

static int reference(const sono_params *p, const sono_buf *in, sono_buf *ref,
                     sono_error *err)
{
    sono_dsp_dims d;
    int rc = sono_dsp_dims_get("stft", p, &d, err);
    /* clip by clip (dsp_common.h: batch): each clip's output a block of the reference */
    long long per = d.nbins * d.frames * (d.stft_output == 2 ? 2 : 1);
    return rc ? rc : sono_dsp_per_clip(&d, in->data, ref->data, per,
                                       d.stft_output == 2 ? ref_complex : ref_pow, err);
}

/* Per frame: a real FFT of n_fft as benchFFT counts it (2.5 n log2 n), the window (n_fft
 * multiplies), then per bin 3 for |X|^2 and 1 more for the square root of magnitude;
 * complex output stops at the FFT. Bytes: the input and the output once. */
static void cost(const sono_params *p, sono_cost *c)
{
    sono_dsp_dims d;
    if (sono_dsp_dims_get("stft", p, &d, NULL)) {
        *c = (sono_cost){0};
        return;
    }
    double n = (double)d.n_fft, per_bin = d.stft_output == 0 ? 3 : d.stft_output == 1 ? 4 : 0;
    c->flops = (double)d.frames * (2.5 * n * log2(n) + n + per_bin * (double)d.nbins);
    c->bytes = 4.0 * (double)d.samples +
               (d.stft_output == 2 ? 8.0 : 4.0) * (double)(d.nbins * d.frames);
    c->flops *= (double)d.batch; /* batch: independent clips */
    c->bytes *= (double)d.batch;
}

static double tolerance(const sono_params *p, sono_err_growth g)
{
    sono_dsp_dims d;
    sono_dsp_dims_get("stft", p, &d, NULL);
    return sono_dsp_tol_stft(&d, g);
}

/* Streaming: samples in, frames out (dsp_common.h). */
static int stream_shape(const sono_params *p, sono_stream_shape *s, sono_error *err)
{
    return sono_dsp_stream_shape("stft", p, s, err);
}

const sono_op sono_op_stft = {
    .name = "stft",
    .summary = "short-time Fourier transform: power, magnitude or complex [nbins, frames]",
    .params = sono_stft_params,
    .nparams = 9, /* sono_stft_nparams (not a constant expression); a test compares */
    .validate = validate,
    .shapes = shapes,
    .reference = reference,
    .cost = cost,
    .tolerance = tolerance,
    .rate = sono_dsp_rate,
    .stream_shape = stream_shape,
    .size_param = "seconds",
    .size_label = "input length (s of audio)",
    .merit = SONO_MERIT_XRT,
};
