// wh_kernels.cu — cuda/whisper's own kernels around its cuBLAS GEMMs: the conv stem's
// im2col (both convs), bias + GELU (+ positions) after a GEMM, a bias after a residual
// GEMM, LayerNorm and the row softmax of the attention scores (one block per row, tree
// reductions in shared memory). The arithmetic is wh_math.h's.
#include "wh_kernels.h"
#include "wh_math.h"

#define WH_BLOCK 256

static unsigned blocks(long long n, unsigned per)
{
    return (unsigned)((n + per - 1) / per);
}

__global__ void wh_col1(const float *x, long long n, long long M, long long F, float *col)
{
    long long e = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (e >= n)
        return;
    long long j = wh_col1_src(e, M, F);
    col[e] = j >= 0 ? x[j] : 0.0f;
}

__global__ void wh_col2(const float *a1, long long n, long long D, long long F, long long T,
                        float *col)
{
    long long e = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (e >= n)
        return;
    long long j = wh_col2_src(e, D, F, T);
    col[e] = j >= 0 ? a1[j] : 0.0f;
}

__global__ void wh_bias_gelu(float *y, const float *b, long long n, int cols, const float *pos,
                             long long T)
{
    long long e = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (e >= n)
        return;
    long long r = e / cols;
    int c = (int)(e % cols);
    float v = wh_gelu(y[e] + b[c]);
    y[e] = pos ? v + pos[(r % T) * cols + c] : v;
}

__global__ void wh_bias(float *y, const float *b, long long n, int cols)
{
    long long e = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (e < n)
        y[e] += b[e % cols];
}

// Sum (op 0) or max (op 1) of v over the block; every thread gets the result.
__device__ float block_reduce(float v, int op)
{
    __shared__ float sh[WH_BLOCK];
    sh[threadIdx.x] = v;
    __syncthreads();
    for (unsigned s = blockDim.x / 2; s > 0; s >>= 1) {
        if (threadIdx.x < s)
            sh[threadIdx.x] = op ? fmaxf(sh[threadIdx.x], sh[threadIdx.x + s])
                                 : sh[threadIdx.x] + sh[threadIdx.x + s];
        __syncthreads();
    }
    float r = sh[0];
    __syncthreads();
    return r;
}

__global__ void wh_layernorm(const float *x, int D, const float *g, const float *b, float *y)
{
    const float *xr = x + (long long)blockIdx.x * D;
    float *yr = y + (long long)blockIdx.x * D;
    float s = 0;
    for (int c = threadIdx.x; c < D; c += blockDim.x)
        s += xr[c];
    float mean = block_reduce(s, 0) / (float)D, q = 0;
    for (int c = threadIdx.x; c < D; c += blockDim.x)
        q += (xr[c] - mean) * (xr[c] - mean);
    float rstd = wh_ln_rstd(block_reduce(q, 0), D);
    for (int c = threadIdx.x; c < D; c += blockDim.x)
        yr[c] = wh_ln(xr[c], mean, rstd, g[c], b[c]);
}

__global__ void wh_softmax(float *S, long long n)
{
    float *r = S + (long long)blockIdx.x * n, mx = -INFINITY, s = 0;
    for (long long u = threadIdx.x; u < n; u += blockDim.x)
        mx = fmaxf(mx, r[u]);
    mx = block_reduce(mx, 1);
    for (long long u = threadIdx.x; u < n; u += blockDim.x)
        s += expf(r[u] - mx);
    float inv = 1.0f / block_reduce(s, 0);
    for (long long u = threadIdx.x; u < n; u += blockDim.x)
        r[u] = wh_softmax_w(r[u], mx, inv);
}

extern "C" cudaError_t cu_wh_col1_launch(const float *x, long long B, long long M, long long F,
                                         float *col, cudaStream_t s)
{
    long long n = B * F * M * 3;
    wh_col1<<<blocks(n, WH_BLOCK), WH_BLOCK, 0, s>>>(x, n, M, F, col);
    return cudaGetLastError();
}

extern "C" cudaError_t cu_wh_col2_launch(const float *a1, long long B, long long D,
                                         long long F, long long T, float *col, cudaStream_t s)
{
    long long n = B * T * D * 3;
    wh_col2<<<blocks(n, WH_BLOCK), WH_BLOCK, 0, s>>>(a1, n, D, F, T, col);
    return cudaGetLastError();
}

extern "C" cudaError_t cu_wh_bias_gelu_launch(float *y, const float *b, long long rows,
                                              int cols, const float *pos, long long T,
                                              cudaStream_t s)
{
    long long n = rows * cols;
    wh_bias_gelu<<<blocks(n, WH_BLOCK), WH_BLOCK, 0, s>>>(y, b, n, cols, pos, T);
    return cudaGetLastError();
}

extern "C" cudaError_t cu_wh_bias_launch(float *y, const float *b, long long rows, int cols,
                                         cudaStream_t s)
{
    long long n = rows * cols;
    wh_bias<<<blocks(n, WH_BLOCK), WH_BLOCK, 0, s>>>(y, b, n, cols);
    return cudaGetLastError();
}

extern "C" cudaError_t cu_wh_layernorm_launch(const float *x, long long rows, int D,
                                              const float *g, const float *b, float *y,
                                              cudaStream_t s)
{
    wh_layernorm<<<(unsigned)rows, WH_BLOCK, 0, s>>>(x, D, g, b, y);
    return cudaGetLastError();
}

extern "C" cudaError_t cu_wh_softmax_launch(float *S, long long rows, long long n,
                                            cudaStream_t s)
{
    wh_softmax<<<(unsigned)rows, WH_BLOCK, 0, s>>>(S, n);
    return cudaGetLastError();
}
