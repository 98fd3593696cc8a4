/* decode.c — the dataload backend's decoders, all from memory: libsndfile's virtual I/O
 * for WAV, FLAC and Ogg Vorbis, libopusfile for Opus (always 48 kHz), and the .sbd
 * pre-decoded encodings (pcm16, f32) read straight from the map. Each seeks to the span a
 * crop needs, so a 2 s crop of a 20 s clip decodes about 2 s. */
#include "dl.h"

#include <opusfile.h>
#include <sndfile.h>
#include <stdlib.h>
#include <string.h>

#include "sbd.h"

struct dl_dec {
    const unsigned char *bytes;
    sf_count_t n, pos;
    SNDFILE *sf;
    OggOpusFile *of;
    int enc, channels; /* enc: SONO_SBD_PCM16 / F32 for pre-decoded, else 0 */
    long long frames;
    long long touched; /* bytes of the clip the decoder read */
};

static sf_count_t v_len(void *u) { return ((struct dl_dec *)u)->n; }
static sf_count_t v_seek(sf_count_t off, int whence, void *u)
{
    struct dl_dec *d = u;
    sf_count_t p = whence == SEEK_SET ? off : whence == SEEK_CUR ? d->pos + off : d->n + off;
    d->pos = p < 0 ? 0 : p > d->n ? d->n : p;
    return d->pos;
}
static sf_count_t v_read(void *buf, sf_count_t count, void *u)
{
    struct dl_dec *d = u;
    sf_count_t k = d->n - d->pos < count ? d->n - d->pos : count;
    memcpy(buf, d->bytes + d->pos, (size_t)k);
    d->pos += k;
    d->touched += k;
    return k;
}
static sf_count_t v_write(const void *buf, sf_count_t count, void *u)
{
    (void)buf;
    (void)count;
    (void)u;
    return 0;
}
static sf_count_t v_tell(void *u) { return ((struct dl_dec *)u)->pos; }

int dl_dec_open(dl_dec **dp, const char *format, const void *bytes, size_t n, int pcm_enc,
                int pcm_rate, int pcm_channels, long long pcm_frames, int *fd,
                long long *frames, sono_error *err)
{
    struct dl_dec *d = calloc(1, sizeof *d);
    if (!d)
        return sono_fail(err, SONO_ENOMEM, "dataload: out of memory");
    d->bytes = bytes;
    d->n = (sf_count_t)n;
    *dp = d;
    if (pcm_enc == SONO_SBD_PCM16 || pcm_enc == SONO_SBD_F32) {
        d->enc = pcm_enc;
        d->channels = pcm_channels;
        d->frames = pcm_frames;
        *fd = pcm_rate;
    } else if (strcmp(format, "opus") == 0) {
        int e = 0;
        d->of = op_open_memory(bytes, n, &e);
        if (!d->of)
            return sono_fail(err, SONO_EPARSE, "dataload: libopusfile cannot open the clip "
                             "(%d)", e);
        d->channels = op_channel_count(d->of, -1);
        d->frames = op_pcm_total(d->of, -1);
        *fd = 48000;
    } else {
        static SF_VIRTUAL_IO vio = {v_len, v_seek, v_read, v_write, v_tell};
        SF_INFO info = {0};
        d->sf = sf_open_virtual(&vio, SFM_READ, &info, d);
        if (!d->sf)
            return sono_fail(err, SONO_EPARSE, "dataload: libsndfile cannot open the clip: %s",
                             sf_strerror(NULL));
        d->channels = info.channels;
        d->frames = info.frames;
        *fd = info.samplerate;
    }
    *frames = d->frames;
    return 0;
}

static int grow(float **p, long long *cap, long long want)
{
    if (want <= *cap)
        return 0;
    float *g = realloc(*p, (size_t)want * sizeof *g);
    if (!g)
        return -1;
    *p = g;
    *cap = want;
    return 0;
}

int dl_dec_read(dl_dec *d, long long lo, long long hi, dl_span *sp, sono_error *err)
{
    if (hi > d->frames)
        hi = d->frames;
    if (lo > hi)
        lo = hi;
    long long want = hi - lo, ch = d->channels, got = 0;
    if (grow(&sp->x, &sp->cap, want + 1) || grow(&sp->tmp, &sp->tcap, (want + 1) * ch))
        return sono_fail(err, SONO_ENOMEM, "dataload: out of memory for %lld frames", want);
    if (d->enc == SONO_SBD_PCM16) {
        const int16_t *q = (const int16_t *)(const void *)d->bytes + lo * ch;
        for (long long i = 0; i < want; i++) {
            float s = 0;
            for (long long c = 0; c < ch; c++)
                s += q[i * ch + c] * (1.0f / 32768.0f);
            sp->x[i] = s / (float)ch;
        }
        sp->n = want;
        d->touched += want * ch * 2;
        return 0;
    }
    if (d->enc == SONO_SBD_F32 && ch == 1) {
        memcpy(sp->x, (const float *)(const void *)d->bytes + lo, (size_t)want * sizeof(float));
        sp->n = want;
        d->touched += want * 4;
        return 0;
    }
    float *t = sp->tmp;
    if (d->enc == SONO_SBD_F32) {
        memcpy(t, (const float *)(const void *)d->bytes + lo * ch,
               (size_t)(want * ch) * sizeof(float));
        got = want;
        d->touched += want * ch * 4;
    } else if (d->sf) {
        if (lo && sf_seek(d->sf, lo, SEEK_SET) != lo)
            return sono_fail(err, SONO_EPARSE, "dataload: libsndfile cannot seek to frame %lld",
                             lo);
        got = sf_readf_float(d->sf, t, want);
    } else {
        if (op_pcm_seek(d->of, lo))
            return sono_fail(err, SONO_EPARSE, "dataload: libopusfile cannot seek to %lld", lo);
        while (got < want) {
            int r = op_read_float(d->of, t + got * ch, (int)((want - got) * ch), NULL);
            if (r < 0)
                return sono_fail(err, SONO_EPARSE, "dataload: libopusfile error %d", r);
            if (r == 0)
                break;
            got += r;
        }
    }
    if (ch == 1)
        memcpy(sp->x, t, (size_t)got * sizeof(float));
    else
        for (long long i = 0; i < got; i++) {
            float s = 0;
            for (long long c = 0; c < ch; c++)
                s += t[i * ch + c];
            sp->x[i] = s / (float)ch;
        }
    sp->n = got;
    return 0;
}

long long dl_dec_touched(const dl_dec *d) { return d ? d->touched : 0; }

void dl_dec_close(dl_dec *d)
{
    if (!d)
        return;
    if (d->sf)
        sf_close(d->sf);
    if (d->of)
        op_free(d->of);
    free(d);
}
