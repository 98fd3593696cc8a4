/* vq_kernels.h — the C entry points of vq_kernels.cu (the quantisers); like kernels.h,
 * each enqueues on the stream and returns the launch's cudaError_t. Codebooks [K, D]
 * (per stage), vectors and residuals [T, D], codes [T] per stage, all row-major. */
#ifndef IMPLS_CUDA_VQ_KERNELS_H
#define IMPLS_CUDA_VQ_KERNELS_H

#include <cuda_runtime_api.h>

#ifdef __cplusplus
extern "C" {
#endif

/* cn[k] = ||cb[k]||^2 */
cudaError_t cu_vq_norms_launch(const float *cb, long long K, int D, float *cn,
                               cudaStream_t s);
/* codes[t] = the first k minimising cn[k] - 2 g[t][k], g [T][K] the dot products */
cudaError_t cu_vq_argmin_launch(const float *g, const float *cn, long long T, int K,
                                int *codes, cudaStream_t s);
/* codes[t] = the first k minimising cn[k] - 2 x[t].cb[k], in one kernel */
cudaError_t cu_vq_fused_launch(const float *cb, const float *cn, const float *x, long long T,
                               int K, int D, int *codes, cudaStream_t s);
/* r[t] -= cb[codes[t]] */
cudaError_t cu_vq_subtract_launch(float *r, const float *cb, const int *codes, long long T,
                                  int D, cudaStream_t s);
/* y[t] = sum over stages q of cb[q][codes[q][t]]; cb [n_q, K, D], codes [n_q, T] */
cudaError_t cu_vq_gather_launch(const float *cb, const int *codes, int n_q, int K,
                                long long T, int D, float *y, cudaStream_t s);

#ifdef __cplusplus
}
#endif

#endif
