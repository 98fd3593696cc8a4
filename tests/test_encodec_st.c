/* test_encodec_st.c — the impls' own safetensors reader (impls/common/encodec_st.c,
 * compiled in here as the cpu and blas plugins compile it): truncated files, bad header
 * JSON, offsets out of range or not matching dtype x shape, unknown dtypes, missing
 * tensors and wrong shapes refused with the file and tensor named; F16/BF16/F64 read. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "encodec_st.h"

static char dir[64];

static void put(const char *path, const char *hdr, const void *data, size_t n, long cut)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    uint64_t len = strlen(hdr);
    for (int i = 0; i < 8; i++)
        fputc((int)(len >> (8 * i)) & 255, f);
    fwrite(hdr, 1, len, f);
    fwrite(data, 1, n, f);
    fclose(f);
    if (cut > 0)
        assert_int_equal(truncate(path, cut), 0);
}

static void refused(const char *hdr, const void *data, size_t n, long cut, const char *needle)
{
    char path[128];
    snprintf(path, sizeof path, "%s/bad.safetensors", dir);
    put(path, hdr, data, n, cut);
    est_file *f = NULL;
    sono_error err = {0};
    int rc = est_open(path, &f, &err);
    if (rc != SONO_EPARSE || !strstr(err.msg, path) || !strstr(err.msg, needle))
        fail_msg("%s: rc %d, '%s' (want EPARSE, the path and '%s')", hdr, rc, err.msg,
                 needle);
    assert_null(f);
}

static const float vals[6] = {1, -2, 3, -4, 5, -6};
#define HDR "{\"w\":{\"dtype\":\"F32\",\"shape\":[3,2],\"data_offsets\":[0,24]}}"

static void refuses_bad_files(void **state)
{
    (void)state;
    refused(HDR, vals, sizeof vals, 6, "truncated");
    refused(HDR, vals, sizeof vals, 8 + 10, "truncated");
    refused(HDR, vals, 16, 0, "'w'");
    refused("{\"w\":{\"dtype\":\"F32\"", vals, sizeof vals, 0, "JSON");
    refused("\"just a string\"", vals, sizeof vals, 0, "JSON object");
    refused("{\"w\":{\"dtype\":\"F32\",\"shape\":[3,2],\"data_offsets\":[4,28]}}", vals,
            sizeof vals, 0, "out of range");
    refused("{\"w\":{\"dtype\":\"F32\",\"shape\":[3,2],\"data_offsets\":[0,20]}}", vals,
            sizeof vals, 0, "'w'");
    refused("{\"w\":{\"dtype\":\"F8\",\"shape\":[3,2],\"data_offsets\":[0,24]}}", vals,
            sizeof vals, 0, "unknown dtype 'F8'");
    refused("{\"w\":{\"dtype\":\"F32\",\"shape\":[3,-2],\"data_offsets\":[0,24]}}", vals,
            sizeof vals, 0, "'w'");
}

static void reads_and_checks_names(void **state)
{
    (void)state;
    char path[128];
    snprintf(path, sizeof path, "%s/good.safetensors", dir);
    put(path, HDR, vals, sizeof vals, 0);
    est_file *f = NULL;
    sono_error err = {0};
    assert_int_equal(est_open(path, &f, &err), 0);
    float got[6];
    long long ok[2] = {3, 2}, wrong[2] = {2, 3};
    assert_int_equal(est_get(f, "w", 2, ok, got, &err), 0);
    assert_memory_equal(got, vals, sizeof vals);
    assert_int_equal(est_get(f, "w", 2, wrong, got, &err), SONO_EINVAL);
    assert_non_null(strstr(err.msg, path));
    assert_non_null(strstr(err.msg, "'w' has shape [3, 2], expected [2, 3]"));
    assert_int_equal(est_get(f, "decoder.layers.1.lstm.weight_ih_l0", 2, ok, got, &err),
                     SONO_ENOTFOUND);
    assert_non_null(strstr(err.msg, "'decoder.layers.1.lstm.weight_ih_l0' is missing"));
    assert_null(est_meta(f, "config"));
    est_close(f);

    /* 1.5, -2, 0.25 and a subnormal 2^-24 as F16; the same as BF16 (no subnormal) and F64 */
    unsigned char d[8 + 6 + 24];
    const uint16_t h[4] = {0x3e00, 0xc000, 0x3400, 0x0001}, b[3] = {0x3fc0, 0xc000, 0x3e80};
    const double dd[3] = {1.5, -2, 0.25};
    memcpy(d, h, 8);
    memcpy(d + 8, b, 6);
    memcpy(d + 14, dd, 24);
    put(path, "{\"__metadata__\":{\"config\":\"{}\"},"
              "\"h\":{\"dtype\":\"F16\",\"shape\":[4],\"data_offsets\":[0,8]},"
              "\"b\":{\"dtype\":\"BF16\",\"shape\":[3],\"data_offsets\":[8,14]},"
              "\"d\":{\"dtype\":\"F64\",\"shape\":[3],\"data_offsets\":[14,38]}}",
        d, sizeof d, 0);
    assert_int_equal(est_open(path, &f, &err), 0);
    assert_string_equal(est_meta(f, "config"), "{}");
    long long s4[1] = {4}, s3[1] = {3};
    assert_int_equal(est_get(f, "h", 1, s4, got, &err), 0);
    assert_true(got[0] == 1.5f && got[1] == -2.0f && got[2] == 0.25f &&
                got[3] == 0x1p-24f);
    const char *names[2] = {"b", "d"};
    for (int i = 0; i < 2; i++) {
        assert_int_equal(est_get(f, names[i], 1, s3, got, &err), 0);
        assert_true(got[0] == 1.5f && got[1] == -2.0f && got[2] == 0.25f);
    }
    est_close(f);
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/sono-est-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(refuses_bad_files),
        cmocka_unit_test(reads_and_checks_names),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
