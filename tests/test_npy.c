/* test_npy.c — harness/core/npy.c writes .npy files that a separate minimal reader, written
 * here from the format description (not from npy.c), parses back to the same header
 * fields and bytes; failures name the path. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "npy.h"

typedef struct {
    char dict[512]; /* the header text after the length field, '\n' included */
    size_t header_total;
    unsigned char *data;
    size_t ndata;
} np_file;

static char np_dir[64];

static int np_setup(void **state)
{
    (void)state;
    snprintf(np_dir, sizeof np_dir, "/tmp/sono_npy_XXXXXX");
    return mkdtemp(np_dir) ? 0 : -1;
}

static int np_teardown(void **state)
{
    (void)state;
    return rmdir(np_dir);
}

/* Reads path per the NumPy format spec: magic, version 1.0, LE uint16 length, dict. */
static void np_read(const char *path, np_file *f)
{
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    unsigned char pre[10];
    assert_int_equal(fread(pre, 1, 10, fp), 10);
    assert_memory_equal(pre, "\x93NUMPY", 6);
    assert_int_equal(pre[6], 1);
    assert_int_equal(pre[7], 0);
    size_t hl = (size_t)pre[8] | (size_t)pre[9] << 8;
    assert_true(hl < sizeof f->dict);
    assert_int_equal(fread(f->dict, 1, hl, fp), hl);
    f->dict[hl] = '\0';
    f->header_total = 10 + hl;
    fseek(fp, 0, SEEK_END);
    long end = ftell(fp);
    f->ndata = (size_t)end - f->header_total;
    f->data = malloc(f->ndata + 1);
    fseek(fp, (long)f->header_total, SEEK_SET);
    assert_int_equal(fread(f->data, 1, f->ndata, fp), f->ndata);
    fclose(fp);
}

/* The dict must be exactly the canonical text, then spaces, then one '\n'. */
static void np_check_dict(const np_file *f, const char *descr, const char *shape)
{
    char want[256];
    snprintf(want, sizeof want, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }",
             descr, shape);
    size_t wl = strlen(want), hl = strlen(f->dict);
    assert_true(hl > wl);
    assert_memory_equal(f->dict, want, wl);
    for (size_t i = wl; i < hl - 1; i++)
        assert_int_equal(f->dict[i], ' ');
    assert_int_equal(f->dict[hl - 1], '\n');
    assert_int_equal(f->header_total % 64, 0);
}

static void np_roundtrip(sono_dtype t, int ndim, const long long *shape, const char *descr,
                         const char *shape_text)
{
    sono_buf b = {.dtype = t, .ndim = ndim};
    for (int i = 0; i < ndim; i++)
        b.shape[i] = shape[i];
    size_t n = (size_t)sono_buf_elems(&b) * sono_dtype_size(t);
    unsigned char *data = malloc(n ? n : 1);
    for (size_t i = 0; i < n; i++)
        data[i] = (unsigned char)(i * 131 + 7);
    b.data = data;
    b.nbytes = n;

    char path[128];
    snprintf(path, sizeof path, "%s/%s.npy", np_dir, descr + 1);
    sono_error err = {0};
    assert_int_equal(sono_npy_write(path, &b, &err), 0);
    np_file f;
    np_read(path, &f);
    np_check_dict(&f, descr, shape_text);
    assert_int_equal(f.ndata, n);
    if (n)
        assert_memory_equal(f.data, data, n);
    free(f.data);
    free(data);
    unlink(path);
}

static void np_dtypes_and_shapes(void **state)
{
    (void)state;
    const long long s23[2] = {2, 3}, s5[1] = {5}, s4[4] = {2, 1, 3, 2}, s0[1] = {0},
                    sbig[2] = {1000, 4096};
    np_roundtrip(SONO_C64, 2, s23, "<c8", "(2, 3)");
    np_roundtrip(SONO_F32, 1, s5, "<f4", "(5,)");
    np_roundtrip(SONO_F64, 4, s4, "<f8", "(2, 1, 3, 2)");
    np_roundtrip(SONO_C128, 2, s23, "<c16", "(2, 3)");
    np_roundtrip(SONO_I16, 1, s5, "<i2", "(5,)");
    np_roundtrip(SONO_I32, 2, sbig, "<i4", "(1000, 4096)");
    np_roundtrip(SONO_F32, 1, s0, "<f4", "(0,)");
}

static void np_float_values(void **state)
{
    (void)state;
    /* values survive as IEEE little-endian: the bytes of 1.0f are 00 00 80 3f */
    float v[3] = {1.0f, -2.5f, 0.0f};
    sono_buf b = {.dtype = SONO_F32, .ndim = 1, .shape = {3}, .data = v,
                  .nbytes = sizeof v};
    char path[128];
    snprintf(path, sizeof path, "%s/vals.npy", np_dir);
    assert_int_equal(sono_npy_write(path, &b, NULL), 0);
    np_file f;
    np_read(path, &f);
    np_check_dict(&f, "<f4", "(3,)");
    assert_memory_equal(f.data, "\x00\x00\x80\x3f", 4);
    assert_memory_equal(f.data + 4, "\x00\x00\x20\xc0", 4);
    free(f.data);
    unlink(path);
}

static void np_unwritable(void **state)
{
    (void)state;
    float v[2] = {0};
    sono_buf b = {.dtype = SONO_F32, .ndim = 1, .shape = {2}, .data = v,
                  .nbytes = sizeof v};
    char path[128];
    snprintf(path, sizeof path, "%s/no/such/dir/out.npy", np_dir);
    sono_error err = {0};
    assert_int_equal(sono_npy_write(path, &b, &err), SONO_EIO);
    assert_int_equal(err.code, SONO_EIO);
    assert_non_null(strstr(err.msg, path));
    assert_non_null(strstr(err.msg, "No such file"));

    /* /dev/full accepts the open and fails the write or the flush at fclose */
    if (access("/dev/full", W_OK) == 0) {
        assert_int_equal(sono_npy_write("/dev/full", &b, &err), SONO_EIO);
        assert_non_null(strstr(err.msg, "/dev/full"));
    }
}

static void np_bad_buffers(void **state)
{
    (void)state;
    float v[2] = {0};
    char path[128];
    snprintf(path, sizeof path, "%s/bad.npy", np_dir);
    sono_error err = {0};
    sono_buf b = {.dtype = (sono_dtype)99, .ndim = 1, .shape = {2}, .data = v,
                  .nbytes = sizeof v};
    assert_int_equal(sono_npy_write(path, &b, &err), SONO_EINVAL);
    b.dtype = SONO_F32;
    b.shape[0] = 3; /* 12 bytes needed, 8 held */
    assert_int_equal(sono_npy_write(path, &b, &err), SONO_EINVAL);
    assert_non_null(strstr(err.msg, path));
    assert_int_equal(access(path, F_OK), -1); /* nothing left behind */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(np_dtypes_and_shapes),
        cmocka_unit_test(np_float_values),
        cmocka_unit_test(np_unwritable),
        cmocka_unit_test(np_bad_buffers),
    };
    return cmocka_run_group_tests(tests, np_setup, np_teardown);
}
