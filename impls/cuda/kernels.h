/* kernels.h — the C entry points of the cuda backend's .cu files: each enqueues its
 * kernels on the given stream and returns the launch's cudaError_t (as the runtime's
 * enum), so the host files, plain C, check and report it. */
#ifndef IMPLS_CUDA_KERNELS_H
#define IMPLS_CUDA_KERNELS_H

#include <stddef.h>

#include <cuda_runtime_api.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Largest n the one-block shared-memory radix-2 takes; larger powers of two go through
 * the global-memory passes. */
#define CU_R2_SHARED_MAX 4096

/* out[b] = DFT(in[b]) for `batch` rows of n complex floats (interleaved), n a power of
 * two; tw: the n/2 twiddles exp(-2 pi i t/n) on the device. */
cudaError_t cu_radix2_launch(const float *in, float *out, const float *tw, unsigned n,
                             unsigned batch, cudaStream_t s);

/* Audio front ends (dsp_kernels.cu). frames[t][j] = padded[t*hop + j] * win[j], j < n_fft,
 * where padded[p] is x[p - off] reflected into [0, used) and zero from `samples` on. */
cudaError_t cu_frame_sig_launch(const float *x, size_t samples, size_t used, size_t off,
                                const float *win, float *frames, size_t n_fft, size_t hop,
                                size_t nframes, cudaStream_t s);
/* Spectrum [frames][nbins] complex -> out [nbins][frames]: 0 power, 1 magnitude, 2 complex. */
cudaError_t cu_stft_out_launch(const float *spec, float *out, size_t nbins, size_t frames,
                               int kind, cudaStream_t s);
/* mel[m][t] = log(sum over k in [first[m], first[m]+len[m]) of W[m][k] |X[t][k]|^power),
 * W dense [n_mels][nbins]; log: 0 none, 1 Whisper's log10(max(v, 1e-10)), 2 dB. */
cudaError_t cu_mel_band_launch(const float *spec, const float *w, const int *first,
                               const int *len, float *mel, size_t nbins, size_t n_mels,
                               size_t frames, double power, int log, cudaStream_t s);
/* *max = max of v[0..n): `blocks` partials into scratch, then one block over them. */
cudaError_t cu_max_launch(const float *v, size_t n, float *scratch, size_t blocks,
                          float *max, cudaStream_t s);
/* Whisper: v = (max(v, *max - 8) + 4) / 4; else dB: v = max(v, *max - top_db). */
cudaError_t cu_clamp_launch(float *v, size_t n, const float *max, int whisper,
                            float top_db, cudaStream_t s);

/* issue 10, cuda/copy-kernel: out[0..n) = in[0..n) by a grid-stride float4 kernel
 * (copy_kernel.cu) of at most `blocks` blocks of 256 threads. */
cudaError_t cu_copy_launch(const float *in, float *out, size_t n, int blocks, cudaStream_t s);

#ifdef __cplusplus
}
#endif

#endif
