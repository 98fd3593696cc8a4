/* mimi.h — the contract of op "codec.mimi" (Kyutai's Mimi as transformers 4.46.3's
 * MimiModel defines it) and the reference side's API: the config, the weights file (its
 * tensors, the random cache) and the float64 network. Impls read the same definitions
 * from this comment; they share no code with the reference.
 *
 * ---- the definitions, once for every impl --------------------------------------------
 * Config: MimiConfig's JSON, from the weights file's metadata key "config" (a string),
 *   else config.json beside the file (a Hugging Face download), else kyutai/mimi's:
 *   sampling_rate 24000, frame_rate 12.5, audio_channels 1, hidden_size 512, num_filters
 *   64, num_residual_layers 1, upsampling_ratios [8,6,5,4], kernel_size 7,
 *   last_kernel_size 3, residual_kernel_size 3, dilation_growth_rate 2, compress 2,
 *   codebook_size 2048, codebook_dim 256 (= vector_quantization_hidden_dimension),
 *   num_quantizers 32, num_semantic_quantizers 1, upsample_groups 512, num_hidden_layers
 *   8, intermediate_size 2048, num_attention_heads 8 (= num_key_value_heads), head_dim
 *   hidden / heads, norm_eps 1e-5, rope_theta 10000, sliding_window 250. Supported:
 *   mono, use_causal_conv true, pad_mode constant, trim_right_ratio 1, use_conv_shortcut
 *   false, hidden_act gelu, attention_bias false, frame_rate != the encoder's; anything
 *   else is refused naming the key.
 * weights = random: seeded weights of the config the params give (the late params
 *   filters, hidden, layers, heads, ffn, codebooks, codebook_size, codebook_dim, window,
 *   ratios over kyutai/mimi's; upsample_groups = hidden, frame_rate = efr / 2), written
 *   once with the config in its metadata to <cache>/sonobench/mimi-v1-f<filters>h<hidden>
 *   l<layers>a<heads>i<ffn>q<codebooks>k<codebook_size>d<codebook_dim>w<window>r<ratios
 *   as given, joined by dots>s<seed>.safetensors (<cache> as codec.encodec's:
 *   $XDG_CACHE_HOME, else $HOME/.cache, else ./build/cache); the op writes it when it
 *   validates the params, impls read the same path and refuse while it is absent.
 * Tensors (MimiModel's state_dict names; F32, F16, BF16, F64 read as floats; others
 *   ignored): encoder.layers.I.conv.{weight [cout, cin, k], bias},
 *   encoder.layers.I.block.{1,3}.conv.{weight, bias} (residual blocks),
 *   {encoder,decoder}_transformer.layers.L.self_attn.{q,k,v,o}_proj.weight [D, D],
 *   .mlp.fc1.weight [F, D], .mlp.fc2.weight [D, F], .{input,post_attention}_layernorm.
 *   {weight, bias} [D], .{self_attn,mlp}_layer_scale.scale [D], downsample.conv.weight
 *   [D, D, kd], upsample.conv.weight [D, D / groups, kd], decoder.layers.I.conv.*,
 *   quantizer.{semantic,acoustic}_residual_vector_quantizer.{input_proj.weight [Q, D, 1],
 *   output_proj.weight [D, Q, 1], layers.J.codebook.{embed_sum [K, Q], cluster_usage
 *   [K]}}. A missing or mis-shaped tensor is an error naming it and the file (validate
 *   reads the header: exit 2 from run or exec).
 * Network (modeling_mimi.py), activations [channels][time]:
 *   hop = prod(ratios) (960); the encoder's frame rate efr = ceil(sampling_rate / hop)
 *   (25); kd = 2 int(efr / frame_rate) (4); a code frame is 2 hop samples (1920 = 80 ms).
 *   Conv1d (stride s, kernel k, dilation d): keff = (k-1)d + 1, zeros before x: keff - s,
 *   after: ceil(L/s)s - L; output length ceil(L/s). The downsample pads the same amounts
 *   by replicating x's first and last sample. ConvTranspose1d (stride s, kernel k,
 *   groups g; weight [cin, cout/g, k]): full length (L-1)s + k, its last k - s cut: L s.
 *   ELU(x) = x > 0 ? x : exp(x) - 1. Residual block (dim, dilation 2^j): x +
 *   conv1x1(ELU(conv_k,dil(ELU(x)))), dim -> dim/compress -> dim.
 *   Encoder: conv(1 -> F, k 7); for r in reversed(ratios): residual blocks, ELU, conv(c ->
 *   2c, k 2r, stride r); ELU; conv(16F -> D, k 3). Decoder: conv(D -> 16F, k 7); for r in
 *   ratios: ELU, convtr(c -> c/2, k 2r, stride r), residual blocks; ELU; conv(F -> 1, k 3).
 *   Transformer (both; time-major h [T][D]), per layer: h += ls1 * o_proj(attn(LN1(h)));
 *   h += ls2 * fc2(GELU(fc1(LN2(h)))), LN with eps norm_eps and biased variance, GELU the
 *   exact x Phi(x). Attention per head (dh columns): RoPE on q and k at positions 0..T-1
 *   (rotate_half: for i < dh/2, angle = pos theta^(-2i/dh), (x_i, x_{i+dh/2}) -> (x_i cos
 *   - x_{i+dh/2} sin, x_{i+dh/2} cos + x_i sin)), scores q.k / sqrt(dh), query t sees keys
 *   (t - window, t] (causal, sliding window), softmax, weighted sum of v.
 *   Encode: encoder, encoder transformer, downsample (25 -> 12.5 Hz): e [D][frames].
 *   Quantizer (split RVQ): the semantic RVQ (num_semantic stages) and the acoustic one
 *   (the rest) each start from their own input_proj(e); per stage, the residual r picks
 *   argmin_c ||r - E_c||^2 (lowest index on ties), E = embed_sum / max(cluster_usage,
 *   1e-5) per row, r -= E_c. Decode: per RVQ, output_proj(sum of its stages' codewords),
 *   the two added; upsample; decoder transformer; decoder.
 *   (MimiModel.forward passes the transformers no attention mask, so transformers' eager
 *   attention is then bidirectional and its SDPA causal without the window; Kyutai's
 *   Mimi, and this contract, are causal with the window: the fixture and the torch peer
 *   pass the mask that MimiTransformerModel turns into exactly that.)
 * Input and output, samples = llround(seconds * sampling_rate), frames = ceil(samples /
 *   (2 hop)), n_q = param n_q (num_semantic <= n_q <= num_quantizers; 8 = 1.1 kbps):
 *   mode encode:    in F32 [samples] -> out I32 [n_q, frames] (codes)
 *   mode decode:    in I32 [n_q, frames], the float64 reference encoder's codes of the
 *                   signal -> out F32 [frames * 2 hop]
 *   mode roundtrip: in F32 [samples] -> out F32 [samples] (decode(encode(x)) cut to the
 *                   input's length, as MimiModel.forward does)
 * Streams, param streams = S (default 1), as codec.encodec's: S independent clips of
 *   `seconds`, consecutive pieces of the suite's signal of S samples each, a leading [S]
 *   on every shape when S > 1; each coded and checked as alone (the worst reported);
 *   cost and audio seconds are S times one clip's; no streaming mode with S > 1.
 * Bitrate: n_q log2(codebook_size) frame_rate. Algorithmic latency: causal everywhere
 *   (zero left padding, no look-ahead), so a frame's codes wait only for its 2 hop
 *   samples: 80 ms (encode), one frame (decode), the two (roundtrip, the decoder's output
 *   of frame f needs only codes up to f).
 * The record: the check's detail names the weights file and its sha256. */
#ifndef SONO_MIMI_H
#define SONO_MIMI_H

#include "op.h"

#define SONO_MIMI_MAX_RATIOS 8

typedef struct sono_mimi_config {
    int sampling_rate, hidden, filters, nratios, ratios[SONO_MIMI_MAX_RATIOS];
    int kernel, last_kernel, res_kernel, dil_growth, nres, compress;
    int codebook_size, codebook_dim, num_quantizers, num_semantic, upsample_groups;
    int layers, ffn, heads, head_dim, window;
    double frame_rate, norm_eps, rope_theta;
    /* derived */
    int hop, efr, down_k, frame_hop;
} sono_mimi_config;

void sono_mimi_config_default(sono_mimi_config *c);
/* MimiConfig JSON over the defaults; what names the source in messages. */
int sono_mimi_config_parse(const char *json, const char *what, sono_mimi_config *c,
                           sono_error *err);
/* Derived fields and the checks the definitions need. */
int sono_mimi_config_finish(sono_mimi_config *c, const char *what, sono_error *err);
char *sono_mimi_config_json(const sono_mimi_config *c);

/* The weights path of p (random: the cache path of the params' config). */
int sono_mimi_weights_path(const sono_params *p, char *path, size_t n, sono_error *err);
/* The config of p's weights; gen: write weights=random's file if absent, else check a
 * file's header (every tensor with its shape). */
int sono_mimi_params_config(const sono_params *p, int gen, sono_mimi_config *c,
                            sono_error *err);
int sono_mimi_weights_write(const char *path, const sono_mimi_config *c,
                            unsigned long long seed, sono_error *err);

/* ---- the float64 reference (ref/mimi64.c) ----------------------------------------- */
typedef struct sono_mimi64 sono_mimi64;

int sono_mimi64_load(const char *path, sono_mimi64 **m, sono_error *err);
void sono_mimi64_free(sono_mimi64 *m);
const sono_mimi_config *sono_mimi64_config(const sono_mimi64 *m);
/* x [n] -> e [D][frames] (malloc'd), the downsampled transformer output. */
int sono_mimi64_encoder(const sono_mimi64 *m, const double *x, long long n, double **e,
                        long long *frames, sono_error *err);
/* The input of stage q's RVQ (q < num_semantic: the semantic one's input_proj(e), else
 * the acoustic one's), [Q][frames] (malloc'd). */
int sono_mimi64_project(const sono_mimi64 *m, const double *e, long long frames, int q,
                        double **p, sono_error *err);
/* codes [nq][frames] of e. */
int sono_mimi64_quantize(const sono_mimi64 *m, const double *e, long long frames, int nq,
                         int *codes, sono_error *err);
/* Codeword c of stage q (0 .. num_quantizers-1, semantic first), Q doubles. */
const double *sono_mimi64_codeword(const sono_mimi64 *m, int q, int c);
/* codes [nq][frames] -> audio [frames * frame_hop] (malloc'd). */
int sono_mimi64_decode(const sono_mimi64 *m, const int *codes, int nq, long long frames,
                       double **audio, sono_error *err);

/* Multiply-accumulates of the encoder (through the downsample) on n samples and of the
 * decoder (from the upsample) on f frames: the cost model's counts. */
double sono_mimi_macs_encoder(const sono_mimi_config *c, long long n);
double sono_mimi_macs_decoder(const sono_mimi_config *c, long long f);

#endif
