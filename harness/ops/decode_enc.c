/* decode_enc.c — the `decode` op's input: a signal encoded by libsndfile into memory
 * (virtual I/O over a fixed buffer), made deterministic by fixing the Ogg serial numbers
 * libsndfile draws from the clock. */
#include <sndfile.h>
#include <stdint.h>
#include <string.h>

#include "decode.h"

int sono_decode_format(const char *name)
{
    static const char *const names[SONO_NFMT] = {"wav16", "wavf32", "flac", "vorbis",
                                                 "opus", "mp3"};
    for (int i = 0; name && i < SONO_NFMT; i++)
        if (strcmp(name, names[i]) == 0)
            return i;
    return -1;
}

long long sono_decode_bound(long long n)
{
    return 4 * n + 65536;
}

typedef struct membuf {
    unsigned char *b;
    size_t cap, len, pos;
    int overflow;
} membuf;

static sf_count_t m_len(void *u)
{
    return (sf_count_t)((membuf *)u)->len;
}

static sf_count_t m_seek(sf_count_t off, int whence, void *u)
{
    membuf *m = u;
    sf_count_t base = whence == SEEK_CUR ? (sf_count_t)m->pos
                      : whence == SEEK_END ? (sf_count_t)m->len : 0;
    if (base + off < 0)
        return -1;
    m->pos = (size_t)(base + off);
    return (sf_count_t)m->pos;
}

static sf_count_t m_read(void *ptr, sf_count_t n, void *u)
{
    membuf *m = u;
    size_t k = m->pos < m->len ? m->len - m->pos : 0;
    if ((size_t)n < k)
        k = (size_t)n;
    memcpy(ptr, m->b + m->pos, k);
    m->pos += k;
    return (sf_count_t)k;
}

static sf_count_t m_write(const void *ptr, sf_count_t n, void *u)
{
    membuf *m = u;
    if (m->pos > m->cap || (size_t)n > m->cap - m->pos) {
        m->overflow = 1;
        return 0;
    }
    memcpy(m->b + m->pos, ptr, (size_t)n);
    m->pos += (size_t)n;
    if (m->pos > m->len)
        m->len = m->pos;
    return n;
}

static sf_count_t m_tell(void *u)
{
    return (sf_count_t)((membuf *)u)->pos;
}

/* Ogg's CRC-32: polynomial 0x04c11db7, MSB first, no reflection, init 0, no final xor. */
static uint32_t ogg_crc(const unsigned char *p, size_t n)
{
    uint32_t crc = 0;
    for (size_t i = 0; i < n; i++) {
        crc ^= (uint32_t)p[i] << 24;
        for (int k = 0; k < 8; k++)
            crc = crc & 0x80000000u ? (crc << 1) ^ 0x04c11db7u : crc << 1;
    }
    return crc;
}

/* Every page gets the same serial (one logical stream) and a fresh CRC. */
static int ogg_fix_serials(unsigned char *b, size_t len)
{
    size_t at = 0;
    while (at < len) {
        if (len - at < 27 || memcmp(b + at, "OggS", 4) != 0)
            return -1;
        size_t nseg = b[at + 26], size = 27 + nseg;
        if (at + size > len)
            return -1;
        for (size_t i = 0; i < nseg; i++)
            size += b[at + 27 + i];
        if (at + size > len)
            return -1;
        static const unsigned char serial[4] = {0x6f, 0x6e, 0x6f, 0x53}; /* "Sono" LE */
        memcpy(b + at + 14, serial, 4);
        memset(b + at + 22, 0, 4);
        uint32_t crc = ogg_crc(b + at, size);
        for (int i = 0; i < 4; i++)
            b[at + 22 + i] = (unsigned char)(crc >> (8 * i));
        at += size;
    }
    return 0;
}

int sono_decode_encode(int fmt, const float *x, long long n, int rate, unsigned char *buf,
                       size_t cap, size_t *len, sono_error *err)
{
    static const int sf_formats[SONO_NFMT] = {
        SF_FORMAT_WAV | SF_FORMAT_PCM_16,  SF_FORMAT_WAV | SF_FORMAT_FLOAT,
        SF_FORMAT_FLAC | SF_FORMAT_PCM_16, SF_FORMAT_OGG | SF_FORMAT_VORBIS,
        SF_FORMAT_OGG | SF_FORMAT_OPUS,    SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III};
    static const char *const names[SONO_NFMT] = {"wav16", "wavf32", "flac", "vorbis",
                                                 "opus", "mp3"};
    if (fmt < 0 || fmt >= SONO_NFMT)
        return sono_fail(err, SONO_EINVAL, "decode: format index %d unknown", fmt);
    SF_VIRTUAL_IO io = {m_len, m_seek, m_read, m_write, m_tell};
    membuf m = {.b = buf, .cap = cap};
    SF_INFO info = {.samplerate = rate, .channels = 1, .format = sf_formats[fmt]};
    SNDFILE *f = sf_open_virtual(&io, SFM_WRITE, &info, &m);
    if (!f)
        return sono_fail(err, SONO_EUNSUPPORTED, "decode: libsndfile %s cannot write %s at "
                         "%d Hz: %s", sf_version_string(), names[fmt], rate, sf_strerror(NULL));
    /* the PEAK chunk carries a timestamp; clipping keeps |x| > 1 from wrapping in PCM */
    sf_command(f, SFC_SET_ADD_PEAK_CHUNK, NULL, SF_FALSE);
    sf_command(f, SFC_SET_CLIPPING, NULL, SF_TRUE);
    sf_count_t done = sf_writef_float(f, x, (sf_count_t)n);
    int werr = sf_error(f);
    char why[256];
    snprintf(why, sizeof why, "%s", sf_strerror(f));
    sf_close(f);
    if (m.overflow)
        return sono_fail(err, SONO_EINTERNAL, "decode: %s of %lld samples exceeds the "
                         "%zu-byte bound", names[fmt], n, cap);
    if (done != (sf_count_t)n || werr)
        return sono_fail(err, SONO_EDEVICE, "decode: libsndfile wrote %lld of %lld samples "
                         "as %s: %s", (long long)done, n, names[fmt], why);
    if ((fmt == SONO_FMT_VORBIS || fmt == SONO_FMT_OPUS) && ogg_fix_serials(buf, m.len))
        return sono_fail(err, SONO_EINTERNAL, "decode: libsndfile's %s output is not a "
                         "sequence of Ogg pages", names[fmt]);
    *len = m.len;
    return 0;
}
