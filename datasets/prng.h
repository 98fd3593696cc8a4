/* prng.h — the integer PRNG behind the seeded generators (noise, pink): splitmix64 seeds
 * xoshiro256**, so the same seed gives the same bits on every machine and build. Internal
 * to datasets/. */
#ifndef SONO_DATASETS_PRNG_H
#define SONO_DATASETS_PRNG_H

#include <stdint.h>

static inline uint64_t sono_splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static inline uint64_t sono_rotl64(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

/* xoshiro256** (Blackman & Vigna): integer-only, so identical everywhere. */
static inline uint64_t sono_xoshiro_next(uint64_t s[4])
{
    uint64_t r = sono_rotl64(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = sono_rotl64(s[3], 45);
    return r;
}

static inline void sono_xoshiro_seed(uint64_t s[4], unsigned long long seed)
{
    uint64_t sm = seed;
    for (int i = 0; i < 4; i++)
        s[i] = sono_splitmix64(&sm);
}

/* A uniform integer in [-2^23, 2^23): the top 24 bits of a draw. */
static inline int32_t sono_draw24(uint64_t s[4])
{
    return (int32_t)(sono_xoshiro_next(s) >> 40) - (1 << 23);
}

#endif
