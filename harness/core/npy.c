/* npy.c — writes a sono_buf as a NumPy .npy file (format 1.0), so `harness exec` output
 * opens with numpy.load in another tool. Data are written as the host holds them: the
 * header says little-endian, which every machine this project targets (x86-64) is. */
#ifndef _GNU_SOURCE
#define _POSIX_C_SOURCE 200809L /* lstat, when built without the project's -D_GNU_SOURCE */
#endif
#include "npy.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *descr_of(sono_dtype t)
{
    switch (t) {
    case SONO_F32: return "<f4";
    case SONO_C64: return "<c8";
    case SONO_F64: return "<f8";
    case SONO_C128: return "<c16";
    case SONO_I16: return "<i2";
    case SONO_I32: return "<i4";
    }
    return NULL;
}

/* Builds the whole header (magic .. '\n') in hdr; returns its length, a multiple of 64 so
 * the data start aligned (NumPy's own writer does the same), or 0 if it cannot fit. */
static size_t build_header(const sono_buf *buf, const char *descr, char *hdr, size_t cap)
{
    char shape[SONO_MAX_DIMS * 24 + 8];
    size_t k = 0;
    shape[k++] = '(';
    for (int i = 0; i < buf->ndim; i++)
        k += (size_t)snprintf(shape + k, sizeof shape - k, i ? ", %lld" : "%lld",
                              buf->shape[i]);
    if (buf->ndim == 1)
        shape[k++] = ','; /* Python's one-tuple: "(5,)" */
    shape[k++] = ')';
    shape[k] = '\0';

    const size_t pre = 10; /* magic(6) + version(2) + header length(2) */
    int dl = snprintf(hdr + pre, cap - pre,
                      "{'descr': '%s', 'fortran_order': False, 'shape': %s, }", descr,
                      shape);
    if (dl < 0 || (size_t)dl + pre + 1 > cap)
        return 0;
    size_t total = (pre + (size_t)dl + 1 + 63) / 64 * 64;
    if (total > cap || total - pre > UINT16_MAX)
        return 0;
    memset(hdr + pre + dl, ' ', total - pre - (size_t)dl - 1);
    hdr[total - 1] = '\n';
    memcpy(hdr, "\x93NUMPY\x01\x00", 8);
    hdr[8] = (char)((total - pre) & 0xff);
    hdr[9] = (char)((total - pre) >> 8);
    return total;
}

int sono_npy_write(const char *path, const sono_buf *buf, sono_error *err)
{
    if (!path || !buf)
        return sono_fail(err, SONO_EINVAL, "npy: no %s given", path ? "buffer" : "path");
    const char *descr = descr_of(buf->dtype);
    if (!descr)
        return sono_fail(err, SONO_EINVAL,
                         "npy: cannot write %s: unknown dtype %d (known: f32 c64 f64 c128 "
                         "i16 i32)", path, (int)buf->dtype);
    if (buf->ndim < 0 || buf->ndim > SONO_MAX_DIMS)
        return sono_fail(err, SONO_EINVAL, "npy: cannot write %s: ndim %d outside 0..%d",
                         path, buf->ndim, SONO_MAX_DIMS);
    for (int i = 0; i < buf->ndim; i++)
        if (buf->shape[i] < 0)
            return sono_fail(err, SONO_EINVAL,
                             "npy: cannot write %s: shape[%d] = %lld is negative", path, i,
                             buf->shape[i]);
    size_t nbytes = (size_t)sono_buf_elems(buf) * sono_dtype_size(buf->dtype);
    if (nbytes > buf->nbytes || (nbytes && !buf->data))
        return sono_fail(err, SONO_EINVAL,
                         "npy: cannot write %s: shape needs %zu bytes, buffer holds %zu",
                         path, nbytes, buf->data ? buf->nbytes : (size_t)0);

    char hdr[256];
    size_t hl = build_header(buf, descr, hdr, sizeof hdr);
    if (!hl)
        return sono_fail(err, SONO_EINTERNAL, "npy: header for %s does not fit", path);

    FILE *f = fopen(path, "wb");
    if (!f)
        return sono_fail(err, SONO_EIO, "npy: cannot open %s for writing: %s", path,
                         strerror(errno));
    int werr = 0;
    errno = 0;
    if (fwrite(hdr, 1, hl, f) != hl ||
        (nbytes && fwrite(buf->data, 1, nbytes, f) != nbytes))
        werr = errno ? errno : EIO;
    /* fclose flushes: a full disk often shows only here. */
    if (fclose(f) != 0 && !werr)
        werr = errno ? errno : EIO;
    if (werr) {
        /* A truncated .npy would load as garbage: remove it, but only a regular file we
         * wrote, never a device or link the path named (/dev/full, say). */
        struct stat st;
        if (lstat(path, &st) == 0 && S_ISREG(st.st_mode))
            unlink(path);
        return sono_fail(err, SONO_EIO, "npy: cannot write %s: %s", path, strerror(werr));
    }
    return 0;
}
