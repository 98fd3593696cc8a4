/* tarshard.c — ustar writer and reader for the WebDataset-style shards (tarshard.h). Only
 * what the shards need: regular files under 100-character names, sizes in octal. */
#include "tarshard.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define BLOCK 512

static void octal(char *field, size_t width, unsigned long long v)
{
    snprintf(field, width, "%0*llo", (int)width - 1, v);
}

static unsigned header_sum(const unsigned char *h)
{
    unsigned s = 0;
    for (int i = 0; i < BLOCK; i++)
        s += (i >= 148 && i < 156) ? ' ' : h[i]; /* the checksum field counts as spaces */
    return s;
}

static int put_member(FILE *out, const char *name, const unsigned char *data, size_t n)
{
    unsigned char h[BLOCK] = {0};
    memcpy(h, name, strlen(name));
    octal((char *)h + 100, 8, 0644);
    octal((char *)h + 108, 8, 0);
    octal((char *)h + 116, 8, 0);
    octal((char *)h + 124, 12, n);
    octal((char *)h + 136, 12, 0);
    h[156] = '0';
    memcpy(h + 257, "ustar", 6);
    memcpy(h + 263, "00", 2);
    snprintf((char *)h + 148, 8, "%06o", header_sum(h));
    h[155] = ' ';
    static const unsigned char zero[BLOCK];
    size_t pad = (BLOCK - n % BLOCK) % BLOCK;
    return fwrite(h, 1, BLOCK, out) == BLOCK && fwrite(data, 1, n, out) == n &&
                   fwrite(zero, 1, pad, out) == pad
               ? 0
               : -1;
}

static unsigned char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    unsigned char *buf = NULL;
    if (fseek(f, 0, SEEK_END) == 0) {
        long len = ftell(f);
        rewind(f);
        if (len >= 0 && (buf = malloc((size_t)len + 1)) &&
            fread(buf, 1, (size_t)len, f) != (size_t)len) {
            free(buf);
            buf = NULL;
        }
        *n = (size_t)len;
    }
    fclose(f);
    return buf;
}

int sono_tar_shard(const char *dir, const char *const *names, int n, const char *outdir,
                   int per_shard, int *shards, sono_error *err)
{
    if (per_shard < 1)
        return sono_fail(err, SONO_EINVAL, "shard: --per-shard must be >= 1, got %d", per_shard);
    if (mkdir(outdir, 0777) && errno != EEXIST)
        return sono_fail(err, SONO_EIO, "shard: cannot create %s: %s", outdir, strerror(errno));
    int rc = 0, s = 0;
    for (int first = 0; !rc && first < n; first += per_shard, s++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/shard-%06d.tar", outdir, s);
        FILE *out = fopen(path, "wb");
        if (!out)
            return sono_fail(err, SONO_EIO, "shard: cannot write %s: %s", path, strerror(errno));
        for (int i = first; !rc && i < n && i < first + per_shard; i++) {
            char src[4096];
            size_t len = 0;
            if (strlen(names[i]) > 100) {
                rc = sono_fail(err, SONO_EINVAL, "shard: %s: names over 100 characters do not "
                               "fit a ustar header", names[i]);
                break;
            }
            snprintf(src, sizeof src, "%s/%s", dir, names[i]);
            unsigned char *data = slurp(src, &len);
            if (!data)
                rc = sono_fail(err, SONO_EIO, "shard: cannot read %s", src);
            else if (put_member(out, names[i], data, len))
                rc = sono_fail(err, SONO_EIO, "shard: writing %s", path);
            free(data);
        }
        static const unsigned char end[2 * BLOCK];
        if (!rc && fwrite(end, 1, sizeof end, out) != sizeof end)
            rc = sono_fail(err, SONO_EIO, "shard: writing %s", path);
        if (fclose(out) && !rc)
            rc = sono_fail(err, SONO_EIO, "shard: writing %s", path);
    }
    if (shards)
        *shards = s;
    return rc;
}

int sono_tar_list(const char *path, sono_tar_member **mp, int *np, sono_error *err)
{
    *mp = NULL;
    *np = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return sono_fail(err, SONO_ENOTFOUND, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    long long size = fstat(fileno(f), &st) == 0 ? (long long)st.st_size : 0;
    sono_tar_member *m = NULL;
    int n = 0, rc = 0;
    long long at = 0;
    unsigned char h[BLOCK];
    for (;;) {
        if (fseek(f, at, SEEK_SET) || fread(h, 1, BLOCK, f) != BLOCK) {
            rc = sono_fail(err, SONO_EPARSE, "%s: truncated: no header or end marker at "
                           "offset %lld", path, at);
            break;
        }
        int empty = 1;
        for (int i = 0; i < BLOCK && empty; i++)
            empty = h[i] == 0;
        if (empty)
            break; /* the end-of-archive blocks */
        char field[13];
        memcpy(field, h + 148, 8);
        field[8] = 0;
        char *endp;
        unsigned long sum = strtoul(field, &endp, 8);
        if (endp == field || sum != header_sum(h)) {
            rc = sono_fail(err, SONO_EPARSE, "%s: header at offset %lld: checksum %s, expected "
                           "%o: corrupted or not a tar file", path, at, field, header_sum(h));
            break;
        }
        memcpy(field, h + 124, 12);
        field[12] = 0;
        long long len = strtoll(field, &endp, 8);
        if (endp == field || len < 0 || at + BLOCK + len > size) {
            rc = sono_fail(err, SONO_EPARSE, "%s: member at offset %lld: size %s runs past the "
                           "end (%lld bytes): truncated", path, at, field, size);
            break;
        }
        if (h[156] == '0' || h[156] == 0) {
            sono_tar_member *g = realloc(m, (size_t)(n + 1) * sizeof *m);
            if (!g) {
                rc = sono_fail(err, SONO_ENOMEM, "%s: out of memory", path);
                break;
            }
            m = g;
            memcpy(m[n].name, h, 100);
            m[n].name[100] = 0;
            m[n].offset = at + BLOCK;
            m[n].size = len;
            n++;
        }
        at += BLOCK + (len + BLOCK - 1) / BLOCK * BLOCK;
    }
    fclose(f);
    if (rc) {
        free(m);
        return rc;
    }
    *mp = m;
    *np = n;
    return 0;
}
