/* buf.c — host buffers the core owns: 64-byte aligned (what AVX-512 loads and FFTW's
 * SIMD paths want), sized from dtype and shape, hashed for the record; optionally placed at
 * a random 64-byte offset within a page (issue 22), so repetitions see different layouts. */
#include "buf.h"

#include <stdint.h>
#include <stdlib.h>

#include "sha256.h"

/* Randomised buffers, data -> the block to free: few are alive at once (a case's input,
 * reference and outputs), so a small table beats a header a stray free() would misread. */
enum { MAX_LIVE = 64 };
static struct {
    void *data, *base;
} live[MAX_LIVE];
static uint64_t layout_state; /* 0: plain aligned_alloc */

void sono_buf_random_layout(unsigned long long seed)
{
    layout_state = seed ? seed | 1 : 0;
}

/* xorshift64*: any spread of offsets will do, it need not be good randomness */
static unsigned next_offset(void)
{
    layout_state ^= layout_state >> 12;
    layout_state ^= layout_state << 25;
    layout_state ^= layout_state >> 27;
    return (unsigned)((layout_state * 2685821657736338717ULL) >> 58); /* 0..63 */
}

int sono_buf_alloc(sono_buf *b, sono_error *err)
{
    size_t n = (size_t)sono_buf_elems(b) * sono_dtype_size(b->dtype);
    size_t padded = (n + 63) / 64 * 64;
    b->nbytes = n;
    int slot = -1;
    for (int i = 0; layout_state && i < MAX_LIVE && slot < 0; i++)
        if (!live[i].data)
            slot = i;
    if (slot < 0) { /* not randomising, or the table is full: the plain layout */
        b->data = aligned_alloc(64, padded ? padded : 64);
        if (!b->data)
            return sono_fail(err, SONO_ENOMEM, "no memory for a buffer of %zu bytes", n);
        return 0;
    }
    /* one page of slack: the data starts at one of 64 cache-line offsets in it, which
     * moves it against 4K aliasing and the page boundaries between repetitions */
    void *base = aligned_alloc(64, padded + 4096);
    if (!base)
        return sono_fail(err, SONO_ENOMEM, "no memory for a buffer of %zu bytes", n);
    b->data = (char *)base + 64 * (size_t)next_offset();
    live[slot].data = b->data;
    live[slot].base = base;
    return 0;
}

void sono_buf_free(sono_buf *b)
{
    void *p = b->data;
    for (int i = 0; p && i < MAX_LIVE; i++)
        if (live[i].data == p) {
            p = live[i].base;
            live[i].data = live[i].base = NULL;
            break;
        }
    free(p);
    b->data = NULL;
}

void sono_buf_sha256(const sono_buf *b, char hex[65])
{
    sono_sha256_hex(b->data, b->nbytes, hex);
}
