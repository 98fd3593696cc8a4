/* delay64.c — codes.delay's reference (delay64.h): every output position asks which input
 * position it reads, so it shares no loop structure with an impl's row copies. */
#include <stdio.h>

#include "delay64.h"

void sono_delay64(const int32_t *x, long long B, long long K, long long T, int undelay,
                  int32_t pad, int32_t *y)
{
    long long S = T + K - 1, tin = undelay ? S : T, tout = undelay ? T : S;
    for (long long b = 0; b < B; b++)
        for (long long k = 0; k < K; k++)
            for (long long s = 0; s < tout; s++) {
                long long src = undelay ? s + k : s - k;
                y[(b * K + k) * tout + s] =
                    src >= 0 && src < tin ? x[(b * K + k) * tin + src] : pad;
            }
}

void sono_delay64_check(const int32_t *out, const int32_t *ref, long long n, sono_check *c)
{
    long long mism = 0, first = -1;
    for (long long i = 0; i < n; i++)
        if (out[i] != ref[i]) {
            if (first < 0)
                first = i;
            mism++;
        }
    c->mismatches = mism;
    c->has_mismatches = 1;
    c->rel_l2 = mism ? 1 : 0;
    c->max_abs = (double)mism;
    c->pass = mism == 0;
    if (mism)
        snprintf(c->detail, sizeof c->detail, "%lld of %lld codes differ (first at %lld: %d, "
                 "reference %d)", mism, n, first, out[first], ref[first]);
    else
        snprintf(c->detail, sizeof c->detail, "all %lld codes equal the reference", n);
}
