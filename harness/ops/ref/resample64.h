/* resample64.h — the resample op's float64 truth and its measures, written apart from
 * every impl: band-limited interpolation by a Kaiser-windowed sinc evaluated directly at
 * each output instant, the in-band error of an output against it, and the stop-band
 * attenuation and passband ripple an output shows on a sine sweep. */
#ifndef SONO_RESAMPLE64_H
#define SONO_RESAMPLE64_H

/* The reference's filter, in Hz of the lower of the two Nyquist frequencies fL: flat
 * (ripple < 1e-7 dB) to RS64_PASS * fL, attenuated by RS64_ATTEN_DB from fL up; the
 * transition band between is where resamplers legitimately differ. */
#define RS64_PASS 0.9
#define RS64_ATTEN_DB 160.0

/* y[j] = sum_i x[i] h(j * rate_in / rate_out - i), j = 0..n_out-1, x zero outside
 * [0, n_in): h is sinc with its -6 dB point at (1 + RS64_PASS) / 2 * fL times a Kaiser
 * window (beta for RS64_ATTEN_DB, length for the transition band), evaluated in double at
 * every tap. Returns 0 or SONO_ENOMEM. */
int sono_resample64(const float *x, long long n_in, double rate_in, double *y,
                    long long n_out, double rate_out);

/* Output samples at each end that the check and the quality figures ignore: 50 ms, more
 * than the half-length of every resampler's filter here, where start-up conventions
 * (zero history vs. edge handling) legitimately differ. */
long long sono_resample64_edge(double rate_out);

/* ||band(out - ref)|| / ||band(ref)|| over out[edge .. n - edge), Hann-windowed, where
 * band keeps the DFT bins at or below band_frac * fL. *ok = 0 when memory ran out. */
double sono_resample64_band_err(const float *out, const double *ref, long long n,
                                double rate_out, double fl, double band_frac, int *ok);

/* Quality on a sine sweep input x (at rate_in) and its resampled y (at rate_out), frame by
 * frame (64 ms, half overlap, Kaiser beta 20 windows, edges skipped):
 * - ripple_db: max - min of the output/input tone gain over frames whose tone lies below
 *   RS64_PASS * fL (and above 16 bins, 250 Hz);
 * - stop_db: the passband frames' mean tone power over the largest stray power of a
 *   frame, stray being the output's power away from the input tone's bins (+-3 bins past
 *   where it falls 130 dB), and all of it in frames whose tone lies above fL: aliases,
 *   images and leakage.
 * Returns 1 with both filled, 0 when x is not a sweep (fewer than half the frames hold a
 * single tone: 99 % of their power within a contiguous run of bins 40 dB from the peak,
 * narrower than 1/16 of the band), when downsampling no frame's tone lies above fL (a
 * sweep too fast: 2 s and longer from 20 Hz are fine), or no passband frame exists; -1 on no memory. */
int sono_resample64_sweep(const float *x, long long n_in, double rate_in, const float *y,
                          long long n_out, double rate_out, double *stop_db,
                          double *ripple_db);

#endif
