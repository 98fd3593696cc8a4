/* wavenet_net.h — what cpu/naive, blas/wavenet and cuda/wavenet share for wavenet.stack
 * (harness/ops/wavenet.h's contract): the params read into sizes, the packed input's
 * weights as pointers per layer, and the fast-WaveNet queues a sample-by-sample stream
 * keeps (layer l's last d_l inputs). Shares no code with the reference. */
#ifndef IMPLS_WAVENET_NET_H
#define IMPLS_WAVENET_NET_H

#include <math.h>
#include <stddef.h>

#include "sono.h"

typedef struct wv_layer {
    const float *Wf, *bf, *Wg, *bg, *Vf, *Vg, *Wr, *br, *Ws, *bs;
    int dil;
} wv_layer;

typedef struct wv_net {
    int R, S, Cc, L, cycle;
    long long T;
    size_t nx, per_layer, nin;
    const float *x, *w_in, *b_in; /* bound to the input by wv_bind */
    wv_layer *layer;
    /* streaming: queue l holds h_l[t - d_l .. t - 1] at slots t mod d_l, [L][512 max][R] */
    float *queue;
    size_t *qoff; /* layer l's queue starts at queue + qoff[l] */
    long long fed;
    char dtnote[96]; /* issue 26: "dtype: bf16 via fp32 ..." for the fp32 rungs */
} wv_net;

/* Sizes of p; -1 with the reason in why when unsupported. */
int wv_dims(const sono_params *p, wv_net *n, char *why, size_t nwhy);
/* Allocate the per-layer table and the queues (sizes from wv_dims). */
int wv_alloc(wv_net *n, sono_error *err);
/* Point the weights into the packed input (checked: f32, nin floats). */
int wv_bind(wv_net *n, const sono_buf *in, sono_error *err);
void wv_free(wv_net *n);
/* A new stream: every queue zero (h = 0 before time 0). */
void wv_stream_reset(wv_net *n);
/* Bytes of the queues. */
size_t wv_queue_bytes(const wv_net *n);

static inline float wv_sigmoid(float z)
{
    return 1.0f / (1.0f + expf(-z));
}

#endif
