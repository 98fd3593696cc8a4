/* load_ref.c — load.batch's float64 reference half: decoders that take another route than
 * the impl (own WAV reader, libFLAC, libvorbisfile, libsndfile for Opus) and a windowed
 * sinc resampler evaluated only at the crop's output samples. */
#include "load_batch.h"

#include <FLAC/stream_decoder.h>
#include <math.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <vorbis/vorbisfile.h>

/* ---- WAV: RIFF chunks, PCM16 or float32 ------------------------------------------- */

static unsigned rd16(const unsigned char *p) { return p[0] | (unsigned)p[1] << 8; }
static uint32_t rd32(const unsigned char *p)
{
    return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int wav_decode(const char *path, double **xo, long long *no, int *rate, sono_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return sono_fail(err, SONO_ENOTFOUND, "load.batch reference: cannot open %s", path);
    unsigned char h[12], ch[8], fmt[40];
    int rc = 0, fmt_seen = 0, format = 0, channels = 0, bits = 0;
    if (fread(h, 1, 12, f) != 12 || memcmp(h, "RIFF", 4) || memcmp(h + 8, "WAVE", 4))
        rc = sono_fail(err, SONO_EPARSE, "%s: not a RIFF WAVE file", path);
    while (!rc && fread(ch, 1, 8, f) == 8) {
        uint32_t len = rd32(ch + 4);
        if (!memcmp(ch, "fmt ", 4)) {
            size_t want = len < sizeof fmt ? len : sizeof fmt;
            if (len < 16 || fread(fmt, 1, want, f) != want ||
                fseek(f, (long)(len - want + (len & 1)), SEEK_CUR)) {
                rc = sono_fail(err, SONO_EPARSE, "%s: short fmt chunk", path);
                break;
            }
            format = (int)rd16(fmt);
            if (format == 0xFFFE && len >= 26)
                format = (int)rd16(fmt + 24); /* WAVE_FORMAT_EXTENSIBLE: the subformat */
            channels = (int)rd16(fmt + 2);
            *rate = (int)rd32(fmt + 4);
            bits = (int)rd16(fmt + 14);
            fmt_seen = 1;
        } else if (!memcmp(ch, "data", 4)) {
            int bps = bits / 8;
            if (!fmt_seen || channels < 1 || !((format == 1 && bits == 16) ||
                                               (format == 3 && bits == 32))) {
                rc = sono_fail(err, SONO_EUNSUPPORTED, "%s: the reference reads PCM16 and "
                               "float32 WAV only (format %d, %d bits)", path, format, bits);
                break;
            }
            long long n = len / (uint32_t)(bps * channels);
            unsigned char *raw = malloc((size_t)len + 1);
            double *x = malloc((size_t)(n ? n : 1) * sizeof *x);
            if (!raw || !x || fread(raw, 1, len, f) != len) {
                free(raw);
                free(x);
                rc = sono_fail(err, SONO_EPARSE, "%s: data chunk of %u bytes is cut short", path,
                               len);
                break;
            }
            for (long long i = 0; i < n; i++) {
                double s = 0;
                for (int c = 0; c < channels; c++) {
                    const unsigned char *p = raw + (i * channels + c) * bps;
                    if (format == 1)
                        s += (double)(int16_t)rd16(p) / 32768.0;
                    else {
                        uint32_t u = rd32(p);
                        float v;
                        memcpy(&v, &u, 4);
                        s += v;
                    }
                }
                x[i] = s / channels;
            }
            free(raw);
            fclose(f);
            *xo = x;
            *no = n;
            return 0;
        } else if (fseek(f, (long)(len + (len & 1)), SEEK_CUR))
            break;
    }
    fclose(f);
    return rc ? rc : sono_fail(err, SONO_EPARSE, "%s: no data chunk", path);
}

/* ---- FLAC through libFLAC's stream decoder ------------------------------------------ */

typedef struct flac_sink {
    double *x;
    long long n, cap;
    int rate, bad;
} flac_sink;

static FLAC__StreamDecoderWriteStatus flac_write(const FLAC__StreamDecoder *d,
                                                 const FLAC__Frame *fr,
                                                 const FLAC__int32 *const buf[], void *u)
{
    (void)d;
    flac_sink *s = u;
    unsigned ch = fr->header.channels, bs = fr->header.blocksize;
    double scale = ldexp(1.0, -(int)(fr->header.bits_per_sample - 1));
    if (s->n + bs > s->cap) {
        long long cap = (s->cap + bs) * 2;
        double *g = realloc(s->x, (size_t)cap * sizeof *g);
        if (!g) {
            s->bad = 1;
            return FLAC__STREAM_DECODER_WRITE_STATUS_ABORT;
        }
        s->x = g;
        s->cap = cap;
    }
    for (unsigned i = 0; i < bs; i++) {
        double v = 0;
        for (unsigned c = 0; c < ch; c++)
            v += buf[c][i] * scale;
        s->x[s->n++] = v / ch;
    }
    s->rate = (int)fr->header.sample_rate;
    return FLAC__STREAM_DECODER_WRITE_STATUS_CONTINUE;
}

static void flac_meta(const FLAC__StreamDecoder *d, const FLAC__StreamMetadata *m, void *u)
{
    (void)d;
    if (m->type == FLAC__METADATA_TYPE_STREAMINFO)
        ((flac_sink *)u)->rate = (int)m->data.stream_info.sample_rate;
}

static void flac_error(const FLAC__StreamDecoder *d, FLAC__StreamDecoderErrorStatus st, void *u)
{
    (void)d;
    (void)st;
    ((flac_sink *)u)->bad = 1;
}

static int flac_decode(const char *path, double **x, long long *n, int *rate, sono_error *err)
{
    FLAC__StreamDecoder *d = FLAC__stream_decoder_new();
    flac_sink s = {0};
    if (!d)
        return sono_fail(err, SONO_ENOMEM, "load.batch reference: no FLAC decoder");
    int ok = FLAC__stream_decoder_init_file(d, path, flac_write, flac_meta, flac_error, &s) ==
                 FLAC__STREAM_DECODER_INIT_STATUS_OK &&
             FLAC__stream_decoder_process_until_end_of_stream(d) && !s.bad;
    FLAC__stream_decoder_delete(d);
    if (!ok) {
        free(s.x);
        return sono_fail(err, SONO_EPARSE, "%s: libFLAC cannot decode it", path);
    }
    *x = s.x;
    *n = s.n;
    *rate = s.rate;
    return 0;
}

/* ---- Ogg Vorbis through libvorbisfile ----------------------------------------------- */

static int vorbis_decode(const char *path, double **xo, long long *no, int *rate,
                         sono_error *err)
{
    OggVorbis_File vf;
    if (ov_fopen(path, &vf))
        return sono_fail(err, SONO_EPARSE, "%s: libvorbisfile cannot open it", path);
    vorbis_info *vi = ov_info(&vf, -1);
    *rate = (int)vi->rate;
    long long cap = 1 << 16, n = 0;
    double *x = malloc((size_t)cap * sizeof *x);
    int sec, rc = 0;
    for (;;) {
        float **pcm;
        long got = ov_read_float(&vf, &pcm, 4096, &sec);
        if (got == 0)
            break;
        if (got < 0 || !x) {
            rc = sono_fail(err, SONO_EPARSE, "%s: libvorbisfile: error %ld", path, got);
            break;
        }
        if (n + got > cap) {
            double *g = realloc(x, (size_t)(cap = 2 * (n + got)) * sizeof *g);
            if (!g) {
                rc = sono_fail(err, SONO_ENOMEM, "%s: out of memory", path);
                break;
            }
            x = g;
        }
        int ch = ov_info(&vf, -1)->channels;
        for (long i = 0; i < got; i++) {
            double v = 0;
            for (int c = 0; c < ch; c++)
                v += pcm[c][i];
            x[n++] = v / ch;
        }
    }
    ov_clear(&vf);
    if (rc) {
        free(x);
        return rc;
    }
    *xo = x;
    *no = n;
    return 0;
}

/* ---- Opus through libsndfile -------------------------------------------------------- */

static int sndfile_decode(const char *path, double **xo, long long *no, int *rate,
                          sono_error *err)
{
    SF_INFO info = {0};
    SNDFILE *f = sf_open(path, SFM_READ, &info);
    if (!f)
        return sono_fail(err, SONO_EPARSE, "%s: libsndfile: %s", path, sf_strerror(NULL));
    long long n = info.frames;
    double *x = malloc((size_t)(n * info.channels + 1) * sizeof *x);
    if (!x) {
        sf_close(f);
        return sono_fail(err, SONO_ENOMEM, "%s: out of memory", path);
    }
    n = sf_readf_double(f, x, n);
    sf_close(f);
    for (long long i = 0; i < n; i++) {
        double v = 0;
        for (int c = 0; c < info.channels; c++)
            v += x[i * info.channels + c];
        x[i] = v / info.channels;
    }
    *xo = x;
    *no = n;
    *rate = info.samplerate;
    return 0;
}

int lb_ref_decode(const char *path, double **x, long long *n, int *rate, sono_error *err)
{
    const char *dot = strrchr(path, '.');
    const char *ext = dot ? dot + 1 : "";
    *x = NULL;
    if (strcasecmp(ext, "wav") == 0)
        return wav_decode(path, x, n, rate, err);
    if (strcasecmp(ext, "flac") == 0)
        return flac_decode(path, x, n, rate, err);
    if (strcasecmp(ext, "ogg") == 0)
        return vorbis_decode(path, x, n, rate, err);
    return sndfile_decode(path, x, n, rate, err);
}

/* ---- the resampler -------------------------------------------------------------------- */

#define ZEROS 64
#define BETA 8.0

static double bessel_i0(double x)
{
    double s = 1, t = 1;
    for (int k = 1; k < 200 && t > 1e-17 * s; k++) {
        t *= (x / (2 * k)) * (x / (2 * k));
        s += t;
    }
    return s;
}

static long long gcd(long long a, long long b)
{
    while (b) {
        long long t = a % b;
        a = b;
        b = t;
    }
    return a;
}

int lb_ref_resample(const double *x, long long n, int fr, int rate, long long start,
                    long long count, double *out, sono_error *err)
{
    if (fr == rate) {
        for (long long i = 0; i < count; i++)
            out[i] = start + i < n ? x[start + i] : 0.0;
        return 0;
    }
    /* cutoff in cycles per input sample; the kernel spans ZEROS zero crossings each side */
    double fc = 0.5 * 0.975 * (rate < fr ? (double)rate / fr : 1.0);
    double W = ZEROS / (2 * fc);
    int taps = (int)ceil(W) + 1; /* input samples each side of the output time */
    long long g = gcd(fr, rate), phases = rate / g;
    /* one kernel per distinct phase, made when first met */
    double *tab = malloc((size_t)(phases * 2 * taps) * sizeof *tab);
    char *made = calloc((size_t)phases, 1);
    if (!tab || !made) {
        free(tab);
        free(made);
        return sono_fail(err, SONO_ENOMEM, "load.batch reference: out of memory");
    }
    double i0b = bessel_i0(BETA);
    for (long long i = 0; i < count; i++) {
        long long t = start + i;
        /* the output time in input samples: base + ph / phases exactly */
        long long num = t * (long long)fr, base = num / rate, ph = (num % rate) / g;
        double *k = tab + ph * 2 * taps;
        if (!made[ph]) {
            double frac = (double)ph / (double)phases;
            for (int j = -taps + 1; j <= taps; j++) {
                double u = frac - j, a = u / W, h = 0;
                if (fabs(a) < 1) {
                    double v = 2 * fc * u;
                    double sinc = v == 0 ? 1.0 : sin(M_PI * v) / (M_PI * v);
                    h = 2 * fc * sinc * bessel_i0(BETA * sqrt(1 - a * a)) / i0b;
                }
                k[j + taps - 1] = h;
            }
            made[ph] = 1;
        }
        double s = 0;
        for (int j = -taps + 1; j <= taps; j++) {
            long long m = base + j;
            if (m >= 0 && m < n)
                s += x[m] * k[j + taps - 1];
        }
        out[i] = s;
    }
    free(tab);
    free(made);
    return 0;
}
