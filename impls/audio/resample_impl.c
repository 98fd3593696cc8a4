/* resample_impl.c — impls audio/samplerate-{best,medium,fastest} (libsamplerate's sinc
 * converters) and audio/soxr-{hq,vhq} (libsoxr) of resample. Converters are made in setup
 * and reset in run, so run() is one whole-signal conversion with end of input; both
 * libraries compensate their filter delay, as the op's layout asks. */
#include <math.h>
#include <samplerate.h>
#include <soxr.h>
#include <stdlib.h>
#include <string.h>

#include "audio.h"

enum { LIB_SRC, LIB_SOXR };
typedef struct variant {
    int lib;
    int quality; /* SRC_SINC_* or SOXR_HQ / SOXR_VHQ */
} variant;

typedef struct rs {
    variant v;
    long long n_in, n_out;
    double ratio;
    const float *in;
    float *out;
    SRC_STATE *src;
    soxr_t soxr;
    int failed;
} rs;

static int supports(const void *ctx, const sono_params *p, char *why, size_t n)
{
    (void)ctx;
    if (sono_param_int(p, "threads", 1) != 1) {
        snprintf(why, n, "single-threaded (threads=1 only)");
        return SONO_EUNSUPPORTED;
    }
    return 0;
}

static void teardown(void *vst)
{
    rs *st = vst;
    if (!st)
        return;
    if (st->src)
        src_delete(st->src);
    if (st->soxr)
        soxr_delete(st->soxr);
    free(st->out);
    free(st);
}

static int setup(const void *ctx, const sono_params *p, void **stp, sono_error *err)
{
    char why[128];
    *stp = NULL;
    if (supports(ctx, p, why, sizeof why))
        return sono_fail(err, SONO_EUNSUPPORTED, "%s", why);
    rs *st = calloc(1, sizeof *st);
    if (!st)
        return sono_fail(err, SONO_ENOMEM, "audio resample: cannot allocate its state");
    st->v = *(const variant *)ctx;
    long long ri = sono_param_int(p, "rate_in", 44100), ro = sono_param_int(p, "rate_out", 16000);
    st->n_in = llround(sono_param_real(p, "seconds", 10) * (double)ri);
    st->n_out = st->n_in * ro / ri;
    st->ratio = (double)ro / (double)ri;
    st->out = audio_amalloc((size_t)st->n_out * sizeof(float));
    int e = 0;
    if (st->out && st->v.lib == LIB_SRC) {
        st->src = src_new(st->v.quality, 1, &e);
        if (!st->src) {
            teardown(st);
            return sono_fail(err, SONO_EDEVICE, "libsamplerate: %s", src_strerror(e));
        }
    } else if (st->out) {
        soxr_error_t se = NULL;
        soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
        soxr_quality_spec_t q = soxr_quality_spec((unsigned long)st->v.quality, 0);
        soxr_runtime_spec_t rt = soxr_runtime_spec(1);
        st->soxr = soxr_create((double)ri, (double)ro, 1, &se, &io, &q, &rt);
        if (!st->soxr || se) {
            teardown(st);
            return sono_fail(err, SONO_EDEVICE, "libsoxr %lld -> %lld Hz: %s", ri, ro,
                             se ? se : "failed");
        }
    }
    if (!st->out) {
        long long n = st->n_out;
        teardown(st);
        return sono_fail(err, SONO_ENOMEM, "audio resample: cannot allocate %lld samples", n);
    }
    *stp = st;
    return 0;
}

static int load(void *vst, const sono_buf *in, sono_error *err)
{
    rs *st = vst;
    if (in->dtype != SONO_F32 || sono_buf_elems(in) != st->n_in)
        return sono_fail(err, SONO_EINVAL, "audio resample: input must be f32 [%lld]", st->n_in);
    st->in = in->data;
    return 0;
}

static int run(void *vst)
{
    rs *st = vst;
    long long got = 0;
    if (st->src) {
        src_reset(st->src);
        SRC_DATA d = {.data_in = st->in, .data_out = st->out, .input_frames = st->n_in,
                      .output_frames = st->n_out, .end_of_input = 1, .src_ratio = st->ratio};
        /* one call may stop early when output space runs out; loop until it is full or
         * nothing more comes */
        while (got < st->n_out) {
            if (src_process(st->src, &d))
                return SONO_EDEVICE;
            if (d.output_frames_gen == 0)
                break;
            got += d.output_frames_gen;
            d.data_in += d.input_frames_used;
            d.input_frames -= d.input_frames_used;
            d.data_out += d.output_frames_gen;
            d.output_frames -= d.output_frames_gen;
        }
    } else {
        if (soxr_clear(st->soxr))
            return SONO_EDEVICE;
        size_t idone = 0, odone = 0;
        if (soxr_process(st->soxr, st->in, (size_t)st->n_in, &idone, st->out,
                         (size_t)st->n_out, &odone))
            return SONO_EDEVICE;
        got = (long long)odone;
        while (got < st->n_out) { /* flush: NULL input is the end of the signal */
            if (soxr_process(st->soxr, NULL, 0, NULL, st->out + got, (size_t)(st->n_out - got),
                             &odone))
                return SONO_EDEVICE;
            if (odone == 0)
                break;
            got += (long long)odone;
        }
    }
    /* a converter ending a few samples short leaves zeros past the end, inside the tail
     * the op's check skips */
    if (got < st->n_out)
        memset(st->out + got, 0, (size_t)(st->n_out - got) * sizeof(float));
    return 0;
}

static int store(void *vst, sono_buf *out, sono_error *err)
{
    rs *st = vst;
    if (out->dtype != SONO_F32 || sono_buf_elems(out) != st->n_out)
        return sono_fail(err, SONO_EINVAL, "audio resample: output must be f32 [%lld]",
                         st->n_out);
    memcpy(out->data, st->out, (size_t)st->n_out * sizeof(float));
    return 0;
}

static size_t workspace(void *vst)
{
    return (size_t)((rs *)vst)->n_out * sizeof(float);
}

static const variant v_best = {LIB_SRC, SRC_SINC_BEST_QUALITY};
static const variant v_medium = {LIB_SRC, SRC_SINC_MEDIUM_QUALITY};
static const variant v_fastest = {LIB_SRC, SRC_SINC_FASTEST};
static const variant v_hq = {LIB_SOXR, SOXR_HQ};
static const variant v_vhq = {LIB_SOXR, SOXR_VHQ};

#define RS_IMPL(nm, sum, v)                                                                   \
    {.abi = SONO_ABI_VERSION, .op = "resample", .name = nm, .summary = sum, .device = "cpu",  \
     .ctx = &v, .supports = supports, .setup = setup, .load = load, .run = run,               \
     .store = store, .teardown = teardown, .workspace = workspace}

const sono_impl audio_resample_impls[] = {
    RS_IMPL("samplerate-best", "libsamplerate SRC_SINC_BEST_QUALITY", v_best),
    RS_IMPL("samplerate-medium", "libsamplerate SRC_SINC_MEDIUM_QUALITY", v_medium),
    RS_IMPL("samplerate-fastest", "libsamplerate SRC_SINC_FASTEST", v_fastest),
    RS_IMPL("soxr-hq", "libsoxr SOXR_HQ (20-bit quality)", v_hq),
    RS_IMPL("soxr-vhq", "libsoxr SOXR_VHQ (28-bit quality)", v_vhq),
};
const int audio_nresample_impls = sizeof audio_resample_impls / sizeof audio_resample_impls[0];
