/* fastfft.h — the cpu backend's own optimised FFT (cpu/fast): a plan made once per size,
 * executed by any number of threads at once with their own scratch. Used by the fft and
 * rfft impls and by the audio front ends (stft, melspec, logmel, mfcc) of impls/cpu/. */
#ifndef CPU_FASTFFT_H
#define CPU_FASTFFT_H

#include <stddef.h>

typedef struct fastfft_plan fastfft_plan;

/* A forward transform of length n (any n >= 1), X[k] = sum_j x[j] e^{-2 pi i jk/n},
 * unnormalised. real = 0: complex input of n interleaved (re, im) floats, n complex
 * outputs. real = 1: n real floats in, bins 0..n/2 out (n/2 + 1 interleaved complex).
 * NULL when n is out of reach or memory runs out, with the reason in why. */
fastfft_plan *fastfft_plan_new(size_t n, int real, char *why, size_t whylen);

/* Scratch floats one execution needs (0 allowed); the caller gives each thread its own,
 * 64-byte aligned. */
size_t fastfft_work_floats(const fastfft_plan *p);

/* One transform; in and out must not overlap; in is left unchanged. Reentrant: the plan
 * is only read. */
void fastfft_exec(const fastfft_plan *p, const float *in, float *out, float *work);

/* rows transforms: row b reads in + b*is and writes out + b*os (strides in floats).
 * Small real plans run eight rows at once here; any other plan, one row after another. */
void fastfft_exec_rows(const fastfft_plan *p, const float *in, size_t is, float *out,
                       size_t os, size_t rows, float *work);

/* Which code path the plan runs ("avx2+fma" or "scalar") and its decomposition, for the
 * record (describe). */
const char *fastfft_describe(const fastfft_plan *p);

void fastfft_free(fastfft_plan *p);

#endif
