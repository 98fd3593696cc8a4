/* test_speechq.c — speechq.c's wiring of STOI/ESTOI and PESQ into sono_quality, with a
 * planted scorer: what it is handed (16 kHz wideband from 48 kHz, 8 kHz narrowband kept),
 * what it answers lands in q, its failure and its absence are said in speech_note, and
 * STOI is there in every case (identical signals: 1). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "speechq.h"

typedef struct seen {
    long long n;
    double rate;
    char mode[4];
    double ref_rms, deg_rms;
    int fail;
} seen;

static int planted(void *ctx, const float *ref, const float *deg, long long n, double rate,
                   const char *mode, double *mos, sono_error *err)
{
    seen *s = ctx;
    s->n = n;
    s->rate = rate;
    snprintf(s->mode, sizeof s->mode, "%s", mode);
    double a = 0, b = 0;
    for (long long i = 0; i < n; i++) {
        a += (double)ref[i] * ref[i];
        b += (double)deg[i] * deg[i];
    }
    s->ref_rms = sqrt(a / (double)n);
    s->deg_rms = sqrt(b / (double)n);
    if (s->fail)
        return sono_fail(err, SONO_EDEVICE, "planted failure");
    *mos = 3.25;
    return 0;
}

/* Voiced-speech-like bursts: a 150 Hz pulse train through a few formants, gated at 3 Hz
 * (silences between syllables), at rate. */
static float *speechish(long long n, double rate, double gain)
{
    float *x = malloc(sizeof *x * (size_t)n);
    for (long long i = 0; i < n; i++) {
        double t = (double)i / rate, v = 0;
        for (int h = 1; h <= 20; h++)
            v += sin(2 * M_PI * 150.0 * h * t) / h * (h == 5 || h == 12 ? 3.0 : 1.0);
        x[i] = (float)(gain * 0.05 * v * (sin(2 * M_PI * 3.0 * t) > -0.2 ? 1.0 : 0.001));
    }
    return x;
}

static void wideband_from_48k(void **state)
{
    (void)state;
    long long n = 48000 * 2;
    float *x = speechish(n, 48000, 1.0), *y = speechish(n, 48000, 0.5);
    seen s = {0};
    sono_speechq_set_pesq(planted, &s, NULL);
    sono_quality q = {0};
    sono_error err = {0};
    assert_int_equal(sono_quality_speech(x, y, n, 48000, &q, &err), 0);
    assert_int_equal(s.n, 32000); /* 2 s at 16 kHz */
    assert_true(s.rate == 16000);
    assert_string_equal(s.mode, "wb");
    assert_string_equal(q.pesq_mode, "wb");
    /* the reference is the input, the degraded signal the output (half its level) */
    assert_true(fabs(s.deg_rms / s.ref_rms - 0.5) < 1e-3);
    assert_int_equal(q.has, SONO_Q_STOI | SONO_Q_ESTOI | SONO_Q_PESQ);
    assert_true(q.pesq == 3.25);
    assert_float_equal(q.stoi, 1.0, 1e-6); /* a gain is no loss of intelligibility */
    assert_float_equal(q.estoi, 1.0, 1e-6);
    assert_string_equal(q.speech_note, "");
    free(x);
    free(y);
}

static void narrowband_at_8k(void **state)
{
    (void)state;
    long long n = 8000 * 2;
    float *x = speechish(n, 8000, 1.0);
    seen s = {0};
    sono_speechq_set_pesq(planted, &s, NULL);
    sono_quality q = {0};
    sono_error err = {0};
    assert_int_equal(sono_quality_speech(x, x, n, 8000, &q, &err), 0);
    assert_int_equal(s.n, n);
    assert_true(s.rate == 8000);
    assert_string_equal(q.pesq_mode, "nb");
    assert_true(q.has & SONO_Q_PESQ);
    free(x);
}

static void failure_and_absence_said(void **state)
{
    (void)state;
    long long n = 16000 * 2;
    float *x = speechish(n, 16000, 1.0);
    seen s = {.fail = 1};
    sono_speechq_set_pesq(planted, &s, NULL);
    sono_quality q = {0};
    sono_error err = {0};
    assert_int_equal(sono_quality_speech(x, x, n, 16000, &q, &err), 0);
    assert_int_equal(q.has, SONO_Q_STOI | SONO_Q_ESTOI);
    assert_string_equal(q.speech_note, "PESQ: planted failure");

    sono_speechq_set_pesq(NULL, NULL, "pesq not installed (planted)");
    q = (sono_quality){0};
    assert_int_equal(sono_quality_speech(x, x, n, 16000, &q, &err), 0);
    assert_int_equal(q.has, SONO_Q_STOI | SONO_Q_ESTOI);
    assert_string_equal(q.speech_note, "PESQ: pesq not installed (planted)");

    /* 0.2 s: STOI has no 384 ms segment; said, not an error */
    q = (sono_quality){0};
    assert_int_equal(sono_quality_speech(x, x, 3200, 16000, &q, &err), 0);
    assert_int_equal(q.has & (SONO_Q_STOI | SONO_Q_ESTOI), 0);
    assert_non_null(strstr(q.speech_note, "STOI: under 384 ms"));

    /* bad input is an error */
    x[7] = NAN;
    assert_int_equal(sono_quality_speech(x, x, n, 16000, &q, &err), SONO_EINVAL);
    assert_non_null(strstr(err.msg, "sample 7"));
    assert_int_equal(sono_quality_speech(x, x, n, 0, &q, &err), SONO_EINVAL);
    free(x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(wideband_from_48k),
        cmocka_unit_test(narrowband_at_8k),
        cmocka_unit_test(failure_and_absence_said),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
