/* test_cli_profile.c — `harness run --profile` (one sample of one run per case, no
 * warm-up, through the workers) and the device case hooks of sono.h: the test plugin
 * devhook's case_begin/case_end put the case id into the record's "gpu" object, and text
 * that is not a JSON object is dropped with "device_json_invalid". */
#include "cli_util.h"

/* Every record of a --profile run is one run, unbatched, marked as such. */
static void test_profile_one_run(void **state)
{
    (void)state;
    char dir[PATH_MAX], out[PATH_MAX];
    cl_mkdir("profile", dir, sizeof dir);
    snprintf(out, sizeof out, "%s/p.json", dir);
    cl_res r;
    cl_h(&r, NULL, "run", CL_DATA "/tiny.ini", "--profile", "--out", out, "--quiet", NULL);
    cl_expect_code(&r, 0);
    cl_free(&r);
    json_t *doc = cl_load(out);
    json_t *cases = json_object_get(doc, "cases"), *c;
    size_t i, measured = 0;
    assert_true(json_array_size(cases) >= 2);
    json_array_foreach(cases, i, c) {
        if (strcmp(cl_str(c, "status"), "ok") != 0)
            continue;
        measured++;
        assert_int_equal((long)cl_num(c, "time_ns.n"), 1);
        assert_int_equal((long)cl_num(c, "time_ns.runs_per_sample"), 1);
        assert_int_equal((long)cl_num(c, "time_ns.warmup_runs"), 0);
        assert_string_equal(cl_str(c, "time_ns.stop"), "profile");
        assert_true(json_is_false(cl_get(c, "time_ns.converged")));
        assert_int_equal(json_array_size(cl_get(c, "time_ns.samples")), 1);
        assert_true(cl_num(c, "time_ns.median") > 0);
    }
    assert_int_equal(measured, json_array_size(cases));
    json_decref(doc);
}

/* Without the flag the same suite batches and warms up: the test above can fail. */
static void test_no_profile_batches(void **state)
{
    (void)state;
    char dir[PATH_MAX], out[PATH_MAX];
    cl_mkdir("noprofile", dir, sizeof dir);
    snprintf(out, sizeof out, "%s/p.json", dir);
    cl_res r;
    cl_h(&r, NULL, "run", CL_DATA "/tiny.ini", "--filter", "fft/cpu/radix2/n=16*", "--out", out,
         "--quiet", NULL);
    cl_expect_code(&r, 0);
    cl_free(&r);
    json_t *doc = cl_load(out);
    json_t *c = json_array_get(json_object_get(doc, "cases"), 0);
    assert_non_null(c);
    assert_true(cl_num(c, "time_ns.warmup_runs") >= 1);
    assert_true(cl_num(c, "time_ns.n") >= 6);
    assert_string_not_equal(cl_str(c, "time_ns.stop"), "profile");
    json_decref(doc);
}

static json_t *run_devhook(const char *name, const char *bad)
{
    char dir[PATH_MAX], out[PATH_MAX], penv[PATH_MAX + 32];
    cl_mkdir(name, dir, sizeof dir);
    snprintf(out, sizeof out, "%s/h.json", dir);
    snprintf(penv, sizeof penv, "SONO_PLUGIN_PATH=%s", cl_plugins);
    const char *set[] = {penv, bad, NULL};
    cl_res r;
    cl_h(&r, set, "run", CL_DATA "/devhook.ini", "--out", out, "--quiet", NULL);
    cl_expect_code(&r, 0);
    cl_free(&r);
    return cl_load(out);
}

/* The device's object lands as "gpu", naming the case it was begun with; a device with
 * no hooks (cpu) adds nothing. */
static void test_device_hooks(void **state)
{
    (void)state;
    json_t *doc = run_devhook("devhook", "SONO_TEST_HOOK_BAD=");
    const char *id = "nop/devhook/copy/n=16/noise";
    json_t *c = cl_case(doc, id);
    assert_non_null(c);
    assert_string_equal(cl_str(c, "status"), "ok");
    assert_string_equal(cl_str(c, "device"), "hook:0");
    assert_true(json_is_object(json_object_get(c, "gpu")));
    assert_string_equal(cl_str(c, "gpu.seen"), id);
    assert_null(json_object_get(c, "device_json_invalid"));
    json_t *cpu = cl_case(doc, "nop/cpu/nop/n=16/noise");
    assert_non_null(cpu);
    assert_null(json_object_get(cpu, "gpu"));
    json_decref(doc);
}

/* Broken JSON from case_end is dropped, said so, and the case still passes. */
static void test_device_json_invalid(void **state)
{
    (void)state;
    json_t *doc = run_devhook("devhook_bad", "SONO_TEST_HOOK_BAD=1");
    json_t *c = cl_case(doc, "nop/devhook/copy/n=16/noise");
    assert_non_null(c);
    assert_string_equal(cl_str(c, "status"), "ok");
    assert_null(json_object_get(c, "gpu"));
    assert_true(json_is_true(json_object_get(c, "device_json_invalid")));
    json_decref(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_profile_one_run),
        cmocka_unit_test(test_no_profile_batches),
        cmocka_unit_test(test_device_hooks),
        cmocka_unit_test(test_device_json_invalid),
    };
    return cmocka_run_group_tests(tests, cl_setup, cl_teardown);
}
