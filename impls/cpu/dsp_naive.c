/* dsp_naive.c — cpu/naive for stft, melspec, logmel and mfcc: the definitions frame by
 * frame, each frame's bins by an O(n_fft^2) DFT summed in float32 over a twiddle table,
 * then the dense filterbank and the DCT as plain loops. The baseline the faster rungs of
 * the audio front ends are measured against; its error grows like eps * n_fft.
 * batch > 1: the clips one after the other, each exactly as a batch of one. */
#include <math.h>

#include "cpu_impls.h"
#include "frontend.h"

typedef struct dsp_naive {
    fe_io io;        /* first: fe_load and fe_store take this state */
    float *win;      /* n_fft */
    cfloat *tw;      /* tw[m] = e^{-2 pi i m/n_fft} */
    float *frame;    /* n_fft: one windowed frame */
    float *spec;     /* nbins interleaved complex */
    float *pw;       /* nbins: |X|^power */
    float *fb;       /* dense filterbank [n_mels, nbins] */
    float *mel;      /* mfcc: the mel spectrogram [n_mels, frames] before the DCT */
    float *dct;      /* mfcc: [n_mfcc, n_mels] */
} dsp_naive;

int dsp_naive_supports(const void *ctx, const sono_params *p, char *why, size_t n)
{
    fe_dims d;
    return fe_dims_get(*(const fe_op *)ctx, p, 1, &d, why, n);
}

void dsp_naive_teardown(void *vst)
{
    dsp_naive *st = vst;
    if (!st)
        return;
    fe_io_free(&st->io);
    free(st->win);
    free(st->tw);
    free(st->frame);
    free(st->spec);
    free(st->pw);
    free(st->fb);
    free(st->mel);
    free(st->dct);
    free(st);
}

int dsp_naive_setup(const void *ctx, const sono_params *p, void **stp, sono_error *err)
{
    char why[256];
    int rc;

    *stp = NULL;
    dsp_naive *st = calloc(1, sizeof *st);
    if (!st)
        return sono_fail(err, SONO_ENOMEM, "cpu/naive: cannot allocate its state");
    st->io.who = "cpu/naive";
    if ((rc = fe_dims_get(*(const fe_op *)ctx, p, 1, &st->io.d, why, sizeof why)) < 0) {
        free(st);
        return sono_fail(err, rc, "cpu/naive: %s", why);
    }
    const fe_dims *d = &st->io.d;
    if ((rc = fe_io_alloc(&st->io, err)) < 0) {
        dsp_naive_teardown(st);
        return rc;
    }
    st->win = fe_alloc(d->n_fft, sizeof *st->win);
    st->tw = fe_alloc(d->n_fft, sizeof *st->tw);
    st->frame = fe_alloc(d->n_fft, sizeof *st->frame);
    st->spec = fe_alloc(2 * d->nbins, sizeof *st->spec);
    st->pw = fe_alloc(d->nbins, sizeof *st->pw);
    int bad = !st->win || !st->tw || !st->frame || !st->spec || !st->pw;
    if (d->op != FE_STFT) {
        st->fb = fe_alloc(d->n_mels * d->nbins, sizeof *st->fb);
        bad |= !st->fb || fe_mel_dense(d, st->fb) < 0;
    }
    if (d->op == FE_MFCC) {
        st->mel = fe_alloc(d->n_mels * d->frames, sizeof *st->mel);
        st->dct = fe_alloc(d->n_mfcc * d->n_mels, sizeof *st->dct);
        bad |= !st->mel || !st->dct;
    }
    if (bad) {
        size_t n_fft = d->n_fft, frames = d->frames;
        dsp_naive_teardown(st);
        return sono_fail(err, SONO_ENOMEM, "cpu/naive: cannot allocate tables for n_fft=%zu, "
                         "%zu frames", n_fft, frames);
    }
    fe_window_make(d, st->win);
    /* In double, so the table adds only float rounding to the sums. */
    for (size_t m = 0; m < d->n_fft; m++) {
        double a = -TWO_PI * (double)m / (double)d->n_fft;
        st->tw[m] = (cfloat){(float)cos(a), (float)sin(a)};
    }
    if (st->dct)
        fe_dct_make(d, st->dct);
    *stp = st;
    return 0;
}

size_t dsp_naive_workspace(void *vst)
{
    const dsp_naive *st = vst;
    const fe_dims *d = &st->io.d;
    size_t floats = d->n_fft * 4 + 3 * d->nbins;
    if (st->fb)
        floats += d->n_mels * d->nbins;
    if (st->mel)
        floats += d->n_mels * d->frames + d->n_mfcc * d->n_mels;
    return sizeof *st + fe_io_bytes(&st->io) + floats * sizeof(float);
}

/* The bins 0..n/2 of one real frame by definition; j*k mod n is stepped, never formed. */
static void dft(const dsp_naive *st, const float *x, float *spec)
{
    size_t n = st->io.d.n_fft;
    for (size_t k = 0; k < st->io.d.nbins; k++) {
        float re = 0, im = 0;
        size_t m = 0;
        for (size_t j = 0; j < n; j++) {
            re += x[j] * st->tw[m].re;
            im += x[j] * st->tw[m].im;
            m += k;
            if (m >= n)
                m -= n;
        }
        spec[2 * k] = re;
        spec[2 * k + 1] = im;
    }
}

/* One clip: its padded signal into its output block. */
static void clip(dsp_naive *st, const float *padded, float *out)
{
    const fe_dims *d = &st->io.d;
    float *mel = d->op == FE_MFCC ? st->mel : out;

    for (size_t t = 0; t < d->frames; t++) {
        const float *src = padded + t * d->hop;
        for (size_t j = 0; j < d->n_fft; j++)
            st->frame[j] = src[j] * st->win[j];
        dft(st, st->frame, st->spec);
        if (d->op == FE_STFT) {
            fe_stft_column(d, st->spec, out, t);
            continue;
        }
        fe_power(d->power, st->spec, d->nbins, st->pw);
        for (size_t m = 0; m < d->n_mels; m++) {
            const float *w = st->fb + m * d->nbins;
            float s = 0;
            for (size_t k = 0; k < d->nbins; k++)
                s += w[k] * st->pw[k];
            mel[m * d->frames + t] = s;
        }
    }
    size_t nmel = d->n_mels * d->frames;
    if (d->op == FE_LOGMEL)
        fe_whisper_clamp(mel, nmel, fe_whisper_log(mel, nmel));
    if (d->op == FE_MFCC) {
        fe_db_clamp(mel, nmel, fe_db(mel, nmel), d->top_db);
        for (size_t c = 0; c < d->n_mfcc; c++)
            for (size_t t = 0; t < d->frames; t++) {
                float s = 0;
                for (size_t m = 0; m < d->n_mels; m++)
                    s += st->dct[c * d->n_mels + m] * mel[m * d->frames + t];
                out[c * d->frames + t] = s;
            }
    }
}

int dsp_naive_run(void *vst)
{
    dsp_naive *st = vst;
    const fe_dims *d = &st->io.d;
    fe_pad_batch(d, st->io.x, st->io.padded);
    for (size_t b = 0; b < d->batch; b++)
        clip(st, st->io.padded + b * d->padded, st->io.out + b * fe_out_floats(d));
    return 0;
}
