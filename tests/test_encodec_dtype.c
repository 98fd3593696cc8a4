/* test_encodec_dtype.c — codec.encodec's dtype param (issue 26) without a GPU: the
 * tolerance 4 u sqrt(G) over the GEMM stages against a hand count of the 24 kHz model's
 * layers, f32 unchanged, the round trip refused at a reduced dtype with the reason, and
 * the input hook storing the encoder's signal on the dtype's grid (and not at f32). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "input.h"
#include "nndtype.h"
#include "op.h"
#include "params.h"

#include "op_params.h"

static const sono_op *op;

static sono_params params(const char *mode, const char *dtype)
{
    sono_params p = {0};
    sono_params_defaults(op, &p);
    op_param_set(op, &p, "mode", mode);
    op_param_set(op, &p, "dtype", dtype);
    return p;
}

/* EnCodec 24 kHz (ratios 8, 5, 4, 2; one residual unit a ratio; two LSTM layers). In
 * series, encoder: the first conv, per ratio a residual unit's two convs and the strided
 * conv, the LSTM's two layers, the last conv: 1 + 4 (2 + 1) + 2 + 1 = 16. Decoder: the
 * first conv, the two LSTM layers, per ratio the transposed conv and a residual unit's
 * two convs, the last conv: 1 + 2 + 4 (1 + 2) + 1 = 16. */
static void tolerance_counts_the_gemm_stages(void **s)
{
    (void)s;
    const char *dts[] = {"tf32", "bf16", "f16"};
    const double u[] = {0x1p-11, 0x1p-8, 0x1p-11};
    const char *modes[] = {"encode", "decode"};
    for (int m = 0; m < 2; m++)
        for (int t = 0; t < 3; t++) {
            sono_params p = params(modes[m], dts[t]);
            double want = 4.0 * u[t] * sqrt(16.0);
            op_near(op->tolerance(&p, SONO_ERR_LINEAR), 3e-5 + want, 1e-15);
            op_near(op->tolerance(&p, SONO_ERR_LOG), 1e-5 + want, 1e-15);
            sono_params_free(&p);
        }
    sono_params p = params("encode", "f32");
    op_near(op->tolerance(&p, SONO_ERR_LINEAR), 3e-5, 0);
    op_near(op->tolerance(&p, SONO_ERR_LOG), 1e-5, 0);
    sono_params_free(&p);
}

static void roundtrip_refused_at_reduced_dtype(void **s)
{
    (void)s;
    sono_params p = params("roundtrip", "bf16");
    op_param_set(op, &p, "weights", "tests/fixtures/encodec/tiny.safetensors");
    op_param_set(op, &p, "bandwidth", "72");
    sono_error err = {0};
    assert_int_equal(op->validate(&p, &err), SONO_EINVAL);
    assert_non_null(strstr(err.msg, "dtype=bf16 takes mode encode or decode"));
    op_param_set(op, &p, "mode", "encode");
    err = (sono_error){0};
    assert_int_equal(op->validate(&p, &err), 0);
    op_param_set(op, &p, "mode", "roundtrip");
    op_param_set(op, &p, "dtype", "f32");
    assert_int_equal(op->validate(&p, &err), 0);
    sono_params_free(&p);
}

/* The encoder's input in dtype: every sample unchanged by rounding to the dtype again,
 * and at f32 some sample off the bf16 grid (the noise is not on it by chance). */
static void input_is_stored_in_dtype(void **s)
{
    (void)s;
    const char *dts[] = {"f32", "tf32", "bf16", "f16"};
    for (int t = 0; t < 4; t++) {
        sono_params p = params("encode", dts[t]);
        op_param_set(op, &p, "weights", "tests/fixtures/encodec/tiny.safetensors");
        op_param_set(op, &p, "bandwidth", "72");
        op_param_set(op, &p, "seconds", "0.005");
        sono_error err = {0};
        assert_int_equal(op->validate(&p, &err), 0);
        sono_buf in, out;
        op->shapes(&p, &in, &out);
        sono_input_spec spec;
        assert_int_equal(sono_input_parse("noise", ".", &spec, &err), 0);
        assert_int_equal(sono_buf_alloc(&in, &err), 0);
        assert_int_equal(op->input(&p, &spec, op->rate(&p), &in, &err), 0);
        const float *x = in.data;
        long long n = sono_buf_elems(&in), off_bf16 = 0;
        sono_nn_dtype d = sono_nn_dtype_get(&p);
        for (long long i = 0; i < n; i++) {
            assert_true(sono_nn_round(x[i], d) == x[i]);
            off_bf16 += sono_nn_round(x[i], SONO_NN_BF16) != x[i];
        }
        if (t == 0)
            assert_true(off_bf16 > 0);
        sono_buf_free(&in);
        sono_params_free(&p);
    }
}

int main(void)
{
    op = sono_op_find("codec.encodec");
    if (!op)
        return 1;
    const struct CMUnitTest t[] = {
        cmocka_unit_test(tolerance_counts_the_gemm_stages),
        cmocka_unit_test(roundtrip_refused_at_reduced_dtype),
        cmocka_unit_test(input_is_stored_in_dtype),
    };
    return cmocka_run_group_tests(t, NULL, NULL);
}
