// nn_kernels.cu — the layer ops' kernels: conv1d direct (forward and transposed, fused
// bias and activation), im2col / col2im around cuBLAS, and attention's row softmax and
// flash-style tiled kernel (a query's dims split over 1-4 threads holding q and the output
// in registers, key tiles in shared memory, online softmax).
// All index and softmax arithmetic is nn_math.h's, which the CPU tests check; the flash
// kernel's per-thread work is nn_math.h's nn_fl_*, which test_cuda_math_nn runs on the host.
#include <math.h>

#include "nn_kernels.h"

#define CONV_THREADS 256
#define CONV_SMEM_W 8192 // floats of one output channel's weights kept in shared memory

static unsigned blocks(long long n, unsigned per)
{
    return (unsigned)((n + per - 1) / per);
}

// blockIdx.y: the output channel; threads along t. The channel's weights (cig x k: W's
// row co for conv, the column co_l of its group's rows for transposed) are staged in
// shared memory when they fit, else read from global memory.
__global__ void conv_direct(nnc_dims c, int transposed, const float *x, const float *w,
                            const float *b, const float *alpha, float *y)
{
    extern __shared__ float ws[];
    long long co = blockIdx.y, g = co / c.cog, col = co - g * c.cog;
    long long nw = c.cig * c.k;
    const float *wc;
    if (nw <= CONV_SMEM_W) {
        for (long long e = threadIdx.x; e < nw; e += blockDim.x) {
            long long ci = e / c.k, j = e % c.k;
            ws[e] = transposed ? w[((g * c.cig + ci) * c.cog + col) * c.k + j]
                               : w[(co * c.cig + ci) * c.k + j];
        }
        __syncthreads();
        wc = ws;
    } else {
        wc = 0;
    }
    long long t = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (t >= c.tout)
        return;
    float acc = b[co];
    for (long long ci = 0; ci < c.cig; ci++) {
        const float *xc = x + (g * c.cig + ci) * c.T;
        for (long long j = 0; j < c.k; j++) {
            float wv = wc ? wc[ci * c.k + j]
                          : transposed ? w[((g * c.cig + ci) * c.cog + col) * c.k + j]
                                       : w[(co * c.cig + ci) * c.k + j];
            if (!transposed) {
                long long u = nnc_src(&c, t, j);
                if (u >= 0 && u < c.T)
                    acc += wv * xc[u];
            } else {
                long long u = nnc_tr_src(&c, t, j);
                if (u >= 0)
                    acc += wv * xc[u];
            }
        }
    }
    y[co * c.tout + t] = nnc_act(c.act, acc, c.act == 2 ? alpha[co] : 1.0f);
}

__global__ void im2col(nnc_dims c, const float *x, float *col, long long n)
{
    long long e = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (e < n)
        col[e] = nnc_im2col_at(&c, x, e);
}

__global__ void bias_act(nnc_dims c, const float *b, const float *alpha, float *y)
{
    long long e = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (e >= c.cout * c.tout)
        return;
    long long co = e / c.tout;
    y[e] = nnc_act(c.act, y[e] + b[co], c.act == 2 ? alpha[co] : 1.0f);
}

__global__ void col2im(nnc_dims c, const float *z, const float *b, const float *alpha,
                       float *y)
{
    long long e = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (e >= c.cout * c.tout)
        return;
    long long co = e / c.tout, u = e % c.tout, lo, hi;
    nnc_tr_range(&c, u, &lo, &hi);
    float acc = b[co];
    for (long long t = lo; t <= hi; t++) {
        long long j = nnc_tr_tap(&c, u, t);
        if (j >= 0)
            acc += z[nnc_z_index(&c, co, j, t)];
    }
    y[e] = nnc_act(c.act, acc, c.act == 2 ? alpha[co] : 1.0f);
}

extern "C" cudaError_t cu_conv_direct_launch(const nnc_dims *c, int transposed,
                                             const float *x, const float *w, const float *b,
                                             const float *alpha, float *y, cudaStream_t s)
{
    long long nw = c->cig * c->k;
    size_t smem = nw <= CONV_SMEM_W ? (size_t)nw * sizeof(float) : 0;
    dim3 grid(blocks(c->tout, CONV_THREADS), (unsigned)c->cout);
    conv_direct<<<grid, CONV_THREADS, smem, s>>>(*c, transposed, x, w, b, alpha, y);
    return cudaGetLastError();
}

extern "C" cudaError_t cu_im2col_launch(const nnc_dims *c, const float *x, float *col,
                                        cudaStream_t s)
{
    long long n = c->cin * c->k * c->tout;
    im2col<<<blocks(n, 256), 256, 0, s>>>(*c, x, col, n);
    return cudaGetLastError();
}

extern "C" cudaError_t cu_bias_act_launch(const nnc_dims *c, const float *b,
                                          const float *alpha, float *y, cudaStream_t s)
{
    bias_act<<<blocks(c->cout * c->tout, 256), 256, 0, s>>>(*c, b, alpha, y);
    return cudaGetLastError();
}

extern "C" cudaError_t cu_col2im_launch(const nnc_dims *c, const float *z, const float *b,
                                        const float *alpha, float *y, cudaStream_t s)
{
    col2im<<<blocks(c->cout * c->tout, 256), 256, 0, s>>>(*c, z, b, alpha, y);
    return cudaGetLastError();
}

// ---- attention ---------------------------------------------------------------------

__device__ static float warp_max(float v)
{
    for (int o = 16; o > 0; o /= 2)
        v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

__device__ static float warp_sum(float v)
{
    for (int o = 16; o > 0; o /= 2)
        v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

// One block of 256 threads per row: max, sum of exp, then the weights; masked keys 0.
__global__ void softmax_rows(float *sc, long long seq, int causal)
{
    __shared__ float red[8];
    long long row = blockIdx.x, i = row % seq;
    float *r = sc + row * seq;
    long long n = causal ? i + 1 : seq;
    int lane = threadIdx.x % 32, wid = threadIdx.x / 32;
    float m = -INFINITY;
    for (long long j = threadIdx.x; j < n; j += blockDim.x)
        m = fmaxf(m, r[j]);
    m = warp_max(m);
    if (lane == 0)
        red[wid] = m;
    __syncthreads();
    m = red[0];
    for (int w = 1; w < 8; w++)
        m = fmaxf(m, red[w]);
    __syncthreads();
    float l = 0;
    for (long long j = threadIdx.x; j < n; j += blockDim.x)
        l += expf(r[j] - m);
    l = warp_sum(l);
    if (lane == 0)
        red[wid] = l;
    __syncthreads();
    l = 0;
    for (int w = 0; w < 8; w++)
        l += red[w];
    float inv = 1.0f / l;
    for (long long j = threadIdx.x; j < seq; j += blockDim.x)
        r[j] = j < n ? expf(r[j] - m) * inv : 0.0f;
}

// A block: NN_FT / TPQ queries of one head, TPQ threads each (nn_fl_tpq), each thread
// holding 32 dims of its query (pre-scaled by 1/sqrt(d)) and of its output accumulator in
// registers. Key tiles of NN_FK keys and their V go through shared memory (nn_fl_at's
// padded rows); a thread scores the tile's keys against its part, the TPQ partial dots
// meet by __shfl_xor_sync, and each query's tile max and exp-sum merge into its running
// (m, l) by nn_os_merge. No thread leaves the tile loop early (the shuffles need the whole
// warp): keys a query must not see are masked to -inf instead.
template <int TPQ>
__global__ void __launch_bounds__(NN_FT) flash(const float *q, const float *k, const float *v,
                                              float *o, long long seq, int d, int causal,
                                              float scale)
{
    constexpr int BQ = NN_FT / TPQ;
    __shared__ __align__(16) float ks[NN_FK * TPQ * NN_FPAD];
    __shared__ __align__(16) float vs[NN_FK * TPQ * NN_FPAD];
    int t = threadIdx.x, part = t % TPQ;
    long long head = blockIdx.y, q0 = (long long)blockIdx.x * BQ, i = q0 + t / TPQ;
    const float *qh = q + head * seq * d, *kh = k + head * seq * d, *vh = v + head * seq * d;
    float qr[32], acc[32];
    nn_fl_begin(qh, i, seq, d, part, scale, qr, acc);
    nn_os st = {-INFINITY, 0.0f};
    long long kend = nn_fl_kend(q0, BQ, seq, causal);
    for (long long k0 = 0; k0 < kend; k0 += NN_FK) {
        __syncthreads(); // the previous tile is no longer read
        nn_fl_load(kh, vh, ks, vs, k0, seq, d, TPQ, t);
        __syncthreads();
        float sc[NN_FK], bm = -INFINITY;
#pragma unroll
        for (int j = 0; j < NN_FK; j++) {
            float s = nn_fl_dot(qr, ks, TPQ, part, j);
#pragma unroll
            for (int w = 1; w < TPQ; w <<= 1)
                s += __shfl_xor_sync(0xffffffffu, s, w);
            sc[j] = NN_FL_SCORE(s, k0 + j, i, seq, causal);
            bm = fmaxf(bm, sc[j]);
        }
        float bl = nn_fl_exp(sc, bm);
        float fa, fb;
        st = nn_os_merge(st, bm, bl, &fa, &fb);
        nn_fl_accum(acc, sc, fa, fb, vs, TPQ, part);
    }
    if (i < seq)
        nn_fl_store(o + head * seq * d, i, d, part, acc, st.l);
}

extern "C" cudaError_t cu_softmax_launch(float *sc, long long heads, long long seq,
                                         int causal, cudaStream_t s)
{
    softmax_rows<<<(unsigned)(heads * seq), 256, 0, s>>>(sc, seq, causal);
    return cudaGetLastError();
}

extern "C" cudaError_t cu_flash_launch(const float *q, const float *k, const float *v,
                                       float *o, long long heads, long long seq, int d,
                                       int causal, cudaStream_t s)
{
    if (d < 1 || d > NN_FD)
        return cudaErrorInvalidValue;
    int tpq = nn_fl_tpq(d);
    dim3 grid(blocks(seq, NN_FT / tpq), (unsigned)heads);
    float scale = 1.0f / sqrtf((float)d);
    if (tpq == 1)
        flash<1><<<grid, NN_FT, 0, s>>>(q, k, v, o, seq, d, causal, scale);
    else if (tpq == 2)
        flash<2><<<grid, NN_FT, 0, s>>>(q, k, v, o, seq, d, causal, scale);
    else
        flash<4><<<grid, NN_FT, 0, s>>>(q, k, v, o, seq, d, causal, scale);
    return cudaGetLastError();
}
