/* convstream.h — streaming for conv1d impls (issue 12): the state of one layer between
 * chunks, a history of the input steps later outputs still need ((kernel - 1) * dilation
 * of them for a stride-1 conv, never the whole signal), and the rule of which output steps
 * a chunk completes. The arithmetic is the impl's: a kernel callback computes a run of
 * output steps from the history, so a streamed step is computed as the impl's offline one. */
#ifndef CONVSTREAM_H
#define CONVSTREAM_H

#include "nnshape.h"

/* Output steps [u0, u0 + nu) of every channel, bias included (not the activation), into
 * y[co * ldy + u - u0]. Input step t (conv: of x padded with c->pad zeros in front;
 * transposed: of x) is h[ci * ld + t - base]; the history holds every step they need. */
typedef void (*nn_cstream_kernel)(void *ctx, const float *h, size_t ld, size_t base,
                                  size_t u0, size_t nu, float *y, size_t ldy);

typedef struct nn_cstream {
    nn_conv c;
    size_t block;     /* most input steps taken per round: bounds the history */
    size_t cap;       /* history slots per channel */
    float *h;         /* [cin, cap] */
    size_t base, len; /* the history holds input steps [base, base + len) */
    size_t fed;       /* input steps of x consumed since begin */
    size_t done;      /* output steps written since begin */
    const float *x, *alpha; /* bound input [cin, T]; Snake's alpha (or NULL) */
} nn_cstream;

/* 0, or SONO_ENOMEM. */
int nn_cstream_init(nn_cstream *s, const nn_conv *c, size_t block);
void nn_cstream_free(nn_cstream *s);
/* A new stream: the causal conv's padding zeros are its first history. */
void nn_cstream_begin(nn_cstream *s);
/* The most output steps one round can complete (to size a kernel's scratch). */
size_t nn_cstream_max_out(const nn_cstream *s);
/* Consumes x's steps [t0, t0 + n) (t0 must be what was fed so far) and writes every output
 * step now complete into y [cout, tout] through k; *done = output steps written. */
int nn_cstream_push(nn_cstream *s, size_t t0, size_t n, int last, float *y,
                    nn_cstream_kernel k, void *kctx, long long *done, sono_error *err);
/* Bytes of the history (the state a stream carries). */
size_t nn_cstream_bytes(const nn_cstream *s);

#endif
