/* stoi.h — speech intelligibility of a processed signal against its clean original:
 * STOI (Taal et al. 2011) and extended STOI (Jensen & Taal 2016), as pystoi 0.4.1
 * computes them. Definitions in stoi.c, tests in test_stoi.c against pystoi's values. */
#ifndef SONO_STOI_H
#define SONO_STOI_H

#include "sono.h"

/* pystoi's answer when fewer than 30 frames (384 ms) of speech remain after silent-frame
 * removal: it warns and returns 1e-5; so does sono_stoi (and says so in *short_input). */
#define SONO_STOI_TOO_SHORT 1e-5

/* STOI and ESTOI of est against ref, n samples each at rate (whole Hz, 1000..1e6): both
 * resampled to 10 kHz (resample_oct.h), silent frames dropped (40 dB below the loudest
 * frame of ref), 256-sample Hann frames at 50 % overlap, 512-point FFT, 15 one-third
 * octave bands from 150 Hz, 30-frame segments; STOI clips at -15 dB SDR and correlates
 * band envelopes, ESTOI normalises each segment's rows then columns. Either output may
 * be NULL. *short_input (may be NULL) = 1 when the too-short answer was given.
 * SONO_EINVAL: bad rate, n < 1, a non-finite sample; SONO_ENOMEM. */
int sono_stoi(const float *ref, const float *est, long long n, double rate, double *stoi,
              double *estoi, int *short_input, sono_error *err);

#endif
