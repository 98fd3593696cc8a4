/* test_soundstream_ref.c — codec.soundstream's reference side (issue 24): the float64
 * EnCodec network on SoundStream's configuration (no LSTM, identity skips, dilations
 * 1, 3, 9) against PyTorch's EncodecModel built the same way (tests/fixtures/soundstream/,
 * written by make_soundstream_fixture.py), and SoundStream's 24 kHz config: hop, frame rate,
 * stages per bandwidth, the random weights' shapes. */
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

#include "encodec_weights.h"
#include "ops/encodec.h"
#include "ops/ref/st64.h"

#define FX_DIR "tests/fixtures/soundstream"

static double *fx_read(const sono_st *io, const char *name, long long *n, long long *rows)
{
    sono_error err = {0};
    double *v = NULL;
    for (long long r = 1; r <= 8 && !v; r++)
        for (long long c = 1; c <= 400 && !v; c++) {
            long long s2[2] = {r, c};
            if (sono_st_read(io, name, 2, s2, &v, &err) == 0) {
                *n = c;
                *rows = r;
            }
        }
    for (long long c = 1; c <= 400 && !v; c++) {
        long long s1[1] = {c};
        if (sono_st_read(io, name, 1, s1, &v, &err) == 0) {
            *n = c;
            *rows = 1;
        }
    }
    if (!v)
        fail_msg("fixture tensor %s not found: %s", name, err.msg);
    return v;
}

static double rel_l2(const double *a, const double *b, long long n)
{
    double e = 0, r = 0;
    for (long long i = 0; i < n; i++) {
        e += (a[i] - b[i]) * (a[i] - b[i]);
        r += b[i] * b[i];
    }
    return sqrt(e / r);
}

/* PyTorch ran the model in float64 on the float32 weights: both sides compute the same
 * function in double, so codes agree exactly and audio to the float32 rounding of the
 * stored values (rel 6e-8); 1e-5 leaves room for the two sides' different summation
 * orders over ~10 layers of <= 64-term sums (1e-14 each), and a wrong LSTM reading (y = 2x
 * instead of x, the bug this fixture catches) is off by O(1). */
static void fixture_matches_pytorch(void **state)
{
    (void)state;
    sono_error err = {0};
    sono_enc64 *m = NULL;
    sono_st *io = NULL;
    if (sono_enc64_load(FX_DIR "/tiny.safetensors", &m, &err))
        fail_msg("%s", err.msg);
    if (sono_st_open(FX_DIR "/tiny_io.safetensors", &io, &err))
        fail_msg("%s", err.msg);
    const sono_enc_config *c = sono_enc64_config(m);
    assert_int_equal(c->hop, 8);
    assert_int_equal(c->num_lstm_layers, 0);
    assert_int_equal(c->conv_shortcut, 0);
    assert_int_equal(c->num_quantizers, 3);
    const char *inputs[] = {"long", "short"};
    const double bws[] = {30, 60, 90};
    int compared = 0;
    double worst = 0;
    for (int i = 0; i < 2; i++) {
        char name[64];
        long long n, rows;
        snprintf(name, sizeof name, "input_%s", inputs[i]);
        double *x = fx_read(io, name, &n, &rows);
        double *emb = NULL;
        long long frames;
        if (sono_enc64_encoder(m, x, n, &emb, &frames, &err))
            fail_msg("%s", err.msg);
        assert_int_equal(frames, (n + 7) / 8);
        for (int b = 0; b < 3; b++) {
            int nq;
            assert_int_equal(sono_enc_nq(c, bws[b], &nq, &err), 0);
            assert_int_equal(nq, b + 1); /* 30 kbps per stage: 10 bits x 3000 frames/s */
            long long fn, frows;
            snprintf(name, sizeof name, "codes_%s_bw%d", inputs[i], (int)bws[b]);
            double *want = fx_read(io, name, &fn, &frows);
            assert_int_equal(frows, nq);
            assert_int_equal(fn, frames);
            int *codes = malloc((size_t)(nq * frames) * sizeof *codes);
            sono_enc64_quantize(m, emb, frames, nq, codes);
            for (long long k = 0; k < nq * frames; k++)
                if (codes[k] != (int)want[k])
                    fail_msg("%s: code %lld is %d, PyTorch %d", name, k, codes[k],
                             (int)want[k]);
            double *audio = NULL;
            if (sono_enc64_decode(m, codes, nq, frames, &audio, &err))
                fail_msg("%s", err.msg);
            long long an, arows;
            snprintf(name, sizeof name, "audio_%s_bw%d", inputs[i], (int)bws[b]);
            double *wa = fx_read(io, name, &an, &arows);
            assert_int_equal(an, frames * 8);
            double e = rel_l2(audio, wa, an);
            worst = fmax(worst, e);
            if (!(e < 1e-5))
                fail_msg("%s: rel_l2 %g against PyTorch", name, e);
            snprintf(name, sizeof name, "roundtrip_%s_bw%d", inputs[i], (int)bws[b]);
            double *wr = fx_read(io, name, &an, &arows);
            assert_int_equal(an, n);
            e = rel_l2(audio, wr, an);
            worst = fmax(worst, e);
            if (!(e < 1e-5))
                fail_msg("%s: rel_l2 %g against PyTorch", name, e);
            compared++;
            free(wa);
            free(wr);
            free(audio);
            free(codes);
            free(want);
        }
        free(emb);
        free(x);
    }
    assert_int_equal(compared, 6);
    print_message("6 cases: codes identical, audio rel_l2 <= %.3g against PyTorch\n", worst);
    sono_st_close(io);
    sono_enc64_free(m);
}

/* SoundStream's numbers from its definition: hop 2*4*5*8 = 320, 24000 / 320 = 75 frames/s,
 * 10 bits a stage = 750 bps, so 3/6/12/18 kbps are 4/8/16/24 stages. */
static void config_numbers(void **state)
{
    (void)state;
    sono_enc_config c;
    sono_error err = {0};
    sono_enc_config_soundstream(&c);
    assert_int_equal(c.hop, 320);
    assert_int_equal(c.frame_rate, 75);
    assert_int_equal(c.num_quantizers, 24);
    assert_int_equal(c.num_lstm_layers, 0);
    const double bw[] = {3, 6, 12, 18};
    for (int i = 0; i < 4; i++) {
        int nq;
        assert_int_equal(sono_enc_nq(&c, bw[i], &nq, &err), 0);
        assert_int_equal(nq, (int)(bw[i] * 1000 / 750));
    }
    int nq24;
    assert_int_not_equal(sono_enc_nq(&c, 24, &nq24, &err), 0); /* EnCodec's, not here */
    /* the encoder: three residual units per block at dilations 1, 3, 9, kernel 7 */
    sono_enc_layer l[SONO_ENC_MAX_LAYERS];
    int n = sono_enc_graph(&c, 0, l), res = 0, lstm = 0;
    for (int i = 0; i < n; i++) {
        if (l[i].kind == SONO_ENC_RES) {
            assert_int_equal(l[i].k, 7);
            static const int dil[3] = {1, 3, 9};
            assert_int_equal(l[i].dil, dil[res % 3]);
            res++;
        }
        lstm += l[i].kind == SONO_ENC_LSTM;
    }
    assert_int_equal(res, 12);
    assert_int_equal(lstm, 1); /* its place kept (the names after it), the identity */
    /* the config JSON the random file carries parses back to the same config */
    char *js = sono_encodec_config_json(&c);
    sono_enc_config back;
    assert_int_equal(sono_enc_config_parse(js, "t", &back, &err), 0);
    assert_int_equal(back.num_lstm_layers, 0);
    assert_int_equal(back.num_residual_layers, 3);
    assert_int_equal(back.conv_shortcut, 0);
    assert_int_equal(back.num_quantizers, 24);
    free(js);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fixture_matches_pytorch),
        cmocka_unit_test(config_numbers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
