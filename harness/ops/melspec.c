/* melspec.c — op "melspec": mel spectrogram [n_mels, frames], the triangular filterbank
 * (slaney or htk scale, slaney or no norm) applied to |X|^power of a centred hann STFT;
 * the definitions are in dsp_common.h. */
#include <math.h>

#include "dsp_tol.h"
#include "mel64.h"

static int validate(const sono_params *p, sono_error *err)
{
    sono_dsp_dims d;
    return sono_dsp_dims_get("melspec", p, &d, err);
}

static void shapes(const sono_params *p, sono_buf *in, sono_buf *out)
{
    sono_dsp_dims d;
    sono_dsp_dims_get("melspec", p, &d, NULL);
    *in = (sono_buf){.dtype = SONO_F32, .ndim = 1, .shape = {d.samples}};
    *out = (sono_buf){.dtype = SONO_F32, .ndim = 2, .shape = {d.n_mels, d.frames}};
    sono_dsp_batch_shapes(&d, in, out);
}

static int reference(const sono_params *p, const sono_buf *in, sono_buf *ref,
                     sono_error *err)
{
    sono_dsp_dims d;
    int rc = sono_dsp_dims_get("melspec", p, &d, err);
    /* clip by clip (dsp_common.h: batch) */
    return rc ? rc : sono_dsp_per_clip(&d, in->data, ref->data, d.n_mels * d.frames,
                                       sono_melspec64, err);
}

/* Per frame: the real FFT (2.5 n log2 n, benchFFT), the window (n_fft), |X|^2 (3 per
 * bin, 1 more for the pow when power != 2), and 2 flops (multiply, add) per nonzero
 * filterbank weight: the useful work, whatever an impl does with the zeros. Bytes: the
 * input and the output once. */
static void cost(const sono_params *p, sono_cost *c)
{
    sono_dsp_dims d;
    if (sono_dsp_dims_get("melspec", p, &d, NULL)) {
        *c = (sono_cost){0};
        return;
    }
    double n = (double)d.n_fft, per_bin = d.power == 2.0 ? 3 : 4;
    c->flops = (double)d.frames * (2.5 * n * log2(n) + n + per_bin * (double)d.nbins +
                                   2.0 * (double)sono_melbank64_nnz(&d));
    c->bytes = 4.0 * (double)d.samples + 4.0 * (double)(d.n_mels * d.frames);
    c->flops *= (double)d.batch; /* batch: independent clips */
    c->bytes *= (double)d.batch;
}

static double tolerance(const sono_params *p, sono_err_growth g)
{
    sono_dsp_dims d;
    sono_dsp_dims_get("melspec", p, &d, NULL);
    return sono_dsp_tol_melspec(&d, g);
}

/* Streaming: samples in, frames out (dsp_common.h). */
static int stream_shape(const sono_params *p, sono_stream_shape *s, sono_error *err)
{
    return sono_dsp_stream_shape("melspec", p, s, err);
}

const sono_op sono_op_melspec = {
    .name = "melspec",
    .summary = "mel spectrogram [n_mels, frames] of a centred hann STFT (librosa)",
    .params = sono_melspec_params,
    .nparams = 11, /* sono_melspec_nparams (not a constant expression); a test compares */
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
