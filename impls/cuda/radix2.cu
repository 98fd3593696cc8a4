// radix2.cu — cuda/radix2's kernels: an iterative decimation-in-time radix-2 FFT. Rows
// up to R2_SHARED_MAX points run in one block each, all stages in shared memory;
// longer rows take a bit-reversal pass and then one global-memory pass per stage. The
// arithmetic and each thread's body are radix2_math.h's, which the CPU test runs.
#include "kernels.h"
#include "radix2_math.h"

// One block per row: load bit-reversed into shared memory, log2 n stages with a barrier
// between, write back in order. Each thread's work is radix2_math.h's r2_block_*.
__global__ void r2_shared(const r2_cf *in, r2_cf *out, const r2_cf *tw, unsigned n, int bits)
{
    extern __shared__ r2_cf s[];
    const r2_cf *x = in + (size_t)blockIdx.x * n;
    r2_cf *y = out + (size_t)blockIdx.x * n;
    r2_block_load(x, s, n, bits, threadIdx.x, blockDim.x);
    __syncthreads();
    for (unsigned half = 1; half < n; half *= 2) {
        r2_block_stage(s, tw, n, half, threadIdx.x, blockDim.x);
        __syncthreads();
    }
    r2_block_store(s, y, n, threadIdx.x, blockDim.x);
}

__global__ void r2_bitrev_copy(const r2_cf *in, r2_cf *out, unsigned n, int bits,
                               size_t total)
{
    size_t g = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (g < total)
        r2_rev_one(in, out, n, bits, g);
}

__global__ void r2_stage(r2_cf *y, const r2_cf *tw, unsigned n, unsigned half, size_t total)
{
    size_t g = (size_t)blockIdx.x * blockDim.x + threadIdx.x; // butterfly over all rows
    if (g < total)
        r2_stage_one(y, tw, n, half, g);
}

extern "C" cudaError_t cu_radix2_launch(const float *in, float *out, const float *tw,
                                        unsigned n, unsigned batch, cudaStream_t s)
{
    int bits = r2_log2(n);
    if (bits < 0 || batch == 0)
        return cudaErrorInvalidValue;
    const r2_cf *x = (const r2_cf *)in, *w = (const r2_cf *)tw;
    r2_cf *y = (r2_cf *)out;
    if (n <= R2_SHARED_MAX) {
        unsigned threads = r2_block_threads(n);
        r2_shared<<<batch, threads, n * sizeof(r2_cf), s>>>(x, y, w, n, bits);
        return cudaGetLastError();
    }
    size_t total = (size_t)n * batch;
    unsigned threads = 256;
    r2_bitrev_copy<<<(unsigned)((total + threads - 1) / threads), threads, 0, s>>>(x, y, n, bits,
                                                                               total);
    cudaError_t e = cudaGetLastError();
    for (unsigned half = 1; e == cudaSuccess && half < n; half *= 2) {
        size_t bf = total / 2;
        r2_stage<<<(unsigned)((bf + threads - 1) / threads), threads, 0, s>>>(y, w, n, half, bf);
        e = cudaGetLastError();
    }
    return e;
}
