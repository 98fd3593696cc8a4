/* mel64.h — the float64 mel scales, filterbank and mel spectrogram behind the melspec,
 * logmel and mfcc references, written literally from dsp_common.h's definitions. */
#ifndef SONO_MEL64_H
#define SONO_MEL64_H

#include "dsp_common.h"

/* Hz to mel and back; htk = 1 HTK's formula, 0 Slaney's (librosa's default). */
double sono_hz_to_mel64(double f, int htk);
double sono_mel_to_hz64(double m, int htk);

/* W[m, k], row-major [n_mels, nbins], from d's sample_rate, n_fft, n_mels, fmin, fmax,
 * htk and slaney_norm. Returns 0 or SONO_ENOMEM. */
int sono_melbank64(const sono_dsp_dims *d, double *W);

/* Weights of the filterbank that are not zero (the useful work of a cost model). */
long long sono_melbank64_nnz(const sono_dsp_dims *d);

/* M[m, t] = sum_k W[m, k] |X[k, t]|^d->power, row-major [n_mels, frames]. Returns 0 or
 * SONO_ENOMEM with err filled. */
int sono_melspec64(const sono_dsp_dims *d, const float *x, double *M, sono_error *err);

/* The logmel and mfcc references from dims (logmel.c, mfcc.c), so a test can run the
 * same definition with one parameter changed. out: [n_mels | n_mfcc, frames]. */
int sono_logmel64(const sono_dsp_dims *d, const float *x, double *out, sono_error *err);
int sono_mfcc64(const sono_dsp_dims *d, const float *x, double *out, sono_error *err);

#endif
