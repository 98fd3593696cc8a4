/* blas_impls.h — what the blas backend's files share: the aligned allocator and the entry
 * points of the layer impls (conv_im2col.c, attn_gemm.c) that openblas.c puts in its table.
 * Private to impls/blas/. */
#ifndef BLAS_IMPLS_H
#define BLAS_IMPLS_H

#include <stdint.h>
#include <stdlib.h>

#include "sono.h"

/* Rounded up to the alignment, which aligned_alloc requires; NULL on overflow too. */
static inline void *blas_alloc(size_t bytes)
{
    if (bytes == 0)
        bytes = 1;
    if (bytes > SIZE_MAX - 63)
        return NULL;
    return aligned_alloc(64, (bytes + 63) & ~(size_t)63);
}

/* 0 when OpenBLAS can run threads threads (the sequential build runs one). */
int blas_threads_ok(const sono_params *p, char *why, size_t n);

/* conv_im2col.c: blas/im2col for conv1d */
int im2col_supports(const void *ctx, const sono_params *p, char *why, size_t n);
int im2col_setup(const void *ctx, const sono_params *p, void **st, sono_error *err);
int im2col_load(void *st, const sono_buf *in, sono_error *err);
int im2col_run(void *st);
int im2col_store(void *st, sono_buf *out, sono_error *err);
void im2col_teardown(void *st);
int im2col_describe(void *st, char *buf, size_t n);
size_t im2col_workspace(void *st);

/* attn_gemm.c: blas/gemm for attention (tiled, streaming softmax) */
int attn_gemm_supports(const void *ctx, const sono_params *p, char *why, size_t n);
int attn_gemm_setup(const void *ctx, const sono_params *p, void **st, sono_error *err);
int attn_gemm_load(void *st, const sono_buf *in, sono_error *err);
int attn_gemm_run(void *st);
int attn_gemm_store(void *st, sono_buf *out, sono_error *err);
void attn_gemm_teardown(void *st);
int attn_gemm_describe(void *st, char *buf, size_t n);
size_t attn_gemm_workspace(void *st);

#endif
