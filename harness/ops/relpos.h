/* relpos.h — the contract of op "attention.relpos": WavLM's gated relative-position-bias
 * self-attention (transformers' WavLMAttention; fairseq's MultiheadAttention with
 * gru_rel_pos), after the q/k/v projections and before the output projection. Impls read
 * the definitions here and share no code with it; the reference is ref/relpos64.c.
 *
 * Sizes: H = heads, S = seq, D = head_dim, NB = num_buckets (320), MD = max_distance (800).
 * Input, float32, one 1-D buffer packed in this order:
 *   Q, K, V [H, S, D]  the projected queries, keys and values
 *   X       [H, S, D]  the layer's input split into heads (hidden_states viewed [S, H, D]
 *                      and permuted): what the gate reads, as in WavLM
 *   E       [NB, H]    rel_attn_embed.weight
 *   Wg      [8, D]     gru_rel_pos_linear.weight
 *   bg      [8]        gru_rel_pos_linear.bias
 *   c       [H]        gru_rel_pos_const (shape [1, H, 1, 1] in the model)
 * Bucket of the relative position r = j - i (key j, query i), WavLM's
 *   _relative_positions_bucket with n = NB/2, m = n/2:
 *   b = (r > 0 ? n : 0) + (|r| < m ? |r| : min(n - 1, floor(m + ln(|r|/m) / ln(MD/m)
 *   (n - m)))). torch computes the logarithm in float32; for NB = 320, MD = 800 its
 *   buckets equal the exact ones for every |r| < 20000 (checked when the op was written),
 *   so impls may compute it either way.
 * Gate per head h and query i: p = Wg X[h, i] + bg (8 values), ga = sigmoid(p0+p1+p2+p3),
 *   gb = sigmoid(p4+p5+p6+p7), gate[h, i] = ga (gb c[h] - 1) + 2.
 * Output, float32, [H, S, D]:
 *   O[h, i] = sum_j P[h, i, j] V[h, j], P[h, i, :] = softmax_j(Q[h, i] . K[h, j] / sqrt(D)
 *             + gate[h, i] E[b(j - i), h]).
 * Input data (op->input): Q, K, V, X seeded N(0, 1) (unit-variance as after a LayerNorm);
 *   E N(0, 1) (nn.Embedding's init); Wg, bg uniform +-1/sqrt(D) (nn.Linear's); c uniform
 *   in [0.5, 1.5) (trained values spread around their init 1). A fixed seed; the suite's
 *   signal does not enter (run it with inputs = noise). */
#ifndef SONO_RELPOS_H
#define SONO_RELPOS_H

#include "op.h"

typedef struct sono_relpos_dims {
    long long heads, seq, d, buckets, max_distance;
    long long n;    /* H S D: one of Q, K, V, X */
    long long nin;  /* the packed input */
} sono_relpos_dims;

int sono_relpos_dims_get(const sono_params *p, sono_relpos_dims *d, sono_error *err);

/* ref/relpos64.c */
long long sono_relpos64_bucket(long long r, long long buckets, long long max_distance);
int sono_relpos64(const sono_relpos_dims *d, const float *in, double *out, sono_error *err);

#endif
