/* ctc_gen.c — synthetic CTC posteriors with a planted label sequence (ctc_gen.h): the
 * alignment and the logit noise come from two xoshiro streams seeded from (seed, b), so
 * the labels can be drawn again without the T x V logits. */
#include "ctc_gen.h"

#include <math.h>
#include <stdlib.h>

#include "prng.h"

sono_ctc_dims sono_ctc_get(const sono_params *p)
{
    double s = sono_param_real(p, "seconds", 10);
    long long T = llround(s * SONO_CTC_FPS);
    return (sono_ctc_dims){.T = T < 1 ? 1 : T, .V = sono_param_int(p, "V", 32),
                           .B = sono_param_int(p, "batch", 1),
                           .peak = sono_param_real(p, "peak", 8),
                           .seed = (unsigned long long)sono_param_int(p, "seed", 1),
                           .beam = (int)sono_param_int(p, "beam", 1),
                           .prune = sono_param_real(p, "prune", 0)};
}

static double uniform(uint64_t s[4])
{
    return (double)(sono_xoshiro_next(s) >> 11) * 0x1p-53;
}

int sono_ctc_generate(const sono_ctc_dims *d, long long b, float *lp, int32_t *labels,
                      long long *L, sono_error *err)
{
    uint64_t sa[4], sn[4];
    unsigned long long base = d->seed * 0x9e3779b97f4a7c15ull + (unsigned long long)b;
    sono_xoshiro_seed(sa, base);
    sono_xoshiro_seed(sn, base ^ 0xd1b54a32d192ed03ull);
    long long T = d->T, V = d->V, t = 0, n = 0;
    int32_t prev = -1;
    int32_t *target = lp ? malloc((size_t)T * sizeof *target) : NULL;
    double *z = lp ? malloc((size_t)V * sizeof *z) : NULL;
    if (lp && (!target || !z)) {
        free(target);
        free(z);
        return sono_fail(err, SONO_ENOMEM, "ctc: cannot allocate T=%lld, V=%lld", T, V);
    }
    while (t < T) {
        int32_t c = (int32_t)(1 + sono_xoshiro_next(sa) % (uint64_t)(V - 1));
        long long blanks = (long long)(sono_xoshiro_next(sa) % 4);
        if (c == prev && blanks < 1)
            blanks = 1; /* CTC needs a blank between equal labels */
        for (long long k = 0; k < blanks && t < T; k++, t++)
            if (target)
                target[t] = 0;
        if (t >= T)
            break;
        long long run = 1 + (long long)(sono_xoshiro_next(sa) % 3);
        for (long long k = 0; k < run && t < T; k++, t++)
            if (target)
                target[t] = c;
        labels[n++] = c;
        prev = c;
    }
    *L = n;
    if (!lp)
        return 0;
    for (long long f = 0; f < T; f++) {
        double m = -INFINITY, sum = 0;
        for (long long v = 0; v < V; v++) {
            z[v] = uniform(sn) + (v == target[f] ? d->peak : 0.0);
            m = z[v] > m ? z[v] : m;
        }
        for (long long v = 0; v < V; v++)
            sum += exp(z[v] - m);
        double lse = m + log(sum);
        for (long long v = 0; v < V; v++)
            lp[f * V + v] = (float)(z[v] - lse);
    }
    free(z);
    free(target);
    return 0;
}
