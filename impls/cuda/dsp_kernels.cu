// dsp_kernels.cu — the audio front ends' kernels around cuFFT's batched R2C: framing with
// the window (reading the signal through centre reflection and logmel's zero padding, so
// no padded copy is made), the spectrum's layout change for stft, the fused
// power -> mel filterbank -> log step, a two-stage max reduction and the clamp.
#include <math.h>

#include "kernels.h"

// The frame kernels see the signal as the contract's padded sequence: index p of the
// padded signal is x[p - off] reflected into [0, used) (numpy "reflect", no repeated
// edge), and zero at or past `samples` (logmel's pad_or_trim to 30 s).
__global__ void k_frame(const float *x, size_t samples, size_t used, size_t off,
                        const float *win, float *frames, size_t n_fft, size_t hop,
                        size_t nframes)
{
    size_t g = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (g >= nframes * n_fft)
        return;
    size_t t = g / n_fft, j = g % n_fft;
    long long s = (long long)(t * hop + j) - (long long)off;
    if (s < 0)
        s = -s;
    if (s >= (long long)used)
        s = 2 * ((long long)used - 1) - s;
    float v = s >= 0 && s < (long long)samples ? x[s] : 0.0f;
    frames[g] = v * win[j];
}

extern "C" cudaError_t cu_frame_sig_launch(const float *x, size_t samples, size_t used,
                                           size_t off, const float *win, float *frames,
                                           size_t n_fft, size_t hop, size_t nframes,
                                           cudaStream_t s)
{
    size_t total = nframes * n_fft;
    k_frame<<<(unsigned)((total + 255) / 256), 256, 0, s>>>(x, samples, used, off, win, frames,
                                                          n_fft, hop, nframes);
    return cudaGetLastError();
}

__global__ void k_stft_out(const float2 *spec, float *out, size_t nbins, size_t frames, int kind)
{
    size_t g = (size_t)blockIdx.x * blockDim.x + threadIdx.x; // over out: [nbins][frames]
    if (g >= nbins * frames)
        return;
    size_t k = g / frames, t = g % frames;
    float2 z = spec[t * nbins + k];
    if (kind == 2) {
        ((float2 *)out)[g] = z;
        return;
    }
    float p = z.x * z.x + z.y * z.y;
    out[g] = kind == 0 ? p : sqrtf(p);
}

extern "C" cudaError_t cu_stft_out_launch(const float *spec, float *out, size_t nbins,
                                          size_t frames, int kind, cudaStream_t s)
{
    size_t total = nbins * frames;
    k_stft_out<<<(unsigned)((total + 255) / 256), 256, 0, s>>>((const float2 *)spec, out, nbins,
                                                             frames, kind);
    return cudaGetLastError();
}

__device__ static inline float powered(float2 z, float power)
{
    float p2 = z.x * z.x + z.y * z.y;
    if (power == 2.0f)
        return p2;
    if (power == 1.0f)
        return sqrtf(p2);
    return powf(p2, 0.5f * power);
}

__device__ static inline float log_step(float v, int log)
{
    if (log == 1)
        return log10f(fmaxf(v, 1e-10f));
    if (log == 2)
        return 10.0f * log10f(fmaxf(v, 1e-10f));
    return v;
}

// One thread per (filter m, frame t): the filter's band only (first[m], len[m]), weights
// row-major dense W[m][k]; the write to mel[m][t] is coalesced across t.
__global__ void k_mel(const float2 *spec, const float *w, const int *first, const int *len,
                      float *mel, size_t nbins, size_t frames, float power, int log)
{
    size_t t = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    size_t m = blockIdx.y;
    if (t >= frames)
        return;
    const float2 *x = spec + t * nbins;
    const float *wm = w + m * nbins;
    float acc = 0.0f;
    for (int k = first[m], e = first[m] + len[m]; k < e; k++)
        acc += wm[k] * powered(x[k], power);
    mel[m * frames + t] = log_step(acc, log);
}

extern "C" cudaError_t cu_mel_band_launch(const float *spec, const float *w, const int *first,
                                          const int *len, float *mel, size_t nbins,
                                          size_t n_mels, size_t frames, double power, int log,
                                          cudaStream_t s)
{
    dim3 grid((unsigned)((frames + 127) / 128), (unsigned)n_mels);
    k_mel<<<grid, 128, 0, s>>>((const float2 *)spec, w, first, len, mel, nbins, frames,
                               (float)power, log);
    return cudaGetLastError();
}

__global__ void k_max_partial(const float *v, size_t n, float *part)
{
    __shared__ float s[256];
    float m = -INFINITY;
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x)
        m = fmaxf(m, v[i]);
    s[threadIdx.x] = m;
    __syncthreads();
    for (unsigned h = blockDim.x / 2; h > 0; h /= 2) {
        if (threadIdx.x < h)
            s[threadIdx.x] = fmaxf(s[threadIdx.x], s[threadIdx.x + h]);
        __syncthreads();
    }
    if (threadIdx.x == 0)
        part[blockIdx.x] = s[0];
}

extern "C" cudaError_t cu_max_launch(const float *v, size_t n, float *scratch, size_t blocks,
                                     float *max, cudaStream_t s)
{
    k_max_partial<<<(unsigned)blocks, 256, 0, s>>>(v, n, scratch);
    k_max_partial<<<1, 256, 0, s>>>(scratch, blocks, max);
    return cudaGetLastError();
}

__global__ void k_clamp(float *v, size_t n, const float *max, int whisper, float top_db)
{
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n)
        return;
    float m = *max;
    v[i] = whisper ? (fmaxf(v[i], m - 8.0f) + 4.0f) / 4.0f : fmaxf(v[i], m - top_db);
}

extern "C" cudaError_t cu_clamp_launch(float *v, size_t n, const float *max, int whisper,
                                       float top_db, cudaStream_t s)
{
    k_clamp<<<(unsigned)((n + 255) / 256), 256, 0, s>>>(v, n, max, whisper, top_db);
    return cudaGetLastError();
}
