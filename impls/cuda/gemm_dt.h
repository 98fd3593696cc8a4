/* gemm_dt.h — one GEMM wrapper over cuBLASLt for the dtype axis (issue 26): row-major
 * D [M][N] float32 = op(A) op(B) (+ bias per column) with A and B stored in the dtype
 * (bf16, f16, or float32 read as TF32 or FP32), fp32 accumulation. Plans (the matmul
 * descriptor, the three layouts and the heuristic's algorithm) are made once in an impl's
 * setup, the workspace once per context; gemm_dt_map.h holds the decisions, gdt_kernels.h
 * the conversions of activations before each GEMM. */
#ifndef IMPLS_CUDA_GEMM_DT_H
#define IMPLS_CUDA_GEMM_DT_H

#include <cublasLt.h>

#include "cu.h"
#include "gemm_dt_map.h"

typedef struct gdt_ctx {
    cublasLtHandle_t lt;
    int has_lt;
    void *ws; /* GDT_WORKSPACE_BYTES on the device, shared by the context's plans */
} gdt_ctx;

typedef struct gdt_plan {
    gdt_map map;
    gdt_types ty;
    int made; /* bit 0 desc, 1..3 the layouts of A, B, D */
    cublasLtMatmulDesc_t desc;
    cublasLtMatrixLayout_t la, lb, ld;
    cublasLtMatmulAlgo_t algo;
} gdt_plan;

int gdt_ctx_init(gdt_ctx *c, const char *who, sono_error *err);
void gdt_ctx_free(gdt_ctx *c);

/* A plan for D [M][N] = op(A) op(B) (+ bias[N] when bias, a device pointer that must stay
 * valid while the plan is used): A stored [M][K] ([K][M] when a_t), B [K][N] ([N][K] when
 * b_t), in dt's storage. align_a, align_b, align_d: the smallest alignment in bytes of the
 * A, B and D pointers the plan will be run with (256 for a buffer of its own; gdt_align_of
 * for an offset into one), so the heuristic picks an algorithm that can use them. */
int gdt_plan_init(gdt_ctx *c, gdt_plan *p, int dt, long long M, long long N, long long K,
                  int a_t, int b_t, const float *bias, int align_a, int align_b, int align_d,
                  const char *who, sono_error *err);
void gdt_plan_free(gdt_plan *p);

/* D = alpha op(A) op(B) (+ bias) + beta D, enqueued on s. */
cublasStatus_t gdt_matmul(const gdt_ctx *c, const gdt_plan *p, float alpha, const void *A,
                          const void *B, float beta, float *D, cudaStream_t s);

/* A device copy of host floats in dt's storage (converted on the host with gdt_math.h's
 * rounding; f32 and tf32 stay float32 and tf32 is rounded to its grid), *bytes added. */
int gdt_upload(const float *host, size_t n, int dt, void **dev, size_t *bytes,
               const char *who, sono_error *err);

/* The largest power of two up to 256 that divides an offset in bytes (its alignment in a
 * 256-aligned buffer). */
static inline int gdt_align_of(unsigned long long off)
{
    int a = 256;
    while (a > 1 && off % (unsigned long long)a)
        a /= 2;
    return a;
}

#endif
