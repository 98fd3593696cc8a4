/* decode.c — op "decode": an encoded audio file in memory (WAV 16-bit or float, FLAC, Ogg
 * Vorbis, Ogg Opus, MP3, written by libsndfile from the case's signal) decoded to float32
 * mono at the file's rate. The reference decodes the same bytes with a second decoder
 * (decode_wav.c, decode_ref.c) that shares no code with the impls.
 *
 * Input  I32 [2 + words]: the layout of decode.h (byte count, format, the file's bytes).
 * Output F32 [n], n = llround(seconds * sample_rate): every sample the file holds, channels
 *        averaged, scaled as libsndfile reads into float (integers / 2^(bits-1)). A file
 *        that decodes to another length than n fails (a lossy codec's delay or padding
 *        left in shows as a wrong length or a shifted signal).
 * Opus decodes at sample_rate, which must be an Opus rate (8/12/16/24/48 kHz). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "decode.h"
#include "input.h"

static const sono_param_spec params[] = {
    {.name = "format", .type = SONO_PSTR, .choices = SONO_DECODE_FORMATS, .sdflt = "wav16",
     .help = "the file's encoding, as libsndfile writes it (default settings)"},
    {.name = "sample_rate", .type = SONO_PINT, .imin = 8000, .imax = 192000, .idflt = 44100,
     .help = "the file's rate, Hz (the signal is made or resampled at it)"},
    {.name = "seconds", .type = SONO_PREAL, .rmin = 0.1, .rmax = 600, .rdflt = 10,
     .help = "length of the file in seconds"},
};

static long long samples_of(const sono_params *p)
{
    return llround(sono_param_real(p, "seconds", 10) *
                   (double)sono_param_int(p, "sample_rate", 44100));
}

static int fmt_of(const sono_params *p)
{
    return sono_decode_format(sono_param_str(p, "format", "wav16"));
}

static double rate(const sono_params *p)
{
    return (double)sono_param_int(p, "sample_rate", 44100);
}

static int validate(const sono_params *p, sono_error *err)
{
    long long sr = sono_param_int(p, "sample_rate", 44100);
    int fmt = fmt_of(p);
    if (fmt < 0)
        return sono_fail(err, SONO_EINVAL, "decode: format=%s; one of %s",
                         sono_param_str(p, "format", ""), SONO_DECODE_FORMATS);
    if (fmt == SONO_FMT_OPUS && sr != 8000 && sr != 12000 && sr != 16000 && sr != 24000 &&
        sr != 48000)
        return sono_fail(err, SONO_EINVAL, "decode: format=opus with sample_rate=%lld; Opus "
                         "runs at 8000, 12000, 16000, 24000 or 48000 Hz", sr);
    /* MPEG-1/2/2.5 layer III rates, the only ones LAME writes */
    if (fmt == SONO_FMT_MP3 && sr != 8000 && sr != 11025 && sr != 12000 && sr != 16000 &&
        sr != 22050 && sr != 24000 && sr != 32000 && sr != 44100 && sr != 48000)
        return sono_fail(err, SONO_EINVAL, "decode: format=mp3 with sample_rate=%lld; MP3 "
                         "runs at 8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100 or "
                         "48000 Hz", sr);
    if (samples_of(p) > (1LL << 29))
        return sono_fail(err, SONO_EINVAL, "decode: %lld samples; at most 2^29",
                         samples_of(p));
    return 0;
}

static void shapes(const sono_params *p, sono_buf *in, sono_buf *out)
{
    long long n = samples_of(p);
    *in = (sono_buf){.dtype = SONO_I32, .ndim = 1,
                     .shape = {SONO_DEC_HDR + (sono_decode_bound(n) + 3) / 4}};
    *out = (sono_buf){.dtype = SONO_F32, .ndim = 1, .shape = {n}};
}

static int input(const sono_params *p, const sono_input_spec *spec, double r, sono_buf *in,
                 sono_error *err)
{
    long long n = samples_of(p);
    sono_buf sig = {.dtype = SONO_F32, .ndim = 1, .shape = {n}};
    int rc = sono_buf_alloc(&sig, err);
    if (rc)
        return rc;
    memset(in->data, 0, in->nbytes);
    int32_t *h = in->data;
    size_t len = 0, cap = (size_t)(sono_buf_elems(in) - SONO_DEC_HDR) * 4;
    rc = sono_input_fill_at(spec, r, &sig, err);
    if (!rc)
        rc = sono_decode_encode(fmt_of(p), sig.data, n, (int)r,
                                (unsigned char *)(h + SONO_DEC_HDR), cap, &len, err);
    sono_buf_free(&sig);
    h[0] = (int32_t)len;
    h[1] = fmt_of(p);
    return rc;
}

static int reference(const sono_params *p, const sono_buf *in, sono_buf *ref,
                     sono_error *err)
{
    long long n = samples_of(p), got = 0;
    const int32_t *h = in->data;
    const unsigned char *b = (const unsigned char *)(h + SONO_DEC_HDR);
    size_t len = (size_t)h[0];
    double *y = ref->data;
    int fmt = fmt_of(p), fr = (int)rate(p), rc;
    switch (fmt) {
    case SONO_FMT_WAV16:
    case SONO_FMT_WAVF32: rc = sono_wav_read(b, len, y, n, &got, &fr, err); break;
    case SONO_FMT_FLAC: rc = sono_flac_read(b, len, y, n, &got, &fr, err); break;
    case SONO_FMT_VORBIS: rc = sono_vorbis_read(b, len, y, n, &got, &fr, err); break;
    case SONO_FMT_OPUS: rc = sono_opus_read(b, len, fr, y, n, &got, err); break;
    default: rc = sono_mp3_read(b, len, y, n, &got, &fr, err); break;
    }
    if (rc)
        return rc;
    if (got != n || fr != (int)rate(p))
        return sono_fail(err, SONO_EINTERNAL, "decode reference: the %s file decodes to %lld "
                         "samples at %d Hz; %lld at %d were encoded",
                         sono_param_str(p, "format", ""), got, fr, n, (int)rate(p));
    return 0;
}

/* Bytes: the encoded file (estimated: the op's cost sees only params, so lossy formats
 * count a nominal size; the impls' describe gives the exact count) plus the output. */
static void cost(const sono_params *p, sono_cost *c)
{
    static const double bits_per_sample[SONO_NFMT] = {16, 32, 12, 2, 1, 3};
    long long n = samples_of(p);
    int fmt = fmt_of(p);
    c->flops = 0;
    c->bytes = (double)n * bits_per_sample[fmt < 0 ? 0 : fmt] / 8.0 + 4.0 * (double)n;
}

/* WAV and FLAC: both decoders read the same integers and scale them by 2^-(bits-1), so the
 * floats are identical (1e-7 allows only float rounding of the scale). Vorbis: both sides
 * run libvorbis's float synthesis (libsndfile through vorbis_synthesis_pcmout, vorbisfile
 * through ov_read_float) on the same packets: 1e-6. Opus: libopus's float decoder on both
 * sides; the header gain is applied in float by libsndfile and libopusfile, in double
 * here: 1e-5. MP3: libsndfile and libmpg123 both run mpg123's synthesis, which a build may
 * do in fixed or float point: 1e-4. Measured (Debian 12's libraries, speech and noise, 8 to
 * 48 kHz): 0 for every format, impl and rate; the bounds are for other builds. */
static double tolerance(const sono_params *p, sono_err_growth g)
{
    (void)g;
    switch (fmt_of(p)) {
    case SONO_FMT_VORBIS: return 1e-6;
    case SONO_FMT_OPUS: return 1e-5;
    case SONO_FMT_MP3: return 1e-4;
    default: return 1e-7;
    }
}

const sono_op sono_op_decode = {
    .name = "decode",
    .summary = "decode an in-memory audio file (WAV, FLAC, Vorbis, Opus, MP3) to float32 "
               "mono at its rate",
    .params = params,
    .nparams = sizeof params / sizeof params[0],
    .validate = validate,
    .shapes = shapes,
    .reference = reference,
    .cost = cost,
    .tolerance = tolerance,
    .rate = rate,
    .input = input,
    .size_param = "seconds",
    .size_label = "file length (s of audio)",
    .merit = SONO_MERIT_AUDIO_HOURS,
};
