/* dsp_tol.c — relative L2 tolerances of stft, melspec, logmel and mfcc, each derived from
 * the float32 FFT's (fft_common.c: 4 eps log2 n_fft for fast algorithms, eps n_fft for the
 * direct sum) by following an error through the pipeline. The numbers quoted are from
 * tests/test_dsp_ref.c: a float32 pipeline (window, FFT or direct DFT, filterbank edges,
 * log and DCT all in float) on noise, a sine, speech-like audio and silence, and the
 * references of wrong variants (hamming for hann, htk for slaney, wrong norm, frames off
 * by one, no clamp), which must miss the fast-algorithm tolerance by 10x or more. The
 * direct-sum tolerance (fft_tol) is 2 eps sqrt(n_fft): 0.5-1x the fast algorithms' at
 * n_fft 400-2048 (it was eps n_fft, 11-28x looser, with the subtlest bugs 1.3-7x above). */
#include "dsp_tol.h"

#include <float.h>
#include <math.h>

#include "fft_common.h"

#define EPS FLT_EPSILON

/* A band q times below its frame's mean power carries sqrt(q) times the frame's
 * relative error; 4: the L2 norm is made by bands down to 12 dB below the mean (mfcc). */
#define QUIET_GAIN 4.0

/* Issue 29: the direct sum (SONO_ERR_LINEAR, the cpu/naive rungs) had eps n_fft, the
 * worst case of n_fft roundings all of one sign, 11-28x above the fast algorithms' bound;
 * the subtlest bugs stood only 1.3-2x above it. Roundings of a float sum in tap order are
 * as likely up as down, so they add like a random walk: eps sqrt(n_fft) relative to the
 * bin (a DFT's partial sums grow like the bin does). Measured on the dsp suite's naive
 * cases and 11 inputs (noise, speech, pink, sines, sweep, chirp, clicks, square, impulse,
 * silence; bin/harness run on stft 400/2048, melspec 2048, logmel 80/128, mfcc 13/40),
 * the spectrum's error is 0.33 eps sqrt(n_fft) at worst (stft n_fft 2048 on a chirp:
 * 3.5e-6, power); DIRECT_SUM_C = 2 leaves 6x. Through the pipeline below, the worst honest
 * error over the tolerance is then stft 1/6, melspec 1/11, logmel 1/6 (3.0e-5, sweep),
 * mfcc 1/29. */
#define DIRECT_SUM_C 2.0

static double fft_tol(const sono_dsp_dims *d, sono_err_growth g)
{
    if (g == SONO_ERR_LINEAR)
        return DIRECT_SUM_C * EPS * sqrt((double)d->n_fft);
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
 * complex output is X itself. Measured: honest float32 <= 1/24 of this (L2 and max), every
 * bug 6000x above. */
double sono_dsp_tol_stft(const sono_dsp_dims *d, sono_err_growth g)
{
    return (d->stft_output == 0 ? 2.0 : 1.0) * spectrum_tol(d, g);
}

/* M = W |X|^power: the spectrum's error times the power, then the filterbank, whose
 * weights are positive: a band is a sum of positive terms, so no cancellation amplifies
 * the relative error of its inputs. Its own rounding: each weight within eps/2 of its
 * definition (dsp_common.h asks for weights tabulated in double and rounded once) and a
 * float sum over a row (random-sign roundings, ~eps sqrt(nbins); twice that).
 * Measured: honest float32 <= 1/45 of this, every bug 1300x above. */
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
 * Measured (tests/test_dsp_ref.c): honest float32 passes the whole check at 1/7 of this
 * (max error 2.5e-5 in band 0 of speech-like audio, 70 dB down), the L2 error 1/100;
 * the subtlest bug, hann/hamming, is 17x above it on an impulse and 90x on noise. */
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
 * Measured: honest float32 <= 1/30 of this; the subtlest bug (htk for slaney on an
 * impulse, whose flat spectrum hides the scale) 14x above with 128 mels, 59x with 40. */
double sono_dsp_tol_mfcc(const sono_dsp_dims *d, sono_err_growth g)
{
    return QUIET_GAIN * 10.0 * sono_dsp_tol_melspec(d, g) / log(10.0) / 10.0 +
           EPS * M_PI * (double)d->n_mfcc;
}
