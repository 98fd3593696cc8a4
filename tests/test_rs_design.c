/* test_rs_design.c — cpu/polyphase's filters (impls/cpu/rs_design.c, compiled in) as
 * polyphase.c designs them for 44.1 -> 16, 48 -> 16 and 16 -> 24 kHz: their responses,
 * from the float-rounded taps by a float64 DFT written here, reach the 131 dB
 * (soxr HQ's measured attenuation) over the whole stop band and stay flat in the pass
 * band. Stage 1: pass to 0.9 fL, stop from fL at U rate_in; stage 2: pass to fL, stop from
 * fs2 - fL at the intermediate rate fs2 (its prototype sampled 16 times finer). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>
#include <stdlib.h>

#include "../impls/cpu/rs_design.h"

#define RD_TWO_PI 6.283185307179586476925286766559005768
/* the bar: soxr HQ's measured stop band */
#define RD_STOP_DB 131.0
/* pass-band flatness: Kaiser's ripple at 140 dB is 1e-7; float taps (2^-24 relative
 * each, random-signed over ~500 taps) add ~1e-6 at most */
#define RD_RIPPLE 1e-5

/* |H(f)| of taps h[0..n) at f cycles per sample, centred (phase irrelevant). */
static double rd_mag(const float *h, size_t n, double f)
{
    double re = 0, im = 0;
    for (size_t t = 0; t < n; t++) {
        double a = RD_TWO_PI * f * (double)t;
        re += h[t] * cos(a);
        im -= h[t] * sin(a);
    }
    return hypot(re, im);
}

/* The filter's worst stop-band level (dB below its DC gain) over [f1, f2] and its worst
 * pass-band deviation over [0, fp] (relative), on grids of 3000 and 300 points. */
static void rd_measure(const float *h, size_t n, double fp, double f1, double f2,
                       double *stop_db, double *ripple)
{
    double g0 = rd_mag(h, n, 0), worst = 0;
    for (int i = 0; i <= 3000; i++) {
        double m = rd_mag(h, n, f1 + (f2 - f1) * i / 3000.0);
        worst = m > worst ? m : worst;
    }
    *stop_db = -20 * log10(worst / g0);
    *ripple = 0;
    for (int i = 0; i <= 300; i++) {
        double d = fabs(rd_mag(h, n, fp * i / 300.0) / g0 - 1);
        *ripple = d > *ripple ? d : *ripple;
    }
}

/* Stage 1 at rate r1 (U rate_in) for lower Nyquist fl. */
static void rd_stage1(double r1, double fl, int U)
{
    long long K = rs_kaiser_half(RS_ATTEN_DB, RD_TWO_PI * (1 - RS_PASS) * fl / r1);
    double beta = rs_kaiser_beta(RS_ATTEN_DB), fc = 0.5 * (1 + RS_PASS) * fl / r1;
    size_t n = (size_t)(2 * K + 1);
    float *h = malloc(n * sizeof *h);
    assert_non_null(h);
    for (size_t t = 0; t < n; t++)
        h[t] = (float)rs_tap((double)t - (double)K, fc, K, beta, U);
    double stop, ripple;
    rd_measure(h, n, RS_PASS * fl / r1, fl / r1, 0.5, &stop, &ripple);
    print_message("stage 1 at %.0f Hz: %zu taps, stop band %.1f dB, ripple %.2g\n", r1, n,
                  stop, ripple);
    if (!(stop >= RD_STOP_DB) || !(ripple <= RD_RIPPLE))
        fail_msg("stage 1 at %.0f Hz: stop band %.1f dB, ripple %.3g", r1, stop, ripple);
    /* its DC gain is U: zero-stuffing by U leaves 1/U of the amplitude */
    double g0 = rd_mag(h, n, 0);
    assert_true(fabs(g0 - U) <= RD_RIPPLE * U);
    free(h);
}

/* Stage 2 at rate fs2: the prototype at 16 fs2, stop band from fs2 - fl to 8 fs2. */
static void rd_stage2(double fs2, double fl)
{
    const int P = 16;
    long long K = rs_kaiser_half(RS_ATTEN_DB, RD_TWO_PI * (fs2 - 2 * fl) / fs2);
    double beta = rs_kaiser_beta(RS_ATTEN_DB);
    size_t n = (size_t)(2 * K * P + 1);
    float *h = malloc(n * sizeof *h);
    assert_non_null(h);
    for (size_t t = 0; t < n; t++)
        h[t] = (float)rs_tap(((double)t - (double)(K * P)) / P, 0.5, K, beta, 1.0);
    double stop, ripple;
    rd_measure(h, n, fl / (P * fs2), (fs2 - fl) / (P * fs2), 0.5, &stop, &ripple);
    print_message("stage 2 at %.0f Hz: %lld taps per phase, stop band %.1f dB, ripple %.2g\n",
                  fs2, 2 * K, stop, ripple);
    if (!(stop >= RD_STOP_DB) || !(ripple <= RD_RIPPLE))
        fail_msg("stage 2 at %.0f Hz: stop band %.1f dB, ripple %.3g", fs2, stop, ripple);
    free(h);
}

static void test_stage1(void **state)
{
    (void)state;
    rd_stage1(44100, 8000, 1); /* 44.1 -> 16 */
    rd_stage1(48000, 8000, 1); /* 48 -> 16 */
    rd_stage1(32000, 8000, 2); /* 16 -> 24: x2 first */
}

static void test_stage2(void **state)
{
    (void)state;
    rd_stage2(22050, 8000); /* 44.1 -> 16 after /2 */
    rd_stage2(32000, 8000); /* 16 -> 24 after x2 */
}

/* A shorter filter than Kaiser's formula asks for misses the bar: the measure can fail. */
static void test_short_filter_fails(void **state)
{
    (void)state;
    long long K = rs_kaiser_half(RS_ATTEN_DB, RD_TWO_PI * 0.1 * 8000 / 44100) / 2;
    double beta = rs_kaiser_beta(RS_ATTEN_DB), fc = 0.95 * 8000 / 44100;
    size_t n = (size_t)(2 * K + 1);
    float *h = malloc(n * sizeof *h);
    assert_non_null(h);
    for (size_t t = 0; t < n; t++)
        h[t] = (float)rs_tap((double)t - (double)K, fc, K, beta, 1);
    double stop, ripple;
    rd_measure(h, n, 0.9 * 8000 / 44100, 8000.0 / 44100, 0.5, &stop, &ripple);
    assert_true(stop < RD_STOP_DB);
    free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stage1),
        cmocka_unit_test(test_stage2),
        cmocka_unit_test(test_short_filter_fails),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
