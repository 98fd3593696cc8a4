/* sndfile.c — impl audio/sndfile of decode: libsndfile over the in-memory bytes
 * (sf_open_virtual), sf_readf_float of the whole file, channels averaged. run() opens,
 * reads and closes, so header parsing is timed with the samples. */
#include <sndfile.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "audio.h"

typedef struct mem {
    const unsigned char *b;
    sf_count_t len, pos;
} mem;

static sf_count_t m_len(void *u)
{
    return ((mem *)u)->len;
}

static sf_count_t m_seek(sf_count_t off, int whence, void *u)
{
    mem *m = u;
    sf_count_t base = whence == SEEK_CUR ? m->pos : whence == SEEK_END ? m->len : 0;
    if (base + off < 0 || base + off > m->len)
        return -1;
    return m->pos = base + off;
}

static sf_count_t m_read(void *ptr, sf_count_t n, void *u)
{
    mem *m = u;
    sf_count_t k = m->len - m->pos < n ? m->len - m->pos : n;
    memcpy(ptr, m->b + m->pos, (size_t)k);
    m->pos += k;
    return k;
}

static sf_count_t m_write(const void *ptr, sf_count_t n, void *u)
{
    (void)ptr;
    (void)n;
    (void)u;
    return 0;
}

static sf_count_t m_tell(void *u)
{
    return ((mem *)u)->pos;
}

static int dec_run(void *vst)
{
    audio_dec *st = vst;
    SF_VIRTUAL_IO io = {m_len, m_seek, m_read, m_write, m_tell};
    mem m = {st->bytes, (sf_count_t)st->len, 0};
    SF_INFO info;
    memset(&info, 0, sizeof info);
    SNDFILE *f = sf_open_virtual(&io, SFM_READ, &info, &m);
    st->got = 0;
    if (!f) {
        snprintf(st->why, sizeof st->why, "libsndfile cannot open the %zu bytes: %s", st->len,
                 sf_strerror(NULL));
        return SONO_EPARSE;
    }
    st->rate = info.samplerate;
    int ch = info.channels, rc = 0;
    if (ch == 1) {
        sf_count_t k = sf_readf_float(f, st->out, st->n + 1);
        st->got = (long long)k;
    } else {
        float buf[4096];
        sf_count_t per = (sf_count_t)(sizeof buf / sizeof buf[0]) / ch, k;
        while ((k = sf_readf_float(f, buf, per)) > 0) {
            for (sf_count_t i = 0; i < k; i++, st->got++) {
                float s = 0;
                for (int c = 0; c < ch; c++)
                    s += buf[i * ch + c];
                if (st->got <= st->n)
                    st->out[st->got] = s / (float)ch;
            }
        }
    }
    if (sf_error(f)) {
        snprintf(st->why, sizeof st->why, "libsndfile: %s after %lld samples", sf_strerror(f),
                 st->got);
        rc = SONO_EPARSE;
    } else if (info.frames > 0 && info.frames != SF_COUNT_MAX && st->got < info.frames) {
        /* a truncated file: the header promised more frames than the bytes hold */
        snprintf(st->why, sizeof st->why, "libsndfile read %lld of the %lld frames the header "
                 "declares (truncated)", st->got, (long long)info.frames);
        rc = SONO_EPARSE;
    }
    sf_close(f);
    return rc;
}

int audio_sndfile_init(audio_dec *st)
{
    st->decode = dec_run;
    return 0;
}
