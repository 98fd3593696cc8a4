/* dsp_tol.c — relative L2 tolerances of stft, melspec, logmel and mfcc, each derived from
 * the float32 FFT's (fft_common.c: 4 eps log2 n_fft for fast algorithms, eps n_fft for the
 * direct sum) by following an error through the pipeline. The numbers quoted are from
 * tests/test_dsp_ref.c: a float32 pipeline (window, FFT or direct DFT, filterbank edges,
 * log and DCT all in float) on noise, a sine, speech-like audio and silence, and the
 * references of wrong variants (hamming for hann, htk for slaney, wrong norm, frames off
 * by one, no clamp), which must miss the looser (direct-sum) tolerance by 10x or more. */
#include "dsp_tol.h"

#include <float.h>
#include <math.h>

#include "fft_common.h"

#define EPS FLT_EPSILON

/* A band q times below its frame's mean power carries sqrt(q) times the frame's
 * relative error; 4: the L2 norm is made by bands down to 12 dB below the mean (mfcc). */
#define QUIET_GAIN 4.0

static double fft_tol(const sono_dsp_dims *d, sono_err_growth g)
{
    sono_params p = {.count = 1, .v = {{.name = "n", .type = SONO_PINT, .i = d->n_fft}}};
    return sono_fft_tolerance(&p, g);
}

/* X = FFT(x * w): the FFT's error plus the window's rounding (eps/2 for w, eps/2 for the
 * product): relative to the frame, the same bound over all frames. */
static double spectrum_tol(const sono_dsp_dims *d, sono_err_growth g)
{
    return fft_tol(d, g) + EPS;
}

/* |X|^2 doubles a relative error (|X + e|^2 = |X|^2 + 2 Re(X e*) + ...; summed over bins,
 * Cauchy-Schwarz keeps ||2 |X| e|| / || |X|^2 || <= 2 ||e|| / ||X||); |X| keeps it; the
 * complex output is X itself. Measured: honest float32 <= 1/30 of this, a hann/hamming
 * mix-up 1000x above. */
double sono_dsp_tol_stft(const sono_dsp_dims *d, sono_err_growth g)
{
    return (d->stft_output == 0 ? 2.0 : 1.0) * spectrum_tol(d, g);
}

/* M = W |X|^power: the spectrum's error times the power, then the filterbank, whose
 * weights are positive: a band is a sum of positive terms, so no cancellation amplifies
 * the relative error of its inputs. Its own rounding: each weight within eps/2 of its
 * definition (dsp_common.h asks for weights tabulated in double and rounded once) and a
 * float sum over a row (random-sign roundings, ~eps sqrt(nbins); twice that). */
double sono_dsp_tol_melspec(const sono_dsp_dims *d, sono_err_growth g)
{
    return d->power * spectrum_tol(d, g) + EPS + 2.0 * EPS * sqrt((double)d->nbins);
}

/* L = log10 M turns a relative error t of a band into an absolute t / ln 10, and
 * (L + 4) / 4 divides it by 4. The check also bounds the largest error by tol * peak, and
 * that one sits in a quiet band: the FFT's rounding is spread evenly over a frame's bins,
 * so a band q times below the frame's loudest bins carries sqrt(q) times the frame's
 * relative error, up to 1e4 at the clamp (80 dB). The FFT's real rounding is ~1/30 of
 * its tolerance (measured: stft), which leaves QUIET_LOG = 128 (bands down to 42 dB
 * below their frame's peak at the full tolerance, to the clamp at the measured rounding).
 * Measured (tests/test_dsp_ref.c): honest float32 passes the whole check at 1/6 of this
 * (max error 2.5e-5 in band 0 of speech-like audio, 70 dB down), the L2 error 1/100;
 * hann/hamming is 16x above it on an impulse and 60x on noise, the other bugs 100x+. */
#define QUIET_LOG 128.0
double sono_dsp_tol_logmel(const sono_dsp_dims *d, sono_err_growth g)
{
    return QUIET_LOG * sono_dsp_tol_melspec(d, g) / (4.0 * log(10.0));
}

/* D = 10 log10 S turns a relative error t into an absolute 10 t / ln 10 dB; the DCT is
 * orthonormal, so the error's L2 norm over all n_mels coefficients is D's, and keeping
 * n_mfcc of them can only shrink it. Each coefficient mixes all bands, so no single quiet
 * band sets the max error as in logmel: the norm is made by the loud bands (QUIET_GAIN, 4:
 * down to 12 dB below the frame's mean) and its max by the norm; relative to an output
 * RMS taken as >= 10 dB. The DCT's own float rounding: a cosine of an argument up to
 * pi n_mfcc rounded in float (torchaudio's create_dct) is off by eps pi n_mfcc.
 * Measured: honest float32 <= 1/20 of this; hann/hamming 150x above on a sine (its
 * smallest), the other bugs more. */
double sono_dsp_tol_mfcc(const sono_dsp_dims *d, sono_err_growth g)
{
    return QUIET_GAIN * 10.0 * sono_dsp_tol_melspec(d, g) / log(10.0) / 10.0 +
           EPS * M_PI * (double)d->n_mfcc;
}
