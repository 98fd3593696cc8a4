/* audio.h — backend "audio": decoders (libsndfile, libopusfile) and resamplers
 * (libsamplerate, libsoxr) over the decode and resample ops' layouts (harness/ops/decode.c,
 * harness/ops/resample_op.c), which this backend reads from their comments only. */
#ifndef SONO_AUDIO_IMPLS_H
#define SONO_AUDIO_IMPLS_H

#include <stddef.h>

#include "sono.h"

/* decode's input header: the byte count, then the format, then the file's bytes */
#define AUDIO_DEC_HDR 2
#define AUDIO_FMT_OPUS 4

/* One decoder's state: the file bound at load, the output of the last run. */
typedef struct audio_dec {
    const unsigned char *bytes;
    size_t len;
    long long n;     /* samples the op expects */
    float *out;      /* n + 1: one more, to see a decoder that gives too many */
    long long got;   /* samples the last run decoded */
    int rate;        /* the rate the decoder reported */
    char why[256];   /* what went wrong in the last run */
    int (*decode)(void *st);
} audio_dec;

int audio_sndfile_init(audio_dec *st);
int audio_opusfile_init(audio_dec *st);

extern const sono_impl audio_decode_impls[];
extern const int audio_ndecode_impls;
extern const sono_impl audio_resample_impls[];
extern const int audio_nresample_impls;

void *audio_amalloc(size_t bytes);

#endif
