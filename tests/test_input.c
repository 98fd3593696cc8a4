/* test_input.c — input specs (datasets/signals.c, datasets/audiofile.c): parsing and its
 * messages, canonical names, the generators' statistics and frequencies checked against
 * independent computations, and WAV files written here with libsndfile. */
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
    /* the generator list is the one the parser accepts */
    for (int i = 0; sono_input_generators[i]; i++)
        in_parse_ok(sono_input_generators[i], sono_input_generators[i]);
}

static void in_bad_specs(void **state)
{
    (void)state;
    in_parse_bad("sinx", SONO_EINVAL, "sinx", "noise, sine, chirp, impulse, silence");
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
        cmocka_unit_test(in_wav_file),
        cmocka_unit_test(in_bad_files),
    };
    return cmocka_run_group_tests(tests, in_setup, in_teardown);
}
