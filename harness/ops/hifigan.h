/* hifigan.h — the contract of op "vocoder.hifigan" (HiFi-GAN's generator as transformers
 * 4.46.3's SpeechT5HifiGan runs it) and the reference side's API: dims, the weights file
 * (its tensors, the random cache) and the float64 network. Impls read the definitions
 * from this comment and share no code with it.
 *
 * ---- the definitions, once for every impl --------------------------------------------
 * Config (param config): v1 ch = 512, v2 ch = 128 (HiFi-GAN's V1 and V2 generators);
 *   custom: ch from param channels (a multiple of 16; small ones for tests). Every config
 *   has n_mels 80, upsample rates 8, 8, 2, 2 with kernels 16, 16, 4, 4 (hop 256 at
 *   22.05 kHz), resblock kernels 3, 7, 11, each with dilations 1, 3, 5 (resblock type 1:
 *   V3's type 2 is not in SpeechT5HifiGan). Stage i (0..3) has C_i = ch / 2^(i+1)
 *   channels.
 * Input: float32 log-mel [80, frames]; output: float32 waveform [frames * 256] at 22050 Hz.
 *   The suite's input: its signal at 22050 Hz through the float64 mel spectrogram
 *   (melspec64: n_fft 1024, hop 256, periodic hann, centre/reflect, magnitude (power 1),
 *   slaney mel with slaney norm, fmin 0, fmax 8000), ln(max(M, 1e-5)) (HiFi-GAN's
 *   dynamic range compression), its first `frames` frames rounded to float32 (the
 *   signal is frames * 256 samples long, 1024 at least, so the STFT can reflect-pad).
 *   Param dtype (issue 26: f32, tf32, bf16, f16): the mel is then rounded to the
 *   dtype's grid (still float32 values), and the reference reads the rounded mel.
 * Network (activations x[c][t], convs zero-padded symmetrically, "same" length):
 *   x = (mel - mean[c]) / scale[c]                     (normalize_before, float32 as torch)
 *   x = conv_pre(x)                                    (80 -> ch, k 7, pad 3)
 *   for stage i: x = up_i(lrelu_0.1(x))  (ConvTranspose1d ch/2^i -> C_i, stride r_i,
 *       kernel K_i, padding (K_i - r_i)/2: y[o][u] = b[o] + sum_{c, t, k: t r_i + k =
 *       u + (K_i - r_i)/2} W[c][o][k] x[c][t]; length L r_i)
 *     for resblock j (kernel k_j): h = x; for m in 0..2 (dilation d_m):
 *       a = conv1_m(lrelu_0.1(h)) (k_j, dilation d_m, pad d_m (k_j - 1) / 2);
 *       h = conv2_m(lrelu_0.1(a)) + h (k_j, dilation 1, pad (k_j - 1) / 2); r_j = h
 *     x = (r_0 + r_1 + r_2) / 3
 *   out = tanh(conv_post(lrelu_0.01(x)))                (C_3 -> 1, k 7, pad 3; note the final
 *       leaky ReLU is torch's default slope 0.01, as SpeechT5HifiGan calls it)
 *   conv(x)[o][u] = b[o] + sum_{c, k} W[o][c][k] x[c][u + k d - pad], x = 0 outside.
 * Weights: a safetensors file with SpeechT5HifiGan's state_dict names (weight norm
 *   removed, as microsoft/speecht5_hifigan ships): conv_pre.{weight [ch, 80, 7], bias},
 *   upsampler.i.{weight [ch/2^i, C_i, K_i], bias [C_i]}, resblocks.(3i+j).convs{1,2}.m.
 *   {weight [C_i, C_i, k_j], bias [C_i]}, conv_post.{weight [1, C_3, 7], bias [1]},
 *   mean [80], scale [80]. F32, F16, BF16, F64 read as floats. A missing or mis-shaped
 *   tensor is an error naming it and the file (exit 2 from run or exec).
 * weights = random: seeded weights of these shapes written once to <cache>/sonobench/
 *   hifigan-ch<ch>-random-v1-seed<seed>.safetensors (<cache> as whisper.h's); conv and
 *   transposed-conv weights uniform +-sqrt(3 / fan_in) (fan_in = c k, transposed c k / r),
 *   conv_post's a fifth of that (so tanh is not saturated), biases +-0.02, mean +-1,
 *   scale 4 (1 +- 10 %).
 * Streaming: input steps are mel frames (86.13 per s), output steps samples; output
 *   sample u is complete once the frames its receptive field reaches have arrived (the
 *   look-ahead, sono_hg_lookahead samples, is the algorithmic latency).
 * The record: the op's check names the weights file and its sha256 (check.detail). */
#ifndef SONO_HIFIGAN_H
#define SONO_HIFIGAN_H

#include "op.h"

#define SONO_HG_MELS 80
#define SONO_HG_HOP 256
#define SONO_HG_RATE 22050
#define SONO_HG_STAGES 4
#define SONO_HG_KERNELS 3

extern const int sono_hg_rates[SONO_HG_STAGES], sono_hg_ukernels[SONO_HG_STAGES];
extern const int sono_hg_rkernels[SONO_HG_KERNELS], sono_hg_dilations[3];

typedef struct sono_hg_dims {
    int ch;
    long long frames, samples;
    const char *config;
} sono_hg_dims;

int sono_hg_dims_get(const sono_params *p, sono_hg_dims *d, sono_error *err);
int sono_hg_weights_path(const sono_params *p, const sono_hg_dims *d, char *path, size_t n,
                         sono_error *err);
/* weights = random: the file written if absent; else every tensor checked (present, its
 * shape, a float dtype); SONO_EINVAL naming the tensor and the file. */
int sono_hg_weights_ready(const sono_params *p, const sono_hg_dims *d, sono_error *err);
/* Output samples of look-ahead: output u needs mel frames up to (u + this) / 256. */
long long sono_hg_lookahead(void);

/* ---- the reference network, float64 (ref/hifigan64.c) ------------------------------ */
/* mel [80][frames] (float32) -> out [frames * 256] in double; threads: worker threads. */
int sono_hg64_forward(const char *path, const sono_hg_dims *d, const float *mel, double *out,
                      int threads, sono_error *err);

#endif
