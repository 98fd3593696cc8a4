/* vqste_gemm.h — blas/gemm for vq.ste (vqste_gemm.c), for the table in openblas.c. */
#ifndef BLAS_VQSTE_GEMM_H
#define BLAS_VQSTE_GEMM_H

#include "sono.h"

int vqste_gemm_supports(const void *ctx, const sono_params *p, char *why, size_t n);
int vqste_gemm_setup(const void *ctx, const sono_params *p, void **st, sono_error *err);
int vqste_gemm_load(void *st, const sono_buf *in, sono_error *err);
int vqste_gemm_run(void *st);
int vqste_gemm_store(void *st, sono_buf *out, sono_error *err);
void vqste_gemm_teardown(void *st);
int vqste_gemm_describe(void *st, char *buf, size_t n);
size_t vqste_gemm_workspace(void *st);

#endif
