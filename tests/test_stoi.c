/* test_stoi.c — STOI and ESTOI (harness/core/stoi.c) against pystoi 0.4.1's values for the
 * pairs in tests/data/stoi (written by tests/fixtures/stoi_fixture.py), and on answers
 * known by construction: identical signals score 1, independent noise about 0 (ESTOI;
 * STOI's clipping leaves it near 0.46, as in pystoi), scores rise with the SNR; pystoi's polyphase resampler keeps a tone; bad input is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "resample_oct.h"
#include "stoi.h"

#define DIR "tests/data/stoi"
/* The bound: the two implementations differ by float64 rounding, numpy's Bessel
 * approximation, and ESTOI's EPS-sized noise, all far below it; a definitional slip (a
 * frame more or less, a band edge, the clipping, the wrong window) moves scores by more. */
#define TOL 1e-3

static uint64_t seed;

/* splitmix64 to a standard normal by Box-Muller */
static double urand(void)
{
    uint64_t z = (seed += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return ((double)(z >> 11) + 0.5) * 0x1p-53;
}
static double nrand(void)
{
    return sqrt(-2 * log(urand())) * cos(2 * M_PI * urand());
}

/* Raw 16-bit little-endian PCM, scaled by 1/32768 as the fixture script does. */
static float *read_s16(const char *name, long long n)
{
    char path[512];
    snprintf(path, sizeof path, DIR "/%s", name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    float *x = malloc(sizeof *x * (size_t)n);
    assert_non_null(x);
    for (long long i = 0; i < n; i++) {
        unsigned char b[2];
        assert_int_equal(fread(b, 1, 2, f), 2);
        x[i] = (float)(int16_t)(uint16_t)(b[0] | b[1] << 8) / 32768.0f;
    }
    fclose(f);
    return x;
}

static void pystoi_fixtures(void **state)
{
    (void)state;
    FILE *f = fopen(DIR "/cases.txt", "r");
    assert_non_null(f);
    char line[512];
    int cases = 0;
    while (fgets(line, sizeof line, f)) {
        char name[128], clean[128], deg[128];
        long long rate, n;
        double want_s, want_e;
        if (line[0] == '#')
            continue;
        assert_int_equal(sscanf(line, "%127s %lld %lld %127s %127s %lf %lf", name, &rate,
                                &n, clean, deg, &want_s, &want_e), 7);
        float *x = read_s16(clean, n), *y = read_s16(deg, n);
        double s, e;
        int short_input = -1;
        sono_error err = {0};
        assert_int_equal(sono_stoi(x, y, n, (double)rate, &s, &e, &short_input, &err), 0);
        printf("  %-24s STOI %.6f (pystoi %.6f, %+.1e)  ESTOI %.6f (pystoi %.6f, %+.1e)\n",
               name, s, want_s, s - want_s, e, want_e, e - want_e);
        assert_int_equal(short_input, 0);
        assert_true(fabs(s - want_s) <= TOL);
        assert_true(fabs(e - want_e) <= TOL);
        free(x);
        free(y);
        cases++;
    }
    fclose(f);
    assert_true(cases >= 4);
}

static void identical_scores_one(void **state)
{
    (void)state;
    float *x = read_s16("clean_16k.s16", 32000);
    double s, e;
    sono_error err = {0};
    assert_int_equal(sono_stoi(x, x, 32000, 16000, &s, &e, NULL, &err), 0);
    assert_float_equal(s, 1.0, 1e-9);
    assert_float_equal(e, 1.0, 1e-9);
    /* a gain changes neither (STOI normalises energy, ESTOI the means and norms) */
    float *g = malloc(sizeof *g * 32000);
    for (int i = 0; i < 32000; i++)
        g[i] = 0.25f * x[i];
    assert_int_equal(sono_stoi(x, g, 32000, 16000, &s, &e, NULL, &err), 0);
    assert_float_equal(s, 1.0, 1e-9);
    assert_float_equal(e, 1.0, 1e-9);
    free(g);
    free(x);
}

/* Speech plus white noise at snr dB (noise scaled to the speech's mean power). */
static void add_noise(const float *x, float *y, long long n, double snr_db, uint64_t s)
{
    double px = 0, pn = 0, *v = malloc(sizeof *v * (size_t)n);
    seed = s;
    for (long long i = 0; i < n; i++) {
        v[i] = nrand();
        px += (double)x[i] * x[i];
        pn += v[i] * v[i];
    }
    double k = sqrt(px / pn / pow(10, snr_db / 10));
    for (long long i = 0; i < n; i++)
        y[i] = (float)(x[i] + k * v[i]);
    free(v);
}

static void independent_noise_near_zero(void **state)
{
    (void)state;
    float *x = read_s16("clean_16k.s16", 32000), *y = malloc(sizeof *y * 32000);
    seed = 7;
    for (int i = 0; i < 32000; i++)
        y[i] = (float)(0.1 * nrand());
    double s, e;
    sono_error err = {0};
    assert_int_equal(sono_stoi(x, y, 32000, 16000, &s, &e, NULL, &err), 0);
    printf("  speech vs independent noise: STOI %.4f ESTOI %.4f\n", s, e);
    /* ESTOI: correlations of unrelated, normalised envelopes: mean 0, spread ~1/sqrt(30)
     * each, averaged over ~15 x 100 of them. STOI is not near 0 here: its clipping
     * (y' <= 6.6 x) makes the clipped noise envelope follow the speech's where the speech
     * is quiet; pystoi 0.4.1 gives 0.465 and 0.453 for two draws of this noise (numpy's
     * generator). It must still score below speech at -15 dB SNR, and well above 0. */
    assert_true(fabs(e) < 0.1);
    double s15;
    add_noise(x, y, 32000, -15, 11);
    assert_int_equal(sono_stoi(x, y, 32000, 16000, &s15, NULL, NULL, &err), 0);
    assert_true(s < s15);
    assert_true(s > 0.3 && s < 0.6);
    free(x);
    free(y);
}

static void monotone_in_snr(void **state)
{
    (void)state;
    static const double snr[] = {-15, -10, -5, 0, 5, 10, 20, 30};
    float *x = read_s16("clean_16k.s16", 32000), *y = malloc(sizeof *y * 32000);
    double ps = -1, pe = -1;
    for (size_t i = 0; i < sizeof snr / sizeof snr[0]; i++) {
        double s, e;
        sono_error err = {0};
        add_noise(x, y, 32000, snr[i], 11); /* the same noise, scaled */
        assert_int_equal(sono_stoi(x, y, 32000, 16000, &s, &e, NULL, &err), 0);
        printf("  SNR %+5.0f dB: STOI %.4f ESTOI %.4f\n", snr[i], s, e);
        assert_true(s > ps);
        assert_true(e > pe);
        assert_true(s <= 1.0 && e <= 1.0);
        ps = s;
        pe = e;
    }
    assert_true(ps > 0.95); /* 30 dB: nearly clean */
    free(x);
    free(y);
}

/* resample_poly keeps a tone in the passband: 1 kHz at 16 kHz -> 10 kHz is the same
 * tone, amplitude within the filter's ripple, away from the zero-padded edges. */
static void resampler_keeps_a_tone(void **state)
{
    (void)state;
    long long n = 16000, m;
    double *x = malloc(sizeof *x * (size_t)n), *y;
    for (long long i = 0; i < n; i++)
        x[i] = sin(2 * M_PI * 1000.0 * (double)i / 16000.0);
    sono_error err = {0};
    assert_int_equal(sono_resample_oct(x, n, 16000, 10000, &y, &m, &err), 0);
    assert_int_equal(m, 10000);
    assert_int_equal(sono_resample_oct_len(16001, 16000, 10000), 10001); /* ceil */
    double worst = 0;
    for (long long k = 1000; k < m - 1000; k++)
        worst = fmax(worst, fabs(y[k] - sin(2 * M_PI * 1000.0 * (double)k / 10000.0)));
    assert_true(worst < 2e-3);
    free(y);
    assert_int_equal(sono_resample_oct(x, n, 0, 10000, &y, &m, &err), SONO_EINVAL);
    free(x);
}

static void short_and_bad_input(void **state)
{
    (void)state;
    float *x = read_s16("clean_16k.s16", 32000);
    double s = 0, e = 0;
    int short_input = 0;
    sono_error err = {0};
    /* 0.3 s: fewer than 30 frames of 12.8 ms survive, pystoi's warning value */
    assert_int_equal(sono_stoi(x, x, 4800, 16000, &s, &e, &short_input, &err), 0);
    assert_int_equal(short_input, 1);
    assert_true(s == SONO_STOI_TOO_SHORT && e == SONO_STOI_TOO_SHORT);
    assert_int_equal(sono_stoi(x, x, 32000, 16000.5, &s, &e, NULL, &err), SONO_EINVAL);
    assert_non_null(strstr(err.msg, "16000.5"));
    assert_int_equal(sono_stoi(x, x, 0, 16000, &s, &e, NULL, &err), SONO_EINVAL);
    float keep = x[500];
    x[500] = NAN;
    assert_int_equal(sono_stoi(x, x, 32000, 16000, &s, &e, NULL, &err), SONO_EINVAL);
    assert_non_null(strstr(err.msg, "500"));
    x[500] = keep;
    free(x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pystoi_fixtures),
        cmocka_unit_test(identical_scores_one),
        cmocka_unit_test(independent_noise_near_zero),
        cmocka_unit_test(monotone_in_snr),
        cmocka_unit_test(resampler_keeps_a_tone),
        cmocka_unit_test(short_and_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
