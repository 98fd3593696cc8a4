// vqtc_kernels.cu — cuda/vq-tc (issue 26): distances and argmin in one kernel on tensor
// cores. A block of 4 warps keeps 64 vectors in shared memory (16 a warp: the A
// fragments of mma m16n8k16) and streams the codebook through in tiles of 64 codewords,
// double-buffered by cp.async; each tile's x.c are 8 mma C fragments a warp, folded at
// once into a running argmin in registers (vqtc_math.h), so no T x K matrix exists.
#include <cuda_runtime.h>

#include "vqtc_kernels.h"

namespace {

__device__ __forceinline__ void cp16(void *smem, const void *gmem, bool valid)
{
    unsigned dst = (unsigned)__cvta_generic_to_shared(smem);
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(gmem),
                 "r"(valid ? 16 : 0));
}

template <int KIND>
__device__ __forceinline__ void mma16(float c[4], const uint32_t a[4], const uint32_t b[2])
{
    if (KIND == FA2_BF16)
        asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, "
                     "{%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
                     : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
                     : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
    else
        asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, "
                     "{%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
                     : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
                     : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}

// rows [r0, r0 + 64) of a [n, D] 16-bit matrix into a tile of stride D + 8; rows past n
// zero-filled
__device__ __forceinline__ void load_rows(uint16_t *tile, int stride, const uint16_t *g,
                                          long long r0, long long n, int D)
{
    int ch = D / 8; // 16-byte chunks a row
    for (int c = threadIdx.x; c < 64 * ch; c += VQT_WARPS * 32) {
        int r = c / ch, e = (c % ch) * 8;
        bool ok = r0 + r < n;
        cp16(tile + r * stride + e, g + (ok ? (r0 + r) * D + e : 0), ok);
    }
}

template <int KIND>
__global__ void __launch_bounds__(VQT_WARPS * 32)
    vqtc(const uint16_t *book, const float *cn, const uint16_t *x, long long T, long long K,
         int D, int *codes)
{
    extern __shared__ __align__(16) unsigned char smem_raw[];
    const int stride = D + 8;
    uint16_t *xs = (uint16_t *)smem_raw, *b0 = xs + VQT_BV * stride, *b1 = b0 + VQT_BK * stride;
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const long long v0 = (long long)blockIdx.x * VQT_BV;
    const int ntiles = (int)((K + VQT_BK - 1) / VQT_BK);

    load_rows(xs, stride, x, v0, T, D);
    load_rows(b0, stride, book, 0, K, D);
    asm volatile("cp.async.commit_group;\n" ::);
    float best[2] = {INFINITY, INFINITY};
    int idx[2] = {0x7fffffff, 0x7fffffff};
    for (int kt = 0; kt < ntiles; kt++) {
        uint16_t *bs = (kt & 1) ? b1 : b0;
        if (kt + 1 < ntiles) {
            load_rows((kt & 1) ? b0 : b1, stride, book, (long long)(kt + 1) * VQT_BK, K, D);
            asm volatile("cp.async.commit_group;\n" ::);
            asm volatile("cp.async.wait_group 1;\n" ::);
        } else {
            asm volatile("cp.async.wait_group 0;\n" ::);
        }
        __syncthreads();
        float s[FA2_NT][4];
#pragma unroll
        for (int nt = 0; nt < FA2_NT; nt++)
            s[nt][0] = s[nt][1] = s[nt][2] = s[nt][3] = 0.0f;
        for (int kk = 0; kk < D / 16; kk++) {
            uint32_t a[4];
            fa2_load_q16(xs, stride, warp * 16, kk, lane, a);
#pragma unroll
            for (int nt = 0; nt < FA2_NT; nt++) {
                uint32_t b[2];
                fa2_load_k16(bs, stride, nt, kk, lane, b);
                mma16<KIND>(s[nt], a, b);
            }
        }
        vqt_fold(s, cn, (long long)kt * VQT_BK, K, lane, best, idx);
        __syncthreads();
    }
#pragma unroll
    for (int r = 0; r < 2; r++)
#pragma unroll
        for (int m = 1; m <= 2; m <<= 1) {
            float ob = __shfl_xor_sync(0xffffffffu, best[r], m);
            int oi = __shfl_xor_sync(0xffffffffu, idx[r], m);
            vqt_merge(&best[r], &idx[r], ob, oi);
        }
    if ((lane & 3) == 0)
#pragma unroll
        for (int r = 0; r < 2; r++) {
            long long t = v0 + warp * 16 + (lane >> 2) + 8 * r;
            if (t < T)
                codes[t] = idx[r];
        }
}

template <int KIND>
cudaError_t launch(const void *book, const float *cn, const void *x, long long T, long long K,
                   int D, int *codes, cudaStream_t s)
{
    size_t smem = (size_t)(VQT_BV + 2 * VQT_BK) * (size_t)(D + 8) * 2;
    // the opt-in above 48 KiB, per device, for the largest D (256) at once
    static unsigned done; // bit N: set on device N
    int dev = 0;
    cudaError_t e = cudaGetDevice(&dev);
    if (e != cudaSuccess)
        return e;
    if (dev >= 32 || !(done & (1u << dev))) {
        e = cudaFuncSetAttribute(vqtc<KIND>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                 (VQT_BV + 2 * VQT_BK) * (256 + 8) * 2);
        if (e != cudaSuccess)
            return e;
        if (dev < 32)
            done |= 1u << dev;
    }
    unsigned blocks = (unsigned)((T + VQT_BV - 1) / VQT_BV);
    vqtc<KIND><<<blocks, VQT_WARPS * 32, smem, s>>>((const uint16_t *)book, cn,
                                                    (const uint16_t *)x, T, K, D, codes);
    return cudaGetLastError();
}

} // namespace

extern "C" cudaError_t cu_vqtc_launch(const void *book, const float *cn, const void *x,
                                      long long T, long long K, int D, int kind, int *codes,
                                      cudaStream_t s)
{
    if (D < 16 || D > 256 || D % 16 || T < 1 || K < 1 || T > (1LL << 37))
        return cudaErrorInvalidValue;
    if (kind == FA2_BF16)
        return launch<FA2_BF16>(book, cn, x, T, K, D, codes, s);
    if (kind == FA2_F16)
        return launch<FA2_F16>(book, cn, x, T, K, D, codes, s);
    return cudaErrorInvalidValue;
}
