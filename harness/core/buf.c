/* buf.c — host buffers the core owns: 64-byte aligned (what AVX-512 loads and FFTW's
 * SIMD paths want), sized from dtype and shape, hashed for the record. */
#include "buf.h"

#include <stdlib.h>

#include "sha256.h"

int sono_buf_alloc(sono_buf *b, sono_error *err)
{
    size_t n = (size_t)sono_buf_elems(b) * sono_dtype_size(b->dtype);
    size_t padded = (n + 63) / 64 * 64;
    b->data = aligned_alloc(64, padded ? padded : 64);
    b->nbytes = n;
    if (!b->data)
        return sono_fail(err, SONO_ENOMEM, "no memory for a buffer of %zu bytes", n);
    return 0;
}

void sono_buf_free(sono_buf *b)
{
    free(b->data);
    b->data = NULL;
}

void sono_buf_sha256(const sono_buf *b, char hex[65])
{
    sono_sha256_hex(b->data, b->nbytes, hex);
}
