/* sample_cpu.c — the host's float32 sampler (sample_cpu.h): qsort of the row, expf weights,
 * sequential sums for the top-p cut and the draw. */
#include <math.h>
#include <stdlib.h>

#include "sample_cpu.h"

static int by_logit(const void *a, const void *b)
{
    const sample_pair *x = a, *y = b;
    if (x->l != y->l)
        return x->l > y->l ? -1 : 1;
    return (x->i > y->i) - (x->i < y->i);
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
    long long m = k > 0 && k < V ? k : V;
    float mx = pairs[0].l, s = 0;
    for (long long r = 0; r < m; r++) {
        w[r] = expf((pairs[r].l - mx) / temp);
        s += w[r];
    }
    if (top_p < 1) {
        float need = top_p * s, c = 0;
        for (long long r = 0; r < m; r++) {
            c += w[r];
            if (c >= need) {
                m = r + 1;
                s = c;
                break;
            }
        }
    }
    float target = u * s, c = 0;
    for (long long r = 0; r < m; r++) {
        c += w[r];
        if (c > target)
            return pairs[r].i;
    }
    return pairs[m - 1].i;
}
