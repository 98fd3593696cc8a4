/* test_soundstream_impls.c — codec.soundstream's impls (cpu/naive, blas/encodec: EnCodec's
 * network code on SoundStream's config) through the real CLI: tests/data/soundstream/
 * impls.ini (every mode x impl on the tiny PyTorch fixture, SoundStream's 24 kHz random
 * model) checked by the harness against the float64 reference; the bitrate and quality
 * note; bad bandwidths and weights refused with the name in the message. */
#include "cli_util.h"

#define SS_SUITE "tests/data/soundstream/impls.ini"
#define SS_TINY "tests/fixtures/soundstream/tiny.safetensors"

static char ss_cache[PATH_MAX + 32];

static void ss_suite_all_ok(void **state)
{
    (void)state;
    char out[PATH_MAX];
    snprintf(out, sizeof out, "%s/ss.json", cl_tmp);
    const char *env[] = {ss_cache, NULL};
    cl_res r;
    cl_h(&r, env, "run", SS_SUITE, "--out", out, "--quiet", NULL);
    cl_expect_code(&r, 0);
    cl_free(&r);
    json_t *doc = cl_load(out);
    json_t *cases = json_object_get(doc, "cases");
    assert_int_equal(json_array_size(cases), 3 * 3 * 2 + 2 * 2);
    int random = 0;
    size_t i;
    json_t *c;
    json_array_foreach(cases, i, c) {
        const char *status = cl_str(c, "status");
        if (strcmp(status, "ok") != 0) {
            json_t *why = cl_get(c, "message");
            print_error("%s: %s %s\n", cl_str(c, "id"), status,
                        json_is_string(why) ? json_string_value(why) : "");
        }
        assert_string_equal(status, "ok");
        assert_string_equal(cl_str(c, "op"), "codec.soundstream");
        assert_true(json_is_true(cl_get(c, "check.pass")));
        if (strcmp(cl_str(c, "params.mode"), "encode") == 0)
            assert_int_equal((int)cl_num(c, "check.mismatches"), 0);
        else
            assert_true(cl_num(c, "check.rel_l2") <= cl_num(c, "check.tol"));
        double bw = cl_num(c, "params.bandwidth"), bps = cl_num(c, "quality.bitrate_bps");
        if (strcmp(cl_str(c, "params.weights"), "random") == 0) {
            random++;
            /* 18 kbps = 24 stages x 10 bits x 75 frames/s, exactly */
            assert_true(bw == 18 && bps == 18000);
            assert_non_null(strstr(cl_str(c, "quality.note"), "not meaningful"));
            assert_true(json_is_null(cl_get(c, "quality.si_sdr_db")));
        } else /* tiny: 10 bits x 3000 frames/s a stage */
            assert_true(fabs(bps - bw * 1000) < 1e-9);
    }
    assert_int_equal(random, 4);
    json_decref(doc);
    /* SoundStream's random file is its own, not EnCodec's */
    char path[PATH_MAX + 80];
    snprintf(path, sizeof path, "%s/cache/sonobench/soundstream24k-random-v2-seed1.safetensors",
             cl_tmp);
    assert_int_equal(access(path, R_OK), 0);
}

static void ss_refused(void **state)
{
    (void)state;
    const char *env[] = {ss_cache, NULL};
    cl_res r;
    cl_h(&r, env, "exec", "codec.soundstream/cpu/naive", "--param", "bandwidth=24", NULL);
    assert_int_equal(r.code, 2);
    assert_non_null(strstr(r.err, "target_bandwidths (3, 6, 12, 18)"));
    cl_free(&r);
    cl_h(&r, env, "exec", "codec.soundstream/blas/encodec", "--param",
         "weights=/nonexistent/ss.safetensors", NULL);
    assert_int_equal(r.code, 2);
    assert_non_null(strstr(r.err, "/nonexistent/ss.safetensors"));
    cl_free(&r);
    /* config is SoundStream's only */
    cl_h(&r, env, "exec", "codec.soundstream/cpu/naive", "--param", "config=encodec", NULL);
    assert_int_equal(r.code, 2);
    cl_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ss_suite_all_ok),
        cmocka_unit_test(ss_refused),
    };
    int rc = cl_setup(NULL);
    if (rc)
        return 1;
    snprintf(ss_cache, sizeof ss_cache, "XDG_CACHE_HOME=%s/cache", cl_tmp);
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    cl_teardown(NULL);
    return rc;
}
