/* test_impls.c — every fft and rfft impl of the real plugins ($SONO_BUILD/plugins) against
 * its op's float64 reference and tolerance, through the whole lifecycle; the test-only
 * plugin wrong.so must FAIL; the nop impls are exact; broken plugins and lookups by name.
 * The GPU impls are a test of their own, reported skipped (with why) where they cannot run. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "input.h"
#include "registry.h"
#include "runner.h"
#include "skip_util.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#include <sys/wait.h>
#endif

static sono_reg ti_R;
static char ti_build[1024];

static const long long ti_sizes[] = {1, 2, 3, 4, 5, 7, 8, 16, 17, 64, 480, 512, 1000, 1024, 4096};
static const long long ti_batches[] = {1, 2, 5};

static int ti_setup(void **state)
{
    (void)state;
    const char *b = getenv("SONO_BUILD");
    snprintf(ti_build, sizeof ti_build, "%s", b && *b ? b : "build");
    char dir[1100];
    snprintf(dir, sizeof dir, "%s/plugins", ti_build);
    if (sono_reg_init(&ti_R, NULL))
        return -1;
    sono_reg_load_dir(&ti_R, dir);
    if (!sono_reg_backend(&ti_R, "cpu")) {
        fprintf(stderr, "test_impls: no cpu plugin under %s (run make all)\n", dir);
        return -1;
    }
    return 0;
}

static int ti_teardown(void **state)
{
    (void)state;
    sono_reg_free(&ti_R);
    return 0;
}

static uint64_t ti_seed = 0x9e3779b97f4a7c15ull;

static float ti_rand(void) /* xorshift64*, uniform in [-1, 1) */
{
    ti_seed ^= ti_seed >> 12;
    ti_seed ^= ti_seed << 25;
    ti_seed ^= ti_seed >> 27;
    return (float)((double)((ti_seed * 0x2545f4914f6cdd1dull) >> 11) * 0x1p-52 - 1.0);
}

static sono_params ti_params(long long n, long long batch, long long threads)
{
    sono_params p = {.count = 3,
                     .v = {{.name = "n", .type = SONO_PINT, .i = n},
                           {.name = "batch", .type = SONO_PINT, .i = batch},
                           {.name = "threads", .type = SONO_PINT, .i = threads}}};
    return p;
}

/* Fill in: kind 0 = the noise generator, 1 = own data (a large DC offset plus random
 * values of mixed scale, nothing like noise's uniform [-0.5, 0.5)). */
static void ti_fill(sono_buf *in, int kind)
{
    if (kind == 0) {
        sono_input_spec spec;
        sono_error err = {0};
        assert_int_equal(sono_input_parse("noise(seed=11)", ".", &spec, &err), 0);
        double rate = 0;
        if (sono_input_fill(&spec, 48000, in, &rate, &err))
            fail_msg("noise fill: %s", err.msg);
        return;
    }
    float *f = in->data;
    long long count = sono_buf_elems(in) * (in->dtype == SONO_C64 ? 2 : 1);
    for (long long i = 0; i < count; i++)
        f[i] = 3.0f + ti_rand() * (i % 3 == 0 ? 100.0f : 1.0f);
}

/* setup, load, run, store; run and store again; teardown. Fills check c against the
 * op's reference and the op's tolerance for the impl's growth. */
static void ti_run(const sono_impl_entry *e, const sono_params *p, int kind, sono_check *c)
{
    const sono_impl *im = e->impl;
    sono_buf in, out, ref;
    e->op->shapes(p, &in, &out);
    ref = out;
    ref.dtype = sono_dtype_wide(out.dtype);
    assert_int_equal(sono_buf_alloc(&in, NULL), 0);
    assert_int_equal(sono_buf_alloc(&out, NULL), 0);
    assert_int_equal(sono_buf_alloc(&ref, NULL), 0);
    ti_fill(&in, kind);
    void *keep = malloc(in.nbytes), *first = malloc(out.nbytes);
    assert_true(keep && first);
    memcpy(keep, in.data, in.nbytes);

    sono_error err = {0};
    void *st = NULL;
    long long n = sono_param_int(p, "n", 0), b = sono_param_int(p, "batch", 0);
    if (im->setup(im->ctx, p, &st, &err))
        fail_msg("%s n=%lld batch=%lld: setup: %s", e->full, n, b, err.msg);
    if (im->load(st, &in, &err))
        fail_msg("%s n=%lld: load: %s", e->full, n, err.msg);
    assert_int_equal(im->run(st), 0);
    if (im->store(st, &out, &err))
        fail_msg("%s n=%lld: store: %s", e->full, n, err.msg);
    memcpy(first, out.data, out.nbytes);
    memset(out.data, 0x7f, out.nbytes);
    assert_int_equal(im->run(st), 0);
    assert_int_equal(im->store(st, &out, &err), 0);
    im->teardown(st);
    if (memcmp(first, out.data, out.nbytes) != 0)
        fail_msg("%s n=%lld batch=%lld: two runs differ", e->full, n, b);
    if (memcmp(keep, in.data, in.nbytes) != 0)
        fail_msg("%s n=%lld batch=%lld: the input buffer changed", e->full, n, b);

    if (e->op->reference(p, &in, &ref, &err))
        fail_msg("reference %s n=%lld: %s", e->op->name, n, err.msg);
    double tol = e->op->tolerance(p, im->growth);
    assert_int_equal(sono_check_output(&out, &ref, tol, c, &err), 0);
    free(keep);
    free(first);
    sono_buf_free(&in);
    sono_buf_free(&out);
    sono_buf_free(&ref);
}

/* Whether the impl must accept (1) or reject (0) n, or -1 when this test has no rule. */
static int ti_rule(const sono_impl_entry *e, long long n)
{
    if (strcmp(e->full, "cpu/radix2") == 0)
        return (n & (n - 1)) == 0;
    if (strcmp(e->full, "cpu/naive-dft") == 0 || strcmp(e->full, "fftw/fftw") == 0)
        return 1;
    return -1;
}

static void ti_one(const sono_impl_entry *e, long long n, long long batch, int *ran)
{
    sono_params p = ti_params(n, batch, 1);
    char why[256] = "";
    int rc = e->impl->supports(e->impl->ctx, &p, why, sizeof why);
    int rule = ti_rule(e, n);
    if (rule >= 0 && (rc == 0) != rule)
        fail_msg("%s: n=%lld batch=%lld should be %s (supports: %d, '%s')", e->full, n, batch,
                 rule ? "supported" : "rejected", rc, why);
    if (rc) {
        if (!why[0])
            fail_msg("%s rejects n=%lld without a reason", e->full, n);
        return;
    }
    for (int kind = 0; kind < 2; kind++) {
        sono_check c;
        ti_run(e, &p, kind, &c);
        if (!c.pass)
            fail_msg("%s n=%lld batch=%lld input %s: rel_l2 %.3g max_abs %.3g (peak %.3g) "
                     "nonfinite %lld, tol %.3g",
                     e->full, n, batch, kind ? "own" : "noise", c.rel_l2, c.max_abs,
                     c.ref_peak, c.nonfinite, c.tol);
        (*ran)++;
    }
}

static int ti_on_gpu(const sono_impl_entry *e)
{
    return strncmp(e->impl->device, "cuda", 4) == 0;
}

/* Every fft and rfft impl on a GPU (gpu) or not, of the available backends; the reasons
 * of those unavailable go to why. Returns how many impls ran. */
static int ti_fft_over(int gpu, int *ran, char *why, size_t nwhy)
{
    int impls = 0;
    why[0] = 0;
    for (int i = 0; i < ti_R.nimpls; i++) {
        const sono_impl_entry *e = &ti_R.impls[i];
        if (strcmp(e->op->name, "fft") != 0 && strcmp(e->op->name, "rfft") != 0)
            continue;
        if (ti_on_gpu(e) != gpu)
            continue;
        const sono_backend *b = sono_reg_backend_of(&ti_R, e);
        if (!b->available) {
            printf("skip %s/%s: backend unavailable: %s\n", e->op->name, e->full, b->reason);
            snprintf(why, nwhy, "%s/%s: %s", e->op->name, e->full, b->reason);
            continue;
        }
        impls++;
        int naive = strcmp(e->impl->name, "naive-dft") == 0;
        for (size_t s = 0; s < sizeof ti_sizes / sizeof ti_sizes[0]; s++)
            for (size_t k = 0; k < sizeof ti_batches / sizeof ti_batches[0]; k++)
                if (!naive || ti_sizes[s] <= 1024)
                    ti_one(e, ti_sizes[s], ti_batches[k], ran);
        if (!naive)
            ti_one(e, 65536, 1, ran);
    }
    return impls;
}

static void ti_fft_impls(void **state)
{
    (void)state;
    int ran = 0;
    char why[512];
    int impls = ti_fft_over(0, &ran, why, sizeof why);
    /* fft and rfft of cpu/naive-dft and cpu/radix2 at the least */
    assert_true(impls >= 4);
    assert_true(ran > 0);
}

/* The GPU impls: every one must run and pass where their backend is available. */
static void ti_fft_impls_gpu(void **state)
{
    (void)state;
    int ran = 0;
    char why[512];
    int impls = ti_fft_over(1, &ran, why, sizeof why);
    if (why[0])
        SONO_SKIP("%s", why);
    if (impls == 0)
        SONO_SKIP("no GPU backend built (no nvcc)");
    assert_true(ran > 0);
}

static void ti_threads_rejected(void **state)
{
    (void)state;
    sono_params p = ti_params(64, 1, 2);
    for (int i = 0; i < ti_R.nimpls; i++) {
        const sono_impl_entry *e = &ti_R.impls[i];
        char why[256] = "";
        if (strcmp(e->full, "fftw/fftw") == 0)
            continue; /* takes threads: tests/test_fftw_threads.c */
        if (strcmp(e->full, "cpu/triad") == 0 || strcmp(e->full, "blas/sgemm") == 0)
            continue; /* take threads: tests/test_calibration.c */
        if (strcmp(e->op->name, "attention.relpos") == 0 && strcmp(e->impl->name, "naive") != 0)
            continue; /* blas/gemm and py/torch take threads: test_speech_w2v.c, suites/speech */
        if (e->op->rate && strcmp(e->impl->name, "naive") != 0)
            continue; /* audio front ends past the naive rung take threads: test_dsp_impls.c */
        if ((strcmp(e->op->name, "vq.ste") == 0 || strcmp(e->op->name, "maskgit.decode") == 0) &&
            strcmp(e->impl->name, "gemm") == 0)
            continue; /* issue 25: OpenBLAS's threads: test_gen_vqste.c, test_gen_maskgit.c */
        if (e->impl->supports(e->impl->ctx, &p, why, sizeof why) == 0)
            fail_msg("%s/%s accepts threads=2", e->op->name, e->full);
        if (!why[0])
            fail_msg("%s/%s rejects threads=2 without a reason", e->op->name, e->full);
    }
}

static const sono_impl_entry *ti_find(const sono_reg *R, const char *op, const char *name)
{
    sono_error err = {0};
    const sono_impl_entry *e = sono_reg_find(R, sono_op_find(op), name, &err);
    if (!e)
        fail_msg("%s %s: %s", op, name, err.msg);
    return e;
}

static void ti_wrong_plugin(void **state)
{
    (void)state;
    sono_reg W;
    char path[1200];
    snprintf(path, sizeof path, "%s/test-plugins/wrong.so", ti_build);
    assert_int_equal(sono_reg_init(&W, NULL), 0);
    int idx = sono_reg_load_plugin(&W, path);
    assert_true(idx >= 0);
    if (!W.backends[idx].available)
        fail_msg("%s: %s", path, W.backends[idx].reason);
    const sono_impl_entry *fft = ti_find(&W, "fft", "wrong/fft");
    const sono_impl_entry *nan = ti_find(&W, "rfft", "wrong/rfft-nan");
    const long long ns[] = {1, 2, 3, 4, 5, 8, 17, 64, 480};
    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++)
        for (int kind = 0; kind < 2; kind++) {
            sono_params p = ti_params(ns[i], 2, 1);
            sono_check c;
            ti_run(fft, &p, kind, &c);
            /* e^{+2 pi i jk/n} equals e^{-2 pi i jk/n} when n <= 2 (all exponents real) */
            if (c.pass != (ns[i] <= 2))
                fail_msg("wrong/fft n=%lld: pass=%d (rel_l2 %.3g, tol %.3g)", ns[i], c.pass,
                         c.rel_l2, c.tol);
            assert_int_equal(c.nonfinite, 0);
            ti_run(nan, &p, kind, &c);
            assert_true(c.nonfinite > 0);
            assert_int_equal(c.pass, 0);
        }
    sono_reg_free(&W);
}

static void ti_nop_exact(void **state)
{
    (void)state;
    const char *names[] = {"cpu/nop", "template/copy"};
    for (int i = 0; i < 2; i++) {
        char be[16];
        snprintf(be, sizeof be, "%.*s", (int)strcspn(names[i], "/"), names[i]);
        const sono_backend *b = sono_reg_backend(&ti_R, be);
        if (!b || !b->available) {
            printf("skip %s: backend %s\n", names[i], b ? b->reason : "not built");
            continue;
        }
        const sono_impl_entry *e = ti_find(&ti_R, "nop", names[i]);
        const long long ns[] = {1, 7, 1000, 65536};
        for (size_t k = 0; k < sizeof ns / sizeof ns[0]; k++)
            for (int kind = 0; kind < 2; kind++) {
                sono_params p = {.count = 2,
                                 .v = {{.name = "n", .type = SONO_PINT, .i = ns[k]},
                                       {.name = "threads", .type = SONO_PINT, .i = 1}}};
                sono_check c;
                ti_run(e, &p, kind, &c);
                if (!(c.rel_l2 == 0 && c.max_abs == 0 && c.pass))
                    fail_msg("%s n=%lld: rel_l2 %g max_abs %g", names[i], ns[k], c.rel_l2,
                             c.max_abs);
            }
    }
}

/* A bad plugin file gives an unavailable backend whose reason names the path. */
static void ti_expect_unavailable(sono_reg *R, const char *path, const char *hint)
{
    int before = R->nimpls;
    int idx = sono_reg_load_plugin(R, path);
    assert_true(idx >= 0 && idx < R->nbackends);
    const sono_backend *b = &R->backends[idx];
    assert_int_equal(b->available, 0);
    assert_int_equal(R->nimpls, before);
    if (!b->reason[0] || !strstr(b->reason, path) || (hint && !strstr(b->reason, hint)))
        fail_msg("%s: reason '%s' should name the path and say '%s'", path, b->reason,
                 hint ? hint : "");
}

static void ti_bad_plugins(void **state)
{
    (void)state;
    char dir[] = "/tmp/sono_impls_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char missing[128], garbage[128], libm[128];
    snprintf(missing, sizeof missing, "%s/missing.so", dir);
    snprintf(garbage, sizeof garbage, "%s/garbage.so", dir);
    snprintf(libm, sizeof libm, "%s/notaplugin.so", dir);
    FILE *f = fopen(garbage, "wb");
    assert_non_null(f);
    for (int i = 0; i < 4096; i++)
        fputc((int)(ti_rand() * 127 + 128), f);
    fclose(f);
    FILE *src = fopen("/usr/lib/x86_64-linux-gnu/libm.so.6", "rb");
    if (src) {
        f = fopen(libm, "wb");
        assert_non_null(f);
        char buf[65536];
        size_t got;
        while ((got = fread(buf, 1, sizeof buf, src)) > 0)
            assert_int_equal(fwrite(buf, 1, got, f), got);
        fclose(f);
        fclose(src);
    }

    sono_reg R;
    assert_int_equal(sono_reg_init(&R, NULL), 0);
    ti_expect_unavailable(&R, missing, "No such file");
    ti_expect_unavailable(&R, garbage, NULL);
    if (src)
        ti_expect_unavailable(&R, libm, "sono_plugin_init");
    else
        printf("skip notaplugin.so: no /usr/lib/x86_64-linux-gnu/libm.so.6\n");
    sono_reg_free(&R);

    /* the same files through a folder: listed, unavailable, named after their stems */
    assert_int_equal(sono_reg_init(&R, NULL), 0);
    sono_reg_load_dir(&R, dir);
    const sono_backend *g = sono_reg_backend(&R, "garbage");
    assert_non_null(g);
    assert_int_equal(g->available, 0);
    assert_non_null(strstr(g->reason, garbage));
    if (src) {
        const sono_backend *m = sono_reg_backend(&R, "notaplugin");
        assert_non_null(m);
        assert_int_equal(m->available, 0);
    }
    assert_int_equal(R.nimpls, 0);
    int nb = R.nbackends;
    sono_reg_load_dir(&R, dir); /* loaded names are not loaded again */
    sono_reg_load_dir(&R, "/nonexistent/sono/plugins"); /* a missing folder is no error */
    assert_int_equal(R.nbackends, nb);
    sono_reg_free(&R);
    unlink(garbage);
    unlink(libm);
    assert_int_equal(rmdir(dir), 0);
}

static void ti_find_by_name(void **state)
{
    (void)state;
    const sono_op *fft = sono_op_find("fft"), *rfft = sono_op_find("rfft");
    sono_error err = {0};
    const sono_impl_entry *a = sono_reg_find(&ti_R, fft, "radix2", &err);
    const sono_impl_entry *b = sono_reg_find(&ti_R, fft, "cpu/radix2", &err);
    assert_non_null(a);
    assert_ptr_equal(a, b);
    assert_string_equal(a->full, "cpu/radix2");
    assert_ptr_equal(a->op, fft);
    const sono_impl_entry *r = sono_reg_find(&ti_R, rfft, "radix2", &err);
    assert_non_null(r);
    assert_ptr_not_equal(r, a); /* same name, other op */
    assert_ptr_equal(r->op, rfft);

    assert_null(sono_reg_find(&ti_R, fft, "nosuch", &err));
    assert_int_equal(err.code, SONO_ENOTFOUND);
    assert_non_null(strstr(err.msg, "nosuch"));
    assert_non_null(strstr(err.msg, "cpu/radix2")); /* the known impls of fft */
    assert_non_null(strstr(err.msg, "cpu/naive-dft"));
    assert_null(strstr(err.msg, "cpu/nop")); /* not of this op */
    assert_null(sono_reg_find(&ti_R, fft, "nosuch/radix2", &err));
    assert_int_equal(err.code, SONO_ENOTFOUND);
    assert_null(sono_reg_find(&ti_R, sono_op_find("nop"), "radix2", &err));

    /* a second backend with the same impl names makes the short name ambiguous */
    char dir[] = "/tmp/sono_find_XXXXXX", src[1200], dst[128];
    assert_non_null(mkdtemp(dir));
    snprintf(src, sizeof src, "%s/plugins/cpu.so", ti_build);
    snprintf(dst, sizeof dst, "%s/cpu2.so", dir);
    FILE *in = fopen(src, "rb"), *out = fopen(dst, "wb");
    assert_true(in && out);
    char buf[65536];
    size_t got;
    while ((got = fread(buf, 1, sizeof buf, in)) > 0)
        assert_int_equal(fwrite(buf, 1, got, out), got);
    fclose(in);
    fclose(out);
    sono_reg R;
    assert_int_equal(sono_reg_init(&R, NULL), 0);
    snprintf(src, sizeof src, "%s/plugins", ti_build);
    sono_reg_load_dir(&R, src);
    sono_reg_load_plugin(&R, dst);
    assert_null(sono_reg_find(&R, fft, "radix2", &err));
    assert_int_equal(err.code, SONO_EINVAL);
    assert_non_null(strstr(err.msg, "ambiguous"));
    const sono_impl_entry *c2 = sono_reg_find(&R, fft, "cpu2/radix2", &err);
    assert_non_null(c2);
    assert_string_equal(c2->full, "cpu2/radix2");
    sono_reg_free(&R);
    unlink(dst);
    assert_int_equal(rmdir(dir), 0);
}

/* A regression test for FFTW's planner leaking when fftw.so is dlclosed (ASan builds only). */
static void ti_fftw_planner_released(void **state)
{
    (void)state;
#if !defined(__SANITIZE_ADDRESS__)
    SONO_SKIP("not an ASan build: LeakSanitizer is what this asks (make asan)");
#else
    const sono_backend *fb = sono_reg_backend(&ti_R, "fftw");
    if (!fb || !fb->available)
        SONO_SKIP("fftw backend unavailable: %s", fb ? fb->reason : "not built");
    fflush(NULL); /* a child closes every registry, then asks LeakSanitizer */
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        sono_reg R;
        char path[1200];
        snprintf(path, sizeof path, "%s/plugins/fftw.so", ti_build);
        sono_reg_init(&R, NULL);
        sono_reg_load_plugin(&R, path);
        const sono_impl_entry *e = sono_reg_find(&R, sono_op_find("fft"), "fftw/fftw", NULL);
        sono_params p = ti_params(256, 1, 1);
        void *st = NULL;
        if (!e || e->impl->setup(e->impl->ctx, &p, &st, NULL))
            _exit(2);
        e->impl->teardown(st);
        sono_reg_free(&R);
        sono_reg_free(&ti_R); /* the parent's handle to fftw.so, inherited */
        _exit(__lsan_do_recoverable_leak_check() ? 1 : 0);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("fftw plan, teardown, sono_reg_free: LeakSanitizer found leaks (status %d)",
                 WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status));
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ti_fft_impls),
        cmocka_unit_test(ti_fft_impls_gpu),
        cmocka_unit_test(ti_threads_rejected),
        cmocka_unit_test(ti_wrong_plugin),
        cmocka_unit_test(ti_nop_exact),
        cmocka_unit_test(ti_bad_plugins),
        cmocka_unit_test(ti_find_by_name),
        cmocka_unit_test(ti_fftw_planner_released),
    };
    return cmocka_run_group_tests(tests, ti_setup, ti_teardown);
}
