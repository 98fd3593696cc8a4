// lm_kernels.cu — cuda/fused's two kernels (issue 26). The mel kernel: a block per 16
// frames of a clip, two frames at a time as the real and imaginary parts of one complex
// row (read straight from the signal through the reflection and zero padding, windowed),
// the Stockham passes in shared memory, the split into both frames' power, the sparse
// filterbank and log10 into a [n_mels][16] tile, stored as 64-byte rows, and the block's
// max. The clamp kernel: each clip's max over its blocks' maxima, then the clamp in
// place. Each thread's work is lm_math.h's / stockham_math.h's, which
// tests/test_cuda_math_lm.c runs on the host over every thread.
#include "lm_kernels.h"

__global__ void lm_k_mel(const float *x, const float *win, const sk_cf *tw, lm_bank bk, lm_geom g,
                         int np, unsigned plan, float *mel, float *part)
{
    extern __shared__ float sm[];
    const unsigned n = g.n_fft, tid = threadIdx.x, T = blockDim.x;
    sk_cf *s0 = (sk_cf *)sm, *s1 = s0 + n;
    float *P = sm + 4 * n, *tile = P + 2 * (n / 2 + 1), *red = tile + bk.n_mels * LM_FPB;
    const unsigned b = blockIdx.y, t0 = blockIdx.x * LM_FPB;
    const float *xc = x + (unsigned long long)b * g.samples;
    for (unsigned c = 0; c < LM_FPB && t0 + c < g.frames; c += 2) {
        for (unsigned j = tid; j < n; j += T)
            s0[j] = lm_load_one(xc, win, &g, t0 + c, j);
        __syncthreads();
        sk_cf *in = s0, *out = s1;
        unsigned ns = 1;
        for (int p = 0; p < np; p++) {
            unsigned R = sk_radix(plan, p);
            sk_block_pass(in, out, n, R, ns, tw, n, tid, T);
            ns *= R;
            sk_cf *t = in;
            in = out;
            out = t;
            __syncthreads();
        }
        for (unsigned k = tid; k <= n / 2; k += T)
            lm_power_one(in, n, k, g.power, P);
        __syncthreads();
        for (unsigned i = tid; i < 2 * bk.n_mels; i += T)
            if (t0 + c + i / bk.n_mels < g.frames)
                lm_mel_one(P, n, &bk, i, tile, c);
        __syncthreads();
    }
    float mx = -INFINITY;
    float *mc = mel + (unsigned long long)b * bk.n_mels * g.frames;
    for (unsigned i = tid; i < bk.n_mels * LM_FPB; i += T)
        mx = fmaxf(mx, lm_store_one(tile, mc, g.frames, t0, i));
    red[tid] = mx;
    __syncthreads();
    for (unsigned h = T / 2; h > 0; h /= 2) {
        if (tid < h)
            red[tid] = fmaxf(red[tid], red[tid + h]);
        __syncthreads();
    }
    if (tid == 0)
        part[b * gridDim.x + blockIdx.x] = red[0];
}

__global__ void lm_k_clamp(float *mel, const float *part, unsigned nblk, unsigned long long per)
{
    __shared__ float red[256];
    const unsigned b = blockIdx.y, tid = threadIdx.x;
    float m = -INFINITY;
    for (unsigned i = tid; i < nblk; i += blockDim.x)
        m = fmaxf(m, part[(unsigned long long)b * nblk + i]);
    red[tid] = m;
    __syncthreads();
    for (unsigned h = blockDim.x / 2; h > 0; h /= 2) {
        if (tid < h)
            red[tid] = fmaxf(red[tid], red[tid + h]);
        __syncthreads();
    }
    const float M = red[0];
    float *mc = mel + (unsigned long long)b * per;
    for (unsigned long long i = (unsigned long long)blockIdx.x * blockDim.x + tid; i < per;
         i += (unsigned long long)gridDim.x * blockDim.x)
        mc[i] = lm_clamp(mc[i], M);
}

extern "C" cudaError_t cu_lm_launch(const float *x, const float *win, const sk_cf *tw, lm_bank bk,
                                    lm_geom g, unsigned batch, float *mel, float *part,
                                    cudaStream_t s)
{
    int r[SK_MAX_PASSES] = {0}, np = sk_plan(g.n_fft, r);
    if (np <= 0 || np > 8 || g.n_fft > LM_NFFT_MAX || batch == 0 || g.frames == 0 ||
        batch > 65535)
        return cudaErrorInvalidValue;
    size_t shm = lm_shared_floats(g.n_fft, bk.n_mels) * sizeof(float);
    if (shm > 48 * 1024) {
        cudaError_t e = cudaFuncSetAttribute(lm_k_mel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                             (int)shm);
        if (e != cudaSuccess)
            return e;
    }
    unsigned nblk = lm_blocks(g.frames);
    lm_k_mel<<<dim3(nblk, batch), LM_THREADS, shm, s>>>(x, win, tw, bk, g, np,
                                                        sk_pack_plan(r, np), mel, part);
    cudaError_t e = cudaGetLastError();
    if (e != cudaSuccess)
        return e;
    unsigned long long per = (unsigned long long)bk.n_mels * g.frames;
    unsigned gx = (unsigned)((per + 255) / 256);
    lm_k_clamp<<<dim3(gx < 64 ? gx : 64, batch), 256, 0, s>>>(mel, part, nblk, per);
    return cudaGetLastError();
}
