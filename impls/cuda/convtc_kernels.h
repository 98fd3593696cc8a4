/* convtc_kernels.h — the C entry points of convtc_kernels.cu (cuda/conv-tc, issue 26):
 * the weight packing (load, untimed) and the implicit-GEMM convolution. Each enqueues on
 * the stream and returns the launch's cudaError_t. */
#ifndef IMPLS_CUDA_CONVTC_KERNELS_H
#define IMPLS_CUDA_CONVTC_KERNELS_H

#include <cuda_runtime_api.h>

#include "convtc_math.h"

#ifdef __cplusplus
extern "C" {
#endif

/* wp [cout][ct_kp] in kind's storage (16-bit for FA2_BF16/F16, float for FA2_TF32) from
 * the float32 W [cout][cig*kernel], zero past cig*kernel, rounded to nearest even. */
cudaError_t cu_convtc_pack(const nnc_dims *d, const float *w, void *wp, int kind,
                           cudaStream_t s);
/* y [cout][tout] float32 = act(b + conv(x, W)) of a forward (not transposed) conv1d: x
 * [cin][T] and wp in kind's storage, b and alpha (Snake; may be NULL otherwise) float32. */
cudaError_t cu_convtc_launch(const nnc_dims *d, const void *wp, const void *x, const float *b,
                             const float *alpha, float *y, int kind, cudaStream_t s);

#ifdef __cplusplus
}
#endif

#endif
