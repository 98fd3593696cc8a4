/* gemm_dt_map.h — gemm_dt's pure decisions (issue 26), host-testable without CUDA headers:
 * which cuBLASLt data, compute and scale types a dtype takes, and how our row-major
 * [rows][cols] buffers map onto cuBLASLt's column-major problem. The numeric type codes
 * are the toolkit's (gemm_dt.c checks each against its enum at compile time). Tested by
 * tests/test_cuda_math_gdt.c, which runs the mapped problem through a column-major host
 * GEMM and compares it with the row-major product. */
#ifndef IMPLS_CUDA_GEMM_DT_MAP_H
#define IMPLS_CUDA_GEMM_DT_MAP_H

/* The dtypes, as impls/common/nndtype.h numbers them (NN_F32 .. NN_F16). */
enum { GDT_F32 = 0, GDT_TF32 = 1, GDT_BF16 = 2, GDT_F16 = 3 };

/* cudaDataType_t and cublasComputeType_t values (library_types.h, cublas_api.h). */
enum { GDT_CUDA_R_32F = 0, GDT_CUDA_R_16F = 2, GDT_CUDA_R_16BF = 14 };
enum { GDT_COMPUTE_32F = 68, GDT_COMPUTE_32F_FAST_TF32 = 77 };

typedef struct gdt_types {
    int ab;      /* A and B storage: 32F (f32, tf32), 16BF, 16F */
    int cd;      /* C and D: always 32F (float32 out) */
    int compute; /* 32F (fp32 accumulation) or 32F_FAST_TF32 */
    int scale;   /* alpha, beta: 32F, as a 32F compute type requires */
    int esize;   /* bytes of one A or B element */
} gdt_types;

static inline gdt_types gdt_types_of(int dt)
{
    gdt_types t = {GDT_CUDA_R_32F, GDT_CUDA_R_32F, GDT_COMPUTE_32F, GDT_CUDA_R_32F, 4};
    if (dt == GDT_TF32)
        t.compute = GDT_COMPUTE_32F_FAST_TF32;
    else if (dt == GDT_BF16)
        t.ab = GDT_CUDA_R_16BF, t.esize = 2;
    else if (dt == GDT_F16)
        t.ab = GDT_CUDA_R_16F, t.esize = 2;
    return t;
}

/* One column-major matrix as cuBLASLt's layout describes it. */
typedef struct gdt_lay {
    long long rows, cols, ld;
} gdt_lay;

/* Row-major D [M][N] = op(A) op(B) (+ bias[N] per column of D), with A stored [M][K], or
 * [K][M] when a_t, and B stored [K][N], or [N][K] when b_t (a weight as nn.Linear keeps
 * it). Column-major, D is D^T (N x M, ld N) = op(B)^T op(A)^T: cuBLASLt's "A" is our B
 * and its "B" our A, m = N, n = M. A row-major [r][c] buffer reads column-major as c x r
 * with ld c, i.e. as the transpose; so our B [K][N] is (op(B))^T already (OP_N) and B
 * [N][K] needs OP_T, likewise for A. cuBLASLt's bias epilogue adds a vector of length m
 * (its rows) to every column: our per-column bias, of length N. */
typedef struct gdt_map {
    long long m, n, k;
    int op_a, op_b; /* 0: N, 1: T, for cuBLASLt's A (our B) and B (our A) */
    gdt_lay a, b, d;
    long long bias_len;
} gdt_map;

static inline gdt_map gdt_map_rowmajor(long long M, long long N, long long K, int a_t, int b_t)
{
    gdt_map g;
    g.m = N;
    g.n = M;
    g.k = K;
    g.op_a = b_t ? 1 : 0;
    g.a.rows = b_t ? K : N; /* the stored buffer read column-major */
    g.a.cols = b_t ? N : K;
    g.a.ld = g.a.rows;
    g.op_b = a_t ? 1 : 0;
    g.b.rows = a_t ? M : K;
    g.b.cols = a_t ? K : M;
    g.b.ld = g.b.rows;
    g.d.rows = N;
    g.d.cols = M;
    g.d.ld = N;
    g.bias_len = N;
    return g;
}

/* cuBLASLt's tensor-core kernels want 16-byte aligned pointers and leading dimensions
 * (8 bf16/f16 or 4 float elements); the heuristic falls back to slower kernels otherwise.
 * 1 when a layout's ld in elements of esize bytes keeps every column 16-byte aligned. */
static inline int gdt_ld_aligned(long long ld, int esize)
{
    return (ld * esize) % 16 == 0;
}

/* The workspace cuBLASLt may use: 32 MiB, what NVIDIA's samples give Hopper kernels. */
#define GDT_WORKSPACE_BYTES (32u << 20)

#endif
