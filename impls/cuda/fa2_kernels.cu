// fa2_kernels.cu — cuda/flash2 (issue 26): FA2-style attention on tensor cores. A block of
// 4 warps takes 64 queries of one head (16 a warp: one m16 row tile); K and V tiles of 64
// keys stream through shared memory double-buffered by cp.async (the next tile loads
// while this one computes); S = Q K^T and O += P V are mma.sync (m16n8k16 bf16/f16,
// m16n8k8 tf32 for float32 input), the online softmax stays in registers, and causal
// tiles past the diagonal are never loaded. Fragment maps, softmax and schedule: fa2_math.h.
#include <cuda_runtime.h>

#include "fa2_kernels.h"

namespace {

__device__ __forceinline__ void cp16(void *smem, const void *gmem, bool valid)
{
    unsigned dst = (unsigned)__cvta_generic_to_shared(smem);
    int bytes = valid ? 16 : 0; // 0: zero-fill (rows past seq)
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(gmem),
                 "r"(bytes));
}
__device__ __forceinline__ void cp_commit()
{
    asm volatile("cp.async.commit_group;\n" ::);
}
template <int N> __device__ __forceinline__ void cp_wait()
{
    asm volatile("cp.async.wait_group %0;\n" ::"n"(N));
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

// Element type of the tiles: 16-bit bits or float.
template <int KIND> struct elem { typedef uint16_t t; };
template <> struct elem<FA2_TF32> { typedef float t; };

// rows [r0, r0 + 64) of a [seq, D] matrix into a tile of the given stride, 16-byte chunks
// spread over the block's 128 threads; rows past seq are zero-filled.
template <int D, typename T>
__device__ __forceinline__ void load_tile(T *tile, int stride, const T *g, long long r0,
                                          long long seq)
{
    constexpr int CH = D * (int)sizeof(T) / 16; // chunks a row
    constexpr int EPC = 16 / (int)sizeof(T);    // elements a chunk
    for (int c = threadIdx.x; c < FA2_BQ * CH; c += FA2_WARPS * 32) {
        int r = c / CH, e = (c % CH) * EPC;
        bool ok = r0 + r < seq;
        cp16(tile + r * stride + e, g + (ok ? (r0 + r) * D + e : 0), ok);
    }
}

template <int D, int KIND>
__global__ void __launch_bounds__(FA2_WARPS * 32)
    fa2(const typename elem<KIND>::t *q, const typename elem<KIND>::t *k,
        const typename elem<KIND>::t *v, float *o, long long seq, int causal, float scale_log2)
{
    typedef typename elem<KIND>::t T;
    constexpr int SQK = KIND == FA2_TF32 ? D + 4 : D + 8, SV = D + 8;
    constexpr int KSTEP = KIND == FA2_TF32 ? 8 : 16; // the mma's k
    constexpr int ND = D / 8;                        // n-tiles of O
    extern __shared__ __align__(16) unsigned char smem_raw[];
    T *qs = (T *)smem_raw;
    T *ks0 = qs + FA2_BQ * SQK, *ks1 = ks0 + FA2_BK * SQK;
    T *vs0 = ks1 + FA2_BK * SQK, *vs1 = vs0 + FA2_BK * SV;

    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const int nqt = (int)((seq + FA2_BQ - 1) / FA2_BQ);
    const int qt = fa2_qtile(blockIdx.x, nqt);
    const long long head = blockIdx.y, base = head * seq * D;
    const long long q0 = (long long)qt * FA2_BQ, row0 = q0 + warp * 16;
    const int nkt = fa2_key_tiles(qt, seq, causal);

    load_tile<D>(qs, SQK, q + base, q0, seq);
    load_tile<D>(ks0, SQK, k + base, 0, seq);
    load_tile<D>(vs0, SV, v + base, 0, seq);
    cp_commit();

    float oacc[ND][4];
#pragma unroll
    for (int dn = 0; dn < ND; dn++)
        oacc[dn][0] = oacc[dn][1] = oacc[dn][2] = oacc[dn][3] = 0.0f;
    float m[2] = {-INFINITY, -INFINITY}, l[2] = {0.0f, 0.0f};

    for (int kt = 0; kt < nkt; kt++) {
        T *ks = (kt & 1) ? ks1 : ks0, *vs = (kt & 1) ? vs1 : vs0;
        if (kt + 1 < nkt) { // the next tile into the other buffer, freed at the end of kt-1
            long long r = (long long)(kt + 1) * FA2_BK;
            load_tile<D>((kt & 1) ? ks0 : ks1, SQK, k + base, r, seq);
            load_tile<D>((kt & 1) ? vs0 : vs1, SV, v + base, r, seq);
            cp_commit();
            cp_wait<1>();
        } else {
            cp_wait<0>();
        }
        __syncthreads();

        float s[FA2_NT][4];
#pragma unroll
        for (int nt = 0; nt < FA2_NT; nt++)
            s[nt][0] = s[nt][1] = s[nt][2] = s[nt][3] = 0.0f;
#pragma unroll
        for (int kk = 0; kk < D / KSTEP; kk++) {
            uint32_t a[4];
            if (KIND == FA2_TF32)
                fa2_load_q8((const float *)qs, SQK, warp * 16, kk, lane, a);
            else
                fa2_load_q16((const uint16_t *)qs, SQK, warp * 16, kk, lane, a);
#pragma unroll
            for (int nt = 0; nt < FA2_NT; nt++) {
                uint32_t b[2];
                if (KIND == FA2_TF32)
                    fa2_load_k8((const float *)ks, SQK, nt, kk, lane, b);
                else
                    fa2_load_k16((const uint16_t *)ks, SQK, nt, kk, lane, b);
                mma<KIND>(s[nt], a, b);
            }
        }
        fa2_scale_mask(s, scale_log2, fa2_tile_masked(qt, kt, seq, causal), row0,
                       (long long)kt * FA2_BK, seq, causal, lane);
        float mx[2];
        fa2_tile_max(s, mx);
#pragma unroll
        for (int r = 0; r < 2; r++) { // the row's 4 lanes
            mx[r] = fmaxf(mx[r], __shfl_xor_sync(0xffffffffu, mx[r], 1));
            mx[r] = fmaxf(mx[r], __shfl_xor_sync(0xffffffffu, mx[r], 2));
        }
        fa2_softmax_step(s, mx, m, l, oacc, ND);

        if (KIND == FA2_TF32) {
#pragma unroll
            for (int kb = 0; kb < FA2_BK / 8; kb++) {
                uint32_t a[4];
#pragma unroll
                for (int i = 0; i < 4; i++) {
                    int sl, se;
                    fa2_p8_src(lane, i, &sl, &se);
                    // every lane sends its elements se of n-tile kb; the receiver picks
                    float e0 = __shfl_sync(0xffffffffu, s[kb][0], sl);
                    float e1 = __shfl_sync(0xffffffffu, s[kb][1], sl);
                    float e2 = __shfl_sync(0xffffffffu, s[kb][2], sl);
                    float e3 = __shfl_sync(0xffffffffu, s[kb][3], sl);
                    float e = se == 0 ? e0 : se == 1 ? e1 : se == 2 ? e2 : e3;
                    a[i] = fa2_tf32_bits(e);
                }
#pragma unroll
                for (int dn = 0; dn < ND; dn++) {
                    uint32_t b[2];
                    fa2_load_v8((const float *)vs, SV, kb, dn, lane, b);
                    mma<KIND>(oacc[dn], a, b);
                }
            }
        } else {
#pragma unroll
            for (int kb = 0; kb < FA2_BK / 16; kb++) {
                uint32_t a[4];
                fa2_p_a16(s, kb, KIND, a);
#pragma unroll
                for (int dn = 0; dn < ND; dn++) {
                    uint32_t b[2];
                    fa2_load_v16((const uint16_t *)vs, SV, kb, dn, lane, b);
                    mma<KIND>(oacc[dn], a, b);
                }
            }
        }
        __syncthreads(); // every warp is done with this buffer before it is refilled
    }
#pragma unroll
    for (int r = 0; r < 2; r++) {
        l[r] += __shfl_xor_sync(0xffffffffu, l[r], 1);
        l[r] += __shfl_xor_sync(0xffffffffu, l[r], 2);
    }
    float inv[2] = {1.0f / l[0], 1.0f / l[1]};
#pragma unroll
    for (int dn = 0; dn < ND; dn++)
#pragma unroll
        for (int h = 0; h < 2; h++) {
            long long row = row0 + fa2_c_row(lane, 2 * h);
            if (row < seq) {
                float2 val = make_float2(oacc[dn][2 * h] * inv[h], oacc[dn][2 * h + 1] * inv[h]);
                *(float2 *)(o + base + row * D + dn * 8 + fa2_c_col(lane, 0)) = val;
            }
        }
}

__global__ void to16(const float *src, uint16_t *dst, long long n, int kind)
{
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n;
         i += (long long)gridDim.x * blockDim.x) {
        if (kind == FA2_BF16) {
            __nv_bfloat16 h = __float2bfloat16_rn(src[i]);
            dst[i] = *(uint16_t *)&h;
        } else {
            __half h = __float2half_rn(src[i]);
            dst[i] = *(uint16_t *)&h;
        }
    }
}

template <int D, int KIND>
cudaError_t launch(const void *q, const void *k, const void *v, float *o, long long heads,
                   long long seq, int causal, cudaStream_t s)
{
    typedef typename elem<KIND>::t T;
    size_t smem = cu_fa2_smem(D, KIND);
    // the opt-in above 48 KiB is per device: once on each (a case may run on cuda:1)
    static unsigned done; // bit N: set on device N
    int dev = 0;
    cudaError_t e = cudaGetDevice(&dev);
    if (e != cudaSuccess)
        return e;
    if (dev >= 32 || !(done & (1u << dev))) {
        e = cudaFuncSetAttribute(fa2<D, KIND>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                 (int)smem);
        if (e != cudaSuccess)
            return e;
        if (dev < 32)
            done |= 1u << dev;
    }
    dim3 grid((unsigned)((seq + FA2_BQ - 1) / FA2_BQ), (unsigned)heads);
    float scale_log2 = (float)(1.4426950408889634 / sqrt((double)D));
    fa2<D, KIND><<<grid, FA2_WARPS * 32, smem, s>>>((const T *)q, (const T *)k, (const T *)v,
                                                     o, seq, causal, scale_log2);
    return cudaGetLastError();
}

} // namespace

extern "C" size_t cu_fa2_smem(int d, int kind)
{
    size_t es = kind == FA2_TF32 ? 4 : 2;
    size_t sqk = (size_t)fa2_stride_qk(d, kind), sv = (size_t)fa2_stride_v(d, kind);
    return es * (FA2_BQ * sqk + 2 * FA2_BK * sqk + 2 * FA2_BK * sv);
}

extern "C" cudaError_t cu_fa2_convert(const float *src, void *dst, long long n, int kind,
                                      cudaStream_t s)
{
    long long blocks = (n + 255) / 256;
    to16<<<(unsigned)(blocks < 65535 ? blocks : 65535), 256, 0, s>>>(src, (uint16_t *)dst, n,
                                                                    kind);
    return cudaGetLastError();
}

extern "C" cudaError_t cu_fa2_launch(const void *q, const void *k, const void *v, float *o,
                                     long long heads, long long seq, int d, int causal,
                                     int kind, cudaStream_t s)
{
    if (d == 64 && kind == FA2_BF16)
        return launch<64, FA2_BF16>(q, k, v, o, heads, seq, causal, s);
    if (d == 64 && kind == FA2_F16)
        return launch<64, FA2_F16>(q, k, v, o, heads, seq, causal, s);
    if (d == 64 && kind == FA2_TF32)
        return launch<64, FA2_TF32>(q, k, v, o, heads, seq, causal, s);
    if (d == 128 && kind == FA2_BF16)
        return launch<128, FA2_BF16>(q, k, v, o, heads, seq, causal, s);
    if (d == 128 && kind == FA2_F16)
        return launch<128, FA2_F16>(q, k, v, o, heads, seq, causal, s);
    if (d == 128 && kind == FA2_TF32)
        return launch<128, FA2_TF32>(q, k, v, o, heads, seq, causal, s);
    return cudaErrorInvalidValue;
}
