/* libopus.c — backend "opus": impl opus/libopus of codec.opus, the reference libopus
 * encoder and decoder. run() is the measured round trip: reset both states, encode every
 * frame, decode every packet. store() hands back the aligned signal and the byte total in
 * the trailing slot that harness/ops/opus.c defines. Streaming (issue 12): push encodes
 * and decodes each frame as soon as the chunks complete it, in the order run() does, so
 * the stream's output is run()'s, byte for byte. */
#include <opus.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "sono.h"

/* RFC 6716's largest packet; a frame never needs more. */
#define MAX_PACKET 1275

typedef struct state {
    OpusEncoder *enc;
    OpusDecoder *dec;
    long long n;          /* input samples */
    int frame;            /* samples per frame */
    int lookahead;        /* encoder delay: the decoded signal lags the input by this */
    long long nframes;    /* frames covering n + lookahead */
    float *in;            /* nframes * frame: the input, zero past n */
    float *dec_out;       /* nframes * frame decoded samples */
    unsigned char packet[MAX_PACKET];
    long long bytes;      /* total packet bytes of the last run */
    const float *src;     /* streaming: the core's input, which fills as the stream goes */
    long long coded;      /* streaming: frames encoded and decoded since stream_begin */
} state;

static void *amalloc(size_t bytes)
{
    if (bytes == 0)
        bytes = 1;
    if (bytes > SIZE_MAX - 63)
        return NULL;
    return aligned_alloc(64, (bytes + 63) & ~(size_t)63);
}

static int supports(const void *ctx, const sono_params *p, char *why, size_t n)
{
    (void)ctx;
    long long th = sono_param_int(p, "threads", 1);
    if (th != 1) {
        snprintf(why, n, "libopus is single-threaded (threads=1 only), got threads=%lld", th);
        return SONO_EUNSUPPORTED;
    }
    return 0;
}

static void teardown(void *vst)
{
    state *st = vst;
    if (!st)
        return;
    if (st->enc)
        opus_encoder_destroy(st->enc);
    if (st->dec)
        opus_decoder_destroy(st->dec);
    free(st->in);
    free(st->dec_out);
    free(st);
}

static int setup(const void *ctx, const sono_params *p, void **stp, sono_error *err)
{
    char why[256];
    *stp = NULL;
    if (supports(ctx, p, why, sizeof why))
        return sono_fail(err, SONO_EUNSUPPORTED, "opus/libopus: %s", why);
    int rate = (int)sono_param_int(p, "sample_rate", 48000);
    int app = strcmp(sono_param_str(p, "mode", "audio"), "voip") == 0
                  ? OPUS_APPLICATION_VOIP
                  : OPUS_APPLICATION_AUDIO;
    state *st = calloc(1, sizeof *st);
    if (!st)
        return sono_fail(err, SONO_ENOMEM, "opus/libopus: cannot allocate its state");
    int e1 = OPUS_OK, e2 = OPUS_OK;
    st->enc = opus_encoder_create(rate, 1, app, &e1);
    st->dec = opus_decoder_create(rate, 1, &e2);
    if (e1 != OPUS_OK || e2 != OPUS_OK || !st->enc || !st->dec) {
        teardown(st);
        return sono_fail(err, SONO_EDEVICE, "opus/libopus: creating the %s at %d Hz: %s",
                         e1 != OPUS_OK ? "encoder" : "decoder", rate,
                         opus_strerror(e1 != OPUS_OK ? e1 : e2));
    }
    int rc = opus_encoder_ctl(st->enc, OPUS_SET_BITRATE((opus_int32)sono_param_int(p, "bitrate", 24000)));
    if (rc == OPUS_OK)
        rc = opus_encoder_ctl(st->enc, OPUS_SET_COMPLEXITY((opus_int32)sono_param_int(p, "complexity", 10)));
    if (rc == OPUS_OK)
        rc = opus_encoder_ctl(st->enc, OPUS_SET_VBR((opus_int32)sono_param_int(p, "vbr", 1)));
    opus_int32 la = 0;
    if (rc == OPUS_OK)
        rc = opus_encoder_ctl(st->enc, OPUS_GET_LOOKAHEAD(&la));
    if (rc != OPUS_OK) {
        teardown(st);
        return sono_fail(err, SONO_EINVAL, "opus/libopus: encoder settings (bitrate=%lld, "
                         "complexity=%lld): %s", sono_param_int(p, "bitrate", 24000),
                         sono_param_int(p, "complexity", 10), opus_strerror(rc));
    }
    st->lookahead = (int)la;
    st->n = llround(sono_param_real(p, "seconds", 5) * rate);
    st->frame = (int)(sono_param_int(p, "frame_ms", 20) * rate / 1000);
    st->nframes = (st->n + st->lookahead + st->frame - 1) / st->frame;
    size_t total = (size_t)(st->nframes * st->frame);
    st->in = amalloc(total * sizeof(float));
    st->dec_out = amalloc(total * sizeof(float));
    if (!st->in || !st->dec_out) {
        teardown(st);
        return sono_fail(err, SONO_ENOMEM, "opus/libopus: cannot allocate 2 x %zu floats",
                         total);
    }
    memset(st->in, 0, total * sizeof(float));
    *stp = st;
    return 0;
}

static int load(void *vst, const sono_buf *in, sono_error *err)
{
    state *st = vst;
    if (in->dtype != SONO_F32 || sono_buf_elems(in) != st->n)
        return sono_fail(err, SONO_EINVAL, "opus/libopus: input must be f32 [%lld]; got "
                         "dtype %d, %lld elements", st->n, (int)in->dtype, sono_buf_elems(in));
    memcpy(st->in, in->data, (size_t)st->n * sizeof(float));
    st->src = in->data;
    return 0;
}

/* Frame f through the encoder and the decoder; its packet's bytes added to st->bytes. */
static int code_frame(state *st, long long f)
{
    opus_int32 len = opus_encode_float(st->enc, st->in + f * st->frame, st->frame,
                                       st->packet, MAX_PACKET);
    if (len < 0)
        return SONO_EDEVICE;
    st->bytes += len;
    int got = opus_decode_float(st->dec, st->packet, len, st->dec_out + f * st->frame,
                                st->frame, 0);
    return got == st->frame ? 0 : SONO_EDEVICE;
}

static int run(void *vst)
{
    state *st = vst;
    if (opus_encoder_ctl(st->enc, OPUS_RESET_STATE) != OPUS_OK ||
        opus_decoder_ctl(st->dec, OPUS_RESET_STATE) != OPUS_OK)
        return SONO_EDEVICE;
    st->bytes = 0;
    for (long long f = 0; f < st->nframes; f++)
        if (code_frame(st, f))
            return SONO_EDEVICE;
    return 0;
}

static int stream_begin(void *vst, sono_error *err)
{
    state *st = vst;
    if (opus_encoder_ctl(st->enc, OPUS_RESET_STATE) != OPUS_OK ||
        opus_decoder_ctl(st->dec, OPUS_RESET_STATE) != OPUS_OK)
        return sono_fail(err, SONO_EDEVICE, "opus/libopus: resetting the codec states failed");
    memset(st->in, 0, (size_t)(st->nframes * st->frame) * sizeof(float));
    st->bytes = 0;
    st->coded = 0;
    return 0;
}

/* Output sample i is decoded sample i + lookahead: it exists once the frame holding that
 * decoded sample has gone through, so an output step waits for a frame plus the
 * lookahead. The last push codes the silence-padded frames and writes the byte total. */
static int push(void *vst, long long t0, long long n, int last, sono_buf *out,
                long long *done, sono_error *err)
{
    state *st = vst;
    if (out->dtype != SONO_F32 || sono_buf_elems(out) != st->n + 1 || t0 < 0 || n < 1 ||
        t0 + n > st->n)
        return sono_fail(err, SONO_EINVAL, "opus/libopus: push of [%lld, %lld) into f32 "
                         "[%lld]: expected steps within the %lld input samples", t0, t0 + n,
                         sono_buf_elems(out), st->n);
    memcpy(st->in + t0, st->src + t0, (size_t)n * sizeof(float));
    long long ready = last ? st->nframes : (t0 + n) / st->frame;
    long long from = st->coded * st->frame - st->lookahead;
    for (; st->coded < ready; st->coded++)
        if (code_frame(st, st->coded))
            return sono_fail(err, SONO_EDEVICE, "opus/libopus: frame %lld failed to encode "
                             "or decode", st->coded);
    long long to = st->coded * st->frame - st->lookahead;
    to = to > st->n ? st->n : to;
    from = from < 0 ? 0 : from;
    float *o = out->data;
    if (to > from)
        memcpy(o + from, st->dec_out + from + st->lookahead, (size_t)(to - from) * sizeof(float));
    if (last) {
        if (st->bytes >= (1LL << 24))
            return sono_fail(err, SONO_EINVAL, "opus/libopus: %lld packet bytes do not fit "
                             "the float byte slot (< 2^24)", st->bytes);
        o[st->n] = (float)st->bytes;
    }
    *done = to > 0 ? to : 0;
    return 0;
}

static int store(void *vst, sono_buf *out, sono_error *err)
{
    state *st = vst;
    if (out->dtype != SONO_F32 || sono_buf_elems(out) != st->n + 1)
        return sono_fail(err, SONO_EINVAL, "opus/libopus: output must be f32 [%lld]; got "
                         "dtype %d, %lld elements", st->n + 1, (int)out->dtype,
                         sono_buf_elems(out));
    if (st->bytes >= (1LL << 24))
        return sono_fail(err, SONO_EINVAL, "opus/libopus: %lld packet bytes do not fit the "
                         "float byte slot (< 2^24)", st->bytes);
    float *o = out->data;
    memcpy(o, st->dec_out + st->lookahead, (size_t)st->n * sizeof(float));
    o[st->n] = (float)st->bytes;
    return 0;
}

static int describe(void *vst, char *buf, size_t n)
{
    state *st = vst;
    opus_int32 bw = 0;
    opus_encoder_ctl(st->enc, OPUS_GET_BANDWIDTH(&bw));
    const char *b = bw == OPUS_BANDWIDTH_NARROWBAND      ? "narrowband"
                    : bw == OPUS_BANDWIDTH_MEDIUMBAND    ? "mediumband"
                    : bw == OPUS_BANDWIDTH_WIDEBAND      ? "wideband"
                    : bw == OPUS_BANDWIDTH_SUPERWIDEBAND ? "superwideband"
                    : bw == OPUS_BANDWIDTH_FULLBAND      ? "fullband"
                                                         : "?";
    snprintf(buf, n, "%s, %lld frames of %d, lookahead %d, last frame %s", opus_get_version_string(),
             st->nframes, st->frame, st->lookahead, b);
    return 0;
}

/* The two sample buffers and the state struct; the codec states libopus sizes itself
 * (opus_encoder_get_size / opus_decoder_get_size) are counted too. */
static size_t workspace(void *vst)
{
    const state *st = vst;
    return sizeof *st + 2 * (size_t)(st->nframes * st->frame) * sizeof(float) +
           (size_t)opus_encoder_get_size(1) + (size_t)opus_decoder_get_size(1);
}

static const sono_impl impls[] = {
    {.abi = SONO_ABI_VERSION,
     .op = "codec.opus",
     .name = "libopus",
     .summary = "libopus encode + decode of every frame (the reference Opus codec)",
     .device = "cpu",
     .growth = SONO_ERR_LOG,
     .supports = supports,
     .setup = setup,
     .load = load,
     .run = run,
     .store = store,
     .teardown = teardown,
     .describe = describe,
     .workspace = workspace,
     .stream_begin = stream_begin, /* issue 12 */
     .push = push},
};

SONO_EXPORT int sono_plugin_init(sono_registry *r, sono_error *err)
{
    if (r->abi != SONO_ABI_VERSION)
        return sono_fail(err, SONO_EABI, "opus plugin built for ABI %d, harness has %d",
                         SONO_ABI_VERSION, r->abi);
    r->add_lib(r, "libopus", opus_get_version_string());
    for (size_t i = 0; i < sizeof impls / sizeof impls[0]; i++) {
        int rc = r->add_impl(r, &impls[i]);
        if (rc < 0)
            return sono_fail(err, rc, "opus: registering %s/%s failed (%d)", impls[i].op,
                             impls[i].name, rc);
    }
    return 0;
}
