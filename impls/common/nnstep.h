/* nnstep.h — attention.step (one decode step against a KV cache) as its impls read it:
 * checked sizes, the ring cache every impl holds, the line describe() writes. */
#ifndef NNSTEP_H
#define NNSTEP_H

#include <stddef.h>

#include "sono.h"

typedef struct nn_step {
    size_t heads, d, len; /* len: L, the tokens cached; the new one is token L */
    size_t first, nk;     /* the first key the query sees, how many (with its own) */
    size_t cap;           /* ring slots per head: token j lives in slot j % cap */
    size_t nin;           /* floats of the packed input */
} nn_step;

/* 0, or SONO_EUNSUPPORTED with the reason in why. */
int nn_step_shape(const sono_params *p, int threads_max, nn_step *a, char *why, size_t n);
/* The cached tokens the step sees from the packed input into kc, vc [heads, cap, d]. */
void nn_step_fill(const nn_step *a, const float *in, float *kc, float *vc);
int nn_step_describe(const nn_step *a, char *buf, size_t n);

#endif
