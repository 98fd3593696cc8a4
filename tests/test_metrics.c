/* test_metrics.c — the codec quality metrics (metrics.c) on signals whose answer is known
 * by construction: SI-SDR at an SNR built from orthogonalised noise, its invariance to
 * scale, sign and offset; mel L1 and multi-scale STFT distances of scaled copies (exact
 * log ratios), zero on identical signals and growing with noise; short inputs refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

#define N 24000 /* 1 s at 24 kHz */

static uint64_t seed;

/* splitmix64, uniform in [-1, 1) */
static double urand(void)
{
    uint64_t z = (seed += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return (double)(z >> 11) * 0x1p-52 - 1.0;
}

/* A voiced-ish test signal: two partials, an offset and some noise. */
static void make_signal(float *x, long long n, uint64_t s)
{
    seed = s;
    for (long long i = 0; i < n; i++)
        x[i] = (float)(0.3 * sin(2 * M_PI * 220.0 * (double)i / 24000.0) +
                       0.1 * sin(2 * M_PI * 1330.0 * (double)i / 24000.0) + 0.05 +
                       0.05 * urand());
}

static double dot_c(const double *a, const double *b, long long n)
{
    double s = 0;
    for (long long i = 0; i < n; i++)
        s += a[i] * b[i];
    return s;
}

/* est = x + e, e white noise made zero-mean and orthogonal to zero-mean x, scaled so
 * that ||x - mean||^2 / ||e||^2 is snr_db; plus lean * (x - mean) when lean != 0. */
static void noisy_copy(const float *x, float *est, long long n, double snr_db, double lean)
{
    double *xc = malloc(sizeof *xc * (size_t)n), *e = malloc(sizeof *e * (size_t)n);
    assert_non_null(xc);
    assert_non_null(e);
    double mx = 0, me = 0;
    for (long long i = 0; i < n; i++)
        mx += x[i];
    mx /= (double)n;
    for (long long i = 0; i < n; i++) {
        xc[i] = x[i] - mx;
        e[i] = urand();
        me += e[i];
    }
    me /= (double)n;
    for (long long i = 0; i < n; i++)
        e[i] -= me;
    double k = dot_c(e, xc, n) / dot_c(xc, xc, n);
    for (long long i = 0; i < n; i++)
        e[i] -= k * xc[i];
    double g = sqrt(dot_c(xc, xc, n) / dot_c(e, e, n) / pow(10.0, snr_db / 10.0));
    for (long long i = 0; i < n; i++)
        est[i] = (float)(x[i] + g * e[i] + lean * xc[i]);
    free(xc);
    free(e);
}

static void si_sdr_identities(void **state)
{
    (void)state;
    float *x = malloc(sizeof *x * N), *y = malloc(sizeof *y * N);
    assert_non_null(x);
    assert_non_null(y);
    make_signal(x, N, 1);
    assert_true(sono_si_sdr_db(x, x, N) > 100.0);
    for (long long i = 0; i < N; i++)
        y[i] = 2.0f * x[i];
    assert_true(sono_si_sdr_db(x, y, N) > 100.0); /* scale invariant */
    for (long long i = 0; i < N; i++)
        y[i] = -x[i];
    assert_true(sono_si_sdr_db(x, y, N) > 100.0); /* alpha = -1 is a scale too */
    for (long long i = 0; i < N; i++)
        y[i] = x[i] + 0.25f;
    assert_true(sono_si_sdr_db(x, y, N) > 100.0); /* both made zero-mean first */
    memset(y, 0, sizeof *y * N);
    assert_true(sono_si_sdr_db(y, x, N) == -INFINITY); /* a silent reference */
    assert_true(sono_si_sdr_db(x, y, N) == -INFINITY); /* a silent estimate */
    free(x);
    free(y);
}

static void si_sdr_known_snr(void **state)
{
    (void)state;
    float *x = malloc(sizeof *x * N), *y = malloc(sizeof *y * N);
    assert_non_null(x);
    assert_non_null(y);
    make_signal(x, N, 2);
    const double snrs[] = {-5.0, 0.0, 6.0, 20.0, 40.0};
    for (int i = 0; i < 5; i++) {
        noisy_copy(x, y, N, snrs[i], 0.0);
        double got = sono_si_sdr_db(x, y, N);
        if (fabs(got - snrs[i]) > 0.1)
            fail_msg("SNR %g dB: SI-SDR %g dB", snrs[i], got);
        /* the part of est along x is signal at any scale: est = 1.5 x + e scores as the
         * target 1.5 x against e, i.e. the SNR plus 20 log10 1.5 */
        noisy_copy(x, y, N, snrs[i], 0.5);
        got = sono_si_sdr_db(x, y, N);
        if (fabs(got - (snrs[i] + 20.0 * log10(1.5))) > 0.1)
            fail_msg("SNR %g dB, est = 1.5 x + e: SI-SDR %g dB", snrs[i], got);
    }
    free(x);
    free(y);
}

static void spectral_distances_of_scaled_copies(void **state)
{
    (void)state;
    float *x = malloc(sizeof *x * N), *y = malloc(sizeof *y * N);
    assert_non_null(x);
    assert_non_null(y);
    seed = 3;
    for (long long i = 0; i < N; i++)
        x[i] = (float)(0.5 * urand()); /* white: every mel band well above the 1e-5 floor */
    const double rates[] = {24000.0, 16000.0, 48000.0};
    for (int r = 0; r < 3; r++) {
        assert_true(sono_mel_l1(x, x, N, rates[r]) == 0.0);
        for (long long i = 0; i < N; i++)
            y[i] = 10.0f * x[i];
        /* power scales by 100: log10 mel differs by 2 in every cell */
        assert_float_equal(sono_mel_l1(x, y, N, rates[r]), 2.0, 1e-9);
    }
    assert_true(sono_mstft(x, x, N) == 0.0);
    for (long long i = 0; i < N; i++)
        y[i] = 2.0f * x[i];
    /* spectral convergence ||2X - X|| / ||X|| = 1, log term ln 2 up to the 1e-7 floor */
    assert_float_equal(sono_mstft(x, y, N), 1.0 + log(2.0), 1e-4);
    free(x);
    free(y);
}

static void distances_grow_with_noise(void **state)
{
    (void)state;
    float *x = malloc(sizeof *x * N), *y = malloc(sizeof *y * N);
    assert_non_null(x);
    assert_non_null(y);
    make_signal(x, N, 4);
    double prev_mel = 0, prev_ms = 0, prev_sdr = INFINITY;
    const double snrs[] = {60, 40, 20, 10, 0, -10};
    for (int i = 0; i < 6; i++) {
        seed = 99; /* the same noise, louder each time */
        noisy_copy(x, y, N, snrs[i], 0.0);
        double mel = sono_mel_l1(x, y, N, 24000.0), ms = sono_mstft(x, y, N);
        double sdr = sono_si_sdr_db(x, y, N);
        if (!(mel > prev_mel && ms > prev_ms && sdr < prev_sdr))
            fail_msg("SNR %g dB: mel %g (before %g), mstft %g (before %g), SI-SDR %g", snrs[i],
                     mel, prev_mel, ms, prev_ms, sdr);
        prev_mel = mel;
        prev_ms = ms;
        prev_sdr = sdr;
    }
    free(x);
    free(y);
}

static void quality_audio_fills_and_refuses(void **state)
{
    (void)state;
    float *x = malloc(sizeof *x * N), *y = malloc(sizeof *y * N);
    assert_non_null(x);
    assert_non_null(y);
    make_signal(x, N, 5);
    noisy_copy(x, y, N, 15.0, 0.0);
    sono_quality q = {.has = SONO_Q_BITRATE, .bitrate_bps = 6000};
    sono_error err = {0};
    assert_int_equal(sono_quality_audio(x, y, N, 24000.0, &q, &err), 0);
    assert_int_equal(q.has, SONO_Q_BITRATE | SONO_Q_SISDR | SONO_Q_MEL | SONO_Q_MSTFT);
    assert_float_equal(q.si_sdr_db, 15.0, 0.1);
    assert_true(q.mel_l1 > 0 && q.mstft > 0);
    assert_float_equal(q.bitrate_bps, 6000, 0);

    q = (sono_quality){0};
    assert_int_equal(sono_quality_audio(x, y, 2047, 24000.0, &q, &err), SONO_EINVAL);
    assert_non_null(strstr(err.msg, "2047"));
    assert_int_equal(q.has, 0);
    assert_int_equal(sono_quality_audio(x, y, 2048, 24000.0, &q, &err), 0);

    y[100] = NAN;
    err = (sono_error){0};
    assert_int_equal(sono_quality_audio(x, y, N, 24000.0, &q, &err), SONO_EINVAL);
    assert_non_null(strstr(err.msg, "100"));
    free(x);
    free(y);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(si_sdr_identities),
        cmocka_unit_test(si_sdr_known_snr),
        cmocka_unit_test(spectral_distances_of_scaled_copies),
        cmocka_unit_test(distances_grow_with_noise),
        cmocka_unit_test(quality_audio_fills_and_refuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
