/* test_speech.c — the recorded inputs (datasets/speech.c, resample.c, audiofile.c):
 * `speech` against the alsa-utils files read here with libsndfile, its looping at 16 and
 * 48 kHz and 10 minutes, resampling checked against analytic sines, directories, and the
 * errors for missing, corrupt and mis-hashed files. The speech tests need alsa-utils
 * (ci/install-deps.sh) and fail saying so when its files are absent. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <limits.h>
#include <math.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audio.h"
#include "input.h"
#include "sha256.h"

static char sp_dir[64];
static const double PI = 3.14159265358979323846;

/* The voice files in the order the issue fixes; Noise.wav is not speech. */
static const char *const VOICES[] = {"Front_Center", "Front_Left", "Front_Right", "Rear_Center",
                                     "Rear_Left",    "Rear_Right", "Side_Left",   "Side_Right"};
enum { NVOICES = 8 };

static int sp_setup(void **state)
{
    (void)state;
    snprintf(sp_dir, sizeof sp_dir, "/tmp/sono_speech_XXXXXX");
    return mkdtemp(sp_dir) ? 0 : -1;
}

static int sp_teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", sp_dir);
    return system(cmd);
}

static void sp_path(char *out, size_t n, const char *name)
{
    snprintf(out, n, "%s/%s", sp_dir, name);
}

/* Write frames x ch float samples at rate to sp_dir/name (16-bit PCM when pcm16). */
static void sp_write(const char *name, const float *v, long long frames, int ch, int rate,
                     int pcm16)
{
    char p[PATH_MAX];
    sp_path(p, sizeof p, name);
    SF_INFO info = {.samplerate = rate, .channels = ch,
                    .format = SF_FORMAT_WAV | (pcm16 ? SF_FORMAT_PCM_16 : SF_FORMAT_FLOAT)};
    SNDFILE *f = sf_open(p, SFM_WRITE, &info);
    if (!f)
        fail_msg("cannot write %s: %s", p, sf_strerror(NULL));
    assert_int_equal(sf_writef_float(f, v, frames), frames);
    assert_int_equal(sf_close(f), 0);
}

static void sp_write_text(const char *name, const char *text)
{
    char p[PATH_MAX];
    sp_path(p, sizeof p, name);
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* amp sin(2 pi f t / rate), t = 0..n-1, in long double: the reference for resampling. */
static float *sp_sine(long long n, double f, double rate, double amp)
{
    float *v = malloc((size_t)n * sizeof *v);
    assert_non_null(v);
    for (long long t = 0; t < n; t++)
        v[t] = (float)(amp * sinl(2.0L * (long double)PI * f * (long double)t / rate));
    return v;
}

static void sp_parse(const char *text, sono_input_spec *s)
{
    sono_error err = {0};
    if (sono_input_parse(text, NULL, s, &err))
        fail_msg("parse '%s': %s", text, err.msg);
}

/* n samples of s at rate (sono_input_fill_at when at, else sono_input_fill); caller frees. */
static float *sp_fill(const sono_input_spec *s, double rate, long long n, int at,
                      double *used)
{
    float *x = malloc((size_t)n * sizeof *x);
    assert_non_null(x);
    sono_buf b = {.dtype = SONO_F32, .ndim = 1, .shape = {n}, .data = x,
                  .nbytes = (size_t)n * sizeof *x};
    sono_error err = {0};
    int rc = at ? sono_input_fill_at(s, rate, &b, &err) : sono_input_fill(s, rate, &b, used, &err);
    if (rc)
        fail_msg("fill '%s' at %g Hz: %s", s->name, rate, err.msg);
    return x;
}

/* The voices as mono float at 48 kHz, read here with libsndfile; *n: total samples. */
static float *sp_voices(long long *n, long long lens[NVOICES])
{
    float *all = NULL;
    *n = 0;
    for (int i = 0; i < NVOICES; i++) {
        char p[PATH_MAX];
        snprintf(p, sizeof p, "/usr/share/sounds/alsa/%s.wav", VOICES[i]);
        SF_INFO info = {0};
        SNDFILE *f = sf_open(p, SFM_READ, &info);
        if (!f)
            fail_msg("%s: %s; install alsa-utils (ci/install-deps.sh)", p, sf_strerror(NULL));
        assert_int_equal(info.channels, 1);
        assert_int_equal(info.samplerate, 48000);
        all = realloc(all, (size_t)(*n + info.frames) * sizeof *all);
        assert_non_null(all);
        assert_int_equal(sf_readf_float(f, all + *n, info.frames), info.frames);
        sf_close(f);
        lens[i] = info.frames;
        *n += info.frames;
    }
    return all;
}

/* The shortest p in [lo, hi] with x[i + p] == x[i] for all i + p < n; 0 if none. */
static long long sp_period(const float *x, long long n, long long lo, long long hi)
{
    for (long long p = lo; p <= hi; p++) {
        long long i = 0;
        while (i + p < n && x[i + p] == x[i])
            i++;
        if (i + p == n)
            return p;
    }
    return 0;
}

/* ---- speech ------------------------------------------------------------------------- */

static void sp_manifest_shipped(void **state)
{
    (void)state;
    char m[PATH_MAX], want[PATH_MAX], got[PATH_MAX];
    sono_error err = {0};
    if (sono_speech_find_manifest(m, sizeof m, &err))
        fail_msg("%s", err.msg);
    /* the tree's own (the tests run from the repo root) */
    assert_non_null(realpath("datasets/speech.manifest", want));
    assert_non_null(realpath(m, got));
    assert_string_equal(got, want);
    /* the eight voices, in order, and not Noise.wav */
    FILE *f = fopen(m, "r");
    assert_non_null(f);
    char line[1024];
    int k = 0;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#' || line[0] == '\n')
            continue;
        assert_true(k < NVOICES);
        char name[64];
        snprintf(name, sizeof name, "/usr/share/sounds/alsa/%s.wav ", VOICES[k++]);
        if (!strstr(line, name))
            fail_msg("manifest line %d lacks %s: %s", k, name, line);
        assert_null(strstr(line, "Noise"));
    }
    fclose(f);
    assert_int_equal(k, NVOICES);
    if (sono_speech_check_manifest(m, &err))
        fail_msg("%s", err.msg);
}

static void sp_speech_48k(void **state)
{
    (void)state;
    long long L, lens[NVOICES];
    float *ref = sp_voices(&L, lens);
    sono_input_spec s;
    sp_parse("speech", &s);
    assert_int_equal(s.kind, SONO_INPUT_GEN);
    assert_string_equal(s.name, "speech");
    /* 30 s at the files' own rate: the files themselves, concatenated, then again */
    const long long n = 30 * 48000;
    double used = 0;
    float *x = sp_fill(&s, 48000, n, 0, &used);
    assert_float_equal(used, 48000, 0);
    assert_true(n > 2 * L);
    for (long long i = 0; i < n; i++)
        if (x[i] != ref[i % L])
            fail_msg("speech at 48 kHz: sample %lld is %g, file sample %lld is %g", i,
                     (double)x[i], i % L, (double)ref[i % L]);
    /* ~11.4 s of distinct speech */
    assert_true(fabs((double)L / 48000 - 11.39) < 0.01);
    /* the same through sono_input_fill_at */
    float *y = sp_fill(&s, 48000, n, 1, NULL);
    assert_memory_equal(x, y, (size_t)n * sizeof *x);
    free(y);
    free(x);
    free(ref);
}

static void sp_speech_16k(void **state)
{
    (void)state;
    long long L48, lens[NVOICES];
    float *ref = sp_voices(&L48, lens);
    sono_input_spec s;
    sp_parse("speech", &s);
    const long long n = 30 * 16000;
    float *x = sp_fill(&s, 16000, n, 1, NULL);
    /* each file resampled on its own to a third of its length (+-1 at each end) */
    long long L = sp_period(x, n, L48 / 3 - 2 * NVOICES, L48 / 3 + 2 * NVOICES);
    if (!L)
        fail_msg("speech at 16 kHz does not repeat with a period near %lld", L48 / 3);
    /* same speech: every third sample of the 48 kHz files, within the energy speech has
     * above 8 kHz (the resampler removes it: 15% of the L2 norm here; one sample of
     * misalignment gives 36%). Over the first file, where the two align. */
    double e = 0, r = 0;
    for (long long i = 0; i < lens[0] / 3 - 1; i++) {
        double d = x[i] - (double)ref[3 * i];
        e += d * d;
        r += (double)ref[3 * i] * ref[3 * i];
    }
    if (!(sqrt(e / r) < 0.2))
        fail_msg("speech at 16 kHz vs the 48 kHz file decimated: rel L2 %.3f", sqrt(e / r));
    /* sono_input_fill with the suite's rate gives the same samples */
    double used = 0;
    float *y = sp_fill(&s, 16000, n, 0, &used);
    assert_float_equal(used, 16000, 0);
    assert_memory_equal(x, y, (size_t)n * sizeof *x);
    free(y);

    /* ten minutes: the same loop to the end */
    const long long big = 600LL * 16000;
    float *z = sp_fill(&s, 16000, big, 1, NULL);
    assert_memory_equal(z, x, (size_t)n * sizeof *x);
    for (long long i = big - 3 * L; i < big; i++)
        if (z[i] != x[i % L])
            fail_msg("10 min of speech: sample %lld differs from %lld", i, i % L);
    free(z);

    /* complex: re = speech, im = 0 */
    float *c = malloc(2 * 20000 * sizeof *c);
    assert_non_null(c);
    sono_buf b = {.dtype = SONO_C64, .ndim = 1, .shape = {20000}, .data = c,
                  .nbytes = 2 * 20000 * sizeof *c};
    sono_error err = {0};
    assert_int_equal(sono_input_fill_at(&s, 16000, &b, &err), 0);
    for (int i = 0; i < 20000; i++) {
        assert_float_equal(c[2 * i], x[i], 0);
        assert_float_equal(c[2 * i + 1], 0, 0);
    }
    free(c);
    free(x);
    free(ref);
}

/* ---- resampling --------------------------------------------------------------------- */

/* Largest |x - ref| over [a, b). */
static double sp_maxerr(const float *x, const float *ref, long long a, long long b)
{
    double m = 0;
    for (long long i = a; i < b; i++) {
        double d = fabs((double)x[i] - ref[i]);
        m = d > m ? d : m;
    }
    return m;
}

static void sp_resample_sine(void **state)
{
    (void)state;
    /* 2 s of 1 kHz at 48 kHz, amplitude 0.5 */
    float *src = sp_sine(96000, 1000, 48000, 0.5);
    sp_write("sine48k.wav", src, 96000, 1, 48000, 0);
    char p[PATH_MAX];
    sp_path(p, sizeof p, "sine48k.wav");
    sono_input_spec s;
    sp_parse(p, &s);

    /* at its own rate, through either call: the file's samples, untouched */
    double used = 0;
    float *own = sp_fill(&s, 16000, 96000, 0, &used);
    assert_float_equal(used, 48000, 0);
    assert_memory_equal(own, src, 96000 * sizeof *src);
    float *own_at = sp_fill(&s, 48000, 96000, 1, NULL);
    assert_memory_equal(own_at, src, 96000 * sizeof *src);
    free(own);
    free(own_at);

    /* 48 -> 16 kHz: the same sine on the 16 kHz grid, aligned (no delay), away from the
     * ends where the sinc filter sees the file's edges. Frequency: 2000 crossings in a
     * second; amplitude and shape: within 1e-5 of 0.5 sin (best sinc: ~ -140 dB). */
    const long long n = 30000;
    float *x = sp_fill(&s, 16000, n, 1, NULL);
    float *ref = sp_sine(n, 1000, 16000, 0.5);
    int cross = 0;
    for (long long t = 4001; t < 20000; t++)
        cross += (x[t - 1] < 0) != (x[t] < 0);
    assert_true(abs(cross - 2000) <= 1);
    double err16 = sp_maxerr(x, ref, 1000, n - 1000);
    if (!(err16 < 1e-5))
        fail_msg("1 kHz resampled 48 -> 16 kHz: max error %g", err16);
    float peak = 0;
    for (long long t = 1000; t < n - 1000; t++)
        peak = fabsf(x[t]) > peak ? fabsf(x[t]) : peak;
    assert_true(fabs(peak - 0.5) < 1e-5);
    free(x);
    free(ref);

    /* 16 -> 44.1 kHz (a ratio that is no integer) from a 16 kHz file */
    float *s16 = sp_sine(32000, 1000, 16000, 0.5);
    sp_write("sine16k.wav", s16, 32000, 1, 16000, 0);
    sp_path(p, sizeof p, "sine16k.wav");
    sp_parse(p, &s);
    const long long m = 80000;
    float *up = sp_fill(&s, 44100, m, 1, NULL);
    float *ref44 = sp_sine(m, 1000, 44100, 0.5);
    double err44 = sp_maxerr(up, ref44, 3000, m - 3000);
    if (!(err44 < 1e-5))
        fail_msg("1 kHz resampled 16 -> 44.1 kHz: max error %g", err44);
    free(up);
    free(ref44);
    free(s16);

    /* too short once resampled: 2 s at 16 kHz is 32000 samples, never padded */
    sp_path(p, sizeof p, "sine48k.wav");
    sp_parse(p, &s);
    float big[33000];
    sono_buf b = {.dtype = SONO_F32, .ndim = 1, .shape = {33000}, .data = big,
                  .nbytes = sizeof big};
    sono_error err = {0};
    assert_int_equal(sono_input_fill_at(&s, 16000, &b, &err), SONO_EUNSUPPORTED);
    assert_non_null(strstr(err.msg, "sine48k.wav"));
    assert_non_null(strstr(err.msg, "33000"));
    assert_non_null(strstr(err.msg, "48000"));
    free(src);
}

/* ---- directories -------------------------------------------------------------------- */

static void sp_directory(void **state)
{
    (void)state;
    char d[PATH_MAX], p[PATH_MAX];
    sp_path(d, sizeof d, "clips");
    assert_int_equal(mkdir(d, 0755), 0);
    /* written out of name order; a stereo one; and a file that is not audio */
    float b[200], a[2 * 100];
    for (int i = 0; i < 200; i++)
        b[i] = (float)(i - 100) / 128;
    for (int i = 0; i < 100; i++) {
        a[2 * i] = (float)i / 256;
        a[2 * i + 1] = -0.5f;
    }
    sp_write("clips/b.wav", b, 200, 1, 8000, 0);
    sp_write("clips/a.wav", a, 100, 2, 8000, 0);
    sp_write_text("clips/notes.txt", "not audio");

    snprintf(p, sizeof p, "%s/", d);
    sono_input_spec s;
    sp_parse(p, &s);
    assert_int_equal(s.kind, SONO_INPUT_FILE);
    assert_true(s.dir);
    assert_string_equal(s.name, "clips/");

    double used = 0;
    float *x = sp_fill(&s, 48000, 300, 0, &used);
    assert_float_equal(used, 8000, 0);
    for (int i = 0; i < 100; i++)
        assert_float_equal(x[i], (float)(((double)a[2 * i] + a[2 * i + 1]) / 2), 0);
    for (int i = 0; i < 200; i++)
        assert_float_equal(x[100 + i], b[i], 0);
    free(x);

    /* one sample more than the files hold: skipped, not looped */
    float big[301];
    sono_buf bb = {.dtype = SONO_F32, .ndim = 1, .shape = {301}, .data = big,
                   .nbytes = sizeof big};
    sono_error err = {0};
    assert_int_equal(sono_input_fill(&s, 8000, &bb, &used, &err), SONO_EUNSUPPORTED);
    assert_non_null(strstr(err.msg, "clips"));
    assert_non_null(strstr(err.msg, "300"));
    assert_non_null(strstr(err.msg, "301"));

    /* mixed rates: the first file's rate for sono_input_fill, the op's for _at */
    sp_path(d, sizeof d, "mixed");
    assert_int_equal(mkdir(d, 0755), 0);
    float *s8 = sp_sine(8000, 500, 8000, 0.5), *s16 = sp_sine(16000, 500, 16000, 0.5);
    sp_write("mixed/1.wav", s8, 8000, 1, 8000, 0);
    sp_write("mixed/2.wav", s16, 16000, 1, 16000, 0);
    sp_path(p, sizeof p, "mixed/");
    sp_parse(p, &s);
    x = sp_fill(&s, 44100, 15000, 0, &used);
    assert_float_equal(used, 8000, 0);
    assert_memory_equal(x, s8, 8000 * sizeof *x);
    /* 2.wav at 8 kHz: the same 500 Hz sine from phase 0 */
    double e = sp_maxerr(x + 8000, s8, 500, 6000);
    if (!(e < 1e-5))
        fail_msg("16 kHz file of a directory at 8 kHz: max error %g", e);
    free(x);
    x = sp_fill(&s, 16000, 31000, 1, NULL);
    assert_memory_equal(x + 16000, s16, 15000 * sizeof *x);
    free(x);
    free(s8);
    free(s16);
}

static void sp_directory_errors(void **state)
{
    (void)state;
    char d[PATH_MAX], p[PATH_MAX];
    sono_input_spec s;
    sono_error err = {0};
    /* empty */
    sp_path(d, sizeof d, "empty");
    assert_int_equal(mkdir(d, 0755), 0);
    snprintf(p, sizeof p, "%s/", d);
    assert_int_equal(sono_input_parse(p, NULL, &s, &err), SONO_ENOTFOUND);
    assert_non_null(strstr(err.msg, d));
    assert_non_null(strstr(err.msg, "no audio files"));
    /* only files that are not audio */
    sp_write_text("empty/readme.txt", "hello");
    assert_int_equal(sono_input_parse(p, NULL, &s, &err), SONO_ENOTFOUND);
    /* a corrupt file among good ones: named */
    sp_path(d, sizeof d, "bad");
    assert_int_equal(mkdir(d, 0755), 0);
    float v[64] = {0};
    sp_write("bad/good.wav", v, 64, 1, 8000, 0);
    sp_write_text("bad/zz_broken.wav", "RIFF\x10\x00\x00\x00WAVEgarbage here");
    snprintf(p, sizeof p, "%s/", d);
    assert_int_equal(sono_input_parse(p, NULL, &s, &err), SONO_EPARSE);
    assert_non_null(strstr(err.msg, "zz_broken.wav"));
    /* relative to the suite's folder, with the '/' that makes it a path */
    assert_int_equal(sono_input_parse("nodir/", sp_dir, &s, &err), SONO_ENOTFOUND);
    assert_non_null(strstr(err.msg, "nodir/"));
}

/* ---- missing and corrupt files ------------------------------------------------------ */

static void sp_bad_files(void **state)
{
    (void)state;
    char p[PATH_MAX];
    sono_input_spec s;
    sono_error err = {0};
    /* missing */
    sp_path(p, sizeof p, "nowhere.wav");
    assert_int_equal(sono_input_parse(p, NULL, &s, &err), SONO_ENOTFOUND);
    assert_int_equal(err.code, SONO_ENOTFOUND);
    assert_non_null(strstr(err.msg, "nowhere.wav"));
    /* garbage with a .wav name */
    sp_write_text("corrupt.wav", "this is not a wave file at all, just text");
    sp_path(p, sizeof p, "corrupt.wav");
    assert_int_equal(sono_input_parse(p, NULL, &s, &err), SONO_EPARSE);
    assert_non_null(strstr(err.msg, "corrupt.wav"));
    /* good when parsed, garbage by the time it is read: an error, not a crash */
    float v[4000] = {0};
    sp_write("later.wav", v, 4000, 1, 8000, 0);
    sp_path(p, sizeof p, "later.wav");
    sp_parse(p, &s);
    sp_write_text("later.wav", "gone bad");
    float x[1000];
    sono_buf b = {.dtype = SONO_F32, .ndim = 1, .shape = {1000}, .data = x,
                  .nbytes = sizeof x};
    assert_int_equal(sono_input_fill_at(&s, 16000, &b, &err), SONO_EPARSE);
    assert_non_null(strstr(err.msg, "later.wav"));
    unlink(p);
    assert_int_equal(sono_input_fill_at(&s, 16000, &b, &err), SONO_ENOTFOUND);
    assert_non_null(strstr(err.msg, "later.wav"));
    /* truncated: a 16-bit WAV cut in the middle of its data */
    float w[2000];
    for (int i = 0; i < 2000; i++)
        w[i] = (float)sin(i * 0.1) / 2;
    sp_write("cut.wav", w, 2000, 1, 8000, 1);
    sp_path(p, sizeof p, "cut.wav");
    assert_int_equal(truncate(p, 44 + 2 * 1000), 0);
    float y[1500];
    sono_buf c = {.dtype = SONO_F32, .ndim = 1, .shape = {1500}, .data = y,
                  .nbytes = sizeof y};
    int rc = sono_input_parse(p, NULL, &s, &err);
    if (rc == 0) {
        /* libsndfile may accept the shorter file: then it is short, never padded */
        double used;
        rc = sono_input_fill(&s, 8000, &c, &used, &err);
        assert_true(rc == SONO_EUNSUPPORTED || rc == SONO_EPARSE);
    }
    assert_non_null(strstr(err.msg, "cut.wav"));
}

/* ---- manifests ---------------------------------------------------------------------- */

static void sp_manifest_errors(void **state)
{
    (void)state;
    char m[PATH_MAX], p[PATH_MAX], hex[65];
    sono_error err = {0};
    float v[300];
    for (int i = 0; i < 300; i++)
        v[i] = (float)i / 512;
    sp_write("voice.wav", v, 300, 1, 8000, 0);
    sp_path(p, sizeof p, "voice.wav");
    size_t len = 0;
    FILE *f = fopen(p, "rb");
    assert_non_null(f);
    unsigned char bytes[8192];
    len = fread(bytes, 1, sizeof bytes, f);
    fclose(f);
    assert_true(len > 0 && len < sizeof bytes);
    sono_sha256_hex(bytes, len, hex);
    sp_path(m, sizeof m, "test.manifest");
    char text[1024];

    /* right hash, relative path: accepted, and speech over it loops */
    snprintf(text, sizeof text, "# a comment\n\n%s voice.wav a test voice\n", hex);
    sp_write_text("test.manifest", text);
    if (sono_speech_check_manifest(m, &err))
        fail_msg("%s", err.msg);
    float x[750];
    assert_int_equal(sono_speech_fill(m, 8000, x, 750, &err), 0);
    for (int i = 0; i < 750; i++)
        assert_float_equal(x[i], v[i % 300], 0);

    /* wrong hash: both hashes and the file */
    const char *wrong = "00000000000000000000000000000000000000000000000000000000000000ff";
    snprintf(text, sizeof text, "%s voice.wav a test voice\n", wrong);
    sp_write_text("test.manifest", text);
    assert_int_equal(sono_speech_check_manifest(m, &err), SONO_EPARSE);
    assert_non_null(strstr(err.msg, "voice.wav"));
    assert_non_null(strstr(err.msg, wrong));
    assert_non_null(strstr(err.msg, hex));

    /* missing file: where it was looked for, and how to get it */
    snprintf(text, sizeof text, "%s /no/such/dir/Front_Center.wav a voice\n", hex);
    sp_write_text("test.manifest", text);
    assert_int_equal(sono_speech_check_manifest(m, &err), SONO_ENOTFOUND);
    assert_non_null(strstr(err.msg, "/no/such/dir/Front_Center.wav"));
    assert_non_null(strstr(err.msg, "install alsa-utils (ci/install-deps.sh)"));

    /* malformed: the line */
    snprintf(text, sizeof text, "%s voice.wav ok\nnot-a-hash voice.wav\n", hex);
    sp_write_text("test.manifest", text);
    assert_int_equal(sono_speech_check_manifest(m, &err), SONO_EPARSE);
    assert_non_null(strstr(err.msg, "test.manifest:2"));
    /* empty */
    sp_write_text("test.manifest", "# nothing\n");
    assert_int_equal(sono_speech_check_manifest(m, &err), SONO_EPARSE);
    assert_non_null(strstr(err.msg, "no files"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sp_manifest_shipped),
        cmocka_unit_test(sp_speech_48k),
        cmocka_unit_test(sp_speech_16k),
        cmocka_unit_test(sp_resample_sine),
        cmocka_unit_test(sp_directory),
        cmocka_unit_test(sp_directory_errors),
        cmocka_unit_test(sp_bad_files),
        cmocka_unit_test(sp_manifest_errors),
    };
    return cmocka_run_group_tests(tests, sp_setup, sp_teardown);
}
