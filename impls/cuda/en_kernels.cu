// en_kernels.cu — cuda/encodec's own kernels beside the conv kernels of nn_kernels.cu and
// the quantiser kernels of vq_kernels.cu: reflect padding, ELU in place, elementwise add,
// transpose (with an optional residual), the LSTM's bias rows and its cell step; and for
// the op's streams (issue 11, S clips side by side in each channel's row) im2col, col2im
// and the cell over all clips at once.
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

// Step t of S clips: clip s's gates at g + s*T*4H, its state h[s][H], c[s][H], its output
// at y + s*T*H (the caller offsets g and y by step t).
__global__ void en_cell(const float *g, float *h, float *c, float *y, int H, int S,
                        long long T)
{
    long long e = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (e >= (long long)S * H)
        return;
    long long s = e / H, j = e % H;
    const float *gs = g + s * T * 4 * H;
    float cj = c[e];
    float hj = en_lstm_cell(gs[j], gs[H + j], gs[2 * H + j], gs[3 * H + j], &cj);
    c[e] = cj;
    h[e] = hj;
    y[s * T * H + j] = hj;
}

__global__ void en_im2col(const float *xp, long long k, long long stride, long long dil,
                          long long lp, long long lout, long long S, float *col, long long n)
{
    long long e = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (e < n)
        col[e] = xp[en_im2col_src(e, k, stride, dil, lp, lout, S)];
}

// y [cout][S][full] = b + the Z [cout*k][S][L] entries landing on each output (nn_math.h's
// transposed-conv taps, clip by clip).
__global__ void en_col2im(nnc_dims c, long long S, const float *z, const float *b, float *y)
{
    long long e = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (e >= c.cout * S * c.tout)
        return;
    long long u = e % c.tout, s = (e / c.tout) % S, co = e / (c.tout * S), lo, hi;
    nnc_tr_range(&c, u, &lo, &hi);
    float acc = b[co];
    for (long long t = lo; t <= hi; t++) {
        long long j = nnc_tr_tap(&c, u, t);
        if (j >= 0)
            acc += z[(co * c.k + j) * S * c.T + s * c.T + t];
    }
    y[e] = acc;
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
                                         int S, long long T, cudaStream_t s)
{
    en_cell<<<blocks((long long)S * H, 128), 128, 0, s>>>(g, h, c, y, H, S, T);
    return cudaGetLastError();
}

extern "C" cudaError_t cu_en_im2col_launch(const float *xp, int cin, int k, int stride,
                                           int dil, long long lp, long long lout, int S,
                                           float *col, cudaStream_t s)
{
    long long n = (long long)cin * k * S * lout;
    en_im2col<<<blocks(n, 256), 256, 0, s>>>(xp, k, stride, dil, lp, lout, S, col, n);
    return cudaGetLastError();
}

extern "C" cudaError_t cu_en_col2im_launch(const nnc_dims *c, int S, const float *z,
                                           const float *b, float *y, cudaStream_t s)
{
    en_col2im<<<blocks(c->cout * S * c->tout, 256), 256, 0, s>>>(*c, S, z, b, y);
    return cudaGetLastError();
}
