/* test_cuda_mimi.c — cuda/mimi (codec.mimi on the GPU) as the harness loads it, on any
 * machine: registered on cuda:0; its supports() gates (threads, dtype) need no GPU;
 * without a GPU setup fails with "no CUDA device" and leaves nothing behind. With a GPU
 * every mode runs at small random dims with 1 and 3 streams and n_q 1, 3 and 8, and with
 * a window wider than the attention kernel's chunk of keys, each judged by codec.mimi's
 * own check against its float64 reference (codes exact up to near-ties, audio within the
 * op's tolerance): a test of its own, reported skipped with the reason where there is no
 * GPU, never passed. Random weights go under this run's temp dir. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "skip_util.h"

#include "buf.h"
#include "check.h"
#include "op.h"
#include "registry.h"

static sono_reg mc_R;
static const sono_backend *mc_cuda;
static char mc_cache[256];

static int mc_setup(void **state)
{
    (void)state;
    snprintf(mc_cache, sizeof mc_cache, "/tmp/sono-cuda-mimi-XXXXXX");
    if (!mkdtemp(mc_cache))
        return -1;
    setenv("XDG_CACHE_HOME", mc_cache, 1);
    const char *b = getenv("SONO_BUILD");
    char dir[1100];
    snprintf(dir, sizeof dir, "%s/plugins", b && *b ? b : "build");
    if (sono_reg_init(&mc_R, NULL))
        return -1;
    sono_reg_load_dir(&mc_R, dir);
    mc_cuda = sono_reg_backend(&mc_R, "cuda");
    if (!mc_cuda)
        printf("test_cuda_mimi: no cuda plugin under %s (no nvcc)\n", dir);
    return 0;
}

static int mc_teardown(void **state)
{
    (void)state;
    sono_reg_free(&mc_R);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", mc_cache);
    return system(cmd) == 0 ? 0 : -1;
}

static const sono_impl *mc_impl(void)
{
    sono_error err = {0};
    const sono_impl_entry *e = sono_reg_find(&mc_R, sono_op_find("codec.mimi"), "cuda/mimi",
                                             &err);
    if (!e)
        fail_msg("codec.mimi cuda/mimi not registered: %s", err.msg);
    return e->impl;
}

/* The small dims of tests/data/mimi/impls.ini; extra: one more param (dtype, threads). */
static sono_params mc_params(const char *mode, int nq, int streams, int window, double sec,
                             sono_param extra)
{
    sono_params p = {.count = 15,
                     .v = {{.name = "mode", .type = SONO_PSTR, .s = mode},
                           {.name = "n_q", .type = SONO_PINT, .i = nq},
                           {.name = "seconds", .type = SONO_PREAL, .r = sec},
                           {.name = "filters", .type = SONO_PINT, .i = 4},
                           {.name = "hidden", .type = SONO_PINT, .i = 32},
                           {.name = "layers", .type = SONO_PINT, .i = 2},
                           {.name = "heads", .type = SONO_PINT, .i = 4},
                           {.name = "ffn", .type = SONO_PINT, .i = 64},
                           {.name = "codebooks", .type = SONO_PINT, .i = 8},
                           {.name = "codebook_size", .type = SONO_PINT, .i = 64},
                           {.name = "codebook_dim", .type = SONO_PINT, .i = 16},
                           {.name = "window", .type = SONO_PINT, .i = window},
                           {.name = "ratios", .type = SONO_PSTR, .s = "4.3.2"},
                           {.name = "streams", .type = SONO_PINT, .i = streams},
                           extra}};
    return p;
}

static const sono_param mc_one = {.name = "threads", .type = SONO_PINT, .i = 1};

static void mc_registered_and_gated(void **state)
{
    (void)state;
    if (!mc_cuda)
        SONO_SKIP("no cuda plugin built (no nvcc)");
    const sono_impl *im = mc_impl();
    assert_string_equal(im->device, "cuda:0");
    const sono_op *op = sono_op_find("codec.mimi");
    sono_error err = {0};
    char why[512] = "";
    sono_params p = mc_params("encode", 3, 1, 8, 0.05, mc_one);
    if (op->validate(&p, &err)) /* writes the random weights supports() reads */
        fail_msg("validate: %s", err.msg);
    if (im->supports(im->ctx, &p, why, sizeof why))
        fail_msg("refused its small case: %s", why);
    p = mc_params("encode", 3, 1, 8, 0.05,
                  (sono_param){.name = "threads", .type = SONO_PINT, .i = 2});
    assert_int_equal(im->supports(im->ctx, &p, why, sizeof why), SONO_EUNSUPPORTED);
    assert_non_null(strstr(why, "threads=2"));
    p = mc_params("encode", 3, 1, 8, 0.05,
                  (sono_param){.name = "dtype", .type = SONO_PSTR, .s = "bf16"});
    assert_int_equal(im->supports(im->ctx, &p, why, sizeof why), SONO_EUNSUPPORTED);
    assert_non_null(strstr(why, "dtype=bf16"));
    assert_non_null(strstr(why, "float32 only"));
    /* n_q beyond the model's codebooks: mimi_net.c's reason */
    p = mc_params("encode", 9, 1, 8, 0.05, mc_one);
    assert_int_equal(im->supports(im->ctx, &p, why, sizeof why), SONO_EUNSUPPORTED);
    assert_non_null(strstr(why, "n_q=9"));
}

/* Without a GPU, setup fails with the reason and leaves nothing behind (asan checks). */
static void mc_setup_without_device(void **state)
{
    (void)state;
    if (!mc_cuda)
        SONO_SKIP("no cuda plugin built (no nvcc)");
    if (mc_cuda->available)
        SONO_SKIP("a CUDA device is present: the no-device path is not taken");
    const sono_impl *im = mc_impl();
    sono_params p = mc_params("roundtrip", 3, 1, 8, 0.05, mc_one);
    sono_error err = {0};
    assert_int_equal(sono_op_find("codec.mimi")->validate(&p, &err), 0);
    void *st = (void *)1;
    assert_int_equal(im->setup(im->ctx, &p, &st, &err), SONO_EDEVICE);
    assert_null(st);
    if (!strstr(err.msg, "no CUDA device"))
        fail_msg("'%s'", err.msg);
}

/* One case through the impl's calls, judged by the op's check; codes_out: the reference's
 * codes of an encode (the decode case's input). */
static void mc_case(const char *mode, int nq, int S, int window, double sec, const int *codes_in,
                    int *codes_out)
{
    const sono_op *op = sono_op_find("codec.mimi");
    const sono_impl *im = mc_impl();
    sono_params p = mc_params(mode, nq, S, window, sec, mc_one);
    sono_error err = {0};
    if (op->validate(&p, &err))
        fail_msg("validate: %s", err.msg);
    sono_buf in, out, ref;
    op->shapes(&p, &in, &out);
    ref = out;
    if (ref.dtype == SONO_F32)
        ref.dtype = SONO_F64;
    assert_int_equal(sono_buf_alloc(&in, NULL), 0);
    assert_int_equal(sono_buf_alloc(&out, NULL), 0);
    assert_int_equal(sono_buf_alloc(&ref, NULL), 0);
    if (codes_in)
        memcpy(in.data, codes_in, in.nbytes);
    else {
        float *x = in.data;
        for (long long i = 0; i < sono_buf_elems(&in); i++) /* a chirp with a step per clip */
            x[i] = (float)(0.4 * sin(1e-4 * (double)i * (double)(i % 9000)) + 0.01 * (i % 7));
    }
    if (op->reference(&p, &in, &ref, &err))
        fail_msg("reference: %s", err.msg);
    void *st = NULL;
    if (im->setup(im->ctx, &p, &st, &err) || im->load(st, &in, &err))
        fail_msg("cuda/mimi %s: %s", mode, err.msg);
    assert_int_equal(im->run(st), 0);
    assert_int_equal(im->run(st), 0); /* a second run from whatever buffers the first left */
    assert_int_equal(im->store(st, &out, &err), 0);
    char desc[1024];
    assert_int_equal(im->describe(st, desc, sizeof desc), 0);
    im->teardown(st);
    double tol = op->tolerance(&p, im->growth);
    sono_check c = {0};
    if (op->check(&p, &in, &out, &ref, tol, &c, &err))
        fail_msg("check: %s", err.msg);
    print_message("cuda/mimi %s n_q %d streams %d window %d: %s, rel L2 %.3g (tol %.3g)\n",
                  mode, nq, S, window, c.detail, c.rel_l2, tol);
    if (!c.pass)
        fail_msg("cuda/mimi %s failed its check: %s", mode, c.detail);
    if (strcmp(mode, "encode") != 0) /* float32 on the GPU is not the float64 network */
        assert_true(c.rel_l2 > 0 && c.nonfinite == 0);
    else if (codes_out)
        memcpy(codes_out, ref.data, ref.nbytes);
    sono_buf_free(&in);
    sono_buf_free(&out);
    sono_buf_free(&ref);
}

static void mc_gpu_cases(void **state)
{
    (void)state;
    if (!mc_cuda)
        SONO_SKIP("no cuda plugin built (no nvcc)");
    if (!mc_cuda->available)
        SONO_SKIP("%s", mc_cuda->reason);
    static int codes[3 * 8 * 250];
    for (int S = 1; S <= 3; S += 2) {
        mc_case("encode", 1, S, 8, 0.05, NULL, NULL);
        mc_case("encode", 3, S, 8, 0.05, NULL, codes);
        mc_case("decode", 3, S, 8, 0.05, codes, NULL);
        mc_case("roundtrip", 8, S, 8, 0.05, NULL, NULL);
    }
    /* 500 encoder steps, a window of 300: more keys than one pass of the kernel (256) */
    mc_case("encode", 8, 1, 300, 0.5, NULL, codes);
    mc_case("decode", 8, 1, 300, 0.5, codes, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(mc_registered_and_gated),
        cmocka_unit_test(mc_setup_without_device),
        cmocka_unit_test(mc_gpu_cases),
    };
    return cmocka_run_group_tests(tests, mc_setup, mc_teardown);
}
