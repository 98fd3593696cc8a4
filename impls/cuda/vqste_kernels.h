/* vqste_kernels.h — the C entry points of vqste_kernels.cu (cuda/ste for vq.ste); each
 * enqueues on the stream. The output buffer has vq.ste's layout (harness/ops/ref/
 * vqste64.h): [codes N | q N*D | losses 2 | dx N*D | de K*D | e_new K*D]. */
#ifndef IMPLS_CUDA_VQSTE_KERNELS_H
#define IMPLS_CUDA_VQSTE_KERNELS_H

#include <cuda_runtime_api.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* After the codes: zero the accumulators (nk [K], sk [K*D], acc [2]), then a thread per
 * element of x: q, dx, the squared error summed per block then atomically into acc[0], the
 * cluster sums atomically into nk and sk; codes written as floats. */
cudaError_t cu_ste_forward_launch(const float *e, const float *x, const float *g,
                                  const int *codes, long long N, int K, int D, float beta,
                                  float *nk, float *sk, float *acc, float *out,
                                  cudaStream_t s);
/* The EMA: counts per code and their total (atomically into acc[1]), then a thread per
 * codebook element: de, the new row or the restart's vector; the losses from acc. */
cudaError_t cu_ste_ema_launch(const float *e, const float *cnt0, const float *sum0,
                              const float *x, long long N, int K, int D, float beta,
                              float decay, float eps, float dead, unsigned long long seed,
                              float *nk, const float *sk, float *acc, float *out,
                              cudaStream_t s);

#ifdef __cplusplus
}
#endif

#endif
