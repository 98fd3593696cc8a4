// dc_kernels.cu — cuda/dac's own kernels beside cuBLAS's SGEMMs: im2col over S clips with
// Snake on load, the conv epilogue (bias, residual, Snake, tanh), the transposed conv's
// overlap-add with its bias, and the factorised RVQ's search (bias, L2 normalisation and
// nearest unit codeword in one warp per frame), gather and residual update. The
// arithmetic and index maps are dc_math.h's, tested on the host.
#include "dc_kernels.h"
#include "dc_math.h"

#define DC_MAXD DC_MAX_CODEBOOK_DIM

static unsigned blocks(long long n, unsigned per)
{
    return (unsigned)((n + per - 1) / per);
}

__global__ void dc_im2col(const float *x, const float *alpha, long long k, long long stride,
                          long long dil, long long pad, long long L, long long T, long long S,
                          float *col, long long n)
{
    long long e = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (e >= n)
        return;
    long long j = dc_im2col_src(e, k, stride, dil, pad, L, T, S);
    float v = j >= 0 ? x[j] : 0.0f;
    if (alpha && j >= 0)
        v = dc_snake(v, alpha[e / (S * T) / k]);
    col[e] = v;
}

__global__ void dc_epi(float *y, const float *b, const float *res, const float *alpha,
                       int tanh_out, long long N, long long n)
{
    long long e = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (e >= n)
        return;
    long long c = e / N;
    y[e] = dc_epilogue(y[e], b[c], res != 0, res ? res[e] : 0.0f, alpha != 0,
                       alpha ? alpha[c] : 0.0f, tanh_out);
}

__global__ void dc_ola(const float *col, const float *b, long long k, long long stride,
                       long long pad, long long L, long long T, long long S, float *y,
                       long long n)
{
    long long e = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (e >= n)
        return;
    long long u = e % T, s = (e / T) % S, o = e / (T * S), lo, hi;
    dc_ola_range(u, pad, stride, k, L, &lo, &hi);
    float acc = b[o];
    for (long long t = lo; t <= hi; t++)
        acc += col[dc_ola_col(o, u + pad - t * stride, s, t, k, S, L)];
    y[e] = acc;
}

// One warp per column n: lane 0 normalises z[:, n] + b, every lane scores codewords
// lane, lane + 32, ..., then the warp keeps the best (dc_better: the lowest index on ties).
__global__ void dc_vq(const float *z, const float *b, int D, long long N, const float *cn,
                      const float *cc, int K, int *codes)
{
    __shared__ float zs[8][DC_MAXD + 1];
    int w = threadIdx.x >> 5, lane = threadIdx.x & 31;
    long long n = (long long)blockIdx.x * 8 + w;
    if (n >= N)
        return;
    float *zn = zs[w];
    if (lane == 0) {
        float raw[DC_MAXD];
        for (int j = 0; j < D; j++)
            raw[j] = z[(long long)j * N + n] + b[j];
        zn[DC_MAXD] = dc_l2norm(raw, 1, D, zn);
    }
    __syncwarp();
    float zz = zn[DC_MAXD], bv = 0.0f;
    int bk = -1;
    for (int k = lane; k < K; k += 32) {
        float v = dc_score(zn, zz, cn + (long long)k * D, cc[k], D);
        if (dc_better(v, k, bv, bk)) {
            bv = v;
            bk = k;
        }
    }
    for (int o = 16; o > 0; o >>= 1) {
        float ov = __shfl_xor_sync(0xffffffffu, bv, o);
        int ok = __shfl_xor_sync(0xffffffffu, bk, o);
        if (ok >= 0 && dc_better(ov, ok, bv, bk)) {
            bv = ov;
            bk = ok;
        }
    }
    if (lane == 0)
        codes[n] = bk;
}

__global__ void dc_gather(const float *cb, const int *codes, int D, long long N, float *e,
                          long long n)
{
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n)
        return;
    long long j = i / N, t = i % N;
    e[i] = cb[(long long)codes[t] * D + j];
}

__global__ void dc_resid(const float *t, const float *b, long long N, float *r, float *qs,
                         long long n)
{
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n)
        return;
    float v = t[i] + b[i / N];
    qs[i] += v;
    if (r)
        r[i] -= v;
}

extern "C" cudaError_t cu_dc_im2col_launch(const float *x, const float *alpha, int cin, int k,
                                           int stride, int dil, int pad, long long L,
                                           long long T, int S, float *col, cudaStream_t s)
{
    long long n = (long long)cin * k * S * T;
    dc_im2col<<<blocks(n, 256), 256, 0, s>>>(x, alpha, k, stride, dil, pad, L, T, S, col, n);
    return cudaGetLastError();
}

extern "C" cudaError_t cu_dc_epilogue_launch(float *y, const float *b, const float *res,
                                             const float *alpha, int tanh_out, int C,
                                             long long N, cudaStream_t s)
{
    long long n = (long long)C * N;
    dc_epi<<<blocks(n, 256), 256, 0, s>>>(y, b, res, alpha, tanh_out, N, n);
    return cudaGetLastError();
}

extern "C" cudaError_t cu_dc_ola_launch(const float *col, const float *b, int cout, int k,
                                        int stride, int pad, long long L, long long T, int S,
                                        float *y, cudaStream_t s)
{
    long long n = (long long)cout * S * T;
    dc_ola<<<blocks(n, 256), 256, 0, s>>>(col, b, k, stride, pad, L, T, S, y, n);
    return cudaGetLastError();
}

extern "C" cudaError_t cu_dc_vq_launch(const float *z, const float *b, int D, long long N,
                                       const float *cn, const float *cc, int K, int *codes,
                                       cudaStream_t s)
{
    if (D > DC_MAXD)
        return cudaErrorInvalidValue;
    dc_vq<<<blocks(N, 8), 256, 0, s>>>(z, b, D, N, cn, cc, K, codes);
    return cudaGetLastError();
}

extern "C" cudaError_t cu_dc_gather_launch(const float *cb, const int *codes, int D,
                                           long long N, float *e, cudaStream_t s)
{
    long long n = (long long)D * N;
    dc_gather<<<blocks(n, 256), 256, 0, s>>>(cb, codes, D, N, e, n);
    return cudaGetLastError();
}

extern "C" cudaError_t cu_dc_resid_launch(const float *t, const float *b, int C, long long N,
                                          float *r, float *qs, cudaStream_t s)
{
    long long n = (long long)C * N;
    dc_resid<<<blocks(n, 256), 256, 0, s>>>(t, b, N, r, qs, n);
    return cudaGetLastError();
}
