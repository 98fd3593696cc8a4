/* audiofile.c — real recordings as inputs, read with libsndfile. A file is opened and
 * checked when the suite is parsed, so a bad path fails before anything runs; filling
 * mixes down to mono and never pads a short file (the case is skipped instead). */
#include "input.h"

#include <ctype.h>
#include <sndfile.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *const exts[] = {".wav", ".flac", ".ogg", ".aiff", ".au", NULL};

static bool ends_with_ci(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    if (m > n)
        return false;
    for (size_t i = 0; i < m; i++)
        if (tolower((unsigned char)s[n - m + i]) != tolower((unsigned char)suffix[i]))
            return false;
    return true;
}

int sono_input_is_file(const char *text)
{
    if (!text)
        return 0;
    if (strchr(text, '/'))
        return 1;
    for (int i = 0; exts[i]; i++)
        if (ends_with_ci(text, exts[i]))
            return 1;
    return 0;
}

static bool is_regular(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Map a libsndfile open failure to our codes: the OS refusing is I/O, the rest is the
 * file's content. */
static int sf_code(SNDFILE *f)
{
    return sf_error(f) == SF_ERR_SYSTEM ? SONO_EIO : SONO_EPARSE;
}

int sono_input_parse_file(const char *text, const char *base_dir, sono_input_spec *spec,
                          sono_error *err)
{
    if (!text || !spec)
        return sono_fail(err, SONO_EINVAL, "input: no file name given");
    memset(spec, 0, sizeof *spec);
    char cand[2][sizeof spec->path];
    int ncand = 0;
    if (text[0] == '/' || !base_dir || !base_dir[0]) {
        if (snprintf(cand[ncand++], sizeof cand[0], "%s", text) >= (int)sizeof cand[0])
            return sono_fail(err, SONO_EINVAL, "input '%.80s...': path too long", text);
    } else {
        /* The suite's folder first, so a suite and its recordings move together. */
        size_t bl = strlen(base_dir);
        const char *slash = base_dir[bl - 1] == '/' ? "" : "/";
        if (snprintf(cand[ncand++], sizeof cand[0], "%s%s%s", base_dir, slash, text) >=
            (int)sizeof cand[0])
            return sono_fail(err, SONO_EINVAL, "input '%.80s...': path too long", text);
        snprintf(cand[ncand++], sizeof cand[0], "%s", text);
    }
    int pick = -1;
    for (int i = 0; i < ncand && pick < 0; i++)
        if (is_regular(cand[i]))
            pick = i;
    if (pick < 0) {
        if (ncand == 2)
            return sono_fail(err, SONO_ENOTFOUND,
                             "input '%s': no such file (tried %s and %s in the working "
                             "directory)",
                             text, cand[0], cand[1]);
        return sono_fail(err, SONO_ENOTFOUND, "input '%s': no such file", cand[0]);
    }
    memcpy(spec->path, cand[pick], sizeof spec->path);

    SF_INFO info;
    memset(&info, 0, sizeof info);
    SNDFILE *f = sf_open(spec->path, SFM_READ, &info);
    if (!f)
        return sono_fail(err, sf_code(NULL), "input %s: cannot open as audio: %s",
                         spec->path, sf_strerror(NULL));
    sf_close(f);
    if (info.frames <= 0 || info.channels < 1 || info.samplerate <= 0)
        return sono_fail(err, SONO_EPARSE,
                         "input %s: no audio in it (frames %lld, channels %d, rate %d)",
                         spec->path, (long long)info.frames, info.channels,
                         info.samplerate);

    const char *base = strrchr(spec->path, '/');
    base = base ? base + 1 : spec->path;
    if (!base[0] || strlen(base) >= sizeof spec->name)
        return sono_fail(err, SONO_EINVAL,
                         "input %s: the file name must be 1..%zu characters, as it names "
                         "the input in case ids",
                         spec->path, sizeof spec->name - 1);
    memcpy(spec->name, base, strlen(base) + 1); /* length checked above */
    spec->kind = SONO_INPUT_FILE;
    return 0;
}

int sono_input_fill_file(const sono_input_spec *spec, sono_buf *buf, double *rate_out,
                         sono_error *err)
{
    if (buf->dtype != SONO_F32 && buf->dtype != SONO_C64)
        return sono_fail(err, SONO_EINVAL,
                         "input %s: buffer dtype %d cannot be filled; accepted: f32, c64",
                         spec->path, (int)buf->dtype);
    long long n = sono_buf_elems(buf);
    SF_INFO info;
    memset(&info, 0, sizeof info);
    SNDFILE *f = sf_open(spec->path, SFM_READ, &info);
    if (!f)
        return sono_fail(err, sf_code(NULL), "input %s: cannot open as audio: %s",
                         spec->path, sf_strerror(NULL));
    int rc = 0;
    float *chunk = NULL;
    if (info.channels < 1 || info.samplerate <= 0) {
        rc = sono_fail(err, SONO_EPARSE, "input %s: %d channels at rate %d: not audio",
                       spec->path, info.channels, info.samplerate);
        goto out;
    }
    if ((long long)info.frames < n) {
        rc = sono_fail(err, SONO_EUNSUPPORTED,
                       "input %s has %lld samples, the case needs %lld (files are never "
                       "padded; use a longer file or a smaller size)",
                       spec->path, (long long)info.frames, n);
        goto out;
    }
    enum { CHUNK_FRAMES = 4096 };
    int ch = info.channels;
    chunk = malloc((size_t)CHUNK_FRAMES * (size_t)ch * sizeof *chunk);
    if (!chunk) {
        rc = sono_fail(err, SONO_ENOMEM, "input %s: no memory for a %d-channel read buffer",
                       spec->path, ch);
        goto out;
    }
    float *out = buf->data;
    bool cplx = buf->dtype == SONO_C64;
    for (long long done = 0; done < n;) {
        sf_count_t want = n - done < CHUNK_FRAMES ? (sf_count_t)(n - done) : CHUNK_FRAMES;
        sf_count_t got = sf_readf_float(f, chunk, want);
        if (got <= 0) {
            rc = sono_fail(err, sf_error(f) == SF_ERR_SYSTEM ? SONO_EIO : SONO_EPARSE,
                           "input %s: read stopped at sample %lld of %lld: %s", spec->path,
                           done, n, sf_strerror(f));
            goto out;
        }
        for (sf_count_t i = 0; i < got; i++) {
            /* Sum in double in channel order, one rounding: the same bits everywhere. */
            double s = 0.0;
            for (int c = 0; c < ch; c++)
                s += chunk[i * ch + c];
            float v = (float)(s / ch);
            long long e = done + i;
            if (cplx) {
                out[2 * e] = v;
                out[2 * e + 1] = 0.0f;
            } else {
                out[e] = v;
            }
        }
        done += got;
    }
    if (rate_out)
        *rate_out = info.samplerate;
out:
    free(chunk);
    sf_close(f);
    return rc;
}
