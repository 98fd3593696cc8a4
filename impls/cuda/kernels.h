/* kernels.h — the C entry points of the cuda backend's .cu files: each enqueues its
 * kernels on the given stream and returns the launch's cudaError_t (as the runtime's
 * enum), so the host files, plain C, check and report it. */
#ifndef IMPLS_CUDA_KERNELS_H
#define IMPLS_CUDA_KERNELS_H

#include <stddef.h>

#include <cuda_runtime_api.h>

#include "radix2_math.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Largest n the one-block shared-memory radix-2 takes (radix2_math.h's, so the host test
 * takes the same path); larger powers of two go through the global-memory passes. */
#define CU_R2_SHARED_MAX R2_SHARED_MAX

/* out[b] = DFT(in[b]) for `batch` rows of n complex floats (interleaved), n a power of
 * two; tw: the n/2 twiddles exp(-2 pi i t/n) on the device. */
cudaError_t cu_radix2_launch(const float *in, float *out, const float *tw, unsigned n,
                             unsigned batch, cudaStream_t s);

/* Audio front ends (dsp_kernels.cu), batch clips each (issue 10): clip b's signal at
 * x + b * samples, its frames rows b * nframes .. of frames and spec.
 * frames[t][j] = padded[t*hop + j] * win[j], j < n_fft, where padded[p] is x[p - off]
 * reflected into [0, used) and zero from `samples` on. */
cudaError_t cu_frame_sig_launch(const float *x, size_t samples, size_t used, size_t off,
                                const float *win, float *frames, size_t n_fft, size_t hop,
                                size_t nframes, size_t batch, cudaStream_t s);
/* Spectrum [batch*frames][nbins] complex -> out [batch][nbins][frames]: 0 power,
 * 1 magnitude, 2 complex. */
cudaError_t cu_stft_out_launch(const float *spec, float *out, size_t nbins, size_t frames,
                               size_t batch, int kind, cudaStream_t s);
/* mel[b][m][t] = log(sum over k in [first[m], first[m]+len[m]) of W[m][k] |X[b*frames+t][k]|^power),
 * W dense [n_mels][nbins]; log: 0 none, 1 Whisper's log10(max(v, 1e-10)), 2 dB. */
cudaError_t cu_mel_band_launch(const float *spec, const float *w, const int *first,
                               const int *len, float *mel, size_t nbins, size_t n_mels,
                               size_t frames, size_t batch, double power, int log,
                               cudaStream_t s);
/* p[i] = |spec[i]|^power for n complex values (the input of a dense filterbank GEMM). */
cudaError_t cu_power_launch(const float *spec, float *p, size_t n, double power,
                            cudaStream_t s);
/* max[b] = max over r < rows, c < cols of v[b*sb + r*sr + c], b < batch: `blocks`
 * partials per clip into scratch (batch * blocks floats), then one block per clip. */
cudaError_t cu_max_launch(const float *v, size_t batch, size_t sb, size_t sr, size_t rows,
                          size_t cols, float *scratch, size_t blocks, float *max,
                          cudaStream_t s);
/* dst[b][r][c] = clamp(log(src[b*sb + r*sr + c])), log as cu_mel_band_launch's; with max
 * (per clip, before the log step) the clamp is Whisper's (max(v, M - 8) + 4) / 4 or dB's
 * max(v, M - top_db), M the clip's max through the log step; no max: no clamp. */
cudaError_t cu_finish_launch(const float *src, size_t sb, size_t sr, float *dst, size_t batch,
                             size_t rows, size_t cols, const float *max, int log, int whisper,
                             float top_db, cudaStream_t s);

/* issue 10, cuda/copy-kernel: out[0..n) = in[0..n) by a grid-stride float4 kernel
 * (copy_kernel.cu) of at most `blocks` blocks of 256 threads. */
cudaError_t cu_copy_launch(const float *in, float *out, size_t n, int blocks, cudaStream_t s);

#ifdef __cplusplus
}
#endif

#endif
