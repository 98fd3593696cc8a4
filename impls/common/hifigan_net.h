/* hifigan_net.h — what cpu/naive, blas/hifigan and cuda/hifigan share for vocoder.hifigan
 * (harness/ops/hifigan.h's contract): the params read, the weights path rule, the weights
 * loaded as float32 by SpeechT5HifiGan's names, and the network as a graph of layers, each
 * keeping a ring of its recent output steps (its consumers' history), walked a round of
 * mel frames at a time. Offline is the same walk over the whole input in rounds of
 * `block` frames; a stream pushes its chunks through it, so only the impl's conv kernels
 * (called on ranges of output steps) decide whether the two agree bit for bit.
 * Shares no code with the reference. */
#ifndef IMPLS_HIFIGAN_NET_H
#define IMPLS_HIFIGAN_NET_H

#include <stddef.h>

#include "sono.h"

enum { HG_IN = 0, HG_CONV = 1, HG_TCONV = 2, HG_MEAN = 3 };

typedef struct hg_node {
    int kind, C, cin, K, dil, pad, stride;
    long long T;          /* output steps in all */
    size_t cap;           /* ring slots per channel: step t lives at t mod cap */
    size_t round;         /* most steps one round computes (<= cap; the last node keeps
                             the whole waveform, so its cap is its length) */
    float *buf;           /* [C][cap] */
    long long done;       /* output steps computed so far */
    struct hg_node *in, *res, *m1, *m2; /* input; residual added; the mean's other two */
    float slope;          /* leaky ReLU applied to the input as it is read (1: none) */
    int tanh_out;
    const float *w, *b;   /* conv [C][cin][K]; transposed [cin][C][K] (torch layouts) */
} hg_node;

/* Value of node n's channel c at step t; 0 outside [0, T) (the convs' zero padding). The
 * ring must still hold t (hg_push checks every range before a kernel reads it). */
static inline float hg_at(const hg_node *n, int c, long long t)
{
    return t < 0 || t >= n->T ? 0.0f : n->buf[(size_t)c * n->cap + (size_t)t % n->cap];
}
static inline float hg_lrelu(float v, float slope)
{
    return v >= 0 ? v : v * slope;
}

/* dst[j] = lrelu(hg_at(n, c, t0 + j)) for j < len: the zero padding, then at most two
 * contiguous pieces of the ring (it wraps once at most), then padding again. */
void hg_read_row(const hg_node *n, int c, long long t0, size_t len, float slope, float *dst);

/* Output steps [u0, u1) of conv or transposed node n, bias included, into y[co][u - u0]
 * (row length u1 - u0); the input read through hg_at with n->slope's leaky ReLU. */
typedef void (*hg_kernel)(void *ctx, const hg_node *n, long long u0, long long u1, float *y);

typedef struct hg_net {
    int ch;
    long long frames, samples, block;
    char path[4096];
    float *pool;          /* every weight */
    const float *mean, *scale;
    hg_node *node;
    int nn;
    float *y;             /* a kernel's output, the largest C * round */
    size_t ybytes;
    const float *x;       /* the bound mel [80][frames] */
    long long fed;
    char dtnote[96];      /* issue 26: "dtype: bf16 via fp32 ..." for the fp32 rungs */
} hg_net;

/* Dims and the weights path of p; -1 with the reason in why when unsupported (config,
 * channels, weights=random's file not written yet). */
int hg_dims(const sono_params *p, hg_net *m, char *why, size_t n);
/* hg_dims, every tensor read (errors name the file and the tensor), the graph and its
 * rings for rounds of `block` frames. */
int hg_load(const sono_params *p, hg_net *m, long long block, sono_error *err);
void hg_free(hg_net *m);
/* A new stream: every ring empty. */
void hg_begin(hg_net *m);
/* Mel frames [t0, t0 + n) of m->x in, every output sample complete now computed (in
 * rounds of block frames); *done = samples complete. */
int hg_push(hg_net *m, long long t0, long long n, hg_kernel conv, hg_kernel tconv, void *ctx,
            long long *done, sono_error *err);
/* The waveform so far: the last node's ring holds every sample. */
const float *hg_wave(const hg_net *m);
/* Bytes of the rings and the scratch (the state a stream keeps). */
size_t hg_bytes(const hg_net *m);

#endif
