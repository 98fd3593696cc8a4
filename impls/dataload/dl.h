/* dl.h — backend "dataload": the load.batch pipeline's parts. The manifest reader and
 * the crop rule restate harness/ops/load_batch.h (a plugin links nothing of the harness);
 * the sources (folder, .sbd, tar shards) hand out a clip's bytes; the decoders open
 * them from memory and decode just the span a crop needs. */
#ifndef SONO_DL_H
#define SONO_DL_H

#include <stdint.h>

#include "sono.h"

typedef struct dl_clip {
    char name[128];
    long long bytes, frames;
    int rate, channels;
    long long tar_off; /* tar: the member's data offset in its shard */
    int shard;
} dl_clip;

typedef struct dl_manifest {
    char source[8], format[8], root[4096], derived[4096];
    int shards, n;
    dl_clip *clips;
} dl_manifest;

int dl_parse(const char *text, size_t len, dl_manifest *m, sono_error *err);

/* load_batch.h's rule: the clip of slot s of batch b, its length L at rate and the crop's
 * first sample. */
uint64_t dl_key(uint64_t seed, uint64_t b, uint64_t s, uint64_t k);
void dl_slot(uint64_t seed, long long b, long long s, const dl_manifest *m, long long crop,
             int rate, int *clip, long long *start, long long *L);

/* ---- decode.c ---------------------------------------------------------------------- */

/* A clip's encoded bytes in memory, decoded to mono float. */
typedef struct dl_span {
    float *x;       /* out: mono samples [lo, lo + n) at rate fd */
    long long n, cap;
    float *tmp;     /* interleaved scratch */
    long long tcap;
} dl_span;

/* What the decoder says about the clip before decoding: its rate as decoded (Opus:
 * 48000) and frames at that rate. */
typedef struct dl_dec dl_dec;
int dl_dec_open(dl_dec **d, const char *format, const void *bytes, size_t n, int pcm_enc,
                int pcm_rate, int pcm_channels, long long pcm_frames, int *fd,
                long long *frames, sono_error *err);
/* Decode frames [lo, hi) (clamped to the clip) mixed to mono into sp->x. */
int dl_dec_read(dl_dec *d, long long lo, long long hi, dl_span *sp, sono_error *err);
/* Bytes of the clip the decoder has read so far (libsndfile through its virtual I/O, the
 * pre-decoded span; libopusfile's reads are not seen: 0). */
long long dl_dec_touched(const dl_dec *d);
void dl_dec_close(dl_dec *d);

#endif
