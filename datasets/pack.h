/* pack.h — a folder of audio files into the packed file (.sbd) or into tar shards: what
 * `harness dataset pack|shard` and load.batch's input step (never the timed run) do. */
#ifndef SONO_PACK_H
#define SONO_PACK_H

#include "sono.h"

/* Pack the audio files of dir ending in .<ext> (NULL: all), sorted by name, at most
 * max_files, into out (replaced). encoding: SONO_SBD_PCM16 or SONO_SBD_F32 (decoded with
 * libsndfile, mixed to mono, resampled to rate with libsamplerate unless rate is 0), or
 * SONO_SBD_FLAC (the FLAC files' bytes as they are: .flac sources only, rate 0). Written
 * to out.tmpPID and renamed, so a reader never sees half a file. */
int sono_pack_dir(const char *dir, const char *ext, int max_files, int encoding, int rate,
                  const char *out, sono_error *err);

/* The same files into outdir/shard-NNNNNN.tar, per_shard each (tarshard.h). */
int sono_shard_dir(const char *dir, const char *ext, int max_files, int per_shard,
                   const char *outdir, int *shards, sono_error *err);

#endif
