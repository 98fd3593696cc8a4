/* maskgit_gemm.h — blas/gemm for maskgit.decode (maskgit_gemm.c), for openblas.c's table. */
#ifndef BLAS_MASKGIT_GEMM_H
#define BLAS_MASKGIT_GEMM_H

#include "sono.h"

int maskgit_gemm_supports(const void *ctx, const sono_params *p, char *why, size_t n);
int maskgit_gemm_setup(const void *ctx, const sono_params *p, void **st, sono_error *err);
int maskgit_gemm_load(void *st, const sono_buf *in, sono_error *err);
int maskgit_gemm_run(void *st);
int maskgit_gemm_store(void *st, sono_buf *out, sono_error *err);
void maskgit_gemm_teardown(void *st);
int maskgit_gemm_describe(void *st, char *buf, size_t n);
size_t maskgit_gemm_workspace(void *st);

#endif
