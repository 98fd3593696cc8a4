// vqtc_kernels.cu — cuda/vq-tc (issue 26): distances and argmin in one kernel on tensor
// cores. A block of 4 warps keeps 64 vectors in shared memory (16 a warp: the A
// fragments of mma m16n8k16, or m16n8k8 in tf32; float32 vectors split into dtype parts
// for cuda/rvq-tc's residuals, vqtc_math.h) and streams the codebook through in tiles of
// 64 codewords, double-buffered by cp.async; each tile's x.c are 8 mma C fragments a
// warp, folded at once into a running argmin in registers, so no T x K matrix exists.
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
__device__ __forceinline__ void mma(float c[4], const uint32_t a[4], const uint32_t b[2])
{
    if (KIND == FA2_BF16)
        asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, "
                     "{%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
                     : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
                     : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
    else if (KIND == FA2_F16)
        asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, "
                     "{%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
                     : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
                     : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
    else // issue 26: tf32, the float tiles
        asm volatile("mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0,%1,%2,%3}, "
                     "{%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
                     : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
                     : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}

// Element types: the codebook tile in the kind's storage (float for tf32); the vectors in
// it too (NSPLIT 0) or float32 (split into NSPLIT parts: vqtc_math.h's vqt_x_tiles).
template <int KIND> struct belem { typedef uint16_t t; };
template <> struct belem<FA2_TF32> { typedef float t; };
template <int KIND, int NSPLIT> struct xelem { typedef float t; };
template <> struct xelem<FA2_BF16, 0> { typedef uint16_t t; };
template <> struct xelem<FA2_F16, 0> { typedef uint16_t t; };

// rows [r0, r0 + 64) of a [n, D] matrix into a tile of the given stride; rows past n
// zero-filled
template <typename T>
__device__ __forceinline__ void load_rows(T *tile, int stride, const T *g, long long r0,
                                          long long n, int D)
{
    const int epc = 16 / (int)sizeof(T), ch = D / epc; // elements a chunk, chunks a row
    for (int c = threadIdx.x; c < 64 * ch; c += VQT_WARPS * 32) {
        int r = c / ch, e = (c % ch) * epc;
        bool ok = r0 + r < n;
        cp16(tile + r * stride + e, g + (ok ? (r0 + r) * D + e : 0), ok);
    }
}

template <int KIND, int NSPLIT>
__global__ void __launch_bounds__(VQT_WARPS * 32)
    vqtc(const typename belem<KIND>::t *book, const float *cn,
         const typename xelem<KIND, NSPLIT>::t *x, long long T, long long K, int D, int *codes)
{
    typedef typename belem<KIND>::t BT;
    typedef typename xelem<KIND, NSPLIT>::t XT;
    constexpr int KSTEP = KIND == FA2_TF32 ? 8 : 16;
    constexpr int NP = NSPLIT ? NSPLIT : 1;
    constexpr bool PARTS = NSPLIT > 0 && KIND != FA2_TF32; // 16-bit part tiles, filled once
    extern __shared__ __align__(16) unsigned char smem_raw[];
    const int sx = vqt_stride_x(D, KIND, NSPLIT), sb = vqt_stride_b(D, KIND);
    XT *xs = (XT *)smem_raw;
    BT *b0 = (BT *)(smem_raw + vqt_xbytes(D, KIND, NSPLIT)), *b1 = b0 + VQT_BK * sb;
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const long long v0 = (long long)blockIdx.x * VQT_BV;
    const int ntiles = (int)((K + VQT_BK - 1) / VQT_BK);

    if (PARTS) // visible to every warp after the first tile's __syncthreads
        for (int e = threadIdx.x; e < VQT_BV * D; e += VQT_WARPS * 32) {
            long long t = v0 + e / D;
            float v = t < T ? ((const float *)x)[t * D + e % D] : 0.0f;
            vqt_fill_parts((uint16_t *)smem_raw, sx, D, e, v, NP, KIND);
        }
    else
        load_rows(xs, sx, x, v0, T, D);
    load_rows(b0, sb, book, 0, K, D);
    asm volatile("cp.async.commit_group;\n" ::);
    float best[2] = {INFINITY, INFINITY};
    int idx[2] = {0x7fffffff, 0x7fffffff};
    for (int kt = 0; kt < ntiles; kt++) {
        BT *bs = (kt & 1) ? b1 : b0;
        if (kt + 1 < ntiles) {
            load_rows((kt & 1) ? b0 : b1, sb, book, (long long)(kt + 1) * VQT_BK, K, D);
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
        for (int kk = 0; kk < D / KSTEP; kk++) {
            uint32_t a[NP][4];
            if (KIND != FA2_TF32) // the 16-bit tile (NSPLIT 0) or the part tiles
#pragma unroll
                for (int p = 0; p < NP; p++)
                    fa2_load_q16((const uint16_t *)smem_raw + p * VQT_BV * sx, sx, warp * 16,
                                 kk, lane, a[p]);
            else
#pragma unroll
                for (int p = 0; p < NP; p++)
                    vqt_load_a_split((const float *)xs, sx, warp * 16, kk, lane, p, KIND, a[p]);
#pragma unroll
            for (int nt = 0; nt < FA2_NT; nt++) {
                uint32_t b[2];
                if (KIND == FA2_TF32)
                    fa2_load_k8((const float *)bs, sb, nt, kk, lane, b);
                else
                    fa2_load_k16((const uint16_t *)bs, sb, nt, kk, lane, b);
#pragma unroll
                for (int p = 0; p < NP; p++)
                    mma<KIND>(s[nt], a[p], b);
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

template <int KIND, int NSPLIT>
cudaError_t launch(const void *book, const float *cn, const void *x, long long T, long long K,
                   int D, int *codes, cudaStream_t s)
{
    size_t smem = (size_t)vqt_smem(D, KIND, NSPLIT);
    // the opt-in above 48 KiB, per device, for the largest D (256) at once
    static unsigned done; // bit N: set on device N
    int dev = 0;
    cudaError_t e = cudaGetDevice(&dev);
    if (e != cudaSuccess)
        return e;
    if (dev >= 32 || !(done & (1u << dev))) {
        e = cudaFuncSetAttribute(vqtc<KIND, NSPLIT>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                 (int)vqt_smem(256, KIND, NSPLIT));
        if (e != cudaSuccess)
            return e;
        if (dev < 32)
            done |= 1u << dev;
    }
    unsigned blocks = (unsigned)((T + VQT_BV - 1) / VQT_BV);
    vqtc<KIND, NSPLIT><<<blocks, VQT_WARPS * 32, smem, s>>>(
        (const typename belem<KIND>::t *)book, cn, (const typename xelem<KIND, NSPLIT>::t *)x,
        T, K, D, codes);
    return cudaGetLastError();
}

} // namespace

extern "C" cudaError_t cu_vqtc_launch(const void *book, const float *cn, const void *x,
                                      long long T, long long K, int D, int kind, int nsplit,
                                      int *codes, cudaStream_t s)
{
    if (D < 16 || D > 256 || D % 16 || T < 1 || K < 1 || T > (1LL << 37))
        return cudaErrorInvalidValue;
    // the instantiations: 16-bit storage, tf32 (1 part), and rvq-tc's splits (vqt_parts)
    if (kind == FA2_BF16 && nsplit == 0)
        return launch<FA2_BF16, 0>(book, cn, x, T, K, D, codes, s);
    if (kind == FA2_BF16 && nsplit == 3)
        return launch<FA2_BF16, 3>(book, cn, x, T, K, D, codes, s);
    if (kind == FA2_F16 && nsplit == 0)
        return launch<FA2_F16, 0>(book, cn, x, T, K, D, codes, s);
    if (kind == FA2_TF32 && nsplit == 1)
        return launch<FA2_TF32, 1>(book, cn, x, T, K, D, codes, s);
    if (kind == FA2_TF32 && nsplit == 2)
        return launch<FA2_TF32, 2>(book, cn, x, T, K, D, codes, s);
    return cudaErrorInvalidValue;
}
