/* pack.c — folder -> .sbd and folder -> tar shards (pack.h), on top of the corpus manifest
 * (which lists, sorts and bounds the files) and the sbd and tar writers. */
#include "pack.h"

#include <limits.h>
#include <math.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audio.h"
#include "corpus.h"
#include "sbd.h"
#include "tarshard.h"

/* The manifest's NAME column. */
static int manifest_names(const char *dir, const char *ext, int max_files, char ***names,
                          int *n, sono_error *err)
{
    char *text;
    int rc = sono_corpus_manifest(dir, ext, max_files, &text, n, err);
    if (rc)
        return rc;
    *names = calloc((size_t)*n + 1, sizeof **names);
    char *line = text;
    for (int i = 0; *names && i < *n; i++) {
        char *end = strchr(line, '\n');
        size_t len = strcspn(line, " ");
        (*names)[i] = strndup(line, len);
        line = end + 1;
    }
    free(text);
    if (!*names)
        return sono_fail(err, SONO_ENOMEM, "%s: out of memory", dir);
    return 0;
}

static void free_names(char **names, int n)
{
    for (int i = 0; names && i < n; i++)
        free(names[i]);
    free(names);
}

static void *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    void *buf = NULL;
    long len = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    if (len >= 0 && fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)len + 1)) &&
        fread(buf, 1, (size_t)len, f) != (size_t)len) {
        free(buf);
        buf = NULL;
    }
    *n = (size_t)(len > 0 ? len : 0);
    fclose(f);
    return buf;
}

/* One clip in the encoding: *data malloc'd. */
static int encode_clip(const char *path, int encoding, int rate, sono_sbd_clip *c,
                       void **data, sono_error *err)
{
    *data = NULL;
    if (encoding == SONO_SBD_FLAC) {
        SF_INFO info = {0};
        SNDFILE *f = sf_open(path, SFM_READ, &info);
        if (!f)
            return sono_fail(err, SONO_EPARSE, "pack: %s: %s", path, sf_strerror(NULL));
        sf_close(f);
        if ((info.format & SF_FORMAT_TYPEMASK) != SF_FORMAT_FLAC || rate)
            return sono_fail(err, SONO_EINVAL, "pack: %s: --encoding flac keeps FLAC files as "
                             "they are: it needs .flac sources and no --rate", path);
        size_t n;
        if (!(*data = slurp(path, &n)))
            return sono_fail(err, SONO_EIO, "pack: cannot read %s", path);
        *c = (sono_sbd_clip){.data = *data, .bytes = n, .frames = info.frames,
                             .rate = info.samplerate, .channels = info.channels,
                             .encoding = encoding};
        return 0;
    }
    int file_rate;
    long long frames;
    int rc = sono_audio_check(path, &file_rate, &frames, err);
    if (rc)
        return rc;
    int r = rate ? rate : file_rate;
    long long cap = (long long)ceil((double)frames * r / file_rate) + 16, got = 0;
    float *x = malloc((size_t)cap * sizeof *x);
    if (!x)
        return sono_fail(err, SONO_ENOMEM, "pack: %s: cannot allocate %lld samples", path, cap);
    if ((rc = sono_audio_read(path, r, x, cap, &got, NULL, err))) {
        free(x);
        return rc;
    }
    if (encoding == SONO_SBD_PCM16) {
        int16_t *q = (int16_t *)x; /* in place: int16 is narrower, written front to back */
        for (long long i = 0; i < got; i++) {
            double v = nearbyint((double)x[i] * 32768.0);
            q[i] = (int16_t)(v > 32767 ? 32767 : v < -32768 ? -32768 : v);
        }
    }
    *data = x;
    *c = (sono_sbd_clip){.data = x,
                         .bytes = (size_t)got * (encoding == SONO_SBD_PCM16 ? 2 : 4),
                         .frames = got, .rate = r, .channels = 1, .encoding = encoding};
    return 0;
}

int sono_pack_dir(const char *dir, const char *ext, int max_files, int encoding, int rate,
                  const char *out, sono_error *err)
{
    if (encoding < SONO_SBD_PCM16 || encoding > SONO_SBD_FLAC)
        return sono_fail(err, SONO_EINVAL, "pack: unknown encoding %d", encoding);
    char **names = NULL;
    int n = 0, rc = manifest_names(dir, ext, max_files, &names, &n, err);
    char tmp[PATH_MAX + 32];
    snprintf(tmp, sizeof tmp, "%s.tmp%ld", out, (long)getpid());
    if (!rc)
        rc = sono_sbd_create(tmp, err);
    /* appended a few clips at a time: memory stays bounded by the batch, not the corpus */
    enum { CHUNK = 16 };
    for (int first = 0; !rc && first < n; first += CHUNK) {
        sono_sbd_clip c[CHUNK];
        void *data[CHUNK] = {0};
        int k = 0;
        for (; !rc && k < CHUNK && first + k < n; k++) {
            char path[PATH_MAX];
            snprintf(path, sizeof path, "%s/%s", dir, names[first + k]);
            rc = encode_clip(path, encoding, rate, &c[k], &data[k], err);
        }
        if (!rc)
            rc = sono_sbd_append(tmp, c, k, err);
        for (int i = 0; i < CHUNK; i++)
            free(data[i]);
    }
    if (!rc && rename(tmp, out))
        rc = sono_fail(err, SONO_EIO, "pack: cannot rename %s to %s", tmp, out);
    if (rc)
        unlink(tmp);
    free_names(names, n);
    return rc;
}

int sono_shard_dir(const char *dir, const char *ext, int max_files, int per_shard,
                   const char *outdir, int *shards, sono_error *err)
{
    char **names = NULL;
    int n = 0, rc = manifest_names(dir, ext, max_files, &names, &n, err);
    if (!rc)
        rc = sono_tar_shard(dir, (const char *const *)names, n, outdir, per_shard, shards, err);
    free_names(names, n);
    return rc;
}
