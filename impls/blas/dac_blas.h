/* dac_blas.h — blas/dac's entry points for openblas.c's impl table (issue 24). */
#ifndef IMPLS_DAC_BLAS_H
#define IMPLS_DAC_BLAS_H

#include "sono.h"

int dac_blas_supports(const void *ctx, const sono_params *p, char *why, size_t n);
int dac_blas_setup(const void *ctx, const sono_params *p, void **st, sono_error *err);
int dac_blas_load(void *st, const sono_buf *in, sono_error *err);
int dac_blas_run(void *st);
int dac_blas_store(void *st, sono_buf *out, sono_error *err);
void dac_blas_teardown(void *st);
int dac_blas_describe(void *st, char *buf, size_t n);
size_t dac_blas_workspace(void *st);

#endif
