/* test_models_dtype.c — the dtype param of whisper.encoder and wav2vec2.features (issue
 * 26) without a GPU: the tolerance's reduced-dtype term 4 u sqrt(G) against a hand count
 * of the GEMM stages in series (whisper tiny, 4 blocks: the stem's 2 convs + 6 a block =
 * 26; wav2vec2's 7 conv layers), f32 unchanged by it, and whisper's input hook storing the
 * log-mel on the dtype's grid (and not at f32). */
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

/* the reduced-dtype term of op's tolerance: tol(dtype) - tol(f32), each growth */
static void dtype_term(const sono_op *o, double G)
{
    const char *dts[] = {"tf32", "bf16", "f16"};
    const double u[] = {0x1p-11, 0x1p-8, 0x1p-11};
    const sono_op *keep = op;
    op = o;
    sono_params f = {0};
    sono_params_defaults(op, &f);
    for (int g = 0; g < 2; g++) {
        double f32 = op->tolerance(&f, (sono_err_growth)g);
        assert_true(f32 > 0 && f32 < 1e-2); /* float32's own */
        for (int t = 0; t < 3; t++) {
            sono_params p = {0};
            sono_params_defaults(op, &p);
            op_param_set(op, &p, "dtype", dts[t]);
            double got = op->tolerance(&p, (sono_err_growth)g) - f32,
                   want = 4.0 * u[t] * sqrt(G);
            if (fabs(got - want) > 1e-12)
                fail_msg("%s %s: %.17g, want %.17g", op->name, dts[t], got, want);
            sono_params_free(&p);
        }
    }
    sono_params_free(&f);
    op = keep;
}

static void w2v_tolerance_counts_the_layers(void **s)
{
    (void)s;
    dtype_term(sono_op_find("wav2vec2.features"), 7.0);
}

static void tolerance_counts_the_gemm_stages(void **s)
{
    (void)s;
    dtype_term(op, 2.0 + 6.0 * 4);
}

static void input_is_stored_in_dtype(void **s)
{
    (void)s;
    const char *dts[] = {"f32", "tf32", "bf16", "f16"};
    for (int t = 0; t < 4; t++) {
        sono_params p = {0};
        sono_params_defaults(op, &p);
        op_param_set(op, &p, "model", "custom");
        op_param_set(op, &p, "d_model", "16");
        op_param_set(op, &p, "heads", "2");
        op_param_set(op, &p, "layers", "1");
        op_param_set(op, &p, "frames", "40");
        op_param_set(op, &p, "dtype", dts[t]);
        sono_error err = {0};
        if (op->validate(&p, &err))
            fail_msg("validate: %s", err.msg);
        sono_buf in, out;
        op->shapes(&p, &in, &out);
        sono_input_spec spec;
        assert_int_equal(sono_input_parse("noise", ".", &spec, &err), 0);
        assert_int_equal(sono_buf_alloc(&in, &err), 0);
        if (op->input(&p, &spec, op->rate(&p), &in, &err))
            fail_msg("input: %s", err.msg);
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
    op = sono_op_find("whisper.encoder");
    if (!op)
        return 1;
    const struct CMUnitTest t[] = {
        cmocka_unit_test(tolerance_counts_the_gemm_stages),
        cmocka_unit_test(input_is_stored_in_dtype),
        cmocka_unit_test(w2v_tolerance_counts_the_layers),
    };
    return cmocka_run_group_tests(t, NULL, NULL);
}
