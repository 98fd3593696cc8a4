/* frontend.c — the audio front ends' definitions as impls compute them: params into sizes
 * (with reasons for supports()), windows, reflect padding, mel filterbanks, the DCT-II,
 * the log steps and the input/output plumbing. Tables are computed in double, stored as
 * float32, so each entry is the correctly rounded value and not a recurrence's drift. */
#include "frontend.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>

#define PI 3.141592653589793238462643383279502884
/* Far past a real case, and small enough that float counts times 8 never overflow. */
#define MAX_VALUES (1ULL << 31)

const fe_op fe_ops[4] = {FE_STFT, FE_MELSPEC, FE_LOGMEL, FE_MFCC};

__attribute__((format(printf, 3, 4))) static int say(char *why, size_t n, const char *fmt,
                                                     ...)
{
    if (why && n) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, n, fmt, ap);
        va_end(ap);
    }
    return SONO_EUNSUPPORTED;
}

void *fe_alloc(size_t count, size_t size)
{
    if (size && count > (SIZE_MAX - 63) / size)
        return NULL;
    size_t bytes = count * size;
    if (bytes == 0)
        bytes = 1;
    return aligned_alloc(64, (bytes + 63) & ~(size_t)63);
}

static const char *op_name(fe_op op)
{
    static const char *const names[] = {"stft", "melspec", "logmel", "mfcc"};
    return names[op];
}

/* Which of choices ("a|b|c") s is, or -1. */
static int choice(const char *s, const char *const *choices)
{
    for (int i = 0; choices[i]; i++)
        if (strcmp(s, choices[i]) == 0)
            return i;
    return -1;
}

/* The STFT half: window, framing and how many frames the padded signal gives. */
static int read_frames(fe_op op, const sono_params *p, fe_dims *d, char *why, size_t n)
{
    static const char *const windows[] = {"hann", "hamming", "blackman", NULL};
    static const char *const outputs[] = {"power", "magnitude", "complex", NULL};
    int stft = op == FE_STFT, logmel = op == FE_LOGMEL;
    int mel = op == FE_MELSPEC;
    long long n_fft = logmel ? 400 : sono_param_int(p, "n_fft", mel ? 1024 : 512);
    long long hop = logmel ? 160 : sono_param_int(p, "hop", stft ? 128 : mel ? 256 : 160);
    long long wl = stft ? sono_param_int(p, "win_length", 0) : 0;

    if (n_fft < 2 || n_fft > 65536)
        return say(why, n, "n_fft=%lld must be in [2, 65536]", n_fft);
    if (hop < 1 || hop > 65536)
        return say(why, n, "hop=%lld must be in [1, 65536]", hop);
    if (wl < 0 || wl > n_fft)
        return say(why, n, "win_length=%lld must be in [0, n_fft=%lld] (0: n_fft)", wl, n_fft);
    d->n_fft = (size_t)n_fft;
    d->hop = (size_t)hop;
    d->win_length = wl ? (size_t)wl : d->n_fft;
    d->nbins = d->n_fft / 2 + 1;
    d->window = FE_HANN;
    d->center = 1;
    if (stft) {
        const char *w = sono_param_str(p, "window", "hann");
        const char *o = sono_param_str(p, "output", "power");
        long long c = sono_param_int(p, "center", 1);
        int wi = choice(w, windows), oi = choice(o, outputs);
        if (wi < 0)
            return say(why, n, "window=%s: expected hann, hamming or blackman", w);
        if (oi < 0)
            return say(why, n, "output=%s: expected power, magnitude or complex", o);
        if (c != 0 && c != 1)
            return say(why, n, "center=%lld: expected 0 or 1", c);
        d->window = (fe_window)wi;
        d->out = (fe_stft_out)oi;
        d->center = (int)c;
    }
    size_t half = d->n_fft / 2;
    if (d->center && d->used <= half)
        return say(why, n, "%zu samples cannot be reflect-padded by n_fft/2=%zu: need more than "
                   "n_fft/2",
                   d->used, half);
    if (!d->center && d->used < d->n_fft)
        return say(why, n, "%zu samples are shorter than one frame of n_fft=%zu (center=0)",
                   d->used, d->n_fft);
    d->padded = d->used + (d->center ? 2 * half : 0);
    d->frames = 1 + (d->padded - d->n_fft) / d->hop;
    if (logmel && --d->frames == 0)
        return say(why, n, "logmel: %zu samples leave no frame once the last is dropped",
                   d->used);
    return 0;
}

/* The filterbank half, for melspec, logmel and mfcc. */
static int read_mels(fe_op op, const sono_params *p, fe_dims *d, char *why, size_t n)
{
    static const char *const scales[] = {"slaney", "htk", NULL};
    static const char *const norms[] = {"none", "slaney", NULL};
    int logmel = op == FE_LOGMEL;
    long long mels = sono_param_int(p, "n_mels", logmel ? 80 : op == FE_MELSPEC ? 128 : 40);

    if (logmel && mels != 80 && mels != 128)
        return say(why, n, "logmel: n_mels=%lld; Whisper's front end has 80 or 128", mels);
    if (mels < 1 || mels > 512)
        return say(why, n, "n_mels=%lld must be in [1, 512]", mels);
    d->n_mels = (size_t)mels;
    d->fmin = logmel ? 0 : sono_param_real(p, "fmin", 0);
    d->fmax = logmel ? 8000 : sono_param_real(p, "fmax", 0);
    if (d->fmax == 0)
        d->fmax = d->rate / 2;
    d->htk = 0;
    d->slaney_norm = 1;
    if (!logmel) {
        const char *s = sono_param_str(p, "mel_scale", "slaney");
        const char *nm = sono_param_str(p, "norm", "slaney");
        int si = choice(s, scales), ni = choice(nm, norms);
        if (si < 0)
            return say(why, n, "mel_scale=%s: expected slaney or htk", s);
        if (ni < 0)
            return say(why, n, "norm=%s: expected slaney or none", nm);
        d->htk = si;
        d->slaney_norm = ni;
    }
    if (!(d->fmin >= 0 && d->fmin < d->fmax))
        return say(why, n, "fmin=%g must be in [0, fmax=%g)", d->fmin, d->fmax);
    if (d->fmax > d->rate / 2)
        return say(why, n, "fmax=%g is above Nyquist (%g Hz)", d->fmax, d->rate / 2);
    d->power = op == FE_MELSPEC ? sono_param_real(p, "power", 2) : 2;
    if (!(d->power >= 1 && d->power <= 2))
        return say(why, n, "power=%g must be in [1, 2]", d->power);
    if (op == FE_MFCC) {
        long long c = sono_param_int(p, "n_mfcc", 13);
        d->top_db = sono_param_real(p, "top_db", 80);
        if (c < 1 || (size_t)c > d->n_mels)
            return say(why, n, "n_mfcc=%lld must be in [1, n_mels=%zu]", c, d->n_mels);
        if (!(d->top_db >= 0))
            return say(why, n, "top_db=%g must be >= 0 (0: no clamp)", d->top_db);
        d->n_mfcc = (size_t)c;
    }
    return 0;
}

int fe_dims_get(fe_op op, const sono_params *p, int max_threads, fe_dims *d, char *why,
                size_t n)
{
    memset(d, 0, sizeof *d);
    d->op = op;
    if ((unsigned)op > FE_MFCC)
        return say(why, n, "not an audio front-end op (%d)", (int)op);
    long long threads = sono_param_int(p, "threads", 1);
    if (max_threads == 1 && threads != 1)
        return say(why, n, "single-threaded impl (threads=1 only), got threads=%lld", threads);
    if (threads < 1 || threads > max_threads)
        return say(why, n, "threads=%lld must be in [1, %d]", threads, max_threads);
    d->threads = (int)threads;
    long long batch = sono_param_int(p, "batch", 1);
    if (batch < 1 || batch > 4096)
        return say(why, n, "batch=%lld must be in [1, 4096]", batch);
    d->batch = (size_t)batch;

    d->rate = op == FE_LOGMEL ? 16000 : (double)sono_param_int(p, "sample_rate", 16000);
    double seconds = sono_param_real(p, "seconds", op == FE_LOGMEL ? 30 : 1);
    if (!(d->rate >= 1) || !(seconds > 0) || seconds * d->rate > (double)MAX_VALUES)
        return say(why, n, "seconds=%g at sample_rate=%g: expected 1 to 2^31 samples",
                   seconds, d->rate);
    double s = round(seconds * d->rate);
    if (s < 1)
        return say(why, n, "seconds=%g gives no sample at %g Hz", seconds, d->rate);
    d->samples = (size_t)s;
    d->used = d->samples;
    if (op == FE_LOGMEL && sono_param_int(p, "pad_or_trim", 1))
        d->used = 480000;

    int rc = read_frames(op, p, d, why, n);
    if (rc == 0 && op != FE_STFT)
        rc = read_mels(op, p, d, why, n);
    if (rc < 0)
        return rc;
    /* Every impl holds a few [frames, n_fft]-sized buffers per clip at most: cap them. */
    if (d->batch * d->frames > MAX_VALUES / d->n_fft || d->padded > MAX_VALUES / d->batch)
        return say(why, n, "%s: batch=%zu x %zu frames of n_fft=%zu exceed 2^31 values",
                   op_name(op), d->batch, d->frames, d->n_fft);
    return 0;
}

size_t fe_rows(const fe_dims *d)
{
    return d->op == FE_STFT ? d->nbins : d->op == FE_MFCC ? d->n_mfcc : d->n_mels;
}

size_t fe_out_floats(const fe_dims *d)
{
    return fe_rows(d) * d->frames * (d->op == FE_STFT && d->out == FE_OUT_COMPLEX ? 2 : 1);
}

size_t fe_window_offset(const fe_dims *d)
{
    return (d->n_fft - d->win_length) / 2;
}

void fe_window_make(const fe_dims *d, float *w)
{
    size_t off = fe_window_offset(d), len = d->win_length;
    memset(w, 0, d->n_fft * sizeof *w);
    for (size_t i = 0; i < len; i++) {
        double a = 2 * PI * (double)i / (double)len, v;
        switch (d->window) {
        case FE_HAMMING: v = 0.54 - 0.46 * cos(a); break;
        case FE_BLACKMAN: v = 0.42 - 0.5 * cos(a) + 0.08 * cos(2 * a); break;
        default: v = 0.5 - 0.5 * cos(a); break;
        }
        w[off + i] = (float)v;
    }
}

void fe_pad(const fe_dims *d, const float *x, float *padded)
{
    size_t half = d->center ? d->n_fft / 2 : 0;
    size_t have = d->samples < d->used ? d->samples : d->used;
    float *mid = padded + half;
    memcpy(mid, x, have * sizeof *x);
    memset(mid + have, 0, (d->used - have) * sizeof *x);
    /* Mirror about the first and the last sample, neither repeated: used > half, so one
     * reflection reaches every index. */
    for (size_t i = 1; i <= half; i++) {
        padded[half - i] = mid[i];
        mid[d->used - 1 + i] = mid[d->used - 1 - i];
    }
}

void fe_pad_batch(const fe_dims *d, const float *x, float *padded)
{
    for (size_t b = 0; b < d->batch; b++)
        fe_pad(d, x + b * d->samples, padded + b * d->padded);
}

/* ---- mel filterbank ------------------------------------------------------------------ */

static double hz_to_mel(double f, int htk)
{
    if (htk)
        return 2595.0 * log10(1.0 + f / 700.0);
    return f < 1000 ? 3.0 * f / 200.0 : 15.0 + 27.0 * log(f / 1000.0) / log(6.4);
}

static double mel_to_hz(double m, int htk)
{
    if (htk)
        return 700.0 * (pow(10.0, m / 2595.0) - 1.0);
    return m < 15 ? 200.0 * m / 3.0 : 1000.0 * exp((m - 15.0) * log(6.4) / 27.0);
}

/* Filter m's weight at bin k, in double; f holds the n_mels + 2 edge frequencies. */
static double weight(const fe_dims *d, const double *f, size_t m, size_t k)
{
    double hz = (double)k * d->rate / (double)d->n_fft;
    double up = (hz - f[m]) / (f[m + 1] - f[m]);
    double down = (f[m + 2] - hz) / (f[m + 2] - f[m + 1]);
    double w = up < down ? up : down;
    if (!(w > 0))
        return 0;
    return d->slaney_norm ? w * 2.0 / (f[m + 2] - f[m]) : w;
}

/* The n_mels + 2 points equally spaced in mel from fmin to fmax, as Hz. */
static double *edges(const fe_dims *d)
{
    size_t np = d->n_mels + 2;
    double *f = malloc(np * sizeof *f);
    if (!f)
        return NULL;
    double lo = hz_to_mel(d->fmin, d->htk), hi = hz_to_mel(d->fmax, d->htk);
    for (size_t i = 0; i < np; i++)
        f[i] = mel_to_hz(lo + (hi - lo) * (double)i / (double)(np - 1), d->htk);
    return f;
}

int fe_mel_dense(const fe_dims *d, float *w)
{
    double *f = edges(d);
    if (!f)
        return SONO_ENOMEM;
    for (size_t m = 0; m < d->n_mels; m++)
        for (size_t k = 0; k < d->nbins; k++)
            w[m * d->nbins + k] = (float)weight(d, f, m, k);
    free(f);
    return 0;
}

int fe_melbank_make(const fe_dims *d, fe_melbank *b)
{
    memset(b, 0, sizeof *b);
    b->n_mels = d->n_mels;
    double *f = edges(d);
    b->first = calloc(d->n_mels, sizeof *b->first);
    b->len = calloc(d->n_mels, sizeof *b->len);
    b->off = calloc(d->n_mels, sizeof *b->off);
    if (!f || !b->first || !b->len || !b->off) {
        free(f);
        fe_melbank_free(b);
        return SONO_ENOMEM;
    }
    /* A triangle is positive on one run of bins: from its first to its last positive. */
    for (size_t m = 0; m < d->n_mels; m++) {
        size_t lo = d->nbins, hi = 0;
        for (size_t k = 0; k < d->nbins; k++)
            if (weight(d, f, m, k) > 0) {
                lo = lo < k ? lo : k;
                hi = k;
            }
        b->off[m] = b->nwt;
        b->first[m] = lo < d->nbins ? lo : 0;
        b->len[m] = lo < d->nbins ? hi - lo + 1 : 0;
        b->nwt += b->len[m];
    }
    b->wt = fe_alloc(b->nwt, sizeof *b->wt);
    if (!b->wt) {
        free(f);
        fe_melbank_free(b);
        return SONO_ENOMEM;
    }
    for (size_t m = 0; m < d->n_mels; m++)
        for (size_t i = 0; i < b->len[m]; i++)
            b->wt[b->off[m] + i] = (float)weight(d, f, m, b->first[m] + i);
    free(f);
    return 0;
}

void fe_melbank_free(fe_melbank *b)
{
    free(b->first);
    free(b->len);
    free(b->off);
    free(b->wt);
    memset(b, 0, sizeof *b);
}

size_t fe_melbank_bytes(const fe_melbank *b)
{
    return 3 * b->n_mels * sizeof(size_t) + b->nwt * sizeof(float);
}

void fe_melbank_apply(const fe_melbank *b, const float *p, float *mel, size_t stride)
{
    for (size_t m = 0; m < b->n_mels; m++) {
        const float *w = b->wt + b->off[m], *x = p + b->first[m];
        float s = 0;
        for (size_t i = 0; i < b->len[m]; i++)
            s += w[i] * x[i];
        mel[m * stride] = s;
    }
}

void fe_dct_make(const fe_dims *d, float *dct)
{
    double nm = (double)d->n_mels;
    for (size_t c = 0; c < d->n_mfcc; c++) {
        double s = sqrt((c == 0 ? 1.0 : 2.0) / nm);
        for (size_t m = 0; m < d->n_mels; m++)
            dct[c * d->n_mels + m] =
                (float)(s * cos(PI * (double)c * (2.0 * (double)m + 1.0) / (2.0 * nm)));
    }
}

/* ---- per-frame and whole-output steps ------------------------------------------------ */

void fe_power(double power, const float *spec, size_t n, float *p)
{
    if (power == 2) {
        for (size_t k = 0; k < n; k++)
            p[k] = spec[2 * k] * spec[2 * k] + spec[2 * k + 1] * spec[2 * k + 1];
    } else if (power == 1) {
        for (size_t k = 0; k < n; k++)
            p[k] = sqrtf(spec[2 * k] * spec[2 * k] + spec[2 * k + 1] * spec[2 * k + 1]);
    } else {
        float half = (float)(power / 2);
        for (size_t k = 0; k < n; k++)
            p[k] = powf(spec[2 * k] * spec[2 * k] + spec[2 * k + 1] * spec[2 * k + 1], half);
    }
}

void fe_stft_column(const fe_dims *d, const float *spec, float *out, size_t t)
{
    size_t f = d->frames;
    switch (d->out) {
    case FE_OUT_COMPLEX:
        for (size_t k = 0; k < d->nbins; k++) {
            out[2 * (k * f + t)] = spec[2 * k];
            out[2 * (k * f + t) + 1] = spec[2 * k + 1];
        }
        break;
    case FE_OUT_MAGNITUDE:
        for (size_t k = 0; k < d->nbins; k++)
            out[k * f + t] = hypotf(spec[2 * k], spec[2 * k + 1]);
        break;
    default:
        for (size_t k = 0; k < d->nbins; k++)
            out[k * f + t] = spec[2 * k] * spec[2 * k] + spec[2 * k + 1] * spec[2 * k + 1];
        break;
    }
}

float fe_whisper_log(float *v, size_t n)
{
    float max = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        v[i] = log10f(v[i] > 1e-10f ? v[i] : 1e-10f);
        max = v[i] > max ? v[i] : max;
    }
    return max;
}

void fe_whisper_clamp(float *v, size_t n, float max)
{
    float floor = max - 8.0f;
    for (size_t i = 0; i < n; i++)
        v[i] = ((v[i] > floor ? v[i] : floor) + 4.0f) / 4.0f;
}

float fe_db(float *v, size_t n)
{
    float max = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        v[i] = 10.0f * log10f(v[i] > 1e-10f ? v[i] : 1e-10f);
        max = v[i] > max ? v[i] : max;
    }
    return max;
}

void fe_db_clamp(float *v, size_t n, float max, double top_db)
{
    if (top_db <= 0)
        return;
    float floor = max - (float)top_db;
    for (size_t i = 0; i < n; i++)
        v[i] = v[i] > floor ? v[i] : floor;
}

/* ---- input and output ---------------------------------------------------------------- */

int fe_io_alloc(fe_io *io, sono_error *err)
{
    size_t b = io->d.batch;
    io->padded = fe_alloc(b * io->d.padded, sizeof(float));
    io->out = fe_alloc(b * fe_out_floats(&io->d), sizeof(float));
    if (!io->padded || !io->out)
        return sono_fail(err, SONO_ENOMEM, "%s: cannot allocate the padded signals (%zu x "
                         "%zu) and the output (%zu x %zu floats)", io->who, b, io->d.padded,
                         b, fe_out_floats(&io->d));
    return 0;
}

void fe_io_free(fe_io *io)
{
    free(io->padded);
    free(io->out);
    io->padded = io->out = NULL;
}

size_t fe_io_bytes(const fe_io *io)
{
    return io->d.batch * (io->d.padded + fe_out_floats(&io->d)) * sizeof(float);
}

int fe_load(void *st, const sono_buf *in, sono_error *err)
{
    fe_io *io = st;
    size_t n = io->d.batch * io->d.samples;
    if (in->dtype != SONO_F32 || sono_buf_elems(in) != (long long)n ||
        in->nbytes < n * sizeof(float))
        return sono_fail(err, SONO_EINVAL, "%s: input must be f32 [batch=%zu, samples=%zu]; "
                         "got dtype %d, %lld elements, %zu bytes", io->who, io->d.batch,
                         io->d.samples, (int)in->dtype, sono_buf_elems(in), in->nbytes);
    io->x = in->data;
    return 0;
}

int fe_store(void *st, sono_buf *out, sono_error *err)
{
    const fe_io *io = st;
    const fe_dims *d = &io->d;
    int complex = d->op == FE_STFT && d->out == FE_OUT_COMPLEX;
    size_t need = d->batch * fe_out_floats(d) * sizeof(float);
    if (out->dtype != (complex ? SONO_C64 : SONO_F32) || out->nbytes < need ||
        sono_buf_elems(out) != (long long)(d->batch * fe_rows(d) * d->frames))
        return sono_fail(err, SONO_EINVAL, "%s: output must be %s [batch=%zu, %zu, frames=%zu]; "
                         "got dtype %d, %lld elements, %zu bytes", io->who,
                         complex ? "c64" : "f32", d->batch, fe_rows(d), d->frames,
                         (int)out->dtype, sono_buf_elems(out), out->nbytes);
    memcpy(out->data, io->out, need);
    return 0;
}
