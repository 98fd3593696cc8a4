/* encodec.h — the contract of op "codec.encodec" (EnCodec as Hugging Face's EncodecModel
 * runs it) and the reference side's API: the config, the float64 network, the loader.
 * Impls read the same definitions from this comment; they share no code with it. */
#ifndef SONO_ENCODEC_H
#define SONO_ENCODEC_H

#include "op.h"

/* ---- the definitions, once for every impl -----------------------------------------
 * Weights: a safetensors file (8-byte little-endian header length n, n bytes of JSON
 *   {"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}},
 *   then the data; offsets are relative to the end of the header). Dtypes F32, F16, BF16,
 *   F64 are read as floats. Tensor names are EncodecModel's (transformers):
 *   encoder.layers.I.conv.weight_g / weight_v / bias, encoder.layers.I.block.{1,3}.conv.*,
 *   encoder.layers.I.shortcut.conv.*, encoder.layers.I.lstm.{weight_ih,weight_hh,
 *   bias_ih,bias_hh}_l{0,1}, decoder.layers.I..., quantizer.layers.Q.codebook.embed.
 *   Weight norm is folded at load: w = g * v / ||v||, the norm over every dim but the
 *   first, per index of the first (torch.nn.utils.weight_norm, dim=0); a file with plain
 *   `weight` tensors, or parametrizations.weight.original0/1 (g, v), is accepted too.
 * Config: the JSON of EncodecConfig, from the metadata key "config" (a string), else from
 *   config.json in the weights file's folder (a Hugging Face download), else
 *   facebook/encodec_24khz's: audio_channels 1, num_filters 32, upsampling_ratios
 *   [8,5,4,2], kernel_size 7, last_kernel_size 7, residual_kernel_size 3,
 *   dilation_growth_rate 2, num_residual_layers 1, compress 2, num_lstm_layers 2,
 *   hidden_size 128, codebook_size 1024, target_bandwidths [1.5,3,6,12,24],
 *   sampling_rate 24000, use_causal_conv true, use_conv_shortcut true, pad_mode reflect,
 *   norm_type weight_norm, trim_right_ratio 1, normalize false. Supported: mono,
 *   weight_norm, pad_mode reflect, normalize false, no chunking, codebook_dim =
 *   hidden_size; anything else is refused naming the key. num_lstm_layers 0 (which
 *   torch.nn.LSTM cannot build) means no LSTM: that layer is the identity, y = x.
 * weights = random: seeded random weights of the config above, written once by
 *   harness/ops/encodec_weights.c to <cache>/sonobench/encodec24k-random-v2-seed<seed>
 *   .safetensors, <cache> = $XDG_CACHE_HOME, else $HOME/.cache, else ./build/cache. The
 *   op writes it when it validates the params (planning, exec: before any impl's
 *   supports or setup); impls read the same path and refuse (unsupported) while absent.
 * Network (modeling_encodec.py): hop = prod(upsampling_ratios); frame_rate =
 *   ceil(sampling_rate / hop); num_quantizers = floor(1000 * target_bandwidths[last] /
 *   (frame_rate * log2(codebook_size))) (the 24 kHz model: 32); n_q = min(num_quantizers,
 *   max(1, floor(bandwidth * 1000 / (frame_rate * log2(codebook_size))))).
 *   Conv1d with stride s, kernel k, dilation d: keff = (k-1)d + 1, ptot = keff - s,
 *   extra = ceil(L/s)*s - L; causal pads (ptot, extra) on (left, right), else (ptot - ptot/2, ptot/2 + extra); padding reflects without the
 *   edge, and an input with L <= max pad gets max pad - L + 1 zeros appended first that
 *   are cut again after padding (EncodecConv1d._pad1d); output length ceil(L/s).
 *   ConvTranspose1d: length (L-1)s + k, then ptot = k - s trimmed: causal ceil(ptot *
 *   trim_right_ratio) on the right and the rest on the left, else ptot/2 on the right.
 *   (The float64 reference derives both from transformers' definitions on its own and
 *   is checked against transformers' modules: tests/data/encodec/padding.txt.)
 *   ELU(x) = x > 0 ? x : exp(x) - 1. Residual block: y = shortcut(x) + conv1x1(ELU(
 *   conv_k(ELU(x)))) (dim -> dim/compress -> dim). LSTM: torch.nn.LSTM, gates i f g o,
 *   zero initial state, then y = lstm(x) + x. Encoder and decoder layer lists as in
 *   EncodecEncoder / EncodecDecoder. RVQ encode: per frame, residual r = embedding;
 *   stage q picks argmin_c ||r - e_c||^2 (lowest index on ties), r -= e_c. Decode: the
 *   sum of the stages' codewords, then the decoder.
 * Input and output, with samples = llround(seconds * sampling_rate), frames =
 *   ceil(samples / hop):
 *   mode encode:    in F32 [samples] (the signal)  -> out I32 [n_q, frames] (codes)
 *   mode decode:    in I32 [n_q, frames], the codes of the float64 reference encoder on
 *                   the signal (op->input) -> out F32 [frames * hop]
 *   mode roundtrip: in F32 [samples] -> out F32 [samples] (decode(encode(x)), cut to the
 *                   input length as EncodecModel.forward does)
 Streams (issue 11), param streams = S (default 1): S independent mono clips of
 *   `seconds`, each coded exactly as a streams = 1 input. S = 1: the shapes above. S > 1:
 *   a leading [S]: encode F32 [S, samples] -> I32 [S, n_q, frames], decode I32 [S, n_q,
 *   frames] -> F32 [S, frames * hop], roundtrip F32 [S, samples] -> F32 [S, samples].
 *   Clip s is elements [s * samples, (s + 1) * samples) of the input: consecutive pieces
 *   of the suite's signal of S * samples (decode: the reference codes of each piece). The
 *   check is per stream (all must pass; the worst stream reported); cost and audio
 *   seconds are S times one clip's (x real time counts the audio of all streams). No
 *   streaming mode with S > 1 (stream_shape refuses it).
 * Streaming (issue 12): stream_shape divides encode as samples {1, samples, 1} -> codes
 *   {n_q, frames, 1}, decode as codes {n_q, frames, 1} -> samples {1, frames * hop, 1},
 *   roundtrip as samples -> samples; steps per second: the sampling rate, or rate / hop
 *   for decode's frames. What in the definition is not causal, and how a stream meets it
 *   exactly (cpu/naive and blas/encodec do; impls/common/encodec_stream.c):
 *   - The left padding of every conv is reflect padding, not zeros (pad_mode reflect even
 *     with use_causal_conv): the first pl = keff - s padded samples are x[pl], ..., x[1],
 *     so the first outputs of a layer read up to pl samples past themselves (6 for the
 *     kernel-7 convs, 2 for the residual kernel 3, s for a kernel-2s downsampler). Only
 *     the stream's start is affected; the look-ahead compounds through the layers, so the
 *     first frame waits for more than one hop. Exact if a stream holds its first outputs
 *     until those samples arrive.
 *   - The right padding extra = ceil(L/s)*s - L (reflected) depends on the signal's end:
 *     the last partial frame of every strided layer is only known at the last chunk;
 *     exact if the final push flushes it with that padding.
 *   - An input no longer than a layer's pad is zero-extended first (very short signals
 *     only); the LSTM carries (h, c) from frame to frame (causal as it is); the RVQ is per
 *     frame; the decoder's transposed convs trim on the right (causal); the round trip is
 *     cut to the input length (known at the end).
 *   So the streamed output can equal the offline one exactly, with an algorithmic latency
 *   of one frame (hop samples) per output frame in the steady state and the reflect
 *   look-ahead above at the start; the tail frame comes with the last chunk. The op's
 *   algo_latency_s is the worst of the two (sono_enc_stream_latency): the start's.
 */

/* ---- the config ------------------------------------------------------------------- */
#define SONO_ENC_MAX_RATIOS 8
#define SONO_ENC_MAX_BW 16

typedef struct sono_enc_config {
    int sampling_rate, channels, num_filters, hidden_size, codebook_size;
    int nratios, ratios[SONO_ENC_MAX_RATIOS];
    int kernel_size, last_kernel_size, residual_kernel_size, dilation_growth_rate;
    int num_residual_layers, compress, num_lstm_layers;
    int causal, conv_shortcut;
    double trim_right_ratio;
    int nbw;
    double bandwidths[SONO_ENC_MAX_BW];
    /* derived */
    int hop, frame_rate, num_quantizers;
} sono_enc_config;

/* facebook/encodec_24khz's config. */
void sono_enc_config_24k(sono_enc_config *c);
/* codec.soundstream's (issue 24): SoundStream (Zeghidour et al. 2021) as a configuration
 * of the same graph: strides 2,4,5,8 (hop 320, 75 frames/s at 24 kHz), channels 32 to 512,
 * three residual units per block of kernel 7 at dilations 1, 3, 9 with identity skips and
 * no bottleneck (compress 1), ELU, no LSTM (num_lstm_layers 0: the LSTM layer keeps its
 * place in the layer list, so the names of the layers after it are EncodecModel's, and
 * passes its input through unchanged), RVQ of 1,024-entry codebooks of dim 128 at
 * 3, 6, 12, 18 kbps (4, 8, 16, 24 stages; num_quantizers 24). */
void sono_enc_config_soundstream(sono_enc_config *c);
/* Whether params p select it: param config = soundstream (only codec.soundstream has
 * that param); it also names weights=random's cache file soundstream24k-random-v2-... */
int sono_enc_is_soundstream(const sono_params *p);
/* Parse EncodecConfig JSON text over the 24 kHz defaults; what names: the file. */
int sono_enc_config_parse(const char *json, const char *what, sono_enc_config *c,
                          sono_error *err);
/* n_q for a bandwidth in kbps: SONO_EINVAL unless it is one of target_bandwidths. */
int sono_enc_nq(const sono_enc_config *c, double bandwidth, int *nq, sono_error *err);

/* The weights file of params p ("random": the cache path, generated if absent) and its
 * config. gen = 0: resolve the path only. */
int sono_enc_weights_path(const sono_params *p, char *path, size_t n, sono_error *err);
int sono_enc_params_config(const sono_params *p, int gen, sono_enc_config *c,
                           sono_error *err);

/* ---- the layer lists of EncodecEncoder / EncodecDecoder ---------------------------- */
typedef enum {
    SONO_ENC_CONV = 1, /* prefix.conv.{weight_g,weight_v,bias}: [cout, cin, k] */
    SONO_ENC_CONVTR,   /* prefix.conv.*: [cin, cout, k], stride */
    SONO_ENC_ELU,
    SONO_ENC_RES,      /* prefix.block.1.conv (cin -> cin/compress, k, dil),
                          prefix.block.3.conv (-> cin, 1), prefix.shortcut.conv (1x1) */
    SONO_ENC_LSTM      /* prefix.lstm.{weight_ih,weight_hh,bias_ih,bias_hh}_l<l> */
} sono_enc_kind;

typedef struct sono_enc_layer {
    sono_enc_kind kind;
    char name[48]; /* "encoder.layers.3" */
    int cin, cout, k, stride, dil;
} sono_enc_layer;

#define SONO_ENC_MAX_LAYERS 64
/* The layers of the encoder (decoder = 0) or decoder in order; returns their count. */
int sono_enc_graph(const sono_enc_config *c, int decoder, sono_enc_layer *l);

/* ---- the reference network, float64 ------------------------------------------------ */
typedef struct sono_enc64 sono_enc64;

int sono_enc64_load(const char *path, sono_enc64 **m, sono_error *err);
void sono_enc64_free(sono_enc64 *m);
/* One conv's folded weight (w: d0*d1*k doubles, [cout][cin][k], or [cin][cout][k] when
 * transposed) and bias (cout) read from a file, as the model loads each layer. */
int sono_enc64_read_conv(const char *path, const char *prefix, int cin, int cout, int k,
                         int transposed, double *w, double *b, sono_error *err);
const sono_enc_config *sono_enc64_config(const sono_enc64 *m);
/* The reference's padding of an EncodecConv1d on `length` samples (left, right; the right
 * includes the extra that completes the last window) and the trim of an
 * EncodecConvTranspose1d's output (left, right): written from transformers' definitions
 * and exposed so tests/test_encodec_ref.c can check them against transformers' own
 * modules (issue 29: the impls have their own reading, checked through the network). */
void sono_enc64_conv_padding(long long length, int kernel, int stride, int dilation,
                             int causal, long long *left, long long *right);
void sono_enc64_convtr_trim(int kernel, int stride, int causal, double trim_right_ratio,
                            long long *left, long long *right);

/* Encoder: x [n] -> embeddings emb [hidden_size, frames] (malloc'd, *frames set). */
int sono_enc64_encoder(const sono_enc64 *m, const double *x, long long n, double **emb,
                       long long *frames, sono_error *err);
/* RVQ of emb [D, frames] with nq stages -> codes [nq, frames]. */
void sono_enc64_quantize(const sono_enc64 *m, const double *emb, long long frames, int nq,
                         int *codes);
/* Squared distance of residual r (D values) to codeword c of stage q. */
double sono_enc64_dist(const sono_enc64 *m, int q, const double *r, int c);
const double *sono_enc64_codeword(const sono_enc64 *m, int q, int c);
/* codes [nq, frames] -> audio [frames * hop] (malloc'd). */
int sono_enc64_decode(const sono_enc64 *m, const int *codes, int nq, long long frames,
                      double **audio, sono_error *err);

/* Multiply-accumulates of the encoder on n samples, the decoder on f frames, and the
 * quantizer's search (nq stages, f frames) — the cost model's counts. */
double sono_enc_macs_encoder(const sono_enc_config *c, long long n);
double sono_enc_macs_decoder(const sono_enc_config *c, long long f);

/* Streaming (issue 12): the algorithmic latency in seconds of mode 0 encode, 1 decode,
 * 2 roundtrip on `samples` samples: over the output steps, the most audio between an
 * output step's start and the last input sample it reads through every layer (the
 * reflect padding's look-ahead at the start), at least one hop (a frame is complete only
 * when its hop of samples is in). */
double sono_enc_stream_latency(const sono_enc_config *c, int mode, long long samples);

#endif
