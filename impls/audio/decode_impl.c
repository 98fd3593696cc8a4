/* decode_impl.c — the decode impls' shared frame: setup sizes the output from the params,
 * load binds the encoded bytes (never copied: the core keeps `in` alive), run decodes the
 * whole file with the chosen library, store checks the length and copies it out. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "audio.h"

typedef int (*dec_init)(audio_dec *st);

void *audio_amalloc(size_t bytes)
{
    if (bytes == 0)
        bytes = 1;
    if (bytes > SIZE_MAX - 63)
        return NULL;
    return aligned_alloc(64, (bytes + 63) & ~(size_t)63);
}

static int supports(const void *ctx, const sono_params *p, char *why, size_t n)
{
    if (sono_param_int(p, "threads", 1) != 1) {
        snprintf(why, n, "one file is decoded on one thread (threads=1 only)");
        return SONO_EUNSUPPORTED;
    }
    const char *fmt = sono_param_str(p, "format", "wav16");
    int opusfile = (dec_init)ctx == audio_opusfile_init;
    if (opusfile && strcmp(fmt, "opus") != 0) {
        snprintf(why, n, "libopusfile reads Ogg Opus only, not %s", fmt);
        return SONO_EUNSUPPORTED;
    }
    if (opusfile && sono_param_int(p, "sample_rate", 44100) != 48000) {
        snprintf(why, n, "op_read_float always decodes at 48000 Hz, the file is at %lld",
                 sono_param_int(p, "sample_rate", 44100));
        return SONO_EUNSUPPORTED;
    }
    return 0;
}

static void teardown(void *vst)
{
    audio_dec *st = vst;
    if (st)
        free(st->out);
    free(st);
}

static int setup(const void *ctx, const sono_params *p, void **stp, sono_error *err)
{
    char why[256];
    *stp = NULL;
    if (supports(ctx, p, why, sizeof why))
        return sono_fail(err, SONO_EUNSUPPORTED, "%s", why);
    audio_dec *st = calloc(1, sizeof *st);
    if (!st)
        return sono_fail(err, SONO_ENOMEM, "audio decode: cannot allocate its state");
    st->n = llround(sono_param_real(p, "seconds", 10) *
                    (double)sono_param_int(p, "sample_rate", 44100));
    st->out = audio_amalloc((size_t)(st->n + 1) * sizeof(float));
    if (!st->out || ((dec_init)ctx)(st)) {
        long long n = st->n + 1;
        teardown(st);
        return sono_fail(err, SONO_ENOMEM, "audio decode: cannot allocate %lld samples", n);
    }
    *stp = st;
    return 0;
}

static int load(void *vst, const sono_buf *in, sono_error *err)
{
    audio_dec *st = vst;
    const int32_t *h = in->data;
    long long words = sono_buf_elems(in);
    if (in->dtype != SONO_I32 || words < AUDIO_DEC_HDR || h[0] < 0 ||
        (long long)h[0] > (words - AUDIO_DEC_HDR) * 4)
        return sono_fail(err, SONO_EINVAL, "audio decode: input must be i32 [2 + words] "
                         "with a byte count that fits; got dtype %d, %lld words, count %d",
                         (int)in->dtype, words, words ? h[0] : -1);
    st->bytes = (const unsigned char *)(h + AUDIO_DEC_HDR);
    st->len = (size_t)h[0];
    return 0;
}

static int run(void *vst)
{
    audio_dec *st = vst;
    return st->decode(st);
}

static int store(void *vst, sono_buf *out, sono_error *err)
{
    audio_dec *st = vst;
    if (st->why[0])
        return sono_fail(err, SONO_EPARSE, "%s", st->why);
    if (out->dtype != SONO_F32 || sono_buf_elems(out) != st->n)
        return sono_fail(err, SONO_EINVAL, "audio decode: output must be f32 [%lld]", st->n);
    if (st->got != st->n)
        return sono_fail(err, SONO_ECHECK, "audio decode: the file decoded to %lld samples "
                         "at %d Hz, the op wants %lld", st->got, st->rate, st->n);
    memcpy(out->data, st->out, (size_t)st->n * sizeof(float));
    return 0;
}

static int describe(void *vst, char *buf, size_t n)
{
    audio_dec *st = vst;
    return snprintf(buf, n, "encoded %zu bytes (%.1f kbit/s), decoded at %d Hz", st->len,
                    st->rate > 0 && st->n > 0 ? st->len * 8.0 / (st->n / (double)st->rate) /
                    1000.0 : 0.0, st->rate) < 0;
}

static size_t workspace(void *vst)
{
    return (size_t)(((audio_dec *)vst)->n + 1) * sizeof(float);
}

#define DEC_IMPL(nm, sum, fn)                                                                \
    {.abi = SONO_ABI_VERSION, .op = "decode", .name = nm, .summary = sum, .device = "cpu",   \
     .ctx = (const void *)fn, .supports = supports, .setup = setup, .load = load,            \
     .run = run, .store = store, .teardown = teardown, .describe = describe,                 \
     .workspace = workspace}

const sono_impl audio_decode_impls[] = {
    DEC_IMPL("sndfile", "libsndfile (sf_open_virtual + sf_readf_float): WAV, FLAC, Vorbis, "
             "Opus, MP3", audio_sndfile_init),
    DEC_IMPL("opusfile", "libopusfile (op_open_memory + op_read_float): Ogg Opus at 48 kHz",
             audio_opusfile_init),
};
const int audio_ndecode_impls = sizeof audio_decode_impls / sizeof audio_decode_impls[0];
