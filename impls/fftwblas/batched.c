/* batched.c — fftwblas/batched for stft, melspec, logmel and mfcc: every frame windowed
 * into one buffer, one FFTW r2c plan over all of them (FFTW_MEASURE in setup, from the
 * host's wisdom file when it has the problem: impls/fftw/wisdom.c), |X|^power
 * in one pass, the filterbank as one SGEMM (mel = W x P^T) and the DCT as a second. The
 * libraries' threads: fftwf_plan_with_nthreads and openblas_set_num_threads.
 * batch > 1 (issue 10): the plan runs over the frames of all clips, and the filterbank
 * is one SGEMM over all of them frame-major (melT = P x W^T, [batch * frames, n_mels]),
 * so each clip's values are one contiguous block for its own log and clamp; mfcc's DCT
 * is a second SGEMM over all frames; each clip's block is then transposed into place.
 * Streaming (stft, melspec): frames cut from a ring buffer (fe_stream.h) go one by one
 * through a single-frame r2c plan made at stream_begin, and the frames a push completes
 * share one SGEMM; the batched and the single-frame plans may round differently, which
 * the record's stream-vs-offline comparison shows. */
#include <dlfcn.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>

#include <cblas.h>
#include <fftw3.h>

#include "fe_stream.h"
#include "frontend.h"
#include "wisdom.h"

#define MAX_THREADS 1024

typedef struct state {
    fe_io io;        /* first: fe_load and fe_store take this state */
    float *win;      /* n_fft */
    float *frames;   /* [frames, n_fft], the plan's input */
    fftwf_complex *spec; /* [frames, nbins], the plan's output */
    float *pw;       /* [frames, nbins]: |X|^power, as FFTW lays the bins out */
    float *fb;       /* dense filterbank [n_mels, nbins] */
    float *mel;      /* mfcc: [n_mels, frames] before the DCT */
    float *dct;      /* mfcc: [n_mfcc, n_mels] */
    float *melT;     /* batch > 1: [batch * frames, n_mels], the filterbank's output */
    float *cepT;     /* batch > 1, mfcc: [batch * frames, n_mfcc], the DCT's output */
    fftwf_plan plan;
    fw_source wisdom; /* where plan came from, for describe */
    int threads;
    /* streaming: the ring, and one frame's plan with its own buffers (made at the first
     * stream_begin, so offline cases plan nothing more) */
    fe_ring ring;
    float *frame1;
    fftwf_complex *spec1;
    fftwf_plan plan1;
} state;

/* As in impls/fftw: threads > 1 only once FFTW's threads library is initialised and
 * pinned in memory (see pin_threads_lib); otherwise supports() gives threads_why. */
static int threads_ok;
static char threads_why[200];

static int supports(const void *ctx, const sono_params *p, char *why, size_t n)
{
    fe_dims d;
    int rc = fe_dims_get(*(const fe_op *)ctx, p, MAX_THREADS, &d, why, n);
    if (rc < 0)
        return rc;
    if (d.threads > 1 && !threads_ok) {
        snprintf(why, n, "%s: threads=1 only, got threads=%d", threads_why, d.threads);
        return SONO_EUNSUPPORTED;
    }
    if (d.threads > 1 && openblas_get_parallel() == 0) {
        snprintf(why, n, "this OpenBLAS is the sequential build; threads=%d needs the pthread "
                 "or OpenMP one", d.threads);
        return SONO_EUNSUPPORTED;
    }
    /* FFTW's advanced interface and CBLAS take sizes, distances and strides as int. */
    if (d.batch * d.frames * d.n_fft > INT_MAX || d.batch * d.frames * d.nbins > INT_MAX) {
        snprintf(why, n, "batch=%zu x %zu frames x n_fft=%zu exceed INT_MAX values", d.batch,
                 d.frames, d.n_fft);
        return SONO_EUNSUPPORTED;
    }
    return 0;
}

static void teardown(void *vst)
{
    state *st = vst;
    if (!st)
        return;
    if (st->plan)
        fftwf_destroy_plan(st->plan);
    if (st->plan1)
        fftwf_destroy_plan(st->plan1);
    fftwf_free(st->frame1);
    fftwf_free(st->spec1);
    fe_ring_free(&st->ring);
    fftwf_free(st->frames);
    fftwf_free(st->spec);
    fe_io_free(&st->io);
    free(st->win);
    free(st->pw);
    free(st->fb);
    free(st->mel);
    free(st->dct);
    free(st->melT);
    free(st->cepT);
    free(st);
}

static int alloc_bufs(state *st)
{
    const fe_dims *d = &st->io.d;
    size_t bf = d->batch * d->frames;
    st->win = fe_alloc(d->n_fft, sizeof *st->win);
    st->frames = fftwf_malloc(bf * d->n_fft * sizeof *st->frames);
    st->spec = fftwf_malloc(bf * d->nbins * sizeof *st->spec);
    int bad = !st->win || !st->frames || !st->spec || fe_ring_alloc(&st->ring, d) < 0;
    if (d->op != FE_STFT) {
        st->pw = fe_alloc(bf * d->nbins, sizeof *st->pw);
        st->fb = fe_alloc(d->n_mels * d->nbins, sizeof *st->fb);
        bad |= !st->pw || !st->fb || fe_mel_dense(d, st->fb) < 0;
        if (d->batch > 1) {
            st->melT = fe_alloc(bf * d->n_mels, sizeof *st->melT);
            bad |= !st->melT;
        }
    }
    if (d->op == FE_MFCC) {
        st->mel = fe_alloc(d->n_mels * d->frames, sizeof *st->mel);
        st->dct = fe_alloc(d->n_mfcc * d->n_mels, sizeof *st->dct);
        bad |= !st->mel || !st->dct;
        if (d->batch > 1) {
            st->cepT = fe_alloc(bf * d->n_mfcc, sizeof *st->cepT);
            bad |= !st->cepT;
        }
    }
    return bad ? SONO_ENOMEM : 0;
}

/* The batched r2c plan over every frame, with the flags wisdom.c asks for. */
static fftwf_plan make_plan(void *arg, unsigned flags)
{
    state *st = arg;
    const fe_dims *d = &st->io.d;
    int n = (int)d->n_fft, howmany = (int)(d->batch * d->frames), odist = (int)d->nbins;
    return fftwf_plan_many_dft_r2c(1, &n, howmany, st->frames, NULL, 1, n, st->spec, NULL, 1,
                                   odist, flags);
}

/* The single-frame plan of streaming. */
static fftwf_plan make_plan1(void *arg, unsigned flags)
{
    state *st = arg;
    return fftwf_plan_dft_r2c_1d((int)st->io.d.n_fft, st->frame1, st->spec1, flags);
}

static int setup(const void *ctx, const sono_params *p, void **stp, sono_error *err)
{
    char why[256];
    int rc;

    *stp = NULL;
    if ((rc = supports(ctx, p, why, sizeof why)) < 0)
        return sono_fail(err, rc, "fftwblas/batched: %s", why);
    state *st = calloc(1, sizeof *st);
    if (!st)
        return sono_fail(err, SONO_ENOMEM, "fftwblas/batched: cannot allocate its state");
    st->io.who = "fftwblas/batched";
    fe_dims_get(*(const fe_op *)ctx, p, MAX_THREADS, &st->io.d, why, sizeof why);
    const fe_dims *d = &st->io.d;
    st->threads = d->threads;
    if ((rc = fe_io_alloc(&st->io, err)) < 0) {
        teardown(st);
        return rc;
    }
    if (alloc_bufs(st) < 0) {
        size_t frames = d->frames, n_fft = d->n_fft;
        teardown(st);
        return sono_fail(err, SONO_ENOMEM, "fftwblas/batched: cannot allocate buffers for "
                         "%zu frames of n_fft=%zu", frames, n_fft);
    }
    fe_window_make(d, st->win);
    if (st->dct)
        fe_dct_make(d, st->dct);
    int n = (int)d->n_fft, howmany = (int)(d->batch * d->frames);
    /* Planner state, not a plan argument: set for every plan, since the previous case may
     * have asked for another count. */
    if (threads_ok)
        fftwf_plan_with_nthreads(st->threads);
    st->plan = fw_plan(make_plan, st, "fftwblas/batched", &st->wisdom);
    if (!st->plan) {
        teardown(st);
        return sono_fail(err, SONO_EDEVICE, "fftwblas/batched: planner returned NULL for r2c "
                         "n=%d howmany=%d", n, howmany);
    }
    openblas_set_num_threads(st->threads);
    *stp = st;
    return 0;
}

/* Every frame of every clip, windowed, into the plan's input: the one copy the batched
 * plan costs. */
static void frame_all(state *st)
{
    const fe_dims *d = &st->io.d;
    for (size_t b = 0; b < d->batch; b++)
        for (size_t t = 0; t < d->frames; t++) {
            const float *src = st->io.padded + b * d->padded + t * d->hop;
            float *dst = st->frames + (b * d->frames + t) * d->n_fft;
            for (size_t j = 0; j < d->n_fft; j++)
                dst[j] = src[j] * st->win[j];
        }
}

/* stft: the bins from FFTW's [batch * frames, nbins] into the output's
 * [batch, nbins, frames]. */
static void stft_out(state *st)
{
    const fe_dims *d = &st->io.d;
    for (size_t b = 0; b < d->batch; b++)
        for (size_t t = 0; t < d->frames; t++)
            fe_stft_column(d, (const float *)(st->spec + (b * d->frames + t) * d->nbins),
                           st->io.out + b * fe_out_floats(d), t);
}

/* dst[c, r] = src[r, c] for a [rows, cols] block, in tiles of 16 rows so the strided
 * writes of a tile share cache lines. */
static void transpose(const float *src, size_t rows, size_t cols, float *dst)
{
    for (size_t r0 = 0; r0 < rows; r0 += 16) {
        size_t r1 = rows - r0 < 16 ? rows : r0 + 16;
        for (size_t c = 0; c < cols; c++)
            for (size_t r = r0; r < r1; r++)
                dst[c * rows + r] = src[r * cols + c];
    }
}

/* batch > 1, after the power: the filterbank and the DCT each as one SGEMM over the
 * frames of all clips, the log steps on each clip's contiguous block, then each clip's
 * [frames, rows] block transposed into the output's [rows, frames]. */
static void run_batch(state *st)
{
    const fe_dims *d = &st->io.d;
    int bf = (int)(d->batch * d->frames), nb = (int)d->nbins, nm = (int)d->n_mels;
    size_t blk = d->frames * d->n_mels;
    /* melT[bf, n_mels] = P[bf, nbins] x W[n_mels, nbins]^T */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, bf, nm, nb, 1.0f, st->pw, nb, st->fb,
                nb, 0.0f, st->melT, nm);
    for (size_t b = 0; b < d->batch; b++) {
        float *v = st->melT + b * blk;
        if (d->op == FE_LOGMEL)
            fe_whisper_clamp(v, blk, fe_whisper_log(v, blk));
        else if (d->op == FE_MFCC)
            fe_db_clamp(v, blk, fe_db(v, blk), d->top_db);
    }
    const float *rows = st->melT;
    size_t nr = d->n_mels;
    if (d->op == FE_MFCC) {
        /* cepT[bf, n_mfcc] = melT[bf, n_mels] x D[n_mfcc, n_mels]^T */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, bf, (int)d->n_mfcc, nm, 1.0f,
                    st->melT, nm, st->dct, nm, 0.0f, st->cepT, (int)d->n_mfcc);
        rows = st->cepT;
        nr = d->n_mfcc;
    }
    for (size_t b = 0; b < d->batch; b++)
        transpose(rows + b * d->frames * nr, d->frames, nr, st->io.out + b * fe_out_floats(d));
}

static int run(void *vst)
{
    state *st = vst;
    const fe_dims *d = &st->io.d;
    int nb = (int)d->nbins, nf = (int)d->frames, nm = (int)d->n_mels;

    fe_pad_batch(d, st->io.x, st->io.padded);
    frame_all(st);
    fftwf_execute(st->plan);
    if (d->op == FE_STFT) {
        stft_out(st);
        return 0;
    }
    fe_power(d->power, (const float *)st->spec, d->batch * d->frames * d->nbins, st->pw);
    if (d->batch > 1) {
        run_batch(st);
        return 0;
    }
    float *mel = d->op == FE_MFCC ? st->mel : st->io.out;
    /* mel[n_mels, frames] = W[n_mels, nbins] x P[frames, nbins]^T */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nm, nf, nb, 1.0f, st->fb, nb, st->pw,
                nb, 0.0f, mel, nf);
    size_t nmel = d->n_mels * d->frames;
    if (d->op == FE_LOGMEL) {
        fe_whisper_clamp(mel, nmel, fe_whisper_log(mel, nmel));
    } else if (d->op == FE_MFCC) {
        fe_db_clamp(mel, nmel, fe_db(mel, nmel), d->top_db);
        /* out[n_mfcc, frames] = D[n_mfcc, n_mels] x mel[n_mels, frames] */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)d->n_mfcc, nf, nm, 1.0f,
                    st->dct, nm, mel, nf, 0.0f, st->io.out, nf);
    }
    return 0;
}

static int stream_begin(void *vst, sono_error *err)
{
    state *st = vst;
    const fe_dims *d = &st->io.d;
    if (d->op != FE_STFT && d->op != FE_MELSPEC) /* their log clamps use the whole output */
        return sono_fail(err, SONO_EUNSUPPORTED, "fftwblas/batched: only stft and melspec "
                         "stream");
    if (d->batch > 1) /* the ops refuse it too (dsp_common.h): a stream is one clip */
        return sono_fail(err, SONO_EUNSUPPORTED, "fftwblas/batched: batch=%zu does not "
                         "stream", d->batch);
    if (!st->plan1) {
        int n = (int)d->n_fft;
        st->frame1 = fftwf_malloc(d->n_fft * sizeof *st->frame1);
        st->spec1 = fftwf_malloc(d->nbins * sizeof *st->spec1);
        if (!st->frame1 || !st->spec1)
            return sono_fail(err, SONO_ENOMEM, "fftwblas/batched: no memory for one frame");
        if (threads_ok)
            fftwf_plan_with_nthreads(1); /* one frame: threads would cost more than it */
        fw_source src; /* not in describe, which tells the offline plan */
        st->plan1 = fw_plan(make_plan1, st, "fftwblas/batched", &src);
        if (!st->plan1)
            return sono_fail(err, SONO_EDEVICE, "fftwblas/batched: planner returned NULL for "
                             "one r2c frame of n=%d", n);
    }
    fe_ring_reset(&st->ring);
    return 0;
}

static int push(void *vst, long long t0, long long n, int last, sono_buf *out,
                long long *done, sono_error *err)
{
    state *st = vst;
    const fe_dims *d = &st->io.d;
    if (out->nbytes != fe_out_floats(d) * sizeof(float))
        return sono_fail(err, SONO_EINVAL, "fftwblas/batched: push: output of %zu bytes, "
                         "expected [%zu, %zu]", out->nbytes, fe_rows(d), d->frames);
    size_t lo = st->ring.next, t;
    while (fe_ring_next(&st->ring, d, st->io.x, (size_t)(t0 + n), last, st->win, 0, d->n_fft,
                        st->frame1, &t)) {
        fftwf_execute(st->plan1);
        if (d->op == FE_STFT)
            fe_stft_column(d, (const float *)st->spec1, out->data, t);
        else
            fe_power(d->power, (const float *)st->spec1, d->nbins, st->pw + t * d->nbins);
    }
    size_t hi = st->ring.next;
    if (d->op == FE_MELSPEC && hi > lo) {
        int nb = (int)d->nbins, nm = (int)d->n_mels;
        /* mel[:, lo..hi) = W x P[lo..hi)^T, straight into the output's columns */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nm, (int)(hi - lo), nb, 1.0f,
                    st->fb, nb, st->pw + lo * d->nbins, nb, 0.0f, (float *)out->data + lo,
                    (int)d->frames);
    }
    *done = (long long)hi;
    return 0;
}

/* The threads FFTW's plan runs on: every threaded solver prints "-thr-...-x<nthr>" in the
 * plan text, and no "-thr-" means a serial plan (see impls/fftw for the longer story). */
static int plan_threads(const char *plan)
{
    int most = 1;
    for (const char *s = strstr(plan, "-thr-"); s; s = strstr(s + 1, "-thr-")) {
        size_t len = strcspn(s, " \n()");
        for (const char *x = s; x < s + len; x++) {
            int k;
            if (x[0] == '-' && x[1] == 'x' && sscanf(x + 2, "%d", &k) == 1) {
                most = k > most ? k : most;
                break;
            }
        }
    }
    return most;
}

static int describe(void *vst, char *buf, size_t n)
{
    state *st = vst;
    char *s = fftwf_sprint_plan(st->plan);
    if (!s)
        return SONO_ENOMEM;
    int par = openblas_get_parallel();
    snprintf(buf, n, "threads=%d; batch=%zu (one plan over %zu frames%s); fftw "
             "plan_threads=%d; fftw wisdom: %s; openblas threads=%d (%s, core %s)%s; fftw plan: %s", st->threads,
             st->io.d.batch, st->io.d.batch * st->io.d.frames,
             st->io.d.batch > 1 && st->io.d.op != FE_STFT ? ", frame-major sgemm, per-clip "
                                                            "transpose" : "",
             plan_threads(s), fw_source_name(st->wisdom), openblas_get_num_threads(),
             par == 0 ? "sequential build" : par == 1 ? "pthreads" : "OpenMP",
             openblas_get_corename(),
             st->io.d.op == FE_STFT ? "" : st->io.d.op == FE_MFCC ? "; 2 sgemm" : "; 1 sgemm", s);
    free(s); /* FFTW documents this string as malloc'd, to be free()d */
    return 0;
}

/* Our own buffers; FFTW's plan internals and OpenBLAS's buffers are not knowable. */
static size_t workspace(void *vst)
{
    const state *st = vst;
    const fe_dims *d = &st->io.d;
    size_t bf = d->batch * d->frames;
    size_t floats = d->n_fft + bf * d->n_fft + 2 * bf * d->nbins;
    if (st->pw)
        floats += bf * d->nbins + d->n_mels * d->nbins;
    if (st->mel)
        floats += d->n_mels * d->frames + d->n_mfcc * d->n_mels;
    if (st->melT)
        floats += bf * d->n_mels;
    if (st->cepT)
        floats += bf * d->n_mfcc;
    return sizeof *st + fe_io_bytes(&st->io) + floats * sizeof(float);
}

#define ROW(OP, E, WHAT)                                                                   \
    {.abi = SONO_ABI_VERSION, .op = OP, .name = "batched", .summary = WHAT,                 \
     .device = "cpu", .growth = SONO_ERR_LOG, .ctx = &fe_ops[E], .supports = supports,      \
     .setup = setup, .load = fe_load, .run = run, .store = fe_store, .teardown = teardown,  \
     .describe = describe, .workspace = workspace}

/* issue 12: stft and melspec stream */
#define STREAM_ROW(OP, E, WHAT)                                                            \
    {.abi = SONO_ABI_VERSION, .op = OP, .name = "batched", .summary = WHAT,                 \
     .device = "cpu", .growth = SONO_ERR_LOG, .ctx = &fe_ops[E], .supports = supports,      \
     .setup = setup, .load = fe_load, .run = run, .store = fe_store, .teardown = teardown,  \
     .describe = describe, .workspace = workspace, .stream_begin = stream_begin,            \
     .push = push}

static const sono_impl impls[] = {
    STREAM_ROW("stft", FE_STFT, "one batched FFTW r2c plan over all frames, then transposed"),
    STREAM_ROW("melspec", FE_MELSPEC, "batched FFTW r2c over all frames, filterbank as one SGEMM"),
    ROW("logmel", FE_LOGMEL, "batched FFTW r2c over all frames, filterbank as one SGEMM"),
    ROW("mfcc", FE_MFCC, "batched FFTW r2c, filterbank and DCT-II as two SGEMMs"),
};

/* FFTW's pool workers unwind through libfftw3f_threads as they exit, after
 * fftwf_cleanup_threads has returned; unmapping it at dlclose would fault them (see
 * impls/fftw/fftw.c). So that library, found by address, is made RTLD_NODELETE. */
static int pin_threads_lib(void)
{
    Dl_info info;
    union {
        int (*fn)(void);
        void *p;
    } sym = {.fn = fftwf_init_threads}; /* ISO C has no function-to-object pointer cast */
    if (!dladdr(sym.p, &info) || !info.dli_fname) {
        snprintf(threads_why, sizeof threads_why, "fftwblas: cannot locate FFTW's threads "
                 "library");
        return 0;
    }
    if (!dlopen(info.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE)) {
        const char *e = dlerror();
        snprintf(threads_why, sizeof threads_why, "fftwblas: cannot pin %s: %s",
                 info.dli_fname, e ? e : "dlopen failed");
        return 0;
    }
    return 1;
}

SONO_EXPORT int sono_plugin_init(sono_registry *r, sono_error *err)
{
    if (r->abi != SONO_ABI_VERSION)
        return sono_fail(err, SONO_EABI, "fftwblas plugin built for ABI %d, harness has ABI "
                         "%d", SONO_ABI_VERSION, r->abi);
    /* A second fftwf_init_threads in the process (the fftw plugin's) is a no-op. */
    threads_ok = pin_threads_lib();
    if (threads_ok && !fftwf_init_threads()) {
        snprintf(threads_why, sizeof threads_why, "fftwblas: fftwf_init_threads failed");
        threads_ok = 0;
    }
    for (size_t i = 0; i < sizeof impls / sizeof impls[0]; i++) {
        int rc = r->add_impl(r, &impls[i]);
        if (rc < 0)
            return sono_fail(err, rc, "fftwblas: registering %s/fftwblas/%s failed (%d)",
                             impls[i].op, impls[i].name, rc);
    }
    if (r->add_lib) {
        r->add_lib(r, "fftw", fftwf_version);
        r->add_lib(r, "openblas", openblas_get_config());
    }
    return 0;
}

/* Planner state and the threads pool live for the process: released when the harness
 * dlcloses the plugin, after every plan is gone, or LeakSanitizer blames an unloaded
 * module. Calling it again after the fftw plugin did is harmless (it checks its state). */
__attribute__((destructor)) static void release_planner(void)
{
    fftwf_cleanup_threads();
    threads_ok = 0;
}
