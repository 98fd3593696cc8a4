/* test_encodec_impls.c — codec.encodec's impls (cpu/naive, blas/encodec) through the real
 * CLI: tests/data/encodec/impls.ini (every mode x impl on the tiny PyTorch fixture model,
 * the 24 kHz random model's encode and round trip) run by `harness run`, every case checked
 * by the harness against the float64 reference (blas/encodec also on its portable path,
 * SONO_FASTFFT_SCALAR=1); the quality record; `harness exec` on
 * the codes; and bad weights, bandwidths and files refused with the name in the message.
 * The random weights are written under this run's temp dir (XDG_CACHE_HOME). */
#include "cli_util.h"

#define ENC_SUITE "tests/data/encodec/impls.ini"
#define ENC_TINY "tests/fixtures/encodec/tiny.safetensors"

static char enc_cache[PATH_MAX + 32];

static const char *const enc_modes[] = {"encode", "decode", "roundtrip", NULL};
static const char *const enc_impls[] = {"cpu/naive", "blas/encodec", NULL};

static int enc_avx2(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return 0;
#endif
}

static void enc_suite_all_ok(void **state)
{
    (void)state;
    char out[PATH_MAX];
    snprintf(out, sizeof out, "%s/enc.json", cl_tmp);
    const char *env[] = {enc_cache, NULL};
    cl_res r;
    cl_h(&r, env, "run", ENC_SUITE, "--out", out, "--quiet", NULL);
    cl_expect_code(&r, 0);
    cl_free(&r);
    json_t *doc = cl_load(out);
    json_t *cases = json_object_get(doc, "cases");
    assert_int_equal(json_array_size(cases), 4 * 3 * 2 + 2 * 2);
    int seen[3][2] = {{0}}, random = 0;
    size_t i;
    json_t *c;
    json_array_foreach(cases, i, c) {
        const char *id = cl_str(c, "id"), *status = cl_str(c, "status");
        if (strcmp(status, "ok") != 0) {
            json_t *why = cl_get(c, "message");
            print_error("%s: %s %s\n", id, status,
                        json_is_string(why) ? json_string_value(why) : "");
        }
        assert_string_equal(status, "ok");
        assert_true(json_is_true(cl_get(c, "check.pass")));
        int mo = 0, im = 0;
        while (enc_modes[mo] && strcmp(enc_modes[mo], cl_str(c, "params.mode")))
            mo++;
        while (enc_impls[im] && strcmp(enc_impls[im], cl_str(c, "impl")))
            im++;
        assert_non_null(enc_modes[mo]);
        assert_non_null(enc_impls[im]);
        seen[mo][im]++;
        if (im == 1) /* blas/encodec's ELU path, the widest the CPU has */
            assert_non_null(strstr(cl_str(c, "describe"), enc_avx2() ? "ELU AVX2 polynomial"
                                                                      : "ELU libm expm1f"));
        double bw = cl_num(c, "params.bandwidth"), bps = cl_num(c, "quality.bitrate_bps");
        if (mo == 0) { /* codes: equal to the reference's but for near-ties */
            assert_int_equal((int)cl_num(c, "check.mismatches"), 0);
            assert_non_null(strstr(cl_str(c, "check.detail"), " 0 mismatches"));
        } else
            assert_true(cl_num(c, "check.rel_l2") <= cl_num(c, "check.tol"));
        if (strcmp(cl_str(c, "params.weights"), "random") == 0) {
            random++;
            /* 24 kbps = 32 stages x 10 bits x 75 frames/s, exactly */
            assert_true(bw == 24 && bps == 24000);
            assert_string_equal(cl_str(c, "quality.note"),
                                "not meaningful (random weights)");
            assert_true(json_is_null(cl_get(c, "quality.si_sdr_db")));
        } else {
            /* the tiny model: 6 bits x 3000 frames/s per stage, n_q = bw / 18 up to 6 */
            double nq = fmin(floor(bw / 18.0), 6);
            assert_true(fabs(bps - nq * 6 * 3000) < 1e-9);
        }
    }
    for (int mo = 0; mo < 3; mo++)
        for (int im = 0; im < 2; im++)
            assert_true(seen[mo][im] > 0);
    assert_int_equal(random, 4);
    json_decref(doc);
}

/* blas/encodec's portable path (SONO_FASTFFT_SCALAR=1: libm's expm1f for the ELU, in the
 * residual units' fused convs too) on every blas case of the suite, each checked by the
 * harness against the float64 reference; describe must say that path ran. */
static void enc_blas_scalar_path(void **state)
{
    (void)state;
    char out[PATH_MAX];
    snprintf(out, sizeof out, "%s/enc-scalar.json", cl_tmp);
    const char *env[] = {enc_cache, "SONO_FASTFFT_SCALAR=1", NULL};
    cl_res r;
    cl_h(&r, env, "run", ENC_SUITE, "--filter", "*/blas/encodec/*", "--out", out, "--quiet",
         NULL);
    cl_expect_code(&r, 0);
    cl_free(&r);
    json_t *doc = cl_load(out);
    json_t *cases = json_object_get(doc, "cases");
    assert_int_equal(json_array_size(cases), 4 * 3 + 2);
    size_t i;
    json_t *c;
    json_array_foreach(cases, i, c) {
        const char *id = cl_str(c, "id"), *status = cl_str(c, "status");
        if (strcmp(status, "ok") != 0)
            print_error("%s: %s\n", id, status);
        assert_string_equal(status, "ok");
        assert_true(json_is_true(cl_get(c, "check.pass")));
        assert_non_null(strstr(cl_str(c, "describe"), "ELU libm expm1f"));
        if (strcmp(cl_str(c, "params.mode"), "encode") == 0)
            assert_int_equal((int)cl_num(c, "check.mismatches"), 0);
        else
            assert_true(cl_num(c, "check.rel_l2") <= cl_num(c, "check.tol"));
    }
    json_decref(doc);
}

/* blas/encodec at threads = 2: its tiles are twice as wide (encodec_blas.c), so the
 * scratch planned for them is exercised (ASan) and every case still passes its check; an
 * OpenBLAS without threads refuses threads=2, and the cases skip. */
static void enc_blas_two_threads(void **state)
{
    (void)state;
    char out[PATH_MAX];
    snprintf(out, sizeof out, "%s/enc-t2.json", cl_tmp);
    const char *env[] = {enc_cache, NULL};
    cl_res r;
    cl_h(&r, env, "run", ENC_SUITE, "--filter", "*/blas/encodec/*", "--param", "threads=2",
         "--out", out, "--quiet", NULL);
    cl_expect_code(&r, 0);
    cl_free(&r);
    json_t *doc = cl_load(out);
    json_t *cases = json_object_get(doc, "cases");
    assert_int_equal(json_array_size(cases), 4 * 3 + 2);
    size_t i;
    json_t *c;
    json_array_foreach(cases, i, c) {
        const char *status = cl_str(c, "status");
        if (strcmp(status, "skip") == 0)
            continue;
        assert_string_equal(status, "ok");
        assert_true(json_is_true(cl_get(c, "check.pass")));
        assert_non_null(strstr(cl_str(c, "describe"), "(asked 2)"));
    }
    json_decref(doc);
}

static void enc_exec_codes(void **state)
{
    (void)state;
    char npy[PATH_MAX];
    snprintf(npy, sizeof npy, "%s/codes.npy", cl_tmp);
    const char *env[] = {enc_cache, NULL};
    cl_res r;
    cl_h(&r, env, "exec", "codec.encodec/blas/encodec", "--param", "weights=" ENC_TINY,
         "--param", "mode=encode", "--param", "bandwidth=72", "--param", "seconds=0.01",
         "--input", "sine(freq=300)", "--output", npy, NULL);
    cl_expect_code(&r, 0);
    assert_non_null(strstr(r.out, "-> ok"));
    assert_non_null(strstr(r.out, " 0 mismatches"));
    cl_free(&r);
    /* int32 codes [4 stages, ceil(240 / 8) = 30 frames], each in [0, 64) */
    size_t len;
    char *raw = cl_slurp(npy, &len);
    assert_non_null(raw);
    assert_true(len > 10 + 4 * 4 * 30);
    assert_non_null(strstr(raw + 10, "'descr': '<i4'")); /* past the magic and length */
    assert_non_null(strstr(raw + 10, "'shape': (4, 30)"));
    size_t hdr = len - 4 * 4 * 30;
    int32_t v[120];
    memcpy(v, raw + hdr, sizeof v);
    int distinct = 0;
    for (int i = 0; i < 120; i++) {
        assert_true(v[i] >= 0 && v[i] < 64);
        distinct += i == 0 || v[i] != v[i - 1];
    }
    assert_true(distinct > 10);
    free(raw);
}

static void enc_refused(void **state)
{
    (void)state;
    const char *env[] = {enc_cache, NULL};
    cl_res r;
    /* a bandwidth the model does not have: the list in the message */
    cl_h(&r, env, "exec", "codec.encodec/cpu/naive", "--param", "bandwidth=5", NULL);
    assert_true(r.code != 0);
    assert_non_null(strstr(r.err, "target_bandwidths (1.5, 3, 6, 12, 24)"));
    cl_free(&r);
    /* a missing weights file, named */
    cl_h(&r, env, "exec", "codec.encodec/cpu/naive", "--param",
         "weights=/nonexistent/model.safetensors", NULL);
    assert_true(r.code != 0);
    assert_non_null(strstr(r.err, "/nonexistent/model.safetensors"));
    cl_free(&r);
    /* a truncated copy of the tiny model: header intact, data cut */
    char cut[PATH_MAX];
    snprintf(cut, sizeof cut, "%s/cut.safetensors", cl_tmp);
    size_t len;
    char *raw = cl_slurp(ENC_TINY, &len);
    assert_non_null(raw);
    FILE *f = fopen(cut, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(raw, 1, len - 1000, f), len - 1000);
    fclose(f);
    free(raw);
    char wp[PATH_MAX + 16];
    snprintf(wp, sizeof wp, "weights=%s", cut);
    for (int i = 0; enc_impls[i]; i++) {
        char full[64];
        snprintf(full, sizeof full, "codec.encodec/%s", enc_impls[i]);
        cl_h(&r, env, "exec", full, "--param", wp, "--param", "bandwidth=36", "--param",
             "seconds=0.01", NULL);
        assert_true(r.code != 0);
        assert_non_null(strstr(r.err, cut));
        assert_non_null(strstr(r.err, "out of range"));
        cl_free(&r);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(enc_suite_all_ok),
        cmocka_unit_test(enc_blas_scalar_path),
        cmocka_unit_test(enc_blas_two_threads),
        cmocka_unit_test(enc_exec_codes),
        cmocka_unit_test(enc_refused),
    };
    int rc = cl_setup(NULL);
    if (rc)
        return 1;
    snprintf(enc_cache, sizeof enc_cache, "XDG_CACHE_HOME=%s/cache", cl_tmp);
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    cl_teardown(NULL);
    return rc;
}
