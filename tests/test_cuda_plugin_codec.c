/* test_cuda_plugin_codec.c — the cuda backend's codec-op rungs (issue 11: VQ/RVQ, conv1d,
 * attention, EnCodec) as the harness sees them, on any machine: registered on cuda:0;
 * their supports() gates (head_dim of the flash kernel, threads, sizes) need no GPU;
 * without a GPU setup fails with "no CUDA device" and leaves nothing behind, and
 * `harness run tests/data/cuda_codec` skips every case with the backend's reason. With a
 * GPU every case runs and passes its check: a test of its own, reported skipped with the
 * reason where there is no GPU, never passed. */
#include "cli_util.h"
#include "skip_util.h"

#include "params.h"
#include "registry.h"

static sono_reg cc_R;
static const sono_backend *cc_cuda;

static int cc_setup(void **state)
{
    if (cl_setup(state))
        return -1;
    const char *b = getenv("SONO_BUILD");
    char dir[1100];
    snprintf(dir, sizeof dir, "%s/plugins", b && *b ? b : "build");
    if (sono_reg_init(&cc_R, NULL))
        return -1;
    sono_reg_load_dir(&cc_R, dir);
    cc_cuda = sono_reg_backend(&cc_R, "cuda");
    if (!cc_cuda)
        printf("test_cuda_plugin_codec: no cuda plugin under %s (no nvcc)\n", dir);
    return 0;
}

static int cc_teardown(void **state)
{
    sono_reg_free(&cc_R);
    return cl_teardown(state);
}

static const sono_impl *cc_impl(const char *op, const char *name)
{
    sono_error err = {0};
    const sono_op *o = sono_op_find(op);
    assert_non_null(o);
    const sono_impl_entry *e = sono_reg_find(&cc_R, o, name, &err);
    if (!e)
        fail_msg("%s %s not registered: %s", op, name, err.msg);
    return e->impl;
}

static const struct {
    const char *op, *name;
} cc_impls[] = {
    {"vq.encode", "cuda/vq-cublas"},  {"vq.encode", "cuda/vq-fused"},
    {"rvq.encode", "cuda/vq-cublas"}, {"rvq.encode", "cuda/vq-fused"},
    {"rvq.decode", "cuda/gather"},    {"conv1d", "cuda/conv-direct"},
    {"conv1d", "cuda/conv-im2col"},   {"attention", "cuda/attn-naive"},
    {"attention", "cuda/attn-flash"}, {"codec.encodec", "cuda/encodec"},
    {"sgemm", "cuda/cublas"},
};
#define CC_N (sizeof cc_impls / sizeof cc_impls[0])

/* The op's defaults with name set to v (added when the op has no such param). */
static sono_params cc_defaults(const char *op, const char *name, long long v)
{
    sono_params p = {0};
    sono_params_defaults(sono_op_find(op), &p);
    sono_param *t = (sono_param *)sono_param_find(&p, name);
    if (t)
        t->i = v;
    else
        p.v[p.count++] = (sono_param){.name = name, .type = SONO_PINT, .i = v};
    return p;
}

static void cc_registered_and_gated(void **state)
{
    (void)state;
    if (!cc_cuda)
        SONO_SKIP("no cuda plugin built (no nvcc)");
    for (size_t i = 0; i < CC_N; i++) {
        const sono_impl *im = cc_impl(cc_impls[i].op, cc_impls[i].name);
        assert_string_equal(im->device, "cuda:0");
        char why[256] = "";
        sono_params p = cc_defaults(cc_impls[i].op, "threads", 1);
        /* as the harness does when it plans a case: codec.encodec's validate writes its
         * random weights file, which supports() then reads (a fresh machine has none) */
        const sono_op *o = sono_op_find(cc_impls[i].op);
        sono_error verr = {0};
        if (o->validate && o->validate(&p, &verr) < 0)
            fail_msg("%s: validate: %s", cc_impls[i].op, verr.msg);
        if (im->supports(im->ctx, &p, why, sizeof why) != 0)
            fail_msg("%s %s refused its op's defaults: %s", cc_impls[i].op, cc_impls[i].name,
                     why);
        sono_params_free(&p);
        p = cc_defaults(cc_impls[i].op, "threads", 2);
        assert_int_equal(im->supports(im->ctx, &p, why, sizeof why), SONO_EUNSUPPORTED);
        assert_non_null(strstr(why, "threads=2"));
        sono_params_free(&p);
    }
    /* the flash kernel holds a query's output in registers: head_dim <= 128 */
    const sono_impl *fl = cc_impl("attention", "cuda/attn-flash");
    const sono_impl *nv = cc_impl("attention", "cuda/attn-naive");
    char why[256] = "";
    sono_params p = cc_defaults("attention", "head_dim", 256);
    assert_int_equal(fl->supports(fl->ctx, &p, why, sizeof why), SONO_EUNSUPPORTED);
    assert_non_null(strstr(why, "head_dim=256"));
    assert_int_equal(nv->supports(nv->ctx, &p, why, sizeof why), 0);
    sono_params_free(&p);
    /* conv: groups must divide the channels (nnshape's reason) */
    const sono_impl *cd = cc_impl("conv1d", "cuda/conv-direct");
    p = cc_defaults("conv1d", "groups", 3);
    assert_int_equal(cd->supports(cd->ctx, &p, why, sizeof why), SONO_EUNSUPPORTED);
    assert_non_null(strstr(why, "groups=3"));
    sono_params_free(&p);
}

/* Without a GPU, setup fails with the reason and leaves nothing behind (asan checks). */
static void cc_setup_without_device(void **state)
{
    (void)state;
    if (!cc_cuda)
        SONO_SKIP("no cuda plugin built (no nvcc)");
    if (cc_cuda->available)
        SONO_SKIP("a CUDA device is present: the no-device path is not taken");
    for (size_t i = 0; i < CC_N; i++) {
        const sono_impl *im = cc_impl(cc_impls[i].op, cc_impls[i].name);
        sono_params p = cc_defaults(cc_impls[i].op, "threads", 1);
        sono_error err = {0};
        void *st = (void *)1;
        assert_int_equal(im->setup(im->ctx, &p, &st, &err), SONO_EDEVICE);
        assert_null(st);
        if (!strstr(err.msg, "no CUDA device"))
            fail_msg("%s: '%s'", cc_impls[i].name, err.msg);
        sono_params_free(&p);
    }
}

/* Every case of `harness run tests/data/cuda_codec`, each on cuda, counted; want_ok: each
 * must pass its check (with a GPU), else each must skip with the backend's reason. */
static void cc_run_suite(int want_ok)
{
    char out[PATH_MAX];
    snprintf(out, sizeof out, "%s/cuda_codec.json", cl_tmp);
    cl_res r;
    cl_h(&r, NULL, "run", "tests/data/cuda_codec", "--out", out, "--quiet", NULL);
    cl_expect_code(&r, 0);
    cl_free(&r);
    json_t *doc = cl_load(out), *c;
    size_t i, n = 0;
    json_array_foreach(json_object_get(doc, "cases"), i, c) {
        const char *id = cl_str(c, "id");
        assert_non_null(strstr(id, "/cuda/"));
        n++;
        if (want_ok) {
            if (strcmp(cl_str(c, "status"), "ok") != 0 || !json_is_true(cl_get(c, "check.pass")))
                fail_msg("%s: status %s, message %s", id, cl_str(c, "status"),
                         json_string_value(json_object_get(c, "message")));
        } else {
            assert_string_equal(cl_str(c, "status"), "skip");
            assert_non_null(strstr(cl_str(c, "message"), cc_cuda->reason));
        }
    }
    /* vq 2 + rvq 2 + decode 1 + conv 2*2*3 + transposed 2*2 + attention 2*2*2*2 +
     * encodec 3 modes + sgemm 1 */
    assert_int_equal(n, 2 + 2 + 1 + 12 + 4 + 16 + 3 + 1);
    json_decref(doc);
}

static void cc_cli_run_no_device(void **state)
{
    (void)state;
    if (!cc_cuda)
        SONO_SKIP("no cuda plugin built (no nvcc)");
    if (cc_cuda->available)
        SONO_SKIP("a CUDA device is present: its cases run (cc_cli_run_gpu)");
    cc_run_suite(0);
}

static void cc_cli_run_gpu(void **state)
{
    (void)state;
    if (!cc_cuda)
        SONO_SKIP("no cuda plugin built (no nvcc)");
    if (!cc_cuda->available)
        SONO_SKIP("%s", cc_cuda->reason);
    cc_run_suite(1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cc_registered_and_gated),
        cmocka_unit_test(cc_setup_without_device),
        cmocka_unit_test(cc_cli_run_no_device),
        cmocka_unit_test(cc_cli_run_gpu),
    };
    return cmocka_run_group_tests(tests, cc_setup, cc_teardown);
}
