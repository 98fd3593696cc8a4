/* blas.c — the cuBLAS handle every cuBLAS-using cuda impl makes in setup: on the device's
 * stream, plain FP32 (no TF32: the ops' tolerances assume float32 products), and the
 * status text cuBLAS gives for a failure. */
#include <stdio.h>

#include <cublas_v2.h>

#include "cu.h"
#include "cuda_impls.h"

int cu_blas_create(cu_hdr *h, cublasHandle_t *b, int *has, sono_error *err)
{
    cublasStatus_t s = cublasCreate(b);
    if (s == CUBLAS_STATUS_SUCCESS) {
        *has = 1;
        s = cublasSetStream(*b, h->dev->stream);
    }
    if (s == CUBLAS_STATUS_SUCCESS)
        s = cublasSetMathMode(*b, CUBLAS_DEFAULT_MATH);
    if (s != CUBLAS_STATUS_SUCCESS)
        return sono_fail(err, SONO_EDEVICE, "%s: cuBLAS handle: %s", h->label,
                         cublasGetStatusString(s));
    return 0;
}

int cu_blas_run_ok(cublasStatus_t s, const char *call, cu_hdr *h)
{
    if (s == CUBLAS_STATUS_SUCCESS)
        return 0;
    snprintf(h->msg, sizeof h->msg, "%s failed: %s", call, cublasGetStatusString(s));
    return SONO_EDEVICE;
}
