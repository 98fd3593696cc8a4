/* dsp_common.c — the parameter tables of the audio front-end ops and the sizes derived
 * from them (see dsp_common.h for the definitions every impl follows). */
#include "dsp_common.h"

#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>

#define P_RATE                                                                         \
    {.name = "sample_rate", .type = SONO_PINT, .imin = 1000, .imax = 384000,           \
     .idflt = 16000, .help = "input sample rate in Hz (files are resampled to it)"}
#define P_SECONDS(d)                                                                   \
    {.name = "seconds", .type = SONO_PREAL, .rmin = 1e-3, .rmax = 3600, .rdflt = d,     \
     .help = "input length in seconds (samples = seconds * sample_rate, rounded)"}
#define P_NFFT(d)                                                                      \
    {.name = "n_fft", .type = SONO_PINT, .imin = 2, .imax = 65536, .idflt = d,         \
     .help = "frame length and DFT size"}
#define P_HOP(d)                                                                       \
    {.name = "hop", .type = SONO_PINT, .imin = 1, .imax = 65536, .idflt = d,           \
     .help = "samples between frame starts"}
#define P_NMELS(d)                                                                     \
    {.name = "n_mels", .type = SONO_PINT, .imin = 1, .imax = 512, .idflt = d,          \
     .help = "mel bands"}
#define P_MELS_REST                                                                    \
    {.name = "fmin", .type = SONO_PREAL, .rmin = 0, .rmax = 192000, .rdflt = 0,         \
     .help = "lowest filter edge, Hz"},                                                \
    {.name = "fmax", .type = SONO_PREAL, .rmin = 0, .rmax = 192000, .rdflt = 0,         \
     .help = "highest filter edge, Hz (0: sample_rate/2)"},                            \
    {.name = "mel_scale", .type = SONO_PSTR, .choices = "slaney|htk", .sdflt = "slaney", \
     .help = "slaney (librosa's default) or htk"},                                     \
    {.name = "norm", .type = SONO_PSTR, .choices = "slaney|none", .sdflt = "slaney",    \
     .help = "slaney: each filter divided by its width (equal area); none: peak 1"}
/* issue 10: independent clips per call; late, so batch-1 ids stay as published */
#define P_BATCH                                                                        \
    {.name = "batch", .type = SONO_PINT, .imin = 1, .imax = 4096, .idflt = 1, .late = 1, \
     .help = "independent clips per call: input [batch, samples], output [batch, ...]"}

const sono_param_spec sono_stft_params[] = {
    P_RATE,
    P_SECONDS(1.0),
    P_NFFT(512),
    P_HOP(128),
    {.name = "win_length", .type = SONO_PINT, .imin = 0, .imax = 65536, .idflt = 0,
     .help = "window length <= n_fft, centred in the frame (0: n_fft)"},
    {.name = "window", .type = SONO_PSTR, .choices = "hann|hamming|blackman",
     .sdflt = "hann", .help = "periodic window"},
    {.name = "center", .type = SONO_PINT, .imin = 0, .imax = 1, .idflt = 1,
     .help = "1: reflect-pad n_fft/2 at both ends (librosa, torch.stft); 0: no padding"},
    {.name = "output", .type = SONO_PSTR, .choices = "power|magnitude|complex",
     .sdflt = "power", .help = "|X|^2, |X| (float32) or X (complex64)"},
    P_BATCH,
};
const int sono_stft_nparams = sizeof sono_stft_params / sizeof sono_stft_params[0];

const sono_param_spec sono_melspec_params[] = {
    P_RATE,
    P_SECONDS(1.0),
    P_NFFT(1024),
    P_HOP(256),
    P_NMELS(128),
    P_MELS_REST,
    {.name = "power", .type = SONO_PREAL, .rmin = 1, .rmax = 2, .rdflt = 2,
     .help = "exponent of |X| before the filterbank (1 magnitude, 2 power)"},
    P_BATCH,
};
const int sono_melspec_nparams = sizeof sono_melspec_params / sizeof sono_melspec_params[0];

const sono_param_spec sono_logmel_params[] = {
    P_SECONDS(30.0),
    P_NMELS(80),
    {.name = "pad_or_trim", .type = SONO_PINT, .imin = 0, .imax = 1, .idflt = 1,
     .help = "1: zero-pad or trim to 30 s first (Whisper's pad_or_trim); 0: whole input"},
    P_BATCH,
};
const int sono_logmel_nparams = sizeof sono_logmel_params / sizeof sono_logmel_params[0];

const sono_param_spec sono_mfcc_params[] = {
    P_RATE,
    P_SECONDS(1.0),
    P_NFFT(512),
    P_HOP(160),
    P_NMELS(40),
    P_MELS_REST,
    {.name = "n_mfcc", .type = SONO_PINT, .imin = 1, .imax = 512, .idflt = 13,
     .help = "coefficients kept (<= n_mels)"},
    {.name = "top_db", .type = SONO_PREAL, .rmin = 0, .rmax = 300, .rdflt = 80,
     .help = "clamp the dB mel spectrogram to its max - top_db (0: no clamp)"},
    P_BATCH,
};
const int sono_mfcc_nparams = sizeof sono_mfcc_params / sizeof sono_mfcc_params[0];

/* 2^28 output values (1 GiB of float32): past that a case is a memory test. */
#define MAX_VALUES (1LL << 28)

double sono_dsp_rate(const sono_params *p)
{
    return (double)sono_param_int(p, "sample_rate", 16000);
}

double sono_logmel_rate(const sono_params *p)
{
    (void)p;
    return 16000.0;
}

void sono_dsp_batch_shapes(const sono_dsp_dims *d, sono_buf *in, sono_buf *out)
{
    if (d->batch <= 1)
        return;
    in->shape[1] = in->shape[0];
    in->shape[0] = d->batch;
    in->ndim = 2;
    for (int i = out->ndim; i > 0; i--)
        out->shape[i] = out->shape[i - 1];
    out->shape[0] = d->batch;
    out->ndim++;
}

static int str_is(const sono_params *p, const char *name, const char *dflt, const char *v)
{
    return strcmp(sono_param_str(p, name, dflt), v) == 0;
}

int sono_dsp_dims_get(const char *op, const sono_params *p, sono_dsp_dims *d,
                      sono_error *err)
{
    memset(d, 0, sizeof *d);
    int is_stft = !strcmp(op, "stft"), is_mel = !strcmp(op, "melspec");
    int is_log = !strcmp(op, "logmel"), is_mfcc = !strcmp(op, "mfcc");
    if (!(is_stft || is_mel || is_log || is_mfcc))
        return sono_fail(err, SONO_EINVAL, "%s is not an audio front-end op", op);

    d->sample_rate = is_log ? 16000.0 : (double)sono_param_int(p, "sample_rate", 16000);
    double seconds = sono_param_real(p, "seconds", is_log ? 30.0 : 1.0);
    d->samples = llround(seconds * d->sample_rate);
    d->used = d->samples;
    d->batch = sono_param_int(p, "batch", 1);
    d->n_fft = is_log ? 400 : sono_param_int(p, "n_fft", is_mel ? 1024 : 512);
    d->hop = is_log ? 160 : sono_param_int(p, "hop", is_stft ? 128 : is_mel ? 256 : 160);
    d->win_length = is_stft ? sono_param_int(p, "win_length", 0) : 0;
    if (d->win_length == 0)
        d->win_length = d->n_fft;
    d->window = !is_stft                                 ? SONO_WIN_HANN
                : str_is(p, "window", "hann", "hamming")  ? SONO_WIN_HAMMING
                : str_is(p, "window", "hann", "blackman") ? SONO_WIN_BLACKMAN
                                                          : SONO_WIN_HANN;
    d->center = is_stft ? (int)sono_param_int(p, "center", 1) : 1;
    d->nbins = d->n_fft / 2 + 1;
    d->stft_output = !is_stft                                    ? 0
                     : str_is(p, "output", "power", "magnitude") ? 1
                     : str_is(p, "output", "power", "complex")   ? 2
                                                                 : 0;
    d->power = is_mel ? sono_param_real(p, "power", 2.0) : 2.0;
    if (!is_stft) {
        d->n_mels = sono_param_int(p, "n_mels", is_log ? 80 : is_mel ? 128 : 40);
        d->fmin = is_log ? 0 : sono_param_real(p, "fmin", 0);
        d->fmax = is_log ? 8000 : sono_param_real(p, "fmax", 0);
        if (d->fmax == 0)
            d->fmax = d->sample_rate / 2;
        d->htk = !is_log && str_is(p, "mel_scale", "slaney", "htk");
        d->slaney_norm = is_log || str_is(p, "norm", "slaney", "slaney");
    }
    if (is_mfcc) {
        d->n_mfcc = sono_param_int(p, "n_mfcc", 13);
        d->top_db = sono_param_real(p, "top_db", 80);
    }

    if (is_log && d->n_mels != 80 && d->n_mels != 128)
        return sono_fail(err, SONO_EINVAL,
                         "logmel: n_mels=%lld; Whisper's front end has 80 or 128 mels",
                         d->n_mels);
    if (is_log && sono_param_int(p, "pad_or_trim", 1))
        d->used = 480000;
    if (d->samples < 1)
        return sono_fail(err, SONO_EINVAL, "seconds=%g gives no samples at %g Hz", seconds,
                         d->sample_rate);
    if (d->win_length > d->n_fft)
        return sono_fail(err, SONO_EINVAL, "win_length=%lld exceeds n_fft=%lld",
                         d->win_length, d->n_fft);
    if (d->center && d->used <= d->n_fft / 2)
        return sono_fail(err, SONO_EINVAL,
                         "seconds=%g gives %lld samples at %g Hz, which cannot be "
                         "reflect-padded by n_fft/2=%lld: need more than n_fft/2 samples",
                         seconds, d->used, d->sample_rate, d->n_fft / 2);
    if (!d->center && d->used < d->n_fft)
        return sono_fail(err, SONO_EINVAL,
                         "seconds=%g gives %lld samples at %g Hz, shorter than one frame "
                         "(n_fft=%lld, center=0)",
                         seconds, d->used, d->sample_rate, d->n_fft);
    long long padded = d->used + (d->center ? 2 * (d->n_fft / 2) : 0);
    d->frames = 1 + (padded - d->n_fft) / d->hop;
    if (is_log && --d->frames < 1)
        return sono_fail(err, SONO_EINVAL,
                         "logmel: seconds=%g gives %lld samples, no frame once the last is "
                         "dropped", seconds, d->used);
    if (!is_stft) {
        if (!(d->fmin < d->fmax))
            return sono_fail(err, SONO_EINVAL, "fmin=%g must be below fmax=%g", d->fmin,
                             d->fmax);
        if (d->fmax > d->sample_rate / 2)
            return sono_fail(err, SONO_EINVAL, "fmax=%g is above Nyquist (%g Hz)", d->fmax,
                             d->sample_rate / 2);
    }
    if (is_mfcc && d->n_mfcc > d->n_mels)
        return sono_fail(err, SONO_EINVAL, "n_mfcc=%lld exceeds n_mels=%lld", d->n_mfcc,
                         d->n_mels);
    if (d->batch < 1 || d->batch > 4096)
        return sono_fail(err, SONO_EINVAL, "batch=%lld must be in [1, 4096]", d->batch);
    long long rows = is_stft ? d->nbins : is_mfcc ? d->n_mfcc : d->n_mels;
    long long bf = d->batch * d->frames; /* < 2^12 * 2^31: no overflow */
    if (d->samples > MAX_VALUES / d->batch || bf > MAX_VALUES / rows ||
        bf > MAX_VALUES / d->nbins)
        return sono_fail(err, SONO_EINVAL,
                         "batch=%lld x (%lld samples, %lld frames x %lld bins) exceed 2^28 "
                         "values", d->batch, d->samples, d->frames, d->nbins);
    return 0;
}

int sono_dsp_stream_shape(const char *op, const sono_params *p, sono_stream_shape *s,
                          sono_error *err)
{
    sono_dsp_dims d;
    int rc = sono_dsp_dims_get(op, p, &d, err);
    if (rc)
        return rc;
    if (d.batch > 1)
        return sono_fail(err, SONO_EUNSUPPORTED,
                         "%s: batch=%lld does not stream: a stream is one signal, its steps "
                         "are the samples of one clip (use batch=1)", op, d.batch);
    long long rows = strcmp(op, "stft") == 0 ? d.nbins : d.n_mels;
    *s = (sono_stream_shape){.in = {1, d.samples, 1}, .out = {rows, d.frames, 1},
                             .step_rate = d.sample_rate,
                             .algo_latency_s = (double)d.n_fft / d.sample_rate};
    return 0;
}

/* ---- the batched references over threads ---------------------------------------------- */

#define MAX_REF_THREADS 64

typedef struct clip_job {
    const sono_dsp_dims *d;
    const float *x;
    double *out;
    long long per, lo, hi; /* clips [lo, hi) */
    sono_dsp_clip_fn fn;
    int rc;
    sono_error err;
} clip_job;

static void *clip_worker(void *arg)
{
    clip_job *j = arg;
    for (long long b = j->lo; b < j->hi && !j->rc; b++)
        j->rc = j->fn(j->d, j->x + b * j->d->samples, j->out + b * j->per, &j->err);
    return NULL;
}

int sono_dsp_per_clip(const sono_dsp_dims *d, const float *x, double *out, long long per,
                      sono_dsp_clip_fn fn, sono_error *err)
{
    cpu_set_t set;
    long long cpus = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : 1;
    long long n = d->batch < cpus ? d->batch : cpus;
    n = n < MAX_REF_THREADS ? (n < 1 ? 1 : n) : MAX_REF_THREADS;
    clip_job jobs[MAX_REF_THREADS];
    pthread_t tid[MAX_REF_THREADS];
    int started[MAX_REF_THREADS] = {0};
    for (long long i = 0; i < n; i++) {
        jobs[i] = (clip_job){.d = d, .x = x, .out = out, .per = per, .fn = fn,
                             .lo = d->batch * i / n, .hi = d->batch * (i + 1) / n};
        /* job 0 runs here, and any job whose thread cannot start runs here too */
        started[i] = i > 0 && pthread_create(&tid[i], NULL, clip_worker, &jobs[i]) == 0;
    }
    for (long long i = 0; i < n; i++)
        if (!started[i])
            clip_worker(&jobs[i]);
    for (long long i = 0; i < n; i++)
        if (started[i])
            pthread_join(tid[i], NULL);
    for (long long i = 0; i < n; i++)
        if (jobs[i].rc) {
            if (err)
                *err = jobs[i].err;
            return jobs[i].rc;
        }
    return 0;
}
