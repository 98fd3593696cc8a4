/* load_batch.h — what the three files of op load.batch share: the input manifest's layout
 * and parser (load_input.c builds it), the crop rule, and the float64 reference's decoders
 * and resampler (load_ref.c). The dataload plugin restates the crop rule and the manifest
 * reader on its own (impls/dataload/), as a plugin links nothing of the harness. */
#ifndef SONO_LOAD_BATCH_H
#define SONO_LOAD_BATCH_H

#include <stdint.h>

#include "input.h"
#include "sono.h"

/* The input buffer: I32 [(LB_HEAD + clips * LB_LINE) / 4 + a variant number (see
 * load_batch.c's shapes)], text padded with NULs:
 *   sonobench load.batch 1
 *   source dir|sbd|tar
 *   format flac|wav|vorbis|opus
 *   root ABSOLUTE-FOLDER            the audio files
 *   packed ABSOLUTE-FILE.sbd        (sbd) the packed file made from them, by input()
 *   shards ABSOLUTE-FOLDER COUNT    (tar) the shards made from them, by input()
 *   clips N
 *   NAME BYTES SHA256 RATE FRAMES CHANNELS    N lines, names sorted
 * The files' sha256 pin the exact data: the input's own sha256 (in the record) covers
 * them, and so the paths too (a corpus in another cache folder hashes differently). */
#define LB_HEAD 8192
#define LB_LINE 256

typedef struct lb_clip {
    char name[128];
    long long bytes, frames;
    int rate, channels;
} lb_clip;

typedef struct lb_manifest {
    char source[8], format[8], root[4096], packed[4096];
    int shards, n;
    lb_clip *clips; /* malloc'd */
} lb_manifest;

int lb_parse(const char *text, size_t len, lb_manifest *m, sono_error *err);
void lb_manifest_free(lb_manifest *m);

/* The crop rule, by definition (the impls restate it):
 *   key(b, s, k) = splitmix64's finalizer of seed*0x9e3779b97f4a7c15 +
 *                  b*0xbf58476d1ce4e5b9 + s*0x94d049bb133111eb + k   (mod 2^64)
 *   clip of slot s of batch b = key(b, s, 0) mod N            (drawn with replacement)
 *   L = floor(frames * rate / file_rate), the clip's length at the output rate
 *   start = key(b, s, 1) mod (L - crop + 1) when L > crop, else 0
 *   the crop: output samples start .. start + crop - 1 of the clip resampled to rate
 *   (samples at or past L are 0), mono (channels averaged), then divided by its RMS:
 *   y = c / sqrt(mean(c^2) + 1e-12) (RMS, not peak: one sample cannot set the scale). */
uint64_t lb_key(uint64_t seed, uint64_t b, uint64_t s, uint64_t k);
void lb_slot(uint64_t seed, long long b, long long s, const lb_manifest *m, long long crop,
             int rate, int *clip, long long *start, long long *L);

/* ---- load_ref.c ------------------------------------------------------------------- */

/* The whole file as mono double at its own rate, by a route other than the impl's:
 * WAV by an own RIFF reader (PCM16, float32), FLAC by libFLAC, Ogg Vorbis by libvorbisfile,
 * Opus by libsndfile (the impl uses libopusfile). *x malloc'd, *n samples. */
int lb_ref_decode(const char *path, double **x, long long *n, int *rate, sono_error *err);

/* out[i] = the band-limited interpolation of x (n samples at rate fr) at output sample
 * start + i of rate `rate`, i < count: a Kaiser-windowed sinc (beta 8, 64 zero crossings
 * each side), cut off at 0.975 of the lower Nyquist, evaluated in double at those samples
 * alone (the kernel of each distinct phase is computed once). fr == rate copies. */
int lb_ref_resample(const double *x, long long n, int fr, int rate, long long start,
                    long long count, double *out, sono_error *err);

#endif
