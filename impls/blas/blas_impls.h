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
/* issue 12: streaming, a history of past input per layer (convstream.h) */
int im2col_stream_begin(void *st, sono_error *err);
int im2col_push(void *st, long long t0, long long n, int last, sono_buf *out, long long *done,
                sono_error *err);

/* attn_gemm.c: blas/gemm for attention (tiled, streaming softmax) */
int attn_gemm_supports(const void *ctx, const sono_params *p, char *why, size_t n);
int attn_gemm_setup(const void *ctx, const sono_params *p, void **st, sono_error *err);
int attn_gemm_load(void *st, const sono_buf *in, sono_error *err);
int attn_gemm_run(void *st);
int attn_gemm_store(void *st, sono_buf *out, sono_error *err);
void attn_gemm_teardown(void *st);
int attn_gemm_describe(void *st, char *buf, size_t n);
size_t attn_gemm_workspace(void *st);
/* issue 12 (streaming): the KV-cache stream of causal attention; the row kernel it shares
 * with attn_step_gemv.c (token j's K, V rows at (j % cap) * d; keys j0 .. j1-1) */
int attn_gemm_stream_begin(void *st, sono_error *err);
int attn_gemm_push(void *st, long long t0, long long n, int last, sono_buf *out,
                   long long *done, sono_error *err);
void attn_gemv_row(const float *q, const float *K, const float *V, size_t cap, size_t j0,
                   size_t j1, size_t d, float *s, float *o);
/* attn_step_gemv.c: blas/gemv for attention.step */
int attn_step_gemv_supports(const void *ctx, const sono_params *p, char *why, size_t n);
int attn_step_gemv_setup(const void *ctx, const sono_params *p, void **st, sono_error *err);
int attn_step_gemv_load(void *st, const sono_buf *in, sono_error *err);
int attn_step_gemv_run(void *st);
int attn_step_gemv_store(void *st, sono_buf *out, sono_error *err);
void attn_step_gemv_teardown(void *st);
int attn_step_gemv_describe(void *st, char *buf, size_t n);
size_t attn_step_gemv_workspace(void *st);

/* issue 23: whisper_blas.c, blas/whisper for whisper.encoder */
int whisper_blas_supports(const void *ctx, const sono_params *p, char *why, size_t n);
int whisper_blas_setup(const void *ctx, const sono_params *p, void **st, sono_error *err);
int whisper_blas_load(void *st, const sono_buf *in, sono_error *err);
int whisper_blas_run(void *st);
int whisper_blas_store(void *st, sono_buf *out, sono_error *err);
void whisper_blas_teardown(void *st);
int whisper_blas_describe(void *st, char *buf, size_t n);
size_t whisper_blas_workspace(void *st);
/* issue 23: w2v_gemm.c (wav2vec2.features), relpos_gemm.c (attention.relpos) */
int w2v_gemm_supports(const void *ctx, const sono_params *p, char *why, size_t n);
int w2v_gemm_setup(const void *ctx, const sono_params *p, void **st, sono_error *err);
int w2v_gemm_load(void *st, const sono_buf *in, sono_error *err);
int w2v_gemm_run(void *st);
int w2v_gemm_store(void *st, sono_buf *out, sono_error *err);
void w2v_gemm_teardown(void *st);
int w2v_gemm_describe(void *st, char *buf, size_t n);
size_t w2v_gemm_workspace(void *st);
int relpos_gemm_supports(const void *ctx, const sono_params *p, char *why, size_t n);
int relpos_gemm_setup(const void *ctx, const sono_params *p, void **st, sono_error *err);
int relpos_gemm_load(void *st, const sono_buf *in, sono_error *err);
int relpos_gemm_run(void *st);
int relpos_gemm_store(void *st, sono_buf *out, sono_error *err);
void relpos_gemm_teardown(void *st);
int relpos_gemm_describe(void *st, char *buf, size_t n);
size_t relpos_gemm_workspace(void *st);

/* issue 25: wavenet_blas.c and hifigan_blas.c, blas/wavenet and blas/hifigan (both stream) */
#define BLAS_STREAM_DECL(pre)                                                            \
    int pre##_supports(const void *ctx, const sono_params *p, char *why, size_t n);      \
    int pre##_setup(const void *ctx, const sono_params *p, void **st, sono_error *err);  \
    int pre##_load(void *st, const sono_buf *in, sono_error *err);                       \
    int pre##_run(void *st);                                                             \
    int pre##_store(void *st, sono_buf *out, sono_error *err);                           \
    void pre##_teardown(void *st);                                                       \
    size_t pre##_workspace(void *st);                                                    \
    int pre##_describe(void *st, char *buf, size_t n);                                   \
    int pre##_stream_begin(void *st, sono_error *err);                                   \
    int pre##_push(void *st, long long t0, long long n, int last, sono_buf *out,          \
                   long long *done, sono_error *err);
BLAS_STREAM_DECL(wavenet_blas)
BLAS_STREAM_DECL(hifigan_blas)
/* issue 24: mimi_blas.c, blas/mimi for codec.mimi */
int mimi_blas_supports(const void *ctx, const sono_params *p, char *why, size_t n);
int mimi_blas_setup(const void *ctx, const sono_params *p, void **st, sono_error *err);
int mimi_blas_load(void *st, const sono_buf *in, sono_error *err);
int mimi_blas_run(void *st);
int mimi_blas_store(void *st, sono_buf *out, sono_error *err);
void mimi_blas_teardown(void *st);
int mimi_blas_describe(void *st, char *buf, size_t n);
size_t mimi_blas_workspace(void *st);

#endif
