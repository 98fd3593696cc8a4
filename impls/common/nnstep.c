/* nnstep.c — attention.step as its impls read it: params into checked sizes, the ring
 * KV cache filled from the packed cache, the describe line. The contract is
 * harness/ops/attention_step.c's opening comment; nothing here is shared with it. */
#include <stdio.h>

#include "nnstep.h"

int nn_step_shape(const sono_params *p, int threads_max, nn_step *a, char *why, size_t n)
{
    static const char *const need[] = {"heads", "head_dim", "cache_len"};
    for (int i = 0; i < 3; i++)
        if (!sono_param_find(p, need[i])) {
            snprintf(why, n, "parameter %s is missing", need[i]);
            return SONO_EUNSUPPORTED;
        }
    long long t = sono_param_int(p, "threads", 1), h = sono_param_int(p, "heads", 8),
              d = sono_param_int(p, "head_dim", 64), len = sono_param_int(p, "cache_len", 512),
              w = sono_param_int(p, "window", 0);
    if (t < 1 || t > threads_max) {
        snprintf(why, n, "threads=%lld: this impl runs 1..%d", t, threads_max);
        return SONO_EUNSUPPORTED;
    }
    if (h < 1 || h > 4096 || d < 1 || d > 4096 || len < 0 || len > (1 << 24) || w < 0) {
        snprintf(why, n, "heads=%lld, head_dim=%lld, cache_len=%lld, window=%lld out of range",
                 h, d, len, w);
        return SONO_EUNSUPPORTED;
    }
    a->heads = (size_t)h, a->d = (size_t)d, a->len = (size_t)len;
    a->first = w > 0 && len + 1 > w ? (size_t)(len + 1 - w) : 0;
    a->nk = a->len + 1 - a->first;
    a->cap = a->nk; /* the ring holds exactly what a step sees */
    a->nin = 2 * a->heads * a->len * a->d + 3 * a->heads * a->d;
    return 0;
}

/* The cached tokens the step sees, each into its ring slot j % cap, as a stream that
 * reached token L would hold them. */
void nn_step_fill(const nn_step *a, const float *in, float *kc, float *vc)
{
    const float *Kc = in, *Vc = in + a->heads * a->len * a->d;
    for (size_t h = 0; h < a->heads; h++)
        for (size_t j = a->first; j < a->len; j++) {
            size_t src = (h * a->len + j) * a->d, dst = (h * a->cap + j % a->cap) * a->d;
            memcpy(kc + dst, Kc + src, a->d * sizeof(float));
            memcpy(vc + dst, Vc + src, a->d * sizeof(float));
        }
}

int nn_step_describe(const nn_step *a, char *buf, size_t n)
{
    snprintf(buf, n, "KV cache %zu tokens x %zu heads x %zu, %zu bytes; attends to %zu keys",
             a->cap, a->heads, a->d, 2 * a->heads * a->cap * a->d * sizeof(float), a->nk);
    return 0;
}

