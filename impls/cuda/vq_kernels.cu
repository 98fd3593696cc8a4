// vq_kernels.cu — the quantisers' kernels: codebook norms, the argmin over a cuBLAS score
// matrix (cuda/vq-cublas), the fused tile kernel that keeps codebook tiles in shared
// memory and a running argmin per vector (cuda/vq-fused), the residual update between
// RVQ stages and the decoder's gather-add. Scores and the tie rule are vq_math.h's.
#include <math.h>

#include "vq_kernels.h"
#include "vq_math.h"

// One warp per codeword: cn[k] = sum_j c[k][j]^2.
__global__ void vq_norms(const float *cb, long long K, int D, float *cn)
{
    long long k = ((long long)blockIdx.x * blockDim.x + threadIdx.x) / 32;
    int lane = threadIdx.x % 32;
    if (k >= K)
        return;
    const float *c = cb + k * D;
    float s = 0;
    for (int j = lane; j < D; j += 32)
        s += c[j] * c[j];
    for (int o = 16; o > 0; o /= 2)
        s += __shfl_xor_sync(0xffffffffu, s, o);
    if (lane == 0)
        cn[k] = s;
}

// Merge the best (d, k) of the lanes whose ids differ in the bits below `width`.
__device__ static void vq_reduce(float *d, int *k, int width)
{
    for (int o = width / 2; o > 0; o /= 2) {
        float od = __shfl_xor_sync(0xffffffffu, *d, o);
        int ok = __shfl_xor_sync(0xffffffffu, *k, o);
        if (vq_better(od, ok, *d, *k)) {
            *d = od;
            *k = ok;
        }
    }
}

// One warp per row of g [T][K] (g = x.c, from SGEMM): the code minimising cn - 2 g.
__global__ void vq_argmin_rows(const float *g, const float *cn, long long T, int K,
                               int *codes)
{
    long long t = ((long long)blockIdx.x * blockDim.x + threadIdx.x) / 32;
    int lane = threadIdx.x % 32;
    if (t >= T)
        return;
    const float *row = g + t * K;
    float bd = INFINITY;
    int bk = VQ_NONE;
    for (int k = lane; k < K; k += 32) {
        float d = vq_score(cn[k], row[k]);
        if (vq_better(d, k, bd, bk)) {
            bd = d;
            bk = k;
        }
    }
    vq_reduce(&bd, &bk, 32);
    if (lane == 0)
        codes[t] = bk == VQ_NONE ? 0 : bk;
}

// The fused kernel: a block takes VQ_BV vectors and walks the whole codebook in tiles of
// VQ_BK codewords, D staged VQ_DC floats at a time in shared memory for both; each thread
// accumulates VQ_VT x 4 dot products, then folds them into its running best per vector.
// The 16 lanes sharing a vector are one half-warp: a shuffle tree ends the scan.
#define VQ_CT (VQ_BK / VQ_LANES)
__global__ void __launch_bounds__(256) vq_fused(const float *cb, const float *cn,
                                                const float *x, long long T, int K, int D,
                                                int *codes)
{
    __shared__ float xs[VQ_BV][VQ_DC + 1];
    __shared__ float cs[VQ_BK][VQ_DC + 1];
    int tid = threadIdx.x, tx = tid % VQ_LANES, ty = tid / VQ_LANES;
    long long t0 = (long long)blockIdx.x * VQ_BV;
    float bd[VQ_VT];
    int bk[VQ_VT];
    for (int v = 0; v < VQ_VT; v++) {
        bd[v] = INFINITY;
        bk[v] = VQ_NONE;
    }
    for (int k0 = 0; k0 < K; k0 += VQ_BK) {
        float acc[VQ_VT][VQ_CT];
        for (int v = 0; v < VQ_VT; v++)
            for (int m = 0; m < VQ_CT; m++)
                acc[v][m] = 0.0f;
        for (int j0 = 0; j0 < D; j0 += VQ_DC) {
            for (int e = tid; e < VQ_BV * VQ_DC; e += blockDim.x) {
                int v = e / VQ_DC, j = e % VQ_DC;
                long long t = t0 + v;
                xs[v][j] = t < T && j0 + j < D ? x[t * D + j0 + j] : 0.0f;
            }
            for (int e = tid; e < VQ_BK * VQ_DC; e += blockDim.x) {
                int c = e / VQ_DC, j = e % VQ_DC, k = k0 + c;
                cs[c][j] = k < K && j0 + j < D ? cb[(long long)k * D + j0 + j] : 0.0f;
            }
            __syncthreads();
            for (int j = 0; j < VQ_DC; j++) {
                float a[VQ_VT], c[VQ_CT];
                for (int v = 0; v < VQ_VT; v++)
                    a[v] = xs[VQ_VT * ty + v][j];
                for (int m = 0; m < VQ_CT; m++)
                    c[m] = cs[tx + VQ_LANES * m][j];
                for (int v = 0; v < VQ_VT; v++)
                    for (int m = 0; m < VQ_CT; m++)
                        acc[v][m] += a[v] * c[m];
            }
            __syncthreads();
        }
        for (int m = 0; m < VQ_CT; m++) {
            int k = vq_lane_code(k0, tx, m);
            if (k >= K)
                break;
            for (int v = 0; v < VQ_VT; v++) {
                float d = vq_score(cn[k], acc[v][m]);
                if (vq_better(d, k, bd[v], bk[v])) {
                    bd[v] = d;
                    bk[v] = k;
                }
            }
        }
    }
    for (int v = 0; v < VQ_VT; v++) {
        vq_reduce(&bd[v], &bk[v], VQ_LANES);
        long long t = t0 + VQ_VT * ty + v;
        if (tx == 0 && t < T)
            codes[t] = bk[v] == VQ_NONE ? 0 : bk[v];
    }
}

// r[t] -= cb[codes[t]]: the residual the next stage quantises.
__global__ void vq_subtract(float *r, const float *cb, const int *codes, long long T, int D)
{
    long long e = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (e >= T * D)
        return;
    long long t = e / D;
    r[e] -= cb[(long long)codes[t] * D + e % D];
}

// y[t][j] = sum over s (in stage order) of cb[s][codes[s][t]][j].
__global__ void vq_gather(const float *cb, const int *codes, int n_q, int K, long long T,
                          int D, float *y)
{
    long long e = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (e >= T * D)
        return;
    long long t = e / D, j = e % D;
    float s = 0;
    for (int q = 0; q < n_q; q++)
        s += cb[((long long)q * K + codes[(long long)q * T + t]) * D + j];
    y[e] = s;
}

static unsigned blocks(long long n, unsigned per)
{
    return (unsigned)((n + per - 1) / per);
}

extern "C" cudaError_t cu_vq_norms_launch(const float *cb, long long K, int D, float *cn,
                                          cudaStream_t s)
{
    vq_norms<<<blocks(K * 32, 256), 256, 0, s>>>(cb, K, D, cn);
    return cudaGetLastError();
}

extern "C" cudaError_t cu_vq_argmin_launch(const float *g, const float *cn, long long T,
                                           int K, int *codes, cudaStream_t s)
{
    vq_argmin_rows<<<blocks(T * 32, 256), 256, 0, s>>>(g, cn, T, K, codes);
    return cudaGetLastError();
}

extern "C" cudaError_t cu_vq_fused_launch(const float *cb, const float *cn, const float *x,
                                          long long T, int K, int D, int *codes,
                                          cudaStream_t s)
{
    vq_fused<<<blocks(T, VQ_BV), 256, 0, s>>>(cb, cn, x, T, K, D, codes);
    return cudaGetLastError();
}

extern "C" cudaError_t cu_vq_subtract_launch(float *r, const float *cb, const int *codes,
                                             long long T, int D, cudaStream_t s)
{
    vq_subtract<<<blocks(T * D, 256), 256, 0, s>>>(r, cb, codes, T, D);
    return cudaGetLastError();
}

extern "C" cudaError_t cu_vq_gather_launch(const float *cb, const int *codes, int n_q, int K,
                                           long long T, int D, float *y, cudaStream_t s)
{
    vq_gather<<<blocks(T * D, 256), 256, 0, s>>>(cb, codes, n_q, K, T, D, y);
    return cudaGetLastError();
}
