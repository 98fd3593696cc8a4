/* dsp_block.h — cpu/fast's front-end kernels over a block of DSPB_W frames at once: the
 * power spectra kept transposed (bin-major, one float per frame), so the sparse mel
 * filterbank, the log and the per-clip max run with one frame per vector lane and each
 * mel row of the block is stored contiguously. AVX2+FMA or the portable scalar loops. */
#ifndef CPU_DSP_BLOCK_H
#define CPU_DSP_BLOCK_H

#include <stddef.h>

#include "frontend.h"

/* frames per block: one AVX2 vector of floats */
#define DSPB_W 8

/* Writes lane `lane` of pt[k * DSPB_W + lane], k < n: |X_k|^power of n interleaved bins. */
void dspb_power_lane(double power, const float *spec, size_t n, float *pt, int lane);

/* mel[m * DSPB_W + i] = sum over filter m's band of its weights times pt[k * DSPB_W + i],
 * i < DSPB_W (simd: AVX2+FMA, else the scalar loops). */
void dspb_mel(const fe_melbank *b, const float *pt, float *mel, int simd);

/* v[0..n) (n a multiple of DSPB_W) becomes scale * log10(max(v, 1e-10)), through
 * dspb_log10 (below); returns the largest result. */
float dspb_log(float *v, size_t n, float scale, int simd);

/* log10 of a positive normal float as a polynomial, the same arithmetic in the scalar and
 * the AVX2 path (the kernels' own, so both can be tested against log10 in double). */
float dspb_log10(float x);

/* Whether this CPU runs the AVX2+FMA kernels. */
int dspb_has_avx2(void);

#endif
