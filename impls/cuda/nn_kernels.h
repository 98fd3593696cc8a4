/* nn_kernels.h — the C entry points of nn_kernels.cu (conv1d and attention); like
 * kernels.h, each enqueues on the stream and returns the launch's cudaError_t. Layouts:
 * harness/ops/conv1d.h (x [cin, T], W, y [cout, tout]) and attention.c ([heads, seq, d]);
 * the index arithmetic is nn_math.h's. */
#ifndef IMPLS_CUDA_NN_KERNELS_H
#define IMPLS_CUDA_NN_KERNELS_H

#include <cuda_runtime_api.h>

#include "nn_math.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The direct conv (cuda/conv-direct): y = act(b + W * x), forward or transposed, one
 * thread per output value, a block's channel of weights in shared memory when it fits. */
cudaError_t cu_conv_direct_launch(const nnc_dims *c, int transposed, const float *x,
                                  const float *w, const float *b, const float *alpha,
                                  float *y, cudaStream_t s);
/* col [cin*k, tout] = im2col(x) (nnc_im2col_at) */
cudaError_t cu_im2col_launch(const nnc_dims *c, const float *x, float *col, cudaStream_t s);
/* y[co][t] = act(y[co][t] + b[co]) */
cudaError_t cu_bias_act_launch(const nnc_dims *c, const float *b, const float *alpha,
                               float *y, cudaStream_t s);
/* Transposed: y[co][u] = act(b[co] + sum of z over the (t, j) that land on u) */
cudaError_t cu_col2im_launch(const nnc_dims *c, const float *z, const float *b,
                             const float *alpha, float *y, cudaStream_t s);

/* Row-wise softmax of the scaled scores sc [rows = heads*seq][seq] in place; causal: key
 * j > i of query i (row mod seq) gets weight 0. */
cudaError_t cu_softmax_launch(float *sc, long long heads, long long seq, int causal,
                              cudaStream_t s);
/* Flash-style attention: o = softmax(q k^T / sqrt(d) + mask) v per head, key tiles in
 * shared memory, online softmax; d <= NN_FD. */
cudaError_t cu_flash_launch(const float *q, const float *k, const float *v, float *o,
                            long long heads, long long seq, int d, int causal,
                            cudaStream_t s);

#ifdef __cplusplus
}
#endif

#endif
