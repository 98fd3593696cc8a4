/* en_elu.h — ELU (alpha 1) over a float array for blas/encodec: AVX2+FMA with a polynomial
 * expm1 where the CPU has it, else (or with SONO_FASTFFT_SCALAR=1) libm's expm1f, the
 * portable path. One function so the codec's graph calls it the same on either path. */
#ifndef IMPLS_EN_ELU_H
#define IMPLS_EN_ELU_H

#include <stddef.h>

/* The vector path's bound on |elu(x) - expm1(x)| / |expm1(x)| for x < 0 (tested over the
 * float range by tests/test_en_elu.c): about 4 float ulps, see en_elu.c. */
#define EN_ELU_REL_ERR 5e-7

/* 1 where the AVX2+FMA path runs (the CPU has it and SONO_FASTFFT_SCALAR is not "1"), read
 * again at each call of en_elu_pick so a test can switch paths. */
int en_elu_simd(void);
/* y[i] = x[i] > 0 ? x[i] : expm1(x[i]) (NaN stays NaN); y may be x. simd from
 * en_elu_simd(); 0 forces the scalar loop. */
void en_elu(const float *x, float *y, size_t n, int simd);

#endif
