/* test_encodec_cudamem.c — cuda/encodec's device-memory figure (impls/cuda/en_mem.h, issue
 * 11) without a device: the weights counted against the reference side's layer list, the
 * plan without weights equal to setup's, a positive figure that grows with streams, and a
 * case far over an 80 GB GPU's memory that the gate (cu_supports_common) then refuses.
 * Compiles impls/common/encodec_* in (the Makefile's rule), as cuda.so does. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "en_mem.h"
#include "encodec_net.h"
#include "ops/encodec.h"
#include "params.h"

#define CM_TINY "tests/fixtures/encodec/tiny.safetensors"

static sono_params cm_params(const char *mode, const char *seconds, const char *streams)
{
    const sono_op *op = sono_op_find("codec.encodec");
    sono_params p = {0};
    sono_params_defaults(op, &p);
    const char *names[] = {"weights", "mode", "bandwidth", "seconds", "streams"};
    const char *vals[] = {CM_TINY, mode, "72", seconds, streams};
    for (int k = 0; k < 5; k++)
        for (int i = 0; i < p.count; i++)
            if (strcmp(p.v[i].name, names[k]) == 0) {
                sono_error err = {0};
                sono_param_free(&p.v[i]);
                assert_int_equal(sono_param_parse(sono_op_param(op, names[k]), vals[k],
                                                  &p.v[i], &err), 0);
            }
    return p;
}

static double cm_bytes(const char *mode, const char *seconds, const char *streams)
{
    sono_params p = cm_params(mode, seconds, streams);
    en_net *net = malloc(sizeof *net);
    char why[512];
    assert_non_null(net);
    if (en_plan_only(net, &p, cu_en_scratch_for, why, sizeof why))
        fail_msg("plan: %s", why);
    double b = cu_en_device_bytes(net);
    free(net);
    sono_params_free(&p);
    return b;
}

/* Weights: every conv's [cout][cin][k] + bias, each LSTM layer's W_ih, W_hh [4h][h] and
 * one summed bias [4h], the n_q codebooks [K][D] and their norms [K], from the float64
 * reference's layer list and config. */
static void weights_match_the_reference_graph(void **state)
{
    (void)state;
    sono_params p = cm_params("roundtrip", "0.004", "1");
    sono_enc_config c;
    sono_error err = {0};
    assert_int_equal(sono_enc_params_config(&p, 0, &c, &err), 0);
    int nq;
    assert_int_equal(sono_enc_nq(&c, 72, &nq, &err), 0);
    double want = (double)nq * c.codebook_size * (c.hidden_size + 1);
    sono_enc_layer l[SONO_ENC_MAX_LAYERS];
    for (int d = 0; d < 2; d++) {
        int n = sono_enc_graph(&c, d, l);
        for (int i = 0; i < n; i++) {
            double ci = l[i].cin, co = l[i].cout, h = ci / c.compress;
            if (l[i].kind == SONO_ENC_CONV || l[i].kind == SONO_ENC_CONVTR)
                want += ci * co * l[i].k + co;
            else if (l[i].kind == SONO_ENC_RES)
                want += ci * h * l[i].k + h + h * ci + ci +
                        (c.conv_shortcut ? ci * ci + ci : 0);
            else if (l[i].kind == SONO_ENC_LSTM)
                want += c.num_lstm_layers * (8 * ci * ci + 4 * ci);
        }
    }
    en_net *net = malloc(sizeof *net);
    char why[512];
    assert_non_null(net);
    assert_int_equal(en_plan_only(net, &p, cu_en_scratch_for, why, sizeof why), 0);
    assert_true(want > 0);
    assert_true((double)en_weight_floats(net) == want);
    free(net);
    sono_params_free(&p);
}

/* The plan without weights sizes the same buffers as setup's, for 1 and 5 streams. */
static void plan_equals_setup(void **state)
{
    (void)state;
    const char *streams[] = {"1", "5"};
    for (int k = 0; k < 2; k++) {
        sono_params p = cm_params("roundtrip", "0.01", streams[k]);
        en_net *a = malloc(sizeof *a), *b = malloc(sizeof *b);
        char why[512];
        sono_error err = {0};
        assert_true(a && b);
        assert_int_equal(en_plan_only(a, &p, cu_en_scratch_for, why, sizeof why), 0);
        assert_int_equal(en_setup(b, &p, NULL, cu_en_scratch_for, &err), 0);
        assert_true(a->act > 0 && a->act == b->act && a->nscratch == b->nscratch);
        assert_int_equal(a->batch, atoi(streams[k]));
        assert_int_equal(a->batch, b->batch);
        assert_true(en_weight_floats(a) == en_weight_floats(b));
        en_free(b);
        free(a);
        free(b);
        sono_params_free(&p);
    }
}

static void grows_with_streams(void **state)
{
    (void)state;
    const char *modes[] = {"encode", "decode", "roundtrip"};
    for (int m = 0; m < 3; m++) {
        double b1 = cm_bytes(modes[m], "1", "1"), b8 = cm_bytes(modes[m], "1", "8"),
               b64 = cm_bytes(modes[m], "1", "64");
        print_message("%s, 1 s: %.4g MB for 1 stream, %.4g for 8, %.4g for 64\n", modes[m],
                      b1 * 1e-6, b8 * 1e-6, b64 * 1e-6);
        assert_true(b1 > 0 && b8 > b1 && b64 > b8);
        /* activations scale with the streams, weights do not */
        assert_true(b64 - b8 > 7.0 * (b8 - b1) && b64 - b8 < 9.0 * (b8 - b1));
    }
    /* 1024 streams of 80 s: well past an 80 GB GPU (the gate refuses above 90 % of it);
     * one stream of 1 s far below */
    assert_true(cm_bytes("roundtrip", "80", "1024") > 80e9);
    assert_true(cm_bytes("roundtrip", "1", "1") < 1e9);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(weights_match_the_reference_graph),
        cmocka_unit_test(plan_equals_setup),
        cmocka_unit_test(grows_with_streams),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
