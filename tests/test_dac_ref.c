/* test_dac_ref.c — codec.dac's reference side (issue 24): the float64 network against
 * transformers' DacModel on the tiny committed fixture (tests/data/dac/, written by
 * tests/fixtures/dac_fixture.py), whole-frame and ragged lengths; the random weights'
 * config (hop, latent, the bitrate's numbers); a missing and a mis-shaped tensor refused
 * naming the tensor and the file. */
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

#include "ops/dac.h"
#include "ops/ref/st64.h"

#define FX "tests/data/dac"

static double *fx_read(const sono_st *io, const char *name, long long *n, long long *rows)
{
    sono_error err = {0};
    double *v = NULL;
    for (long long r = 1; r <= 4 && !v; r++)
        for (long long c = 1; c <= 200 && !v; c++) {
            long long s2[2] = {r, c};
            if (sono_st_read(io, name, 2, s2, &v, &err) == 0) {
                *n = c;
                *rows = r;
            }
        }
    for (long long c = 1; c <= 200 && !v; c++) {
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

/* PyTorch ran the model in float64 on the float32 weights: the same function in double, so
 * codes agree exactly (every margin is checked to be far above double rounding) and audio
 * to the float32 rounding of the stored values (rel 6e-8); 1e-6 leaves room for the two
 * sides' summation orders (~1e-15 each over ~30 layers) and is far below any wrong term
 * (a Snake without its 1e-9, a missed bias: > 1e-4 here). */
static void fixture_matches_pytorch(void **state)
{
    (void)state;
    sono_error err = {0};
    sono_dac64 *m = NULL;
    sono_st *io = NULL;
    if (sono_dac64_load(FX "/tiny.safetensors", &m, &err))
        fail_msg("%s", err.msg);
    if (sono_st_open(FX "/tiny_io.safetensors", &io, &err))
        fail_msg("%s", err.msg);
    const sono_dac_config *c = sono_dac64_config(m);
    assert_int_equal(c->hop, 8);
    assert_int_equal(c->latent, 16);
    assert_int_equal(c->n_codebooks, 3);
    const char *inputs[] = {"whole", "ragged"};
    double worst = 0, least_margin = INFINITY;
    int compared = 0;
    for (int i = 0; i < 2; i++) {
        char name[64];
        long long n, rows;
        snprintf(name, sizeof name, "input_%s", inputs[i]);
        double *x = fx_read(io, name, &n, &rows);
        double *lat = NULL;
        long long F;
        if (sono_dac64_encoder(m, x, n, &lat, &F, &err))
            fail_msg("%s", err.msg);
        /* floor((L-2)/2)+1 then floor((L-4)/4)+1: 64 -> 32 -> 8, 61 -> 30 -> 7 */
        assert_int_equal(F, n == 64 ? 8 : 7);
        for (int nq = 1; nq <= 3; nq++) {
            long long fn, frows;
            snprintf(name, sizeof name, "codes_%s_nq%d", inputs[i], nq);
            double *want = fx_read(io, name, &fn, &frows);
            assert_int_equal(frows, nq);
            assert_int_equal(fn, F);
            int *codes = malloc((size_t)(nq * F) * sizeof *codes);
            double *mg = malloc((size_t)(nq * F) * sizeof *mg);
            if (sono_dac64_quantize(m, lat, F, nq, codes, mg, NULL, NULL, -1, 0, &err))
                fail_msg("%s", err.msg);
            for (long long k = 0; k < nq * F; k++) {
                if (codes[k] != (int)want[k])
                    fail_msg("%s: code %lld is %d, PyTorch %d", name, k, codes[k],
                             (int)want[k]);
                least_margin = fmin(least_margin, mg[k]);
            }
            double *audio = NULL;
            long long an, arows, got;
            if (sono_dac64_decode(m, codes, nq, F, &audio, &got, &err))
                fail_msg("%s", err.msg);
            assert_int_equal(got, F * 8);
            snprintf(name, sizeof name, "audio_%s_nq%d", inputs[i], nq);
            double *wa = fx_read(io, name, &an, &arows);
            assert_int_equal(an, got);
            double e = rel_l2(audio, wa, an);
            worst = fmax(worst, e);
            if (!(e < 1e-6))
                fail_msg("%s: rel_l2 %g against PyTorch", name, e);
            snprintf(name, sizeof name, "roundtrip_%s_nq%d", inputs[i], nq);
            double *wr = fx_read(io, name, &an, &arows);
            assert_int_equal(an, got < n ? got : n); /* forward cuts to the input length */
            e = rel_l2(audio, wr, an);
            worst = fmax(worst, e);
            if (!(e < 1e-6))
                fail_msg("%s: rel_l2 %g against PyTorch", name, e);
            compared++;
            free(wa);
            free(wr);
            free(audio);
            free(codes);
            free(mg);
            free(want);
        }
        free(lat);
        free(x);
    }
    assert_int_equal(compared, 6);
    assert_true(least_margin > 1e-9); /* no near-tie the two sides could split */
    print_message("6 cases: codes identical (least margin %.3g), audio rel_l2 <= %.3g "
                  "against PyTorch\n", least_margin, worst);
    sono_st_close(io);
    sono_dac64_free(m);
}

/* dac_44khz's numbers: hop 2*4*8*8 = 512, latent 64 * 2^4 = 1024. */
static void config_numbers(void **state)
{
    (void)state;
    sono_dac_config c;
    sono_dac_config_44k(&c, 64, 1536);
    assert_int_equal(c.hop, 512);
    assert_int_equal(c.latent, 1024);
    assert_int_equal(c.n_codebooks, 9);
    sono_error err = {0};
    assert_int_equal(sono_dac_config_parse("{\"encoder_hidden_size\": 8, "
                                           "\"downsampling_ratios\": [2, 8]}", "t", &c, &err),
                     0);
    assert_int_equal(c.hop, 16);
    assert_int_equal(c.latent, 32);
    assert_int_not_equal(sono_dac_config_parse("{\"downsampling_ratios\": [0]}", "t", &c,
                                               &err), 0);
    assert_non_null(strstr(err.msg, "downsampling_ratios"));
}

/* The fixture file with its header edited (same length): a tensor renamed (missing) or
 * its dims swapped (mis-shaped): the load fails naming the tensor and the file. */
static void edit_and_load(const char *from, const char *to, const char *want_tensor)
{
    FILE *f = fopen(FX "/tiny.safetensors", "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *raw = malloc((size_t)len + 1);
    assert_int_equal(fread(raw, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    raw[len] = 0;
    uint64_t hn = 0;
    for (int i = 7; i >= 0; i--)
        hn = hn << 8 | (unsigned char)raw[i];
    char save = raw[8 + hn];
    raw[8 + hn] = 0;
    char *at = strstr(raw + 8, from);
    assert_non_null(at);
    assert_int_equal(strlen(from), strlen(to));
    memcpy(at, to, strlen(to));
    raw[8 + hn] = save;
    char path[] = "/tmp/dacrefXXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, raw, (size_t)len), len);
    close(fd);
    free(raw);
    sono_dac64 *m = NULL;
    sono_error err = {0};
    assert_int_not_equal(sono_dac64_load(path, &m, &err), 0);
    assert_null(m);
    assert_non_null(strstr(err.msg, want_tensor));
    assert_non_null(strstr(err.msg, path));
    unlink(path);
}

static void bad_tensors_named(void **state)
{
    (void)state;
    edit_and_load("\"encoder.conv2.bias\"", "\"encoder.conv2.bia_\"", "encoder.conv2.bias");
    edit_and_load("\"quantizer.quantizers.1.codebook.weight\":{\"dtype\":\"F32\","
                  "\"shape\":[32,4]",
                  "\"quantizer.quantizers.1.codebook.weight\":{\"dtype\":\"F32\","
                  "\"shape\":[4,32]",
                  "quantizer.quantizers.1.codebook.weight");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fixture_matches_pytorch),
        cmocka_unit_test(config_numbers),
        cmocka_unit_test(bad_tensors_named),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
