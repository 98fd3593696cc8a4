/* nnrand.h — the seeded numbers of the layer ops (conv1d weights, attention's Q, K, V):
 * splitmix64, integer-only, so a seed gives the same operands on every machine and build,
 * and each value is exact in float32 before any scaling. */
#ifndef SONO_NNRAND_H
#define SONO_NNRAND_H

#include <math.h>
#include <stdint.h>

static inline uint64_t sono_nn_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Uniform in [lo, hi) from the top 24 bits of a draw. */
static inline double sono_nn_uniform(uint64_t *s, double lo, double hi)
{
    return lo + (hi - lo) * (double)(sono_nn_next(s) >> 40) * 0x1p-24;
}

/* Standard normal by Box-Muller (one of the pair), u1 in (0, 1]. */
static inline double sono_nn_normal(uint64_t *s)
{
    double u1 = (double)((sono_nn_next(s) >> 11) + 1) * 0x1p-53;
    double u2 = (double)(sono_nn_next(s) >> 11) * 0x1p-53;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586476925286766559 * u2);
}

#endif
