/* metrics.h — audio quality of a codec's output against its input, for op->quality:
 * SI-SDR, log-mel L1 distance and multi-scale STFT distance, each computed in double on
 * float32 signals of equal length. Definitions and tests in metrics.c / test_metrics.c. */
#ifndef SONO_METRICS_H
#define SONO_METRICS_H

#include "op.h"

/* Scale-invariant SDR in dB (Le Roux et al. 2019): est projected on ref, zero-mean
 * first; -inf/+inf are returned as such (the caller records them as null). */
double sono_si_sdr_db(const float *ref, const float *est, long long n);

/* Mean absolute difference of log10 mel power spectrograms (n_fft 1024 at 24/48 kHz
 * scaled to the rate, hop n_fft/4, 80 slaney mels, floor 1e-5). */
double sono_mel_l1(const float *ref, const float *est, long long n, double rate);

/* Multi-scale STFT distance (as in the DAC / EnCodec papers' losses): over window sizes
 * 2048, 512, 128 (hop 1/4), mean of spectral convergence plus mean |log mag| L1. */
double sono_mstft(const float *ref, const float *est, long long n);

/* All three into q (has |= SONO_Q_SISDR | SONO_Q_MEL | SONO_Q_MSTFT); SONO_EINVAL when n
 * is too short for the largest window, with the length named. */
int sono_quality_audio(const float *in, const float *out, long long n, double rate,
                       sono_quality *q, sono_error *err);

#endif
