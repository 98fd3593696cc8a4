/* philox.h — Philox4x32-10 (Salmon et al., SC'11), the counter-based RNG the sampling impls
 * (sample.topk, maskgit.*, vq.ste's restarts) draw with on CPU and GPU alike: a pure
 * function of (counter, key), so a token's draw does not depend on which thread makes it.
 * Compiled by cc and by nvcc (__host__ __device__); integer-only, identical everywhere. */
#ifndef SONO_PHILOX_H
#define SONO_PHILOX_H

#include <stdint.h>

#ifdef __CUDACC__
#define PHILOX_HD __host__ __device__ static inline
#else
#define PHILOX_HD static inline
#endif

PHILOX_HD void philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4])
{
    uint32_t c0 = ctr[0], c1 = ctr[1], c2 = ctr[2], c3 = ctr[3];
    uint32_t k0 = key[0], k1 = key[1];
    for (int r = 0; r < 10; r++) {
        uint64_t p0 = (uint64_t)0xD2511F53u * c0, p1 = (uint64_t)0xCD9E8D57u * c2;
        uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0, n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
        c1 = (uint32_t)p1;
        c3 = (uint32_t)p0;
        c0 = n0;
        c2 = n2;
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
    }
    out[0] = c0;
    out[1] = c1;
    out[2] = c2;
    out[3] = c3;
}

/* The draw of the ops: key = the seed's two halves, counter = (a, b, c, 0); the first word's
 * top 24 bits as a float in [0, 1), exact in float32 and in double, so an impl's u and the
 * reference's are the same number. */
PHILOX_HD float philox_u24(uint64_t seed, uint32_t a, uint32_t b, uint32_t c)
{
    uint32_t ctr[4] = {a, b, c, 0}, key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)}, o[4];
    philox4x32_10(ctr, key, o);
    return (float)(o[0] >> 8) * 0x1p-24f;
}

/* The full first word, for choices among n items (o[0] % n: the bias n / 2^32 does not
 * matter to a restart's pick, and the reference makes the same choice). */
PHILOX_HD uint32_t philox_u32(uint64_t seed, uint32_t a, uint32_t b, uint32_t c)
{
    uint32_t ctr[4] = {a, b, c, 0}, key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)}, o[4];
    philox4x32_10(ctr, key, o);
    return o[0];
}

#endif
