/* tok_kernels.h — the C entry points of tok_kernels.cu (issue 25: sample.topk and
 * codes.delay on the GPU); each enqueues on the stream and returns the launch's
 * cudaError_t. Arithmetic and index maps: impls/common/sample_math.h, tok_math.h. */
#ifndef IMPLS_CUDA_TOK_KERNELS_H
#define IMPLS_CUDA_TOK_KERNELS_H

#include <cuda_runtime_api.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The most candidates (logits >= the k-th largest) one block sorts in shared memory. */
#define CU_SAMPLE_CAP 2048

/* One 256-thread block per row of logits [rows, V] (row = b * C + c): argmax (temp 0 or
 * k 1), else a radix select of the k-th largest logit (k in [1, 1024]), the classes at or
 * above it bitonic-sorted in shared memory, and sm_walk by thread 0 with u = Philox (seed,
 * (b, c, 0)). A row with more than CU_SAMPLE_CAP classes tied at or above the k-th writes
 * -2 (the check then fails it by name). */
cudaError_t cu_sample_launch(const float *logits, long long rows, int C, int V, int k,
                             float temp, float top_p, unsigned long long seed, int32_t *tok,
                             cudaStream_t s);

/* The most frames mg_remask_kernel sorts in one block's shared memory. */
#define CU_MG_FRAMES 2048

/* One MaskGIT iteration on the level's row [F] (-1 masked) with logits [F, K] (K <= 1024):
 * a block per masked frame draws its token (top-k and top-p off) and its softmax
 * confidence, then one block masks again the nmask least confident (the host tracks how
 * many are masked, so it computes nmask). was [F], conf [F]: scratch. */
cudaError_t cu_mg_step_launch(const float *logits, int F, int K, float temp,
                              unsigned long long seed, int level, int it, int nmask,
                              int32_t *row, int32_t *was, float *conf, cudaStream_t s);

/* maskgit.decode's MLP around two cuBLAS SGEMMs: h [F, d] the embedding sums of tok
 * [L, F] (E [L, K + 1, d]) and a [F, d] preset to b1; then a = relu(a) and logits [F, K]
 * preset to b2 (the level's row). */
cudaError_t cu_mg_hidden_launch(const float *E, const int32_t *tok, int L, int F, int K, int d,
                                const float *b1, float *h, float *a, cudaStream_t s);
cudaError_t cu_mg_relu_bias_launch(float *a, int F, int d, const float *b2, int K,
                                   float *logits, cudaStream_t s);

/* codes.delay: x [B, K, Tin] -> y [B, K, Tout], a thread per output code (tok_math.h). */
cudaError_t cu_delay_launch(const int32_t *x, long long B, int K, int T, int undelay,
                            int32_t pad, int32_t *y, cudaStream_t s);

#ifdef __cplusplus
}
#endif

#endif
