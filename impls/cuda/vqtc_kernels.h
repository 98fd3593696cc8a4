/* vqtc_kernels.h — the C entry point of vqtc_kernels.cu (cuda/vq-tc, issue 26). */
#ifndef IMPLS_CUDA_VQTC_KERNELS_H
#define IMPLS_CUDA_VQTC_KERNELS_H

#include <cuda_runtime_api.h>

#include "vqtc_math.h"

#ifdef __cplusplus
extern "C" {
#endif

/* codes[t] = the first k minimising cn[k] - 2 x[t].book[k] over k < K; book [K][D] in
 * kind's storage (16-bit for FA2_BF16/F16, float for FA2_TF32), cn float32; x [T][D] in
 * kind's 16-bit storage (nsplit 0) or float32 taken as the sum of nsplit parts of the kind
 * (tf32: nsplit 1 or 2; bf16: 3; vqtc_math.h); D a multiple of 16, at most 256. */
cudaError_t cu_vqtc_launch(const void *book, const float *cn, const void *x, long long T,
                           long long K, int D, int kind, int nsplit, int *codes,
                           cudaStream_t s);

#ifdef __cplusplus
}
#endif

#endif
