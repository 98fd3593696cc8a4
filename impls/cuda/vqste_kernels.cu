// vqste_kernels.cu — cuda/ste's kernels for vq.ste after cuBLAS and vq_kernels.cu's argmin
// found the codes: the straight-through forward and backward a thread per element, the
// cluster counts and sums by atomicAdd (an order-free sum of up to the cluster's size: the
// check bounds it by that length), the EMA update with Laplace smoothing and restarts.
// The arithmetic is vqste_math.h's, tested on the host.
#include "vqste_kernels.h"
#include "vqste_math.h"

#define THREADS 256

__global__ void ste_zero(float *a, long long n)
{
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n)
        a[i] = 0.0f;
}

__global__ void ste_forward(const float *e, const float *x, const float *g, const int *codes,
                            long long N, int K, int D, float s, float *nk, float *sk,
                            float *acc, float *out)
{
    __shared__ float part[THREADS];
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x, ND = N * D;
    float sq = 0.0f;
    if (i < ND) {
        long long n = i / D;
        int j = (int)(i % D), k = codes[n];
        float xv = x[i], ev = e[(long long)k * D + j], d = xv - ev;
        out[N + i] = vs_q(xv, ev);
        out[N + ND + 2 + i] = vs_dx(g[i], s, xv, ev);
        sq = d * d;
        atomicAdd(&sk[(long long)k * D + j], xv);
        if (j == 0) {
            atomicAdd(&nk[k], 1.0f);
            out[n] = (float)k;
        }
    }
    part[threadIdx.x] = sq;
    __syncthreads();
    for (int h = THREADS / 2; h > 0; h >>= 1) {
        if (threadIdx.x < h)
            part[threadIdx.x] += part[threadIdx.x + h];
        __syncthreads();
    }
    if (threadIdx.x == 0)
        atomicAdd(&acc[0], part[0]);
}

__global__ void ste_counts(const float *cnt0, int K, float decay, float *nk, float *acc)
{
    int k = blockIdx.x * blockDim.x + threadIdx.x;
    if (k < K) {
        float c = vs_count(decay, cnt0[k], nk[k]);
        nk[K + k] = c; // the decayed counts beside the batch's
        atomicAdd(&acc[1], c);
    }
}

__global__ void ste_rows(const float *e, const float *sum0, const float *x, long long N,
                         int K, int D, float decay, float eps, float dead,
                         unsigned long long seed, const float *nk, const float *sk,
                         const float *acc, float *out)
{
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x, KD = (long long)K * D;
    if (i >= KD)
        return;
    long long ND = N * D;
    int k = (int)(i / D), j = (int)(i % D);
    float *de = out + N + ND + 2 + ND, *en = de + KD;
    de[i] = vs_de(2.0f / (float)ND, nk[k], e[i], sk[i]);
    float c = nk[K + k];
    if (c < dead) {
        en[i] = x[(long long)vs_restart(seed, (uint32_t)k, (uint32_t)N) * D + j];
        return;
    }
    en[i] = vs_row(decay, sum0[i], sk[i], vs_smoothed(c, eps, acc[1], (float)K));
}

__global__ void ste_losses(long long N, int D, float beta, const float *acc, float *out)
{
    long long ND = N * D;
    float l = acc[0] / (float)ND;
    out[N + ND] = l;
    out[N + ND + 1] = beta * l;
}

extern "C" cudaError_t cu_ste_forward_launch(const float *e, const float *x, const float *g,
                                             const int *codes, long long N, int K, int D,
                                             float beta, float *nk, float *sk, float *acc,
                                             float *out, cudaStream_t s)
{
    long long KD = (long long)K * D, ND = N * D;
    ste_zero<<<(unsigned)((2 * K + THREADS - 1) / THREADS), THREADS, 0, s>>>(nk, 2LL * K);
    ste_zero<<<(unsigned)((KD + THREADS - 1) / THREADS), THREADS, 0, s>>>(sk, KD);
    ste_zero<<<1, 32, 0, s>>>(acc, 2);
    ste_forward<<<(unsigned)((ND + THREADS - 1) / THREADS), THREADS, 0, s>>>(
        e, x, g, codes, N, K, D, 2.0f * beta / (float)ND, nk, sk, acc, out);
    return cudaGetLastError();
}

extern "C" cudaError_t cu_ste_ema_launch(const float *e, const float *cnt0, const float *sum0,
                                         const float *x, long long N, int K, int D,
                                         float beta, float decay, float eps, float dead,
                                         unsigned long long seed, float *nk, const float *sk,
                                         float *acc, float *out, cudaStream_t s)
{
    long long KD = (long long)K * D;
    ste_counts<<<(unsigned)((K + THREADS - 1) / THREADS), THREADS, 0, s>>>(cnt0, K, decay, nk,
                                                                         acc);
    ste_rows<<<(unsigned)((KD + THREADS - 1) / THREADS), THREADS, 0, s>>>(
        e, sum0, x, N, K, D, decay, eps, dead, seed, nk, sk, acc, out);
    ste_losses<<<1, 1, 0, s>>>(N, D, beta, acc, out);
    return cudaGetLastError();
}
