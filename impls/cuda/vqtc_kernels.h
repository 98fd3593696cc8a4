/* vqtc_kernels.h — the C entry point of vqtc_kernels.cu (cuda/vq-tc, issue 26). */
#ifndef IMPLS_CUDA_VQTC_KERNELS_H
#define IMPLS_CUDA_VQTC_KERNELS_H

#include <cuda_runtime_api.h>

#include "vqtc_math.h"

#ifdef __cplusplus
extern "C" {
#endif

/* codes[t] = the first k minimising cn[k] - 2 x[t].book[k] over k < K; book [K][D] and
 * x [T][D] in kind's 16-bit storage (FA2_BF16, FA2_F16), cn float32; D a multiple of 16,
 * at most 256. */
cudaError_t cu_vqtc_launch(const void *book, const float *cn, const void *x, long long T,
                           long long K, int D, int kind, int *codes, cudaStream_t s);

#ifdef __cplusplus
}
#endif

#endif
