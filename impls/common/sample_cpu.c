/* sample_cpu.c — the host's float32 sampler (sample_cpu.h): qsort of the row in
 * sample_math.h's order, then its walk. */
#include <stdlib.h>

#include "sample_cpu.h"

static int by_logit(const void *a, const void *b)
{
    const sample_pair *x = a, *y = b;
    return sm_before(*x, *y) ? -1 : sm_before(*y, *x) ? 1 : 0;
}

int32_t sample_cpu_row(const float *l, long long V, float temp, long long k, float top_p,
                       float u, sample_pair *pairs, float *w)
{
    if (temp == 0 || k == 1) {
        long long b = 0;
        for (long long v = 1; v < V; v++)
            if (l[v] > l[b])
                b = v;
        return (int32_t)b;
    }
    for (long long v = 0; v < V; v++)
        pairs[v] = (sample_pair){l[v], (int32_t)v};
    qsort(pairs, (size_t)V, sizeof *pairs, by_logit);
    return sm_walk(pairs, k > 0 && k < V ? k : V, temp, top_p, u, w);
}
