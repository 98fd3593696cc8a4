/* wavenet.h — the contract of op "wavenet.stack": WaveNet's dilated causal conv stack with
 * gated activations, residual and skip 1x1 convs and optional local conditioning, offline
 * or one sample at a time (the fast-WaveNet queues). Impls follow this comment and share
 * no code with it; the float64 reference is ref/wavenet64.c.
 *
 * Sizes: R = channels (residual and gate width), S = skip (0: R), Cc = cond (0: none),
 *   L = stacks * cycle layers, layer l has dilation d_l = 2^(l mod cycle) (cycle 10:
 *   1 .. 512), kernel 2; T = samples = llround(seconds * sample_rate).
 * Input, float32, one 1-D buffer packed in this order:
 *   x    [1 + Cc, T]   row 0 the audio; rows 1.. the local conditioning (features at
 *                      the sample rate: a frame-rate feature held over its 256 samples)
 *   w_in [R], b_in [R] the input 1x1 conv (1 -> R)
 *   per layer l:  Wf [R, R, 2], bf [R], Wg [R, R, 2], bg [R],
 *                 Vf [R, Cc], Vg [R, Cc]   (only when Cc > 0)
 *                 Wr [R, R], br [R], Ws [S, R], bs [S]
 * Network (h [R, T], torch Conv1d layout: tap 0 reads t - d, tap 1 reads t; h = 0 before 0):
 *   h[c][t] = w_in[c] x[0][t] + b_in[c]
 *   per layer: zf[c][t] = bf[c] + sum_i (Wf[c][i][0] h[i][t - d] + Wf[c][i][1] h[i][t])
 *                        + sum_j Vf[c][j] x[1 + j][t];   zg likewise with Wg, bg, Vg
 *              a = tanh(zf) * sigmoid(zg)
 *              skip[s][t] += bs[s] + sum_c Ws[s][c] a[c][t]   (skip starts at 0)
 *              h[c][t] += br[c] + sum_i Wr[c][i] a[i][t]
 * Output, float32, skip [S, T] (the sum of every layer's skip; the output head is not
 *   part of the op). Causal: output t reads inputs up to t only, so it streams one
 *   sample at a time with a queue of the last d_l values of each layer's input.
 * Input data (op->input): x[0] the suite's signal at sample_rate; the conditioning
 *   uniform in [-1, 1) per channel and 256-sample frame; weights uniform in +-sqrt(3 /
 *   fan_in) (fan_in 2R + Cc for the gates, R for the 1x1s, 1 for w_in), biases +-0.05;
 *   all seeded by param seed. Param dtype (issue 26: f32, tf32, bf16, f16): the whole
 *   packed input (signal, conditioning, weights, biases) is then rounded to the dtype's
 *   grid (still float32 values), and the reference reads the rounded values. */
#ifndef SONO_WAVENET_H
#define SONO_WAVENET_H

#include "op.h"

#define SONO_WN_COND_HOP 256

typedef struct sono_wn_dims {
    long long R, S, Cc, L, cycle, T;
    double rate;
    long long nx;       /* elements of x: (1 + Cc) T */
    long long per_layer; /* weights per layer */
    long long nin;       /* the whole packed input */
} sono_wn_dims;

int sono_wn_dims_get(const sono_params *p, sono_wn_dims *d, sono_error *err);

/* wavenet64.c: in packed, out [S, T] in double. */
int sono_wn64(const sono_wn_dims *d, const float *in, double *out, sono_error *err);

#endif
