/* gdt_kernels.h — the C entry points of gdt_kernels.cu (issue 26): activations converted
 * to a GEMM's dtype before cuBLASLt reads them, and the row argmin of cuda/vq-lt. Each
 * enqueues on the stream and returns the launch's cudaError_t. */
#ifndef IMPLS_CUDA_GDT_KERNELS_H
#define IMPLS_CUDA_GDT_KERNELS_H

#include <cuda_runtime_api.h>

#ifdef __cplusplus
extern "C" {
#endif

/* y[i] = x[i] in dt's storage (gemm_dt_map.h's GDT_*): bf16 and f16 as 16-bit patterns,
 * tf32 as floats on its grid, f32 a copy; gdt_math.h's round to nearest even. */
cudaError_t cu_gdt_convert_launch(const float *x, void *y, long long n, int dt,
                                  cudaStream_t s);
/* codes[r] = the first column of the lowest d[r][c], c < cols, for each of rows rows */
cudaError_t cu_gdt_argmin_launch(const float *d, long long rows, int cols, int *codes,
                                 cudaStream_t s);

#ifdef __cplusplus
}
#endif

#endif
