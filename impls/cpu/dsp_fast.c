/* dsp_fast.c — cpu/fast for stft, melspec, logmel and mfcc: the own real FFT (fastfft.h)
 * per frame, the window applied while copying the frame out of the padded signal, power
 * from the bins and each mel filter summed over its own band only. Frames are split in
 * contiguous chunks over a pthread pool started in setup; threads=1 runs inline. With
 * batch > 1 the chunks run over the frames of all clips (global frame g = clip b, frame
 * t = g % frames), and each lane keeps one max per clip, for the per-clip clamps.
 * melspec, logmel and mfcc run frames in blocks of DSPB_W (dsp_block.h): each frame's power
 * spectrum goes into one lane of a bin-major block, so the filterbank and the log run a
 * frame per vector lane and write each mel row of the block contiguously.
 * Streaming (stft, melspec): push cuts frames from a ring buffer (fe_stream.h) on the
 * caller's thread, each frame computed as run() computes it (lane 0 of a block), so the
 * output is the same. */
#include <math.h>

#include "cpu_impls.h"
#include "dsp_block.h"
#include "fastfft.h"
#include "fe_stream.h"
#include "frontend.h"
#include "pool.h"

#define MAX_THREADS 256

enum { JOB_FRAMES, JOB_POST };

typedef struct dsp_fast dsp_fast;

/* One thread's own scratch, so threads share nothing they write but the output. */
typedef struct lane {
    float *work;  /* fastfft's scratch */
    float *frame; /* n_fft: the windowed frame; zero outside the window, set once */
    float *spec;  /* nbins interleaved complex */
    float *pt;    /* DSPB_W * nbins: a block's power spectra, bin-major */
    float *blk;   /* DSPB_W * n_mels: the block's mel values, mel-major */
    float *max;   /* logmel, mfcc: per clip, largest log value of this lane's frames */
} lane;

struct dsp_fast {
    fe_io io;        /* first: fe_load and fe_store take this state */
    fastfft_plan *plan;
    size_t nwork;    /* fastfft_work_floats */
    float *win;      /* n_fft */
    size_t woff, wlen; /* the window's nonzero span in the frame */
    fe_melbank bank;
    float *mel;      /* mfcc: [batch, n_mels, frames] before the DCT */
    float *dct;      /* mfcc: [n_mfcc, n_mels] */
    float *max;      /* per clip: its largest log value over all lanes, for JOB_POST */
    cpu_pool *pool;  /* nlanes - 1 threads; the caller of run() is lane 0 */
    int nlanes;      /* = threads */
    int simd;        /* the block kernels' path: AVX2 where fastfft's plan runs it */
    lane *lanes;
    fe_ring ring;    /* streaming: the padded signal's last n_fft samples */
};

int dsp_fast_supports(const void *ctx, const sono_params *p, char *why, size_t n)
{
    fe_dims d;
    return fe_dims_get(*(const fe_op *)ctx, p, MAX_THREADS, &d, why, n);
}

/* Lane id's global frames [lo, hi) of all clips': equal contiguous shares. */
static void chunk(const dsp_fast *st, int id, size_t *lo, size_t *hi)
{
    size_t f = st->io.d.batch * st->io.d.frames, t = (size_t)st->nlanes;
    *lo = f * (size_t)id / t;
    *hi = f * ((size_t)id + 1) / t;
}

/* melspec, logmel, mfcc: frames [lo, hi) in blocks that stop where a clip ends. Lanes of a
 * short block past its frames hold zeros, whose log is the floor, below or at any max. */
static void blocks_job(dsp_fast *st, lane *ln, size_t lo, size_t hi)
{
    const fe_dims *d = &st->io.d;
    size_t per = d->op == FE_MFCC ? d->n_mels * d->frames : fe_out_floats(d);
    for (size_t b = 0; b < d->batch; b++)
        ln->max[b] = -INFINITY;
    for (size_t g = lo; g < hi;) {
        size_t b = g / d->frames, t = g % d->frames;
        size_t nb = hi - g < d->frames - t ? hi - g : d->frames - t;
        nb = nb < DSPB_W ? nb : DSPB_W;
        float *mel = (d->op == FE_MFCC ? st->mel : st->io.out) + b * per;
        for (size_t i = 0; i < nb; i++) {
            const float *src = st->io.padded + b * d->padded + (t + i) * d->hop + st->woff;
            float *dst = ln->frame + st->woff;
            const float *w = st->win + st->woff;
            for (size_t j = 0; j < st->wlen; j++)
                dst[j] = src[j] * w[j];
            fastfft_exec(st->plan, ln->frame, ln->spec, ln->work);
            dspb_power_lane(d->power, ln->spec, d->nbins, ln->pt, (int)i);
        }
        for (size_t i = nb; i < DSPB_W; i++)
            for (size_t k = 0; k < d->nbins; k++)
                ln->pt[k * DSPB_W + i] = 0;
        dspb_mel(&st->bank, ln->pt, ln->blk, st->simd);
        if (d->op != FE_MELSPEC) {
            float m = dspb_log(ln->blk, d->n_mels * DSPB_W, d->op == FE_LOGMEL ? 1.0f : 10.0f,
                               st->simd);
            ln->max[b] = m > ln->max[b] ? m : ln->max[b];
        }
        for (size_t m = 0; m < d->n_mels; m++)
            memcpy(mel + m * d->frames + t, ln->blk + m * DSPB_W, nb * sizeof(float));
        g += nb;
    }
}

/* stft: frame by frame, each column written as its bins come out of the FFT. */
static void frames_job(dsp_fast *st, lane *ln, size_t lo, size_t hi)
{
    if (st->io.d.op != FE_STFT) {
        blocks_job(st, ln, lo, hi);
        return;
    }
    const fe_dims *d = &st->io.d;
    for (size_t g = lo; g < hi; g++) {
        size_t b = g / d->frames, t = g % d->frames;
        float *out = st->io.out + b * fe_out_floats(d);
        const float *src = st->io.padded + b * d->padded + t * d->hop + st->woff;
        float *dst = ln->frame + st->woff;
        const float *w = st->win + st->woff;
        for (size_t j = 0; j < st->wlen; j++)
            dst[j] = src[j] * w[j];
        fastfft_exec(st->plan, ln->frame, ln->spec, ln->work);
        fe_stft_column(d, ln->spec, out, t);
    }
}

/* One frame's column of the output (stft, melspec): what frames_job does per frame. */
static void frame_out(dsp_fast *st, lane *ln, float *out, size_t t)
{
    const fe_dims *d = &st->io.d;
    fastfft_exec(st->plan, ln->frame, ln->spec, ln->work);
    if (d->op == FE_STFT) {
        fe_stft_column(d, ln->spec, out, t);
        return;
    }
    /* lane 0 of the block kernel (the other lanes stay zero): a lane's sums do not depend
     * on the others', so the stream's output equals run()'s byte for byte */
    dspb_power_lane(d->power, ln->spec, d->nbins, ln->pt, 0);
    dspb_mel(&st->bank, ln->pt, ln->blk, st->simd);
    for (size_t m = 0; m < d->n_mels; m++)
        out[m * d->frames + t] = ln->blk[m * DSPB_W];
}

/* After every clip's max is known: the clamp (and for mfcc the DCT) on frames [lo, hi)
 * of clip b, in its own mel and output blocks. */
static void post_clip(dsp_fast *st, size_t b, size_t lo, size_t hi)
{
    const fe_dims *d = &st->io.d;
    size_t f = d->frames;
    float *out = st->io.out + b * fe_out_floats(d);
    if (d->op == FE_LOGMEL) {
        for (size_t m = 0; m < d->n_mels; m++)
            fe_whisper_clamp(out + m * f + lo, hi - lo, st->max[b]);
        return;
    }
    float *mel = st->mel + b * d->n_mels * f;
    for (size_t m = 0; m < d->n_mels; m++)
        fe_db_clamp(mel + m * f + lo, hi - lo, st->max[b], d->top_db);
    /* Row by row over the chunk, so the inner loop runs along contiguous frames. */
    for (size_t c = 0; c < d->n_mfcc; c++) {
        float *o = out + c * f;
        for (size_t t = lo; t < hi; t++)
            o[t] = 0;
        for (size_t m = 0; m < d->n_mels; m++) {
            float k = st->dct[c * d->n_mels + m];
            const float *x = mel + m * f;
            for (size_t t = lo; t < hi; t++)
                o[t] += k * x[t];
        }
    }
}

/* The lane's global frames [lo, hi), cut where one clip ends and the next begins. */
static void post_job(dsp_fast *st, size_t lo, size_t hi)
{
    size_t f = st->io.d.frames;
    for (size_t g = lo; g < hi;) {
        size_t b = g / f, t = g % f, end = hi - g < f - t ? t + (hi - g) : f;
        post_clip(st, b, t, end);
        g += end - t;
    }
}

static void do_job(void *ctx, int job, int id)
{
    dsp_fast *st = ctx;
    size_t lo, hi;
    chunk(st, id, &lo, &hi);
    if (job == JOB_FRAMES)
        frames_job(st, &st->lanes[id], lo, hi);
    else if (job == JOB_POST)
        post_job(st, lo, hi);
}

void dsp_fast_teardown(void *vst)
{
    dsp_fast *st = vst;
    if (!st)
        return;
    cpu_pool_free(st->pool);
    for (int i = 0; st->lanes && i < st->nlanes; i++) {
        free(st->lanes[i].work);
        free(st->lanes[i].frame);
        free(st->lanes[i].spec);
        free(st->lanes[i].pt);
        free(st->lanes[i].blk);
        free(st->lanes[i].max);
    }
    free(st->lanes);
    fe_ring_free(&st->ring);
    if (st->plan)
        fastfft_free(st->plan);
    fe_melbank_free(&st->bank);
    fe_io_free(&st->io);
    free(st->win);
    free(st->mel);
    free(st->dct);
    free(st->max);
    free(st);
}

static int alloc_lanes(dsp_fast *st)
{
    const fe_dims *d = &st->io.d;
    st->lanes = calloc((size_t)st->nlanes, sizeof *st->lanes);
    if (!st->lanes)
        return SONO_ENOMEM;
    for (int i = 0; i < st->nlanes; i++) {
        lane *ln = &st->lanes[i];
        ln->work = fe_alloc(st->nwork, sizeof(float));
        ln->frame = fe_alloc(d->n_fft, sizeof(float));
        ln->spec = fe_alloc(2 * d->nbins, sizeof(float));
        ln->max = fe_alloc(d->batch, sizeof(float));
        ln->pt = fe_alloc(DSPB_W * d->nbins, sizeof(float));
        ln->blk = fe_alloc(DSPB_W * (d->n_mels ? d->n_mels : 1), sizeof(float));
        if (!ln->work || !ln->frame || !ln->spec || !ln->max || !ln->pt || !ln->blk)
            return SONO_ENOMEM;
        memset(ln->frame, 0, d->n_fft * sizeof(float));
    }
    return 0;
}

int dsp_fast_setup(const void *ctx, const sono_params *p, void **stp, sono_error *err)
{
    char why[256];
    int rc;

    *stp = NULL;
    dsp_fast *st = calloc(1, sizeof *st);
    if (!st)
        return sono_fail(err, SONO_ENOMEM, "cpu/fast: cannot allocate its state");
    st->io.who = "cpu/fast";
    if ((rc = fe_dims_get(*(const fe_op *)ctx, p, MAX_THREADS, &st->io.d, why, sizeof why)) < 0) {
        free(st);
        return sono_fail(err, rc, "cpu/fast: %s", why);
    }
    const fe_dims *d = &st->io.d;
    st->nlanes = d->threads;
    if ((rc = fe_io_alloc(&st->io, err)) < 0) {
        dsp_fast_teardown(st);
        return rc;
    }
    st->plan = fastfft_plan_new(d->n_fft, 1, why, sizeof why);
    if (!st->plan) {
        dsp_fast_teardown(st);
        /* supports() accepted this n_fft, so a failed plan is memory, not the size */
        return sono_fail(err, SONO_ENOMEM, "cpu/fast: fastfft for n_fft=%zu: %s",
                         d->n_fft, why);
    }
    st->nwork = fastfft_work_floats(st->plan);
    /* SONO_FASTFFT_SCALAR=1 makes the plan scalar: the block kernels follow it */
    st->simd = strncmp(fastfft_describe(st->plan), "scalar", 6) != 0 && dspb_has_avx2();
    st->win = fe_alloc(d->n_fft, sizeof *st->win);
    st->max = fe_alloc(d->batch, sizeof *st->max);
    int bad = !st->win || !st->max;
    if (d->op != FE_STFT)
        bad |= fe_melbank_make(d, &st->bank) < 0;
    if (d->op == FE_MFCC) {
        st->mel = fe_alloc(d->batch * d->n_mels * d->frames, sizeof *st->mel);
        st->dct = fe_alloc(d->n_mfcc * d->n_mels, sizeof *st->dct);
        bad |= !st->mel || !st->dct;
    }
    bad |= fe_ring_alloc(&st->ring, d) < 0;
    if (bad || alloc_lanes(st) < 0) {
        size_t n_fft = d->n_fft, frames = d->frames;
        int threads = st->nlanes;
        dsp_fast_teardown(st);
        return sono_fail(err, SONO_ENOMEM, "cpu/fast: cannot allocate tables and %d lanes "
                         "for n_fft=%zu, %zu frames", threads, n_fft, frames);
    }
    fe_window_make(d, st->win);
    st->woff = fe_window_offset(d);
    st->wlen = d->win_length;
    if (st->dct)
        fe_dct_make(d, st->dct);
    if ((rc = cpu_pool_new(st->nlanes, do_job, st, "cpu/fast", &st->pool, err)) < 0) {
        dsp_fast_teardown(st);
        return rc;
    }
    *stp = st;
    return 0;
}

int dsp_fast_run(void *vst)
{
    dsp_fast *st = vst;
    const fe_dims *d = &st->io.d;
    fe_pad_batch(d, st->io.x, st->io.padded);
    cpu_pool_run(st->pool, JOB_FRAMES);
    if (d->op == FE_STFT || d->op == FE_MELSPEC)
        return 0;
    for (size_t b = 0; b < d->batch; b++) {
        st->max[b] = -INFINITY;
        for (int i = 0; i < st->nlanes; i++)
            st->max[b] = st->lanes[i].max[b] > st->max[b] ? st->lanes[i].max[b] : st->max[b];
    }
    cpu_pool_run(st->pool, JOB_POST);
    return 0;
}

int dsp_fast_describe(void *vst, char *buf, size_t n)
{
    const dsp_fast *st = vst;
    size_t lo, hi;
    chunk(st, 0, &lo, &hi);
    snprintf(buf, n, "fastfft %s; threads=%d (%s), contiguous chunks of ~%zu frames of "
             "batch=%zu clips; sparse filterbank (%zu weights)%s%s", fastfft_describe(st->plan),
             st->nlanes, st->nlanes > 1 ? "pthread pool, caller takes chunk 0" : "inline, no pool",
             hi - lo, st->io.d.batch, st->bank.nwt,
             st->io.d.op == FE_STFT ? "" : ", filterbank and log over blocks of 8 frames, ",
             st->io.d.op == FE_STFT ? "" : st->simd ? "avx2+fma" : "scalar");
    return 0;
}

size_t dsp_fast_workspace(void *vst)
{
    const dsp_fast *st = vst;
    const fe_dims *d = &st->io.d;
    size_t lane_floats = st->nwork + d->n_fft + 2 * d->nbins + d->batch +
                         DSPB_W * (d->nbins + (d->n_mels ? d->n_mels : 1));
    size_t floats = d->n_fft + d->batch + (size_t)st->nlanes * lane_floats;
    if (st->mel)
        floats += d->batch * d->n_mels * d->frames + d->n_mfcc * d->n_mels;
    return sizeof *st + fe_io_bytes(&st->io) + floats * sizeof(float) +
           fe_melbank_bytes(&st->bank) + (size_t)st->nlanes * sizeof(lane) +
           cpu_pool_bytes(st->pool);
}

int dsp_fast_stream_begin(void *vst, sono_error *err)
{
    dsp_fast *st = vst;
    const fe_dims *d = &st->io.d;
    if (d->op != FE_STFT && d->op != FE_MELSPEC) /* their log clamps use the whole output */
        return sono_fail(err, SONO_EUNSUPPORTED, "cpu/fast: only stft and melspec stream");
    if (d->batch > 1) /* the ops refuse it too (dsp_common.h): a stream is one clip */
        return sono_fail(err, SONO_EUNSUPPORTED, "cpu/fast: batch=%zu does not stream",
                         d->batch);
    fe_ring_reset(&st->ring);
    if (d->op == FE_MELSPEC)
        memset(st->lanes[0].pt, 0, DSPB_W * d->nbins * sizeof(float));
    return 0;
}

/* Frames over threads would cost a pool handoff per chunk: a stream runs on lane 0. */
int dsp_fast_push(void *vst, long long t0, long long n, int last, sono_buf *out,
                  long long *done, sono_error *err)
{
    dsp_fast *st = vst;
    const fe_dims *d = &st->io.d;
    if (out->nbytes != fe_out_floats(d) * sizeof(float))
        return sono_fail(err, SONO_EINVAL, "cpu/fast: push: output of %zu bytes, expected "
                         "[%zu, %zu]", out->nbytes, fe_rows(d), d->frames);
    lane *ln = &st->lanes[0];
    size_t t;
    while (fe_ring_next(&st->ring, d, st->io.x, (size_t)(t0 + n), last, st->win, st->woff,
                        st->wlen, ln->frame, &t))
        frame_out(st, ln, out->data, t);
    *done = (long long)st->ring.next;
    return 0;
}
