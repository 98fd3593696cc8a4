/* test_mimi_fixture.c — codec.mimi against transformers' MimiModel on the committed fixture
 * (tests/fixtures/mimi_fixture.py: hidden 16, ratios [3, 2], 2 layers, window 4, 4
 * codebooks of 16 x 8, seeded weights, 190 samples, n_q 3): the float64 reference's codes
 * equal the module's float64 codes and its decode matches the float64 module to ~1e-12
 * (they compute the same function); every built impl's codes pass the op's check against
 * the module's codes and its decode of them is within the op's tolerance of the float32
 * module's. The files are committed; a missing one skips with the reason. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "buf.h"
#include "check.h"
#include "mimi.h"
#include "op.h"
#include "registry.h"

#define FIX "tests/data/mimi/"
#define NS 190
#define NQ 3
#define NF 16
#define NOUT 192

static sono_reg mf_R;

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
    assert_int_equal(fgetc(f), EOF);
    fclose(f);
    free(hdr);
    return d;
}

static sono_params fixture_params(const char *mode)
{
    sono_params p = {.count = 5,
                     .v = {{.name = "mode", .type = SONO_PSTR, .s = mode},
                           {.name = "n_q", .type = SONO_PINT, .i = NQ},
                           {.name = "seconds", .type = SONO_PREAL, .r = NS / 24000.0},
                           {.name = "weights", .type = SONO_PSTR, .s = FIX "tiny.safetensors"},
                           {.name = "threads", .type = SONO_PINT, .i = 1}}};
    return p;
}

static int files_absent(void)
{
    const char *f[] = {"tiny.safetensors", "input.npy", "codes.npy", "decoded.npy",
                       "decoded64.npy"};
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        char p[256];
        snprintf(p, sizeof p, FIX "%s", f[i]);
        if (access(p, R_OK) != 0) {
            print_message("skip: %s absent (run tests/fixtures/mimi_fixture.py)\n", p);
            return 1;
        }
    }
    return 0;
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

static void mf_reference(void **state)
{
    (void)state;
    if (files_absent())
        skip();
    const sono_op *op = sono_op_find("codec.mimi");
    assert_non_null(op);
    sono_error err = {0};
    float *x = npy_load(FIX "input.npy", "'<f4'", NS, 4);
    int *codes = npy_load(FIX "codes.npy", "'<i4'", NQ * NF, 4);
    double *d64 = npy_load(FIX "decoded64.npy", "'<f8'", NOUT, 8);
    float *d32 = npy_load(FIX "decoded.npy", "'<f4'", NOUT, 4);
    /* encode */
    sono_params p = fixture_params("encode");
    if (op->validate(&p, &err))
        fail_msg("validate: %s", err.msg);
    sono_buf in, out;
    op->shapes(&p, &in, &out);
    assert_int_equal(in.shape[0], NS);
    assert_int_equal(out.shape[0], NQ);
    assert_int_equal(out.shape[1], NF);
    sono_buf ref = out;
    in.data = x;
    in.nbytes = NS * 4;
    assert_int_equal(sono_buf_alloc(&ref, NULL), 0);
    if (op->reference(&p, &in, &ref, &err))
        fail_msg("reference: %s", err.msg);
    assert_memory_equal(ref.data, codes, NQ * NF * sizeof(int));
    sono_buf_free(&ref);
    /* decode */
    p = fixture_params("decode");
    op->shapes(&p, &in, &out);
    assert_int_equal(out.shape[0], NOUT);
    in.data = codes;
    in.nbytes = NQ * NF * 4;
    ref = out;
    ref.dtype = SONO_F64;
    assert_int_equal(sono_buf_alloc(&ref, NULL), 0);
    if (op->reference(&p, &in, &ref, &err))
        fail_msg("reference: %s", err.msg);
    double r64 = rel_l2(NULL, ref.data, d64, NOUT), r32 = rel_l2(d32, NULL, d64, NOUT);
    print_message("reference decode vs transformers float64: rel L2 %.3g; transformers "
                  "float32 vs float64: %.3g (tol %.3g)\n", r64, r32,
                  op->tolerance(&p, SONO_ERR_LOG));
    assert_true(r64 < 1e-12);
    /* the module's own float32 run passes the op's check: the tolerance is not too tight */
    assert_true(r32 > 0 && r32 <= op->tolerance(&p, SONO_ERR_LOG));
    sono_buf_free(&ref);
    free(x);
    free(codes);
    free(d64);
    free(d32);
}

/* One impl on one mode of the fixture; 0 when its backend is not here. */
static int run_impl(const char *name, const char *mode, const void *indata, size_t inbytes,
                    sono_buf *out)
{
    char be[16];
    snprintf(be, sizeof be, "%.*s", (int)strcspn(name, "/"), name);
    const sono_backend *b = sono_reg_backend(&mf_R, be);
    if (!b || !b->available) {
        print_message("skip %s: %s\n", name, b ? b->reason : "not built");
        return 0;
    }
    const sono_op *op = sono_op_find("codec.mimi");
    sono_params p = fixture_params(mode);
    sono_error err = {0};
    const sono_impl_entry *e = sono_reg_find(&mf_R, op, name, &err);
    if (!e) {
        print_message("skip %s: %s\n", name, err.msg);
        return 0;
    }
    const sono_impl *im = e->impl;
    char why[512];
    if (im->supports(im->ctx, &p, why, sizeof why)) {
        print_message("skip %s: %s\n", name, why);
        return 0;
    }
    sono_buf in;
    op->shapes(&p, &in, out);
    assert_int_equal(sono_buf_alloc(out, NULL), 0);
    in.data = (void *)indata;
    in.nbytes = inbytes;
    void *st = NULL;
    if (im->setup(im->ctx, &p, &st, &err) || im->load(st, &in, &err))
        fail_msg("%s: %s", name, err.msg);
    assert_int_equal(im->run(st), 0);
    assert_int_equal(im->store(st, out, &err), 0);
    im->teardown(st);
    return 1;
}

static void mf_impls(void **state)
{
    (void)state;
    if (files_absent())
        skip();
    const char *names[] = {"cpu/naive", "blas/mimi", "cuda/mimi"};
    const sono_op *op = sono_op_find("codec.mimi");
    float *x = npy_load(FIX "input.npy", "'<f4'", NS, 4);
    int *codes = npy_load(FIX "codes.npy", "'<i4'", NQ * NF, 4);
    float *d32 = npy_load(FIX "decoded.npy", "'<f4'", NOUT, 4);
    double *exp64 = malloc(NOUT * sizeof *exp64);
    for (int i = 0; i < NOUT; i++)
        exp64[i] = d32[i];
    int ran = 0;
    for (int i = 0; i < 3; i++) {
        sono_buf out;
        if (!run_impl(names[i], "encode", x, NS * 4, &out))
            continue;
        sono_params p = fixture_params("encode");
        sono_buf in = {.dtype = SONO_F32, .ndim = 1, .shape = {NS}, .data = x, .nbytes = NS * 4};
        sono_buf ref = {.dtype = SONO_I32, .ndim = 2, .shape = {NQ, NF}, .data = codes,
                        .nbytes = NQ * NF * 4};
        sono_check c;
        sono_error err = {0};
        if (op->check(&p, &in, &out, &ref, op->tolerance(&p, SONO_ERR_LINEAR), &c, &err))
            fail_msg("check: %s", err.msg);
        print_message("%s encode vs transformers' codes: %s\n", names[i], c.detail);
        assert_true(c.pass);
        sono_buf_free(&out);
        assert_int_equal(run_impl(names[i], "decode", codes, NQ * NF * 4, &out), 1);
        p = fixture_params("decode");
        sono_buf r2 = {.dtype = SONO_F64, .ndim = 1, .shape = {NOUT}, .data = exp64,
                       .nbytes = NOUT * 8};
        double tol = op->tolerance(&p, SONO_ERR_LINEAR);
        assert_int_equal(sono_check_output(&out, &r2, tol, &c, &err), 0);
        print_message("%s decode vs transformers float32: rel L2 %.3g (tol %.3g)\n",
                      names[i], c.rel_l2, tol);
        assert_true(c.pass);
        assert_true(c.rel_l2 > 0); /* two float32 computations: some rounding differs */
        sono_buf_free(&out);
        ran++;
    }
    assert_true(ran >= 1); /* cpu is always built */
    free(x);
    free(codes);
    free(d32);
    free(exp64);
}

static int mf_setup(void **state)
{
    (void)state;
    const char *b = getenv("SONO_BUILD");
    char dir[1100];
    snprintf(dir, sizeof dir, "%s/plugins", b && *b ? b : "build");
    if (sono_reg_init(&mf_R, NULL))
        return -1;
    sono_reg_load_dir(&mf_R, dir);
    return sono_reg_backend(&mf_R, "cpu") ? 0 : -1;
}

static int mf_teardown(void **state)
{
    (void)state;
    sono_reg_free(&mf_R);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(mf_reference),
        cmocka_unit_test(mf_impls),
    };
    return cmocka_run_group_tests(tests, mf_setup, mf_teardown);
}
