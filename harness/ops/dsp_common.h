/* dsp_common.h — the contract the audio front-end ops (stft, melspec, logmel, mfcc) share:
 * their parameters, the sizes derived from them, and the layout of inputs and outputs.
 * Impls read the same definitions from this comment; they share no code with it. */
#ifndef SONO_DSP_COMMON_H
#define SONO_DSP_COMMON_H

#include "op.h"

/* ---- the definitions, once for every op and impl ---------------------------------
 * Input: float32 mono, shape [samples], samples = llround(seconds * sample_rate); files
 *   are resampled to sample_rate (op->rate), generators synthesise at it.
 * Window (periodic, as scipy.signal.get_window(..., fftbins=True)), N = win_length:
 *   hann w[i] = 0.5 - 0.5 cos(2 pi i/N); hamming 0.54 - 0.46 cos(2 pi i/N);
 *   blackman 0.42 - 0.5 cos(2 pi i/N) + 0.08 cos(4 pi i/N); i = 0..N-1.
 *   win_length < n_fft: the window sits centred in the n_fft frame, starting at
 *   (n_fft - win_length) / 2 (integer division), zeros around it (librosa, torch.stft).
 * Centre (center = 1): the signal is padded by n_fft/2 (integer division) samples at
 *   both ends by reflection without repeating the edge (numpy.pad mode "reflect":
 *   x[2] x[1] | x[0] x[1] ...); needs samples > n_fft/2. center = 0: no padding, needs
 *   samples >= n_fft.
 * Frames: padded length L (samples, or samples + 2*(n_fft/2)); frames = 1 + (L - n_fft)/hop
 *   (integer division); frame t holds padded[t*hop + j] * w[j], j = 0..n_fft-1.
 * Bins: X[k, t] = sum_j frame_t[j] e^{-2 pi i j k / n_fft}, k = 0..n_fft/2 (nbins).
 * Mel scales, f in Hz: htk m = 2595 log10(1 + f/700); slaney m = 3 f / 200 below 1000 Hz,
 *   15 + 27 ln(f/1000) / ln(6.4) above (librosa.hz_to_mel, htk=False).
 * Filterbank (librosa.filters.mel == torchaudio melscale_fbanks for these choices):
 *   n_mels + 2 points equally spaced in mel from mel(fmin) to mel(fmax) give Hz points
 *   f_0..f_{n_mels+1}; bin k sits at k * sample_rate / n_fft Hz; filter m is the
 *   triangle rising from f_m to f_{m+1} and falling to f_{m+2}:
 *   W[m, k] = max(0, min((f - f_m)/(f_{m+1} - f_m), (f_{m+2} - f)/(f_{m+2} - f_{m+1}))),
 *   times 2 / (f_{m+2} - f_m) when norm = slaney (equal area), times 1 when norm = none.
 *   fmax = 0 means sample_rate / 2.
 * Outputs, all row-major, feature-major like librosa / torchaudio / Whisper:
 *   stft    [nbins, frames]: output=power |X|^2, magnitude |X| (float32), complex X (c64).
 *   melspec [n_mels, frames]: sum_k W[m, k] |X[k, t]|^power, hann window, win_length n_fft.
 *   logmel  [n_mels, frames]: Whisper's log_mel_spectrogram: sample_rate 16000, n_fft 400,
 *           hop 160, periodic hann, centre/reflect, power 2, slaney mel with slaney norm,
 *           fmin 0, fmax 8000; pad_or_trim = 1 first zero-pads or trims the input to
 *           480000 samples (30 s); the last STFT frame is dropped (3000 frames for 30 s);
 *           L = log10(max(mel, 1e-10)); L = max(L, max over all of L - 8); out = (L + 4)/4.
 *   mfcc    [n_mfcc, frames]: S = melspec with power 2; D = 10 log10(max(S, 1e-10));
 *           top_db > 0: D = max(D, max over all of D - top_db) (librosa.power_to_db);
 *           out[c, t] = sum_m D[m, t] * s_c * cos(pi c (2m + 1) / (2 n_mels)),
 *           s_0 = sqrt(1/n_mels), s_c = sqrt(2/n_mels) (orthonormal DCT-II, c < n_mfcc).
 * Batch (issue 10), every op: batch = B independent clips. B = 1: the shapes above,
 *   exactly. B > 1: input F32 [B, samples], clip b is elements [b*samples, (b+1)*samples)
 *   (consecutive pieces of the case's signal), and the output gets a leading B dim
 *   ([B, rows, frames]), out[b] being the definition above applied to clip b alone: its
 *   own padding and frames, and logmel's and mfcc's clamps take the max over clip b's
 *   values only. Cost and audio seconds are B times one clip's. B > 1 does not stream.
 * Accuracy the tolerances assume (dsp_tol.c): every window sample and filterbank weight
 *   within float rounding of its definition, i.e. evaluated in double and rounded once.
 *   0.5f - 0.5f*cosf() in float loses the hann tails to cancellation, and filter edges
 *   computed in float move the weight of a bin next to an edge of a narrow filter by
 *   ~1e-3; log10 turns either into a logmel error above the tolerance.
 */

extern const sono_param_spec sono_stft_params[];
extern const int sono_stft_nparams;
extern const sono_param_spec sono_melspec_params[];
extern const int sono_melspec_nparams;
extern const sono_param_spec sono_logmel_params[];
extern const int sono_logmel_nparams;
extern const sono_param_spec sono_mfcc_params[];
extern const int sono_mfcc_nparams;

typedef enum { SONO_WIN_HANN, SONO_WIN_HAMMING, SONO_WIN_BLACKMAN } sono_window_kind;

/* Everything the definitions above derive from a case's params, for any of the 4 ops. */
typedef struct sono_dsp_dims {
    double sample_rate;
    long long samples;     /* input length */
    long long used;        /* samples after logmel's pad_or_trim (= samples otherwise) */
    long long n_fft, hop, win_length;
    sono_window_kind window;
    int center;
    long long nbins;       /* n_fft/2 + 1 */
    long long frames;      /* frames in the output (logmel: after dropping the last) */
    long long n_mels;      /* melspec, logmel, mfcc */
    double fmin, fmax;     /* fmax resolved (0 -> sample_rate/2) */
    int htk;               /* mel scale: 1 htk, 0 slaney */
    int slaney_norm;       /* 1 slaney area normalisation, 0 none */
    double power;          /* melspec: exponent of |X|; 2 for logmel and mfcc */
    long long n_mfcc;
    double top_db;         /* mfcc; 0 = no clamp */
    int stft_output;       /* stft: 0 power, 1 magnitude, 2 complex */
    long long batch;       /* independent clips; every size above is one clip's */
} sono_dsp_dims;

/* Fill d from p for op ("stft", "melspec", "logmel", "mfcc"); SONO_EINVAL naming the
 * parameter when they contradict each other (fmax above Nyquist, too short an input...). */
int sono_dsp_dims_get(const char *op, const sono_params *p, sono_dsp_dims *d,
                      sono_error *err);

/* B > 1: the one-clip shapes in and out get the leading batch dim; B = 1: unchanged. */
void sono_dsp_batch_shapes(const sono_dsp_dims *d, sono_buf *in, sono_buf *out);

/* Streaming (issue 12), stft and melspec only: the input's steps are its samples, the
 * output's steps its frames ([rows, frames]: rows blocks of frames steps). Frame t needs
 * padded samples up to t*hop + n_fft - 1: a frame is complete once its last sample
 * exists, n_fft samples after its first, so algo_latency = n_fft / sample_rate. With
 * center = 1 that is n_fft/2 of history and n_fft/2 of look-ahead past the frame's
 * centre (the start's reflection needs x[1..n_fft/2], which the first frame waits for
 * anyway); the frames touching the end's reflection complete only with the last chunk.
 * logmel and mfcc do not stream: their clamps use the max over the whole output; nor
 * does batch > 1 (SONO_EUNSUPPORTED with the reason). */
int sono_dsp_stream_shape(const char *op, const sono_params *p, sono_stream_shape *s,
                          sono_error *err);

/* The batched references: out[b] = fn(clip b) for every clip (x + b * samples, out +
 * b * per doubles), the clips spread over threads (as many as the CPUs this process may
 * run on, at most batch): each clip is computed exactly as alone, so the result does not
 * depend on the split. Returns 0 or the first failing clip's code with its message. */
typedef int (*sono_dsp_clip_fn)(const sono_dsp_dims *d, const float *x, double *out,
                                sono_error *err);
int sono_dsp_per_clip(const sono_dsp_dims *d, const float *x, double *out, long long per,
                      sono_dsp_clip_fn fn, sono_error *err);

/* op->rate for the four ops: sample_rate, or 16000 for logmel. */
double sono_dsp_rate(const sono_params *p);
double sono_logmel_rate(const sono_params *p);

#endif
