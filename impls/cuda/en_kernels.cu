// en_kernels.cu — cuda/encodec's own kernels beside the conv kernels of nn_kernels.cu and
// the quantiser kernels of vq_kernels.cu: reflect padding, ELU in place, elementwise add,
// transpose (with an optional residual), the LSTM's bias rows and its cell step.
#include "en_kernels.h"
#include "en_math.h"
#include "nn_math.h"

static unsigned blocks(long long n, unsigned per)
{
    return (unsigned)((n + per - 1) / per);
}

__global__ void en_pad(const float *x, int C, long long L, long long pl, long long pr,
                       float *y)
{
    long long lp = L + pl + pr, e = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (e >= C * lp)
        return;
    long long c = e / lp, j = en_pad_src(e % lp, L, pl, pr);
    y[e] = j >= 0 ? x[c * L + j] : 0.0f;
}

__global__ void en_elu(float *x, long long n)
{
    long long e = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (e < n)
        x[e] = nnc_elu(x[e]);
}

__global__ void en_add(float *y, const float *x, long long n)
{
    long long e = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (e < n)
        y[e] += x[e];
}

// out[c][r] = in[r][c] (+ add[c][r]); one thread per element, reads coalesced.
__global__ void en_transpose(const float *in, long long rows, long long cols,
                             const float *add, float *out)
{
    long long e = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (e >= rows * cols)
        return;
    long long r = e / cols, c = e % cols, o = c * rows + r;
    out[o] = in[e] + (add ? add[o] : 0.0f);
}

__global__ void en_rows(float *g, const float *b, long long T, int n)
{
    long long e = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (e < T * n)
        g[e] = b[e % n];
}

__global__ void en_cell(const float *g, float *h, float *c, float *y, int H)
{
    int j = blockIdx.x * blockDim.x + threadIdx.x;
    if (j >= H)
        return;
    float cj = c[j];
    float hj = en_lstm_cell(g[j], g[H + j], g[2 * H + j], g[3 * H + j], &cj);
    c[j] = cj;
    h[j] = hj;
    y[j] = hj;
}

extern "C" cudaError_t cu_en_pad_launch(const float *x, int C, long long L, long long pl,
                                        long long pr, float *y, cudaStream_t s)
{
    en_pad<<<blocks(C * (L + pl + pr), 256), 256, 0, s>>>(x, C, L, pl, pr, y);
    return cudaGetLastError();
}

extern "C" cudaError_t cu_en_elu_launch(float *x, long long n, cudaStream_t s)
{
    en_elu<<<blocks(n, 256), 256, 0, s>>>(x, n);
    return cudaGetLastError();
}

extern "C" cudaError_t cu_en_add_launch(float *y, const float *x, long long n, cudaStream_t s)
{
    en_add<<<blocks(n, 256), 256, 0, s>>>(y, x, n);
    return cudaGetLastError();
}

extern "C" cudaError_t cu_en_transpose_launch(const float *in, long long rows, long long cols,
                                              const float *add, float *out, cudaStream_t s)
{
    en_transpose<<<blocks(rows * cols, 256), 256, 0, s>>>(in, rows, cols, add, out);
    return cudaGetLastError();
}

extern "C" cudaError_t cu_en_rows_launch(float *g, const float *b, long long T, int n,
                                         cudaStream_t s)
{
    en_rows<<<blocks(T * n, 256), 256, 0, s>>>(g, b, T, n);
    return cudaGetLastError();
}

extern "C" cudaError_t cu_en_cell_launch(const float *g, float *h, float *c, float *y, int H,
                                         cudaStream_t s)
{
    en_cell<<<blocks(H, 128), 128, 0, s>>>(g, h, c, y, H);
    return cudaGetLastError();
}
