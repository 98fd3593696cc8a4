/* mfcc.c — op "mfcc": mel-frequency cepstral coefficients [n_mfcc, frames], the
 * orthonormal DCT-II of the power mel spectrogram in dB clamped top_db below its max
 * (librosa.feature.mfcc); the definitions are in dsp_common.h. */
#include <math.h>
#include <stdlib.h>

#include "dsp_tol.h"
#include "mel64.h"

static int validate(const sono_params *p, sono_error *err)
{
    sono_dsp_dims d;
    return sono_dsp_dims_get("mfcc", p, &d, err);
}

static void shapes(const sono_params *p, sono_buf *in, sono_buf *out)
{
    sono_dsp_dims d;
    sono_dsp_dims_get("mfcc", p, &d, NULL);
    *in = (sono_buf){.dtype = SONO_F32, .ndim = 1, .shape = {d.samples}};
    *out = (sono_buf){.dtype = SONO_F32, .ndim = 2, .shape = {d.n_mfcc, d.frames}};
    sono_dsp_batch_shapes(&d, in, out);
}

int sono_mfcc64(const sono_dsp_dims *d, const float *x, double *out, sono_error *err)
{
    long long nm = d->n_mels, nt = d->frames;
    double *D = malloc(sizeof *D * (size_t)(nm * nt));
    if (!D)
        return sono_fail(err, SONO_ENOMEM, "mfcc reference: no memory (%lld x %lld)", nm, nt);
    int rc = sono_melspec64(d, x, D, err);
    if (rc) {
        free(D);
        return rc;
    }
    double top = -INFINITY;
    for (long long i = 0; i < nm * nt; i++) {
        D[i] = 10.0 * log10(fmax(D[i], 1e-10));
        top = fmax(top, D[i]);
    }
    if (d->top_db > 0)
        for (long long i = 0; i < nm * nt; i++)
            D[i] = fmax(D[i], top - d->top_db);
    for (long long c = 0; c < d->n_mfcc; c++) {
        double s = c == 0 ? sqrt(1.0 / (double)nm) : sqrt(2.0 / (double)nm);
        for (long long t = 0; t < nt; t++) {
            double acc = 0.0;
            for (long long m = 0; m < nm; m++)
                acc += D[m * nt + t] * s * cos(M_PI * (double)c * (double)(2 * m + 1) /
                                               (double)(2 * nm));
            out[c * nt + t] = acc;
        }
    }
    free(D);
    return 0;
}

static int reference(const sono_params *p, const sono_buf *in, sono_buf *ref,
                     sono_error *err)
{
    sono_dsp_dims d;
    int rc = sono_dsp_dims_get("mfcc", p, &d, err);
    /* clip by clip, so each clip's clamp takes its own max (dsp_common.h: batch) */
    return rc ? rc : sono_dsp_per_clip(&d, in->data, ref->data, d.n_mfcc * d.frames,
                                       sono_mfcc64, err);
}

/* The melspec count (FFT 2.5 n log2 n, window n, |X|^2 3 per bin, 2 per nonzero weight)
 * per frame, then per mel value the floor, log10 and * 10 (3), with top_db the running
 * max and the clamp (2 more), and the DCT as a product: 2 n_mels per coefficient.
 * Bytes: the input and the output once. */
static void cost(const sono_params *p, sono_cost *c)
{
    sono_dsp_dims d;
    if (sono_dsp_dims_get("mfcc", p, &d, NULL)) {
        *c = (sono_cost){0};
        return;
    }
    double n = (double)d.n_fft, per_mel = d.top_db > 0 ? 5.0 : 3.0;
    c->flops = (double)d.frames *
               (2.5 * n * log2(n) + n + 3.0 * (double)d.nbins +
                2.0 * (double)sono_melbank64_nnz(&d) + per_mel * (double)d.n_mels +
                2.0 * (double)(d.n_mels * d.n_mfcc));
    c->bytes = 4.0 * (double)d.samples + 4.0 * (double)(d.n_mfcc * d.frames);
    c->flops *= (double)d.batch; /* batch: independent clips */
    c->bytes *= (double)d.batch;
}

static double tolerance(const sono_params *p, sono_err_growth g)
{
    sono_dsp_dims d;
    sono_dsp_dims_get("mfcc", p, &d, NULL);
    return sono_dsp_tol_mfcc(&d, g);
}

const sono_op sono_op_mfcc = {
    .name = "mfcc",
    .summary = "MFCC [n_mfcc, frames]: orthonormal DCT-II of the dB mel spectrogram",
    .params = sono_mfcc_params,
    .nparams = 12, /* sono_mfcc_nparams (not a constant expression); a test compares */
    .validate = validate,
    .shapes = shapes,
    .reference = reference,
    .cost = cost,
    .tolerance = tolerance,
    .rate = sono_dsp_rate,
    .size_param = "seconds",
    .size_label = "input length (s of audio)",
    .merit = SONO_MERIT_XRT,
};
