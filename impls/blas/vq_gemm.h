/* vq_gemm.h — blas/gemm for vq.encode, rvq.encode and rvq.decode (vq_gemm.c), for the
 * table in openblas.c: ctx is &vq_gemm_kinds[i], 0 vq.encode, 1 rvq.encode, 2 rvq.decode. */
#ifndef BLAS_VQ_GEMM_H
#define BLAS_VQ_GEMM_H

#include "sono.h"

extern const int vq_gemm_kinds[3];
int vq_gemm_supports(const void *ctx, const sono_params *p, char *why, size_t n);
int vq_gemm_setup(const void *ctx, const sono_params *p, void **st, sono_error *err);
int vq_gemm_load(void *st, const sono_buf *in, sono_error *err);
int vq_gemm_run(void *st);
int vq_gemm_store(void *st, sono_buf *out, sono_error *err);
void vq_gemm_teardown(void *st);
int vq_gemm_describe(void *st, char *buf, size_t n);
size_t vq_gemm_workspace(void *st);

#endif
