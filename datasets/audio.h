/* audio.h — internal to datasets/: the synthesised signals added for the audio ops (pink,
 * sweep, clicks, square), the mono reader/resampler of one audio file (resample.c) and the
 * inputs assembled from several files: a directory and the speech manifest (speech.c). */
#ifndef SONO_DATASETS_AUDIO_H
#define SONO_DATASETS_AUDIO_H

#include "input.h"

/* ---- synth.c: n samples at rate into out (n floats, or 2n interleaved for cplx) ---- */

/* Voss-McCartney 1/f noise: 15 rows held 2^k samples plus one white term, all uniform
 * 24-bit integers, summed exactly and scaled once: x = amp * sum / 2^27, so |x| < amp and
 * the RMS is amp / sqrt(48). Complex: independent re and im streams. */
void sono_synth_pink(float *out, long long n, int cplx, unsigned long long seed, double amp);

/* Farina's exponential sweep from f0 to f1 (f0 > 0) over the n samples:
 * phase(t) = 2 pi f0 T / L (exp(L t / T) - 1), L = ln(f1 / f0), T = n / rate.
 * Complex: amp exp(i phase). */
void sono_synth_sweep(float *out, long long n, int cplx, double rate, double amp, double f0,
                      double f1);

/* Unit impulses at samples llround(k * period * rate), k = 0, 1, ...; period * rate >= 1.
 * Complex: real deltas. */
void sono_synth_clicks(float *out, long long n, int cplx, double rate, double period);

/* clip(10 sin(2 pi freq t / rate)) to [-1, 1]: full scale, exactly +-1 where
 * |sin| >= 0.1 (93.6% of the time). Complex: re from cos, im from sin, each clipped. */
void sono_synth_square(float *out, long long n, int cplx, double rate, double freq);

/* ---- audiofile.c ------------------------------------------------------------------ */

/* True when name ends in .wav .flac .ogg .aiff or .au (any case). */
int sono_audio_ext(const char *name);

/* ---- resample.c ------------------------------------------------------------------- */

/* Open path with libsndfile and check it holds audio (frames, channels and rate > 0).
 * SONO_ENOTFOUND when it is missing, SONO_EPARSE when libsndfile cannot read it, SONO_EIO
 * when the system refuses; the message names path. rate, frames: the file's (may be
 * NULL). */
int sono_audio_check(const char *path, int *rate, long long *frames, sono_error *err);

/* Up to cap mono samples of path from its start into out: channels averaged in double
 * with one rounding; then, unless rate is 0 or the file's own, resampled to rate with
 * libsamplerate's SRC_SINC_BEST_QUALITY, streamed in chunks. *got: samples written (the
 * whole file when it is shorter than cap). *file_rate (may be NULL): the file's rate. */
int sono_audio_read(const char *path, double rate, float *out, long long cap,
                    long long *got, int *file_rate, sono_error *err);

/* Spread n mono samples at the start of buf into n complex ones (re = x, im = 0), in
 * place; buf holds 2n floats. */
void sono_audio_to_complex(float *buf, long long n);

/* ---- speech.c --------------------------------------------------------------------- */

/* The speech manifest: lines "SHA256 PATH DESCRIPTION", '#' comments; a relative PATH is
 * relative to the manifest's folder. Found as datasets/speech.manifest or
 * share/sonobench/datasets/speech.manifest under the executable's folder's parent, its
 * parent and so on up to 4 levels (bin/harness, build/tests/x, build/asan/tests/x). */
int sono_speech_find_manifest(char *out, size_t n, sono_error *err);

/* Check every file a manifest lists: present (else SONO_ENOTFOUND with the path and
 * "install alsa-utils (ci/install-deps.sh)"), sha256 as listed (else SONO_EPARSE with the
 * file and both hashes) and readable audio. */
int sono_speech_check_manifest(const char *manifest, sono_error *err);

/* n samples of the manifest's files at rate, each mixed to mono and resampled,
 * concatenated in manifest order and repeated from the start until n. */
int sono_speech_fill(const char *manifest, double rate, float *out, long long n,
                     sono_error *err);

/* Recording #index (from 0) of a manifest: its resolved path and listed sha256 (sha may
 * be NULL); *count (may be NULL): how many it lists. Past the end: SONO_ENOTFOUND. */
int sono_speech_entry(const char *manifest, int index, char *path, size_t n, char sha[65],
                      int *count, sono_error *err);

/* The audio files (.wav .flac .ogg .aiff .au) of a directory, sorted by name (strcmp):
 * *paths is malloc'd, free with sono_audio_free_list. None: SONO_ENOTFOUND naming dir. */
int sono_audio_list_dir(const char *dir, char ***paths, int *count, sono_error *err);
void sono_audio_free_list(char **paths, int count);

/* Check each file of a directory as sono_audio_check does. */
int sono_audio_check_dir(const char *dir, sono_error *err);

/* n samples of a directory's files, concatenated as listed and not looped: each mixed to
 * mono and resampled to rate, or to the first file's rate when rate is 0. Too short:
 * SONO_EUNSUPPORTED naming both counts. *rate_out: the rate used. */
int sono_dir_fill(const char *dir, double rate, float *out, long long n, double *rate_out,
                  sono_error *err);
/* The same; *have: samples actually there (no error when short: the caller pads). */
int sono_dir_fill_upto(const char *dir, double rate, float *out, long long n,
                       long long *have, double *rate_out, sono_error *err);

#endif
