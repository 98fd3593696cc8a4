/* encodec_blas.h — blas/encodec's entry points for openblas.c's impl table. */
#ifndef IMPLS_ENCODEC_BLAS_H
#define IMPLS_ENCODEC_BLAS_H

#include "sono.h"

int encodec_blas_supports(const void *ctx, const sono_params *p, char *why, size_t n);
int encodec_blas_setup(const void *ctx, const sono_params *p, void **st, sono_error *err);
int encodec_blas_load(void *st, const sono_buf *in, sono_error *err);
int encodec_blas_run(void *st);
int encodec_blas_store(void *st, sono_buf *out, sono_error *err);
void encodec_blas_teardown(void *st);
int encodec_blas_describe(void *st, char *buf, size_t n);
size_t encodec_blas_workspace(void *st);
/* issue 12: streaming (impls/common/encodec_stream.c) */
int encodec_blas_stream_begin(void *st, sono_error *err);
int encodec_blas_push(void *st, long long t0, long long n, int last, sono_buf *out,
                      long long *done, sono_error *err);

#endif
