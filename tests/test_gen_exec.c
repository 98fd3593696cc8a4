/* test_gen_exec.c — issue 25's ops through the real CLI: tests/data/gen/impls.ini run by
 * `harness run` (every case ok, checked), `harness exec` of each op writing its .npy with
 * the op's dtype and shape, and bad params refused with exit status 2 and the reason. */
#include "cli_util.h"

#define GEN_SUITE "tests/data/gen/impls.ini"

typedef struct gen_exec {
    const char *name, *params[6], *descr;
    int ndim;
    long long shape[3];
} gen_exec;

static const gen_exec execs[] = {
    {"sample.topk/cpu/naive", {"batch=3", "codebooks=2", "V=100", NULL}, "<i4", 2, {3, 2}},
    {"codes.delay/cpu/naive", {"batch=2", "K=4", "T=10", NULL}, "<i4", 3, {2, 4, 13}},
    {"codes.delay/cpu/naive", {"K=4", "T=10", "direction=undelay", NULL}, "<i4", 3, {1, 4, 10}},
    /* codes 20, q 20*4, losses 2, dx 20*4, de 8*4, e_new 8*4 */
    {"vq.ste/cpu/naive", {"K=8", "D=4", "N=20", NULL}, "<f4", 1, {20 + 80 + 2 + 80 + 32 + 32}},
    {"vq.ste/blas/gemm", {"K=8", "D=4", "N=20", NULL}, "<f4", 1, {20 + 80 + 2 + 80 + 32 + 32}},
    {"maskgit.step/cpu/naive", {"levels=3", "frames=20", "K=16", NULL}, "<i4", 2, {3, 20}},
    /* iterations 4 + 2 * 1 */
    {"maskgit.decode/cpu/naive", {"levels=3", "frames=20", "K=16", "d=8", "iters0=4", NULL},
     "<i4", 3, {6, 3, 20}},
    {"maskgit.decode/blas/gemm", {"levels=3", "frames=20", "K=16", "d=8", "iters0=4", NULL},
     "<i4", 3, {6, 3, 20}},
};

static void gen_suite_all_ok(void **state)
{
    (void)state;
    char out[PATH_MAX];
    snprintf(out, sizeof out, "%s/gen.json", cl_tmp);
    cl_res r;
    cl_h(&r, NULL, "run", GEN_SUITE, "--out", out, "--quiet", NULL);
    if (r.code != 0)
        print_error("%s\n%s\n", r.out ? r.out : "", r.err ? r.err : "");
    cl_expect_code(&r, 0);
    cl_free(&r);
    json_t *doc = cl_load(out);
    json_t *cases = json_object_get(doc, "cases");
    assert_true(json_array_size(cases) >= 6);
    size_t i;
    json_t *c;
    json_array_foreach(cases, i, c) {
        if (strcmp(cl_str(c, "status"), "ok") != 0)
            print_error("%s: %s\n", cl_str(c, "id"), cl_str(c, "status"));
        assert_string_equal(cl_str(c, "status"), "ok");
        assert_true(json_is_true(cl_get(c, "check.pass")));
    }
    json_decref(doc);
}

static void gen_exec_npy(void **state)
{
    (void)state;
    for (size_t e = 0; e < sizeof execs / sizeof execs[0]; e++) {
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/x%zu.npy", cl_tmp, e);
        const char *argv[32] = {cl_harness, "exec", execs[e].name, "--input", "noise",
                                "--output", path};
        int n = 7;
        for (int i = 0; execs[e].params[i]; i++) {
            argv[n++] = "--param";
            argv[n++] = execs[e].params[i];
        }
        argv[n] = NULL;
        cl_res r;
        cl_run(NULL, NULL, argv, &r);
        if (r.code != 0)
            print_error("%s\n%s\n", r.out ? r.out : "", r.err ? r.err : "");
        cl_expect_code(&r, 0);
        assert_non_null(strstr(r.out, "-> ok"));
        cl_free(&r);
        size_t len;
        char *raw = cl_slurp(path, &len);
        assert_non_null(raw);
        assert_true(len > 10);
        assert_memory_equal(raw, "\x93NUMPY", 6);
        size_t hl = (size_t)(unsigned char)raw[8] | (size_t)(unsigned char)raw[9] << 8;
        char want[128], dict[512];
        assert_true(hl < sizeof dict);
        memcpy(dict, raw + 10, hl);
        dict[hl] = 0;
        snprintf(want, sizeof want, "'descr': '%s'", execs[e].descr);
        assert_non_null(strstr(dict, want));
        long long elems = 1;
        int w = snprintf(want, sizeof want, "'shape': (");
        for (int d = 0; d < execs[e].ndim; d++) {
            w += snprintf(want + w, sizeof want - (size_t)w, "%lld,%s", execs[e].shape[d],
                          d + 1 < execs[e].ndim ? " " : "");
            elems *= execs[e].shape[d];
        }
        if (execs[e].ndim > 1) /* numpy writes (2, 3) but (2,) */
            want[w - 1] = 0;
        else
            want[w] = 0;
        assert_non_null(strstr(dict, want));
        assert_int_equal(len - 10 - hl, (size_t)elems * 4);
        free(raw);
    }
}

static void gen_bad_params(void **state)
{
    (void)state;
    const char *bad[][3] = {
        {"sample.topk/cpu/naive", "top_p=2", "top_p"},
        {"sample.topk/cpu/naive", "V=1", "V"},
        {"codes.delay/cpu/naive", "direction=sideways", "direction"},
        {"vq.ste/cpu/naive", "decay=2", "decay"},
        {"maskgit.step/cpu/naive", "level=9", "level"},
        {"maskgit.decode/cpu/naive", "iters0=0", "iters0"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cl_res r;
        cl_h(&r, NULL, "exec", bad[i][0], "--input", "noise", "--param", bad[i][1], NULL);
        assert_int_equal(r.code, 2);
        assert_non_null(strstr(r.err, bad[i][2]));
        cl_free(&r);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(gen_suite_all_ok),
        cmocka_unit_test(gen_exec_npy),
        cmocka_unit_test(gen_bad_params),
    };
    return cmocka_run_group_tests(tests, cl_setup, cl_teardown);
}
