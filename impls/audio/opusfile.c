/* opusfile.c — impl audio/opusfile of decode: libopusfile over the in-memory bytes
 * (op_open_memory), op_read_float until the end; it applies pre-skip, the header gain and
 * end trimming itself, and always decodes at 48 kHz. */
#include <opusfile.h>

#include "audio.h"

static int dec_run(void *vst)
{
    audio_dec *st = vst;
    int e = 0;
    OggOpusFile *f = op_open_memory(st->bytes, st->len, &e);
    st->got = 0;
    st->rate = 48000;
    if (!f) {
        snprintf(st->why, sizeof st->why, "libopusfile cannot open the %zu bytes (error %d)",
                 st->len, e);
        return SONO_EPARSE;
    }
    float buf[5760 * 2]; /* 120 ms at 48 kHz, stereo */
    int k;
    while ((k = op_read_float(f, buf, (int)(sizeof buf / sizeof buf[0]), NULL)) > 0) {
        int ch = op_channel_count(f, -1);
        for (int i = 0; i < k; i++, st->got++) {
            float s = 0;
            for (int c = 0; c < ch; c++)
                s += buf[i * ch + c];
            if (st->got <= st->n)
                st->out[st->got] = s / (float)ch;
        }
    }
    op_free(f);
    if (k < 0) {
        snprintf(st->why, sizeof st->why, "libopusfile: error %d after %lld samples", k,
                 st->got);
        return SONO_EPARSE;
    }
    return 0;
}

int audio_opusfile_init(audio_dec *st)
{
    st->decode = dec_run;
    return 0;
}
