// sp_kernels.cu — issue 23's own kernels: wav2vec2.features' im2col, norm statistics and
// fused norm + GELU epilogue; attention.relpos's bucket table, gates and the biased
// row softmax. The arithmetic is sp_math.h's, shared with the host test.
#include "sp_kernels.h"

#define SP_THREADS 256

__global__ void k_im2col(const float *x, float *col, long long To, long long K, long long s,
                         long long cin)
{
    long long n = To * K;
    for (long long idx = blockIdx.x * (long long)blockDim.x + threadIdx.x; idx < n;
         idx += (long long)gridDim.x * blockDim.x) {
        long long t = idx / K, i = idx % K;
        col[idx] = x[sp_col_src(t, i, s, cin)];
    }
}

// One block per channel (group) or time step (layer): double sums reduced in shared memory.
__global__ void k_stats(const float *y, long long T, long long C, int mode, float *mean,
                        float *inv)
{
    __shared__ double ss[SP_THREADS], qq[SP_THREADS];
    long long r = blockIdx.x, n = mode == SP_NORM_GROUP ? T : C;
    double s = 0, q = 0;
    for (long long i = threadIdx.x; i < n; i += blockDim.x) {
        double v = mode == SP_NORM_GROUP ? y[i * C + r] : y[r * C + i];
        s += v;
        q += v * v;
    }
    ss[threadIdx.x] = s;
    qq[threadIdx.x] = q;
    __syncthreads();
    for (int w = blockDim.x / 2; w > 0; w /= 2) {
        if (threadIdx.x < w) {
            ss[threadIdx.x] += ss[threadIdx.x + w];
            qq[threadIdx.x] += qq[threadIdx.x + w];
        }
        __syncthreads();
    }
    if (threadIdx.x == 0)
        sp_stats(ss[0], qq[0], (double)n, &mean[r], &inv[r]);
}

__global__ void k_epilogue(float *y, long long T, long long C, int mode, const float *mean,
                           const float *inv, const float *g, const float *b)
{
    long long n = T * C;
    for (long long idx = blockIdx.x * (long long)blockDim.x + threadIdx.x; idx < n;
         idx += (long long)gridDim.x * blockDim.x) {
        long long t = idx / C, c = idx % C;
        if (mode == SP_NORM_NONE)
            y[idx] = sp_gelu(y[idx]);
        else if (mode == SP_NORM_GROUP)
            y[idx] = sp_norm_gelu(y[idx], mean[c], inv[c], g[c], b[c]);
        else
            y[idx] = sp_norm_gelu(y[idx], mean[t], inv[t], g[c], b[c]);
    }
}

static unsigned blocks_for(long long n)
{
    long long b = (n + SP_THREADS - 1) / SP_THREADS;
    return (unsigned)(b < 65535 * 16 ? (b > 0 ? b : 1) : 65535 * 16);
}

extern "C" cudaError_t cu_w2v_im2col_launch(const float *x, float *col, long long To,
                                            long long K, long long s, long long cin,
                                            cudaStream_t st)
{
    k_im2col<<<blocks_for(To * K), SP_THREADS, 0, st>>>(x, col, To, K, s, cin);
    return cudaGetLastError();
}

extern "C" cudaError_t cu_w2v_stats_launch(const float *y, long long T, long long C, int mode,
                                           float *mean, float *inv, cudaStream_t st)
{
    long long rows = mode == SP_NORM_GROUP ? C : T;
    k_stats<<<(unsigned)rows, SP_THREADS, 0, st>>>(y, T, C, mode, mean, inv);
    return cudaGetLastError();
}

extern "C" cudaError_t cu_w2v_epilogue_launch(float *y, long long T, long long C, int mode,
                                              const float *mean, const float *inv,
                                              const float *g, const float *b, cudaStream_t st)
{
    k_epilogue<<<blocks_for(T * C), SP_THREADS, 0, st>>>(y, T, C, mode, mean, inv, g, b);
    return cudaGetLastError();
}

__global__ void k_buckets(int *bucket, long long S, int nb, int md)
{
    long long n = 2 * S - 1;
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n;
         i += (long long)gridDim.x * blockDim.x)
        bucket[i] = sp_bucket(i - (S - 1), nb, md);
}

__global__ void k_gate(const float *X, const float *wg, const float *bg, const float *c,
                       float *gate, int H, long long S, int D)
{
    long long n = (long long)H * S;
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n;
         i += (long long)gridDim.x * blockDim.x)
        gate[i] = sp_gate(X + i * D, wg, bg, c[i / S], D);
}

// One block per row (h, i): the bias added, the row max and sum reduced in shared memory.
__global__ void k_softmax(float *sc, const float *gate, const float *E, const int *bucket,
                          int H, long long S)
{
    __shared__ float red[SP_THREADS];
    long long row = blockIdx.x, i = row % S;
    int h = (int)(row / S);
    float *x = sc + row * S, gt = gate[row], mx = -INFINITY;
    for (long long j = threadIdx.x; j < S; j += blockDim.x) {
        float v = sp_biased(x[j], gt, E, bucket, i, j, S, H, h);
        x[j] = v;
        mx = fmaxf(mx, v);
    }
    red[threadIdx.x] = mx;
    __syncthreads();
    for (int w = blockDim.x / 2; w > 0; w /= 2) {
        if (threadIdx.x < w)
            red[threadIdx.x] = fmaxf(red[threadIdx.x], red[threadIdx.x + w]);
        __syncthreads();
    }
    mx = red[0];
    __syncthreads();
    float sum = 0;
    for (long long j = threadIdx.x; j < S; j += blockDim.x) {
        float e = expf(x[j] - mx);
        x[j] = e;
        sum += e;
    }
    red[threadIdx.x] = sum;
    __syncthreads();
    for (int w = blockDim.x / 2; w > 0; w /= 2) {
        if (threadIdx.x < w)
            red[threadIdx.x] += red[threadIdx.x + w];
        __syncthreads();
    }
    float inv = 1.0f / red[0];
    for (long long j = threadIdx.x; j < S; j += blockDim.x)
        x[j] *= inv;
}

extern "C" cudaError_t cu_relpos_buckets_launch(int *bucket, long long S, int nb, int md,
                                                cudaStream_t st)
{
    k_buckets<<<blocks_for(2 * S - 1), SP_THREADS, 0, st>>>(bucket, S, nb, md);
    return cudaGetLastError();
}

extern "C" cudaError_t cu_relpos_gate_launch(const float *X, const float *wg, const float *bg,
                                             const float *c, float *gate, int H, long long S,
                                             int D, cudaStream_t st)
{
    k_gate<<<blocks_for((long long)H * S), SP_THREADS, 0, st>>>(X, wg, bg, c, gate, H, S, D);
    return cudaGetLastError();
}

extern "C" cudaError_t cu_relpos_softmax_launch(float *sc, const float *gate, const float *E,
                                                const int *bucket, int H, long long S,
                                                cudaStream_t st)
{
    k_softmax<<<(unsigned)(H * S), SP_THREADS, 0, st>>>(sc, gate, E, bucket, H, S);
    return cudaGetLastError();
}
