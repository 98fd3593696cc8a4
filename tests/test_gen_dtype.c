/* test_gen_dtype.c — the dtype param of vocoder.hifigan and wavenet.stack (issue 26)
 * without a GPU: each tolerance's reduced-dtype term 4 u sqrt(G) against a hand count of
 * the GEMM stages in series, f32 left at the float32 formula, the input hooks storing the
 * network's input on the dtype's grid (and not at f32), the param refusing other dtypes,
 * and the impls' supports(): CPU rungs accept every dtype, the GPU and py ones refuse. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "skip_util.h"

#include "buf.h"
#include "input.h"
#include "nndtype.h"
#include "op.h"
#include "params.h"

#include "op_params.h"
#include "registry.h"

static char gd_cache[256];

static const char *const dts[] = {"tf32", "bf16", "f16"};
static const double units[] = {0x1p-11, 0x1p-8, 0x1p-11}; /* 2^-(significand bits - 1) */

/* op's tolerance at f32 is f32_lin / f32_log (both growths); at each reduced dtype it is
 * that plus 4 u sqrt(G). */
static void tol_is(const sono_op *op, const char *const *kv, double f32_lin, double f32_log,
                   double G)
{
    sono_params p = op_params(op, kv);
    op_param_set(op, &p, "dtype", "f32");
    op_near(op->tolerance(&p, SONO_ERR_LINEAR), f32_lin, 1e-12 * f32_lin);
    op_near(op->tolerance(&p, SONO_ERR_LOG), f32_log, 1e-12 * f32_log);
    for (int t = 0; t < 3; t++) {
        op_param_set(op, &p, "dtype", dts[t]);
        double want = 4.0 * units[t] * sqrt(G);
        op_near(op->tolerance(&p, SONO_ERR_LINEAR), f32_lin + want, 1e-15);
        op_near(op->tolerance(&p, SONO_ERR_LOG), f32_log + want, 1e-15);
    }
    sono_params_free(&p);
}

/* HiFi-GAN (hifigan.h): in series, conv_pre; per upsample stage (four) the transposed conv
 * and one resblock chain (the MRF's three resblocks run side by side and are averaged, so
 * one chain is the depth): three dilations, conv1 then conv2 each, six convs; conv_post.
 * G = 1 + 4 (1 + 6) + 1 = 30, whatever the channels.
 * The float32 term, 2 (4 linear, 2 log) eps sqrt(K), K = 7 * 80 + sum over the stages of
 * C_in K_i / r_i + 6 * 11 C_i + 7 C_3, summed here by hand:
 *   v1 (ch 512): 560 + (1024 + 16896) + (512 + 8448) + (256 + 4224) + (128 + 2112) + 224
 *                = 34384
 *   custom ch 32: 560 + (64 + 1056) + (32 + 528) + (16 + 264) + (8 + 132) + 14 = 2674 */
static void hifigan_tolerance_counts_the_gemm_stages(void **s)
{
    (void)s;
    const sono_op *op = sono_op_find("vocoder.hifigan");
    assert_non_null(op);
    double e = FLT_EPSILON;
    tol_is(op, NULL, 8 * e * sqrt(34384.0), 4 * e * sqrt(34384.0), 30);
    tol_is(op, (const char *const[]){"config", "custom", "channels", "32", "frames", "20", NULL},
           8 * e * sqrt(2674.0), 4 * e * sqrt(2674.0), 30);
}

/* WaveNet (wavenet.h): the deepest chain runs from the input 1x1 to the last layer's
 * skip: the input 1x1, then per layer the gates' dilated conv (filter, gate and the
 * conditioning in one sum) and the residual and skip 1x1s (both read the same gated
 * activation: one GEMM); no output 1x1 (the head is not part of the op).
 *   default, 3 stacks of a 10-layer cycle: 30 layers, G = 1 + 2 * 30 = 61
 *   2 stacks of 4 (8 layers): G = 1 + 2 * 8 = 17
 * The float32 term, (4 linear, 2 log) eps sqrt(L (4R + Cc)): default R 64, Cc 0:
 * 30 * 256 = 7680; R 16, Cc 4: 8 * 68 = 544. */
static void wavenet_tolerance_counts_the_gemm_stages(void **s)
{
    (void)s;
    const sono_op *op = sono_op_find("wavenet.stack");
    assert_non_null(op);
    double e = FLT_EPSILON;
    tol_is(op, NULL, 4 * e * sqrt(7680.0), 2 * e * sqrt(7680.0), 61);
    tol_is(op, (const char *const[]){"channels", "16", "stacks", "2", "cycle", "4", "cond", "4",
                                     "seconds", "0.02", NULL},
           4 * e * sqrt(544.0), 2 * e * sqrt(544.0), 17);
}

/* op's input hook on noise at dtype dt into a fresh *in. */
static void make_input(const sono_op *op, const char *const *kv, const char *dt, sono_buf *in)
{
    sono_params p = op_params(op, kv);
    op_param_set(op, &p, "dtype", dt);
    sono_error err = {0};
    sono_buf out;
    op->shapes(&p, in, &out);
    sono_input_spec spec;
    assert_int_equal(sono_input_parse("noise", ".", &spec, &err), 0);
    assert_int_equal(sono_buf_alloc(in, &err), 0);
    if (op->input(&p, &spec, op->rate(&p), in, &err))
        fail_msg("input: %s", err.msg);
    sono_params_free(&p);
}

/* Values [lo, hi) of x at f32 and of y at dtype t: every y on t's grid and equal to x
 * rounded (the hook rounds the values it made at f32, nothing else changes), and some x
 * off the bf16 grid (the region is not on it by chance, so the check above means something). */
static void region_rounded(const float *x, const float *y, long long lo, long long hi,
                           sono_nn_dtype t, const char *what)
{
    long long off = 0;
    for (long long i = lo; i < hi; i++) {
        if (sono_nn_round(y[i], t) != y[i] || y[i] != sono_nn_round(x[i], t))
            fail_msg("%s[%lld] in %s: %a from %a", what, i - lo, sono_nn_dtype_name(t),
                     (double)y[i], (double)x[i]);
        off += sono_nn_round(x[i], SONO_NN_BF16) != x[i];
    }
    if (!off)
        fail_msg("%s at f32: every value on the bf16 grid", what);
}

static void hifigan_mel_is_stored_in_dtype(void **s)
{
    (void)s;
    const sono_op *op = sono_op_find("vocoder.hifigan");
    const char *const kv[] = {"config", "custom", "channels", "32", "frames", "8", NULL};
    sono_buf x, y;
    make_input(op, kv, "f32", &x);
    assert_int_equal(sono_buf_elems(&x), 80 * 8);
    const sono_nn_dtype ts[] = {SONO_NN_TF32, SONO_NN_BF16, SONO_NN_F16};
    for (int t = 0; t < 3; t++) {
        make_input(op, kv, dts[t], &y);
        region_rounded(x.data, y.data, 0, sono_buf_elems(&x), ts[t], "mel");
        sono_buf_free(&y);
    }
    sono_buf_free(&x);
}

/* The packed input (wavenet.h): the signal row, the conditioning rows, then the weights
 * and biases; every region in dtype. */
static void wavenet_input_is_stored_in_dtype(void **s)
{
    (void)s;
    const sono_op *op = sono_op_find("wavenet.stack");
    const char *const kv[] = {"channels", "8", "stacks", "1", "cycle", "3", "cond", "2",
                              "seconds", "0.05", NULL};
    const long long T = 800, nx = 3 * T; /* 0.05 s at 16 kHz; rows 1 + cond */
    sono_buf x, y;
    make_input(op, kv, "f32", &x);
    long long n = sono_buf_elems(&x);
    assert_true(n > nx);
    const sono_nn_dtype ts[] = {SONO_NN_TF32, SONO_NN_BF16, SONO_NN_F16};
    for (int t = 0; t < 3; t++) {
        make_input(op, kv, dts[t], &y);
        assert_int_equal(sono_buf_elems(&y), n);
        region_rounded(x.data, y.data, 0, T, ts[t], "signal");
        region_rounded(x.data, y.data, T, nx, ts[t], "conditioning");
        region_rounded(x.data, y.data, nx, n, ts[t], "weights");
        sono_buf_free(&y);
    }
    sono_buf_free(&x);
}

static void dtype_param_refuses_others(void **s)
{
    (void)s;
    const char *ops[] = {"vocoder.hifigan", "wavenet.stack"};
    for (int i = 0; i < 2; i++) {
        const sono_param_spec *sp = sono_op_param(sono_op_find(ops[i]), "dtype");
        assert_non_null(sp);
        assert_true(sp->late); /* absent from f32 case ids */
        sono_param v;
        sono_error err = {0};
        assert_int_not_equal(sono_param_parse(sp, "fp8", &v, &err), 0);
        if (!strstr(err.msg, "f32|tf32|bf16|f16"))
            fail_msg("%s: '%s'", ops[i], err.msg);
        const char *ok[] = {"f32", "tf32", "bf16", "f16"};
        for (int k = 0; k < 4; k++) {
            assert_int_equal(sono_param_parse(sp, ok[k], &v, &err), 0);
            sono_param_free(&v);
        }
    }
}

/* Every impl of the two ops the plugins register: cpu/ and blas/ rungs accept bf16 (they
 * compute float32 on the rounded values and say so in describe, which test_dtype's suite
 * checks); cuda/ ones refuse with "float32 only" (registered even without a GPU: the
 * dtype gate comes first); py/ ones refuse, naming the dtype where they take f32. */
static void impls_gate_dtype(void **s)
{
    (void)s;
    const char *b = getenv("SONO_BUILD");
    char dir[1100];
    snprintf(dir, sizeof dir, "%s/plugins", b && *b ? b : "build");
    sono_reg R;
    assert_int_equal(sono_reg_init(&R, NULL), 0);
    sono_reg_load_dir(&R, dir);
    const char *ops[] = {"vocoder.hifigan", "wavenet.stack"};
    const char *const small[2][11] = {
        {"config", "custom", "channels", "16", "frames", "4", NULL},
        {"channels", "8", "stacks", "1", "cycle", "2", "seconds", "0.01", NULL}};
    int cpu = 0;
    for (int k = 0; k < 2; k++) {
        const sono_op *op = sono_op_find(ops[k]);
        sono_params f = op_params(op, small[k]), h = op_params(op, small[k]);
        op_param_set(op, &h, "dtype", "bf16");
        sono_error err = {0};
        if (op->validate(&f, &err)) /* hifigan: writes the random weights supports() reads */
            fail_msg("%s validate: %s", ops[k], err.msg);
        for (int i = 0; i < R.nimpls; i++) {
            const sono_impl_entry *e = &R.impls[i];
            if (e->op != op)
                continue;
            char why[512] = "", w32[512] = "";
            int rc = e->impl->supports(e->impl->ctx, &h, why, sizeof why);
            int rc32 = e->impl->supports(e->impl->ctx, &f, w32, sizeof w32);
            print_message("%s %s: bf16 %s%s\n", ops[k], e->full, rc ? "refused: " : "ok",
                          rc ? why : "");
            if (!strncmp(e->full, "cpu/", 4) || !strncmp(e->full, "blas/", 5)) {
                if (rc || rc32)
                    fail_msg("%s %s refuses: %s", ops[k], e->full, rc ? why : w32);
                cpu++;
            } else if (!strncmp(e->full, "cuda/", 5)) {
                assert_int_equal(rc, SONO_EUNSUPPORTED);
                if (!strstr(why, "dtype=bf16") || !strstr(why, "float32 only"))
                    fail_msg("%s %s: '%s'", ops[k], e->full, why);
                assert_null(strstr(w32, "dtype")); /* f32 passes the gate */
            } else if (!strncmp(e->full, "py/", 3)) {
                assert_int_equal(rc, SONO_EUNSUPPORTED);
                if (!rc32 && !strstr(why, "dtype=bf16"))
                    fail_msg("%s %s: '%s'", ops[k], e->full, why);
            }
        }
        sono_params_free(&f);
        sono_params_free(&h);
    }
    assert_int_equal(cpu, 4); /* cpu/naive and blas for each op */
    sono_reg_free(&R);
}

static int gd_setup(void **state)
{
    (void)state;
    snprintf(gd_cache, sizeof gd_cache, "/tmp/sono-gen-dtype-XXXXXX");
    if (!mkdtemp(gd_cache))
        return -1;
    setenv("XDG_CACHE_HOME", gd_cache, 1); /* the random HiFi-GAN weights go here */
    return 0;
}

static int gd_teardown(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", gd_cache);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest t[] = {
        cmocka_unit_test(hifigan_tolerance_counts_the_gemm_stages),
        cmocka_unit_test(wavenet_tolerance_counts_the_gemm_stages),
        cmocka_unit_test(hifigan_mel_is_stored_in_dtype),
        cmocka_unit_test(wavenet_input_is_stored_in_dtype),
        cmocka_unit_test(dtype_param_refuses_others),
        cmocka_unit_test(impls_gate_dtype),
    };
    return cmocka_run_group_tests(t, gd_setup, gd_teardown);
}
