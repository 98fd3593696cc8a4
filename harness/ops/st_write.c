/* st_write.c — random weights as a safetensors file (st_write.h): the header JSON padded
 * with spaces to 8 bytes as the format asks, then F32 little-endian data, each value a
 * 24-bit uniform draw so a seed gives the same file on every machine. Factored out of
 * codec.encodec's writer; its files come out byte for byte as before. */
#include "st_write.h"

#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "prng.h"

int sono_st_push(sono_st_list *l, const char *name, int ndim, long long d0, long long d1,
                 long long d2, double a, double g)
{
    if (l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 256;
        sono_st_tensor *t = realloc(l->t, (size_t)cap * sizeof *t);
        if (!t)
            return SONO_ENOMEM;
        l->t = t;
        l->cap = cap;
    }
    sono_st_tensor *t = &l->t[l->n++];
    *t = (sono_st_tensor){.ndim = ndim, .shape = {d0, d1, d2}, .a = a, .g = g};
    snprintf(t->name, sizeof t->name, "%s", name);
    return 0;
}

static long long elems(const sono_st_tensor *t)
{
    long long n = 1;
    for (int i = 0; i < t->ndim; i++)
        n *= t->shape[i];
    return n;
}

static int write_file(FILE *f, const sono_st_list *l, const char *const *meta,
                      unsigned long long seed)
{
    json_t *h = json_object(), *m = json_pack("{s:s}", "format", "pt");
    for (int i = 0; meta && meta[i] && meta[i + 1]; i += 2)
        json_object_set_new(m, meta[i], json_string(meta[i + 1]));
    json_object_set_new(h, "__metadata__", m);
    long long off = 0;
    for (int i = 0; i < l->n; i++) {
        const sono_st_tensor *t = &l->t[i];
        json_t *shape = json_array();
        for (int d = 0; d < t->ndim; d++)
            json_array_append_new(shape, json_integer(t->shape[d]));
        long long end = off + 4 * elems(t);
        json_object_set_new(h, t->name, json_pack("{s:s, s:o, s:[I, I]}", "dtype", "F32",
                                                   "shape", shape, "data_offsets",
                                                   (json_int_t)off, (json_int_t)end));
        off = end;
    }
    char *text = json_dumps(h, JSON_COMPACT);
    json_decref(h);
    if (!text)
        return SONO_ENOMEM;
    size_t n = strlen(text), padded = (n + 7) & ~(size_t)7; /* the format pads with spaces */
    unsigned char len[8];
    for (int i = 0; i < 8; i++)
        len[i] = (unsigned char)((uint64_t)padded >> (8 * i));
    int bad = fwrite(len, 1, 8, f) != 8 || fwrite(text, 1, n, f) != n;
    for (size_t i = n; i < padded; i++)
        bad |= fputc(' ', f) == EOF;
    free(text);
    uint64_t s[4];
    sono_xoshiro_seed(s, seed);
    for (int i = 0; i < l->n && !bad; i++) {
        const sono_st_tensor *t = &l->t[i];
        for (long long j = 0; j < elems(t) && !bad; j++) {
            double u = sono_draw24(s) / 8388608.0;
            float v = (float)(t->g > 0 ? t->g * (1 + 0.1 * u) : t->a * u);
            uint32_t w;
            memcpy(&w, &v, 4);
            unsigned char b[4] = {(unsigned char)w, (unsigned char)(w >> 8),
                                  (unsigned char)(w >> 16), (unsigned char)(w >> 24)};
            bad = fwrite(b, 1, 4, f) != 4;
        }
    }
    return bad ? SONO_EIO : 0;
}

int sono_st_write_random(const char *path, const sono_st_list *l, const char *const *meta,
                         unsigned long long seed, sono_error *err)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    if (!f)
        return sono_fail(err, SONO_EIO, "%s: cannot write (%s)", tmp, strerror(errno));
    int rc = write_file(f, l, meta, seed);
    if (fclose(f) != 0 && !rc)
        rc = SONO_EIO;
    if (!rc && rename(tmp, path) != 0)
        rc = SONO_EIO;
    if (rc) {
        remove(tmp);
        return sono_fail(err, rc, "%s: writing random weights failed", path);
    }
    return 0;
}

static int mkdirs(const char *path)
{
    char p[4200];
    snprintf(p, sizeof p, "%s", path);
    for (char *s = p + 1; *s; s++)
        if (*s == '/') {
            *s = 0;
            if (mkdir(p, 0755) != 0 && errno != EEXIST)
                return -1;
            *s = '/';
        }
    return 0;
}

int sono_st_ensure_random(const char *path, const sono_st_list *l, const char *const *meta,
                          unsigned long long seed, sono_error *err)
{
    struct stat st;
    if (stat(path, &st) == 0 && st.st_size > 8)
        return 0;
    if (mkdirs(path) != 0)
        return sono_fail(err, SONO_EIO, "%s: cannot make its folder (%s)", path,
                         strerror(errno));
    return sono_st_write_random(path, l, meta, seed, err);
}

int sono_st_cache_path(const char *name, char *path, size_t n, sono_error *err)
{
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    char base[4096];
    if (xdg && *xdg)
        snprintf(base, sizeof base, "%s", xdg);
    else if (home && *home)
        snprintf(base, sizeof base, "%s/.cache", home);
    else
        snprintf(base, sizeof base, "build/cache");
    int k = snprintf(path, n, "%s/sonobench/%s", base, name);
    if (k < 0 || (size_t)k >= n)
        return sono_fail(err, SONO_EINVAL, "weights cache path too long under %s", base);
    return 0;
}
