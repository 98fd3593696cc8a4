/* test_cli_isolation.c — cases run in worker processes: a planted segfault, abort, hang
 * and failed allocation (tests/plugins/wrong.c) each cost only their own case, recorded
 * as crash, timeout or error with the reason, and the good case after each still runs. */
#include <time.h>

#include "cli_util.h"

static void iso_expect(json_t *doc, const char *impl, const char *status, const char *why)
{
    char id[256];
    snprintf(id, sizeof id, "fft/%s/n=64,batch=1/noise", impl);
    json_t *c = cl_case(doc, id);
    if (!c)
        print_error("no case %s\n", id);
    assert_non_null(c);
    const char *st = cl_str(c, "status");
    const char *msg = json_string_value(json_object_get(c, "message"));
    if (strcmp(st, status) != 0 || (why && (!msg || !strstr(msg, why))))
        print_error("%s: status %s (%s), expected %s with '%s'\n", id, st, msg ? msg : "",
                    status, why ? why : "");
    assert_string_equal(st, status);
    if (why)
        assert_non_null(strstr(msg, why));
    if (strcmp(status, "ok") == 0)
        cl_check_ok_case(c);
}

static void iso_planted_failures(void **state)
{
    (void)state;
    char out[PATH_MAX], env[PATH_MAX + 32];
    snprintf(out, sizeof out, "%s/iso.json", cl_tmp);
    snprintf(env, sizeof env, "SONO_PLUGIN_PATH=%s", cl_plugins);
    /* under `make asan` the sanitizer would catch the SIGSEGV and exit(1), and would die
     * on the planted 1 TiB malloc instead of returning NULL: let both behave as without */
    char asan[1024];
    const char *was = getenv("ASAN_OPTIONS");
    snprintf(asan, sizeof asan, "ASAN_OPTIONS=%s%shandle_segv=0:allocator_may_return_null=1",
             was ? was : "",
             was && *was ? ":" : "");
    const char *set[] = {env, asan, NULL};
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    cl_res r;
    cl_h(&r, set, "run", CL_DATA "/isolate.ini", "--out", out, NULL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    cl_expect_code(&r, 1); /* crashes, a timeout and an error make the run fail */
    json_t *doc = cl_load(out);
    assert_true(json_is_true(cl_get(doc, "run.complete")));
    assert_int_equal(json_array_size(json_object_get(doc, "cases")), 7);
    iso_expect(doc, "wrong/crash", "crash", "Segmentation fault");
    iso_expect(doc, "fftw/fftw", "ok", NULL);
    iso_expect(doc, "wrong/hang", "timeout", "timeout_s = 3");
    iso_expect(doc, "cpu/radix2", "ok", NULL);
    iso_expect(doc, "wrong/abort", "crash", "Aborted");
    iso_expect(doc, "cpu/naive-dft", "ok", NULL);
    iso_expect(doc, "wrong/oom", "error", NULL);
    /* the hang cost its timeout, not more: the run is bounded by it */
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
    assert_true(secs < 3 + 10);
    assert_non_null(strstr(r.out, "3 ok, 0 fail, 0 skip, 1 error, 2 crash, 1 timeout"));
    json_decref(doc);
    cl_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(iso_planted_failures),
    };
    return cmocka_run_group_tests(tests, cl_setup, cl_teardown);
}
