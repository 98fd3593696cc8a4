/* test_whisper_fixture.c — whisper.encoder against transformers' WhisperEncoder on the
 * committed fixture (tests/fixtures/whisper_fixture.py: d 32, 2 layers, 2 heads, 80 mels,
 * 100 frames, seeded weights under model.encoder.*): the float64 reference against the
 * module run in float64 (agreement to ~1e-12 shows they compute the same function), and
 * every impl of the real plugins ($SONO_BUILD/plugins: cpu/naive, blas/whisper, and
 * cuda/whisper where a GPU is) on the fixture's mel against the module's float32 output,
 * within the op's tolerance; an impl whose backend cannot run here is reported skipped. */
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
#include "whisper.h"

#define FIX "tests/data/whisper/"

static sono_reg wf_R;

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
    sono_params p = {.count = 7,
                     .v = {{.name = "model", .type = SONO_PSTR, .s = "custom"},
                           {.name = "d_model", .type = SONO_PINT, .i = 32},
                           {.name = "heads", .type = SONO_PINT, .i = 2},
                           {.name = "layers", .type = SONO_PINT, .i = 2},
                           {.name = "frames", .type = SONO_PINT, .i = 100},
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

static void wf_reference(void **state)
{
    (void)state;
    const sono_op *op = sono_op_find("whisper.encoder");
    assert_non_null(op);
    sono_params p = fixture_params();
    sono_error err = {0};
    if (op->validate(&p, &err))
        fail_msg("validate: %s", err.msg);
    sono_buf in, out;
    op->shapes(&p, &in, &out);
    assert_int_equal(in.shape[0], 80);
    assert_int_equal(in.shape[1], 100);
    assert_int_equal(out.shape[0], 50);
    assert_int_equal(out.shape[1], 32);
    float *mel = npy_load(FIX "mel.npy", "'<f4'", 8000, 4);
    double *y64 = npy_load(FIX "expected64.npy", "'<f8'", 1600, 8);
    float *y32 = npy_load(FIX "expected.npy", "'<f4'", 1600, 4);
    sono_buf ref = out;
    ref.dtype = SONO_F64;
    in.data = mel;
    in.nbytes = 8000 * 4;
    assert_int_equal(sono_buf_alloc(&ref, NULL), 0);
    if (op->reference(&p, &in, &ref, &err))
        fail_msg("reference: %s", err.msg);
    double r64 = rel_l2(NULL, ref.data, y64, 1600), r32 = rel_l2(y32, NULL, y64, 1600);
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

static void wf_impls(void **state)
{
    (void)state;
    const char *names[] = {"cpu/naive", "blas/whisper", "cuda/whisper"};
    const sono_op *op = sono_op_find("whisper.encoder");
    sono_params p = fixture_params();
    float *mel = npy_load(FIX "mel.npy", "'<f4'", 8000, 4);
    float *y32 = npy_load(FIX "expected.npy", "'<f4'", 1600, 4);
    double *exp64 = malloc(1600 * sizeof *exp64);
    for (int i = 0; i < 1600; i++)
        exp64[i] = y32[i];
    int ran = 0;
    for (int i = 0; i < 3; i++) {
        char be[16];
        snprintf(be, sizeof be, "%.*s", (int)strcspn(names[i], "/"), names[i]);
        const sono_backend *b = sono_reg_backend(&wf_R, be);
        if (!b || !b->available) {
            print_message("skip %s: %s\n", names[i], b ? b->reason : "not built");
            continue;
        }
        sono_error err = {0};
        const sono_impl_entry *e = sono_reg_find(&wf_R, op, names[i], &err);
        if (!e)
            fail_msg("%s: %s", names[i], err.msg);
        const sono_impl *im = e->impl;
        char why[512];
        if (im->supports(im->ctx, &p, why, sizeof why))
            fail_msg("%s refuses the fixture: %s", names[i], why);
        sono_buf in, out;
        op->shapes(&p, &in, &out);
        assert_int_equal(sono_buf_alloc(&out, NULL), 0);
        in.data = mel;
        in.nbytes = 8000 * 4;
        void *st = NULL;
        if (im->setup(im->ctx, &p, &st, &err) || im->load(st, &in, &err))
            fail_msg("%s: %s", names[i], err.msg);
        assert_int_equal(im->run(st), 0);
        assert_int_equal(im->store(st, &out, &err), 0);
        im->teardown(st);
        sono_buf ref = {.dtype = SONO_F64, .ndim = 2, .shape = {50, 32}, .data = exp64,
                        .nbytes = 1600 * 8};
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

static int wf_setup(void **state)
{
    (void)state;
    const char *b = getenv("SONO_BUILD");
    char dir[1100];
    snprintf(dir, sizeof dir, "%s/plugins", b && *b ? b : "build");
    if (sono_reg_init(&wf_R, NULL))
        return -1;
    sono_reg_load_dir(&wf_R, dir);
    return sono_reg_backend(&wf_R, "cpu") ? 0 : -1;
}

static int wf_teardown(void **state)
{
    (void)state;
    sono_reg_free(&wf_R);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(wf_reference),
        cmocka_unit_test(wf_impls),
    };
    return cmocka_run_group_tests(tests, wf_setup, wf_teardown);
}
