/* test_stream_mimi.c — codec.mimi streamed by cpu/naive on the transformers fixture model
 * (tests/data/mimi/tiny.safetensors: 12-sample code frames, window 4 over 32 transformer
 * steps): over random chunks (1 step, under a frame, past a frame) and one step at a time,
 * the streamed encode, decode and round trip equal the offline ones bit for bit (the input
 * past each chunk is NaN, so a peek would show); the stream's state does not grow with the
 * signal (the KV caches hold the window, the convs their taps); stream_shape's figures for
 * the fixture model (its frame of 12 samples at 24 kHz: 0.5 ms, 2000 frames a second). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "stream.h"
#include "stream_util.h"

#define TINY "weights=tests/data/mimi/tiny.safetensors"

static const char *const sm_modes[] = {"mode=encode", "mode=decode", "mode=roundtrip"};

static sono_params sm_p(int mode, const char *seconds)
{
    const char *kv[] = {TINY, sm_modes[mode], "n_q=3", seconds, NULL};
    return su_params("codec.mimi", kv);
}

static void sm_equal_offline(void **state)
{
    (void)state;
    const sono_impl_entry *e = su_find("codec.mimi", "cpu/naive");
    /* 190 and 229 samples: a partial last frame, padded only at the flush */
    const char *secs[] = {"seconds=0.0079166666666666666", "seconds=0.0095416666666666666"};
    for (int si = 0; si < 2; si++)
        for (int mode = 0; mode < 3; mode++) {
            sono_params p = sm_p(mode, secs[si]);
            sono_buf in, out;
            su_input(e->op, &p, &in, &out);
            su_offline(e, &p, &in, &out);
            long long ones[8] = {1, 1, 1, 1, 1, 1, 1, 1};
            for (int trial = 0; trial < 4; trial++) {
                su_stream_info info;
                float *got = su_stream(e, &p, &in, &out, 2400 + (uint64_t)trial,
                                       mode == 1 ? 1 : 12, trial == 3 ? ones : NULL, &info);
                if (memcmp(got, out.data, out.nbytes) != 0)
                    fail_msg("%s, %s, trial %d (%d pushes): stream != offline", sm_modes[mode],
                             secs[si], trial, info.pushes);
                if (mode != 0 && trial == 0) { /* audio: also the float64 reference's */
                    long long n = sono_buf_elems(&out);
                    double *ref = su_reference(e->op, &p, &in, &out);
                    assert_true(su_maxdiff(got, out.data, n) == 0);
                    assert_true(su_rel_l2(got, ref, n) <= e->op->tolerance(&p, SONO_ERR_LINEAR));
                    free(ref);
                }
                assert_true(info.pushes > 1);
                free(got);
            }
            sono_buf_free(&in);
            sono_buf_free(&out);
            sono_params_free(&p);
        }
}

/* The state for 10x the signal, one step at a time: no larger (bounded histories). */
static void sm_state_bounded(void **state)
{
    (void)state;
    const sono_impl_entry *e = su_find("codec.mimi", "cpu/naive");
    long long ones[8] = {1, 1, 1, 1, 1, 1, 1, 1};
    size_t ws[2], off[2];
    const char *secs[] = {"seconds=0.01", "seconds=0.1"};
    for (int i = 0; i < 2; i++) {
        sono_params p = sm_p(2, secs[i]);
        sono_buf in, out;
        su_input(e->op, &p, &in, &out);
        off[i] = su_offline(e, &p, &in, &out);
        su_stream_info info;
        free(su_stream(e, &p, &in, &out, 1, 12, ones, &info));
        ws[i] = info.workspace - off[i]; /* the stream's own bytes beside the offline ones */
        sono_buf_free(&in);
        sono_buf_free(&out);
        sono_params_free(&p);
    }
    print_message("stream state: %zu bytes for 0.01 s, %zu for 0.1 s\n", ws[0], ws[1]);
    assert_true(ws[0] > 0);
    assert_true(ws[1] <= ws[0]);
}

static void sm_shape(void **state)
{
    (void)state;
    const sono_op *op = sono_op_find("codec.mimi");
    sono_error err = {0};
    /* kyutai's shapes through weights=random would write 385 MB: the fixture's config
     * instead, whose frame is 12 samples at 24 kHz */
    sono_params q = sm_p(1, "seconds=0.0079166666666666666");
    sono_stream_shape ss;
    assert_int_equal(op->stream_shape(&q, &ss, &err), 0);
    assert_true(fabs(ss.algo_latency_s - 12.0 / 24000) < 1e-12);
    assert_true(fabs(ss.step_rate - 2000.0) < 1e-9);
    assert_int_equal(ss.in.outer, 3);
    assert_int_equal(ss.in.steps, 16);
    assert_int_equal(ss.out.steps, 192);
    sono_params_free(&q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sm_equal_offline),
        cmocka_unit_test(sm_state_bounded),
        cmocka_unit_test(sm_shape),
    };
    return cmocka_run_group_tests(tests, su_setup, su_teardown);
}
