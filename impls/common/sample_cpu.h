/* sample_cpu.h — the float32 sampling rule of sample.topk and maskgit.* on the host
 * (harness/ops/ref/sample64.h defines it): the row's (logit, index) pairs sorted (largest
 * first, equal logits by index), weights expf((l - l_max) / T) over the top k, the top-p cut
 * and the draw by sequential running sums. Shared by the cpu and blas impls. */
#ifndef IMPLS_SAMPLE_CPU_H
#define IMPLS_SAMPLE_CPU_H

#include <stdint.h>

typedef struct sample_pair {
    float l;
    int32_t i;
} sample_pair;

/* Scratch for rows of V classes: pairs [V], weights [V]. temp 0 or k 1: the argmax (no
 * scratch used); k <= 0 or > V: all V. */
int32_t sample_cpu_row(const float *l, long long V, float temp, long long k, float top_p,
                       float u, sample_pair *pairs, float *w);

#endif
