/* vqlt.c — cuda/vq-lt for vq.encode (issue 26): the distances ||e||^2 - 2 x.e of every
 * vector to every codeword as one cuBLASLt GEMM in the case's dtype per block of rows
 * (alpha = -2, the float32 codeword norms added by the bias epilogue, fp32 accumulation),
 * then gdt_kernels.cu's warp-per-row argmin. Load uploads the input (already on the
 * dtype's grid), converts it to the dtype's storage (exact) and takes the norms from the
 * same values in float32, untimed, as the other VQ rungs do. Plans at setup (gemm_dt.h). */
#include <limits.h>
#include <stdlib.h>

#include "cuda_impls.h"
#include "gdt_kernels.h"
#include "gemm_dt.h"
#include "nndtype.h"
#include "vq_kernels.h"

#define VQLT_SCORE_FLOATS (1LL << 26) /* distances per GEMM block: 256 MiB */

typedef struct state {
    cu_hdr h; /* first: the device's time_runs reads it */
    long long K, D, T, rows;
    int dt;
    float *in, *cn, *g; /* device: [codebook | vectors], norms [K], distances [rows][K] */
    void *inx;          /* device: the input in bf16/f16 storage (NULL: read in itself) */
    int *codes;
    gdt_ctx lt;
    gdt_plan full, tail; /* blocks of rows vectors, and the last one's T % rows */
    int has_full, has_tail;
} state;

static void dims(const sono_params *p, long long *K, long long *D, long long *T)
{
    *K = sono_param_int(p, "K", 1024);
    *D = sono_param_int(p, "D", 128);
    *T = sono_param_int(p, "T", 750);
}

static long long rows_of(long long K, long long T)
{
    return VQLT_SCORE_FLOATS / K < T ? VQLT_SCORE_FLOATS / K : T;
}

static double dev_bytes(int dt, long long K, long long D, long long T)
{
    double n = (double)(K * D + T * D), es = dt == NN_BF16 || dt == NN_F16 ? 2.0 : 0.0;
    return 4.0 * n + es * n + 4.0 * (double)K + 4.0 * (double)(rows_of(K, T) * K) +
           4.0 * (double)T + GDT_WORKSPACE_BYTES;
}

static int supports(const void *ctx, const sono_params *p, char *why, size_t n)
{
    (void)ctx;
    long long K, D, T;
    dims(p, &K, &D, &T);
    if (K < 1 || D < 1 || T < 1 || K > INT_MAX / 2 || D > INT_MAX / 2 ||
        T > (1LL << 40) / D || K > (1LL << 40) / D) {
        snprintf(why, n, "K=%lld D=%lld T=%lld out of range", K, D, T);
        return SONO_EUNSUPPORTED;
    }
    return cu_supports_common(p, dev_bytes(nn_dtype(p), K, D, T), why, n);
}

static void teardown(void *vst)
{
    state *st = vst;
    if (!st)
        return;
    if (st->has_full)
        gdt_plan_free(&st->full);
    if (st->has_tail)
        gdt_plan_free(&st->tail);
    gdt_ctx_free(&st->lt);
    cu_free(st->in);
    cu_free(st->inx);
    cu_free(st->cn);
    cu_free(st->g);
    cu_free(st->codes);
    free(st);
}

static int run(void *vst);

/* g [m][K] = -2 x [m][D] e^T + cn: our A the vectors, B the codebook [K][D] (b_t). The
 * vectors start K D elements into the buffer, each block rows D further. */
static int plan(state *st, gdt_plan *p, long long m, sono_error *err)
{
    int es = gdt_types_of(st->dt).esize;
    int al = gdt_align_of((unsigned long long)(st->K * st->D * es)),
        ab = gdt_align_of((unsigned long long)(st->rows * st->D * es));
    return gdt_plan_init(&st->lt, p, st->dt, m, st->K, st->D, 0, 1, st->cn, al < ab ? al : ab,
                         256, 256, st->h.label, err);
}

static int setup(const void *ctx, const sono_params *p, void **stp, sono_error *err)
{
    char why[256];
    int rc;
    *stp = NULL;
    if ((rc = supports(ctx, p, why, sizeof why)) < 0)
        return sono_fail(err, rc, "cuda/vq-lt: %s", why);
    state *st = calloc(1, sizeof *st);
    if (!st)
        return sono_fail(err, SONO_ENOMEM, "cuda/vq-lt: cannot allocate its state");
    dims(p, &st->K, &st->D, &st->T);
    st->dt = nn_dtype(p);
    st->rows = rows_of(st->K, st->T);
    size_t n = (size_t)(st->K * st->D + st->T * st->D);
    if ((rc = cu_hdr_init(&st->h, "vq.encode", "vq-lt", run, p, err)))
        goto fail;
    cu_range_push(&st->h, "setup");
    const char *who = st->h.label;
    if (!(rc = cu_alloc((void **)&st->in, n * sizeof(float), who, err)) &&
        !(rc = cu_alloc((void **)&st->cn, (size_t)st->K * sizeof(float), who, err)) &&
        !(rc = cu_alloc((void **)&st->g, (size_t)(st->rows * st->K) * sizeof(float), who,
                        err)) &&
        !(rc = cu_alloc((void **)&st->codes, (size_t)st->T * sizeof(int), who, err)) &&
        (st->dt == NN_BF16 || st->dt == NN_F16))
        rc = cu_alloc(&st->inx, n * 2, who, err);
    if (!rc)
        rc = gdt_ctx_init(&st->lt, who, err);
    if (!rc && !(rc = plan(st, &st->full, st->rows, err)))
        st->has_full = 1;
    if (!rc && st->T % st->rows && !(rc = plan(st, &st->tail, st->T % st->rows, err)))
        st->has_tail = 1;
    if (!rc)
        rc = CU_OK(cudaDeviceSynchronize(), who, err);
    cu_range_pop();
    if (rc)
        goto fail;
    *stp = st;
    return 0;
fail:
    teardown(st);
    return rc;
}

static int load(void *vst, const sono_buf *in, sono_error *err)
{
    state *st = vst;
    long long need = st->K * st->D + st->T * st->D;
    if (in->dtype != SONO_F32 || sono_buf_elems(in) != need ||
        in->nbytes < (size_t)need * sizeof(float))
        return sono_fail(err, SONO_EINVAL, "%s: input must be f32 [%lld] (codebook then "
                         "vectors); got dtype %d, %lld elements", st->h.label, need,
                         (int)in->dtype, sono_buf_elems(in));
    cu_range_push(&st->h, "load");
    cudaStream_t s = st->h.dev->stream;
    int rc = CU_OK(cudaMemcpyAsync(st->in, in->data, (size_t)need * sizeof(float),
                                   cudaMemcpyHostToDevice, s), st->h.label, err);
    if (!rc && st->inx) /* exact: the op rounded the values to the dtype */
        rc = CU_OK(cu_gdt_convert_launch(st->in, st->inx, need, st->dt, s), st->h.label, err);
    if (!rc)
        rc = CU_OK(cu_vq_norms_launch(st->in, st->K, (int)st->D, st->cn, s), st->h.label, err);
    if (!rc)
        rc = CU_OK(cudaStreamSynchronize(s), st->h.label, err);
    cu_range_pop();
    return rc;
}

static int run(void *vst)
{
    state *st = vst;
    cudaStream_t s = st->h.dev->stream;
    size_t es = (size_t)gdt_types_of(st->dt).esize;
    const char *base = st->inx ? (const char *)st->inx : (const char *)st->in;
    for (long long t0 = 0; t0 < st->T; t0 += st->rows) {
        long long m = st->T - t0 < st->rows ? st->T - t0 : st->rows;
        const gdt_plan *p = m == st->rows ? &st->full : &st->tail;
        const char *x = base + (size_t)(st->K * st->D + t0 * st->D) * es;
        int rc = CU_BLAS_RUN(gdt_matmul(&st->lt, p, -2.0f, x, base, 0.0f, st->g, s), &st->h);
        if (!rc)
            rc = CU_RUN(cu_gdt_argmin_launch(st->g, m, (int)st->K, st->codes + t0, s), &st->h);
        if (rc)
            return rc;
    }
    return 0;
}

static int store(void *vst, sono_buf *out, sono_error *err)
{
    state *st = vst;
    size_t need = (size_t)st->T * sizeof(int);
    if (out->dtype != SONO_I32 || out->nbytes < need)
        return sono_fail(err, SONO_EINVAL, "%s: output must be i32 [T] (%zu bytes); got dtype "
                         "%d, %zu bytes", st->h.label, need, (int)out->dtype, out->nbytes);
    cu_range_push(&st->h, "store");
    int rc = CU_OK(cudaMemcpyAsync(out->data, st->codes, need, cudaMemcpyDeviceToHost,
                                   st->h.dev->stream), st->h.label, err);
    if (!rc)
        rc = CU_OK(cudaStreamSynchronize(st->h.dev->stream), st->h.label, err);
    cu_range_pop();
    return rc;
}

static const char *const lt_types[] = {
    "CUDA_R_32F in, CUBLAS_COMPUTE_32F", "CUDA_R_32F in, CUBLAS_COMPUTE_32F_FAST_TF32",
    "CUDA_R_16BF in, CUBLAS_COMPUTE_32F", "CUDA_R_16F in, CUBLAS_COMPUTE_32F"};

static int describe(void *vst, char *buf, size_t n)
{
    const state *st = vst;
    snprintf(buf, n, "cublasLtMatmul (%s, FP32 out), alpha -2, norms by the bias epilogue, "
             "%lld-row blocks, heuristic algorithm chosen at setup + warp-per-row argmin; "
             "norms from the rounded codebook in FP32", lt_types[st->dt], st->rows);
    return 0;
}

static size_t workspace(void *vst)
{
    const state *st = vst;
    return sizeof *st + (size_t)dev_bytes(st->dt, st->K, st->D, st->T);
}

/* ---- cuda/cublaslt for op sgemm: C = A B through the same wrapper, every dtype; harness
 * calibrate runs it beside the peak_flops impl for the tensor-core ceilings ---- */

typedef struct gstate {
    cu_hdr h;
    long long m, n, k;
    int dt;
    float *a, *c; /* device: A then B, as the op packs them; C */
    void *ax;     /* device: A then B in bf16/f16 storage (NULL: read a itself) */
    gdt_ctx lt;
    gdt_plan p;
    int has_p;
} gstate;

static void gdims(const sono_params *p, long long *m, long long *n, long long *k)
{
    *m = sono_param_int(p, "m", 256);
    *n = sono_param_int(p, "n", 256);
    *k = sono_param_int(p, "k", 256);
}

static double gbytes(int dt, long long m, long long n, long long k)
{
    double ab = (double)(m * k) + (double)(k * n);
    return 4.0 * (ab + (double)(m * n)) + (dt == NN_BF16 || dt == NN_F16 ? 2.0 * ab : 0) +
           GDT_WORKSPACE_BYTES;
}

static int gsupports(const void *ctx, const sono_params *p, char *why, size_t len)
{
    long long m, n, k;
    (void)ctx;
    gdims(p, &m, &n, &k);
    if (m < 1 || n < 1 || k < 1 || m > (1 << 30) || n > (1 << 30) || k > (1 << 30)) {
        snprintf(why, len, "m=%lld n=%lld k=%lld must be in [1, 2^30]", m, n, k);
        return SONO_EUNSUPPORTED;
    }
    return cu_supports_common(p, gbytes(nn_dtype(p), m, n, k), why, len);
}

static void gteardown(void *vst)
{
    gstate *st = vst;
    if (!st)
        return;
    if (st->has_p)
        gdt_plan_free(&st->p);
    gdt_ctx_free(&st->lt);
    cu_free(st->a);
    cu_free(st->c);
    cu_free(st->ax);
    free(st);
}

static int grun(void *vst);

static int gsetup(const void *ctx, const sono_params *p, void **stp, sono_error *err)
{
    char why[256];
    int rc;
    *stp = NULL;
    if ((rc = gsupports(ctx, p, why, sizeof why)) < 0)
        return sono_fail(err, rc, "cuda/cublaslt: %s", why);
    gstate *st = calloc(1, sizeof *st);
    if (!st)
        return sono_fail(err, SONO_ENOMEM, "cuda/cublaslt: cannot allocate its state");
    gdims(p, &st->m, &st->n, &st->k);
    st->dt = nn_dtype(p);
    size_t ab = (size_t)(st->m * st->k + st->k * st->n);
    int es = gdt_types_of(st->dt).esize;
    if ((rc = cu_hdr_init(&st->h, "sgemm", "cublaslt", grun, p, err)))
        goto fail;
    cu_range_push(&st->h, "setup");
    const char *who = st->h.label;
    if (!(rc = cu_alloc((void **)&st->a, ab * sizeof(float), who, err)) &&
        !(rc = cu_alloc((void **)&st->c, (size_t)(st->m * st->n) * sizeof(float), who, err)) &&
        es == 2)
        rc = cu_alloc(&st->ax, ab * 2, who, err);
    if (!rc)
        rc = gdt_ctx_init(&st->lt, who, err);
    /* row-major C [m][n] = A [m][k] B [k][n]; B lies m k elements into the buffer */
    if (!rc && !(rc = gdt_plan_init(&st->lt, &st->p, st->dt, st->m, st->n, st->k, 0, 0, NULL,
                                    256, gdt_align_of((unsigned long long)(st->m * st->k * es)),
                                    256, who, err)))
        st->has_p = 1;
    if (!rc)
        rc = CU_OK(cudaDeviceSynchronize(), who, err);
    cu_range_pop();
    if (rc)
        goto fail;
    *stp = st;
    return 0;
fail:
    gteardown(st);
    return rc;
}

static int gload(void *vst, const sono_buf *in, sono_error *err)
{
    gstate *st = vst;
    long long need = st->m * st->k + st->k * st->n;
    if (in->dtype != SONO_F32 || sono_buf_elems(in) != need ||
        in->nbytes < (size_t)need * sizeof(float))
        return sono_fail(err, SONO_EINVAL, "%s: input must be f32 [m*k + k*n = %lld] (A then "
                         "B); got dtype %d, %lld elements", st->h.label, need, (int)in->dtype,
                         sono_buf_elems(in));
    cu_range_push(&st->h, "load");
    cudaStream_t s = st->h.dev->stream;
    int rc = CU_OK(cudaMemcpyAsync(st->a, in->data, (size_t)need * sizeof(float),
                                   cudaMemcpyHostToDevice, s), st->h.label, err);
    if (!rc && st->ax) /* exact: the op rounded A and B to the dtype */
        rc = CU_OK(cu_gdt_convert_launch(st->a, st->ax, need, st->dt, s), st->h.label, err);
    if (!rc)
        rc = CU_OK(cudaStreamSynchronize(s), st->h.label, err);
    cu_range_pop();
    return rc;
}

static int grun(void *vst)
{
    gstate *st = vst;
    size_t es = (size_t)gdt_types_of(st->dt).esize;
    const char *a = st->ax ? (const char *)st->ax : (const char *)st->a;
    return CU_BLAS_RUN(gdt_matmul(&st->lt, &st->p, 1.0f, a, a + (size_t)(st->m * st->k) * es,
                                  0.0f, st->c, st->h.dev->stream), &st->h);
}

static int gstore(void *vst, sono_buf *out, sono_error *err)
{
    gstate *st = vst;
    size_t need = (size_t)(st->m * st->n) * sizeof(float);
    if (out->dtype != SONO_F32 || out->nbytes < need)
        return sono_fail(err, SONO_EINVAL, "%s: output must be f32 [m=%lld, n=%lld] (%zu "
                         "bytes); got dtype %d, %zu bytes", st->h.label, st->m, st->n, need,
                         (int)out->dtype, out->nbytes);
    cu_range_push(&st->h, "store");
    int rc = CU_OK(cudaMemcpyAsync(out->data, st->c, need, cudaMemcpyDeviceToHost,
                                   st->h.dev->stream), st->h.label, err);
    if (!rc)
        rc = CU_OK(cudaStreamSynchronize(st->h.dev->stream), st->h.label, err);
    cu_range_pop();
    return rc;
}

static int gdescribe(void *vst, char *buf, size_t n)
{
    const gstate *st = vst;
    snprintf(buf, n, "cublasLtMatmul (%s, CUDA_R_32F out), heuristic algorithm and %u MiB "
             "workspace chosen at setup, beta = 0", lt_types[st->dt],
             GDT_WORKSPACE_BYTES >> 20);
    return 0;
}

static size_t gworkspace(void *vst)
{
    const gstate *st = vst;
    return sizeof *st + (size_t)gbytes(st->dt, st->m, st->n, st->k);
}

const sono_impl cu_vqlt_impls[2] = {
    {.abi = SONO_ABI_VERSION, .op = "vq.encode", .name = "vq-lt",
     .summary = "cuBLASLt GEMM of -2 x.c in the dtype with the norms as bias epilogue + "
                "argmin kernel; dtype f32|tf32|bf16|f16",
     .device = "cuda:0", .growth = SONO_ERR_LINEAR, .supports = supports, .setup = setup,
     .load = load, .run = run, .store = store, .teardown = teardown, .describe = describe,
     .workspace = workspace},
    {.abi = SONO_ABI_VERSION, .op = "sgemm", .name = "cublaslt",
     .summary = "cuBLASLt cublasLtMatmul in the dtype (FP32, TF32, BF16, FP16 in; FP32 out "
                "and accumulation), row-major via C^T = B^T A^T",
     .device = "cuda:0", .growth = SONO_ERR_LINEAR, .supports = gsupports, .setup = gsetup,
     .load = gload, .run = grun, .store = gstore, .teardown = gteardown,
     .describe = gdescribe, .workspace = gworkspace},
};
