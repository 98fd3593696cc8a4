/* corpus.h — the clip corpus behind load.batch and `harness dataset corpus`: N clips cut,
 * looped and varied from the speech recordings by a seeded PRNG, one folder per format,
 * each with a MANIFEST of sha256; cached by its parameters under the sonobench cache.
 * Also the manifest of any folder of audio files (a user's `--input DIR`). */
#ifndef SONO_CORPUS_H
#define SONO_CORPUS_H

#include "sono.h"

/* The corpus formats, in this order: wav (PCM16), flac (PCM16), vorbis (.ogg), opus
 * (.opus, Ogg Opus; clips at 22.05/44.1 kHz are made at 24/48 kHz, the rates Opus has). */
extern const char *const sono_corpus_formats[]; /* NULL-terminated */
/* The file extension of a format ("vorbis" -> "ogg"), NULL for an unknown one. */
const char *sono_corpus_ext(const char *format);

/* Clip i of the corpus (clips, seed): its rate (16000, 22050, 44100 or 48000) and frames
 * (1-20 s), a pure function of (seed, i). */
void sono_corpus_clip_shape(unsigned long long seed, int i, int *rate, long long *frames);

/* Write the corpus into dir/<format>/clipNNNNN.<ext> plus dir/<format>/MANIFEST for each
 * format of the comma-separated list (NULL: all). Deterministic in its samples; the Ogg
 * containers carry a random stream serial, so vorbis and opus bytes differ between
 * writes (the MANIFEST pins what was written). */
int sono_corpus_write(const char *dir, int clips, unsigned long long seed, const char *formats,
                      sono_error *err);

/* The sonobench cache folder: $SONO_CACHE_DIR, else $XDG_CACHE_HOME/sonobench, else
 * $HOME/.cache/sonobench (created). */
int sono_cache_dir(char *out, size_t n, sono_error *err);

/* The cached corpus folder of one format (written on first use, atomically: built in a
 * temporary folder and renamed, so concurrent users see all or nothing). */
int sono_corpus_cached(int clips, unsigned long long seed, const char *format, char *out,
                       size_t n, sono_error *err);

/* A folder's manifest as text, one line per audio file whose name ends in ".<ext>" (ext
 * NULL: every audio file), sorted by name, at most max_files:
 *   NAME BYTES SHA256 RATE FRAMES CHANNELS
 * *text malloc'd; *count the lines. None: SONO_ENOTFOUND naming dir. */
int sono_corpus_manifest(const char *dir, const char *ext, int max_files, char **text,
                         int *count, sono_error *err);

/* rm -rf of a folder this process made (temporary corpus folders). */
void sono_rmtree(const char *dir);

#endif
