/* opus.c — op "codec.opus": an Opus encode + decode round trip of a float32 mono signal
 * (RFC 6716; the libopus API's bitrate, application, complexity and frame size), the
 * classic baseline neural codecs compare against. No float64 truth exists for a lossy
 * codec: the check is the codec's own sanity check and the quality hook measures it.
 *
 * Input  F32 [samples], samples = llround(seconds * sample_rate).
 * Output F32 [samples + 1]:
 *   out[0 .. samples)  the decoded signal aligned to the input: the encoder's lookahead
 *                      (OPUS_GET_LOOKAHEAD) dropped from the start, and the input padded
 *                      with silence to whole frames past samples + lookahead, so every
 *                      input sample comes back at its own index;
 *   out[samples]       the total bytes of every packet the encoder produced (the padding
 *                      frames included), an integer exactly representable in float
 *                      (< 2^24). It carries the achieved bitrate to the check and the
 *                      quality hook, which see only in and out; both strip it.
 * Achieved bitrate = out[samples] * 8 / (samples / sample_rate). With VBR (the default)
 * it follows the content, so the check allows +-25 % around the target.
 * Streaming (issue 12): samples in, samples out (the byte count outside every step); an
 * output sample waits for its frame and the encoder's lookahead: algo_latency = frame_ms
 * + lookahead. The lookahead is OPUS_GET_LOOKAHEAD's: libopus defines it as Fs/400 (the
 * CELT overlap, 2.5 ms) plus the delay compensation Fs/250 (4 ms) for the voip and audio
 * applications, 6.5 ms at every rate; the core does not link libopus, so it is spelled
 * out here (OPUS_LOOKAHEAD_MS) and a test compares it with what the library reports.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "dft64.h"
#include "metrics.h"
#include "speechq.h"

static const sono_param_spec params[] = {
    {.name = "bitrate", .type = SONO_PINT, .imin = 6000, .imax = 510000, .idflt = 24000,
     .help = "target bit/s (OPUS_SET_BITRATE)"},
    {.name = "mode", .type = SONO_PSTR, .choices = "voip|audio", .sdflt = "audio",
     .help = "OPUS_APPLICATION_VOIP (speech) or OPUS_APPLICATION_AUDIO (music)"},
    {.name = "complexity", .type = SONO_PINT, .imin = 0, .imax = 10, .idflt = 10,
     .help = "encoder complexity (OPUS_SET_COMPLEXITY)"},
    {.name = "frame_ms", .type = SONO_PINT, .imin = 10, .imax = 60, .idflt = 20,
     .help = "frame duration in ms: 10, 20, 40 or 60"},
    {.name = "vbr", .type = SONO_PINT, .imin = 0, .imax = 1, .idflt = 1,
     .help = "1: variable bitrate (OPUS_SET_VBR 1); 0: constant"},
    {.name = "seconds", .type = SONO_PREAL, .rmin = 0.05, .rmax = 600, .rdflt = 5,
     .help = "input length in seconds"},
    {.name = "sample_rate", .type = SONO_PINT, .imin = 8000, .imax = 48000, .idflt = 48000,
     .help = "Hz: one of Opus's rates 8000, 12000, 16000, 24000, 48000"},
};

/* Bounds of the check, from libopus 1.3.1 at 6-32 kbps (voip and audio, 20 ms; also 8-24
 * kHz, 10-60 ms frames, CBR) on speech, pink and white noise and a sine, 1-5 s:
 * - achieved / target bitrate: 0.63 (pink noise, 6 kbps VBR: 3.8 kbps) to 1.17 (sine at
 *   6 kbps); so 0.5..1.25. Targets above 256 kbps count as 256: one channel tops out near
 *   265 kbps (265.6 measured at 510000).
 * - SI-SDR: -23.8 dB at worst (white noise at 6 kbps: the codec keeps its spectrum, not
 *   its waveform); speech 3.4 dB and up. Silence gives -inf, half speed -49 to -61 dB, a
 *   frame late on noise -45 dB: floor -35 dB. A delayed speech signal still scores about
 *   -11 dB (pitch repeats), which is why alignment is checked on its own:
 * - GCC-PHAT peak within 0.25 ms of lag 0 over the largest beyond 1 ms (up to 126.5 ms,
 *   two 60 ms frames and the lookahead): 3.4x at worst (pink noise, 6 kbps); a round trip
 *   a frame or the lookahead late shows 0.1-0.4x. Margin 2x.
 * - Gain and sign (issue 29): SI-SDR and the GCC-PHAT peak's magnitude are blind to both,
 *   so an output x 32768 or negated passed. The output/input energy ratio must lie within
 *   [GAIN_LOW_DB, GAIN_HIGH_DB]: CELT codes each band's energy explicitly and SILK matches
 *   its excitation gain, so what the codec keeps comes back at its level; what it loses is
 *   the energy above its coded bandwidth (at 6 kbps narrowband, 4 kHz) and some noise in
 *   quiet frames, which only lowers the ratio. Measured (exec and suites/codecs, 8-48 kHz,
 *   6-510 kbps, 10-60 ms, VBR and CBR): speech -0.08..-0.91 dB, pink noise -2.5..-3.3, a
 *   square wave -3.0, white noise at 6 kbps and 48 kHz -8.4 (its 5/6 above 4 kHz gone:
 *   -7.8 dB alone). A whole-signal floor must sit below that (it was -12 dB, and white noise
 *   at 6 kbps CBR measures -10.35), so a 0.3x gain on speech (-10.5 dB) passed and 0.25x
 *   failed by 0.1 dB. So the floor is taken where the codec keeps everything at every
 *   bitrate: the band BAND_LOW_HZ..BAND_HIGH_HZ (inside narrowband's 4 kHz, above SILK's
 *   high-pass), energies from the alignment's own DFT. Measured there (harness exec, 2 s,
 *   over speech, pink, noise, sine, chirp, sweep, square, clicks; 8/16/48 kHz; 6, 12, 24,
 *   64, 256 kbps; voip and audio; 20 and 60 ms; VBR and CBR; 264 cases): speech
 *   -0.63..+0.02 dB, noise and pink -2.91..+0.04, tones and sweeps -0.88..+3.88 (a sweep
 *   at 6 kbps CBR), square -3.11, clicks -2.21..+2.91; the whole signal spans -10.35..
 *   +0.78 there. (Three more fail the check anyway: a square at 6 kbps CBR, whose output
 *   no longer aligns, -10.8 dB in the band, and clicks at 6 kbps voip at 8 and 16 kHz,
 *   +12 dB over the whole signal.) Hence BAND_LOW_DB -6 and BAND_HIGH_DB +6 (2.1 dB or
 *   more beyond the ends): a 0.25x gain fails on all of that content (by 2.2 dB at the
 *   closest, the CBR sweep; by 5.4 dB or more on speech, noise, pink and square), 0.5x on
 *   speech. Where x has under BAND_MIN_SHARE of its energy in the band (a tone above it)
 *   the whole signal's -12 dB floor is used instead. Above, the whole signal may not gain
 *   more than +6 dB (nothing adds energy but coding noise, a fraction of the signal's);
 *   32768x misses by 84 dB.
 *   The sign at the aligned lag: the GCC-PHAT value at the lobe's peak must be positive (a
 *   negated output gives the same |peak| with its sign flipped), and so must the plain
 *   normalised correlation sum x[i] y[i + lag] / (||x|| ||y||) there: measured +0.091 at
 *   worst (white noise, 6 kbps voip; speech +0.86 and up), where chance over the >= 2048
 *   samples validate() asks for gives about +-0.02 and a negated output the same value
 *   negative.
 * Outside the measured range (10 ms frames below 12 kbps) validate() refuses the case. */
#define BAND_LOW_HZ 200.0
#define BAND_HIGH_HZ 3200.0
#define BAND_LOW_DB -6.0
#define BAND_HIGH_DB 6.0
#define BAND_MIN_SHARE 0.01
#define GAIN_LOW_DB -12.0
#define GAIN_HIGH_DB 6.0
#define BITRATE_LOW 0.5
#define BITRATE_HIGH 1.25
#define MIN_SI_SDR_DB -35.0
#define MIN_CORR_MARGIN 2.0
#define OPUS_LOOKAHEAD_MS 6.5

static long long samples_of(const sono_params *p)
{
    return llround(sono_param_real(p, "seconds", 5) *
                   (double)sono_param_int(p, "sample_rate", 48000));
}

static double rate(const sono_params *p)
{
    return (double)sono_param_int(p, "sample_rate", 48000);
}

static int validate(const sono_params *p, sono_error *err)
{
    long long sr = sono_param_int(p, "sample_rate", 48000);
    long long fm = sono_param_int(p, "frame_ms", 20);
    if (sr != 8000 && sr != 12000 && sr != 16000 && sr != 24000 && sr != 48000)
        return sono_fail(err, SONO_EINVAL, "codec.opus: sample_rate=%lld; Opus runs at "
                         "8000, 12000, 16000, 24000 or 48000 Hz", sr);
    if (fm != 10 && fm != 20 && fm != 40 && fm != 60)
        return sono_fail(err, SONO_EINVAL, "codec.opus: frame_ms=%lld; one of 10, 20, 40, "
                         "60", fm);
    if (fm == 10 && sono_param_int(p, "bitrate", 24000) < 12000)
        return sono_fail(err, SONO_EINVAL, "codec.opus: bitrate=%lld with frame_ms=10: "
                         "below 12000 bit/s 10 ms packets cannot hold the rate (libopus "
                         "1.3.1 spends 8.4 kbps for 6) nor the signal; use 20 ms or more",
                         sono_param_int(p, "bitrate", 24000));
    if (samples_of(p) < 2048)
        return sono_fail(err, SONO_EINVAL, "codec.opus: seconds=%g gives %lld samples at "
                         "%lld Hz; the quality metrics need 2048 or more",
                         sono_param_real(p, "seconds", 5), samples_of(p), sr);
    return 0;
}

static void shapes(const sono_params *p, sono_buf *in, sono_buf *out)
{
    long long n = samples_of(p);
    *in = (sono_buf){.dtype = SONO_F32, .ndim = 1, .shape = {n}};
    *out = (sono_buf){.dtype = SONO_F32, .ndim = 1, .shape = {n + 1}};
}

/* The ideal round trip: the input itself, and the target's byte count in the last slot. */
static int reference(const sono_params *p, const sono_buf *in, sono_buf *ref,
                     sono_error *err)
{
    (void)err;
    long long n = samples_of(p);
    const float *x = in->data;
    double *r = ref->data;
    for (long long i = 0; i < n; i++)
        r[i] = x[i];
    r[n] = (double)sono_param_int(p, "bitrate", 24000) * (double)n / rate(p) / 8.0;
    return 0;
}

/* The codec's arithmetic has no agreed count: flops 0 (unknown; GFLOP/s shows '-').
 * Bytes: the input and the output once. */
static void cost(const sono_params *p, sono_cost *c)
{
    long long n = samples_of(p);
    c->flops = 0;
    c->bytes = 4.0 * (double)n + 4.0 * (double)(n + 1);
}

/* Unused by the check (op->check has its own bounds); returned as its tol for the record:
 * the SI-SDR floor, in dB. */
static double tolerance(const sono_params *p, sono_err_growth g)
{
    (void)p;
    (void)g;
    return MIN_SI_SDR_DB;
}

/* Normalised cross-correlation r[lag] = sum_i x[i] y[i + lag] / (||x|| ||y||) for
 * |lag| <= span, into r[span + lag], by one zero-padded DFT of each signal (the float64
 * DFT of dft64.h); from the same spectra, x's and y's energies in the band [lo, hi] Hz
 * (band[0], band[1]) at sample rate fs, and the share of x's energy in it (band[2]).
 * Returns 0 or SONO_ENOMEM. */
static int xcorr(const float *x, const float *y, long long n, long long span, double *r,
                 double fs, double lo, double hi, double band[3])
{
    long long m = 1;
    while (m < n + span + 1)
        m *= 2;
    double *a = calloc((size_t)(2 * m), sizeof *a), *b = calloc((size_t)(2 * m), sizeof *b);
    double *fa = malloc(sizeof *fa * (size_t)(2 * m)), *fb = malloc(sizeof *fb * (size_t)(2 * m));
    int rc = a && b && fa && fb ? 0 : SONO_ENOMEM;
    double xx = 0, yy = 0;
    for (long long i = 0; !rc && i < n; i++) {
        a[2 * i] = x[i];
        b[2 * i] = y[i];
        xx += (double)x[i] * x[i];
        yy += (double)y[i] * y[i];
    }
    if (!rc)
        rc = sono_dft64(a, fa, m, 1) || sono_dft64(b, fb, m, 1) ? SONO_ENOMEM : 0;
    band[0] = band[1] = 0;
    for (long long k = (long long)ceil(lo * (double)m / fs); !rc && k <= hi * (double)m / fs;
         k++) {
        band[0] += fa[2 * k] * fa[2 * k] + fa[2 * k + 1] * fa[2 * k + 1];
        band[1] += fb[2 * k] * fb[2 * k] + fb[2 * k + 1] * fb[2 * k + 1];
    }
    /* Parseval: the m bins hold m xx; the band's positive bins half of what lies in it */
    band[2] = xx > 0 ? 2.0 * band[0] / ((double)m * xx) : 0.0;
    /* The cross-spectrum conj(A) B with its magnitude divided out (GCC-PHAT), so the
     * peak is as sharp for voiced speech and tones as for noise; conjugated, a forward
     * DFT and a conjugate give the inverse times m. Bins with no energy stay 0. */
    double floor = 0;
    for (long long k = 0; !rc && k < m; k++) {
        double ar = fa[2 * k], ai = fa[2 * k + 1], br = fb[2 * k], bi = fb[2 * k + 1];
        a[2 * k] = ar * br + ai * bi;
        a[2 * k + 1] = -(ar * bi - ai * br);
        floor = fmax(floor, hypot(a[2 * k], a[2 * k + 1]));
    }
    floor *= 1e-9;
    for (long long k = 0; !rc && k < m; k++) {
        double mag = hypot(a[2 * k], a[2 * k + 1]);
        a[2 * k] = mag > floor ? a[2 * k] / mag : 0.0;
        a[2 * k + 1] = mag > floor ? a[2 * k + 1] / mag : 0.0;
    }
    if (!rc)
        rc = sono_dft64(a, fa, m, 1) ? SONO_ENOMEM : 0;
    double norm = xx > 0 && yy > 0 ? 1.0 / (double)m : 0.0;
    for (long long lag = -span; !rc && lag <= span; lag++)
        r[span + lag] = fa[2 * ((lag + m) % m)] * norm;
    free(a);
    free(b);
    free(fa);
    free(fb);
    return rc;
}

static int check(const sono_params *p, const sono_buf *in, const sono_buf *out,
                 const sono_buf *ref, double tol, sono_check *c, sono_error *err)
{
    (void)ref;
    long long n = samples_of(p);
    if (sono_buf_elems(in) != n || sono_buf_elems(out) != n + 1 || in->dtype != SONO_F32 ||
        out->dtype != SONO_F32)
        return sono_fail(err, SONO_EINVAL, "codec.opus check: want f32 [%lld] in and "
                         "[%lld] out, got %lld and %lld", n, n + 1, sono_buf_elems(in),
                         sono_buf_elems(out));
    const float *x = in->data, *y = out->data;
    double d2 = 0, x2 = 0;
    c->tol = tol;
    c->nonfinite = 0;
    c->max_abs = 0;
    c->ref_peak = 0;
    for (long long i = 0; i < n; i++) {
        if (!isfinite(y[i])) {
            c->nonfinite++;
            continue;
        }
        double d = (double)y[i] - x[i];
        d2 += d * d;
        x2 += (double)x[i] * x[i];
        c->max_abs = fmax(c->max_abs, fabs(d));
        c->ref_peak = fmax(c->ref_peak, fabs((double)x[i]));
    }
    c->rel_l2 = x2 > 0 ? sqrt(d2 / x2) : sqrt(d2);
    /* libopus spends at most ~265 kbps on one channel (measured at 510000: 265.6) */
    double bytes = y[n], target = fmin((double)sono_param_int(p, "bitrate", 24000), 256000);
    double kbps = bytes * 8.0 / ((double)n / rate(p)) / 1000.0;
    if (c->nonfinite) {
        snprintf(c->detail, sizeof c->detail, "%lld of %lld samples not finite",
                 c->nonfinite, n);
        c->pass = 0;
        return 0;
    }
    if (!isfinite(bytes) || bytes < 1 || bytes != floor(bytes) || bytes >= 16777216.0) {
        snprintf(c->detail, sizeof c->detail, "byte count slot out[%lld] = %g: not a "
                 "positive integer below 2^24", n, bytes);
        c->pass = 0;
        return 0;
    }
    /* Alignment: the correlation at lag 0 must beat every lag within two 60 ms frames
     * (plus the 6.5 ms lookahead) by MIN_CORR_MARGIN, so a round trip off by a frame or
     * by the lookahead fails even where SI-SDR alone could not tell (stationary noise). */
    long long span = (long long)(0.1265 * rate(p)), worst_lag = 0;
    double *r = calloc((size_t)(2 * span + 1), sizeof *r), cmax = 0;
    double band[3];
    if (!r || xcorr(x, y, n, span, r, rate(p), BAND_LOW_HZ, BAND_HIGH_HZ, band)) {
        free(r);
        return sono_fail(err, SONO_ENOMEM, "codec.opus check: no memory for the "
                         "correlation of %lld samples", n);
    }
    /* the peak within 0.25 ms of lag 0 against the largest beyond 1 ms */
    long long lobe = (long long)(0.00025 * rate(p)) + 1, side = (long long)(0.001 * rate(p));
    double c0 = 0, c0s = 0; /* the lobe's largest |r| and r's sign there */
    long long lag0 = 0;
    for (long long lag = -span; lag <= span; lag++) {
        double v = fabs(r[span + lag]);
        if (lag >= -lobe && lag <= lobe) {
            if (v > c0) {
                c0 = v;
                c0s = r[span + lag];
                lag0 = lag;
            }
        } else if ((lag < -side || lag > side) && v > cmax) {
            cmax = v;
            worst_lag = lag;
        }
    }
    free(r);
    /* the plain correlation and the RMS ratio at the aligned lag: sum x[i] y[i + lag0] */
    double xy = 0, xx = 0, yy = 0;
    for (long long i = 0; i < n; i++) {
        long long j = i + lag0;
        double yj = j >= 0 && j < n ? y[j] : 0.0;
        xy += (double)x[i] * yj;
        xx += (double)x[i] * x[i];
        yy += (double)y[i] * y[i];
    }
    double rho = xx > 0 && yy > 0 ? xy / sqrt(xx * yy) : 0.0;
    double gain_db = xx > 0 && yy > 0 ? 10.0 * log10(yy / xx) : -INFINITY;
    double band_db = band[0] > 0 && band[1] > 0 ? 10.0 * log10(band[1] / band[0]) : -INFINITY;
    double sdr = sono_si_sdr_db(x, y, n);
    double ratio = bytes * 8.0 / ((double)n / rate(p)) / target;
    int bitrate_ok = ratio >= BITRATE_LOW && ratio <= BITRATE_HIGH;
    int sdr_ok = sdr >= MIN_SI_SDR_DB; /* NaN and -inf (silence) fail */
    int align_ok = c0 > 0 && c0 >= MIN_CORR_MARGIN * cmax;
    int sign_ok = c0s > 0 && rho > 0;
    /* in the band when x has energy there, else over the whole signal (NaN fails) */
    int in_band = band[2] >= BAND_MIN_SHARE;
    int gain_ok = gain_db <= GAIN_HIGH_DB &&
                  (in_band ? band_db >= BAND_LOW_DB && band_db <= BAND_HIGH_DB
                           : gain_db >= GAIN_LOW_DB);
    c->pass = bitrate_ok && sdr_ok && align_ok && sign_ok && gain_ok;
    snprintf(c->detail, sizeof c->detail,
             "%.2f kbps (x%.2f..%.2f of %.2f: %s); SI-SDR %.2f dB (>= %.0f: %s); corr lag 0 "
             "%.3f vs %.3f at %lld (x%.0f: %s); sign %+.3f (%s); gain %+.2f dB, band %+.2f "
             "(%s %.0f..%+.0f: %s)",
             kbps, BITRATE_LOW, BITRATE_HIGH, target / 1000.0, bitrate_ok ? "ok" : "FAIL", sdr,
             MIN_SI_SDR_DB, sdr_ok ? "ok" : "FAIL", c0, cmax, worst_lag, MIN_CORR_MARGIN,
             align_ok ? "ok" : "FAIL", rho, sign_ok ? "ok" : "FAIL", gain_db, band_db,
             in_band ? "band" : "whole", in_band ? BAND_LOW_DB : GAIN_LOW_DB,
             in_band ? BAND_HIGH_DB : GAIN_HIGH_DB, gain_ok ? "ok" : "FAIL");
    return 0;
}

static int quality(const sono_params *p, const sono_buf *in, const sono_buf *out,
                   sono_quality *q, sono_error *err)
{
    long long n = samples_of(p);
    if (sono_buf_elems(in) != n || sono_buf_elems(out) != n + 1)
        return sono_fail(err, SONO_EINVAL, "codec.opus quality: want [%lld] in and [%lld] "
                         "out, got %lld and %lld", n, n + 1, sono_buf_elems(in),
                         sono_buf_elems(out));
    const float *x = in->data, *y = out->data;
    if (isfinite(y[n]) && y[n] >= 0) {
        q->bitrate_bps = (double)y[n] * 8.0 / ((double)n / rate(p));
        q->has |= SONO_Q_BITRATE;
    }
    for (long long i = 0; i < n; i++)
        if (!isfinite(y[i])) {
            snprintf(q->note, sizeof q->note, "output not finite: no quality");
            return 0;
        }
    int rc = sono_quality_audio(x, y, n, rate(p), q, err);
    /* issue 24: STOI, ESTOI and PESQ at 16 kHz (8 kHz stays narrowband) */
    return rc ? rc : sono_quality_speech(x, y, n, rate(p), q, err);
}

/* Samples in, samples out; the trailing byte count belongs to no step. */
static int stream_shape(const sono_params *p, sono_stream_shape *s, sono_error *err)
{
    (void)err;
    long long n = samples_of(p);
    *s = (sono_stream_shape){
        .in = {1, n, 1}, .out = {1, n, 1}, .step_rate = rate(p),
        .algo_latency_s = ((double)sono_param_int(p, "frame_ms", 20) + OPUS_LOOKAHEAD_MS) * 1e-3};
    return 0;
}

const sono_op sono_op_codec_opus = {
    .name = "codec.opus",
    .summary = "Opus encode + decode round trip (libopus API): decoded signal aligned to "
               "the input, plus the packet byte count",
    .params = params,
    .nparams = sizeof params / sizeof params[0],
    .validate = validate,
    .shapes = shapes,
    .reference = reference,
    .cost = cost,
    .tolerance = tolerance,
    .rate = rate,
    .check = check,
    .quality = quality,
    .stream_shape = stream_shape,
    .size_param = "bitrate",
    .size_label = "bitrate (bit/s)",
    .merit = SONO_MERIT_CODEC,
};
