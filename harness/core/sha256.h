/* sha256.h — SHA-256 (FIPS 180-4), for the input hashes that prove two runs measured the
 * same data and for the suite file's hash in the results. */
#ifndef SONO_SHA256_H
#define SONO_SHA256_H

#include <stddef.h>
#include <stdint.h>

typedef struct sono_sha256 {
    uint32_t h[8];
    uint64_t len;
    unsigned char buf[64];
    size_t used;
} sono_sha256;

void sono_sha256_init(sono_sha256 *c);
void sono_sha256_update(sono_sha256 *c, const void *data, size_t n);
void sono_sha256_final(sono_sha256 *c, unsigned char out[32]);
/* One-shot, as 64 lowercase hex digits plus NUL. */
void sono_sha256_hex(const void *data, size_t n, char hex[65]);

#endif
