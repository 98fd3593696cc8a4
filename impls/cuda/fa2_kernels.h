/* fa2_kernels.h — the C entry points of fa2_kernels.cu (cuda/flash2, issue 26): the
 * conversion of the float32 input to the dtype's storage (load, untimed) and the FA2-style
 * attention. Each enqueues on the stream and returns the launch's cudaError_t. */
#ifndef IMPLS_CUDA_FA2_KERNELS_H
#define IMPLS_CUDA_FA2_KERNELS_H

#include <cuda_runtime_api.h>

#include "fa2_math.h"

#ifdef __cplusplus
extern "C" {
#endif

/* dst[i] = src[i] as kind's 16-bit storage (FA2_BF16, FA2_F16), nearest even; n floats. */
cudaError_t cu_fa2_convert(const float *src, void *dst, long long n, int kind, cudaStream_t s);
/* o [heads, seq, d] float32 = softmax(q k^T / sqrt(d) + causal mask) v; q, k, v packed
 * [heads, seq, d] each in kind's storage (16-bit for FA2_BF16/F16, float for FA2_TF32);
 * d 64 or 128. Sets the kernels' shared-memory limit on first use. */
cudaError_t cu_fa2_launch(const void *q, const void *k, const void *v, float *o,
                          long long heads, long long seq, int d, int causal, int kind,
                          cudaStream_t s);
/* Bytes of dynamic shared memory a block takes. */
size_t cu_fa2_smem(int d, int kind);

#ifdef __cplusplus
}
#endif

#endif
