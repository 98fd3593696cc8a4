// gen_kernels.cu — cuda/hifigan's and cuda/wavenet's own kernels: im2col with the leaky
// ReLU fused, bias/residual/tanh epilogues, the transposed conv's overlap-add, the mean of
// three, and WaveNet's column build, fused gated activation and skip/residual sums. The
// arithmetic and index maps are gen_math.h's, tested on the host.
#include "gen_kernels.h"
#include "gen_math.h"

#define GEN_THREADS 256

static unsigned gen_blocks(long long n)
{
    long long b = (n + GEN_THREADS - 1) / GEN_THREADS;
    return (unsigned)(b < 1 ? 1 : b > 1048576 ? 1048576 : b);
}

#define GRID_LOOP(i, n)                                                                   \
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < (n);          \
         i += (long long)gridDim.x * blockDim.x)

__global__ void k_norm(const float *x, const float *mean, const float *scale, int C,
                       long long T, float *y)
{
    GRID_LOOP(e, C * T)
    {
        long long c = e / T;
        y[e] = (x[e] - mean[c]) / scale[c];
    }
}

__global__ void k_im2col(const float *x, int cin, long long T, int K, int dil, int pad,
                         float slope, float *col)
{
    GRID_LOOP(e, (long long)cin * K * T)
    {
        long long src = gen_conv_src(e, T, K, dil, pad);
        col[e] = src < 0 ? 0.0f : gen_lrelu(x[src], slope);
    }
}

__global__ void k_lrelu(const float *x, long long n, float slope, float *y)
{
    GRID_LOOP(e, n) y[e] = gen_lrelu(x[e], slope);
}

__global__ void k_bias(float *y, const float *b, const float *res, int C, long long T, int th)
{
    GRID_LOOP(e, C * T)
    {
        float v = y[e] + b[e / T];
        if (res)
            v += res[e];
        y[e] = th ? tanhf(v) : v;
    }
}

__global__ void k_tconv_add(const float *Y, const float *b, int C, int K, int stride, int pad,
                            long long Tin, float *y)
{
    long long Tout = Tin * stride;
    GRID_LOOP(e, C * Tout)
    {
        long long o = e / Tout, u = e % Tout, lo, hi;
        gen_tconv_range(u, stride, K, pad, Tin, &lo, &hi);
        float acc = b[o];
        for (long long t = lo; t <= hi; t++)
            acc += Y[(o * K + (u + pad - t * stride)) * Tin + t];
        y[e] = acc;
    }
}

__global__ void k_mean3(const float *a, const float *b, const float *c, long long n, float *y)
{
    GRID_LOOP(e, n)
    {
        float s = a[e] + b[e];
        s += c[e];
        y[e] = s / 3.0f;
    }
}

__global__ void k_wv_input(const float *x, const float *w, const float *b, int R, long long T,
                           float *h)
{
    GRID_LOOP(e, T * R) h[e] = w[e % R] * x[e / R] + b[e % R];
}

__global__ void k_wv_col(const float *h, const float *x, int R, int Cc, long long T,
                         long long d, float *col)
{
    GRID_LOOP(e, T * (2LL * R + Cc))
    {
        int from;
        long long src = gen_wv_col_src(e, R, Cc, T, d, &from);
        col[e] = src < 0 ? 0.0f : from ? x[src] : h[src];
    }
}

__global__ void k_wv_gate(const float *z, const float *bf, const float *bg, int R, long long T,
                          float *a)
{
    GRID_LOOP(e, T * R)
    {
        long long t = e / R, c = e % R;
        a[e] = gen_gate(z[t * 2 * R + c] + bf[c], z[t * 2 * R + R + c] + bg[c]);
    }
}

__global__ void k_wv_accum(const float *y, const float *bs, const float *br, int S, int R,
                           long long T, float *skip, float *h)
{
    GRID_LOOP(e, T * (long long)(S + R))
    {
        long long t = e / (S + R), k = e % (S + R);
        float v = y[e];
        if (k < S)
            skip[t * S + k] += v + bs[k];
        else
            h[t * R + (k - S)] += v + br[k - S];
    }
}

__global__ void k_wv_transpose(const float *skip, int S, long long T, float *out)
{
    GRID_LOOP(e, T * S) out[e] = skip[(e % T) * S + e / T];
}

extern "C" {

cudaError_t cu_gen_norm_launch(const float *x, const float *mean, const float *scale, int C,
                               long long T, float *y, cudaStream_t s)
{
    k_norm<<<gen_blocks(C * T), GEN_THREADS, 0, s>>>(x, mean, scale, C, T, y);
    return cudaGetLastError();
}

cudaError_t cu_gen_im2col_launch(const float *x, int cin, long long T, int K, int dil, int pad,
                                 float slope, float *col, cudaStream_t s)
{
    k_im2col<<<gen_blocks((long long)cin * K * T), GEN_THREADS, 0, s>>>(x, cin, T, K, dil, pad,
                                                                      slope, col);
    return cudaGetLastError();
}

cudaError_t cu_gen_lrelu_launch(const float *x, long long n, float slope, float *y,
                                cudaStream_t s)
{
    k_lrelu<<<gen_blocks(n), GEN_THREADS, 0, s>>>(x, n, slope, y);
    return cudaGetLastError();
}

cudaError_t cu_gen_bias_launch(float *y, const float *b, const float *res, int C, long long T,
                               int th, cudaStream_t s)
{
    k_bias<<<gen_blocks(C * T), GEN_THREADS, 0, s>>>(y, b, res, C, T, th);
    return cudaGetLastError();
}

cudaError_t cu_gen_tconv_add_launch(const float *Y, const float *b, int C, int K, int stride,
                                    int pad, long long Tin, float *y, cudaStream_t s)
{
    k_tconv_add<<<gen_blocks(C * Tin * stride), GEN_THREADS, 0, s>>>(Y, b, C, K, stride, pad,
                                                                    Tin, y);
    return cudaGetLastError();
}

cudaError_t cu_gen_mean3_launch(const float *a, const float *b, const float *c, long long n,
                                float *y, cudaStream_t s)
{
    k_mean3<<<gen_blocks(n), GEN_THREADS, 0, s>>>(a, b, c, n, y);
    return cudaGetLastError();
}

cudaError_t cu_wv_input_launch(const float *x, const float *w, const float *b, int R,
                               long long T, float *h, cudaStream_t s)
{
    k_wv_input<<<gen_blocks(T * R), GEN_THREADS, 0, s>>>(x, w, b, R, T, h);
    return cudaGetLastError();
}

cudaError_t cu_wv_col_launch(const float *h, const float *x, int R, int Cc, long long T,
                             long long d, float *col, cudaStream_t s)
{
    k_wv_col<<<gen_blocks(T * (2LL * R + Cc)), GEN_THREADS, 0, s>>>(h, x, R, Cc, T, d, col);
    return cudaGetLastError();
}

cudaError_t cu_wv_gate_launch(const float *z, const float *bf, const float *bg, int R,
                              long long T, float *a, cudaStream_t s)
{
    k_wv_gate<<<gen_blocks(T * R), GEN_THREADS, 0, s>>>(z, bf, bg, R, T, a);
    return cudaGetLastError();
}

cudaError_t cu_wv_accum_launch(const float *y, const float *bs, const float *br, int S, int R,
                               long long T, float *skip, float *h, cudaStream_t s)
{
    k_wv_accum<<<gen_blocks(T * (S + R)), GEN_THREADS, 0, s>>>(y, bs, br, S, R, T, skip, h);
    return cudaGetLastError();
}

cudaError_t cu_wv_transpose_launch(const float *skip, int S, long long T, float *out,
                                   cudaStream_t s)
{
    k_wv_transpose<<<gen_blocks(T * S), GEN_THREADS, 0, s>>>(skip, S, T, out);
    return cudaGetLastError();
}

} // extern "C"
