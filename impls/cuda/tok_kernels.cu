// tok_kernels.cu — issue 25's kernels: token sampling (a block per row: block argmax, or a
// radix select of the k-th largest logit, a bitonic sort of the classes at or above it in
// shared memory, the walk by thread 0) and the delay pattern's index map. The arithmetic
// is impls/common/sample_math.h's and philox.h's, shared with the host impls, so the tokens
// equal cpu/naive's for the same seed (tests/test_cuda_math_sample.c emulates this).
#include "tok_kernels.h"
#include "tok_math.h"
#include "philox.h"
#include "sample_math.h"

#define THREADS 256

// The token of row l [V] for u, by the whole block (THREADS threads); valid in thread 0.
// Argmax when temp is 0 or k 1, else the radix select, bitonic sort and sm_walk; -2 when
// more than CU_SAMPLE_CAP classes tie at or above the k-th.
__device__ int32_t block_draw(const float *l, int V, int k, float temp, float top_p, float u)
{
    __shared__ sm_pair cand[CU_SAMPLE_CAP];
    __shared__ float w[CU_SAMPLE_CAP];
    __shared__ float bv[THREADS];
    __shared__ int bi[THREADS];
    __shared__ unsigned cnt, thr;
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
        int32_t r = bi[0];
        __syncthreads();
        return r;
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
    if (n > CU_SAMPLE_CAP)
        return -2;
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
    int32_t r = 0;
    if (t == 0)
        r = sm_walk(cand, (long long)(k < (int)n ? k : (int)n), temp, top_p, u, w);
    __syncthreads();
    return r;
}

__global__ void sample_kernel(const float *logits, int C, int V, int k, float temp,
                              float top_p, unsigned long long seed, int32_t *tok)
{
    long long row = blockIdx.x;
    long long b = row / C, c = row % C;
    float u = philox_u24(seed, (uint32_t)b, (uint32_t)c, 0);
    int32_t r = block_draw(logits + row * V, V, k, temp, top_p, u);
    if (threadIdx.x == 0)
        tok[row] = r;
}

// MaskGIT: a block per frame of the level's row; masked frames draw (u = Philox (seed,
// (f, level, t))) and get their softmax confidence (block max and sum of sm_expf).
__global__ void mg_draw_kernel(const float *logits, int K, float temp, unsigned long long seed,
                               int level, int it, int32_t *row, float *conf)
{
    __shared__ float red[THREADS];
    int f = blockIdx.x, t = threadIdx.x;
    if (row[f] != MG_MASK_TOKEN)
        return; // the whole block leaves together
    const float *l = logits + (long long)f * K;
    float u = philox_u24(seed, (uint32_t)f, (uint32_t)level, (uint32_t)it);
    int32_t tok = block_draw(l, K, K, temp, 1.0f, u);
    __shared__ int32_t stok;
    if (t == 0)
        stok = tok;
    float m = -INFINITY;
    for (int v = t; v < K; v += THREADS)
        m = fmaxf(m, l[v]);
    red[t] = m;
    __syncthreads();
    for (int h = THREADS / 2; h > 0; h >>= 1) {
        if (t < h)
            red[t] = fmaxf(red[t], red[t + h]);
        __syncthreads();
    }
    float mx = red[0];
    __syncthreads();
    float s = 0.0f;
    for (int v = t; v < K; v += THREADS)
        s += sm_expf(l[v] - mx);
    red[t] = s;
    __syncthreads();
    for (int h = THREADS / 2; h > 0; h >>= 1) {
        if (t < h)
            red[t] += red[t + h];
        __syncthreads();
    }
    if (t == 0) {
        row[f] = stok;
        conf[f] = sm_expf(l[stok] - mx) / red[0];
    }
}

// The confidence sort: one block gathers the frames that were masked (was[f]) with their
// confidences, bitonic-sorts them (least confident first, the lower frame on ties) and
// masks the first nmask again.
__global__ void mg_remask_kernel(int32_t *row, const int32_t *was, const float *conf, int F,
                                 int nmask)
{
    __shared__ sm_pair c[CU_MG_FRAMES];
    __shared__ unsigned n;
    int t = threadIdx.x;
    if (t == 0)
        n = 0;
    __syncthreads();
    for (int f = t; f < F; f += blockDim.x)
        if (was[f] == MG_MASK_TOKEN)
            c[atomicAdd(&n, 1u)] = sm_pair{conf[f], f};
    __syncthreads();
    unsigned n2 = 1;
    while (n2 < n)
        n2 <<= 1;
    for (unsigned i = n + t; i < n2; i += blockDim.x)
        c[i] = sm_pair{INFINITY, 0x7fffffff};
    __syncthreads();
    for (unsigned kk = 2; kk <= n2; kk <<= 1)
        for (unsigned j = kk >> 1; j > 0; j >>= 1) {
            for (unsigned i = t; i < n2; i += blockDim.x)
                mg_conf_bitonic_step(c, i, j, kk);
            __syncthreads();
        }
    for (int i = t; i < nmask; i += blockDim.x)
        row[c[i].i] = MG_MASK_TOKEN;
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

extern "C" cudaError_t cu_mg_step_launch(const float *logits, int F, int K, float temp,
                                         unsigned long long seed, int level, int it,
                                         int nmask, int32_t *row, int32_t *was, float *conf,
                                         cudaStream_t s)
{
    cudaError_t e = cudaMemcpyAsync(was, row, (size_t)F * sizeof *row,
                                    cudaMemcpyDeviceToDevice, s);
    if (e != cudaSuccess)
        return e;
    mg_draw_kernel<<<(unsigned)F, THREADS, 0, s>>>(logits, K, temp, seed, level, it, row, conf);
    mg_remask_kernel<<<1, 1024, 0, s>>>(row, was, conf, F, nmask);
    return cudaGetLastError();
}

// decode's MLP around cuBLAS: h [F, d] = the sum over levels of E[l][token] (row K when
// masked), a and the logits preset to their biases, the ReLU.
__global__ void mg_hidden_kernel(const float *E, const int32_t *tok, int L, int F, int K, int d,
                                 float *h)
{
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= (long long)F * d)
        return;
    int f = (int)(i / d), j = (int)(i % d);
    float s = 0.0f;
    for (int l = 0; l < L; l++) {
        int32_t k = tok[(long long)l * F + f];
        s += E[((long long)l * (K + 1) + (k == MG_MASK_TOKEN ? K : k)) * d + j];
    }
    h[i] = s;
}

__global__ void mg_rows_kernel(const float *b, int F, int n, float *out)
{
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < (long long)F * n)
        out[i] = b[i % n];
}

__global__ void mg_relu_kernel(float *a, long long n)
{
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n)
        a[i] = a[i] > 0.0f ? a[i] : 0.0f;
}

extern "C" cudaError_t cu_mg_hidden_launch(const float *E, const int32_t *tok, int L, int F,
                                           int K, int d, const float *b1, float *h, float *a,
                                           cudaStream_t s)
{
    long long n = (long long)F * d;
    mg_hidden_kernel<<<(unsigned)((n + 255) / 256), 256, 0, s>>>(E, tok, L, F, K, d, h);
    mg_rows_kernel<<<(unsigned)((n + 255) / 256), 256, 0, s>>>(b1, F, d, a);
    return cudaGetLastError();
}

extern "C" cudaError_t cu_mg_relu_bias_launch(float *a, int F, int d, const float *b2, int K,
                                              float *logits, cudaStream_t s)
{
    long long n = (long long)F * d, m = (long long)F * K;
    mg_relu_kernel<<<(unsigned)((n + 255) / 256), 256, 0, s>>>(a, n);
    mg_rows_kernel<<<(unsigned)((m + 255) / 256), 256, 0, s>>>(b2, F, K, logits);
    return cudaGetLastError();
}

extern "C" cudaError_t cu_delay_launch(const int32_t *x, long long B, int K, int T,
                                       int undelay, int32_t pad, int32_t *y, cudaStream_t s)
{
    long long n = B * K * (undelay ? (long long)T : (long long)T + K - 1);
    delay_kernel<<<(unsigned)((n + 255) / 256), 256, 0, s>>>(x, n, K, T, undelay, pad, y);
    return cudaGetLastError();
}
