/* test_hifigan_fixture.c — vocoder.hifigan against transformers' SpeechT5HifiGan on the
 * committed fixture (tests/fixtures/hifigan_fixture.py: 16 channels, 10 mel frames, seeded
 * weights, mean and scale): the float64 reference against the module run in float64
 * (agreement to ~1e-12 shows they compute the same function: the transposed convs'
 * layout and padding, the final leaky ReLU's 0.01 slope, normalize_before), and every impl
 * of the real plugins (cpu/naive, blas/hifigan, cuda/hifigan where a GPU is) on the
 * fixture's mel against the module's float32 output, within the op's tolerance; an impl
 * whose backend cannot run here is reported skipped. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "check.h"
#include "op.h"
#include "registry.h"

#define FIX "tests/data/hifigan/"
#define NMEL (80 * 10)
#define NOUT (10 * 256)

static sono_reg hf_R;

/* The data of a little-endian .npy of dtype descr with n elements, malloc'd. */
static void *npy_load(const char *path, const char *descr, size_t n, size_t es)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("%s: cannot open", path);
    unsigned char h[10];
    assert_int_equal(fread(h, 1, 10, f), 10);
    assert_int_equal(memcmp(h, "\x93NUMPY", 6), 0);
    size_t hl = h[8] | (size_t)h[9] << 8;
    char *hdr = calloc(1, hl + 1);
    assert_int_equal(fread(hdr, 1, hl, f), hl);
    if (!strstr(hdr, descr))
        fail_msg("%s: header %s, expected %s", path, hdr, descr);
    void *d = malloc(n * es);
    assert_int_equal(fread(d, es, n, f), n);
    assert_int_equal(fgetc(f), EOF); /* exactly n elements */
    fclose(f);
    free(hdr);
    return d;
}

static sono_params fixture_params(void)
{
    sono_params p = {.count = 5,
                     .v = {{.name = "config", .type = SONO_PSTR, .s = "custom"},
                           {.name = "channels", .type = SONO_PINT, .i = 16},
                           {.name = "frames", .type = SONO_PINT, .i = 10},
                           {.name = "weights", .type = SONO_PSTR, .s = FIX "tiny.safetensors"},
                           {.name = "threads", .type = SONO_PINT, .i = 1}}};
    return p;
}

static double rel_l2(const float *a32, const double *a64, const double *ref, size_t n)
{
    double e = 0, r = 0;
    for (size_t i = 0; i < n; i++) {
        double v = a32 ? a32[i] : a64[i];
        e += (v - ref[i]) * (v - ref[i]);
        r += ref[i] * ref[i];
    }
    return sqrt(e / r);
}

static void hf_reference(void **state)
{
    (void)state;
    const sono_op *op = sono_op_find("vocoder.hifigan");
    assert_non_null(op);
    sono_params p = fixture_params();
    sono_error err = {0};
    if (op->validate(&p, &err))
        fail_msg("validate: %s", err.msg);
    sono_buf in, out;
    op->shapes(&p, &in, &out);
    assert_int_equal(in.shape[0], 80);
    assert_int_equal(in.shape[1], 10);
    assert_int_equal(out.shape[0], NOUT);
    float *mel = npy_load(FIX "mel.npy", "'<f4'", NMEL, 4);
    double *y64 = npy_load(FIX "expected64.npy", "'<f8'", NOUT, 8);
    float *y32 = npy_load(FIX "expected.npy", "'<f4'", NOUT, 4);
    sono_buf ref = out;
    ref.dtype = SONO_F64;
    in.data = mel;
    in.nbytes = NMEL * 4;
    assert_int_equal(sono_buf_alloc(&ref, NULL), 0);
    if (op->reference(&p, &in, &ref, &err))
        fail_msg("reference: %s", err.msg);
    double r64 = rel_l2(NULL, ref.data, y64, NOUT), r32 = rel_l2(y32, NULL, y64, NOUT);
    print_message("reference vs transformers float64: rel L2 %.3g; transformers float32 vs "
                  "float64: %.3g\n", r64, r32);
    assert_true(r64 < 1e-12);
    /* the module's own float32 run passes the op's check: the tolerance is not too tight */
    assert_true(r32 > 0 && r32 <= op->tolerance(&p, SONO_ERR_LOG));
    sono_buf_free(&ref);
    free(mel);
    free(y64);
    free(y32);
}

static void hf_impls(void **state)
{
    (void)state;
    const char *names[] = {"cpu/naive", "blas/hifigan", "cuda/hifigan"};
    const sono_op *op = sono_op_find("vocoder.hifigan");
    sono_params p = fixture_params();
    float *mel = npy_load(FIX "mel.npy", "'<f4'", NMEL, 4);
    float *y32 = npy_load(FIX "expected.npy", "'<f4'", NOUT, 4);
    double *exp64 = malloc(NOUT * sizeof *exp64);
    for (int i = 0; i < NOUT; i++)
        exp64[i] = y32[i];
    int ran = 0;
    for (int i = 0; i < 3; i++) {
        char be[16];
        snprintf(be, sizeof be, "%.*s", (int)strcspn(names[i], "/"), names[i]);
        const sono_backend *b = sono_reg_backend(&hf_R, be);
        sono_error err = {0};
        const sono_impl_entry *e = b ? sono_reg_find(&hf_R, op, names[i], &err) : NULL;
        if (!b || !b->available || !e) {
            print_message("skip %s: %s\n", names[i], !b ? "not built" : !b->available
                                                        ? b->reason : "no such impl");
            continue;
        }
        const sono_impl *im = e->impl;
        char why[512];
        if (im->supports(im->ctx, &p, why, sizeof why))
            fail_msg("%s refuses the fixture: %s", names[i], why);
        sono_buf in, out;
        op->shapes(&p, &in, &out);
        assert_int_equal(sono_buf_alloc(&out, NULL), 0);
        in.data = mel;
        in.nbytes = NMEL * 4;
        void *st = NULL;
        if (im->setup(im->ctx, &p, &st, &err) || im->load(st, &in, &err))
            fail_msg("%s: %s", names[i], err.msg);
        assert_int_equal(im->run(st), 0);
        assert_int_equal(im->store(st, &out, &err), 0);
        im->teardown(st);
        sono_buf ref = {.dtype = SONO_F64, .ndim = 1, .shape = {NOUT}, .data = exp64,
                        .nbytes = NOUT * 8};
        sono_check c;
        double tol = op->tolerance(&p, im->growth);
        assert_int_equal(sono_check_output(&out, &ref, tol, &c, &err), 0);
        print_message("%s vs transformers float32: rel L2 %.3g (tol %.3g)\n", names[i],
                      c.rel_l2, tol);
        assert_true(c.pass);
        assert_true(c.rel_l2 > 0); /* two float32 computations: some rounding differs */
        sono_buf_free(&out);
        ran++;
    }
    assert_true(ran >= 2); /* cpu and blas are always built */
    free(mel);
    free(y32);
    free(exp64);
}

static int hf_setup(void **state)
{
    (void)state;
    const char *b = getenv("SONO_BUILD");
    char dir[1100];
    snprintf(dir, sizeof dir, "%s/plugins", b && *b ? b : "build");
    if (sono_reg_init(&hf_R, NULL))
        return -1;
    sono_reg_load_dir(&hf_R, dir);
    return sono_reg_backend(&hf_R, "cpu") ? 0 : -1;
}

static int hf_teardown(void **state)
{
    (void)state;
    sono_reg_free(&hf_R);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hf_reference),
        cmocka_unit_test(hf_impls),
    };
    return cmocka_run_group_tests(tests, hf_setup, hf_teardown);
}
