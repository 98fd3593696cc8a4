/* ctc_math.h — the arithmetic of the cuda CTC decoders (ctc_kernels.cu), compiled by nvcc
 * for the device and by cc for tests/test_cuda_math_ctc.c: log-sum-exp, the prefix beam
 * search's masses for a kept prefix and an extension, a prefix's hash (identity of a
 * label sequence without storing it), float keys that order as unsigned integers (for the
 * radix select of the best labels and the kept candidates), and that select's step. */
#ifndef IMPLS_CUDA_CTC_MATH_H
#define IMPLS_CUDA_CTC_MATH_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#ifdef __CUDACC__
#define CTC_HD __host__ __device__ static inline
#else
#define CTC_HD static inline
#endif

#define CTC_ROOT_HASH 0x12345ull /* the empty prefix */
#define CTC_NO_PARENT 0ull      /* the root's parent hash: no prefix hashes to it */

/* log(e^a + e^b); either may be -inf. */
CTC_HD float ctc_lse(float a, float b)
{
    if (a == -INFINITY)
        return b;
    if (b == -INFINITY)
        return a;
    float m = a > b ? a : b;
    return m + log1pf(expf(-fabsf(a - b)));
}

/* The hash of prefix-with-hash-h extended by label c (splitmix-style mixing: 64 bits, so
 * two different prefixes of one search collide with probability ~ n^2 / 2^64). Never 0
 * (CTC_NO_PARENT) or the root's. */
CTC_HD uint64_t ctc_hash_ext(uint64_t h, int32_t c)
{
    uint64_t z = h + 0x9e3779b97f4a7c15ull * ((uint64_t)(uint32_t)c + 1);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return z == CTC_NO_PARENT || z == CTC_ROOT_HASH ? z + 2 : z;
}

/* A kept prefix (pb, pnb, its last label's lp `lpl`, or none: has_last 0) after a frame
 * whose blank has lp0: blank ends it (pb'), its last label repeated continues it (pnb'). */
CTC_HD void ctc_stay(float pb, float pnb, float lp0, int has_last, float lpl, float *pb2,
                     float *pnb2)
{
    *pb2 = ctc_lse(pb, pnb) + lp0;
    *pnb2 = has_last ? pnb + lpl : -INFINITY;
}

/* The mass prefix (pb, pnb) adds to prefix + c at a frame where c has lp `lpc`: a label
 * equal to the prefix's last needs a blank between (pb only). */
CTC_HD float ctc_ext(float pb, float pnb, int same_as_last, float lpc)
{
    return (same_as_last ? pb : ctc_lse(pb, pnb)) + lpc;
}

/* A float as an unsigned key of the same order (-inf lowest; NaN above +inf, never used:
 * inputs are finite log-probabilities or -inf). */
CTC_HD uint32_t ctc_key(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

/* One step of the MSB-first radix select of the k-th largest key: thr holds the bits
 * decided so far, `count` how many keys are >= thr | bit; keep the bit when at least k
 * are. After the 32 steps thr is the k-th largest key (k <= n). */
CTC_HD uint32_t ctc_select_step(uint32_t thr, uint32_t bit, long long count, long long k)
{
    return count >= k ? thr | bit : thr;
}

#endif
