/* mimi_stream.h — codec.mimi in streaming mode for the impls built on mimi_net: the encoder
 * and decoder walked stage by stage on each push's new columns, every conv keeping only
 * the padded input history its next outputs read, each transposed conv the inputs that
 * still overlap, each transformer layer a KV cache of the last `window` positions (RoPE at
 * absolute positions), the RVQ per frame. The arithmetic is the impl's own kernels on
 * windows of that history (and the row-wise transformer pieces of mimi_net.c), so
 * cpu/naive's stream equals its offline output bit for bit. */
#ifndef IMPLS_MIMI_STREAM_H
#define IMPLS_MIMI_STREAM_H

#include "mimi_net.h"

typedef struct mn_stream mn_stream;

/* A new stream on st (the state allocated on the first call, reset on later ones). */
int mn_stream_begin(mn_state *st, mn_stream **s, sono_error *err);
/* sono_impl.push: input steps [t0, t0 + n) (samples, or decode's frames). */
int mn_stream_push(mn_stream *s, long long t0, long long n, int last, sono_buf *out,
                   long long *done, sono_error *err);
void mn_stream_free(mn_stream *s);
/* Bytes the stream's state holds now. */
size_t mn_stream_bytes(const mn_stream *s);

#endif
