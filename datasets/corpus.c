/* corpus.c — the deterministic clip corpus (datasets/corpus.h): each clip is a stretch of
 * the speech recordings (looped, from a seeded offset) at one of four rates, with a seeded
 * gain and a little white noise, written with libsndfile in each format. */
#include "corpus.h"

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <math.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audio.h"
#include "prng.h"
#include "sha256.h"

const char *const sono_corpus_formats[] = {"wav", "flac", "vorbis", "opus", NULL};

static const int RATES[4] = {16000, 22050, 44100, 48000};

const char *sono_corpus_ext(const char *format)
{
    static const char *const ext[] = {"wav", "flac", "ogg", "opus"};
    for (int i = 0; sono_corpus_formats[i]; i++)
        if (strcmp(format, sono_corpus_formats[i]) == 0)
            return ext[i];
    return NULL;
}

/* Every draw of clip i comes from its own stream, so clip i does not depend on N. */
static void clip_rng(unsigned long long seed, int i, uint64_t s[4])
{
    sono_xoshiro_seed(s, seed * 0x9e3779b97f4a7c15ull + (unsigned long long)i + 1);
}

static double unit(uint64_t s[4]) { return (double)(sono_xoshiro_next(s) >> 11) * 0x1p-53; }

void sono_corpus_clip_shape(unsigned long long seed, int i, int *rate, long long *frames)
{
    uint64_t s[4];
    clip_rng(seed, i, s);
    *rate = RATES[sono_xoshiro_next(s) % 4];
    double sec = 1.0 + 19.0 * unit(s);
    *frames = (long long)(sec * *rate);
}

/* Opus has 8/12/16/24/48 kHz only: the clip is made at the next rate up. */
static int opus_rate(int rate) { return rate <= 16000 ? 16000 : rate <= 24000 ? 24000 : 48000; }

static int format_info(const char *format, int *sf_format)
{
    if (strcmp(format, "wav") == 0)
        *sf_format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
    else if (strcmp(format, "flac") == 0)
        *sf_format = SF_FORMAT_FLAC | SF_FORMAT_PCM_16;
    else if (strcmp(format, "vorbis") == 0)
        *sf_format = SF_FORMAT_OGG | SF_FORMAT_VORBIS;
    else if (strcmp(format, "opus") == 0)
        *sf_format = SF_FORMAT_OGG | SF_FORMAT_OPUS;
    else
        return -1;
    return 0;
}

/* The speech recordings at one rate, resampled once and looped from by every clip. */
typedef struct speech_at {
    int rate;
    long long n;
    float *x;
} speech_at;

static int speech_load(speech_at *sp, int rate, sono_error *err)
{
    char manifest[PATH_MAX];
    int rc = sono_speech_find_manifest(manifest, sizeof manifest, err);
    if (rc)
        return rc;
    sp->rate = rate;
    sp->n = 546687LL * rate / 48000; /* the 8 voices' length, see speech.manifest */
    sp->x = malloc((size_t)sp->n * sizeof(float));
    if (!sp->x)
        return sono_fail(err, SONO_ENOMEM, "corpus: cannot allocate %lld samples", sp->n);
    return sono_speech_fill(manifest, rate, sp->x, sp->n, err);
}

/* Clip i's samples at rate (the file's rate: an Opus clip's may differ from its shape's). */
static void clip_samples(const speech_at *sp, unsigned long long seed, int i, float *out,
                         long long n)
{
    uint64_t s[4];
    clip_rng(seed, i, s);
    sono_xoshiro_next(s); /* rate and length: drawn by sono_corpus_clip_shape */
    sono_xoshiro_next(s);
    long long off = (long long)(sono_xoshiro_next(s) % (uint64_t)sp->n);
    double gain = 0.2 + 0.7 * unit(s), noise = gain * pow(10.0, -(20.0 + 20.0 * unit(s)) / 20.0);
    for (long long k = 0; k < n; k++) {
        double v = gain * sp->x[(off + k) % sp->n] + noise * (2.0 * unit(s) - 1.0);
        out[k] = (float)(v > 1 ? 1 : v < -1 ? -1 : v);
    }
}

static int mkdir_p(const char *path, sono_error *err)
{
    char d[PATH_MAX];
    snprintf(d, sizeof d, "%s", path);
    for (char *p = d + 1;; p++) {
        if (*p == '/' || !*p) {
            char c = *p;
            *p = 0;
            if (mkdir(d, 0777) && errno != EEXIST)
                return sono_fail(err, SONO_EIO, "cannot create folder %s: %s", d,
                                 strerror(errno));
            *p = c;
            if (!c)
                break;
        }
    }
    return 0;
}

static int write_clip(const char *path, int sf_format, int rate, const float *x, long long n,
                      sono_error *err)
{
    SF_INFO info = {.samplerate = rate, .channels = 1, .format = sf_format};
    SNDFILE *f = sf_open(path, SFM_WRITE, &info);
    if (!f)
        return sono_fail(err, SONO_EIO, "corpus: cannot write %s: %s", path, sf_strerror(NULL));
    sf_count_t w = sf_writef_float(f, x, n);
    int bad = sf_close(f);
    if (w != n || bad)
        return sono_fail(err, SONO_EIO, "corpus: writing %s: %lld of %lld frames", path,
                         (long long)w, n);
    return 0;
}

static int write_format(const char *dir, const char *format, int clips,
                        unsigned long long seed, speech_at sp[5], sono_error *err)
{
    int sf_format;
    if (format_info(format, &sf_format))
        return sono_fail(err, SONO_EINVAL, "corpus: unknown format '%s' (wav, flac, vorbis, "
                         "opus)", format);
    char sub[PATH_MAX];
    snprintf(sub, sizeof sub, "%s/%s", dir, format);
    int rc = mkdir_p(sub, err);
    float *x = NULL;
    for (int i = 0; !rc && i < clips; i++) {
        int rate;
        long long frames;
        sono_corpus_clip_shape(seed, i, &rate, &frames);
        if (strcmp(format, "opus") == 0) {
            int r2 = opus_rate(rate);
            frames = frames * r2 / rate;
            rate = r2;
        }
        int k = 0;
        while (RATES[k] != rate && k < 3)
            k++;
        speech_at *s = &sp[k];
        if (s->rate != rate) { /* 24 kHz for Opus: not one of the four, loaded aside */
            s = &sp[4];
            if (s->rate != rate) {
                free(s->x);
                s->x = NULL;
                if ((rc = speech_load(s, rate, err)))
                    break;
            }
        } else if (!s->x && (rc = speech_load(s, rate, err)))
            break;
        float *g = realloc(x, (size_t)frames * sizeof *x);
        if (!g) {
            rc = sono_fail(err, SONO_ENOMEM, "corpus: cannot allocate %lld samples", frames);
            break;
        }
        x = g;
        clip_samples(s, seed, i, x, frames);
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/clip%05d.%s", sub, i, sono_corpus_ext(format));
        rc = write_clip(path, sf_format, rate, x, frames, err);
    }
    free(x);
    if (rc)
        return rc;
    char *text = NULL;
    int count = 0;
    if ((rc = sono_corpus_manifest(sub, sono_corpus_ext(format), clips, &text, &count, err)))
        return rc;
    char mpath[PATH_MAX];
    snprintf(mpath, sizeof mpath, "%s/MANIFEST", sub);
    FILE *f = fopen(mpath, "w");
    if (!f || fprintf(f, "# NAME BYTES SHA256 RATE FRAMES CHANNELS (corpus clips=%d seed=%llu)"
                         "\n%s", clips, seed, text) < 0) {
        rc = sono_fail(err, SONO_EIO, "corpus: cannot write %s", mpath);
    }
    if (f && fclose(f) && !rc)
        rc = sono_fail(err, SONO_EIO, "corpus: cannot write %s", mpath);
    free(text);
    return rc;
}

int sono_corpus_write(const char *dir, int clips, unsigned long long seed, const char *formats,
                      sono_error *err)
{
    if (clips < 1 || clips > 100000)
        return sono_fail(err, SONO_EINVAL, "corpus: clips must be 1..100000, got %d", clips);
    speech_at sp[5] = {{0}};
    char list[256];
    snprintf(list, sizeof list, "%s", formats ? formats : "wav,flac,vorbis,opus");
    int rc = 0;
    char *save = NULL;
    for (char *t = strtok_r(list, ",", &save); !rc && t; t = strtok_r(NULL, ",", &save))
        rc = write_format(dir, t, clips, seed, sp, err);
    for (int k = 0; k < 5; k++)
        free(sp[k].x);
    return rc;
}

int sono_cache_dir(char *out, size_t n, sono_error *err)
{
    const char *env = getenv("SONO_CACHE_DIR"), *xdg = getenv("XDG_CACHE_HOME"),
               *home = getenv("HOME");
    int w;
    if (env && env[0])
        w = snprintf(out, n, "%s", env);
    else if (xdg && xdg[0])
        w = snprintf(out, n, "%s/sonobench", xdg);
    else if (home && home[0])
        w = snprintf(out, n, "%s/.cache/sonobench", home);
    else
        return sono_fail(err, SONO_ENOTFOUND, "cache: none of SONO_CACHE_DIR, XDG_CACHE_HOME, "
                         "HOME is set");
    if (w < 0 || (size_t)w >= n)
        return sono_fail(err, SONO_EINVAL, "cache: folder name too long");
    return mkdir_p(out, err);
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(p);
}

void sono_rmtree(const char *dir) { nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS); }

int sono_corpus_cached(int clips, unsigned long long seed, const char *format, char *out,
                       size_t n, sono_error *err)
{
    char cache[PATH_MAX], tmp[PATH_MAX + 64];
    int rc = sono_cache_dir(cache, sizeof cache, err);
    if (rc)
        return rc;
    if (!sono_corpus_ext(format))
        return sono_fail(err, SONO_EINVAL, "corpus: unknown format '%s'", format);
    /* v1: bump when the clip recipe changes, so a stale corpus is never reused */
    if (snprintf(out, n, "%s/corpus-v1-n%d-s%llu-%s", cache, clips, seed, format) >= (int)n)
        return sono_fail(err, SONO_EINVAL, "corpus: cache path too long");
    char manifest[PATH_MAX + 16];
    snprintf(manifest, sizeof manifest, "%s/MANIFEST", out);
    if (access(manifest, R_OK) == 0)
        return 0;
    snprintf(tmp, sizeof tmp, "%s.tmp%ld", out, (long)getpid());
    sono_rmtree(tmp);
    rc = sono_corpus_write(tmp, clips, seed, format, err);
    char made[PATH_MAX + 96];
    snprintf(made, sizeof made, "%s/%s", tmp, format);
    /* rename is atomic; losing the race to another process leaves its copy in place */
    if (!rc && rename(made, out) && access(manifest, R_OK) != 0)
        rc = sono_fail(err, SONO_EIO, "corpus: cannot move %s to %s: %s", made, out,
                       strerror(errno));
    sono_rmtree(tmp);
    return rc;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int file_sha(const char *path, char hex[65], long long *bytes)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    sono_sha256 c;
    sono_sha256_init(&c);
    static _Thread_local unsigned char buf[1 << 16];
    size_t got;
    *bytes = 0;
    while ((got = fread(buf, 1, sizeof buf, f)) > 0) {
        sono_sha256_update(&c, buf, got);
        *bytes += (long long)got;
    }
    int bad = ferror(f);
    fclose(f);
    unsigned char d[32];
    sono_sha256_final(&c, d);
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", d[i]);
    return bad ? -1 : 0;
}

static int wanted(const char *name, const char *ext)
{
    const char *dot = strrchr(name, '.');
    if (!dot || name[0] == '.')
        return 0;
    if (ext)
        return strcasecmp(dot + 1, ext) == 0;
    return sono_audio_ext(name) || strcasecmp(dot + 1, "opus") == 0;
}

int sono_corpus_manifest(const char *dir, const char *ext, int max_files, char **text,
                         int *count, sono_error *err)
{
    *text = NULL;
    *count = 0;
    DIR *d = opendir(dir);
    if (!d)
        return sono_fail(err, SONO_ENOTFOUND, "%s: cannot open the folder: %s", dir,
                         strerror(errno));
    char **names = NULL;
    int n = 0, rc = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!wanted(e->d_name, ext))
            continue;
        char **g = realloc(names, (size_t)(n + 1) * sizeof *names);
        if (!g || !(g[n] = strdup(e->d_name))) {
            names = g ? g : names;
            rc = sono_fail(err, SONO_ENOMEM, "%s: out of memory listing it", dir);
            break;
        }
        names = g;
        n++;
    }
    closedir(d);
    if (!rc && n == 0)
        rc = sono_fail(err, SONO_ENOTFOUND, "%s: no %s%s files", dir, ext ? "." : "audio",
                       ext ? ext : "");
    if (!rc)
        qsort(names, (size_t)n, sizeof *names, cmp_str);
    int use = n < max_files ? n : max_files;
    size_t cap = (size_t)use * 200 + 1, len = 0;
    char *t = rc ? NULL : malloc(cap);
    if (!rc && !t)
        rc = sono_fail(err, SONO_ENOMEM, "%s: out of memory", dir);
    if (t)
        t[0] = 0;
    for (int i = 0; !rc && i < use; i++) {
        char path[PATH_MAX], hex[65];
        long long bytes;
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        if (strchr(names[i], ' ') || strlen(names[i]) > 100) {
            rc = sono_fail(err, SONO_EINVAL, "%s: file names must have no spaces and at most "
                           "100 characters for the manifest", path);
            break;
        }
        SF_INFO info = {0};
        SNDFILE *f = sf_open(path, SFM_READ, &info);
        if (!f) {
            rc = sono_fail(err, SONO_EPARSE, "%s: not audio libsndfile reads: %s", path,
                           sf_strerror(NULL));
            break;
        }
        sf_close(f);
        if (file_sha(path, hex, &bytes)) {
            rc = sono_fail(err, SONO_EIO, "%s: cannot read it", path);
            break;
        }
        len += (size_t)snprintf(t + len, cap - len, "%s %lld %s %d %lld %d\n", names[i], bytes,
                                hex, info.samplerate, (long long)info.frames, info.channels);
    }
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
    if (rc) {
        free(t);
        return rc;
    }
    *text = t;
    *count = use;
    return 0;
}
