/* dac.h — the contract of op "codec.dac" (Descript Audio Codec as transformers 4.46's
 * DacModel runs it) and the reference side's API: the config, the weights file and the
 * float64 network. Impls read the same definitions from this comment; they share no code
 * with it.
 *
 * ---- the definitions, once for every impl --------------------------------------------
 * Config (DacConfig): encoder_hidden_size E (64), downsampling_ratios R (2, 4, 8, 8),
 *   decoder_hidden_size Dd (1536), n_codebooks Q (9), codebook_size K (1024),
 *   codebook_dim Dc (8), sampling_rate (44100); latent H = E * 2^len(R) (1024), hop =
 *   prod(R) (512), upsampling ratios R reversed. From the metadata key "config" of the
 *   weights file (a JSON string), else config.json in its folder, else descript/dac_44khz's.
 * Conv(cin, cout, k, stride s, dilation d, padding p): PyTorch's Conv1d with zero padding
 *   p on both sides, out length floor((L + 2p - d(k-1) - 1) / s) + 1. ConvT: PyTorch's
 *   ConvTranspose1d, out length (L-1)s - 2p + k. Every conv and conv-transpose has a bias
 *   and is weight-normed: weight = g v / ||v||, the norm over all dims but the first, per
 *   index of the first (weight_g, weight_v; or parametrizations.weight.original0/1; or a
 *   plain folded `weight`). Snake(x) = x + sin(alpha_c x)^2 / (alpha_c + 1e-9), alpha [1,C,1].
 * ResUnit(C, d): y = x + conv2(snake2(conv1(snake1(x)))), conv1 = Conv(C, C, 7, 1, d, 3d),
 *   conv2 = Conv(C, C, 1) (same length, so transformers' crop is 0).
 * Encoder: conv1 = Conv(1, E, 7, pad 3); block i = 1..n (stride r_i, dim = E 2^i): ResUnit
 *   (dim/2, 1), (dim/2, 3), (dim/2, 9), snake1, conv1 = Conv(dim/2, dim, 2 r_i, stride r_i,
 *   pad ceil(r_i / 2)); then snake1, conv2 = Conv(H, H, 3, pad 1).
 * RVQ, stage q < n_q on residual r (H x frames, r = encoder output at first), per frame:
 *   z = in_proj(r) (Conv(H, Dc, 1)); zn = z / max(||z||, 1e-12), cn_k = c_k / max(||c_k||,
 *   1e-12) (c = codebook.weight [K, Dc]); code = argmax_k (2 zn.cn_k - ||zn||^2 +
 *   ||cn_k||^2) (the lowest index on ties); qv = out_proj(c_code) (Conv(Dc, H, 1), the raw
 *   codeword, not the normalised one); r -= qv; the quantized sum += qv.
 * Decoder on the quantized sum (decode: sum_q out_proj_q(c_q[codes])): conv1 = Conv(H, Dd,
 *   7, pad 3); block i = 0..n-1 (stride u_i = R reversed, in Dd/2^i, out Dd/2^(i+1)):
 *   snake1, conv_t1 = ConvT(in, out, 2 u_i, stride u_i, pad ceil(u_i / 2)), ResUnit(out, 1),
 *   (out, 3), (out, 9); then snake1, conv2 = Conv(Dd/2^n, 1, 7, pad 3), tanh.
 * Tensor names (DacModel): encoder.conv1.*, encoder.block.I.res_unitJ.{snake1,snake2}.alpha,
 *   encoder.block.I.res_unitJ.{conv1,conv2}.*, encoder.block.I.snake1.alpha,
 *   encoder.block.I.conv1.*, encoder.snake1.alpha, encoder.conv2.*, decoder.conv1.*,
 *   decoder.block.I.snake1.alpha, decoder.block.I.conv_t1.*, decoder.block.I.res_unitJ...,
 *   decoder.snake1.alpha, decoder.conv2.*, quantizer.quantizers.Q.{in_proj,out_proj}.*,
 *   quantizer.quantizers.Q.codebook.weight; conv "*" = weight_g [d0,1,1], weight_v
 *   [d0,d1,k], bias [cout] (d0 d1 = cout cin, conv-transpose cin cout). A missing or
 *   mis-shaped tensor is an error naming it and the file (exit 2: validate reads them).
 * weights = random: seeded weights of the config with E = param enc_dim, Dd = param
 *   dec_dim (64 and 1536: dac_44khz's shapes; small dims for tests), written once to
 *   <cache>/sonobench/dac44k-e<E>-d<Dd>-random-v1-seed<seed>.safetensors (<cache> as in
 *   encodec.h); impls read the same path and refuse while it is absent.
 * Modes, samples = max(1, llround(seconds * rate / hop)) * hop (whole frames: DAC's own
 *   preprocessing pads to the hop, and then decode gives back exactly `samples`), frames =
 *   samples / hop, n_q = param n_q (1..Q, default Q):
 *   encode:    F32 [samples] -> I32 [n_q, frames]
 *   decode:    I32 [n_q, frames] (the float64 reference's codes of the signal) -> F32
 *              [frames * hop]
 *   roundtrip: F32 [samples] -> F32 [samples] (DacModel.forward(x, n_quantizers=n_q))
 * Streams, param streams = S (default 1), as codec.encodec's (encodec.h): S independent
 *   clips of `seconds`, each coded exactly as a streams = 1 input; S > 1 puts a leading
 *   [S] on each shape (encode F32 [S, samples] -> I32 [S, n_q, frames], and so on); clip s
 *   is the signal's consecutive piece s (decode: the reference codes of piece s). Checked
 *   clip by clip (all must pass); cost and audio seconds S times one clip's.
 * Bitrate: n_q log2(K) rate / hop (9 stages at 44.1 kHz: 7.75 kbps). Algorithmic latency:
 *   the encoder and decoder are non-causal (symmetric padding): the whole input.
 */
#ifndef SONO_DAC_H
#define SONO_DAC_H

#include "op.h"

#define SONO_DAC_MAX_RATIOS 8

typedef struct sono_dac_config {
    int sampling_rate, enc_dim, dec_dim, nratios, ratios[SONO_DAC_MAX_RATIOS];
    int n_codebooks, codebook_size, codebook_dim;
    int latent, hop; /* derived */
} sono_dac_config;

/* descript/dac_44khz's config with encoder/decoder widths enc_dim and dec_dim. */
void sono_dac_config_44k(sono_dac_config *c, int enc_dim, int dec_dim);
/* DacConfig JSON over dac_44khz's defaults; what names the source in messages. */
int sono_dac_config_parse(const char *json, const char *what, sono_dac_config *c,
                          sono_error *err);
/* The weights path of params p (random: the cache file); config of it. gen: write the
 * random file when absent. */
int sono_dac_weights_path(const sono_params *p, char *path, size_t n, sono_error *err);
int sono_dac_params_config(const sono_params *p, int gen, sono_dac_config *c,
                           sono_error *err);
/* The random weights (tensors in DacModel's order, the config in the metadata). */
int sono_dac_weights_ensure(const char *path, const sono_dac_config *c,
                            unsigned long long seed, sono_error *err);
/* Multiply-adds of the encoder on n samples and the decoder on f frames. */
double sono_dac_macs_encoder(const sono_dac_config *c, long long n);
double sono_dac_macs_decoder(const sono_dac_config *c, long long f);

/* ---- the float64 reference ------------------------------------------------------------ */
typedef struct sono_dac64 sono_dac64;

int sono_dac64_load(const char *path, sono_dac64 **m, sono_error *err);
void sono_dac64_free(sono_dac64 *m);
const sono_dac_config *sono_dac64_config(const sono_dac64 *m);
/* x [n] -> latent [H][frames] (malloc'd). */
int sono_dac64_encoder(const sono_dac64 *m, const double *x, long long n, double **lat,
                       long long *frames, sono_error *err);
/* RVQ of lat [H][frames], nq stages -> codes [nq][frames]; when margin is not NULL,
 * margin[q * frames + t] = the best score minus the runner-up's (the near-tie measure),
 * scale[...] = the bound's scale (||W_in|| ||r|| + ||b_in||) / ||z||, runner[...] = the
 * runner-up's index (each may be NULL). force >= 0: code index force (q * frames + t) is
 * taken to be force_code instead of the best, the later stages following from it (a
 * near-tie flip, for the round trip's check). */
int sono_dac64_quantize(const sono_dac64 *m, const double *lat, long long frames, int nq,
                        int *codes, double *margin, double *scale, int *runner,
                        long long force, int force_code, sono_error *err);
/* codes [nq][frames] -> audio (malloc'd, *n set). */
int sono_dac64_decode(const sono_dac64 *m, const int *codes, int nq, long long frames,
                      double **audio, long long *n, sono_error *err);

#endif
