/* sample_cpu.h — the float32 sampling rule of sample.topk and maskgit.* on the host
 * (harness/ops/ref/sample64.h defines it): the row's (logit, index) pairs sorted by qsort in
 * sample_math.h's order, then sample_math.h's walk (its expf and sums), so the tokens equal
 * the cuda kernel's. Shared by the cpu and blas impls. */
#ifndef IMPLS_SAMPLE_CPU_H
#define IMPLS_SAMPLE_CPU_H

#include <stdint.h>

#include "sample_math.h"

typedef sm_pair sample_pair;

/* Scratch for rows of V classes: pairs [V], weights [V]. temp 0 or k 1: the argmax (no
 * scratch used); k <= 0 or > V: all V. */
int32_t sample_cpu_row(const float *l, long long V, float temp, long long k, float top_p,
                       float u, sample_pair *pairs, float *w);

#endif
