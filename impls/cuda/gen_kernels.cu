// gen_kernels.cu — issue 25's kernels: token sampling (a block per row: block argmax, or a
// radix select of the k-th largest logit, a bitonic sort of the classes at or above it in
// shared memory, the walk by thread 0) and the delay pattern's index map. The arithmetic
// is impls/common/sample_math.h's and philox.h's, shared with the host impls, so the tokens
// equal cpu/naive's for the same seed (tests/test_cuda_math_sample.c emulates this).
#include "gen_kernels.h"
#include "gen_math.h"
#include "philox.h"
#include "sample_math.h"

#define THREADS 256

__global__ void sample_kernel(const float *logits, int C, int V, int k, float temp,
                              float top_p, unsigned long long seed, int32_t *tok)
{
    __shared__ sm_pair cand[CU_SAMPLE_CAP];
    __shared__ float w[CU_SAMPLE_CAP];
    __shared__ float bv[THREADS];
    __shared__ int bi[THREADS];
    __shared__ unsigned cnt, thr;
    long long row = blockIdx.x;
    const float *l = logits + row * V;
    int t = threadIdx.x;
    if (temp == 0.0f || k == 1) { // block argmax, the lowest index among equals
        float best = -INFINITY;
        int at = 0x7fffffff;
        for (int v = t; v < V; v += THREADS)
            if (l[v] > best || (l[v] == best && v < at)) {
                best = l[v];
                at = v;
            }
        bv[t] = best;
        bi[t] = at;
        __syncthreads();
        for (int h = THREADS / 2; h > 0; h >>= 1) {
            if (t < h && (bv[t + h] > bv[t] || (bv[t + h] == bv[t] && bi[t + h] < bi[t]))) {
                bv[t] = bv[t + h];
                bi[t] = bi[t + h];
            }
            __syncthreads();
        }
        if (t == 0)
            tok[row] = bi[0];
        return;
    }
    if (t == 0)
        thr = 0;
    __syncthreads();
    for (int b = 31; b >= 0; b--) { // the k-th largest key, bit by bit
        if (t == 0)
            cnt = 0;
        __syncthreads();
        unsigned cand_thr = thr | (1u << b), mine = 0;
        for (int v = t; v < V; v += THREADS)
            mine += sm_key(l[v]) >= cand_thr;
        atomicAdd(&cnt, mine);
        __syncthreads();
        if (t == 0)
            thr = sm_select_step(thr, 1u << b, cnt, k);
        __syncthreads();
    }
    if (t == 0)
        cnt = 0;
    __syncthreads();
    for (int v = t; v < V; v += THREADS)
        if (sm_key(l[v]) >= thr) {
            unsigned at = atomicAdd(&cnt, 1u);
            if (at < CU_SAMPLE_CAP)
                cand[at] = sm_pair{l[v], v};
        }
    __syncthreads();
    unsigned n = cnt;
    if (n > CU_SAMPLE_CAP) {
        if (t == 0)
            tok[row] = -2;
        return;
    }
    unsigned n2 = 1;
    while (n2 < n)
        n2 <<= 1;
    for (unsigned i = n + t; i < n2; i += THREADS) // pads sort last
        cand[i] = sm_pair{-INFINITY, 0x7fffffff};
    __syncthreads();
    for (unsigned kk = 2; kk <= n2; kk <<= 1)
        for (unsigned j = kk >> 1; j > 0; j >>= 1) {
            for (unsigned i = t; i < n2; i += THREADS)
                sm_bitonic_step(cand, i, j, kk);
            __syncthreads();
        }
    if (t == 0) {
        long long b = row / C, c = row % C;
        float u = philox_u24(seed, (uint32_t)b, (uint32_t)c, 0);
        tok[row] = sm_walk(cand, (long long)(k < (int)n ? k : (int)n), temp, top_p, u, w);
    }
}

__global__ void delay_kernel(const int32_t *x, long long n, int K, int T, int undelay,
                             int32_t pad, int32_t *y)
{
    long long o = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (o >= n)
        return;
    long long src = gen_delay_src(o, K, T, undelay);
    y[o] = src < 0 ? pad : x[src];
}

extern "C" cudaError_t cu_sample_launch(const float *logits, long long rows, int C, int V,
                                        int k, float temp, float top_p,
                                        unsigned long long seed, int32_t *tok, cudaStream_t s)
{
    sample_kernel<<<(unsigned)rows, THREADS, 0, s>>>(logits, C, V, k, temp, top_p, seed, tok);
    return cudaGetLastError();
}

extern "C" cudaError_t cu_delay_launch(const int32_t *x, long long B, int K, int T,
                                       int undelay, int32_t pad, int32_t *y, cudaStream_t s)
{
    long long n = B * K * (undelay ? (long long)T : (long long)T + K - 1);
    delay_kernel<<<(unsigned)((n + 255) / 256), 256, 0, s>>>(x, n, K, T, undelay, pad, y);
    return cudaGetLastError();
}
