/* test_vq_impls.c — the quantiser impls (cpu/naive, blas/gemm for vq.encode, rvq.encode,
 * rvq.decode) through the real CLI: tests/data/vq/impls.ini run by `harness run`, every
 * case checked by the op's own check and ok, with mismatches, detail and the quality
 * (bitrate, distortion) recorded; `harness exec` writing .npy codes and vectors. */
#include "cli_util.h"

#define VQ_SUITE "tests/data/vq/impls.ini"

static const char *const vq_ops[] = {"vq.encode", "rvq.encode", "rvq.decode", NULL};
static const char *const vq_impls[] = {"cpu/naive", "blas/gemm", NULL};

static void vq_suite_all_ok(void **state)
{
    (void)state;
    char out[PATH_MAX];
    snprintf(out, sizeof out, "%s/vq.json", cl_tmp);
    cl_res r;
    cl_h(&r, NULL, "run", VQ_SUITE, "--out", out, "--quiet", NULL);
    if (r.code != 0)
        print_error("%s\n%s\n", r.out ? r.out : "", r.err ? r.err : "");
    cl_expect_code(&r, 0);
    cl_free(&r);

    cl_h(&r, NULL, "run", VQ_SUITE, "--dry-run", NULL);
    cl_expect_code(&r, 0);
    size_t planned = 0;
    for (const char *s = r.out; (s = strchr(s, '\n')); s++)
        planned++;
    cl_free(&r);

    json_t *doc = cl_load(out);
    json_t *cases = json_object_get(doc, "cases");
    assert_int_equal(json_array_size(cases), planned);
    int seen[3][2] = {{0}};
    size_t i;
    json_t *c;
    json_array_foreach(cases, i, c) {
        const char *id = cl_str(c, "id"), *status = cl_str(c, "status");
        if (strcmp(status, "ok") != 0) {
            json_t *why = cl_get(c, "error");
            print_error("%s: %s %s\n", id, status,
                        json_is_string(why) ? json_string_value(why) : "");
        }
        assert_string_equal(status, "ok");
        assert_true(json_is_true(cl_get(c, "check.pass")));
        assert_true(json_is_string(cl_get(c, "check.detail")));
        int o = 0, m = 0;
        while (vq_ops[o] && strcmp(vq_ops[o], cl_str(c, "op")) != 0)
            o++;
        while (vq_impls[m] && strcmp(vq_impls[m], cl_str(c, "impl")) != 0)
            m++;
        assert_non_null(vq_ops[o]);
        assert_non_null(vq_impls[m]);
        seen[o][m]++;
        if (o == 2) {
            assert_true(cl_num(c, "check.rel_l2") < 1e-5);
        } else {
            /* codes: mismatches recorded, the worst gap within its bound */
            assert_true(json_is_integer(cl_get(c, "check.mismatches")));
            assert_true(cl_num(c, "check.rel_l2") <= cl_num(c, "check.tol"));
        }
        if (o > 0) { /* rvq: bitrate n_q log2(K) 75 and a distortion in (0, 1.5) */
            double nq = cl_num(c, "params.n_q"), K = cl_num(c, "params.K");
            assert_true(fabs(cl_num(c, "quality.bitrate_bps") - nq * log2(K) * 75) < 1e-6);
            double d = cl_num(c, "quality.distortion");
            assert_true(d > 0 && d < 1.5);
        }
    }
    for (int o = 0; o < 3; o++)
        for (int m = 0; m < 2; m++) {
            if (!seen[o][m])
                print_error("no case of %s/%s\n", vq_ops[o], vq_impls[m]);
            assert_true(seen[o][m] > 0);
        }
    json_decref(doc);
}

/* exec writes a NumPy file: header dict with descr and shape, then the data. */
static char *vq_exec(const char *name, const char *out, const char *const *params,
                     char descr[16], long long shape[2], int *ndim, size_t *len)
{
    const char *argv[32] = {cl_harness, "exec", name, "--input", "speech", "--output", out};
    int n = 7;
    for (int i = 0; params[i]; i++) {
        argv[n++] = "--param";
        argv[n++] = params[i];
    }
    argv[n] = NULL;
    cl_res r;
    cl_run(NULL, NULL, argv, &r);
    if (r.code != 0)
        print_error("%s\n%s\n", r.out ? r.out : "", r.err ? r.err : "");
    cl_expect_code(&r, 0);
    cl_free(&r);
    char *raw = cl_slurp(out, len);
    assert_non_null(raw);
    assert_true(*len > 10);
    assert_memory_equal(raw, "\x93NUMPY\x01\x00", 8);
    size_t hl = (size_t)(unsigned char)raw[8] | (size_t)(unsigned char)raw[9] << 8;
    char dict[512];
    assert_true(hl < sizeof dict && 10 + hl <= *len);
    memcpy(dict, raw + 10, hl);
    dict[hl] = 0;
    const char *d = strstr(dict, "'descr': '");
    assert_non_null(d);
    snprintf(descr, 16, "%.*s", (int)strcspn(d + 10, "'"), d + 10);
    const char *s = strstr(dict, "'shape': (");
    assert_non_null(s);
    *ndim = 0;
    for (s += 10; *s != ')' && *ndim < 2;) {
        char *end;
        shape[(*ndim)++] = strtoll(s, &end, 10);
        s = end + strspn(end, ", ");
    }
    *len -= 10 + hl;
    memmove(raw, raw + 10 + hl, *len);
    return raw;
}

static void vq_exec_npy(void **state)
{
    (void)state;
    char path[PATH_MAX], descr[16];
    long long shape[2];
    int ndim;
    size_t len;
    for (int m = 0; vq_impls[m]; m++) {
        char name[64];
        const char *pe[] = {"K=64", "D=16", "T=41", "n_q=3", NULL};
        snprintf(name, sizeof name, "rvq.encode/%s", vq_impls[m]);
        snprintf(path, sizeof path, "%s/enc%d.npy", cl_tmp, m);
        char *raw = vq_exec(name, path, pe, descr, shape, &ndim, &len);
        assert_string_equal(descr, "<i4");
        assert_int_equal(ndim, 2);
        assert_int_equal(shape[0], 3);
        assert_int_equal(shape[1], 41);
        assert_int_equal(len, 3 * 41 * 4);
        for (size_t i = 0; i < 3 * 41; i++) {
            int32_t v;
            memcpy(&v, raw + 4 * i, 4);
            assert_true(v >= 0 && v < 64);
        }
        free(raw);

        snprintf(name, sizeof name, "rvq.decode/%s", vq_impls[m]);
        snprintf(path, sizeof path, "%s/dec%d.npy", cl_tmp, m);
        raw = vq_exec(name, path, pe, descr, shape, &ndim, &len);
        assert_string_equal(descr, "<f4");
        assert_int_equal(ndim, 2);
        assert_int_equal(shape[0], 41);
        assert_int_equal(shape[1], 16);
        assert_int_equal(len, 41 * 16 * 4);
        free(raw);

        const char *pv[] = {"K=37", "D=5", "T=20", NULL};
        snprintf(name, sizeof name, "vq.encode/%s", vq_impls[m]);
        snprintf(path, sizeof path, "%s/vq%d.npy", cl_tmp, m);
        raw = vq_exec(name, path, pv, descr, shape, &ndim, &len);
        assert_string_equal(descr, "<i4");
        assert_int_equal(ndim, 1);
        assert_int_equal(shape[0], 20);
        free(raw);
    }
}

/* threads > 1 is refused by cpu/naive with the reason. */
static void vq_naive_threads_refused(void **state)
{
    (void)state;
    cl_res r;
    cl_h(&r, NULL, "exec", "vq.encode/cpu/naive", "--input", "noise", "--param", "K=8",
         "--param", "D=4", "--param", "T=4", "--param", "threads=2", NULL);
    assert_int_not_equal(r.code, 0);
    assert_non_null(strstr(r.err, "threads=1 only"));
    cl_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(vq_suite_all_ok),
        cmocka_unit_test(vq_exec_npy),
        cmocka_unit_test(vq_naive_threads_refused),
    };
    return cmocka_run_group_tests(tests, cl_setup, cl_teardown);
}
