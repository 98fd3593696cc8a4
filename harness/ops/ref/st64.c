/* st64.c — safetensors for the references: the file read whole, every header entry
 * checked once at open, so a later read can only fail on a missing name or a wrong
 * shape. Floats of any width come out as doubles. */
#include "st64.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

struct sono_st {
    char path[4096];
    unsigned char *file;
    size_t size;
    const unsigned char *data; /* after the header */
    size_t data_len;
    json_t *hdr;
};

/* Element sizes of the dtypes the format defines; 0 for a name it does not. */
static size_t dtype_size(const char *t)
{
    static const struct { const char *name; size_t size; } k[] = {
        {"F64", 8}, {"F32", 4}, {"F16", 2}, {"BF16", 2}, {"I64", 8}, {"I32", 4},
        {"I16", 2}, {"I8", 1}, {"U8", 1}, {"U16", 2}, {"U32", 4}, {"U64", 8}, {"BOOL", 1},
    };
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++)
        if (strcmp(k[i].name, t) == 0)
            return k[i].size;
    return 0;
}

static int check_entry(const sono_st *st, const char *name, json_t *e, sono_error *err)
{
    json_t *dt = json_object_get(e, "dtype"), *shape = json_object_get(e, "shape"),
           *off = json_object_get(e, "data_offsets");
    if (!json_is_object(e) || !json_is_string(dt) || !json_is_array(shape) ||
        !json_is_array(off) || json_array_size(off) != 2)
        return sono_fail(err, SONO_EPARSE, "%s: tensor '%s': header entry needs dtype, "
                         "shape and data_offsets [begin, end]", st->path, name);
    size_t es = dtype_size(json_string_value(dt));
    if (!es)
        return sono_fail(err, SONO_EPARSE, "%s: tensor '%s': unknown dtype '%s'", st->path,
                         name, json_string_value(dt));
    unsigned long long n = 1;
    size_t i;
    json_t *d;
    json_array_foreach(shape, i, d) {
        if (!json_is_integer(d) || json_integer_value(d) < 0 ||
            json_integer_value(d) > (1LL << 40))
            return sono_fail(err, SONO_EPARSE, "%s: tensor '%s': shape entries must be "
                             "integers in [0, 2^40]", st->path, name);
        n *= (unsigned long long)json_integer_value(d);
        if (n > (1ULL << 40))
            return sono_fail(err, SONO_EPARSE, "%s: tensor '%s': too many elements",
                             st->path, name);
    }
    json_t *b = json_array_get(off, 0), *en = json_array_get(off, 1);
    if (!json_is_integer(b) || !json_is_integer(en) || json_integer_value(b) < 0 ||
        json_integer_value(en) < json_integer_value(b) ||
        (unsigned long long)json_integer_value(en) > st->data_len)
        return sono_fail(err, SONO_EPARSE, "%s: tensor '%s': data_offsets out of range "
                         "(the data holds %zu bytes)", st->path, name, st->data_len);
    unsigned long long bytes =
        (unsigned long long)(json_integer_value(en) - json_integer_value(b));
    if (bytes != n * es)
        return sono_fail(err, SONO_EPARSE, "%s: tensor '%s': data_offsets span %llu bytes, "
                         "its dtype and shape need %llu", st->path, name, bytes, n * es);
    return 0;
}

static int parse(sono_st *st, sono_error *err)
{
    if (st->size < 8)
        return sono_fail(err, SONO_EPARSE, "%s: truncated (%zu bytes, the header length "
                         "alone takes 8)", st->path, st->size);
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--)
        n = n << 8 | st->file[i];
    if (n > st->size - 8)
        return sono_fail(err, SONO_EPARSE, "%s: truncated: header of %llu bytes, %zu left "
                         "in the file", st->path, (unsigned long long)n, st->size - 8);
    json_error_t je;
    st->hdr = json_loadb((const char *)st->file + 8, (size_t)n, 0, &je);
    if (!json_is_object(st->hdr))
        return sono_fail(err, SONO_EPARSE, "%s: header is not a JSON object (%s)", st->path,
                         st->hdr ? "another JSON value" : je.text);
    st->data = st->file + 8 + n;
    st->data_len = st->size - 8 - (size_t)n;
    const char *name;
    json_t *e;
    json_object_foreach(st->hdr, name, e) {
        int rc;
        if (strcmp(name, "__metadata__") == 0) {
            if (!json_is_object(e))
                return sono_fail(err, SONO_EPARSE, "%s: __metadata__ is not an object",
                                 st->path);
        } else if ((rc = check_entry(st, name, e, err)))
            return rc;
    }
    return 0;
}

int sono_st_open(const char *path, sono_st **out, sono_error *err)
{
    *out = NULL;
    sono_st *st = calloc(1, sizeof *st);
    if (!st)
        return sono_fail(err, SONO_ENOMEM, "%s: out of memory", path);
    snprintf(st->path, sizeof st->path, "%s", path);
    FILE *f = fopen(path, "rb");
    if (!f) {
        int e = errno;
        free(st);
        return sono_fail(err, e == ENOENT ? SONO_ENOTFOUND : SONO_EIO,
                         "%s: cannot open weights file (%s)", path, strerror(e));
    }
    long sz = -1;
    if (fseek(f, 0, SEEK_END) == 0)
        sz = ftell(f);
    int rc = 0;
    if (sz < 0 || fseek(f, 0, SEEK_SET) != 0)
        rc = sono_fail(err, SONO_EIO, "%s: cannot seek", path);
    else if (!(st->file = malloc((size_t)sz + 1)))
        rc = sono_fail(err, SONO_ENOMEM, "%s: cannot hold %ld bytes", path, sz);
    else if (fread(st->file, 1, (size_t)sz, f) != (size_t)sz)
        rc = sono_fail(err, SONO_EIO, "%s: read error", path);
    fclose(f);
    st->size = (size_t)(sz < 0 ? 0 : sz);
    if (!rc)
        rc = parse(st, err);
    if (rc) {
        sono_st_close(st);
        return rc;
    }
    *out = st;
    return 0;
}

void sono_st_close(sono_st *st)
{
    if (!st)
        return;
    json_decref(st->hdr);
    free(st->file);
    free(st);
}

const char *sono_st_path(const sono_st *st)
{
    return st->path;
}

const char *sono_st_meta(const sono_st *st, const char *key)
{
    json_t *v = json_object_get(json_object_get(st->hdr, "__metadata__"), key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

int sono_st_has(const sono_st *st, const char *name)
{
    return strcmp(name, "__metadata__") != 0 && json_object_get(st->hdr, name) != NULL;
}

static double half_to_double(uint16_t h)
{
    int e = (h >> 10) & 31, m = h & 1023;
    double v = e == 0 ? ldexp(m, -24) : e == 31 ? (m ? NAN : INFINITY)
                                                : ldexp(m + 1024, e - 25);
    return h & 0x8000 ? -v : v;
}

int sono_st_read(const sono_st *st, const char *name, int ndim, const long long *shape,
                 double **out, sono_error *err)
{
    *out = NULL;
    json_t *e = sono_st_has(st, name) ? json_object_get(st->hdr, name) : NULL;
    if (!e)
        return sono_fail(err, SONO_ENOTFOUND, "%s: tensor '%s' is missing", st->path, name);
    json_t *sh = json_object_get(e, "shape");
    char want[128] = "", got[128] = "";
    int same = (int)json_array_size(sh) == ndim;
    for (int i = 0; i < ndim; i++) {
        snprintf(want + strlen(want), sizeof want - strlen(want), "%s%lld", i ? ", " : "",
                 shape[i]);
        same = same && json_integer_value(json_array_get(sh, (size_t)i)) == shape[i];
    }
    for (size_t i = 0; i < json_array_size(sh); i++)
        snprintf(got + strlen(got), sizeof got - strlen(got), "%s%lld", i ? ", " : "",
                 (long long)json_integer_value(json_array_get(sh, i)));
    if (!same)
        return sono_fail(err, SONO_EINVAL, "%s: tensor '%s' has shape [%s], expected [%s]",
                         st->path, name, got, want);
    const char *dt = json_string_value(json_object_get(e, "dtype"));
    size_t es = dtype_size(dt);
    int f64 = strcmp(dt, "F64") == 0, f32 = strcmp(dt, "F32") == 0,
        f16 = strcmp(dt, "F16") == 0, bf16 = strcmp(dt, "BF16") == 0;
    if (!f64 && !f32 && !f16 && !bf16)
        return sono_fail(err, SONO_EINVAL, "%s: tensor '%s' is %s; weights must be F32, "
                         "F16, BF16 or F64", st->path, name, dt);
    size_t n = 1;
    for (int i = 0; i < ndim; i++)
        n *= (size_t)shape[i];
    double *v = malloc((n ? n : 1) * sizeof *v);
    if (!v)
        return sono_fail(err, SONO_ENOMEM, "%s: tensor '%s': out of memory", st->path, name);
    const unsigned char *p =
        st->data + json_integer_value(json_array_get(json_object_get(e, "data_offsets"), 0));
    for (size_t i = 0; i < n; i++, p += es) {
        uint64_t u = 0; /* little-endian, whatever the host */
        for (int b = (int)es - 1; b >= 0; b--)
            u = u << 8 | p[b];
        if (f64) {
            double d;
            memcpy(&d, &u, 8);
            v[i] = d;
        } else if (f32 || bf16) {
            uint32_t w = f32 ? (uint32_t)u : (uint32_t)u << 16;
            float x;
            memcpy(&x, &w, 4);
            v[i] = x;
        } else
            v[i] = half_to_double((uint16_t)u);
    }
    *out = v;
    return 0;
}

/* whisper.encoder: a tensor whose leading dim may exceed what is used (embed_positions
 * holds 1500 rows for any shorter input): its dims, to read it whole and keep a part. */
int sono_st_dim(const sono_st *st, const char *name, int i, long long *dim)
{
    json_t *sh = sono_st_has(st, name) ? json_object_get(json_object_get(st->hdr, name),
                                                         "shape")
                                       : NULL;
    if (!sh || i < 0 || (size_t)i >= json_array_size(sh))
        return SONO_ENOTFOUND;
    *dim = (long long)json_integer_value(json_array_get(sh, (size_t)i));
    return 0;
}
