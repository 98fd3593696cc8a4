/* tok_math.h — the index maps and orders of tok_kernels.cu, compiled by nvcc and by cc for
 * tests/test_cuda_math_sample.c: which input code an output code of codes.delay reads, and
 * MaskGIT's confidence order with its bitonic compare-exchange. */
#ifndef IMPLS_CUDA_TOK_MATH_H
#define IMPLS_CUDA_TOK_MATH_H

#include <math.h>

#include "../common/sample_math.h"

#ifdef __CUDACC__
#define TOK_HD __host__ __device__ static inline
#else
#define TOK_HD static inline
#endif

/* Output code o of [B, K, Tout] (Tout = T + K - 1 for delay, T for undelay): the input
 * index it copies, or -1 for the pad. Input rows are T (delay) or T + K - 1 (undelay). */
TOK_HD long long gen_delay_src(long long o, int K, int T, int undelay)
{
    long long S = (long long)T + K - 1, tout = undelay ? T : S, tin = undelay ? S : T;
    long long row = o / tout, s = o % tout, k = row % K;
    long long src = undelay ? s + k : s - k;
    return src >= 0 && src < tin ? row * tin + src : -1;
}

/* MaskGIT's re-masking order, for the confidence sort (pairs as impls/common/
 * sample_math.h's sm_pair: .l the confidence, .i the frame): the less confident first,
 * the lower frame on ties (harness/ops/ref/maskgit64.h). */
#define MG_MASK_TOKEN (-1)

TOK_HD int mg_conf_before(sm_pair a, sm_pair b)
{
    return a.l < b.l || (a.l == b.l && a.i < b.i);
}

TOK_HD void mg_conf_bitonic_step(sm_pair *a, unsigned i, unsigned j, unsigned k)
{
    unsigned p = i ^ j;
    if (p <= i)
        return;
    int up = (i & k) == 0;
    if (up ? mg_conf_before(a[p], a[i]) : mg_conf_before(a[i], a[p])) {
        sm_pair t = a[i];
        a[i] = a[p];
        a[p] = t;
    }
}

/* floor(F cos(pi/2 (t+1)/iters)) clamped to [0, masked - 1] (host side, in double). */
static inline long long mg_gpu_nmask(long long F, long long masked, long long t,
                                     long long iters)
{
    long long n = (long long)floor((double)F * cos(1.57079632679489661923132169163975144 *
                                                   (double)(t + 1) / (double)iters));
    if (n > masked - 1)
        n = masked - 1;
    return n < 0 ? 0 : n;
}

#endif
