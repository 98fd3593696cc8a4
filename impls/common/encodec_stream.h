/* encodec_stream.h — codec.encodec in streaming mode (issue 12) for the impls built on
 * encodec_net: the encoder and decoder walked layer by layer on each round of new steps,
 * every layer keeping only the state later steps need (its input's recent history, the
 * LSTM's h and c), the RVQ per frame. The arithmetic is the impl's own kernels on windows
 * of that history, so cpu/naive's stream equals its offline output bit for bit. */
#ifndef IMPLS_ENCODEC_STREAM_H
#define IMPLS_ENCODEC_STREAM_H

#include "encodec_net.h"

/* A new stream (the state allocated on the first call, untimed); load has bound the input. */
int en_stream_begin(en_net *net, sono_error *err);
/* sono_impl.push: input steps [t0, t0 + n) (samples, or decode's frames), every output step
 * complete now written into out; last flushes the end. */
int en_stream_push(en_net *net, long long t0, long long n, int last, sono_buf *out,
                   long long *done, sono_error *err);
void en_stream_free(en_net *net);
/* Bytes the stream's state holds (0 before the first stream). */
size_t en_stream_bytes(const en_net *net);

#endif
