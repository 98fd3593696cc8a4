/* decode.h — the `decode` op's input layout and its second, independent decoders: an own
 * RIFF/WAV reader, libFLAC, libvorbisfile, libopus + libogg, libmpg123. The impls
 * (impls/audio/) decode the same bytes with libsndfile and libopusfile instead. */
#ifndef SONO_DECODE_H
#define SONO_DECODE_H

#include <stddef.h>

#include "op.h"

/* Input buffer: I32 [SONO_DEC_HDR + words], words = (bound + 3) / 4 with
 * bound = sono_decode_bound(samples):
 *   in[0]  the encoded file's length in bytes (<= bound)
 *   in[1]  the format, as its index in SONO_DECODE_FORMATS (0 wav16 .. 5 mp3)
 *   bytes  the file itself, from byte offset 4 * SONO_DEC_HDR; zeros after it. */
#define SONO_DEC_HDR 2
#define SONO_DECODE_FORMATS "wav16|wavf32|flac|vorbis|opus|mp3"
enum { SONO_FMT_WAV16, SONO_FMT_WAVF32, SONO_FMT_FLAC, SONO_FMT_VORBIS, SONO_FMT_OPUS,
       SONO_FMT_MP3, SONO_NFMT };

int sono_decode_format(const char *name); /* index, or -1 */
/* An upper bound on any format's file of n mono samples: float32 PCM plus headers. The
 * lossy and lossless codecs stay below 32 bits a sample at their default settings. */
long long sono_decode_bound(long long n);

/* Encode n mono float samples at rate into the format with libsndfile, into buf (cap
 * bytes); *len = bytes written. Ogg serial numbers (random in libsndfile) are rewritten
 * to a fixed one and page CRCs redone, so the same samples give the same bytes. */
int sono_decode_encode(int fmt, const float *x, long long n, int rate, unsigned char *buf,
                       size_t cap, size_t *len, sono_error *err);

/* The second decoders: the file's samples as double, mono (channels averaged), at most
 * cap of them; *got = how many the file holds (may exceed cap: the rest is dropped),
 * *rate = the rate the samples are at. SONO_EPARSE naming the format on bad bytes. */
int sono_wav_read(const unsigned char *b, size_t len, double *y, long long cap,
                  long long *got, int *rate, sono_error *err);
int sono_flac_read(const unsigned char *b, size_t len, double *y, long long cap,
                   long long *got, int *rate, sono_error *err);
int sono_vorbis_read(const unsigned char *b, size_t len, double *y, long long cap,
                     long long *got, int *rate, sono_error *err);
/* decodes at out_rate (an Opus rate), applies the header's pre-skip and output gain and
 * trims the end by the last page's granule position (RFC 7845) */
int sono_opus_read(const unsigned char *b, size_t len, int out_rate, double *y,
                   long long cap, long long *got, sono_error *err);
int sono_mp3_read(const unsigned char *b, size_t len, double *y, long long cap,
                  long long *got, int *rate, sono_error *err);

#endif
