/* encodec_st.c — safetensors for the impls: mmap, one pass over the header that rejects
 * what the format forbids (short files, non-object JSON, unknown dtypes, offsets outside
 * the data or not matching dtype x shape), then typed copies by name. */
#include "encodec_st.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

struct est_file {
    const char *path; /* points into name_buf */
    char name_buf[4096];
    const uint8_t *map;
    size_t len, hdr_len;
    json_t *hdr;
};

static int width_of(const char *dt)
{
    const char *w8[] = {"F64", "I64", "U64"}, *w4[] = {"F32", "I32", "U32"},
               *w2[] = {"F16", "BF16", "I16", "U16"}, *w1[] = {"I8", "U8", "BOOL"};
    for (int i = 0; i < 3; i++)
        if (!strcmp(dt, w8[i]))
            return 8;
    for (int i = 0; i < 3; i++)
        if (!strcmp(dt, w4[i]))
            return 4;
    for (int i = 0; i < 4; i++)
        if (!strcmp(dt, w2[i]))
            return 2;
    for (int i = 0; i < 3; i++)
        if (!strcmp(dt, w1[i]))
            return 1;
    return 0;
}

static int check_header(est_file *f, sono_error *err)
{
    size_t data_len = f->len - 8 - f->hdr_len;
    const char *key;
    json_t *v;
    json_object_foreach(f->hdr, key, v) {
        if (!strcmp(key, "__metadata__"))
            continue;
        json_t *dt = json_object_get(v, "dtype"), *sh = json_object_get(v, "shape"),
               *off = json_object_get(v, "data_offsets");
        if (!json_is_string(dt) || !json_is_array(sh) || !json_is_array(off) ||
            json_array_size(off) != 2 || !json_is_integer(json_array_get(off, 0)) ||
            !json_is_integer(json_array_get(off, 1)))
            return sono_fail(err, SONO_EPARSE, "%s: tensor '%s': malformed header "
                             "entry (dtype, shape, data_offsets)", f->path, key);
        int w = width_of(json_string_value(dt));
        if (!w)
            return sono_fail(err, SONO_EPARSE, "%s: tensor '%s': unknown dtype '%s'",
                             f->path, key, json_string_value(dt));
        uint64_t count = 1;
        for (size_t i = 0; i < json_array_size(sh); i++) {
            json_t *d = json_array_get(sh, i);
            if (!json_is_integer(d) || json_integer_value(d) < 0 ||
                json_integer_value(d) > (1LL << 40) ||
                (count *= (uint64_t)json_integer_value(d)) > (1ULL << 40))
                return sono_fail(err, SONO_EPARSE, "%s: tensor '%s': bad shape", f->path,
                                 key);
        }
        json_int_t b = json_integer_value(json_array_get(off, 0)),
                   e = json_integer_value(json_array_get(off, 1));
        if (b < 0 || e < b || (uint64_t)e > data_len)
            return sono_fail(err, SONO_EPARSE, "%s: tensor '%s': data_offsets [%lld, %lld] "
                             "out of range of %zu data bytes", f->path, key, (long long)b,
                             (long long)e, data_len);
        if ((uint64_t)(e - b) != count * (uint64_t)w)
            return sono_fail(err, SONO_EPARSE, "%s: tensor '%s': %lld bytes for %llu "
                             "elements of %d bytes", f->path, key, (long long)(e - b),
                             (unsigned long long)count, w);
    }
    return 0;
}

int est_open(const char *path, est_file **out, sono_error *err)
{
    *out = NULL;
    est_file *f = calloc(1, sizeof *f);
    if (!f)
        return sono_fail(err, SONO_ENOMEM, "%s: out of memory", path);
    snprintf(f->name_buf, sizeof f->name_buf, "%s", path);
    f->path = f->name_buf;
    int fd = open(path, O_RDONLY), rc = 0;
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        rc = sono_fail(err, errno == ENOENT ? SONO_ENOTFOUND : SONO_EIO,
                       "%s: cannot open weights (%s)", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        free(f);
        return rc;
    }
    f->len = (size_t)st.st_size;
    if (f->len >= 8) {
        void *p = mmap(NULL, f->len, PROT_READ, MAP_PRIVATE, fd, 0);
        f->map = p == MAP_FAILED ? NULL : p;
    }
    close(fd);
    if (f->len < 8)
        rc = sono_fail(err, SONO_EPARSE, "%s: truncated: %zu bytes, not even the 8-byte "
                       "header length", path, f->len);
    else if (!f->map)
        rc = sono_fail(err, SONO_EIO, "%s: cannot map (%s)", path, strerror(errno));
    if (!rc) {
        uint64_t n = 0;
        memcpy(&n, f->map, 8); /* little-endian hosts only: x86-64 and arm64 */
        if (n > f->len - 8)
            rc = sono_fail(err, SONO_EPARSE, "%s: truncated: the header says %llu bytes, the "
                           "file has %zu after the length", path, (unsigned long long)n,
                           f->len - 8);
        f->hdr_len = (size_t)n;
    }
    if (!rc) {
        json_error_t je;
        f->hdr = json_loadb((const char *)f->map + 8, f->hdr_len, 0, &je);
        if (!json_is_object(f->hdr))
            rc = sono_fail(err, SONO_EPARSE, "%s: header is not a JSON object: %s", path,
                           f->hdr ? "wrong JSON type" : je.text);
    }
    if (!rc)
        rc = check_header(f, err);
    if (rc) {
        est_close(f);
        return rc;
    }
    *out = f;
    return 0;
}

void est_close(est_file *f)
{
    if (!f)
        return;
    if (f->map)
        munmap((void *)f->map, f->len);
    json_decref(f->hdr);
    free(f);
}

const char *est_meta(const est_file *f, const char *key)
{
    return json_string_value(json_object_get(json_object_get(f->hdr, "__metadata__"), key));
}

int est_has(const est_file *f, const char *name)
{
    return strcmp(name, "__metadata__") && json_object_get(f->hdr, name);
}

static float from_half(uint16_t h)
{
    uint32_t s = (uint32_t)(h & 0x8000) << 16, e = (h >> 10) & 31, m = h & 1023, bits;
    if (e == 0 && m == 0)
        bits = s;
    else if (e == 0) { /* subnormal: renormalise */
        int sh = 0;
        while (!(m & 1024)) {
            m <<= 1;
            sh++;
        }
        bits = s | (uint32_t)(113 - sh) << 23 | (m & 1023) << 13;
    } else if (e == 31)
        bits = s | 0x7f800000u | m << 13;
    else
        bits = s | (e + 112) << 23 | m << 13;
    float v;
    memcpy(&v, &bits, 4);
    return v;
}

int est_get(const est_file *f, const char *name, int ndim, const long long *shape,
            float *dst, sono_error *err)
{
    json_t *e = est_has(f, name) ? json_object_get(f->hdr, name) : NULL;
    if (!e)
        return sono_fail(err, SONO_ENOTFOUND, "%s: tensor '%s' is missing", f->path, name);
    json_t *sh = json_object_get(e, "shape");
    int ok = json_array_size(sh) == (size_t)ndim;
    size_t n = 1;
    for (int i = 0; i < ndim; i++) {
        ok = ok && json_integer_value(json_array_get(sh, (size_t)i)) == shape[i];
        n *= (size_t)shape[i];
    }
    if (!ok) {
        char got[96] = "", want[96] = "";
        for (size_t i = 0; i < json_array_size(sh); i++)
            snprintf(got + strlen(got), sizeof got - strlen(got), "%s%lld", i ? ", " : "",
                     (long long)json_integer_value(json_array_get(sh, i)));
        for (int i = 0; i < ndim; i++)
            snprintf(want + strlen(want), sizeof want - strlen(want), "%s%lld",
                     i ? ", " : "", shape[i]);
        return sono_fail(err, SONO_EINVAL, "%s: tensor '%s' has shape [%s], expected [%s]",
                         f->path, name, got, want);
    }
    const char *dt = json_string_value(json_object_get(e, "dtype"));
    const uint8_t *src = f->map + 8 + f->hdr_len +
                         json_integer_value(json_array_get(json_object_get(e, "data_offsets"), 0));
    if (!strcmp(dt, "F32"))
        memcpy(dst, src, n * 4);
    else if (!strcmp(dt, "F64"))
        for (size_t i = 0; i < n; i++) {
            double d;
            memcpy(&d, src + 8 * i, 8);
            dst[i] = (float)d;
        }
    else if (!strcmp(dt, "F16") || !strcmp(dt, "BF16"))
        for (size_t i = 0; i < n; i++) {
            uint16_t h;
            memcpy(&h, src + 2 * i, 2);
            if (dt[0] == 'B') {
                uint32_t b = (uint32_t)h << 16;
                memcpy(&dst[i], &b, 4);
            } else
                dst[i] = from_half(h);
        }
    else
        return sono_fail(err, SONO_EINVAL, "%s: tensor '%s' is %s, not a float type", f->path,
                         name, dt);
    return 0;
}

/* whisper.encoder: embed_positions may hold more rows than an input uses. */
int est_dim(const est_file *f, const char *name, int i, long long *dim)
{
    json_t *sh = est_has(f, name) ? json_object_get(json_object_get(f->hdr, name), "shape")
                                  : NULL;
    if (!sh || i < 0 || (size_t)i >= json_array_size(sh))
        return SONO_ENOTFOUND;
    *dim = (long long)json_integer_value(json_array_get(sh, (size_t)i));
    return 0;
}
