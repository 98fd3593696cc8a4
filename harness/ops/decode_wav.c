/* decode_wav.c — the `decode` reference for WAV: an own RIFF parser (PCM 8/16/24/32-bit
 * and IEEE float 32/64, plain or WAVE_FORMAT_EXTENSIBLE), independent of libsndfile.
 * Integers scale by 1 / 2^(bits-1), libsndfile's convention for reading into float. */
#include <stdint.h>
#include <string.h>

#include "decode.h"

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static unsigned le16(const unsigned char *p)
{
    return (unsigned)p[0] | (unsigned)p[1] << 8;
}

static double sample_at(const unsigned char *p, int is_float, int bits)
{
    if (is_float && bits == 32) {
        uint32_t u = le32(p);
        float f;
        memcpy(&f, &u, sizeof f);
        return f;
    }
    if (is_float) {
        uint64_t u = (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
        double d;
        memcpy(&d, &u, sizeof d);
        return d;
    }
    switch (bits) {
    case 8: return ((int)p[0] - 128) / 128.0; /* 8-bit WAV is unsigned */
    case 16: return (int16_t)le16(p) / 32768.0;
    case 24: return (double)((int32_t)(((uint32_t)p[0] << 8 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 24)) >> 8) / 8388608.0;
    default: return (int32_t)le32(p) / 2147483648.0;
    }
}

int sono_wav_read(const unsigned char *b, size_t len, double *y, long long cap,
                  long long *got, int *rate, sono_error *err)
{
    if (len < 12 || memcmp(b, "RIFF", 4) != 0 || memcmp(b + 8, "WAVE", 4) != 0)
        return sono_fail(err, SONO_EPARSE, "wav: not a RIFF/WAVE file (%zu bytes)", len);
    int have_fmt = 0, is_float = 0, bits = 0, ch = 0;
    size_t at = 12;
    while (at + 8 <= len) {
        uint32_t size = le32(b + at + 4);
        const unsigned char *c = b + at + 8;
        size_t avail = len - at - 8;
        if (memcmp(b + at, "fmt ", 4) == 0) {
            if (size < 16 || size > avail)
                return sono_fail(err, SONO_EPARSE, "wav: fmt chunk of %u bytes (%zu left)",
                                 size, avail);
            unsigned tag = le16(c);
            if (tag == 0xfffe && size >= 40)
                tag = le16(c + 24); /* the sub-format GUID's first two bytes */
            ch = (int)le16(c + 2);
            *rate = (int)le32(c + 4);
            bits = (int)le16(c + 14);
            is_float = tag == 3;
            if ((tag != 1 && tag != 3) || ch < 1 || *rate <= 0 ||
                (is_float ? bits != 32 && bits != 64
                          : bits != 8 && bits != 16 && bits != 24 && bits != 32))
                return sono_fail(err, SONO_EPARSE, "wav: format tag %u with %d channels of "
                                 "%d bits at %d Hz: expected PCM 8/16/24/32 or float 32/64",
                                 tag, ch, bits, *rate);
            have_fmt = 1;
        } else if (memcmp(b + at, "data", 4) == 0) {
            if (!have_fmt)
                return sono_fail(err, SONO_EPARSE, "wav: data chunk before fmt");
            if (size > avail)
                return sono_fail(err, SONO_EPARSE, "wav: truncated: data chunk says %u bytes, "
                                 "%zu present", size, avail);
            size_t frame = (size_t)ch * (size_t)(bits / 8);
            long long frames = (long long)(size / frame);
            *got = frames;
            for (long long i = 0; i < frames && i < cap; i++) {
                double s = 0;
                for (int k = 0; k < ch; k++)
                    s += sample_at(c + (size_t)i * frame + (size_t)k * (size_t)(bits / 8),
                                   is_float, bits);
                y[i] = s / ch;
            }
            return 0;
        }
        if (size > avail)
            break;
        at += 8 + (size_t)size + (size & 1); /* chunks are padded to even sizes */
    }
    return sono_fail(err, SONO_EPARSE, "wav: no %s chunk in %zu bytes (truncated?)",
                     have_fmt ? "data" : "fmt", len);
}
