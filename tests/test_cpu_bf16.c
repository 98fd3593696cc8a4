/* test_cpu_bf16.c — issue 26's dtype tolerance of the model ops measured on real bf16
 * networks without a GPU: cpu/avx512bf16's EnCodec and DAC (every conv a bf16 GEMM) pass
 * their ops' bf16 tolerance; EnCodec's audio error sits above its float32 tolerance (so
 * the dtype term is what lets it pass) and both well above float32 rounding; their codes
 * differ from the float64 encoders' only at near-ties the checks explain. Skips where the
 * CPU lacks AVX-512 BF16. */
#include "cli_util.h"

static void models_in_bf16(void **state)
{
    (void)state;
    if (!__builtin_cpu_supports("avx512bf16")) {
        print_message("this CPU lacks AVX-512 BF16\n");
        skip();
    }
    char out[PATH_MAX];
    snprintf(out, sizeof out, "%s/models_bf16.json", cl_tmp);
    setenv("XDG_CACHE_HOME", cl_tmp, 1); /* the random weights, written by the run */
    cl_res r;
    cl_h(&r, NULL, "run", "tests/data/dtype/models_bf16.ini", "--out", out, "--quiet", NULL);
    if (r.code != 0)
        print_error("%s\n%s\n", r.out, r.err);
    cl_expect_code(&r, 0);
    cl_free(&r);
    json_t *doc = cl_load(out), *c;
    size_t i;
    int seen = 0;
    json_array_foreach(json_object_get(doc, "cases"), i, c) {
        assert_string_equal(cl_str(c, "status"), "ok");
        assert_true(json_is_true(cl_get(c, "check.pass")));
        double rel = json_number_value(cl_get(c, "check.rel_l2")),
               tol = json_number_value(cl_get(c, "check.tol"));
        int encodec = !strcmp(cl_str(c, "op"), "codec.encodec");
        if (!strcmp(cl_str(c, "params.mode"), "decode")) {
            print_message("%s decode: rel_l2 %.3g, tol %.3g\n", cl_str(c, "op"), rel, tol);
            /* EnCodec's float32 tol is 1e-5 (LOG) to 3e-5 (LINEAR): the dtype term is
             * what lets it pass; DAC's (1e-3, 3e-3: its random models amplify) is looser
             * than the tiny fixture's bf16 error, which is still far above float32's */
            assert_true(rel > (encodec ? 3e-5 : 1e-4));
            assert_true(rel < tol);
        } else {
            const char *detail = cl_str(c, "check.detail");
            print_message("%s encode: %s\n", cl_str(c, "op"), detail);
            assert_non_null(strstr(detail, " 0 mismatches"));
            if (encodec) { /* bf16 moved some codes: the rounding is real */
                int flips = -1;
                const char *f = strstr(detail, " differ: ");
                assert_non_null(f);
                assert_int_equal(sscanf(f, " differ: %d near-tie flips", &flips), 1);
                assert_true(flips > 0);
            }
        }
        seen++;
    }
    assert_int_equal(seen, 4);
    json_decref(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(models_in_bf16)};
    return cmocka_run_group_tests(tests, cl_setup, cl_teardown);
}
