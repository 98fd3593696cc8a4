/* decode_ref.c — the `decode` references for the compressed formats, each a library used
 * directly and apart from the impls' libsndfile and libopusfile: libFLAC's stream
 * decoder, libvorbisfile, libogg + libopus (RFC 7845 by hand) and libmpg123. */
#include <FLAC/stream_decoder.h>
#include <mpg123.h>
#include <ogg/ogg.h>
#include <opus.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <vorbis/vorbisfile.h>

#include "decode.h"

/* Decoded samples land here: mono (channels averaged), the first cap kept, all counted. */
typedef struct sink {
    double *y;
    long long cap, n;
} sink;

static void put(sink *s, double v)
{
    if (s->n < s->cap)
        s->y[s->n] = v;
    s->n++;
}

/* ---- FLAC ------------------------------------------------------------------------- */
typedef struct flac_ctx {
    const unsigned char *b;
    size_t len, pos;
    sink out;
    int rate, bad;
} flac_ctx;

static FLAC__StreamDecoderReadStatus f_read(const FLAC__StreamDecoder *d, FLAC__byte buf[],
                                            size_t *bytes, void *u)
{
    (void)d;
    flac_ctx *c = u;
    size_t k = c->len - c->pos < *bytes ? c->len - c->pos : *bytes;
    memcpy(buf, c->b + c->pos, k);
    c->pos += k;
    *bytes = k;
    return k ? FLAC__STREAM_DECODER_READ_STATUS_CONTINUE
             : FLAC__STREAM_DECODER_READ_STATUS_END_OF_STREAM;
}

static FLAC__StreamDecoderWriteStatus f_write(const FLAC__StreamDecoder *d,
                                              const FLAC__Frame *fr,
                                              const FLAC__int32 *const ch[], void *u)
{
    (void)d;
    flac_ctx *c = u;
    double scale = ldexp(1.0, -(int)(fr->header.bits_per_sample - 1));
    c->rate = (int)fr->header.sample_rate;
    for (unsigned i = 0; i < fr->header.blocksize; i++) {
        double s = 0;
        for (unsigned k = 0; k < fr->header.channels; k++)
            s += ch[k][i];
        put(&c->out, s * scale / fr->header.channels);
    }
    return FLAC__STREAM_DECODER_WRITE_STATUS_CONTINUE;
}

static void f_error(const FLAC__StreamDecoder *d, FLAC__StreamDecoderErrorStatus st, void *u)
{
    (void)d;
    (void)st;
    ((flac_ctx *)u)->bad = 1;
}

int sono_flac_read(const unsigned char *b, size_t len, double *y, long long cap,
                   long long *got, int *rate, sono_error *err)
{
    flac_ctx c = {.b = b, .len = len, .out = {y, cap, 0}};
    FLAC__StreamDecoder *d = FLAC__stream_decoder_new();
    if (!d)
        return sono_fail(err, SONO_ENOMEM, "flac: cannot allocate libFLAC's decoder");
    FLAC__stream_decoder_set_md5_checking(d, true);
    int ok = FLAC__stream_decoder_init_stream(d, f_read, NULL, NULL, NULL, NULL, f_write, NULL,
                                              f_error, &c) == FLAC__STREAM_DECODER_INIT_STATUS_OK;
    ok = ok && FLAC__stream_decoder_process_until_end_of_stream(d);
    FLAC__uint64 total = FLAC__stream_decoder_get_total_samples(d);
    ok = ok && FLAC__stream_decoder_finish(d); /* false: the MD5 of the samples differs */
    if (ok && total == 0) /* stream info read but frames missing */
        ok = 0;
    FLAC__stream_decoder_delete(d);
    if (!ok || c.bad || (long long)total != c.out.n)
        return sono_fail(err, SONO_EPARSE, "flac: libFLAC decoded %lld of %llu samples from "
                         "%zu bytes (%s)", c.out.n, (unsigned long long)total, len,
                         c.bad ? "corrupt frames" : "truncated or MD5 mismatch");
    *got = c.out.n;
    *rate = c.rate;
    return 0;
}

/* ---- Ogg Vorbis -------------------------------------------------------------------- */
typedef struct mem {
    const unsigned char *b;
    size_t len, pos;
} mem;

static size_t v_read(void *ptr, size_t size, size_t nmemb, void *u)
{
    mem *m = u;
    size_t want = size * nmemb, k = m->len - m->pos < want ? m->len - m->pos : want;
    memcpy(ptr, m->b + m->pos, k);
    m->pos += k;
    return size ? k / size : 0;
}

int sono_vorbis_read(const unsigned char *b, size_t len, double *y, long long cap,
                     long long *got, int *rate, sono_error *err)
{
    mem m = {b, len, 0};
    OggVorbis_File vf;
    ov_callbacks cb = {v_read, NULL, NULL, NULL}; /* unseekable: read straight through */
    int rc = ov_open_callbacks(&m, &vf, NULL, 0, cb);
    if (rc)
        return sono_fail(err, SONO_EPARSE, "vorbis: libvorbisfile cannot open %zu bytes "
                         "(error %d)", len, rc);
    vorbis_info *vi = ov_info(&vf, -1);
    sink s = {y, cap, 0};
    int bs = 0;
    long n;
    float **pcm;
    while ((n = ov_read_float(&vf, &pcm, 4096, &bs)) != 0) {
        if (n < 0) {
            ov_clear(&vf);
            return sono_fail(err, SONO_EPARSE, "vorbis: corrupt stream after %lld samples "
                             "(error %ld)", s.n, n);
        }
        for (long i = 0; i < n; i++) {
            double v = 0;
            for (int k = 0; k < vi->channels; k++)
                v += pcm[k][i];
            put(&s, v / vi->channels);
        }
    }
    *rate = (int)vi->rate;
    ov_clear(&vf);
    *got = s.n;
    return 0;
}

/* ---- Ogg Opus (RFC 7845) ------------------------------------------------------------ */
int sono_opus_read(const unsigned char *b, size_t len, int out_rate, double *y,
                   long long cap, long long *got, sono_error *err)
{
    ogg_sync_state oy;
    ogg_stream_state os;
    ogg_page og;
    ogg_packet op;
    OpusDecoder *dec = NULL;
    int stream = 0, channels = 0, rc = 0, npk = 0;
    long long preskip = 0, last_gp = -1, pos = 0; /* pos: decoded samples at out_rate */
    double gain = 1;
    int maxf = out_rate * 120 / 1000; /* RFC 6716: at most 120 ms a packet */
    float *pcm = malloc(sizeof *pcm * (size_t)maxf * 2);
    sink s = {y, cap, 0};
    if (!pcm)
        return sono_fail(err, SONO_ENOMEM, "opus: cannot allocate a frame buffer");
    ogg_sync_init(&oy);
    char *buf = ogg_sync_buffer(&oy, (long)len);
    memcpy(buf, b, len);
    ogg_sync_wrote(&oy, (long)len);
    while (!rc && ogg_sync_pageout(&oy, &og) == 1) {
        if (!stream) {
            ogg_stream_init(&os, ogg_page_serialno(&og));
            stream = 1;
        }
        if (ogg_stream_pagein(&os, &og))
            continue; /* another logical stream: not ours */
        if (ogg_page_granulepos(&og) >= 0)
            last_gp = ogg_page_granulepos(&og);
        while (!rc && ogg_stream_packetout(&os, &op) == 1) {
            npk++;
            if (npk == 1) {
                const unsigned char *h = op.packet;
                if (op.bytes < 19 || memcmp(h, "OpusHead", 8) != 0 || h[18] != 0) {
                    rc = sono_fail(err, SONO_EPARSE, "opus: first packet is not an OpusHead "
                                   "of mapping family 0");
                    break;
                }
                channels = h[9];
                preskip = (long long)(h[10] | h[11] << 8);
                int g = (short)(h[16] | h[17] << 8);
                gain = pow(10.0, g / (20.0 * 256.0)); /* Q7.8 dB */
                int e = 0;
                dec = opus_decoder_create(out_rate, channels, &e);
                if (!dec || e != OPUS_OK)
                    rc = sono_fail(err, SONO_EPARSE, "opus: %d channels at %d Hz: %s",
                                   channels, out_rate, opus_strerror(e));
                continue;
            }
            if (npk == 2)
                continue; /* OpusTags */
            int k = opus_decode_float(dec, op.packet, (opus_int32)op.bytes, pcm, maxf, 0);
            if (k < 0) {
                rc = sono_fail(err, SONO_EPARSE, "opus: packet %d: %s", npk, opus_strerror(k));
                break;
            }
            /* pre-skip counts 48 kHz samples; at a lower rate it scales down exactly for
             * Opus's rates (48000 / rate is an integer) */
            long long skip = preskip * out_rate / 48000;
            for (int i = 0; i < k; i++, pos++) {
                if (pos < skip)
                    continue;
                double v = 0;
                for (int c = 0; c < channels; c++)
                    v += pcm[i * channels + c];
                put(&s, gain * v / channels);
            }
        }
    }
    if (!rc && (npk < 3 || last_gp < 0))
        rc = sono_fail(err, SONO_EPARSE, "opus: %d packets in %zu bytes: no audio "
                       "(truncated?)", npk, len);
    if (!rc) {
        /* the last granule position, in 48 kHz samples, ends the stream (end trimming) */
        long long total = (last_gp - preskip) * out_rate / 48000;
        if (total < 0 || total > s.n)
            rc = sono_fail(err, SONO_EPARSE, "opus: the last page ends at sample %lld but "
                           "%lld were decoded (truncated?)", total, s.n);
        else
            s.n = total;
    }
    if (dec)
        opus_decoder_destroy(dec);
    if (stream)
        ogg_stream_clear(&os);
    ogg_sync_clear(&oy);
    free(pcm);
    *got = s.n;
    return rc;
}

/* ---- MP3 ----------------------------------------------------------------------------- */
int sono_mp3_read(const unsigned char *b, size_t len, double *y, long long cap,
                  long long *got, int *rate, sono_error *err)
{
    int e = 0;
    mpg123_init(); /* a no-op since 1.27, needed before */
    mpg123_handle *h = mpg123_new(NULL, &e);
    if (!h)
        return sono_fail(err, SONO_ENOMEM, "mp3: mpg123_new: %s", mpg123_plain_strerror(e));
    /* gapless: the LAME tag's encoder delay and padding are removed, as every decoder that
     * reads it does; output float32 so no dithering or rounding is added */
    mpg123_param(h, MPG123_FLAGS, MPG123_GAPLESS | MPG123_QUIET, 0);
    mpg123_param(h, MPG123_ADD_FLAGS, MPG123_FORCE_FLOAT, 0);
    sink s = {y, cap, 0};
    int rc = 0, ch = 1;
    long r = 0;
    if (mpg123_open_feed(h) != MPG123_OK || mpg123_feed(h, b, len) != MPG123_OK)
        rc = sono_fail(err, SONO_EPARSE, "mp3: cannot feed %zu bytes: %s", len,
                       mpg123_strerror(h));
    unsigned char out[16384];
    for (;;) {
        size_t done = 0;
        int st = rc ? MPG123_ERR : mpg123_read(h, out, sizeof out, &done);
        if (st == MPG123_NEW_FORMAT) {
            int enc;
            mpg123_getformat(h, &r, &ch, &enc);
            if (enc != MPG123_ENC_FLOAT_32) {
                rc = sono_fail(err, SONO_EUNSUPPORTED, "mp3: mpg123 gives encoding %d, not "
                               "float32", enc);
                break;
            }
        }
        const float *f = (const float *)out;
        for (size_t i = 0; i + (size_t)ch <= done / sizeof(float); i += (size_t)ch) {
            double v = 0;
            for (int k = 0; k < ch; k++)
                v += f[i + (size_t)k];
            put(&s, v / ch);
        }
        if (st == MPG123_NEED_MORE || st == MPG123_DONE)
            break;
        if (st != MPG123_OK && st != MPG123_NEW_FORMAT) {
            if (!rc)
                rc = sono_fail(err, SONO_EPARSE, "mp3: after %lld samples: %s", s.n,
                               mpg123_strerror(h));
            break;
        }
    }
    mpg123_delete(h);
    if (!rc && (s.n == 0 || r <= 0))
        rc = sono_fail(err, SONO_EPARSE, "mp3: no audio in %zu bytes", len);
    *got = s.n;
    *rate = (int)r;
    return rc;
}
