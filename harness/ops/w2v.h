/* w2v.h — the contract of op "wav2vec2.features" (the convolutional feature encoder of
 * wav2vec 2.0 / HuBERT / WavLM as transformers' Wav2Vec2FeatureEncoder runs it) and the
 * reference side's API. Impls read the definitions from this comment; they share no code
 * with it.
 *
 * Network, C = channels (512 in every released model), layers l = 0..6 with kernels
 *   k = (10, 3, 3, 3, 3, 2, 2) and strides s = (5, 2, 2, 2, 2, 2, 2); input x [1, T0 =
 *   samples]; layer l: Conv1d(cin -> C, k_l, stride s_l, no padding, no bias) (cin = 1 for
 *   l = 0, else C): z[co, t] = sum_ci sum_j W_l[co, ci, j] x[ci, t s_l + j], length
 *   T_{l+1} = floor((T_l - k_l) / s_l) + 1; then
 *   norm = group: layer 0 only, GroupNorm(C groups, C channels): per channel over time,
 *     y[c, t] = (z[c, t] - mean_t z[c]) / sqrt(var_t z[c] + 1e-5) * gamma[c] + beta[c],
 *     var the biased (1/T) variance; layers 1..6 have no norm;
 *   norm = layer: every layer, LayerNorm over channels per time step: the same formula
 *     with mean and variance over c at each t;
 *   then GELU(y) = y/2 (1 + erf(y / sqrt 2)) (exact, not tanh).
 *   frames = T_7; 320 samples per frame (5 * 2^6); 16000 samples give 49 frames.
 *   Statistics of a norm are sums of T (group) or C (layer) values: impls accumulate them
 *   in double or pairwise (torch: cascade sums), so their error grows like log of that.
 * Weights: a safetensors file (format in encodec.h) with Wav2Vec2Model's names:
 *   feature_extractor.conv_layers.L.conv.weight            [C, cin, k_L] (L = 0..6)
 *   feature_extractor.conv_layers.0.layer_norm.{weight,bias} [C]   (norm = group)
 *   feature_extractor.conv_layers.L.layer_norm.{weight,bias} [C]   (norm = layer, every L)
 *   each name may also carry the prefix "wav2vec2." (a Wav2Vec2ForCTC checkpoint) or
 *   "hubert."/"wavlm." (their models'); the first prefix that has layer 0's conv wins.
 *   F32, F16, BF16 or F64, read as floats. A missing or mis-shaped tensor is refused
 *   naming it and the file; so is layer 0's conv.bias (a conv_bias = true model such as
 *   wav2vec2-large-lv60: another network than this op's).
 * weights = random: seeded (`seed`), written once to <cache>/sonobench/
 *   wav2vec2-<norm>-c<C>-random-v1-seed<seed>.safetensors (<cache> as codec.encodec's);
 *   conv weights uniform with torch's kaiming_normal variance 2/fan_in (fan_in = cin k),
 *   norm gamma 1 +- 10 %, beta uniform +-0.05. The op writes it when it validates the
 *   params; impls read the same path and refuse (unsupported) while it is absent.
 * Input F32 [batch, samples], samples = llround(seconds * 16000) >= 400 (one frame's
 *   receptive field): batch clips, consecutive pieces of the suite's signal at 16 kHz.
 * Output F32 [batch, frames, C] (Wav2Vec2Model's extract_features, before its
 *   feature_projection): out[b, t, c] = y_6[c, t] of clip b. */
#ifndef SONO_W2V_H
#define SONO_W2V_H

#include "op.h"

#define SONO_W2V_LAYERS 7
#define SONO_W2V_RATE 16000

typedef struct sono_w2v_dims {
    long long samples, batch, channels, frames;
    long long len[SONO_W2V_LAYERS + 1]; /* T_0 .. T_7 */
    int layer_norm;                     /* 0: group, 1: layer */
    unsigned long long seed;
} sono_w2v_dims;

extern const int sono_w2v_kernel[SONO_W2V_LAYERS], sono_w2v_stride[SONO_W2V_LAYERS];

int sono_w2v_dims_get(const sono_params *p, sono_w2v_dims *d, sono_error *err);
/* The weights file of p: the path given, or weights = random's cache path. */
int sono_w2v_weights_path(const sono_params *p, char *path, size_t n, sono_error *err);
/* Write weights = random's file when absent. */
int sono_w2v_weights_ensure(const char *path, const sono_w2v_dims *d, sono_error *err);

/* ref/w2v64.c: the float64 network. */
typedef struct sono_w2v64 sono_w2v64;
/* Reads and checks every tensor of the file: SONO_ENOTFOUND / SONO_EINVAL naming the file
 * and the tensor that is missing or has another shape. */
int sono_w2v64_load(const char *path, const sono_w2v_dims *d, sono_w2v64 **m,
                    sono_error *err);
void sono_w2v64_free(sono_w2v64 *m);
/* One clip: x [samples] -> out [frames, C]. */
int sono_w2v64_run(const sono_w2v64 *m, const float *x, double *out, sono_error *err);

#endif
