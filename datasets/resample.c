/* resample.c — one audio file as mono samples at a chosen rate: read with libsndfile in
 * chunks, channels averaged, and streamed through libsamplerate's best sinc converter when
 * the rate differs from the file's, so long recordings never sit in memory twice. */
#include "audio.h"

#include <errno.h>
#include <stdio.h>
#include <samplerate.h>
#include <sndfile.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The OS refusing is I/O, a missing file is ENOTFOUND, the rest is the file's content. */
static int open_fail(const char *path, sono_error *err)
{
    struct stat st;
    if (stat(path, &st) != 0 && errno == ENOENT)
        return sono_fail(err, SONO_ENOTFOUND, "input %s: no such file", path);
    int code = sf_error(NULL) == SF_ERR_SYSTEM ? SONO_EIO : SONO_EPARSE;
    return sono_fail(err, code, "input %s: cannot open as audio: %s", path,
                     sf_strerror(NULL));
}

/* --lenient: 0 off, 1 on and quiet (a worker: its parent warned), 2 on and warning. */
static int lenient = -1;

void sono_audio_set_lenient(int on)
{
    lenient = on ? 2 : 0;
    if (on)
        setenv("SONO_AUDIO_LENIENT", "1", 1); /* for the workers this process starts */
    else
        unsetenv("SONO_AUDIO_LENIENT");
}

static int lenient_mode(void)
{
    if (lenient < 0) {
        const char *e = getenv("SONO_AUDIO_LENIENT");
        lenient = e && strcmp(e, "1") == 0 ? 1 : 0;
    }
    return lenient;
}

static unsigned rd16(const unsigned char *b) { return b[0] | (unsigned)b[1] << 8; }
static unsigned long rd32(const unsigned char *b)
{
    return b[0] | (unsigned long)b[1] << 8 | (unsigned long)b[2] << 16 |
           (unsigned long)b[3] << 24;
}

/* libsndfile quietly clamps a WAV's frame count to the bytes there are and reports a zero
 * rate as its own internal error, so a truncated or corrupt WAV would load as whatever is
 * left. Walk the RIFF chunks ourselves: the fmt chunk must give channels and a rate, and
 * the data chunk must hold the bytes its header declares. Other formats (and RF64, whose
 * sizes live elsewhere) are left to libsndfile, whose decoders fail on a cut stream. */
static int wav_check(const char *path, int warn, sono_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0; /* sf_open reports it, with the reason */
    unsigned char h[12], ck[8], fmt[16];
    int rc = 0, have_fmt = 0;
    unsigned ch = 0, align = 0;
    if (fread(h, 1, 12, f) != 12 || memcmp(h, "RIFF", 4) != 0 || memcmp(h + 8, "WAVE", 4) != 0)
        goto out;
    fseeko(f, 0, SEEK_END);
    long long size = (long long)ftello(f), pos = 12;
    while (pos + 8 <= size && !rc) {
        if (fseeko(f, (off_t)pos, SEEK_SET) != 0 || fread(ck, 1, 8, f) != 8)
            break;
        unsigned long len = rd32(ck + 4);
        if (memcmp(ck, "fmt ", 4) == 0) {
            if (len < 16 || fread(fmt, 1, 16, f) != 16) {
                rc = sono_fail(err, SONO_EPARSE,
                               "input %s: WAV fmt chunk of %lu bytes at offset %lld: "
                               "expected at least 16 (format, channels, rate, ...)",
                               path, len, pos);
                break;
            }
            ch = rd16(fmt + 2);
            align = rd16(fmt + 12);
            unsigned long rate = rd32(fmt + 4);
            if (ch == 0 || rate == 0)
                rc = sono_fail(err, SONO_EPARSE,
                               "input %s: the WAV header gives %u channels at %lu Hz: "
                               "expected at least 1 channel and a sample rate above 0",
                               path, ch, rate);
            have_fmt = 1;
        } else if (memcmp(ck, "data", 4) == 0) {
            long long there = size - (pos + 8);
            /* 0 and 0xffffffff: a writer that could not seek back (a pipe) */
            if (len != 0 && len != 0xffffffffUL && (long long)len > there) {
                long long fb = have_fmt && align ? align : 1;
                static char warned[4096]; /* once per file, not per look at it */
                if (lenient_mode()) {
                    if (warn && lenient_mode() == 2 && strcmp(warned, path) != 0 &&
                        snprintf(warned, sizeof warned, "%s", path) > 0)
                        fprintf(stderr,
                                "harness: warning: input %s: the WAV header declares %lu "
                                "data bytes (%lld frames), the file holds %lld (%lld "
                                "frames); --lenient: reading those\n",
                                path, len, (long long)len / fb, there, there / fb);
                } else
                    rc = sono_fail(err, SONO_EPARSE,
                                   "input %s: the WAV header declares %lu data bytes (%lld "
                                   "frames) but the file holds only %lld after the header "
                                   "(%lld frames): the file is truncated or its header "
                                   "is wrong (--lenient reads what is there)",
                                   path, len, (long long)len / fb, there, there / fb);
            }
            break;
        }
        pos += 8 + (long long)len + (len & 1); /* chunks are padded to even sizes */
    }
out:
    fclose(f);
    return rc;
}

int sono_audio_check(const char *path, int *rate, long long *frames, sono_error *err)
{
    int wrc = wav_check(path, 1, err);
    if (wrc)
        return wrc;
    SF_INFO info;
    memset(&info, 0, sizeof info);
    SNDFILE *f = sf_open(path, SFM_READ, &info);
    if (!f)
        return open_fail(path, err);
    sf_close(f);
    if (info.frames <= 0 || info.channels < 1 || info.samplerate <= 0)
        return sono_fail(err, SONO_EPARSE,
                         "input %s: no audio in it (frames %lld, channels %d, rate %d)", path,
                         (long long)info.frames, info.channels, info.samplerate);
    if (rate)
        *rate = info.samplerate;
    if (frames)
        *frames = (long long)info.frames;
    return 0;
}

void sono_audio_to_complex(float *buf, long long n)
{
    /* backwards, so no sample is overwritten before it moves */
    for (long long i = n - 1; i >= 0; i--) {
        buf[2 * i] = buf[i];
        buf[2 * i + 1] = 0.0f;
    }
}

enum { CHUNK_FRAMES = 8192 };

/* Average the channels of frames in raw into mono: a sum in double in channel order and
 * one rounding, so the same file gives the same bits everywhere. */
static void mixdown(const float *raw, long long frames, int ch, float *mono)
{
    for (long long i = 0; i < frames; i++) {
        double s = 0.0;
        for (int c = 0; c < ch; c++)
            s += raw[i * ch + c];
        mono[i] = (float)(s / ch);
    }
}

typedef struct reader {
    const char *path;
    SNDFILE *f;
    SF_INFO info;
    float *raw;
    long long done; /* frames read so far */
} reader;

/* Up to want (<= CHUNK_FRAMES) mono frames into mono; 0 at the end of the file. A read
 * that stops before the frames the header promised is the file's fault: SONO_EPARSE. */
static int reader_next(reader *r, float *mono, long long want, long long *got,
                       sono_error *err)
{
    sf_count_t nr = sf_readf_float(r->f, r->raw, (sf_count_t)want);
    if (nr <= 0) {
        *got = 0;
        if (sf_error(r->f) != SF_ERR_NO_ERROR || r->done < (long long)r->info.frames)
            return sono_fail(err, sf_error(r->f) == SF_ERR_SYSTEM ? SONO_EIO : SONO_EPARSE,
                             "input %s: read stopped at frame %lld of %lld: %s", r->path,
                             r->done, (long long)r->info.frames, sf_strerror(r->f));
        return 0;
    }
    mixdown(r->raw, nr, r->info.channels, mono);
    r->done += nr;
    *got = nr;
    return 0;
}

/* Resample the whole reader into out (at most cap samples) at ratio out/in. */
static int resample_stream(reader *r, double ratio, float *out, long long cap,
                           long long *got, sono_error *err)
{
    int e = 0;
    SRC_STATE *src = src_new(SRC_SINC_BEST_QUALITY, 1, &e);
    float *mono = malloc(CHUNK_FRAMES * sizeof *mono);
    if (!src || !mono) {
        free(mono);
        if (src)
            src_delete(src);
        return sono_fail(err, SONO_ENOMEM, "input %s: cannot start the resampler: %s",
                         r->path, src ? "out of memory" : src_strerror(e));
    }
    int rc = 0;
    bool eof = false;
    while (!eof && *got < cap) {
        long long nin = 0;
        if ((rc = reader_next(r, mono, CHUNK_FRAMES, &nin, err)))
            break;
        eof = nin == 0;
        SRC_DATA d = {.data_in = mono, .input_frames = (long)nin, .data_out = out + *got,
                      .output_frames = (long)(cap - *got), .src_ratio = ratio,
                      .end_of_input = eof};
        /* drain this chunk (or, at the end, the converter's tail) into out */
        while (d.output_frames > 0 && (d.input_frames > 0 || eof)) {
            if ((e = src_process(src, &d))) {
                rc = sono_fail(err, SONO_EINTERNAL, "input %s: resampler: %s", r->path,
                               src_strerror(e));
                break;
            }
            if (d.input_frames_used == 0 && d.output_frames_gen == 0)
                break; /* tail drained (or nothing more to give) */
            *got += d.output_frames_gen;
            d.data_in += d.input_frames_used;
            d.input_frames -= d.input_frames_used;
            d.data_out += d.output_frames_gen;
            d.output_frames -= d.output_frames_gen;
        }
        if (rc)
            break;
    }
    free(mono);
    src_delete(src);
    return rc;
}

int sono_audio_read(const char *path, double rate, float *out, long long cap,
                    long long *got, int *file_rate, sono_error *err)
{
    *got = 0;
    reader r = {.path = path};
    int wrc = wav_check(path, 0, err);
    if (wrc)
        return wrc;
    r.f = sf_open(path, SFM_READ, &r.info);
    if (!r.f)
        return open_fail(path, err);
    int rc = 0;
    int ch = r.info.channels, fr = r.info.samplerate;
    if (ch < 1 || fr <= 0) {
        rc = sono_fail(err, SONO_EPARSE, "input %s: %d channels at rate %d: not audio", path,
                       ch, fr);
        goto out;
    }
    if (file_rate)
        *file_rate = fr;
    double ratio = rate > 0.0 ? rate / fr : 1.0;
    if (ratio != 1.0 && !src_is_valid_ratio(ratio)) {
        rc = sono_fail(err, SONO_EINVAL,
                       "input %s: cannot resample from %d Hz to %g Hz (ratio outside "
                       "1/256..256)",
                       path, fr, rate);
        goto out;
    }
    r.raw = malloc((size_t)CHUNK_FRAMES * (size_t)ch * sizeof *r.raw);
    if (!r.raw) {
        rc = sono_fail(err, SONO_ENOMEM, "input %s: no memory for a %d-channel read buffer",
                       path, ch);
        goto out;
    }
    if (ratio != 1.0) {
        rc = resample_stream(&r, ratio, out, cap, got, err);
        goto out;
    }
    /* at the file's own rate: straight into out, no more than asked */
    while (*got < cap) {
        long long want = cap - *got < CHUNK_FRAMES ? cap - *got : CHUNK_FRAMES, nin = 0;
        if ((rc = reader_next(&r, out + *got, want, &nin, err)) || nin == 0)
            break;
        *got += nin;
    }
out:
    free(r.raw);
    sf_close(r.f);
    return rc;
}
