/* speech.c — inputs assembled from several recordings: `speech` (the voice files a
 * manifest lists with their sha256, looped to any length) and a directory (its audio
 * files in name order, not looped). Each file is mixed to mono and resampled on its own,
 * then concatenated. */
#include "audio.h"

#include <ctype.h>
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "paths.h"
#include "sha256.h"

static const char MANIFEST[] = "speech.manifest";
static const char INSTALL_HINT[] = "install alsa-utils (ci/install-deps.sh)";

/* ---- the manifest ----------------------------------------------------------------- */

static int is_file(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

int sono_speech_find_manifest(char *out, size_t n, sono_error *err)
{
    /* the executable's parent first (bin/harness in the tree, PREFIX once installed),
     * then further up for test and sanitizer builds under build/ */
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", sono_exe_dir());
    char tried[2048] = "";
    size_t tl = 0;
    for (int up = 0; up < 4; up++) {
        char *slash = strrchr(dir, '/');
        if (!slash)
            break;
        *slash = '\0';
        const char *base = dir[0] ? dir : "";
        static const char *const sub[] = {"datasets", "share/sonobench/datasets"};
        for (int i = 0; i < 2; i++) {
            if (snprintf(out, n, "%s/%s/%s", base, sub[i], MANIFEST) >= (int)n)
                continue;
            if (is_file(out))
                return 0;
            int w = snprintf(tried + tl, sizeof tried - tl, "%s%s", tl ? ", " : "", out);
            if (w > 0 && (size_t)w < sizeof tried - tl)
                tl += (size_t)w;
        }
    }
    return sono_fail(err, SONO_ENOTFOUND, "input 'speech': no %s found (tried %s)",
                     MANIFEST, tried);
}

typedef struct entry {
    char sha[65];
    char path[PATH_MAX];
} entry;

/* The manifest's entries, malloc'd. Relative paths are made relative to its folder. */
static int load_manifest(const char *manifest, entry **out, int *count, sono_error *err)
{
    *out = NULL;
    *count = 0;
    FILE *f = fopen(manifest, "r");
    if (!f)
        return sono_fail(err, SONO_ENOTFOUND, "input 'speech': cannot read %s", manifest);
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", manifest);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    else
        snprintf(dir, sizeof dir, ".");
    entry *e = NULL;
    int n = 0, rc = 0, lineno = 0;
    char line[8192];
    while (!rc && fgets(line, sizeof line, f)) {
        lineno++;
        char *p = line;
        while (isspace((unsigned char)*p))
            p++;
        if (!*p || *p == '#')
            continue;
        char sha[80], path[PATH_MAX];
        int hexok = sscanf(p, "%79s %4095s", sha, path) == 2 && strlen(sha) == 64;
        for (int i = 0; hexok && i < 64; i++)
            hexok = isxdigit((unsigned char)sha[i]) && !isupper((unsigned char)sha[i]);
        if (!hexok) {
            rc = sono_fail(err, SONO_EPARSE,
                           "%s:%d: expected 'SHA256 PATH DESCRIPTION' with 64 lowercase hex "
                           "digits",
                           manifest, lineno);
            break;
        }
        entry *grown = realloc(e, (size_t)(n + 1) * sizeof *e);
        if (!grown) {
            rc = sono_fail(err, SONO_ENOMEM, "%s: out of memory", manifest);
            break;
        }
        e = grown;
        memcpy(e[n].sha, sha, 65);
        if ((path[0] == '/' ? snprintf(e[n].path, sizeof e[n].path, "%s", path)
                            : snprintf(e[n].path, sizeof e[n].path, "%s/%s", dir, path)) >=
            (int)sizeof e[n].path) {
            rc = sono_fail(err, SONO_EINVAL, "%s:%d: path too long", manifest, lineno);
            break;
        }
        n++;
    }
    fclose(f);
    if (!rc && n == 0)
        rc = sono_fail(err, SONO_EPARSE, "%s: lists no files", manifest);
    if (rc) {
        free(e);
        return rc;
    }
    *out = e;
    *count = n;
    return 0;
}

static int file_sha256(const char *path, char hex[65])
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    sono_sha256 c;
    sono_sha256_init(&c);
    unsigned char buf[65536];
    size_t got;
    while ((got = fread(buf, 1, sizeof buf, f)) > 0)
        sono_sha256_update(&c, buf, got);
    int bad = ferror(f);
    fclose(f);
    if (bad)
        return -1;
    unsigned char d[32];
    sono_sha256_final(&c, d);
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", d[i]);
    return 0;
}

int sono_speech_check_manifest(const char *manifest, sono_error *err)
{
    entry *e;
    int n, rc = load_manifest(manifest, &e, &n, err);
    for (int i = 0; !rc && i < n; i++) {
        char got[65];
        if (!is_file(e[i].path)) {
            rc = sono_fail(err, SONO_ENOTFOUND,
                           "input 'speech': %s is missing (listed in %s); %s", e[i].path,
                           manifest, INSTALL_HINT);
        } else if (file_sha256(e[i].path, got)) {
            rc = sono_fail(err, SONO_EIO, "input 'speech': cannot read %s", e[i].path);
        } else if (strcmp(got, e[i].sha)) {
            rc = sono_fail(err, SONO_EPARSE,
                           "input 'speech': %s has sha256 %s, %s lists %s (a different "
                           "recording would change every speech result)",
                           e[i].path, got, manifest, e[i].sha);
        } else {
            rc = sono_audio_check(e[i].path, NULL, NULL, err);
        }
    }
    free(e);
    return rc;
}

int sono_speech_fill(const char *manifest, double rate, float *out, long long n,
                     sono_error *err)
{
    entry *e;
    int count, rc = load_manifest(manifest, &e, &count, err);
    long long have = 0;
    for (int i = 0; !rc && i < count && have < n; i++) {
        long long got = 0;
        rc = sono_audio_read(e[i].path, rate, out + have, n - have, &got, NULL, err);
        have += got;
    }
    free(e);
    if (rc)
        return rc;
    if (have == 0 && n > 0)
        return sono_fail(err, SONO_EPARSE, "input 'speech': %s gives no samples", manifest);
    /* loop: every later block is a copy of the start, so the period is exactly `have` */
    for (long long i = have; i < n;) {
        long long c = n - i < have ? n - i : have;
        memcpy(out + i, out, (size_t)c * sizeof *out);
        i += c;
    }
    return 0;
}

/* ---- directories ------------------------------------------------------------------ */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void sono_audio_free_list(char **paths, int count)
{
    for (int i = 0; i < count; i++)
        free(paths[i]);
    free(paths);
}

int sono_audio_list_dir(const char *dir, char ***paths, int *count, sono_error *err)
{
    *paths = NULL;
    *count = 0;
    DIR *d = opendir(dir);
    if (!d)
        return sono_fail(err, SONO_ENOTFOUND, "input %s: cannot open the directory", dir);
    char **v = NULL;
    int n = 0, rc = 0;
    size_t dl = strlen(dir);
    const char *sep = dl && dir[dl - 1] == '/' ? "" : "/";
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.' || !sono_audio_ext(de->d_name))
            continue;
        char **grown = realloc(v, (size_t)(n + 1) * sizeof *v);
        size_t len = dl + strlen(sep) + strlen(de->d_name) + 1;
        char *p = grown ? malloc(len) : NULL;
        if (grown)
            v = grown;
        if (!p) {
            rc = sono_fail(err, SONO_ENOMEM, "input %s: out of memory listing it", dir);
            break;
        }
        snprintf(p, len, "%s%s%s", dir, sep, de->d_name);
        v[n++] = p;
    }
    closedir(d);
    if (!rc && n == 0)
        rc = sono_fail(err, SONO_ENOTFOUND,
                       "input %s: the directory holds no audio files (.wav .flac .ogg .aiff "
                       ".au)",
                       dir);
    if (rc) {
        sono_audio_free_list(v, n);
        return rc;
    }
    qsort(v, (size_t)n, sizeof *v, cmp_str);
    *paths = v;
    *count = n;
    return 0;
}

int sono_audio_check_dir(const char *dir, sono_error *err)
{
    char **v;
    int n, rc = sono_audio_list_dir(dir, &v, &n, err);
    for (int i = 0; !rc && i < n; i++)
        rc = sono_audio_check(v[i], NULL, NULL, err);
    sono_audio_free_list(v, n);
    return rc;
}

int sono_dir_fill_upto(const char *dir, double rate, float *out, long long n,
                       long long *have_out, double *rate_out, sono_error *err)
{
    char **v;
    int count, rc = sono_audio_list_dir(dir, &v, &count, err);
    if (rc)
        return rc;
    long long have = 0;
    for (int i = 0; !rc && i < count && have < n; i++) {
        long long got = 0;
        int fr = 0;
        rc = sono_audio_read(v[i], rate, out + have, n - have, &got, &fr, err);
        if (rate <= 0.0)
            rate = fr; /* the first file sets the directory's rate */
        have += got;
    }
    sono_audio_free_list(v, count);
    *have_out = have;
    if (!rc && rate_out)
        *rate_out = rate;
    return rc;
}

int sono_dir_fill(const char *dir, double rate, float *out, long long n, double *rate_out,
                  sono_error *err)
{
    long long have = 0;
    double used = rate;
    int rc = sono_dir_fill_upto(dir, rate, out, n, &have, &used, err);
    if (rc)
        return rc;
    if (have < n)
        return sono_fail(err, SONO_EUNSUPPORTED,
                         "input %s has %lld samples at %g Hz (%.2f s), the case needs %lld "
                         "(%.2f s; directories are never looped or padded): add files or "
                         "give the case a smaller size (e.g. seconds)",
                         dir, have, used, have / used, n, n / used);
    if (rate_out)
        *rate_out = used;
    return 0;
}

/* ---- one recording of the manifest, for callers that split it (rvq training) ------ */

int sono_speech_entry(const char *manifest, int index, char *path, size_t n, char sha[65],
                      int *count, sono_error *err)
{
    entry *e;
    int total, rc = load_manifest(manifest, &e, &total, err);
    if (rc)
        return rc;
    if (count)
        *count = total;
    if (index < 0 || index >= total)
        rc = sono_fail(err, SONO_ENOTFOUND, "%s lists %d recordings; there is no #%d",
                       manifest, total, index + 1);
    else if (snprintf(path, n, "%s", e[index].path) >= (int)n)
        rc = sono_fail(err, SONO_EINVAL, "%s: path of recording #%d is too long", manifest,
                       index + 1);
    else if (sha)
        memcpy(sha, e[index].sha, 65);
    free(e);
    return rc;
}
