/* input.h — the inputs a case runs on: seeded generators (noise, sine, chirp, impulse,
 * silence) and audio files read with libsndfile. An input spec is text in a suite or on
 * the command line; filling it gives the exact samples whose sha256 goes in the record. */
#ifndef SONO_INPUT_H
#define SONO_INPUT_H

#include "sono.h"

typedef enum { SONO_INPUT_GEN = 1, SONO_INPUT_FILE = 2 } sono_input_kind;

typedef struct sono_input_spec {
    sono_input_kind kind;
    char name[160];  /* stable text for case ids: "noise", "sine(freq=440)", "speech.wav" */
    char gen[16];    /* generator: noise, sine, chirp, impulse, silence */
    unsigned long long seed; /* noise */
    double amp;      /* peak amplitude (noise: uniform in [-amp, amp)) */
    double freq;     /* sine, Hz */
    double f0, f1;   /* chirp: linear sweep from f0 to f1 Hz over the whole signal */
    long long pos;   /* impulse: sample index of the unit impulse */
    char path[4096]; /* file: resolved path */
} sono_input_spec;

/* Parse "noise", "noise(seed=7)", "sine(freq=440,amp=0.5)", "chirp(f0=20,f1=20000)",
 * "impulse(pos=0)", "silence", or a path to an audio file (anything with '/' or a '.'
 * extension). A relative path is tried against base_dir (the suite's folder) then the
 * working directory. The file is opened and checked here, so a bad WAV fails the suite
 * before anything runs. Unknown generators or options: SONO_EINVAL naming what is known. */
int sono_input_parse(const char *text, const char *base_dir, sono_input_spec *spec,
                     sono_error *err);

/* Fill buf (dtype SONO_F32 or SONO_C64, shape and data already set by the caller) with
 * sono_buf_elems(buf) consecutive samples of the signal. For SONO_C64 generators give the
 * analytic signal (noise: independent re and im; sine and chirp: exp(i*phase); impulse:
 * a real delta) and files give re = sample, im = 0. sample_rate is the generators' rate;
 * *rate_out receives the rate actually used (a file's own). A file with fewer samples
 * than needed: SONO_EUNSUPPORTED naming both counts (the case is skipped, never padded).
 * Files are mixed down to mono by averaging channels. */
int sono_input_fill(const sono_input_spec *spec, double sample_rate, sono_buf *buf,
                    double *rate_out, sono_error *err);

/* sono_input_fill at a rate the op fixes (an audio op's sample_rate): generators
 * synthesise at rate, files are mixed to mono and resampled from their own rate to rate
 * with a band-limited resampler (libsamplerate, best sinc) before the first n samples
 * are taken. buf is SONO_F32 or SONO_C64 as for sono_input_fill. */
int sono_input_fill_at(const sono_input_spec *spec, double rate, sono_buf *buf,
                       sono_error *err);

/* Names of the generators, for `harness list` and error messages. */
extern const char *const sono_input_generators[];

/* ---- appended: the file half, in datasets/audiofile.c, called by the two above ----- */
/* sono_input_generators ends with a NULL entry. */

/* True when text names an audio file rather than a generator: it contains '/' or ends in
 * .wav .flac .ogg .aiff .au (any case). */
int sono_input_is_file(const char *text);

/* sono_input_parse for a file: resolve, open with libsndfile, check, fill spec (kind,
 * path, name = basename). Missing file: SONO_ENOTFOUND naming the paths tried. */
int sono_input_parse_file(const char *text, const char *base_dir, sono_input_spec *spec,
                          sono_error *err);

/* sono_input_fill for a file spec; buf is SONO_F32 or SONO_C64, already checked. */
int sono_input_fill_file(const sono_input_spec *spec, sono_buf *buf, double *rate_out,
                         sono_error *err);

#endif
