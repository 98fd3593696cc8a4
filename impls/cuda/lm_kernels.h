/* lm_kernels.h — the C entry point of lm_kernels.cu (cuda/fused, issue 26): Whisper's
 * log-mel of a batch of clips in two launches. */
#ifndef IMPLS_CUDA_LM_KERNELS_H
#define IMPLS_CUDA_LM_KERNELS_H

#include <cuda_runtime_api.h>

#include "lm_math.h"

#ifdef __cplusplus
extern "C" {
#endif

/* mel [batch][n_mels][frames] = Whisper's clamped log-mel of clip b at x + b samples: the
 * mel kernel (one block per LM_FPB frames of a clip) then the clamp kernel. win: n_fft
 * floats; tw: the n_fft-entry table exp(-2 pi i t / n_fft); bk's arrays on the device;
 * part: batch * lm_blocks(frames) floats (each block's max). */
cudaError_t cu_lm_launch(const float *x, const float *win, const sk_cf *tw, lm_bank bk,
                         lm_geom g, unsigned batch, float *mel, float *part, cudaStream_t s);

#ifdef __cplusplus
}
#endif

#endif
