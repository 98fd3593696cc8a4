/* logmel.c — op "logmel": Whisper's log_mel_spectrogram [n_mels, frames] at 16 kHz
 * (n_fft 400, hop 160, 80 or 128 slaney mels, log10 clamped 8 below the max, scaled to
 * (L + 4) / 4); the definitions are in dsp_common.h.
 * No stream_shape (issue 12): the clamp to max - 8 takes the max over the whole output, so
 * no frame's value is final until the last frame exists; a streaming Whisper front end
 * would need a running max, which is another op, not this one. */
#include <math.h>

#include "dsp_tol.h"
#include "input.h"
#include "mel64.h"

static int validate(const sono_params *p, sono_error *err)
{
    sono_dsp_dims d;
    return sono_dsp_dims_get("logmel", p, &d, err);
}

static void shapes(const sono_params *p, sono_buf *in, sono_buf *out)
{
    sono_dsp_dims d;
    sono_dsp_dims_get("logmel", p, &d, NULL);
    *in = (sono_buf){.dtype = SONO_F32, .ndim = 1, .shape = {d.samples}};
    *out = (sono_buf){.dtype = SONO_F32, .ndim = 2, .shape = {d.n_mels, d.frames}};
    sono_dsp_batch_shapes(&d, in, out);
}

/* Whisper pads a short clip with zeros to 30 s (pad_or_trim), so a 1 s recording is a
 * valid input: with pad_or_trim=1 a file or directory shorter than seconds is padded
 * here, where the op knows it may be; with 0 it is refused as for every other op. */
static int input(const sono_params *p, const struct sono_input_spec *spec, double rate,
                 sono_buf *in, sono_error *err)
{
    return sono_param_int(p, "pad_or_trim", 1) ? sono_input_fill_padded(spec, rate, in, err)
                                               : sono_input_fill_at(spec, rate, in, err);
}

/* The mel spectrogram of the first d->frames STFT frames (the dropped last one is never
 * computed), then Whisper's steps over the whole [n_mels, frames] array. */
int sono_logmel64(const sono_dsp_dims *d, const float *x, double *L, sono_error *err)
{
    long long n = d->n_mels * d->frames;
    int rc = sono_melspec64(d, x, L, err);
    if (rc)
        return rc;
    double top = -INFINITY;
    for (long long i = 0; i < n; i++) {
        L[i] = log10(fmax(L[i], 1e-10));
        top = fmax(top, L[i]);
    }
    for (long long i = 0; i < n; i++)
        L[i] = (fmax(L[i], top - 8.0) + 4.0) / 4.0;
    return 0;
}

static int reference(const sono_params *p, const sono_buf *in, sono_buf *ref,
                     sono_error *err)
{
    sono_dsp_dims d;
    int rc = sono_dsp_dims_get("logmel", p, &d, err);
    /* clip by clip, so each clip's clamp takes its own max (dsp_common.h: batch) */
    return rc ? rc : sono_dsp_per_clip(&d, in->data, ref->data, d.n_mels * d.frames,
                                       sono_logmel64, err);
}

/* The melspec count (FFT 2.5 n log2 n, window n, |X|^2 3 per bin, 2 per nonzero weight)
 * per frame, then 6 per output value: the floor at 1e-10, log10, the running max, the
 * clamp, + 4 and / 4. Bytes: the input and the output once. */
static void cost(const sono_params *p, sono_cost *c)
{
    sono_dsp_dims d;
    if (sono_dsp_dims_get("logmel", p, &d, NULL)) {
        *c = (sono_cost){0};
        return;
    }
    double n = (double)d.n_fft;
    c->flops = (double)d.frames * (2.5 * n * log2(n) + n + 3.0 * (double)d.nbins +
                                   2.0 * (double)sono_melbank64_nnz(&d) +
                                   6.0 * (double)d.n_mels);
    c->bytes = 4.0 * (double)d.samples + 4.0 * (double)(d.n_mels * d.frames);
    c->flops *= (double)d.batch; /* batch: independent clips */
    c->bytes *= (double)d.batch;
}

static double tolerance(const sono_params *p, sono_err_growth g)
{
    sono_dsp_dims d;
    sono_dsp_dims_get("logmel", p, &d, NULL);
    return sono_dsp_tol_logmel(&d, g);
}

const sono_op sono_op_logmel = {
    .name = "logmel",
    .summary = "Whisper's log-mel spectrogram [n_mels, frames] at 16 kHz",
    .params = sono_logmel_params,
    .nparams = 4, /* sono_logmel_nparams (not a constant expression); a test compares */
    .validate = validate,
    .shapes = shapes,
    .reference = reference,
    .cost = cost,
    .tolerance = tolerance,
    .rate = sono_logmel_rate,
    .input = input,
    .size_param = "seconds",
    .size_label = "input length (s of audio)",
    .merit = SONO_MERIT_XRT,
};
