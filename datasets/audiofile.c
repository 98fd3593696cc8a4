/* audiofile.c — real recordings as inputs: one file or a directory of them, read with
 * libsndfile. They are opened and checked when the suite is parsed, so a bad path fails
 * before anything runs; filling mixes down to mono and pads only where the op asks
 * (logmel's pad_or_trim); elsewhere a short file skips the case, saying how long it is. */
#include "audio.h"

#include <ctype.h>
#include <math.h>
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

int sono_audio_ext(const char *name)
{
    for (int i = 0; exts[i]; i++)
        if (ends_with_ci(name, exts[i]))
            return 1;
    return 0;
}

int sono_input_is_file(const char *text)
{
    if (!text)
        return 0;
    return strchr(text, '/') || sono_audio_ext(text);
}

/* 1: a regular file, 2: a directory, 0: neither or missing. */
static int file_type(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return 0;
    return S_ISREG(st.st_mode) ? 1 : S_ISDIR(st.st_mode) ? 2 : 0;
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
    int pick = -1, type = 0;
    for (int i = 0; i < ncand && pick < 0; i++)
        if ((type = file_type(cand[i])))
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
    spec->dir = type == 2;
    int rc = spec->dir ? sono_audio_check_dir(spec->path, err)
                       : sono_audio_check(spec->path, NULL, NULL, err);
    if (rc)
        return rc;

    /* the name in case ids: the basename, a directory's with its '/' */
    char trimmed[sizeof spec->path];
    memcpy(trimmed, spec->path, sizeof trimmed);
    size_t tl = strlen(trimmed);
    while (tl > 1 && trimmed[tl - 1] == '/')
        trimmed[--tl] = '\0';
    const char *base = strrchr(trimmed, '/');
    base = base && base[1] ? base + 1 : trimmed;
    if (!base[0] || strlen(base) + (size_t)spec->dir >= sizeof spec->name)
        return sono_fail(err, SONO_EINVAL,
                         "input %s: the file name must be 1..%zu characters, as it names "
                         "the input in case ids",
                         spec->path, sizeof spec->name - 1 - (size_t)spec->dir);
    snprintf(spec->name, sizeof spec->name, "%s%s", base, spec->dir ? "/" : "");
    spec->kind = SONO_INPUT_FILE;
    return 0;
}

int sono_input_file_seconds(const sono_input_spec *spec, double *seconds, int *rate,
                            sono_error *err)
{
    *seconds = 0;
    *rate = 0;
    if (!spec->dir) {
        long long frames = 0;
        int rc = sono_audio_check(spec->path, rate, &frames, err);
        if (!rc)
            *seconds = (double)frames / *rate;
        return rc;
    }
    char **v;
    int count, rc = sono_audio_list_dir(spec->path, &v, &count, err);
    if (rc)
        return rc;
    for (int i = 0; !rc && i < count; i++) {
        long long frames = 0;
        int fr = 0;
        if (!(rc = sono_audio_check(v[i], &fr, &frames, err))) {
            *seconds += (double)frames / fr;
            if (i == 0)
                *rate = fr;
        }
    }
    sono_audio_free_list(v, count);
    return rc;
}

int sono_input_fill_file(const sono_input_spec *spec, double rate, sono_buf *buf,
                         double *rate_out, sono_error *err)
{
    return sono_input_fill_file_pad(spec, rate, buf, 0, rate_out, err);
}

int sono_input_fill_file_pad(const sono_input_spec *spec, double rate, sono_buf *buf,
                             int pad, double *rate_out, sono_error *err)
{
    if (buf->dtype != SONO_F32 && buf->dtype != SONO_C64)
        return sono_fail(err, SONO_EINVAL,
                         "input %s: buffer dtype %d cannot be filled; accepted: f32, c64",
                         spec->path, (int)buf->dtype);
    long long n = sono_buf_elems(buf);
    float *out = buf->data;
    double used = rate;
    long long got = 0;
    int rc, fr = 0;
    if (spec->dir) {
        rc = sono_dir_fill_upto(spec->path, rate, out, n, &got, &used, err);
    } else {
        rc = sono_audio_read(spec->path, rate, out, n, &got, &fr, err);
        if (rate <= 0.0)
            used = fr;
    }
    if (!rc && got < n && pad) {
        /* Whisper's pad_or_trim: zeros after the clip, up to the length asked */
        memset(out + got, 0, (size_t)(n - got) * sizeof *out);
    } else if (!rc && got < n) {
        char how[64] = "";
        if (!spec->dir && used != fr)
            snprintf(how, sizeof how, " at %g Hz (resampled from %d Hz)", used, fr);
        /* the size is the op's: seconds for the audio ops, n (x batch) for the rest */
        rc = sono_fail(err, SONO_EUNSUPPORTED,
                       "input %s has %lld samples%s (%.2f s), the case needs %lld (%.2f s); "
                       "%s are never padded: give a longer input or a smaller size "
                       "(e.g. seconds = %.2f, or n x batch <= %lld)",
                       spec->path, got, how, got / used, n, n / used,
                       spec->dir ? "directories" : "files", floor(got / used * 100) / 100,
                       got);
    }
    if (rc)
        return rc;
    if (buf->dtype == SONO_C64)
        sono_audio_to_complex(out, n);
    if (rate_out)
        *rate_out = used;
    return 0;
}
