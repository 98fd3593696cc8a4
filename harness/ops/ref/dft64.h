/* dft64.h — the float64 DFT behind the fft and rfft references: recursive mixed-radix
 * decimation in time with exact twiddles, written apart from every tested impl. */
#ifndef SONO_DFT64_H
#define SONO_DFT64_H

/* Forward unnormalised DFT of `batch` rows of n complex doubles (interleaved), out of
 * place. O(n * sum of n's prime factors) per row. Returns 0 or SONO_ENOMEM. */
int sono_dft64(const double *in, double *out, long long n, long long batch);

#endif
