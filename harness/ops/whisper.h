/* whisper.h — the contract of op "whisper.encoder" (Whisper's audio encoder as
 * transformers' WhisperEncoder runs it) and the reference side's API: the dims of a case,
 * the weights file (its tensors, a header check, the random cache) and the float64
 * network. Impls read the same definitions from this comment; they share no code with it.
 *
 * ---- the definitions, once for every impl --------------------------------------------
 * Model (param model): tiny d 384, 4 layers, 6 heads; base 512, 6, 8; small 768, 12, 12;
 *   custom: d_model, heads and layers from the params of those names (tests, fixtures).
 *   n_mels 80 (param n_mels: 80 or 128), ffn = 4 d, head_dim = d / heads, LayerNorm eps
 *   1e-5, GELU the exact one, x Phi(x) = x (1 + erf(x / sqrt 2)) / 2. `layers` = L > 0
 *   runs only the first L blocks (the final LayerNorm still follows).
 * Input: float32 log-mel [n_mels, frames] (frames = 3000 for 30 s, even, <= 3000); with
 *   batch = B > 1, [B, n_mels, frames]. The suite's signal at 16 kHz, B consecutive 30 s
 *   clips (zero-padded as Whisper's pad_or_trim), each through the float64 logmel
 *   (logmel.c, mel64.h) and rounded to float32; frames < 3000 takes the first frames.
 * Output: float32 [T, d], T = frames / 2 (1500); with B > 1, [B, T, d].
 * Network, per clip, activations h[t][c] time-major:
 *   a1[t][o] = GELU(b1[o] + sum_{i<n_mels, k<3} W1[o][i][k] x[i][t + k - 1]), t < frames,
 *              x = 0 outside [0, frames)                           (conv1: k 3, pad 1)
 *   a2[t][o] = GELU(b2[o] + sum_{i<d, k<3} W2[o][i][k] a1[2t + k - 1][i]), t < T,
 *              a1 = 0 outside                                  (conv2: k 3, stride 2, pad 1)
 *   h = a2 + P[t]  (P = embed_positions [max_pos, d], its first T rows; max_pos >= T)
 *   per block l:  u = LN_attn(h);  q = u Wq^T + bq;  k = u Wk^T (no bias);  v = u Wv^T + bv
 *     per head j (columns j*dh .. j*dh+dh-1): S = q_j k_j^T / sqrt(dh), softmax over keys,
 *     o_j = softmax(S) v_j;  h = h + o Wo^T + bo
 *     u = LN_ffn(h);  h = h + GELU(u W1^T + b1) W2^T + b2
 *   out = LN_final(h);  LN(x) = (x - mean) / sqrt(var + 1e-5) * gamma + beta (biased var).
 * Weights: a safetensors file (the format as in encodec.h), tensor names of transformers'
 *   WhisperModel checkpoints under the prefix "model.encoder." (WhisperForConditional-
 *   Generation, the hub's openai/whisper-* files), "encoder." (WhisperModel) or none
 *   (WhisperEncoder alone), whichever has conv1.weight:
 *   conv1.weight [d, n_mels, 3], conv1.bias [d], conv2.weight [d, d, 3], conv2.bias [d],
 *   embed_positions.weight [max_pos, d],
 *   layers.N.self_attn.{q,v,out}_proj.{weight [d, d], bias [d]}, layers.N.self_attn.
 *   k_proj.weight [d, d], layers.N.{self_attn_layer_norm,final_layer_norm}.{weight,bias}
 *   [d], layers.N.fc1.{weight [4d, d], bias [4d]}, layers.N.fc2.{weight [d, 4d], bias [d]},
 *   layer_norm.{weight, bias} [d]. F32, F16, BF16, F64 read as floats; other tensors
 *   (the decoder's) are ignored. A missing or mis-shaped tensor is an error naming it and
 *   the file (exit 2 from run or exec: validate checks the header).
 * weights = random: seeded weights of the model's shapes (max_pos 1500, `layers` blocks,
 *   prefix "model.encoder."), written once to <cache>/sonobench/whisper-enc-d<d>-m<n_mels>
 *   -l<layers>-random-v1-seed<seed>.safetensors, <cache> = $XDG_CACHE_HOME, else
 *   $HOME/.cache, else ./build/cache; the op writes it when it validates the params, impls
 *   read the same path and refuse (unsupported) while it is absent. Scales: linear and
 *   conv weights uniform +-sqrt(3 / fan_in) (unit gain), biases +-0.02, LayerNorm gains
 *   1 +- 10 %, its biases +-0.02, embed_positions +-1 (the sinusoids' range).
 * The record: the op's check names the weights file and its sha256 (check.detail). */
#ifndef SONO_WHISPER_H
#define SONO_WHISPER_H

#include "op.h"

typedef struct sono_wh_dims {
    int d, heads, layers, n_mels, ffn, dh;
    long long frames, T, batch;
    const char *model;
} sono_wh_dims;

/* The dims of params p; SONO_EINVAL naming the param when they contradict each other. */
int sono_wh_dims_get(const sono_params *p, sono_wh_dims *d, sono_error *err);

/* weights = random: the cache path for p's dims (a path: itself). */
int sono_wh_weights_path(const sono_params *p, const sono_wh_dims *d, char *path,
                         size_t n, sono_error *err);
/* The random file written if absent (weights = random), else the file's header checked:
 * every tensor of the dims present with its shape and a float dtype; SONO_EINVAL naming
 * the tensor and the file otherwise. */
int sono_wh_weights_ready(const sono_params *p, const sono_wh_dims *d, sono_error *err);
/* The prefix of a file's names ("model.encoder.", "encoder." or ""), from its header. */
int sono_wh_prefix(const char *path, char *prefix, size_t n, sono_error *err);
/* Write seeded random weights of dims d (layers blocks, max_pos 1500) to path. */
int sono_wh_weights_write(const char *path, const sono_wh_dims *d, unsigned long long seed,
                          sono_error *err);

/* ---- the reference network, float64 (ref/whisper64.c) ------------------------------ */
typedef struct sono_wh64 sono_wh64;

int sono_wh64_load(const char *path, const sono_wh_dims *d, sono_wh64 **m, sono_error *err);
void sono_wh64_free(sono_wh64 *m);
/* One clip: mel [n_mels][frames] (float32) -> out [T][d] in double. */
int sono_wh64_forward(const sono_wh64 *m, const float *mel, double *out, sono_error *err);

#endif
