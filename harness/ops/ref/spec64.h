/* spec64.h — the float64 short-time spectrum behind the stft, melspec, logmel and mfcc
 * references: window, reflect padding, framing and one DFT per frame, written literally
 * from the definitions in dsp_common.h; shares no code with any impl. */
#ifndef SONO_SPEC64_H
#define SONO_SPEC64_H

#include "dsp_common.h"

/* w[0..n_fft): the periodic window of d->win_length, centred in the n_fft frame. */
void sono_window64(const sono_dsp_dims *d, double *w);

/* The frame t of the (logmel: padded or trimmed, then) centred input, windowed:
 * frame[j] = padded[t*hop + j] * w[j], j < n_fft. x holds d->samples floats. */
void sono_frame64(const sono_dsp_dims *d, const float *x, const double *w, long long t,
                  double *frame);

/* X[k, t] for k < nbins, t < d->frames, row-major, re and im interleaved
 * (2 * nbins * frames doubles). Returns 0 or SONO_ENOMEM with err filled. */
int sono_stft64(const sono_dsp_dims *d, const float *x, double *X, sono_error *err);

/* |X[k, t]|^power into P (nbins * frames doubles, row-major [nbins, frames]). */
int sono_stft64_pow(const sono_dsp_dims *d, const float *x, double power, double *P,
                    sono_error *err);

#endif
