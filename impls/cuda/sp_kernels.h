/* sp_kernels.h — the C entry points of sp_kernels.cu (issue 23: wav2vec2.features and
 * attention.relpos); each enqueues on the stream and returns the launch's cudaError_t.
 * The arithmetic is sp_math.h's. */
#ifndef IMPLS_CUDA_SP_KERNELS_H
#define IMPLS_CUDA_SP_KERNELS_H

#include <cuda_runtime_api.h>

#include "sp_math.h"

#ifdef __cplusplus
extern "C" {
#endif

/* col [To][k*cin] = the taps of each output step of x [Ti][cin] at stride s. */
cudaError_t cu_w2v_im2col_launch(const float *x, float *col, long long To, long long K,
                                 long long s, long long cin, cudaStream_t st);
/* Norm statistics of y [T][C]: group: per channel over T (mean, inv [C]); layer: per time
 * step over C (mean, inv [T]); sums in double. */
cudaError_t cu_w2v_stats_launch(const float *y, long long T, long long C, int mode,
                                float *mean, float *inv, cudaStream_t st);
/* y = GELU(norm(y)) in place (mode SP_NORM_NONE: GELU alone). */
cudaError_t cu_w2v_epilogue_launch(float *y, long long T, long long C, int mode,
                                   const float *mean, const float *inv, const float *g,
                                   const float *b, cudaStream_t st);

/* bucket[r + S - 1] for r = -(S-1) .. S-1. */
cudaError_t cu_relpos_buckets_launch(int *bucket, long long S, int nb, int md, cudaStream_t st);
/* gate [H][S] from X [H][S][D], Wg [8][D], bg [8], c [H]. */
cudaError_t cu_relpos_gate_launch(const float *X, const float *wg, const float *bg,
                                  const float *c, float *gate, int H, long long S, int D,
                                  cudaStream_t st);
/* sc [H][S][S] (scaled scores) -> softmax rows of sc + gate x E[bucket]. */
cudaError_t cu_relpos_softmax_launch(float *sc, const float *gate, const float *E,
                                     const int *bucket, int H, long long S, cudaStream_t st);

#ifdef __cplusplus
}
#endif

#endif
