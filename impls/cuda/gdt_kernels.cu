/* gdt_kernels.cu — gemm_dt's conversion kernel (activations to a GEMM's dtype, rounded by
 * gdt_math.h) and cuda/vq-lt's warp-per-row argmin over the distances cuBLASLt wrote. */
#include <stdint.h>

#include "gdt_kernels.h"
#include "gdt_math.h"
#include "gemm_dt_map.h"

__global__ void to_dt(const float *__restrict__ x, void *__restrict__ y, long long n, int dt)
{
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n;
         i += (long long)gridDim.x * blockDim.x) {
        float v = x[i];
        if (dt == GDT_BF16)
            ((uint16_t *)y)[i] = gdt_bf16_rne(v);
        else if (dt == GDT_F16)
            ((uint16_t *)y)[i] = gdt_f16_rne(v);
        else
            ((float *)y)[i] = dt == GDT_TF32 ? gdt_tf32_rne(v) : v;
    }
}

extern "C" cudaError_t cu_gdt_convert_launch(const float *x, void *y, long long n, int dt,
                                             cudaStream_t s)
{
    if (n <= 0)
        return cudaSuccess;
    long long blocks = (n + 255) / 256;
    to_dt<<<(unsigned)(blocks < 65535 ? blocks : 65535), 256, 0, s>>>(x, y, n, dt);
    return cudaGetLastError();
}

/* One warp per row, 8 rows a block of 256. */
__global__ void argmin_rows(const float *__restrict__ d, long long rows, int cols,
                            int *__restrict__ codes)
{
    long long r = blockIdx.x * 8LL + threadIdx.x / 32;
    int lane = threadIdx.x % 32;
    if (r >= rows)
        return;
    const float *row = d + r * (long long)cols;
    float bv = __int_as_float(0x7f800000); /* +inf */
    int bi = cols;                           /* past the end: loses every comparison */
    for (int c = lane; c < cols; c += 32)
        if (row[c] < bv) {
            bv = row[c];
            bi = c;
        }
    for (int o = 16; o > 0; o /= 2) {
        float v = __shfl_down_sync(0xffffffffu, bv, o);
        int i = __shfl_down_sync(0xffffffffu, bi, o);
        gdt_argmin_merge(&bv, &bi, v, i);
    }
    if (lane == 0)
        codes[r] = bi < cols ? bi : 0; /* every distance NaN or inf: code 0 */
}

extern "C" cudaError_t cu_gdt_argmin_launch(const float *d, long long rows, int cols,
                                            int *codes, cudaStream_t s)
{
    if (rows <= 0)
        return cudaSuccess;
    long long blocks = (rows + 7) / 8;
    argmin_rows<<<(unsigned)blocks, 256, 0, s>>>(d, rows, cols, codes);
    return cudaGetLastError();
}
