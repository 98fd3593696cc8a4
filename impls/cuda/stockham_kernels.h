/* stockham_kernels.h — the C entry points of sk_kernels.cu (cuda/stockham, issue 26): the
 * own mixed-radix Stockham FFT, complex rows and real rows by the two-for-one. */
#ifndef IMPLS_CUDA_STOCKHAM_KERNELS_H
#define IMPLS_CUDA_STOCKHAM_KERNELS_H

#include <cuda_runtime_api.h>

#include "stockham_math.h"

#ifdef __cplusplus
extern "C" {
#endif

/* out[b] = DFT(in[b]) for `batch` rows of n complex floats, n with sk_split(n) != 0; tw:
 * the n-entry table exp(-2 pi i t / n) on the device; tmp: n * batch values, used when
 * n > SK_SHARED_MAX (the column pass's output). */
cudaError_t cu_stockham_launch(const sk_cf *in, sk_cf *out, sk_cf *tmp, const sk_cf *tw,
                               unsigned n, unsigned batch, cudaStream_t s);

/* rfft of `rows` real rows of n: the rows packed in pairs into z ((rows + 1) / 2 complex
 * rows), cu_stockham_launch into Z, then bins 0..n/2 of each row into out [rows][n/2+1];
 * tmp as above for the pairs. */
cudaError_t cu_stockham_real_launch(const float *x, sk_cf *z, sk_cf *Z, sk_cf *tmp,
                                    sk_cf *out, const sk_cf *tw, unsigned n, unsigned rows,
                                    cudaStream_t s);

#ifdef __cplusplus
}
#endif

#endif
