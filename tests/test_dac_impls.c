/* test_dac_impls.c — codec.dac's impls (cpu/naive, blas/dac) through the real CLI:
 * tests/data/dac/impls.ini (every mode x impl x n_q on the tiny transformers fixture, a
 * small random model) checked by the harness against the float64 reference; the bitrate
 * and the random-weights quality note; a missing tensor, a mis-shaped one and a bad n_q
 * refused with exit status 2 and the name in the message. */
#include "cli_util.h"

#define DAC_SUITE "tests/data/dac/impls.ini"
#define DAC_TINY "tests/data/dac/tiny.safetensors"

static char dac_cache[PATH_MAX + 32];

static void dac_suite_all_ok(void **state)
{
    (void)state;
    char out[PATH_MAX];
    snprintf(out, sizeof out, "%s/dac.json", cl_tmp);
    const char *env[] = {dac_cache, NULL};
    cl_res r;
    cl_h(&r, env, "run", DAC_SUITE, "--out", out, "--quiet", NULL);
    cl_expect_code(&r, 0);
    cl_free(&r);
    json_t *doc = cl_load(out);
    json_t *cases = json_object_get(doc, "cases");
    assert_int_equal(json_array_size(cases), 3 * 3 * 2 + 2 * 2);
    int random = 0;
    double worst = 0;
    char want_sha[80] = "", line[160]; /* the fixture's sha256, by coreutils */
    FILE *sp = popen("sha256sum " DAC_TINY, "r");
    assert_non_null(sp);
    if (fgets(line, sizeof line, sp))
        snprintf(want_sha, sizeof want_sha, "sha256 %.64s", line);
    pclose(sp);
    assert_int_equal(strlen(want_sha), 7 + 64);
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
        assert_true(json_is_true(cl_get(c, "check.pass")));
        if (strcmp(cl_str(c, "params.mode"), "encode") == 0)
            assert_int_equal((int)cl_num(c, "check.mismatches"), 0);
        else {
            assert_true(cl_num(c, "check.rel_l2") <= cl_num(c, "check.tol"));
            worst = fmax(worst, cl_num(c, "check.rel_l2"));
        }
        double nq = cl_num(c, "params.n_q"), bps = cl_num(c, "quality.bitrate_bps");
        /* n_q x log2(K) bits per frame x rate / hop frames per second */
        if (strcmp(cl_str(c, "params.weights"), "random") == 0) {
            random++;
            assert_true(fabs(bps - 9 * 10 * 44100.0 / 512) < 1e-6); /* 7751.95 bps */
            assert_string_equal(cl_str(c, "quality.note"), "not meaningful (random weights)");
            assert_true(json_is_null(cl_get(c, "quality.si_sdr_db")));
        } else {
            assert_true(fabs(bps - nq * 5 * 44100.0 / 8) < 1e-6);
            /* the record names the weights that made it */
            assert_non_null(strstr(cl_str(c, "check.detail"), want_sha));
        }
    }
    assert_int_equal(random, 4);
    print_message("audio rel_l2 worst %.3g\n", worst);
    json_decref(doc);
}

/* The fixture file with a header edit of the same length: the exec refuses it with
 * status 2, naming the tensor and the file. */
static void refused_edit(const char *from, const char *to, const char *tensor,
                         const char *impl)
{
    size_t len;
    char *raw = cl_slurp(DAC_TINY, &len);
    assert_non_null(raw);
    char *at = NULL;
    for (size_t i = 8; i + strlen(from) < len && !at; i++)
        if (memcmp(raw + i, from, strlen(from)) == 0)
            at = raw + i;
    assert_non_null(at);
    memcpy(at, to, strlen(to));
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/bad.safetensors", cl_tmp);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(raw, 1, len, f), len);
    fclose(f);
    free(raw);
    char wp[PATH_MAX + 16];
    snprintf(wp, sizeof wp, "weights=%s", path);
    const char *env[] = {dac_cache, NULL};
    cl_res r;
    cl_h(&r, env, "exec", impl, "--param", wp, "--param", "n_q=3", "--param",
         "seconds=0.01", NULL);
    assert_int_equal(r.code, 2);
    assert_non_null(strstr(r.err, tensor));
    assert_non_null(strstr(r.err, path));
    cl_free(&r);
}

static void dac_refused(void **state)
{
    (void)state;
    refused_edit("\"decoder.block.1.res_unit3.snake2.alpha\"",
                 "\"decoder.block.1.res_unit3.snake2.alphx\"",
                 "decoder.block.1.res_unit3.snake2.alpha", "codec.dac/cpu/naive");
    refused_edit("\"quantizer.quantizers.2.codebook.weight\":{\"dtype\":\"F32\","
                 "\"shape\":[32,4]",
                 "\"quantizer.quantizers.2.codebook.weight\":{\"dtype\":\"F32\","
                 "\"shape\":[4,32]",
                 "quantizer.quantizers.2.codebook.weight", "codec.dac/blas/dac");
    const char *env[] = {dac_cache, NULL};
    cl_res r;
    cl_h(&r, env, "exec", "codec.dac/cpu/naive", "--param", "weights=" DAC_TINY, "--param",
         "n_q=4", NULL);
    assert_int_equal(r.code, 2);
    assert_non_null(strstr(r.err, "n_q=4: the model has 3 codebooks"));
    cl_free(&r);
    cl_h(&r, env, "exec", "codec.dac/blas/dac", "--param",
         "weights=/nonexistent/dac.safetensors", NULL);
    assert_int_equal(r.code, 2);
    assert_non_null(strstr(r.err, "/nonexistent/dac.safetensors"));
    cl_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(dac_suite_all_ok),
        cmocka_unit_test(dac_refused),
    };
    int rc = cl_setup(NULL);
    if (rc)
        return 1;
    snprintf(dac_cache, sizeof dac_cache, "XDG_CACHE_HOME=%s/cache", cl_tmp);
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    cl_teardown(NULL);
    return rc;
}
