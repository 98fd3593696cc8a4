// sk_kernels.cu — cuda/stockham's kernels (issue 26): rows up to SK_SHARED_MAX points in
// one block each, every Stockham pass in shared memory (two ping-pong buffers, a barrier
// between passes); longer rows by the four-step split, one global pass of n1-point column
// FFTs (16 columns a warp-row: coalesced) with the n-point twiddle, then the shared-memory
// row FFTs writing the transposed bins. rfft packs two real rows into one complex row and
// splits the spectrum after. Each thread's work is stockham_math.h's, which
// tests/test_cuda_math_stockham.c runs on the host over every thread.
#include "stockham_kernels.h"

__global__ void sk_k_rows(const sk_cf *src, sk_cf *dst, const sk_cf *tw, unsigned m,
                          unsigned n1, unsigned N, int np, unsigned plan)
{
    extern __shared__ sk_cf s[];
    sk_cf *in = s, *out = s + m;
    unsigned long long g = blockIdx.x;
    sk_row_load(src, in, m, g, threadIdx.x, blockDim.x);
    __syncthreads();
    unsigned ns = 1;
    for (int p = 0; p < np; p++) {
        unsigned R = sk_radix(plan, p);
        sk_block_pass(in, out, m, R, ns, tw, N, threadIdx.x, blockDim.x);
        ns *= R;
        sk_cf *t = in;
        in = out;
        out = t;
        __syncthreads();
    }
    sk_row_store(in, dst, m, n1, g, threadIdx.x, blockDim.x);
}

__global__ void sk_k_columns(const sk_cf *x, sk_cf *y, const sk_cf *tw, unsigned n, unsigned n1,
                             unsigned long long total)
{
    unsigned long long g = (unsigned long long)blockIdx.x * blockDim.x + threadIdx.x;
    unsigned m = n / n1;
    sk_cf a[64], b[64];
    if (g < total)
        sk_column(x + g / m * n, y + g / m * n, n, n1, (unsigned)(g % m), tw, a, b);
}

extern "C" cudaError_t cu_stockham_launch(const sk_cf *in, sk_cf *out, sk_cf *tmp,
                                          const sk_cf *tw, unsigned n, unsigned batch,
                                          cudaStream_t s)
{
    unsigned n1 = sk_split(n), m = n1 ? n / n1 : 0;
    int r[SK_MAX_PASSES] = {0}, np = m ? sk_plan(m, r) : 0;
    if (!n1 || np <= 0 || np > 8 || n1 > 64 || batch == 0)
        return cudaErrorInvalidValue;
    const sk_cf *src = in;
    if (n1 > 1) {
        unsigned long long total = (unsigned long long)batch * m;
        sk_k_columns<<<(unsigned)((total + 127) / 128), 128, 0, s>>>(in, tmp, tw, n, n1, total);
        cudaError_t e = cudaGetLastError();
        if (e != cudaSuccess)
            return e;
        src = tmp;
    }
    size_t shm = 2 * (size_t)m * sizeof(sk_cf);
    if (shm > 48 * 1024) {
        cudaError_t e = cudaFuncSetAttribute(sk_k_rows, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                             (int)shm);
        if (e != cudaSuccess)
            return e;
    }
    sk_k_rows<<<(unsigned)((unsigned long long)batch * n1), sk_row_threads(m), shm, s>>>(
        src, out, tw, m, n1, n, np, sk_pack_plan(r, np));
    return cudaGetLastError();
}

__global__ void sk_k_pack(const float *x, sk_cf *z, unsigned n, unsigned long long rows,
                          unsigned long long total)
{
    unsigned long long g = (unsigned long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (g < total)
        z[g] = sk_pack_one(x, n, rows, g / n, (unsigned)(g % n));
}

__global__ void sk_k_split(const sk_cf *Z, sk_cf *out, unsigned n, unsigned long long rows,
                           unsigned long long total)
{
    unsigned long long g = (unsigned long long)blockIdx.x * blockDim.x + threadIdx.x;
    unsigned nb = n / 2 + 1;
    if (g >= total)
        return;
    unsigned long long p = g / nb;
    unsigned k = (unsigned)(g % nb);
    sk_cf a, b;
    sk_split_one(Z + p * n, n, k, &a, &b);
    out[2 * p * nb + k] = a;
    if (2 * p + 1 < rows)
        out[(2 * p + 1) * nb + k] = b;
}

extern "C" cudaError_t cu_stockham_real_launch(const float *x, sk_cf *z, sk_cf *Z, sk_cf *tmp,
                                               sk_cf *out, const sk_cf *tw, unsigned n,
                                               unsigned rows, cudaStream_t s)
{
    unsigned pairs = (rows + 1) / 2;
    unsigned long long total = (unsigned long long)pairs * n;
    sk_k_pack<<<(unsigned)((total + 255) / 256), 256, 0, s>>>(x, z, n, rows, total);
    cudaError_t e = cudaGetLastError();
    if (e == cudaSuccess)
        e = cu_stockham_launch(z, Z, tmp, tw, n, pairs, s);
    if (e != cudaSuccess)
        return e;
    total = (unsigned long long)pairs * (n / 2 + 1);
    sk_k_split<<<(unsigned)((total + 255) / 256), 256, 0, s>>>(Z, out, n, rows, total);
    return cudaGetLastError();
}
