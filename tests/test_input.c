/* test_input.c — input specs (datasets/signals.c, synth.c, audiofile.c): parsing and its
 * messages, canonical names, the generators' statistics, frequencies and spectra checked
 * against independent computations, and WAV files written here with libsndfile. Speech,
 * directories and resampling are in test_speech.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>
#include <sndfile.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "input.h"

static char in_dir[64];

static int in_setup(void **state)
{
    (void)state;
    snprintf(in_dir, sizeof in_dir, "/tmp/sono_input_XXXXXX");
    return mkdtemp(in_dir) ? 0 : -1;
}

static int in_teardown(void **state)
{
    (void)state;
    const char *names[] = {"stereo.wav", "garbage.wav", "short.wav", NULL};
    char p[128];
    for (int i = 0; names[i]; i++) {
        snprintf(p, sizeof p, "%s/%s", in_dir, names[i]);
        unlink(p);
    }
    return rmdir(in_dir);
}

static void in_parse_ok(const char *text, const char *want_name)
{
    sono_input_spec s;
    sono_error err = {0};
    int rc = sono_input_parse(text, NULL, &s, &err);
    if (rc)
        fail_msg("parse '%s': %s", text, err.msg);
    assert_int_equal(s.kind, SONO_INPUT_GEN);
    assert_string_equal(s.name, want_name);
}

/* Parse must fail with code, and the message must contain each of the needles. */
static void in_parse_bad(const char *text, int code, const char *n1, const char *n2)
{
    sono_input_spec s;
    sono_error err = {0};
    assert_int_equal(sono_input_parse(text, NULL, &s, &err), code);
    assert_int_equal(err.code, code);
    if (n1 && !strstr(err.msg, n1))
        fail_msg("message for '%s' lacks '%s': %s", text, n1, err.msg);
    if (n2 && !strstr(err.msg, n2))
        fail_msg("message for '%s' lacks '%s': %s", text, n2, err.msg);
}

/* Parse text and fill n samples of dtype t at rate into a fresh buffer (caller frees). */
static float *in_fill(const char *text, sono_dtype t, long long n, double rate)
{
    sono_input_spec s;
    sono_error err = {0};
    if (sono_input_parse(text, in_dir, &s, &err))
        fail_msg("parse '%s': %s", text, err.msg);
    size_t bytes = (size_t)n * sono_dtype_size(t);
    float *x = malloc(bytes);
    assert_non_null(x);
    sono_buf b = {.dtype = t, .ndim = 1, .shape = {n}, .data = x, .nbytes = bytes};
    double used = 0;
    if (sono_input_fill(&s, rate, &b, &used, &err))
        fail_msg("fill '%s': %s", text, err.msg);
    return x;
}

static void in_canonical_names(void **state)
{
    (void)state;
    in_parse_ok("noise", "noise");
    in_parse_ok("  noise  ", "noise");
    in_parse_ok("noise(seed=7)", "noise(seed=7)");
    in_parse_ok("noise( amp = 0.25 , seed = 3 )", "noise(seed=3,amp=0.25)");
    in_parse_ok("sine(amp=0.25,freq=440)", "sine(freq=440,amp=0.25)");
    in_parse_ok("sine(freq=440.0)", "sine(freq=440)");
    in_parse_ok("sine()", "sine");
    in_parse_ok("chirp(f1=2000,f0=50)", "chirp(f0=50,f1=2000)");
    in_parse_ok("impulse(pos=12)", "impulse(pos=12)");
    in_parse_ok("silence", "silence");
    in_parse_ok("pink(amp=0.25,seed=3)", "pink(seed=3,amp=0.25)");
    in_parse_ok("sweep(f1=8000,f0=50)", "sweep(f0=50,f1=8000)");
    in_parse_ok("clicks(period=0.25)", "clicks(period=0.25)");
    in_parse_ok("clicks", "clicks");
    in_parse_ok("square(freq=100)", "square(freq=100)");
    /* the generator list is the one the parser accepts */
    for (int i = 0; sono_input_generators[i]; i++)
        in_parse_ok(sono_input_generators[i], sono_input_generators[i]);
}

static void in_bad_specs(void **state)
{
    (void)state;
    in_parse_bad("sinx", SONO_EINVAL, "sinx", "noise, sine, chirp, impulse, silence");
    in_parse_bad("sinx", SONO_EINVAL, "pink, sweep, clicks, square, speech", NULL);
    in_parse_bad("clicks(period=0)", SONO_EINVAL, "period=0", "period > 0");
    in_parse_bad("clicks(period=-1)", SONO_EINVAL, "period=-1", NULL);
    in_parse_bad("clicks(rate=2)", SONO_EINVAL, "rate", "period");
    in_parse_bad("square(amp=0.5)", SONO_EINVAL, "amp", "freq");
    in_parse_bad("pink(amp=2)", SONO_EINVAL, "amp=2", NULL);
    in_parse_bad("speech(seed=1)", SONO_EINVAL, "seed", "no options");
    in_parse_bad("", SONO_EINVAL, "noise", NULL);
    in_parse_bad("sine(frq=1)", SONO_EINVAL, "frq", "freq");
    in_parse_bad("silence(amp=1)", SONO_EINVAL, "amp", "no options");
    in_parse_bad("sine(freq=abc)", SONO_EINVAL, "abc", NULL);
    in_parse_bad("sine(freq=440Hz)", SONO_EINVAL, "440Hz", NULL);
    in_parse_bad("sine(freq=440", SONO_EINVAL, "sine(freq=440", "')'");
    in_parse_bad("sine(freq)", SONO_EINVAL, "freq", "key=value");
    in_parse_bad("sine(freq=440,)", SONO_EINVAL, "empty option", NULL);
    in_parse_bad("sine(freq=1,freq=2)", SONO_EINVAL, "twice", NULL);
    in_parse_bad("noise(amp=0)", SONO_EINVAL, "amp=0", "0 < amp <= 1");
    in_parse_bad("noise(amp=1.5)", SONO_EINVAL, "amp=1.5", NULL);
    in_parse_bad("noise(seed=-1)", SONO_EINVAL, "-1", NULL);
    in_parse_bad("noise(seed=1.5)", SONO_EINVAL, "1.5", NULL);
    in_parse_bad("impulse(pos=-3)", SONO_EINVAL, "pos=-3", ">= 0");
    in_parse_bad("sine(freq=-5)", SONO_EINVAL, "freq=-5", NULL);
    in_parse_bad("sine(freq=nan)", SONO_EINVAL, "nan", NULL);
}

static void in_fill_errors(void **state)
{
    (void)state;
    sono_input_spec s;
    sono_error err = {0};
    float x[16];
    sono_buf b = {.dtype = SONO_F32, .ndim = 1, .shape = {16}, .data = x,
                  .nbytes = sizeof x};
    double rate = 0;
    /* the Nyquist bound can only be checked once the rate is known */
    assert_int_equal(sono_input_parse("sine(freq=5000)", NULL, &s, &err), 0);
    assert_int_equal(sono_input_fill(&s, 8000, &b, &rate, &err), SONO_EINVAL);
    assert_non_null(strstr(err.msg, "5000"));
    assert_non_null(strstr(err.msg, "4000"));
    assert_int_equal(sono_input_fill(&s, 16000, &b, &rate, &err), 0);
    assert_float_equal(rate, 16000, 0);
    /* chirp's default f1 follows the rate, so it always fits */
    assert_int_equal(sono_input_parse("chirp", NULL, &s, &err), 0);
    assert_int_equal(sono_input_fill(&s, 8000, &b, &rate, &err), 0);
    assert_int_equal(sono_input_parse("chirp(f1=4000)", NULL, &s, &err), 0);
    assert_int_equal(sono_input_fill(&s, 8000, &b, &rate, &err), SONO_EINVAL);
    assert_non_null(strstr(err.msg, "f1=4000"));
    /* a sweep is exponential: no 0 Hz end */
    assert_int_equal(sono_input_parse("sweep(f0=0)", NULL, &s, &err), 0);
    assert_int_equal(sono_input_fill(&s, 8000, &b, &rate, &err), SONO_EINVAL);
    assert_non_null(strstr(err.msg, "f0 > 0"));
    assert_int_equal(sono_input_parse("sweep(f1=4000)", NULL, &s, &err), 0);
    assert_int_equal(sono_input_fill(&s, 8000, &b, &rate, &err), SONO_EINVAL);
    assert_non_null(strstr(err.msg, "f1=4000"));
    assert_int_equal(sono_input_parse("square(freq=4000)", NULL, &s, &err), 0);
    assert_int_equal(sono_input_fill(&s, 8000, &b, &rate, &err), SONO_EINVAL);
    /* clicks closer than one sample */
    assert_int_equal(sono_input_parse("clicks(period=0.0001)", NULL, &s, &err), 0);
    assert_int_equal(sono_input_fill(&s, 8000, &b, &rate, &err), SONO_EINVAL);
    assert_non_null(strstr(err.msg, "period=0.0001"));
    assert_int_equal(sono_input_fill(&s, 10000, &b, &rate, &err), 0);
    /* an impulse past the end */
    assert_int_equal(sono_input_parse("impulse(pos=16)", NULL, &s, &err), 0);
    assert_int_equal(sono_input_fill(&s, 8000, &b, &rate, &err), SONO_EINVAL);
    assert_non_null(strstr(err.msg, "pos=16"));
    /* dtypes other than f32 and c64 */
    assert_int_equal(sono_input_parse("noise", NULL, &s, &err), 0);
    b.dtype = SONO_F64;
    b.shape[0] = 2;
    assert_int_equal(sono_input_fill(&s, 8000, &b, &rate, &err), SONO_EINVAL);
    assert_non_null(strstr(err.msg, "f32, c64"));
    /* a buffer too small for its shape */
    b.dtype = SONO_C64;
    b.shape[0] = 16;
    assert_int_equal(sono_input_fill(&s, 8000, &b, &rate, &err), SONO_EINVAL);
}

static void in_noise_statistics(void **state)
{
    (void)state;
    const long long n = 200000;
    const double amp = 0.5;
    float *a = in_fill("noise", SONO_F32, n, 48000);
    /* the rate plays no part in noise */
    float *b = in_fill("noise(seed=1,amp=0.5)", SONO_F32, n, 44100);
    float *c = in_fill("noise(seed=2)", SONO_F32, n, 48000);
    /* deterministic: same spec, same bits */
    assert_memory_equal(a, b, (size_t)n * sizeof *a);
    double sum = 0, sum2 = 0;
    long long differ = 0;
    for (long long i = 0; i < n; i++) {
        double v = a[i];
        assert_true(v >= -amp && v < amp);
        /* built on the 2^-24 grid of [-1, 1) times amp = 1/2: exactly k 2^-24 */
        assert_true(ldexp(v, 24) == floor(ldexp(v, 24)));
        sum += v;
        sum2 += v * v;
        differ += a[i] != c[i];
    }
    /* uniform on [-a, a): mean 0 with sd a/sqrt(3n); E x^2 = a^2/3, whose estimate has sd
     * sqrt(4/45) a^2 / sqrt(n); allow 6 sd */
    double mean = sum / n, m2 = sum2 / n;
    assert_true(fabs(mean) < 6 * amp / sqrt(3.0 * n));
    double sd_m2 = sqrt(4.0 / 45) * amp * amp / sqrt((double)n);
    assert_true(fabs(m2 - amp * amp / 3) < 6 * sd_m2);
    /* another seed: another stream (equal floats by chance: ~ n / 2^24 of them) */
    assert_true(differ > n - 100);
    free(a);
    free(b);
    free(c);
}

static void in_noise_complex(void **state)
{
    (void)state;
    const long long n = 100000;
    float *z = in_fill("noise(amp=1)", SONO_C64, n, 48000);
    float *r = in_fill("noise(amp=1)", SONO_F32, 2 * n, 48000);
    /* re and im are the interleaved draws of one stream: the real stream, twice as long */
    assert_memory_equal(z, r, (size_t)(2 * n) * sizeof *z);
    double sre = 0, sim = 0, cross = 0;
    for (long long i = 0; i < n; i++) {
        sre += z[2 * i] * (double)z[2 * i];
        sim += z[2 * i + 1] * (double)z[2 * i + 1];
        cross += z[2 * i] * (double)z[2 * i + 1];
    }
    /* independent: correlation ~ N(0, 1/n) */
    assert_true(fabs(cross / sqrt(sre * sim)) < 6 / sqrt((double)n));
    free(z);
    free(r);
}

static void in_sine_frequency(void **state)
{
    (void)state;
    const long long n = 8000;
    const double rate = 8000, f = 440, amp = 0.25;
    float *x = in_fill("sine(freq=440,amp=0.25)", SONO_F32, n, rate);
    /* one second of 440 Hz: 880 sign changes (+-1 at the ends) */
    int crossings = 0;
    double maxerr = 0;
    for (long long t = 1; t < n; t++)
        crossings += (x[t - 1] < 0) != (x[t] < 0);
    assert_true(abs(crossings - 880) <= 1);
    /* against a reference in long double, without phase reduction */
    for (long long t = 0; t < n; t++) {
        long double ref = amp * sinl(2.0L * 3.14159265358979323846264338327950288L * f *
                                     (long double)t / rate);
        double e = fabs((double)(x[t] - ref));
        maxerr = e > maxerr ? e : maxerr;
    }
    assert_true(maxerr < 1e-7);
    free(x);

    /* complex: |x| == amp within float rounding, and re is the cosine */
    float *z = in_fill("sine(freq=440,amp=0.25)", SONO_C64, n, rate);
    for (long long t = 0; t < n; t++) {
        double re = z[2 * t], im = z[2 * t + 1];
        assert_true(fabs(sqrt(re * re + im * im) - amp) < 4 * amp * 0x1p-24);
    }
    assert_float_equal(z[0], amp, 0);
    assert_float_equal(z[1], 0, 0);
    free(z);
}

static void in_chirp_sweeps(void **state)
{
    (void)state;
    const long long n = 8000;
    /* 100 -> 1000 Hz over 1 s: instantaneous f(t) = 100 + 900 t; crossings in a window are
     * 2 x its cycles: [0, 0.1 s] holds 10 + 4.5 = 14.5 cycles, [0.9, 1] holds 95.5 */
    float *x = in_fill("chirp(f0=100,f1=1000)", SONO_F32, n, 8000);
    int first = 0, last = 0;
    for (long long t = 1; t < 800; t++)
        first += (x[t - 1] < 0) != (x[t] < 0);
    for (long long t = n - 799; t < n; t++)
        last += (x[t - 1] < 0) != (x[t] < 0);
    assert_true(abs(first - 29) <= 2);
    assert_true(abs(last - 191) <= 2);
    for (long long t = 0; t < n; t++)
        assert_true(fabsf(x[t]) <= 0.5f);
    free(x);
}

static void in_impulse_and_silence(void **state)
{
    (void)state;
    float *x = in_fill("impulse(pos=5)", SONO_F32, 64, 8000);
    for (int i = 0; i < 64; i++)
        assert_float_equal(x[i], i == 5 ? 1.0f : 0.0f, 0);
    free(x);
    float *z = in_fill("impulse", SONO_C64, 64, 8000);
    for (int i = 0; i < 128; i++)
        assert_float_equal(z[i], i == 0 ? 1.0f : 0.0f, 0);
    free(z);
    float *s = in_fill("silence", SONO_C64, 64, 8000);
    for (int i = 0; i < 128; i++)
        assert_float_equal(s[i], 0.0f, 0);
    free(s);
}

/* Mean Hann-windowed periodogram of x over frames of N samples, bins 0..N/2, by a plain
 * DFT (a twiddle table, no FFT): the reference shares nothing with the generator. */
static void in_periodogram(const float *x, long long n, int N, double *P)
{
    double *c = malloc((size_t)N * sizeof *c), *sn = malloc((size_t)N * sizeof *sn);
    double *w = malloc((size_t)N * sizeof *w);
    assert_true(c && sn && w);
    const double pi = 3.14159265358979323846;
    for (int j = 0; j < N; j++) {
        c[j] = cos(2 * pi * j / N);
        sn[j] = sin(2 * pi * j / N);
        w[j] = 0.5 - 0.5 * cos(2 * pi * j / N);
    }
    for (int b = 0; b <= N / 2; b++)
        P[b] = 0;
    long long frames = n / N;
    for (long long f = 0; f < frames; f++) {
        const float *fr = x + f * N;
        for (int b = 1; b <= N / 2; b++) {
            double re = 0, im = 0;
            for (int j = 0, k = 0; j < N; j++, k = (k + b) % N) {
                re += w[j] * fr[j] * c[k];
                im -= w[j] * fr[j] * sn[k];
            }
            P[b] += (re * re + im * im) / (double)frames;
        }
    }
    free(c);
    free(sn);
    free(w);
}

static void in_pink_spectrum(void **state)
{
    (void)state;
    enum { N = 2048, FRAMES = 64 };
    const long long n = (long long)N * FRAMES;
    const double amp = 0.5;
    float *x = in_fill("pink", SONO_F32, n, 48000);
    double s2 = 0;
    for (long long i = 0; i < n; i++) {
        assert_true(fabsf(x[i]) < amp);
        s2 += (double)x[i] * x[i];
    }
    /* 16 uniform terms on [-amp, amp) over 16: variance amp^2 / 48; the slow rows make
     * the estimate from one run vary by a few percent */
    assert_true(fabs(sqrt(s2 / n) / (amp / sqrt(48.0)) - 1) < 0.1);

    /* 1/f: the power density falls 10 log10(2) = 3.01 dB per octave. Mean density in
     * octave bands [2^k, 2^(k+1)) bins, k = 2..8 (94 Hz .. 12 kHz at 48 kHz; the top
     * octave bends away as Voss-McCartney's white term dominates near Nyquist). Least
     * squares slope within 0.5 dB/octave of -3.01, each band within 1 dB of the line. */
    double P[N / 2 + 1];
    in_periodogram(x, n, N, P);
    enum { K0 = 2, K1 = 8, NB = K1 - K0 + 1 };
    double db[NB], sx = 0, sy = 0, sxx = 0, sxy = 0;
    for (int k = K0; k <= K1; k++) {
        double sum = 0;
        int lo = 1 << k, hi = 1 << (k + 1);
        for (int b = lo; b < hi; b++)
            sum += P[b];
        db[k - K0] = 10 * log10(sum / (hi - lo));
        sx += k;
        sy += db[k - K0];
        sxx += (double)k * k;
        sxy += k * db[k - K0];
    }
    double slope = (NB * sxy - sx * sy) / (NB * sxx - sx * sx);
    double icpt = (sy - slope * sx) / NB;
    if (fabs(slope + 10 * log10(2.0)) > 0.5)
        fail_msg("pink slope %.2f dB/octave, expected -3.01 +- 0.5", slope);
    for (int k = K0; k <= K1; k++)
        if (fabs(db[k - K0] - (icpt + slope * k)) > 1.0)
            fail_msg("pink octave %d is %.2f dB off the fitted line", k,
                     db[k - K0] - (icpt + slope * k));
    /* white noise, through the same measure, is flat: the test tells them apart */
    float *wn = in_fill("noise", SONO_F32, n, 48000);
    in_periodogram(wn, n, N, P);
    double lo = 0, hi = 0;
    for (int b = 4; b < 8; b++)
        lo += P[b] / 4;
    for (int b = 256; b < 512; b++)
        hi += P[b] / 256;
    assert_true(fabs(10 * log10(hi / lo)) < 3); /* pink: 6 octaves = -18 dB */
    free(wn);
    free(x);
}

/* Sign changes of x in [a, b): twice the cycles in that window, +-1. */
static int in_crossings(const float *x, long long a, long long b)
{
    int c = 0;
    for (long long t = a + 1; t < b; t++)
        c += (x[t - 1] < 0) != (x[t] < 0);
    return c;
}

static void in_sweep_frequency(void **state)
{
    (void)state;
    /* 100 Hz -> 4000 Hz over 1 s at 16 kHz: f(t) = 100 * 40^t. A 50 ms window holds
     * about 0.05 f(mid) cycles, 0.1 f(mid) crossings; the exponential law shows at the
     * middle, where a linear sweep would be at 2050 Hz and this one at 632 Hz. */
    const long long n = 16000;
    const double rate = 16000, w = 0.05;
    float *x = in_fill("sweep(f0=100,f1=4000)", SONO_F32, n, rate);
    const double mids[] = {0.025, 0.5, 0.975};
    for (int i = 0; i < 3; i++) {
        long long a = llround((mids[i] - w / 2) * rate), b = llround((mids[i] + w / 2) * rate);
        double f = 100 * pow(40.0, mids[i]);
        double est = in_crossings(x, a, b) / (2 * w);
        /* the frequency changes across the window by a factor 40^0.05 = 1.2: 2% of the
         * mean, plus one crossing of counting error */
        if (fabs(est - f) > 0.03 * f + 1 / (2 * w) + 1e-9)
            fail_msg("sweep at %.3f s: %.1f Hz from crossings, expected %.1f", mids[i], est, f);
    }
    for (long long t = 0; t < n; t++)
        assert_true(fabsf(x[t]) <= 0.5f);
    /* starts at phase 0: sin(0) */
    assert_float_equal(x[0], 0.0f, 0);
    /* complex: amp exp(i phase), its imaginary part the real sweep */
    float *z = in_fill("sweep(f0=100,f1=4000)", SONO_C64, n, rate);
    for (long long t = 0; t < n; t++) {
        assert_float_equal(z[2 * t + 1], x[t], 0);
        double m = hypot(z[2 * t], z[2 * t + 1]);
        assert_true(fabs(m - 0.5) < 4 * 0.5 * 0x1p-24);
    }
    free(z);
    free(x);
}

static void in_clicks_positions(void **state)
{
    (void)state;
    /* period 12.3 ms at 8 kHz: 98.4 samples, so clicks at round(k * 98.4) */
    const long long want[] = {0, 98, 197, 295, 394, 492, 590, 689, 787, 886, 984};
    const long long n = 1000;
    float *x = in_fill("clicks(period=0.0123)", SONO_F32, n, 8000);
    size_t next = 0;
    for (long long t = 0; t < n; t++) {
        if (next < sizeof want / sizeof want[0] && t == want[next]) {
            assert_float_equal(x[t], 1.0f, 0);
            next++;
        } else if (x[t] != 0.0f) {
            fail_msg("clicks: sample %lld is %g, expected 0", t, (double)x[t]);
        }
    }
    assert_int_equal(next, sizeof want / sizeof want[0]);
    free(x);
    /* default: every 0.5 s; complex: real deltas */
    float *z = in_fill("clicks", SONO_C64, 20000, 8000);
    for (long long t = 0; t < 20000; t++) {
        float want_re = t % 4000 == 0 ? 1.0f : 0.0f;
        assert_float_equal(z[2 * t], want_re, 0);
        assert_float_equal(z[2 * t + 1], 0.0f, 0);
    }
    free(z);
}

static void in_square_clipping(void **state)
{
    (void)state;
    const long long n = 48000;
    float *x = in_fill("square(freq=50)", SONO_F32, n, 48000);
    long long full = 0;
    for (long long t = 0; t < n; t++) {
        assert_true(x[t] >= -1.0f && x[t] <= 1.0f);
        full += x[t] == 1.0f || x[t] == -1.0f;
    }
    /* clip(10 sin) sits at +-1 where |sin| >= 0.1: a fraction 1 - (2/pi) asin(0.1) of a
     * period = 0.93623; at 960 samples a period the count is within a few samples of it */
    double frac = (double)full / n;
    if (fabs(frac - (1 - 2 / 3.14159265358979323846 * asin(0.1))) > 0.002)
        fail_msg("square: %.4f of the samples at +-1, expected 0.9362", frac);
    /* 50 Hz: 100 sign changes in a second; the sign follows the sine */
    assert_true(abs(in_crossings(x, 0, n) - 100) <= 1);
    assert_float_equal(x[240], 1.0f, 0);    /* a quarter period: sin = 1 */
    assert_float_equal(x[720], -1.0f, 0);
    free(x);
}

/* Every generator: the same spec and rate twice give the same bytes, a shorter fill is a
 * prefix of a longer one (except sweep, whose rate of change follows the length), and
 * f32 and c64 both fill. */
static void in_new_generators_repeat(void **state)
{
    (void)state;
    const char *specs[] = {"pink(seed=4)", "sweep", "clicks(period=0.01)", "square(freq=440)",
                           NULL};
    for (int i = 0; specs[i]; i++) {
        for (int c = 0; c < 2; c++) {
            sono_dtype t = c ? SONO_C64 : SONO_F32;
            size_t k = c ? 2 : 1;
            float *a = in_fill(specs[i], t, 4096, 44100);
            float *b = in_fill(specs[i], t, 4096, 44100);
            float *l = in_fill(specs[i], t, 8192, 44100);
            assert_memory_equal(a, b, 4096 * k * sizeof *a);
            if (strncmp(specs[i], "sweep", 5))
                assert_memory_equal(a, l, 4096 * k * sizeof *a);
            else
                assert_memory_not_equal(a, l, 4096 * k * sizeof *a);
            free(a);
            free(b);
            free(l);
        }
    }
    /* pink: another seed, another stream; complex re and im are independent streams */
    float *p1 = in_fill("pink(seed=1)", SONO_F32, 4096, 44100);
    float *p2 = in_fill("pink(seed=2)", SONO_F32, 4096, 44100);
    assert_memory_not_equal(p1, p2, 4096 * sizeof *p1);
    free(p1);
    free(p2);
}

/* Write frames x channels of float samples at rate as a float WAV (lossless). */
static void in_write_wav(const char *name, const float *v, long long frames, int ch,
                         int rate)
{
    char p[128];
    snprintf(p, sizeof p, "%s/%s", in_dir, name);
    SF_INFO info = {.samplerate = rate, .channels = ch,
                    .format = SF_FORMAT_WAV | SF_FORMAT_FLOAT};
    SNDFILE *f = sf_open(p, SFM_WRITE, &info);
    if (!f)
        fail_msg("cannot write %s: %s", p, sf_strerror(NULL));
    assert_int_equal(sf_writef_float(f, v, frames), frames);
    assert_int_equal(sf_close(f), 0);
}

static void in_wav_file(void **state)
{
    (void)state;
    enum { FR = 300 };
    float v[FR * 2];
    for (int i = 0; i < FR; i++) {
        v[2 * i] = (float)i / FR;      /* left */
        v[2 * i + 1] = -0.25f;         /* right */
    }
    in_write_wav("stereo.wav", v, FR, 2, 8000);

    sono_input_spec s;
    sono_error err = {0};
    /* relative: found in base_dir */
    assert_int_equal(sono_input_parse("stereo.wav", in_dir, &s, &err), 0);
    assert_int_equal(s.kind, SONO_INPUT_FILE);
    assert_string_equal(s.name, "stereo.wav");
    /* absolute */
    char p[128];
    snprintf(p, sizeof p, "%s/stereo.wav", in_dir);
    assert_int_equal(sono_input_parse(p, NULL, &s, &err), 0);
    assert_string_equal(s.name, "stereo.wav");
    assert_string_equal(s.path, p);

    float x[FR], z[2 * 100];
    sono_buf b = {.dtype = SONO_F32, .ndim = 2, .shape = {3, 100}, .data = x,
                  .nbytes = sizeof x};
    double rate = 0;
    assert_int_equal(sono_input_fill(&s, 48000, &b, &rate, &err), 0);
    assert_float_equal(rate, 8000, 0);
    for (int i = 0; i < FR; i++)
        assert_float_equal(x[i], (float)(((double)v[2 * i] + v[2 * i + 1]) / 2), 0);

    sono_buf c = {.dtype = SONO_C64, .ndim = 1, .shape = {100}, .data = z,
                  .nbytes = sizeof z};
    assert_int_equal(sono_input_fill(&s, 48000, &c, &rate, &err), 0);
    for (int i = 0; i < 100; i++) {
        assert_float_equal(z[2 * i], x[i], 0);
        assert_float_equal(z[2 * i + 1], 0, 0);
    }

    /* too short: skipped, never padded */
    float big[400];
    sono_buf d = {.dtype = SONO_F32, .ndim = 1, .shape = {400}, .data = big,
                  .nbytes = sizeof big};
    assert_int_equal(sono_input_fill(&s, 8000, &d, &rate, &err), SONO_EUNSUPPORTED);
    assert_non_null(strstr(err.msg, "300"));
    assert_non_null(strstr(err.msg, "400"));
}

static void in_bad_files(void **state)
{
    (void)state;
    char p[128];
    snprintf(p, sizeof p, "%s/garbage.wav", in_dir);
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    fputs("RIFF\x10\0\0\0WAVEnot really", f);
    fclose(f);
    sono_input_spec s;
    sono_error err = {0};
    int rc = sono_input_parse(p, NULL, &s, &err);
    assert_true(rc == SONO_EPARSE || rc == SONO_EIO);
    assert_non_null(strstr(err.msg, "garbage.wav"));

    /* missing: names what was tried */
    rc = sono_input_parse("missing.flac", in_dir, &s, &err);
    assert_int_equal(rc, SONO_ENOTFOUND);
    assert_non_null(strstr(err.msg, "missing.flac"));
    assert_non_null(strstr(err.msg, in_dir));

    /* a path with '/' is a file even without an audio extension */
    rc = sono_input_parse("./no/such/thing", NULL, &s, &err);
    assert_int_equal(rc, SONO_ENOTFOUND);
    assert_non_null(strstr(err.msg, "./no/such/thing"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(in_canonical_names),
        cmocka_unit_test(in_bad_specs),
        cmocka_unit_test(in_fill_errors),
        cmocka_unit_test(in_noise_statistics),
        cmocka_unit_test(in_noise_complex),
        cmocka_unit_test(in_sine_frequency),
        cmocka_unit_test(in_chirp_sweeps),
        cmocka_unit_test(in_impulse_and_silence),
        cmocka_unit_test(in_pink_spectrum),
        cmocka_unit_test(in_sweep_frequency),
        cmocka_unit_test(in_clicks_positions),
        cmocka_unit_test(in_square_clipping),
        cmocka_unit_test(in_new_generators_repeat),
        cmocka_unit_test(in_wav_file),
        cmocka_unit_test(in_bad_files),
    };
    return cmocka_run_group_tests(tests, in_setup, in_teardown);
}
