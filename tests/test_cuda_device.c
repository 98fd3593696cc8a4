/* test_cuda_device.c — issue 10's cuda host side on any machine: cuda/memcpy and
 * cuda/copy-kernel registered for op copy on cuda:0, their parameter checks, and the
 * `device` param's gate in every cuda impl's supports (cuda:N beyond the GPUs visible,
 * a name that is not cuda:N), which needs no GPU. With a GPU, cuda:0 by name is accepted.
 * Skips everything when the plugin was not built (no nvcc). */
#include "cli_util.h"
#include "skip_util.h"

#include "registry.h"

static sono_reg cd_R;
static const sono_backend *cd_cuda;

static int cd_setup(void **state)
{
    if (cl_setup(state))
        return -1;
    const char *b = getenv("SONO_BUILD");
    char dir[1100];
    snprintf(dir, sizeof dir, "%s/plugins", b && *b ? b : "build");
    if (sono_reg_init(&cd_R, NULL))
        return -1;
    sono_reg_load_dir(&cd_R, dir);
    cd_cuda = sono_reg_backend(&cd_R, "cuda");
    if (!cd_cuda)
        printf("test_cuda_device: no cuda plugin under %s (built only where nvcc is)\n", dir);
    return 0;
}

static int cd_teardown(void **state)
{
    sono_reg_free(&cd_R);
    return cl_teardown(state);
}

static const sono_impl_entry *cd_impl(const char *op, const char *name)
{
    sono_error err = {0};
    const sono_impl_entry *e = sono_reg_find(&cd_R, sono_op_find(op), name, &err);
    if (!e)
        fail_msg("%s %s not registered: %s", op, name, err.msg);
    return e;
}

/* n, threads and device (NULL: unset) */
static sono_params cd_params(long long n, long long threads, const char *device)
{
    sono_params p = {.count = 2};
    p.v[0] = (sono_param){.name = "n", .type = SONO_PINT, .i = n};
    p.v[1] = (sono_param){.name = "threads", .type = SONO_PINT, .i = threads};
    if (device)
        p.v[p.count++] = (sono_param){.name = "device", .type = SONO_PSTR, .s = device};
    return p;
}

static void cd_refused(const sono_impl *im, sono_params p, const char *needle)
{
    char why[256] = "";
    assert_int_equal(im->supports(im->ctx, &p, why, sizeof why), SONO_EUNSUPPORTED);
    if (!strstr(why, needle))
        fail_msg("%s/%s: reason '%s' lacks '%s'", im->op, im->name, why, needle);
}

/* The GPUs the plugin opened: the cuda devices registered, when it is available. */
static int cd_gpus(void)
{
    int n = 0;
    for (int i = 0; cd_cuda->available && i < cd_R.ndevices; i++)
        n += strcmp(cd_R.devices[i]->kind, "cuda") == 0;
    return n;
}

static void cd_copy_impls(void **state)
{
    (void)state;
    if (!cd_cuda)
        SONO_SKIP("no cuda plugin built (no nvcc)");
    const sono_impl_entry *m = cd_impl("copy", "cuda/memcpy"), *k = cd_impl("copy",
                                                                            "cuda/copy-kernel");
    assert_string_equal(m->dev->name, "cuda:0");
    assert_string_equal(k->dev->name, "cuda:0");
    char why[256];
    sono_params p = cd_params(1000, 1, NULL);
    assert_int_equal(m->impl->supports(m->impl->ctx, &p, why, sizeof why), 0);
    assert_int_equal(k->impl->supports(k->impl->ctx, &p, why, sizeof why), 0);
    cd_refused(m->impl, cd_params(0, 1, NULL), "n=0");
    cd_refused(k->impl, cd_params(1LL << 33, 1, NULL), "2^32");
    cd_refused(k->impl, cd_params(1000, 2, NULL), "threads=1");
}

static void cd_device_param(void **state)
{
    (void)state;
    if (!cd_cuda)
        SONO_SKIP("no cuda plugin built (no nvcc)");
    const sono_impl *ims[] = {cd_impl("copy", "cuda/memcpy")->impl,
                              cd_impl("copy", "cuda/copy-kernel")->impl,
                              cd_impl("sgemm", "cuda/cublas")->impl};
    int gpus = cd_gpus();
    char want[64];
    snprintf(want, sizeof want, "cuda:%d not present: %d GPU%s visible", gpus, gpus,
             gpus == 1 ? "" : "s");
    char beyond[16];
    snprintf(beyond, sizeof beyond, "cuda:%d", gpus); /* the first one not there */
    for (size_t i = 0; i < sizeof ims / sizeof ims[0]; i++) {
        sono_params p = cd_params(64, 1, beyond);
        if (strcmp(ims[i]->op, "sgemm") == 0) /* m, n, k default to 256 */
            p.v[0].name = "k";
        cd_refused(ims[i], p, want);
        p.v[p.count - 1].s = "gpu1";
        cd_refused(ims[i], p, "not a CUDA device name");
        p.v[p.count - 1].s = "cuda:x";
        cd_refused(ims[i], p, "not a CUDA device name");
        p.v[p.count - 1].s = "";
        char why[256];
        assert_int_equal(ims[i]->supports(ims[i]->ctx, &p, why, sizeof why), 0);
        if (gpus > 0) { /* cuda:0 by name is the default device */
            p.v[p.count - 1].s = "cuda:0";
            assert_int_equal(ims[i]->supports(ims[i]->ctx, &p, why, sizeof why), 0);
        }
    }
    /* setup refuses the same way, before touching any GPU */
    sono_params p = cd_params(64, 1, beyond);
    sono_error err = {0};
    void *st = (void *)1;
    assert_int_equal(ims[0]->setup(ims[0]->ctx, &p, &st, &err), SONO_EUNSUPPORTED);
    assert_null(st);
    assert_non_null(strstr(err.msg, want));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cd_copy_impls),
        cmocka_unit_test(cd_device_param),
    };
    return cmocka_run_group_tests(tests, cd_setup, cd_teardown);
}
