/* signals.c — input specs: parsing "gen(k=v,...)" into a canonical name for case ids, the
 * first generators (noise, sine, chirp, impulse, silence) and the dispatch to the others
 * (synth.c) and to recordings (speech.c, audiofile.c). Every sample is built so that the
 * same spec, rate and shape give the same bits on any x86-64 Linux: integer PRNG, phases
 * in double reduced with fmod. */
#include "audio.h"

#ifdef __FAST_MATH__
/* -ffast-math reassociates the phase sums and turns x / rate into x * (1 / rate): the
 * samples, and so every recorded input hash, would change with the build flags. */
#error "datasets/signals.c must not be built with -ffast-math"
#endif

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "prng.h"

const char *const sono_input_generators[] = {"noise",  "sine",   "chirp",  "impulse",
                                             "silence", "pink",  "sweep",  "clicks",
                                             "square", "speech", NULL};

#define MAX_OPTS 3
/* Options in the order they appear in canonical names; changing an order changes every
 * case id that uses the generator, so append only. */
static const struct {
    const char *name;
    const char *opts[MAX_OPTS + 1];
    const char *accepted; /* for messages */
    const char *help;     /* for `harness list` */
} gens[] = {
    {"noise", {"seed", "amp", NULL}, "seed (integer >= 0), amp (0 < amp <= 1)",
     "noise(seed=1,amp=0.5): uniform white noise in [-amp, amp)"},
    {"sine", {"freq", "amp", NULL}, "freq (Hz, 0 <= freq < rate/2), amp (0 < amp <= 1)",
     "sine(freq=1000,amp=0.5)"},
    {"chirp", {"f0", "f1", "amp", NULL},
     "f0, f1 (Hz, 0 <= f < rate/2), amp (0 < amp <= 1)",
     "chirp(f0=20,f1=0.45*rate,amp=0.5): linear sweep over the whole signal"},
    {"impulse", {"pos", NULL}, "pos (sample index >= 0)",
     "impulse(pos=0): one unit impulse at sample pos"},
    {"silence", {NULL}, "no options", "silence: zeros"},
    {"pink", {"seed", "amp", NULL}, "seed (integer >= 0), amp (0 < amp <= 1)",
     "pink(seed=1,amp=0.5): 1/f noise (Voss-McCartney), |x| < amp, RMS amp/sqrt(48)"},
    {"sweep", {"f0", "f1", "amp", NULL},
     "f0 (Hz, 0 < f0 < rate/2), f1 (Hz, 0 < f1 < rate/2), amp (0 < amp <= 1)",
     "sweep(f0=20,f1=0.45*rate,amp=0.5): exponential sweep over the whole signal "
     "(Farina)"},
    {"clicks", {"period", NULL}, "period (seconds, at least one sample)",
     "clicks(period=0.5): unit impulses every period seconds from sample 0"},
    {"square", {"freq", NULL}, "freq (Hz, 0 <= freq < rate/2)",
     "square(freq=1000): clip(10 sin) to [-1, 1], full scale"},
    {"speech", {NULL}, "no options",
     "speech: the alsa-utils voices of datasets/speech.manifest (~11.4 s), resampled "
     "to the rate and looped"},
};
#define NGENS (sizeof gens / sizeof gens[0])

static const char GEN_LIST[] =
    "noise, sine, chirp, impulse, silence, pink, sweep, clicks, square, speech";

const char *sono_input_help(const char *gen)
{
    for (size_t i = 0; gen && i < NGENS; i++)
        if (!strcmp(gens[i].name, gen))
            return gens[i].help;
    return NULL;
}
static const double TWO_PI = 6.283185307179586476925286766559;
/* spec->f1 below zero: "0.45 x the sample rate", known only when filling. */
static const double F1_DEFAULT = -1.0;

/* ---- parsing ------------------------------------------------------------------- */

/* Trim [*b, *e) in place of whitespace on both ends. */
static void trim(const char **b, const char **e)
{
    while (*b < *e && isspace((unsigned char)**b))
        (*b)++;
    while (*e > *b && isspace((unsigned char)(*e)[-1]))
        (*e)--;
}

static int parse_double(const char *v, double *out)
{
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (end == v || *end || errno == ERANGE || !isfinite(d))
        return -1;
    *out = d;
    return 0;
}

/* Integers only in plain decimal: "1e3" or "0x10" in a case id would be a second
 * spelling of the same input. */
static int parse_ull(const char *v, unsigned long long *out)
{
    if (!*v)
        return -1;
    for (const char *p = v; *p; p++)
        if (!isdigit((unsigned char)*p))
            return -1;
    errno = 0;
    unsigned long long x = strtoull(v, NULL, 10);
    if (errno == ERANGE)
        return -1;
    *out = x;
    return 0;
}

/* Parse one "key=value" (already trimmed, NUL-terminated in item) for generator g. */
static int parse_option(size_t g, char *item, const char *text, bool given[MAX_OPTS],
                        sono_input_spec *spec, sono_error *err)
{
    char *eq = strchr(item, '=');
    if (!eq)
        return sono_fail(err, SONO_EINVAL,
                         "input '%s': option '%s' is not key=value; %s accepts %s", text,
                         item, gens[g].name, gens[g].accepted);
    const char *kb = item, *ke = eq, *vb = eq + 1, *ve = eq + 1 + strlen(eq + 1);
    trim(&kb, &ke);
    trim(&vb, &ve);
    *(char *)ke = '\0';
    *(char *)ve = '\0';
    int k = -1;
    for (int i = 0; gens[g].opts[i]; i++)
        if (strcmp(gens[g].opts[i], kb) == 0)
            k = i;
    if (k < 0)
        return sono_fail(err, SONO_EINVAL,
                         "input '%s': unknown option '%s' for %s; it accepts %s",
                         text, kb, gens[g].name, gens[g].accepted);
    if (given[k])
        return sono_fail(err, SONO_EINVAL, "input '%s': option '%s' given twice", text, kb);
    given[k] = true;

    if (strcmp(kb, "seed") == 0) {
        if (parse_ull(vb, &spec->seed))
            return sono_fail(err, SONO_EINVAL,
                             "input '%s': seed '%s' is not a decimal integer in 0..2^64-1",
                             text, vb);
        return 0;
    }
    if (strcmp(kb, "pos") == 0) {
        unsigned long long u;
        if (vb[0] == '-' && parse_ull(vb + 1, &u) == 0)
            return sono_fail(err, SONO_EINVAL,
                             "input '%s': pos=%s is negative; it is a sample index >= 0",
                             text, vb);
        if (parse_ull(vb, &u) || u > (unsigned long long)LLONG_MAX)
            return sono_fail(err, SONO_EINVAL,
                             "input '%s': pos '%s' is not a decimal integer >= 0", text, vb);
        spec->pos = (long long)u;
        return 0;
    }
    double d;
    if (parse_double(vb, &d))
        return sono_fail(err, SONO_EINVAL, "input '%s': %s '%s' is not a finite number",
                         text, kb, vb);
    if (strcmp(kb, "period") == 0) {
        /* at least one sample is checked when filling, when the rate is known */
        if (!(d > 0.0))
            return sono_fail(err, SONO_EINVAL,
                             "input '%s': period=%s is out of range; accepted period > 0 "
                             "seconds",
                             text, vb);
        spec->period = d;
        return 0;
    }
    if (strcmp(kb, "amp") == 0) {
        if (!(d > 0.0 && d <= 1.0))
            return sono_fail(err, SONO_EINVAL,
                             "input '%s': amp=%s is out of range; accepted 0 < amp <= 1",
                             text, vb);
        spec->amp = d;
        return 0;
    }
    /* freq, f0, f1: the upper bound (rate/2) is checked when filling, when rate is known */
    if (d < 0.0)
        return sono_fail(err, SONO_EINVAL,
                         "input '%s': %s=%s is negative; accepted 0 <= %s < rate/2", text,
                         kb, vb, kb);
    if (strcmp(kb, "freq") == 0)
        spec->freq = d;
    else if (strcmp(kb, "f0") == 0)
        spec->f0 = d;
    else
        spec->f1 = d;
    return 0;
}

/* Append to the canonical name; *w tracks the length it would have, so overflow shows. */
static void append(sono_input_spec *spec, size_t *w, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void append(sono_input_spec *spec, size_t *w, const char *fmt, ...)
{
    size_t cap = sizeof spec->name, k = *w < cap ? *w : cap - 1;
    va_list ap;
    va_start(ap, fmt);
    int r = vsnprintf(spec->name + k, cap - k, fmt, ap);
    va_end(ap);
    *w += r > 0 ? (size_t)r : 0;
}

/* The canonical name: options that were given, in the table's order, numbers with %g. */
static int canonical_name(size_t g, const bool given[MAX_OPTS], sono_input_spec *spec,
                          const char *text, sono_error *err)
{
    size_t w = 0;
    const char *sep = "(";
    spec->name[0] = '\0';
    append(spec, &w, "%s", gens[g].name);
    for (int i = 0; gens[g].opts[i]; i++) {
        const char *o = gens[g].opts[i];
        if (!given[i])
            continue;
        if (!strcmp(o, "seed"))
            append(spec, &w, "%s%s=%llu", sep, o, spec->seed);
        else if (!strcmp(o, "pos"))
            append(spec, &w, "%s%s=%lld", sep, o, spec->pos);
        else
            append(spec, &w, "%s%s=%g", sep, o,
                   !strcmp(o, "amp")      ? spec->amp
                   : !strcmp(o, "freq")   ? spec->freq
                   : !strcmp(o, "f0")     ? spec->f0
                   : !strcmp(o, "period") ? spec->period
                                          : spec->f1);
        sep = ",";
    }
    if (sep[0] == ',')
        append(spec, &w, ")");
    if (w >= sizeof spec->name)
        return sono_fail(err, SONO_EINTERNAL, "input '%s': canonical name too long", text);
    return 0;
}

int sono_input_parse(const char *text, const char *base_dir, sono_input_spec *spec,
                     sono_error *err)
{
    if (!text || !spec)
        return sono_fail(err, SONO_EINVAL, "input: no spec text given");
    memset(spec, 0, sizeof *spec);
    const char *b = text, *e = text + strlen(text);
    trim(&b, &e);
    /* orig names the spec in messages; work is cut up in place while parsing */
    char orig[1024], work[1024];
    size_t len = (size_t)(e - b);
    if (len >= sizeof orig)
        return sono_fail(err, SONO_EINVAL, "input '%.60s...': longer than %zu characters",
                         b, sizeof orig - 1);
    memcpy(orig, b, len);
    orig[len] = '\0';
    memcpy(work, orig, len + 1);
    if (!len)
        return sono_fail(err, SONO_EINVAL,
                         "input is empty; give a generator (%s) or an audio file path",
                         GEN_LIST);
    if (sono_input_is_file(orig))
        return sono_input_parse_file(orig, base_dir, spec, err);

    char *paren = strchr(work, '(');
    const char *nb = work, *ne = paren ? paren : work + len;
    trim(&nb, &ne);
    size_t g = NGENS, nl = (size_t)(ne - nb);
    for (size_t i = 0; i < NGENS; i++)
        if (strlen(gens[i].name) == nl && !memcmp(gens[i].name, nb, nl))
            g = i;
    if (g == NGENS)
        return sono_fail(err, SONO_EINVAL,
                         "input '%s': unknown generator '%.*s'; accepted: %s, e.g. "
                         "sine(freq=440,amp=0.5), or an audio file (.wav .flac .ogg .aiff "
                         ".au, or any path with '/')",
                         orig, (int)(ne - nb), nb, GEN_LIST);

    spec->kind = SONO_INPUT_GEN;
    snprintf(spec->gen, sizeof spec->gen, "%s", gens[g].name);
    spec->seed = 1;
    spec->amp = 0.5;
    spec->freq = 1000.0;
    spec->f0 = 20.0;
    spec->f1 = F1_DEFAULT;
    spec->pos = 0;
    spec->period = 0.5;

    bool given[MAX_OPTS] = {false};
    if (paren) {
        char *close = work + len - 1; /* trimmed, so ')' must be the last character */
        if (*close != ')' || close == paren)
            return sono_fail(err, SONO_EINVAL,
                             "input '%s': options must end with ')', as in "
                             "%s(key=value,...)",
                             orig, gens[g].name);
        *close = '\0';
        if (strpbrk(paren + 1, "()"))
            return sono_fail(err, SONO_EINVAL, "input '%s': unbalanced parentheses", orig);
        const char *ob = paren + 1, *oe = close;
        trim(&ob, &oe);
        /* "sine()" is "sine"; otherwise split on ',' in place */
        for (char *item = paren + 1; ob < oe;) {
            char *comma = strchr(item, ',');
            if (comma)
                *comma = '\0';
            const char *ib = item, *ie = item + strlen(item);
            trim(&ib, &ie);
            if (ib == ie)
                return sono_fail(err, SONO_EINVAL,
                                 "input '%s': empty option; %s accepts %s",
                                 orig, gens[g].name, gens[g].accepted);
            *(char *)ie = '\0';
            int rc = parse_option(g, (char *)ib, orig, given, spec, err);
            if (rc)
                return rc;
            if (!comma)
                break;
            item = comma + 1;
        }
    }
    int rc = canonical_name(g, given, spec, orig, err);
    if (!rc && !strcmp(spec->gen, "speech")) {
        /* find and verify the recordings now, so a missing package fails the suite */
        rc = sono_speech_find_manifest(spec->path, sizeof spec->path, err);
        if (!rc)
            rc = sono_speech_check_manifest(spec->path, err);
    }
    return rc;
}

/* ---- generators ---------------------------------------------------------------- */

/* count floats of uniform noise: the top 24 bits as k - 2^23, times 2^-23, is exactly a
 * float on the grid of [-1, 1); only the product with amp rounds, once. */
static void fill_noise(float *out, long long count, unsigned long long seed, double amp)
{
    uint64_t s[4];
    sono_xoshiro_seed(s, seed);
    for (long long i = 0; i < count; i++) {
        int32_t k = sono_draw24(s);
        out[i] = (float)((double)k * 0x1p-23 * amp);
    }
}

/* Phase in cycles, reduced to (-1, 1) before scaling by 2 pi, so long signals keep their
 * precision. Each sum adds two quotients or fmod results, which no compiler can fuse
 * into an FMA, so the bits do not depend on -march. */
static void fill_osc(float *out, long long n, bool cplx, double rate, double amp,
                     double f0, double f1)
{
    double two_rate_n = 2.0 * rate * (double)n;
    for (long long t = 0; t < n; t++) {
        double td = (double)t;
        double cyc = fmod(f0 * td / rate, 1.0);
        if (f1 != f0)
            cyc += fmod((f1 - f0) * (td * td) / two_rate_n, 1.0);
        double ph = TWO_PI * fmod(cyc, 1.0);
        if (cplx) {
            out[2 * t] = (float)(amp * cos(ph));
            out[2 * t + 1] = (float)(amp * sin(ph));
        } else {
            out[t] = (float)(amp * sin(ph));
        }
    }
}

static int check_freq(const sono_input_spec *spec, const char *key, double f, double rate,
                      sono_error *err)
{
    if (f >= 0.0 && f < rate / 2.0)
        return 0;
    return sono_fail(err, SONO_EINVAL,
                     "input '%s': %s=%g Hz is not below the Nyquist frequency %g Hz of "
                     "sample rate %g; accepted 0 <= %s < rate/2",
                     spec->name, key, f, rate / 2.0, rate, key);
}

/* The buffer can take the spec's samples: a parsed spec, f32 or c64, bytes for its shape. */
static int check_buf(const sono_input_spec *spec, const sono_buf *buf, sono_error *err)
{
    if (!spec || !buf)
        return sono_fail(err, SONO_EINVAL, "input fill: no %s", spec ? "buffer" : "spec");
    if (buf->dtype != SONO_F32 && buf->dtype != SONO_C64)
        return sono_fail(err, SONO_EINVAL,
                         "input '%s': buffer dtype %d cannot be filled; accepted: f32, c64",
                         spec->name, (int)buf->dtype);
    long long n = sono_buf_elems(buf);
    size_t need = (size_t)n * sono_dtype_size(buf->dtype);
    if (n < 0 || need > buf->nbytes || (need && !buf->data))
        return sono_fail(err, SONO_EINVAL,
                         "input '%s': buffer of %zu bytes cannot hold %lld samples",
                         spec->name, buf->data ? buf->nbytes : (size_t)0, n);
    if (spec->kind != SONO_INPUT_FILE && spec->kind != SONO_INPUT_GEN)
        return sono_fail(err, SONO_EINVAL, "input '%s': spec was not parsed", spec->name);
    return 0;
}

static int check_rate(const sono_input_spec *spec, double rate, sono_error *err)
{
    if (rate > 0.0 && isfinite(rate))
        return 0;
    return sono_fail(err, SONO_EINVAL, "input '%s': sample rate %g is not a positive number",
                     spec->name, rate);
}

/* A generator (or speech) at rate into a checked buffer. */
static int fill_gen(const sono_input_spec *spec, double rate, sono_buf *buf, sono_error *err)
{
    long long n = sono_buf_elems(buf);
    size_t need = (size_t)n * sono_dtype_size(buf->dtype);
    bool cplx = buf->dtype == SONO_C64;
    float *out = buf->data;
    const char *g = spec->gen;
    bool has_amp = !strcmp(g, "noise") || !strcmp(g, "sine") || !strcmp(g, "chirp") ||
                   !strcmp(g, "pink") || !strcmp(g, "sweep");
    if (has_amp && !(spec->amp > 0.0 && spec->amp <= 1.0))
        return sono_fail(err, SONO_EINVAL,
                         "input '%s': amp=%g is out of range; accepted 0 < amp <= 1",
                         spec->name, spec->amp);
    int rc = 0;
    if (!strcmp(g, "noise")) {
        /* complex: re and im are interleaved draws of one stream, so independent */
        fill_noise(out, cplx ? 2 * n : n, spec->seed, spec->amp);
    } else if (!strcmp(g, "pink")) {
        sono_synth_pink(out, n, cplx, spec->seed, spec->amp);
    } else if (!strcmp(g, "sine") || !strcmp(g, "square")) {
        if ((rc = check_freq(spec, "freq", spec->freq, rate, err)))
            return rc;
        if (g[1] == 'i')
            fill_osc(out, n, cplx, rate, spec->amp, spec->freq, spec->freq);
        else
            sono_synth_square(out, n, cplx, rate, spec->freq);
    } else if (!strcmp(g, "chirp") || !strcmp(g, "sweep")) {
        double f1 = spec->f1 < 0.0 ? 0.45 * rate : spec->f1;
        if ((rc = check_freq(spec, "f0", spec->f0, rate, err)) ||
            (rc = check_freq(spec, "f1", f1, rate, err)))
            return rc;
        if (g[0] == 'c') {
            fill_osc(out, n, cplx, rate, spec->amp, spec->f0, f1);
        } else {
            /* an exponential sweep has no 0 Hz end: ln(f1 / f0) */
            if (!(spec->f0 > 0.0 && f1 > 0.0))
                return sono_fail(err, SONO_EINVAL,
                                 "input '%s': a sweep needs f0 > 0 and f1 > 0 (got f0=%g, "
                                 "f1=%g)",
                                 spec->name, spec->f0, f1);
            sono_synth_sweep(out, n, cplx, rate, spec->amp, spec->f0, f1);
        }
    } else if (!strcmp(g, "clicks")) {
        if (!(spec->period * rate >= 1.0))
            return sono_fail(err, SONO_EINVAL,
                             "input '%s': period=%g s is shorter than one sample at %g Hz; "
                             "accepted period >= %g s",
                             spec->name, spec->period, rate, 1.0 / rate);
        sono_synth_clicks(out, n, cplx, rate, spec->period);
    } else if (!strcmp(g, "impulse") || !strcmp(g, "silence")) {
        bool imp = g[0] == 'i';
        if (imp && (spec->pos < 0 || spec->pos >= n))
            return sono_fail(err, SONO_EINVAL,
                             "input '%s': impulse pos=%lld is outside the %lld-sample "
                             "buffer; accepted 0 <= pos < %lld",
                             spec->name, spec->pos, n, n);
        if (need)
            memset(out, 0, need);
        if (imp)
            out[cplx ? 2 * spec->pos : spec->pos] = 1.0f;
    } else if (!strcmp(g, "speech")) {
        if ((rc = sono_speech_fill(spec->path, rate, out, n, err)))
            return rc;
        if (cplx)
            sono_audio_to_complex(out, n);
    } else {
        return sono_fail(err, SONO_EINVAL,
                         "input '%s': unknown generator '%s'; accepted: %s",
                         spec->name, g, GEN_LIST);
    }
    return 0;
}

int sono_input_fill(const sono_input_spec *spec, double sample_rate, sono_buf *buf,
                    double *rate_out, sono_error *err)
{
    int rc = check_buf(spec, buf, err);
    if (rc)
        return rc;
    if (spec->kind == SONO_INPUT_FILE)
        return sono_input_fill_file(spec, 0.0, buf, rate_out, err);
    if ((rc = check_rate(spec, sample_rate, err)) || (rc = fill_gen(spec, sample_rate, buf, err)))
        return rc;
    if (rate_out)
        *rate_out = sample_rate;
    return 0;
}

int sono_input_fill_at(const sono_input_spec *spec, double rate, sono_buf *buf,
                       sono_error *err)
{
    int rc = check_buf(spec, buf, err);
    if (rc || (rc = check_rate(spec, rate, err)))
        return rc;
    if (spec->kind == SONO_INPUT_FILE)
        return sono_input_fill_file(spec, rate, buf, NULL, err);
    return fill_gen(spec, rate, buf, err);
}

int sono_input_fill_padded(const sono_input_spec *spec, double rate, sono_buf *buf,
                           sono_error *err)
{
    int rc = check_buf(spec, buf, err);
    if (rc || (rc = check_rate(spec, rate, err)))
        return rc;
    if (spec->kind == SONO_INPUT_FILE)
        return sono_input_fill_file_pad(spec, rate, buf, 1, NULL, err);
    return fill_gen(spec, rate, buf, err); /* generators are as long as asked */
}
