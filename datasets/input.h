/* input.h — the inputs a case runs on: seeded generators (noise, pink, sine, chirp, sweep,
 * impulse, clicks, square, silence), the speech recordings a manifest lists, and audio
 * files or directories read with libsndfile. An input spec is text in a suite or on the
 * command line; filling it gives the exact samples whose sha256 goes in the record. */
#ifndef SONO_INPUT_H
#define SONO_INPUT_H

#include "sono.h"

typedef enum { SONO_INPUT_GEN = 1, SONO_INPUT_FILE = 2 } sono_input_kind;

typedef struct sono_input_spec {
    sono_input_kind kind;
    char name[160];  /* stable text for case ids: "noise", "sine(freq=440)", "speech.wav" */
    char gen[16];    /* generator: one of sono_input_generators */
    unsigned long long seed; /* noise, pink */
    double amp;      /* peak amplitude (noise: uniform in [-amp, amp); pink: |x| < amp) */
    double freq;     /* sine, square, Hz */
    double f0, f1;   /* chirp (linear), sweep (exponential): from f0 to f1 Hz over the
                        whole signal */
    long long pos;   /* impulse: sample index of the unit impulse */
    double period;   /* clicks: seconds between unit impulses */
    int dir;         /* file: path is a directory (its audio files, concatenated) */
    char path[4096]; /* file or directory: resolved path; speech: the manifest */
} sono_input_spec;

/* Parse a generator with its options:
 *   noise(seed=1,amp=0.5)      uniform white noise in [-amp, amp)
 *   pink(seed=1,amp=0.5)       Voss-McCartney 1/f noise, |x| < amp, RMS amp/sqrt(48)
 *   sine(freq=1000,amp=0.5)
 *   chirp(f0=20,f1=0.45 rate,amp=0.5)   linear sweep over the whole signal
 *   sweep(f0=20,f1=0.45 rate,amp=0.5)   exponential (log) sweep, Farina's formula; f0 > 0
 *   impulse(pos=0)             one unit impulse
 *   clicks(period=0.5)         unit impulses every period seconds, the first at sample 0
 *   square(freq=1000)          clip(10 sin) to [-1, 1]: full scale, +-1 93.6% of the time
 *   silence
 *   speech                     the voice recordings of datasets/speech.manifest (alsa-utils'
 *                              8 channel-test voices, ~11.4 s), resampled to the rate and
 *                              looped to any length; their sha256 is checked here
 * or a path to an audio file (anything with '/' or ending in .wav .flac .ogg .aiff .au),
 * or a directory (its name needs a '/', as in "clips/"): its audio files in name order,
 * concatenated, never looped. A relative path is tried against base_dir (the suite's
 * folder) then the working directory. Files are opened and checked here, so a bad WAV
 * fails the suite before anything runs: SONO_ENOTFOUND or SONO_EPARSE naming the file.
 * Unknown generators or options: SONO_EINVAL naming what is known. */
int sono_input_parse(const char *text, const char *base_dir, sono_input_spec *spec,
                     sono_error *err);

/* Fill buf (dtype SONO_F32 or SONO_C64, shape and data already set by the caller) with
 * sono_buf_elems(buf) consecutive samples of the signal. For SONO_C64 generators give the
 * analytic signal (noise, pink: independent re and im; sine, chirp, sweep:
 * amp exp(i*phase); square: clipped cos and sin; impulse, clicks: real deltas) and files,
 * directories and speech give re = sample, im = 0. sample_rate is the generators' and
 * speech's rate; *rate_out receives the rate actually used (a file's own, a directory's
 * first file's). A file or directory with fewer samples than needed: SONO_EUNSUPPORTED
 * naming both counts (the case is skipped, never padded). Files are mixed down to mono by
 * averaging channels. */
int sono_input_fill(const sono_input_spec *spec, double sample_rate, sono_buf *buf,
                    double *rate_out, sono_error *err);

/* sono_input_fill at a rate the op fixes (an audio op's sample_rate): generators and
 * speech synthesise or resample at rate; files and directories are mixed to mono and
 * resampled from their own rate to rate with libsamplerate's SRC_SINC_BEST_QUALITY
 * (streamed in chunks; a file already at rate is copied untouched) before the first n
 * samples are taken. buf is SONO_F32 or SONO_C64 as for sono_input_fill. */
int sono_input_fill_at(const sono_input_spec *spec, double rate, sono_buf *buf,
                       sono_error *err);

/* sono_input_fill_at, except that a file or directory shorter than the buffer is
 * zero-padded at the end instead of refused: Whisper's pad_or_trim, for logmel. */
int sono_input_fill_padded(const sono_input_spec *spec, double rate, sono_buf *buf,
                           sono_error *err);

/* The length of a file or directory input in seconds (a directory: the sum over its
 * files) and its rate (a directory's first file's). Errors as sono_audio_check's. */
int sono_input_file_seconds(const sono_input_spec *spec, double *seconds, int *rate,
                            sono_error *err);

/* --lenient (run, exec): a WAV whose header promises more data than the file holds is
 * read as far as it goes, with a warning on stderr naming the file, instead of refused.
 * Worker processes inherit it (quietly, the parent warned) through SONO_AUDIO_LENIENT. */
void sono_audio_set_lenient(int on);

/* Names of the generators, for `harness list` and error messages; ends with NULL. */
extern const char *const sono_input_generators[];

/* One line on a generator (its options, defaults and what it makes), for `harness list`;
 * NULL for a name that is not a generator. */
const char *sono_input_help(const char *gen);

/* ---- the file half, in datasets/audiofile.c, called by the two above -------------- */

/* True when text names an audio file or directory rather than a generator: it contains
 * '/' or ends in .wav .flac .ogg .aiff .au (any case). */
int sono_input_is_file(const char *text);

/* sono_input_parse for a file or directory: resolve, open every file with libsndfile,
 * check, fill spec (kind, dir, path, name = basename, a directory's with a trailing '/').
 * Missing: SONO_ENOTFOUND naming the paths tried. */
int sono_input_parse_file(const char *text, const char *base_dir, sono_input_spec *spec,
                          sono_error *err);

/* sono_input_fill for a file or directory spec at rate (0: the file's own, a directory's
 * first file's); buf is SONO_F32 or SONO_C64, already checked. */
int sono_input_fill_file(const sono_input_spec *spec, double rate, sono_buf *buf,
                         double *rate_out, sono_error *err);
/* The same; pad: zero-fill what a short file or directory lacks instead of refusing. */
int sono_input_fill_file_pad(const sono_input_spec *spec, double rate, sono_buf *buf,
                             int pad, double *rate_out, sono_error *err);

#endif
