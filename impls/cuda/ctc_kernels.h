/* ctc_kernels.h — the C entry points of ctc_kernels.cu (issue 23's CTC decoders); each
 * enqueues on the stream and returns the launch's cudaError_t. lp [B, T, V] on the device,
 * rows [B, T + 1] int32 (labels, -1 padding, the score's float32 bits). */
#ifndef IMPLS_CUDA_CTC_KERNELS_H
#define IMPLS_CUDA_CTC_KERNELS_H

#include <cuda_runtime_api.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Greedy: a warp per frame for argmax (first of equals) and max into idx/val [B, T], then
 * a thread per utterance merging repeats, dropping blanks and summing the maxima. */
cudaError_t cu_ctc_greedy_launch(const float *lp, long long B, int T, int V, int *idx,
                                 float *val, int32_t *rows, cudaStream_t s);

/* Bytes of device scratch cu_ctc_beam_launch needs per utterance. */
size_t cu_ctc_beam_scratch(int T, int V, int beam);
/* Prefix beam search, one block per utterance: scratch holds B * cu_ctc_beam_scratch. */
cudaError_t cu_ctc_beam_launch(const float *lp, long long B, int T, int V, int beam,
                               float prune, void *scratch, int32_t *rows, cudaStream_t s);

#ifdef __cplusplus
}
#endif

#endif
