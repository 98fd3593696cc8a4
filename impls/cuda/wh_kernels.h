/* wh_kernels.h — the C entry points of wh_kernels.cu (cuda/whisper's own kernels); each
 * enqueues on the stream and returns the launch's cudaError_t. Activations are [rows][d]
 * row-major, the clips of a batch stacked as rows. */
#ifndef IMPLS_CUDA_WH_KERNELS_H
#define IMPLS_CUDA_WH_KERNELS_H

#include <cuda_runtime_api.h>

#ifdef __cplusplus
extern "C" {
#endif

/* col [B*F][M*3] from x [B][M][F] (wh_col1_src) */
cudaError_t cu_wh_col1_launch(const float *x, long long B, long long M, long long F,
                              float *col, cudaStream_t s);
/* col [B*T][D*3] from a1 [B*F][D] (wh_col2_src) */
cudaError_t cu_wh_col2_launch(const float *a1, long long B, long long D, long long F,
                              long long T, float *col, cudaStream_t s);
/* y[r][c] = GELU(y[r][c] + b[c]) (+ pos[r % T][c] when pos is not NULL) */
cudaError_t cu_wh_bias_gelu_launch(float *y, const float *b, long long rows, int cols,
                                   const float *pos, long long T, cudaStream_t s);
/* y[r][c] += b[c] */
cudaError_t cu_wh_bias_launch(float *y, const float *b, long long rows, int cols,
                              cudaStream_t s);
/* y [rows][D] = LayerNorm(x) with g, b (one block per row) */
cudaError_t cu_wh_layernorm_launch(const float *x, long long rows, int D, const float *g,
                                   const float *b, float *y, cudaStream_t s);
/* each of rows rows of n scores replaced by its softmax (one block per row) */
cudaError_t cu_wh_softmax_launch(float *S, long long rows, long long n, cudaStream_t s);

#ifdef __cplusplus
}
#endif

#endif
