/* resample_oct.h — the polyphase resampler pystoi uses before STOI (its resample_oct: the
 * Octave resample() filter, a Kaiser-windowed sinc with 60 dB rejection, applied as
 * scipy.signal.resample_poly does), restated so sono_stoi sees the same 10 kHz signal. */
#ifndef SONO_RESAMPLE_OCT_H
#define SONO_RESAMPLE_OCT_H

#include "sono.h"

/* Number of output samples for n input samples from rate_in to rate_out (integer Hz):
 * ceil(n * up / down), up/down being the rates' ratio in lowest terms. */
long long sono_resample_oct_len(long long n, long long rate_in, long long rate_out);

/* x (n samples at rate_in) to *y (malloc'ed, *ny samples at rate_out), both rates whole Hz
 * in 1..1e6. Equal rates copy. SONO_EINVAL on a bad rate, SONO_ENOMEM. */
int sono_resample_oct(const double *x, long long n, long long rate_in, long long rate_out,
                      double **y, long long *ny, sono_error *err);

#endif
