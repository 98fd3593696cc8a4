// mi_kernels.cu — cuda/mimi's own kernels around its cuBLAS SGEMMs: the padded im2col
// (ELU on read for a residual block's input), the conv epilogue (bias, residual, ELU of
// the next layer), the causal col2im and the grouped upsample, LayerNorm, RoPE, layer
// scale, GELU, windowed causal attention with an online softmax, and the split RVQ's
// nearest-codeword search (fused with the residual update) and codeword sums. The
// arithmetic and index maps are mi_math.h's.
#include "mi_kernels.h"
#include "mi_math.h"

#define MI_BLOCK 256
#define MI_ATT_BLOCK 128
#define MI_CHUNK 256 // keys scored per pass of the attention's online softmax

static unsigned blocks(long long n, unsigned per)
{
    return (unsigned)((n + per - 1) / per);
}

__global__ void mi_col(const float *x, long long n, long long k, long long stride,
                       long long dil, long long L, long long left, long long lout, long long S,
                       int replicate, int elu, float *col)
{
    long long e = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (e >= n)
        return;
    long long j = mi_col_src(e, k, stride, dil, L, left, lout, S, replicate);
    float v = j >= 0 ? x[j] : 0.0f;
    col[e] = elu ? mi_elu(v) : v;
}

__global__ void mi_epi(const float *y, const float *b, const float *res, long long n,
                       long long N, int act, float *out)
{
    long long e = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (e < n)
        out[e] = mi_epilogue(y[e], b ? b[e / N] : 0.0f, res ? res[e] : 0.0f, act);
}

// y [cout][S][L*stride]: one thread per output sample, its taps from Z [cout*k][S][L]
__global__ void mi_col2im(const float *z, const float *b, long long cout, long long k,
                          long long stride, long long L, long long S, int act, float *y)
{
    long long lo = L * stride, e = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (e >= cout * S * lo)
        return;
    long long u = e % lo, s = (e / lo) % S, o = e / (lo * S);
    float acc = 0.0f;
    for (long long t = mi_tr_first(u, k, stride); t <= mi_tr_last(u, stride, L); t++)
        acc += z[((o * k + (u - t * stride)) * S + s) * L + t];
    y[e] = mi_epilogue(acc, b ? b[o] : 0.0f, 0.0f, act);
}

__global__ void mi_convtr_g(const float *x, const float *w, const float *b, long long cin,
                            long long cout, long long groups, long long k, long long stride,
                            long long L, long long S, float *y)
{
    long long lo = L * stride, e = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (e >= cout * S * lo)
        return;
    long long u = e % lo, s = (e / lo) % S, o = e / (lo * S);
    long long cig = cin / groups, cog = cout / groups, g = o / cog, jj = o % cog;
    float acc = 0.0f;
    for (long long i = g * cig; i < (g + 1) * cig; i++)
        for (long long t = mi_tr_first(u, k, stride); t <= mi_tr_last(u, stride, L); t++)
            acc += x[(i * S + s) * L + t] * w[(i * cog + jj) * k + (u - t * stride)];
    y[e] = mi_epilogue(acc, b ? b[o] : 0.0f, 0.0f, 0);
}

__global__ void mi_elu_k(float *x, long long n)
{
    long long e = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (e < n)
        x[e] = mi_elu(x[e]);
}

__global__ void mi_gelu_k(float *x, long long n)
{
    long long e = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (e < n)
        x[e] = mi_gelu(x[e]);
}

__global__ void mi_transpose(const float *in, long long rows, long long cols, float *out)
{
    long long e = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (e >= rows * cols)
        return;
    out[(e % cols) * rows + e / cols] = in[e];
}

// Sum (op 0) or max (op 1) over the block, every thread gets it; sh holds blockDim floats.
__device__ float mi_reduce(float v, int op, float *sh)
{
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

__device__ double mi_reduce_d(double v, double *sh)
{
    sh[threadIdx.x] = v;
    __syncthreads();
    for (unsigned s = blockDim.x / 2; s > 0; s >>= 1) {
        if (threadIdx.x < s)
            sh[threadIdx.x] += sh[threadIdx.x + s];
        __syncthreads();
    }
    double r = sh[0];
    __syncthreads();
    return r;
}

__global__ void mi_layernorm(const float *x, int D, const float *g, const float *b, double eps,
                             float *y)
{
    __shared__ double sh[MI_BLOCK];
    const float *xr = x + (long long)blockIdx.x * D;
    float *yr = y + (long long)blockIdx.x * D;
    double s = 0;
    for (int c = threadIdx.x; c < D; c += blockDim.x)
        s += xr[c];
    double mu = mi_reduce_d(s, sh) / D, q = 0;
    for (int c = threadIdx.x; c < D; c += blockDim.x)
        q += ((double)xr[c] - mu) * ((double)xr[c] - mu);
    float rstd = mi_ln_rstd(mi_reduce_d(q, sh) / D, eps), mf = (float)mu;
    for (int c = threadIdx.x; c < D; c += blockDim.x)
        yr[c] = mi_ln(xr[c], mf, rstd, g[c], b[c]);
}

__global__ void mi_rope_k(float *x, long long rows, long long T, int heads, int dh,
                          const float *cs, const float *sn)
{
    int half = dh / 2;
    long long e = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (e >= rows * heads * half)
        return;
    int i = (int)(e % half), h = (int)((e / half) % heads);
    long long r = e / ((long long)half * heads), t = r % T;
    float *v = x + r * heads * dh + (long long)h * dh;
    float y1, y2;
    mi_rope(v[i], v[i + half], cs[t * half + i], sn[t * half + i], &y1, &y2);
    v[i] = y1;
    v[i + half] = y2;
}

// One block per (query row, head): the keys the window lets it see, MI_CHUNK at a time,
// scored into shared memory, the running max and sum moved by mi_rescale, the weighted
// values summed into shared o[dh]. Shared: q[dh], o[dh], p[MI_CHUNK], red[blockDim].
__global__ void mi_attention(const float *q, const float *k, const float *v, long long T,
                             int heads, int dh, long long window, float *o)
{
    extern __shared__ float sm[];
    float *qs = sm, *os = qs + dh, *p = os + dh, *red = p + MI_CHUNK;
    long long r = blockIdx.x, t = r % T, base = r - t, D = (long long)heads * dh;
    long long off = (long long)blockIdx.y * dh;
    for (int d = threadIdx.x; d < dh; d += blockDim.x) {
        qs[d] = q[r * D + off + d];
        os[d] = 0.0f;
    }
    __syncthreads();
    float scale = 1.0f / sqrtf((float)dh), m = -INFINITY, l = 0.0f;
    for (long long c0 = mi_attn_first(t, window); c0 <= t; c0 += MI_CHUNK) {
        int n = (int)(t + 1 - c0 < MI_CHUNK ? t + 1 - c0 : MI_CHUNK);
        float mx = -INFINITY;
        for (int j = threadIdx.x; j < n; j += blockDim.x) {
            const float *kr = k + (base + c0 + j) * D + off;
            float s = 0.0f;
            for (int d = 0; d < dh; d++)
                s += qs[d] * kr[d];
            p[j] = s * scale;
            mx = fmaxf(mx, p[j]);
        }
        float mn = fmaxf(m, mi_reduce(mx, 1, red)), a = mi_rescale(m, mn), ls = 0.0f;
        for (int j = threadIdx.x; j < n; j += blockDim.x) {
            p[j] = expf(p[j] - mn);
            ls += p[j];
        }
        l = l * a + mi_reduce(ls, 0, red); // its barriers publish p
        for (int d = threadIdx.x; d < dh; d += blockDim.x) {
            float acc = os[d] * a;
            for (int j = 0; j < n; j++)
                acc += p[j] * v[(base + c0 + j) * D + off + d];
            os[d] = acc;
        }
        m = mn;
        __syncthreads(); // p is rewritten by the next chunk
    }
    for (int d = threadIdx.x; d < dh; d += blockDim.x)
        o[r * D + off + d] = os[d] / l;
}

__global__ void mi_ls_add_k(float *h, const float *ls, const float *u, long long n, int D)
{
    long long e = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (e < n)
        h[e] = mi_ls_add(h[e], ls[e % D], u[e]);
}

// One block per residual row: each thread's best over a stride of the codebook, a tree of
// mi_nn_better (the lowest index on ties whatever the order), then the row's update.
__global__ void mi_nearest(const float *sc, const float *norm2, const float *cb, int K, int Q,
                           int q, int nq, long long F, float *res, int *codes)
{
    __shared__ float bd[MI_BLOCK];
    __shared__ int bk[MI_BLOCK];
    long long r = blockIdx.x;
    const float *s = sc + r * K;
    float best = INFINITY;
    int bi = K; // loses every tie to a real index
    for (int c = threadIdx.x; c < K; c += blockDim.x) {
        float d = mi_nn_dist(norm2[c], s[c]);
        if (mi_nn_better(d, c, best, bi)) {
            best = d;
            bi = c;
        }
    }
    bd[threadIdx.x] = best;
    bk[threadIdx.x] = bi;
    __syncthreads();
    for (unsigned st = blockDim.x / 2; st > 0; st >>= 1) {
        if (threadIdx.x < st &&
            mi_nn_better(bd[threadIdx.x + st], bk[threadIdx.x + st], bd[threadIdx.x],
                         bk[threadIdx.x])) {
            bd[threadIdx.x] = bd[threadIdx.x + st];
            bk[threadIdx.x] = bk[threadIdx.x + st];
        }
        __syncthreads();
    }
    int code = bk[0] < K ? bk[0] : 0; // every distance NaN: the scan's first entry
    if (threadIdx.x == 0)
        codes[mi_code_at(r, q, nq, F)] = code;
    const float *e = cb + (long long)code * Q;
    for (int j = threadIdx.x; j < Q; j += blockDim.x)
        res[r * Q + j] -= e[j];
}

__global__ void mi_gather(const float *cb, const int *codes, int q0, int q1, int nq, int K,
                          int Q, long long R, long long F, float *res)
{
    long long e = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (e >= R * Q)
        return;
    long long r = e / Q;
    int j = (int)(e % Q);
    float acc = 0.0f;
    for (int q = q0; q < q1; q++) {
        int c = codes[mi_code_at(r, q, nq, F)];
        c = c < 0 ? 0 : c >= K ? K - 1 : c;
        acc += cb[((long long)(q - q0) * K + c) * Q + j];
    }
    res[e] = acc;
}

extern "C" cudaError_t cu_mi_col_launch(const float *x, int cin, int k, int stride, int dil,
                                        long long L, long long left, long long lout, int S,
                                        int replicate, int elu, float *col, cudaStream_t s)
{
    long long n = (long long)cin * k * S * lout;
    mi_col<<<blocks(n, MI_BLOCK), MI_BLOCK, 0, s>>>(x, n, k, stride, dil, L, left, lout, S,
                                                     replicate, elu, col);
    return cudaGetLastError();
}

extern "C" cudaError_t cu_mi_epilogue_launch(const float *y, const float *b, const float *res,
                                             long long rows, long long N, int act, float *out,
                                             cudaStream_t s)
{
    long long n = rows * N;
    mi_epi<<<blocks(n, MI_BLOCK), MI_BLOCK, 0, s>>>(y, b, res, n, N, act, out);
    return cudaGetLastError();
}

extern "C" cudaError_t cu_mi_col2im_launch(const float *z, const float *b, int cout, int k,
                                           int stride, long long L, int S, int act, float *y,
                                           cudaStream_t s)
{
    long long n = (long long)cout * S * L * stride;
    mi_col2im<<<blocks(n, MI_BLOCK), MI_BLOCK, 0, s>>>(z, b, cout, k, stride, L, S, act, y);
    return cudaGetLastError();
}

extern "C" cudaError_t cu_mi_convtr_grouped_launch(const float *x, const float *w,
                                                   const float *b, int cin, int cout,
                                                   int groups, int k, int stride, long long L,
                                                   int S, float *y, cudaStream_t s)
{
    long long n = (long long)cout * S * L * stride;
    mi_convtr_g<<<blocks(n, MI_BLOCK), MI_BLOCK, 0, s>>>(x, w, b, cin, cout, groups, k, stride,
                                                          L, S, y);
    return cudaGetLastError();
}

extern "C" cudaError_t cu_mi_elu_launch(float *x, long long n, cudaStream_t s)
{
    mi_elu_k<<<blocks(n, MI_BLOCK), MI_BLOCK, 0, s>>>(x, n);
    return cudaGetLastError();
}

extern "C" cudaError_t cu_mi_gelu_launch(float *x, long long n, cudaStream_t s)
{
    mi_gelu_k<<<blocks(n, MI_BLOCK), MI_BLOCK, 0, s>>>(x, n);
    return cudaGetLastError();
}

extern "C" cudaError_t cu_mi_transpose_launch(const float *in, long long rows, long long cols,
                                              float *out, cudaStream_t s)
{
    mi_transpose<<<blocks(rows * cols, MI_BLOCK), MI_BLOCK, 0, s>>>(in, rows, cols, out);
    return cudaGetLastError();
}

extern "C" cudaError_t cu_mi_layernorm_launch(const float *x, long long rows, int D,
                                              const float *g, const float *b, double eps,
                                              float *y, cudaStream_t s)
{
    mi_layernorm<<<(unsigned)rows, MI_BLOCK, 0, s>>>(x, D, g, b, eps, y);
    return cudaGetLastError();
}

extern "C" cudaError_t cu_mi_rope_launch(float *x, long long rows, long long T, int heads,
                                         int dh, const float *cs, const float *sn,
                                         cudaStream_t s)
{
    long long n = rows * heads * (dh / 2);
    mi_rope_k<<<blocks(n, MI_BLOCK), MI_BLOCK, 0, s>>>(x, rows, T, heads, dh, cs, sn);
    return cudaGetLastError();
}

extern "C" cudaError_t cu_mi_attention_launch(const float *q, const float *k, const float *v,
                                              int S, long long T, int heads, int dh,
                                              long long window, float *o, cudaStream_t s)
{
    size_t sh = (2 * (size_t)dh + MI_CHUNK + MI_ATT_BLOCK) * sizeof(float);
    dim3 grid((unsigned)(S * T), (unsigned)heads);
    mi_attention<<<grid, MI_ATT_BLOCK, sh, s>>>(q, k, v, T, heads, dh, window, o);
    return cudaGetLastError();
}

extern "C" cudaError_t cu_mi_ls_add_launch(float *h, const float *ls, const float *u,
                                           long long rows, int D, cudaStream_t s)
{
    long long n = rows * D;
    mi_ls_add_k<<<blocks(n, MI_BLOCK), MI_BLOCK, 0, s>>>(h, ls, u, n, D);
    return cudaGetLastError();
}

extern "C" cudaError_t cu_mi_nearest_launch(const float *sc, const float *norm2,
                                            const float *cb, long long R, int K, int Q, int q,
                                            int nq, long long F, float *res, int *codes,
                                            cudaStream_t s)
{
    mi_nearest<<<(unsigned)R, MI_BLOCK, 0, s>>>(sc, norm2, cb, K, Q, q, nq, F, res, codes);
    return cudaGetLastError();
}

extern "C" cudaError_t cu_mi_gather_launch(const float *cb, const int *codes, int q0, int q1,
                                           int nq, int K, int Q, long long R, long long F,
                                           float *res, cudaStream_t s)
{
    mi_gather<<<blocks(R * Q, MI_BLOCK), MI_BLOCK, 0, s>>>(cb, codes, q0, q1, nq, K, Q, R, F,
                                                           res);
    return cudaGetLastError();
}
