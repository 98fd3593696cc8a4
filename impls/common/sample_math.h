/* sample_math.h — the arithmetic of token sampling that the host (impls/common/sample_cpu.c)
 * and the cuda kernel (impls/cuda/sample_kernels.cu) share, so both draw the same token for
 * the same seed: an expf through explicit fmaf (no libm's or the device's own, whose last
 * bits differ), the order of classes (logit descending, index ascending), the radix select's
 * key and step, the bitonic network's compare-exchange, and the walk over the sorted top
 * classes with its sequential float32 sums. Compiled by cc and by nvcc; tested on the host
 * by tests/test_cuda_math_sample.c. */
#ifndef IMPLS_SAMPLE_MATH_H
#define IMPLS_SAMPLE_MATH_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#ifdef __CUDACC__
#define SM_HD __host__ __device__ static inline
#else
#define SM_HD static inline
#endif

typedef struct sm_pair {
    float l;
    int32_t i;
} sm_pair;

/* e^x for x <= 0 (the weights' arguments): x = n ln2 + r, |r| <= ln2 / 2, a degree-7
 * Taylor polynomial in r by Horner's rule in fmaf, times 2^n. Within 2 ulp of e^x; 0 below
 * -103 (under float's smallest subnormal). Every operation is one IEEE rounding the host
 * and the device make alike; nothing here may be contracted differently. */
SM_HD float sm_expf(float x)
{
    if (x < -103.0f)
        return 0.0f;
    float n = rintf(x * 1.44269504088896341f);
    float r = fmaf(n, -0.693145751953125f, x);
    r = fmaf(n, -1.428606765330187045e-06f, r);
    float p = 1.9841269841e-4f; /* 1/5040 */
    p = fmaf(p, r, 1.3888888889e-3f);
    p = fmaf(p, r, 8.3333333333e-3f);
    p = fmaf(p, r, 4.1666666667e-2f);
    p = fmaf(p, r, 1.6666666667e-1f);
    p = fmaf(p, r, 0.5f);
    p = fmaf(p, r, 1.0f);
    p = fmaf(p, r, 1.0f);
    return ldexpf(p, (int)n);
}

/* Whether a comes before b: the larger logit, equal logits by the lower index. */
SM_HD int sm_before(sm_pair a, sm_pair b)
{
    return a.l > b.l || (a.l == b.l && a.i < b.i);
}

/* A float as an unsigned key of the same order (-inf lowest; logits are finite). */
SM_HD uint32_t sm_key(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

/* One step of the MSB-first radix select of the k-th largest key: thr holds the bits
 * decided so far, count how many keys are >= thr | bit; keep the bit when at least k are.
 * After the 32 steps (bit 31 down to 0) thr is the k-th largest key. */
SM_HD uint32_t sm_select_step(uint32_t thr, uint32_t bit, long long count, long long k)
{
    return count >= k ? thr | bit : thr;
}

/* The bitonic network's compare-exchange of element i at stage (size k, distance j) over
 * a[n] (n a power of two): afterwards a[0..n) is in sm_before order. */
SM_HD void sm_bitonic_step(sm_pair *a, unsigned i, unsigned j, unsigned k)
{
    unsigned p = i ^ j;
    if (p <= i)
        return;
    int up = (i & k) == 0;
    if (up ? sm_before(a[p], a[i]) : sm_before(a[i], a[p])) {
        sm_pair t = a[i];
        a[i] = a[p];
        a[p] = t;
    }
}

/* The token of the first m classes in order (a[0] the largest logit): weights
 * sm_expf((l - l_max) / temp) into w, the top-p cut and the draw for u by sequential sums
 * (harness/ops/ref/sample64.h's rule). */
SM_HD int32_t sm_walk(const sm_pair *a, long long m, float temp, float top_p, float u,
                      float *w)
{
    float mx = a[0].l, s = 0;
    for (long long r = 0; r < m; r++) {
        w[r] = sm_expf((a[r].l - mx) / temp);
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
            return a[r].i;
    }
    return a[m - 1].i;
}

#endif
