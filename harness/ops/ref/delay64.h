/* delay64.h — the reference of codes.delay: MusicGen's delay pattern as an index map
 * written per output position, and the exact check of an impl's codes. */
#ifndef SONO_DELAY64_H
#define SONO_DELAY64_H

#include <stdint.h>

#include "check.h"

/* delay: x [B, K, T] -> y [B, K, T + K - 1], y[b, k, s] = x[b, k, s - k] where 0 <= s - k < T,
 * else pad. undelay: x [B, K, T + K - 1] -> y [B, K, T], y[b, k, t] = x[b, k, t + k]. */
void sono_delay64(const int32_t *x, long long B, long long K, long long T, int undelay,
                  int32_t pad, int32_t *y);

/* Exact: pass when out equals ref everywhere; mismatches counted, the first named. */
void sono_delay64_check(const int32_t *out, const int32_t *ref, long long n, sono_check *c);

#endif
