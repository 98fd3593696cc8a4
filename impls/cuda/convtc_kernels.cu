// convtc_kernels.cu — cuda/conv-tc (issue 26): conv1d as an implicit GEMM on mma.sync. A
// block of 4 warps computes a 64 (output channels) x 64 (output steps) tile of one group;
// the reduction k = c*kernel + j runs in tiles of 32: the packed weights' tile comes by
// cp.async, the input's tile is gathered element by element through convtc_math.h's
// index map (causal zeros, stride, dilation), prefetched into registers while the
// previous tile is multiplied, so no im2col buffer exists. Both tiles are double-buffered.
#include <cuda_runtime.h>

#include "convtc_kernels.h"

namespace {

template <int KIND> struct elem { typedef uint16_t t; };
template <> struct elem<FA2_TF32> { typedef float t; };

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
    else
        asm volatile("mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0,%1,%2,%3}, "
                     "{%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
                     : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
                     : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}

constexpr int THREADS = CT_THREADS;
constexpr int BPER = CT_BPER;

template <int KIND, typename T>
__device__ __forceinline__ void load_a(T *ws, int stride, const nnc_dims &d, const T *wp,
                                       long long g, long long m0, long long k0)
{
    constexpr int EPC = 16 / (int)sizeof(T), PER = CT_BM * CT_BK / EPC / THREADS;
    static_assert(PER * THREADS * EPC == CT_BM * CT_BK, "whole chunks a thread");
#pragma unroll
    for (int i = 0; i < PER; i++) {
        int r, c, ch = threadIdx.x + i * THREADS;
        long long src = ct_a_chunk(&d, g, m0, k0, ch, EPC, &r, &c);
        cp16(ws + r * stride + c, wp + (src >= 0 ? src : 0), src >= 0);
    }
}

template <typename T>
__device__ __forceinline__ void gather_b(T reg[BPER], const nnc_dims &d, const T *x,
                                         long long g, long long n0, long long k0)
{
    long long idx[BPER];
    ct_gather(&d, g, n0, k0, threadIdx.x, idx);
#pragma unroll
    for (int i = 0; i < BPER; i++)
        reg[i] = idx[i] >= 0 ? x[idx[i]] : T(0);
}

// the thread's step n (tid % CT_BN), columns tid / CT_BN + CT_KSTEP_B * i: ct_gather's order
template <typename T>
__device__ __forceinline__ void store_b(T *xs, int stride, const T reg[BPER])
{
    const int n = threadIdx.x % CT_BN, kl0 = threadIdx.x / CT_BN;
#pragma unroll
    for (int i = 0; i < BPER; i++)
        xs[n * stride + kl0 + CT_KSTEP_B * i] = reg[i];
}

template <int KIND>
__global__ void __launch_bounds__(THREADS)
    convtc(const nnc_dims d, const typename elem<KIND>::t *wp, const typename elem<KIND>::t *x,
           const float *b, const float *alpha, float *y)
{
    typedef typename elem<KIND>::t T;
    constexpr int S = KIND == FA2_TF32 ? CT_S32 : CT_S16;
    constexpr int KSTEP = KIND == FA2_TF32 ? 8 : 16;
    __shared__ __align__(16) T ws[2][CT_BM * S];
    __shared__ __align__(16) T xs[2][CT_BN * S];
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const long long n0 = (long long)blockIdx.x * CT_BN, m0 = (long long)blockIdx.y * CT_BM;
    const long long g = blockIdx.z;
    const int nk = (int)(ct_kp(&d) / CT_BK);

    T reg[BPER];
    load_a<KIND>(ws[0], S, d, wp, g, m0, 0);
    asm volatile("cp.async.commit_group;\n" ::);
    gather_b(reg, d, x, g, n0, 0);
    store_b(xs[0], S, reg);

    float acc[CT_NT][4];
#pragma unroll
    for (int nt = 0; nt < CT_NT; nt++)
        acc[nt][0] = acc[nt][1] = acc[nt][2] = acc[nt][3] = 0.0f;

    for (int kt = 0; kt < nk; kt++) {
        const int cur = kt & 1;
        if (kt + 1 < nk) { // the next tile: weights by cp.async, the gather into registers
            load_a<KIND>(ws[cur ^ 1], S, d, wp, g, m0, (long long)(kt + 1) * CT_BK);
            asm volatile("cp.async.commit_group;\n" ::);
            gather_b(reg, d, x, g, n0, (long long)(kt + 1) * CT_BK);
            asm volatile("cp.async.wait_group 1;\n" ::);
        } else {
            asm volatile("cp.async.wait_group 0;\n" ::);
        }
        __syncthreads();
#pragma unroll
        for (int kk = 0; kk < CT_BK / KSTEP; kk++) {
            uint32_t a[4];
            if (KIND == FA2_TF32)
                fa2_load_q8((const float *)ws[cur], S, warp * 16, kk, lane, a);
            else
                fa2_load_q16((const uint16_t *)ws[cur], S, warp * 16, kk, lane, a);
#pragma unroll
            for (int nt = 0; nt < CT_NT; nt++) {
                uint32_t bb[2];
                if (KIND == FA2_TF32)
                    fa2_load_k8((const float *)xs[cur], S, nt, kk, lane, bb);
                else
                    fa2_load_k16((const uint16_t *)xs[cur], S, nt, kk, lane, bb);
                mma<KIND>(acc[nt], a, bb);
            }
        }
        __syncthreads(); // every warp is done with buffer cur before it is refilled
        if (kt + 1 < nk)
            store_b(xs[cur ^ 1], S, reg);
    }
#pragma unroll
    for (int nt = 0; nt < CT_NT; nt++)
#pragma unroll
        for (int i = 0; i < 4; i++) {
            float v;
            long long o = ct_out(&d, g, m0, n0, warp * 16 + fa2_c_row(lane, i),
                                 nt * 8 + fa2_c_col(lane, i), acc[nt][i], b, alpha, &v);
            if (o >= 0)
                y[o] = v;
        }
}

template <int KIND>
__global__ void pack(const nnc_dims d, const float *w, typename elem<KIND>::t *wp)
{
    long long kp = ct_kp(&d), n = d.cout * kp;
    for (long long e = blockIdx.x * (long long)blockDim.x + threadIdx.x; e < n;
         e += (long long)gridDim.x * blockDim.x) {
        float v = ct_wpack_at(&d, w, e / kp, e % kp);
        if (KIND == FA2_TF32)
            ((float *)wp)[e] = __uint_as_float(fa2_tf32_bits(v));
        else
            ((uint16_t *)wp)[e] = (uint16_t)(fa2_pack2(v, 0.0f, KIND) & 0xffffu);
    }
}

template <int KIND>
cudaError_t launch(const nnc_dims *d, const void *wp, const void *x, const float *b,
                   const float *alpha, float *y, cudaStream_t s)
{
    typedef typename elem<KIND>::t T;
    dim3 grid((unsigned)ct_ntiles(d), (unsigned)ct_mtiles(d), (unsigned)d->groups);
    convtc<KIND><<<grid, THREADS, 0, s>>>(*d, (const T *)wp, (const T *)x, b, alpha, y);
    return cudaGetLastError();
}

} // namespace

extern "C" cudaError_t cu_convtc_pack(const nnc_dims *d, const float *w, void *wp, int kind,
                                      cudaStream_t s)
{
    long long n = d->cout * ct_kp(d), blocks = (n + 255) / 256;
    unsigned nb = (unsigned)(blocks < 65535 ? blocks : 65535);
    if (kind == FA2_BF16)
        pack<FA2_BF16><<<nb, 256, 0, s>>>(*d, w, (uint16_t *)wp);
    else if (kind == FA2_F16)
        pack<FA2_F16><<<nb, 256, 0, s>>>(*d, w, (uint16_t *)wp);
    else if (kind == FA2_TF32)
        pack<FA2_TF32><<<nb, 256, 0, s>>>(*d, w, (float *)wp);
    else
        return cudaErrorInvalidValue;
    return cudaGetLastError();
}

extern "C" cudaError_t cu_convtc_launch(const nnc_dims *d, const void *wp, const void *x,
                                        const float *b, const float *alpha, float *y, int kind,
                                        cudaStream_t s)
{
    if (d->tout < 1 || d->cog < 1 || d->groups < 1 || d->groups > 65535 ||
        ct_ntiles(d) > 0x7fffffffLL || ct_mtiles(d) > 65535)
        return cudaErrorInvalidValue;
    if (kind == FA2_BF16)
        return launch<FA2_BF16>(d, wp, x, b, alpha, y, s);
    if (kind == FA2_F16)
        return launch<FA2_F16>(d, wp, x, b, alpha, y, s);
    if (kind == FA2_TF32)
        return launch<FA2_TF32>(d, wp, x, b, alpha, y, s);
    return cudaErrorInvalidValue;
}
