// dsp_kernels.cu — the audio front ends' kernels around cuFFT's batched R2C: framing with
// the window (reading the signal through centre reflection and logmel's zero padding, so
// no padded copy is made), the spectrum's layout change for stft, the fused
// power -> mel filterbank -> log step (cuda/cufft), the power alone before a cuBLAS
// filterbank (cuda/cufft-cublas), a two-stage per-clip max reduction and the clamp fused
// with the reordering into the output's [batch, rows, frames]. Every kernel takes the
// batch: clip b's frames are rows b * frames .. of the spectrum (issue 10).
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
    if (g >= batch * nframes * n_fft)
        return;
    size_t row = g / n_fft, j = g % n_fft, t = row % nframes;
    x += row / nframes * samples; // clip b's signal
    long long s = dsp_src_index((long long)(t * hop + j), (long long)off, (long long)used,
                                (long long)samples);
    frames[g] = (s >= 0 ? x[s] : 0.0f) * win[j];
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

__global__ void k_stft_out(const float2 *spec, float *out, size_t nbins, size_t frames,
                           size_t batch, int kind)
{
    size_t g = (size_t)blockIdx.x * blockDim.x + threadIdx.x; // over out: [batch][nbins][frames]
    if (g >= batch * nbins * frames)
        return;
    size_t b = g / (nbins * frames), r = g % (nbins * frames);
    size_t k = r / frames, t = r % frames;
    float2 z = spec[(b * frames + t) * nbins + k];
    if (kind == 2) {
        ((float2 *)out)[g] = z;
        return;
    }
    float p = z.x * z.x + z.y * z.y;
    out[g] = kind == 0 ? p : sqrtf(p);
}

extern "C" cudaError_t cu_stft_out_launch(const float *spec, float *out, size_t nbins,
                                          size_t frames, size_t batch, int kind, cudaStream_t s)
{
    size_t total = batch * nbins * frames;
    k_stft_out<<<(unsigned)((total + 255) / 256), 256, 0, s>>>((const float2 *)spec, out, nbins,
                                                             frames, batch, kind);
    return cudaGetLastError();
}

__device__ static inline float powered(float2 z, float power)
{
    return dsp_powered(z.x, z.y, power);
}

// One thread per (clip b, filter m, frame t): the filter's band only (first[m], len[m]),
// weights row-major dense W[m][k]; the write to mel[b][m][t] is coalesced across t.
__global__ void k_mel(const float2 *spec, const float *w, const int *first, const int *len,
                      float *mel, size_t nbins, size_t frames, float power, int log)
{
    size_t t = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    size_t m = blockIdx.y, b = blockIdx.z;
    if (t >= frames)
        return;
    const float2 *x = spec + (b * frames + t) * nbins;
    const float *wm = w + m * nbins;
    float acc = 0.0f;
    for (int k = first[m], e = first[m] + len[m]; k < e; k++)
        acc += wm[k] * powered(x[k], power);
    mel[(b * gridDim.y + m) * frames + t] = dsp_log_step(acc, log);
}

extern "C" cudaError_t cu_mel_band_launch(const float *spec, const float *w, const int *first,
                                          const int *len, float *mel, size_t nbins,
                                          size_t n_mels, size_t frames, size_t batch,
                                          double power, int log, cudaStream_t s)
{
    dim3 grid((unsigned)((frames + 127) / 128), (unsigned)n_mels, (unsigned)batch);
    k_mel<<<grid, 128, 0, s>>>((const float2 *)spec, w, first, len, mel, nbins, frames,
                               (float)power, log);
    return cudaGetLastError();
}

__global__ void k_power(const float2 *spec, float *p, size_t n, float power)
{
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n)
        p[i] = powered(spec[i], power);
}

extern "C" cudaError_t cu_power_launch(const float *spec, float *p, size_t n, double power,
                                       cudaStream_t s)
{
    k_power<<<(unsigned)((n + 255) / 256), 256, 0, s>>>((const float2 *)spec, p, n,
                                                      (float)power);
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
    if (g >= total)
        return;
    size_t b = g / (rows * cols), i = g % (rows * cols);
    dst[g] = dsp_finish(src[dsp_view(b, i, sb, sr, cols)], max ? max[b] : 0.0f, max != NULL,
                        log, whisper, top_db);
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
