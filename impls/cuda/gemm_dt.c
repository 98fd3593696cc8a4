/* gemm_dt.c — the cuBLASLt wrapper of gemm_dt.h (issue 26): handle and workspace per
 * context; per plan the matmul descriptor (compute and scale type from gemm_dt_map.h,
 * transposes, the bias epilogue), the layouts and one heuristic algorithm, chosen once so
 * run() only launches. */
#include <stdlib.h>

#include "gdt_math.h"
#include "gemm_dt.h"

/* gemm_dt_map.h spells the toolkit's enum values as numbers, for the host test */
_Static_assert((int)GDT_CUDA_R_32F == (int)CUDA_R_32F, "cudaDataType CUDA_R_32F");
_Static_assert((int)GDT_CUDA_R_16F == (int)CUDA_R_16F, "cudaDataType CUDA_R_16F");
_Static_assert((int)GDT_CUDA_R_16BF == (int)CUDA_R_16BF, "cudaDataType CUDA_R_16BF");
_Static_assert((int)GDT_COMPUTE_32F == (int)CUBLAS_COMPUTE_32F, "CUBLAS_COMPUTE_32F");
_Static_assert((int)GDT_COMPUTE_32F_FAST_TF32 == (int)CUBLAS_COMPUTE_32F_FAST_TF32,
               "CUBLAS_COMPUTE_32F_FAST_TF32");

static int lt_fail(cublasStatus_t s, const char *what, const char *who, sono_error *err)
{
    return sono_fail(err, SONO_EDEVICE, "%s: cuBLASLt %s: %s", who, what,
                     cublasGetStatusString(s));
}

int gdt_ctx_init(gdt_ctx *c, const char *who, sono_error *err)
{
    *c = (gdt_ctx){0};
    cublasStatus_t s = cublasLtCreate(&c->lt);
    if (s != CUBLAS_STATUS_SUCCESS)
        return lt_fail(s, "handle", who, err);
    c->has_lt = 1;
    return cu_alloc(&c->ws, GDT_WORKSPACE_BYTES, who, err);
}

void gdt_ctx_free(gdt_ctx *c)
{
    if (c->has_lt)
        (void)cublasLtDestroy(c->lt);
    cu_free(c->ws);
    *c = (gdt_ctx){0};
}

void gdt_plan_free(gdt_plan *p)
{
    if (p->made & 1)
        (void)cublasLtMatmulDescDestroy(p->desc);
    if (p->made & 2)
        (void)cublasLtMatrixLayoutDestroy(p->la);
    if (p->made & 4)
        (void)cublasLtMatrixLayoutDestroy(p->lb);
    if (p->made & 8)
        (void)cublasLtMatrixLayoutDestroy(p->ld);
    p->made = 0;
}

static cublasStatus_t layout(cublasLtMatrixLayout_t *l, int type, const gdt_lay *g)
{
    return cublasLtMatrixLayoutCreate(l, (cudaDataType_t)type, (uint64_t)g->rows,
                                      (uint64_t)g->cols, (int64_t)g->ld);
}

static cublasStatus_t pick(const gdt_ctx *c, gdt_plan *p, int align_a, int align_b,
                           int align_d, int *found)
{
    cublasLtMatmulPreference_t pref;
    cublasStatus_t s = cublasLtMatmulPreferenceCreate(&pref);
    if (s != CUBLAS_STATUS_SUCCESS)
        return s;
    uint64_t ws = GDT_WORKSPACE_BYTES;
    /* cuBLASLt's A is our B and its B our A (gemm_dt_map.h) */
    uint32_t al[3] = {(uint32_t)align_b, (uint32_t)align_a, (uint32_t)align_d};
    s = cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
                                             &ws, sizeof ws);
    if (s == CUBLAS_STATUS_SUCCESS)
        s = cublasLtMatmulPreferenceSetAttribute(
            pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, &al[0], sizeof al[0]);
    if (s == CUBLAS_STATUS_SUCCESS)
        s = cublasLtMatmulPreferenceSetAttribute(
            pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, &al[1], sizeof al[1]);
    if (s == CUBLAS_STATUS_SUCCESS) /* C is D (beta != 0 reads it) */
        s = cublasLtMatmulPreferenceSetAttribute(
            pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, &al[2], sizeof al[2]);
    if (s == CUBLAS_STATUS_SUCCESS)
        s = cublasLtMatmulPreferenceSetAttribute(
            pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, &al[2], sizeof al[2]);
    cublasLtMatmulHeuristicResult_t r;
    *found = 0;
    if (s == CUBLAS_STATUS_SUCCESS)
        s = cublasLtMatmulAlgoGetHeuristic(c->lt, p->desc, p->la, p->lb, p->ld, p->ld, pref, 1,
                                           &r, found);
    if (s == CUBLAS_STATUS_SUCCESS && *found > 0)
        p->algo = r.algo;
    (void)cublasLtMatmulPreferenceDestroy(pref);
    return s;
}

int gdt_plan_init(gdt_ctx *c, gdt_plan *p, int dt, long long M, long long N, long long K,
                  int a_t, int b_t, const float *bias, int align_a, int align_b, int align_d,
                  const char *who, sono_error *err)
{
    *p = (gdt_plan){0};
    p->map = gdt_map_rowmajor(M, N, K, a_t, b_t);
    p->ty = gdt_types_of(dt);
    cublasStatus_t s = cublasLtMatmulDescCreate(&p->desc, (cublasComputeType_t)p->ty.compute,
                                                (cudaDataType_t)p->ty.scale);
    if (s != CUBLAS_STATUS_SUCCESS)
        return lt_fail(s, "matmul descriptor", who, err);
    p->made |= 1;
    cublasOperation_t ta = p->map.op_a ? CUBLAS_OP_T : CUBLAS_OP_N,
                      tb = p->map.op_b ? CUBLAS_OP_T : CUBLAS_OP_N;
    s = cublasLtMatmulDescSetAttribute(p->desc, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof ta);
    if (s == CUBLAS_STATUS_SUCCESS)
        s = cublasLtMatmulDescSetAttribute(p->desc, CUBLASLT_MATMUL_DESC_TRANSB, &tb,
                                           sizeof tb);
    if (s == CUBLAS_STATUS_SUCCESS && bias) {
        cublasLtEpilogue_t e = CUBLASLT_EPILOGUE_BIAS;
        s = cublasLtMatmulDescSetAttribute(p->desc, CUBLASLT_MATMUL_DESC_EPILOGUE, &e,
                                           sizeof e);
        if (s == CUBLAS_STATUS_SUCCESS)
            s = cublasLtMatmulDescSetAttribute(p->desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER,
                                               &bias, sizeof bias);
    }
    if (s != CUBLAS_STATUS_SUCCESS) {
        gdt_plan_free(p);
        return lt_fail(s, "matmul attributes", who, err);
    }
    if ((s = layout(&p->la, p->ty.ab, &p->map.a)) == CUBLAS_STATUS_SUCCESS)
        p->made |= 2;
    if (s == CUBLAS_STATUS_SUCCESS && (s = layout(&p->lb, p->ty.ab, &p->map.b)) ==
                                          CUBLAS_STATUS_SUCCESS)
        p->made |= 4;
    if (s == CUBLAS_STATUS_SUCCESS && (s = layout(&p->ld, p->ty.cd, &p->map.d)) ==
                                          CUBLAS_STATUS_SUCCESS)
        p->made |= 8;
    int found = 0;
    if (s == CUBLAS_STATUS_SUCCESS)
        s = pick(c, p, align_a, align_b, align_d, &found);
    if (s != CUBLAS_STATUS_SUCCESS || found < 1) {
        gdt_plan_free(p);
        if (s != CUBLAS_STATUS_SUCCESS)
            return lt_fail(s, "layouts and heuristic", who, err);
        return sono_fail(err, SONO_EDEVICE, "%s: cuBLASLt has no algorithm for [%lld x %lld] "
                         "= [%lld x %lld] x [%lld x %lld] in %s (alignment %d, %d, %d bytes)",
                         who, M, N, M, K, K, N, dt == GDT_BF16 ? "bf16" : dt == GDT_F16 ? "f16"
                         : dt == GDT_TF32 ? "tf32" : "f32", align_a, align_b, align_d);
    }
    return 0;
}

cublasStatus_t gdt_matmul(const gdt_ctx *c, const gdt_plan *p, float alpha, const void *A,
                          const void *B, float beta, float *D, cudaStream_t s)
{
    return cublasLtMatmul(c->lt, p->desc, &alpha, B, p->la, A, p->lb, &beta, D, p->ld, D,
                          p->ld, &p->algo, c->ws, GDT_WORKSPACE_BYTES, s);
}

int gdt_upload(const float *host, size_t n, int dt, void **dev, size_t *bytes,
               const char *who, sono_error *err)
{
    gdt_types t = gdt_types_of(dt);
    size_t nb = n * (size_t)t.esize;
    void *h = malloc(nb ? nb : 1);
    if (!h)
        return sono_fail(err, SONO_ENOMEM, "%s: no host memory to convert %zu weights", who,
                         n);
    for (size_t i = 0; i < n; i++)
        if (dt == GDT_BF16)
            ((uint16_t *)h)[i] = gdt_bf16_rne(host[i]);
        else if (dt == GDT_F16)
            ((uint16_t *)h)[i] = gdt_f16_rne(host[i]);
        else
            ((float *)h)[i] = dt == GDT_TF32 ? gdt_tf32_rne(host[i]) : host[i];
    int rc = cu_alloc(dev, nb, who, err);
    if (!rc)
        rc = CU_OK(cudaMemcpy(*dev, h, nb, cudaMemcpyHostToDevice), who, err);
    free(h);
    if (bytes)
        *bytes += nb;
    return rc;
}
