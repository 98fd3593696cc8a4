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

/* The runner killed with -9 must not leave its worker behind: the worker asks the kernel
 * for SIGKILL when its parent dies (PR_SET_PDEATHSIG). */
static void iso_no_orphan_worker(void **state)
{
    (void)state;
    char out[PATH_MAX], env[PATH_MAX + 32], tag[PATH_MAX], errf[PATH_MAX + 8];
    snprintf(out, sizeof out, "%s/orphan.json", cl_tmp);
    snprintf(env, sizeof env, "SONO_PLUGIN_PATH=%s", cl_plugins);
    const char *set[] = {env, NULL};
    const char *argv[] = {cl_harness, "run", CL_DATA "/isolate.ini", "--filter",
                          "*wrong/hang*", "--out", out, NULL};
    pid_t pid = cl_spawn(NULL, set, argv, tag, sizeof tag);
    snprintf(errf, sizeof errf, "%s.err", tag);
    struct timespec nap = {0, 20 * 1000 * 1000};
    int started = 0;
    for (int i = 0; i < 500 && !started; i++) {
        char *e = cl_slurp(errf, NULL);
        started = e && strstr(e, "cases -> ");
        free(e);
        if (!started)
            nanosleep(&nap, NULL);
    }
    struct timespec settle = {0, 300 * 1000 * 1000}; /* the worker is up and hanging */
    nanosleep(&settle, NULL);
    /* the worker is the runner's only child: find it through /proc/<pid>/task/.../children */
    char path[128], kids[256] = "";
    snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int)pid, (int)pid);
    FILE *f = fopen(path, "r");
    if (f) {
        if (!fgets(kids, sizeof kids, f))
            kids[0] = 0;
        fclose(f);
    }
    int worker = atoi(kids);
    kill(pid, SIGKILL);
    int st;
    waitpid(pid, &st, 0);
    assert_true(started);
    assert_true(worker > 0);
    int gone = 0; /* reparented to init and killed: kill(0) fails once it is reaped */
    for (int i = 0; i < 100 && !gone; i++) {
        gone = kill(worker, 0) != 0;
        if (!gone)
            nanosleep(&nap, NULL);
    }
    if (!gone)
        kill(worker, SIGKILL);
    assert_true(gone);
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
    assert_int_equal(json_array_size(json_object_get(doc, "cases")), 9);
    iso_expect(doc, "wrong/crash", "crash", "Segmentation fault");
    iso_expect(doc, "fftw/fftw", "ok", NULL);
    iso_expect(doc, "wrong/hang", "timeout", "timeout_s = 3");
    iso_expect(doc, "cpu/radix2", "ok", NULL);
    iso_expect(doc, "wrong/abort", "crash", "Aborted");
    iso_expect(doc, "cpu/naive-dft", "ok", NULL);
    iso_expect(doc, "wrong/oom", "error", NULL);
    iso_expect(doc, "wrong/fd4", "error", "another case's record");
    json_t *after = cl_case(doc, "nop/cpu/nop/n=1/noise");
    assert_non_null(after);
    assert_string_equal(cl_str(after, "status"), "ok");
    /* the hang cost its timeout, not more: the run is bounded by it */
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
    assert_true(secs < 3 + 10);
    assert_non_null(strstr(r.out, "4 ok, 0 fail, 0 skip, 2 error, 2 crash, 1 timeout"));
    json_decref(doc);
    cl_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(iso_planted_failures),
        cmocka_unit_test(iso_no_orphan_worker),
    };
    return cmocka_run_group_tests(tests, cl_setup, cl_teardown);
}
