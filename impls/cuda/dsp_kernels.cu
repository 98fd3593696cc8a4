// dsp_kernels.cu — the audio front ends' kernels around cuFFT's batched R2C: framing with
// the window (reading the signal through centre reflection and logmel's zero padding, so
// no padded copy is made), the spectrum's layout change for stft, the fused
// power -> mel filterbank -> log step (cuda/cufft), the power alone before a cuBLAS
// filterbank (cuda/cufft-cublas), a two-stage per-clip max reduction and the clamp fused
// with the reordering into the output's [batch, rows, frames]. Every kernel takes the
// batch: clip b's frames are rows b * frames .. of the spectrum (issue 10). Each thread's
// work is dsp_math.h's dsp_*_one, which tests/test_cuda_math_dsp.c runs on the host.
#include <math.h>

#include "dsp_math.h"
#include "kernels.h"

// The frame kernels see the signal as the contract's padded sequence: index p of the
// padded signal is x[p - off] reflected into [0, used) (numpy "reflect", no repeated
// edge), and zero at or past `samples` (logmel's pad_or_trim to 30 s).
__global__ void k_frame(const float *x, size_t samples, size_t used, size_t off,
                        const float *win, float *frames, size_t n_fft, size_t hop,
                        size_t nframes, size_t batch)
{
    size_t g = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (g < batch * nframes * n_fft)
        dsp_frame_one(x, samples, used, off, win, frames, n_fft, hop, nframes, g);
}

extern "C" cudaError_t cu_frame_sig_launch(const float *x, size_t samples, size_t used,
                                           size_t off, const float *win, float *frames,
                                           size_t n_fft, size_t hop, size_t nframes,
                                           size_t batch, cudaStream_t s)
{
    size_t total = batch * nframes * n_fft;
    k_frame<<<(unsigned)((total + 255) / 256), 256, 0, s>>>(x, samples, used, off, win, frames,
                                                          n_fft, hop, nframes, batch);
    return cudaGetLastError();
}

__global__ void k_stft_out(const float *spec, float *out, size_t nbins, size_t frames,
                           size_t batch, int kind)
{
    size_t g = (size_t)blockIdx.x * blockDim.x + threadIdx.x; // over out: [batch][nbins][frames]
    if (g < batch * nbins * frames)
        dsp_stft_out_one(spec, out, nbins, frames, kind, g);
}

extern "C" cudaError_t cu_stft_out_launch(const float *spec, float *out, size_t nbins,
                                          size_t frames, size_t batch, int kind, cudaStream_t s)
{
    size_t total = batch * nbins * frames;
    k_stft_out<<<(unsigned)((total + 255) / 256), 256, 0, s>>>(spec, out, nbins, frames, batch,
                                                             kind);
    return cudaGetLastError();
}

// One thread per (clip b, filter m, frame t): the filter's band only (first[m], len[m]),
// weights row-major dense W[m][k]; the write to mel[b][m][t] is coalesced across t.
__global__ void k_mel(const float *spec, const float *w, const int *first, const int *len,
                      float *mel, size_t nbins, size_t frames, float power, int log)
{
    size_t t = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (t < frames)
        dsp_mel_one(spec, w, first, len, mel, nbins, frames, gridDim.y, power, log, blockIdx.z,
                    blockIdx.y, t);
}

extern "C" cudaError_t cu_mel_band_launch(const float *spec, const float *w, const int *first,
                                          const int *len, float *mel, size_t nbins,
                                          size_t n_mels, size_t frames, size_t batch,
                                          double power, int log, cudaStream_t s)
{
    dim3 grid((unsigned)((frames + 127) / 128), (unsigned)n_mels, (unsigned)batch);
    k_mel<<<grid, 128, 0, s>>>(spec, w, first, len, mel, nbins, frames, (float)power, log);
    return cudaGetLastError();
}

__global__ void k_power(const float *spec, float *p, size_t n, float power)
{
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n)
        dsp_power_one(spec, p, power, i);
}

extern "C" cudaError_t cu_power_launch(const float *spec, float *p, size_t n, double power,
                                       cudaStream_t s)
{
    k_power<<<(unsigned)((n + 255) / 256), 256, 0, s>>>(spec, p, n, (float)power);
    return cudaGetLastError();
}

// Clip b's values: (b, r, c) at v[b * sb + r * sr + c], r < rows, c < cols; blockIdx.y
// is the clip, part[b * gridDim.x + blockIdx.x] its block's max.
__global__ void k_max_partial(const float *v, size_t sb, size_t sr, size_t rows, size_t cols,
                              float *part)
{
    __shared__ float s[256];
    float m = -INFINITY;
    const float *x = v + blockIdx.y * sb;
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < rows * cols;
         i += (size_t)gridDim.x * blockDim.x)
        m = fmaxf(m, x[dsp_view(0, i, 0, sr, cols)]);
    s[threadIdx.x] = m;
    __syncthreads();
    for (unsigned h = blockDim.x / 2; h > 0; h /= 2) {
        if (threadIdx.x < h)
            s[threadIdx.x] = fmaxf(s[threadIdx.x], s[threadIdx.x + h]);
        __syncthreads();
    }
    if (threadIdx.x == 0)
        part[blockIdx.y * gridDim.x + blockIdx.x] = s[0];
}

extern "C" cudaError_t cu_max_launch(const float *v, size_t batch, size_t sb, size_t sr,
                                     size_t rows, size_t cols, float *scratch, size_t blocks,
                                     float *max, cudaStream_t s)
{
    k_max_partial<<<dim3((unsigned)blocks, (unsigned)batch), 256, 0, s>>>(v, sb, sr, rows, cols,
                                                                         scratch);
    k_max_partial<<<dim3(1, (unsigned)batch), 256, 0, s>>>(scratch, blocks, 0, 1, blocks, max);
    return cudaGetLastError();
}

// One thread per output value dst[b][r][c]; the source at b * sb + r * sr + c (in place
// when src == dst with the same layout: each thread reads and writes its own value).
// The log step first, then the clamp against the clip's max through the same log step
// (dsp_finish: that is the max of the logged values, bit for bit).
__global__ void k_finish(const float *src, size_t sb, size_t sr, float *dst, size_t rows,
                         size_t cols, size_t total, const float *max, int log, int whisper,
                         float top_db)
{
    size_t g = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (g < total)
        dsp_finish_one(src, sb, sr, dst, rows, cols, max, log, whisper, top_db, g);
}

extern "C" cudaError_t cu_finish_launch(const float *src, size_t sb, size_t sr, float *dst,
                                        size_t batch, size_t rows, size_t cols,
                                        const float *max, int log, int whisper, float top_db,
                                        cudaStream_t s)
{
    size_t total = batch * rows * cols;
    k_finish<<<(unsigned)((total + 255) / 256), 256, 0, s>>>(src, sb, sr, dst, rows, cols, total,
                                                           max, log, whisper, top_db);
    return cudaGetLastError();
}
