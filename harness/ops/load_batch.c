/* load_batch.c — op "load.batch": a training input pipeline's whole step. Read clips,
 * decode, resample to `rate`, random-crop crop_s seconds by the rule in load_batch.h
 * (a pure function of seed, batch and slot), normalise by RMS, stack into
 * F32 [batches, batch, crop]. The sources: a folder of files (dir), the packed file (sbd,
 * datasets/sbd.h) or WebDataset tar shards (tar), each made from the same files.
 *
 * Design: a case's input shape comes from its params alone, but the data here is a
 * corpus. So the input buffer is the corpus's manifest (load_batch.h): the files' sizes,
 * sha256, rates and lengths, plus the absolute paths of the folder and of the packed file
 * or shards that input() made from it (cached under the sonobench cache, made once, never
 * timed). The recorded input sha256 then pins the exact files; the impl reads the files
 * themselves. Its size is bounded by `clips` (LB_LINE bytes a line).
 *
 * Reference: every slot's clip decoded from the source file by another route than the
 * impl's (load_ref.c), resampled by a float64 windowed sinc at the crop's samples only.
 * Tolerance: the impl's resampler (soxr HQ, passband to 0.95 of the lower Nyquist, stop at
 * 1.0) and the reference (cutoff 0.975, a Kaiser transition about 8% wide) both approximate
 * the ideal band limit with different transition bands, so they differ by the signal's
 * energy in the top ~5% of the output band: speech has little there, the corpus's added
 * white noise (-20..-40 dB) some. Measured on the corpus (FLAC, 22.05/44.1/48 -> 16 kHz):
 * up to 1e-2 relative L2 per crop, max |error| up to 3% of the crop's peak (the check
 * bounds max_abs by tol * peak); 16 kHz clips match to 3e-8. So 5e-2 for FLAC and WAV;
 * a wrong clip or crop is off by O(1), a one-sample shift by ~0.2. Lossy sources are
 * decoded by two different decoders (Opus at 48 kHz by libopusfile, at the file's rate by
 * libsndfile; Vorbis by libsndfile and libvorbisfile), so they get 1.5e-1. Vorbis passes
 * (about 1e-2); Opus files at 16 kHz do not: libopus decoding at 16 kHz and at 48 kHz
 * differs by a fraction of a sample of delay (~1.3 samples at 48 kHz), 0.12-0.18 relative
 * L2 per crop, so format=opus cases fail their check (known; not in the suite).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "corpus.h"
#include "check.h"
#include "load_batch.h"
#include "op.h"

int lb_input(const sono_params *p, const sono_input_spec *spec, sono_buf *in, sono_error *err);

static const sono_param_spec params[] = {
    {.name = "source", .type = SONO_PSTR, .sdflt = "dir", .choices = "dir|sbd|tar",
     .help = "a folder of files, the packed .sbd file, or tar shards made from them"},
    {.name = "format", .type = SONO_PSTR, .sdflt = "flac", .choices = "flac|wav|vorbis|opus",
     .help = "which files of the folder (and so of the shards, and packed for sbd)"},
    {.name = "encoding", .type = SONO_PSTR, .sdflt = "pcm16", .choices = "pcm16|f32|flac",
     .help = "sbd: clips pre-decoded (pcm16, f32) or FLAC bytes as they are (format=flac)"},
    {.name = "batch", .type = SONO_PINT, .imin = 1, .imax = 4096, .idflt = 16,
     .help = "clips per batch"},
    {.name = "batches", .type = SONO_PINT, .imin = 1, .imax = 4096, .idflt = 4,
     .help = "batches one run loads"},
    {.name = "crop_s", .type = SONO_PREAL, .rmin = 0.01, .rmax = 60, .rdflt = 2.0,
     .help = "seconds of audio per crop"},
    {.name = "rate", .type = SONO_PINT, .imin = 1000, .imax = 192000, .idflt = 16000,
     .help = "output sample rate (Hz)"},
    {.name = "seed", .type = SONO_PINT, .imin = 0, .imax = 1LL << 53, .idflt = 1,
     .help = "draws each slot's clip and crop position"},
    {.name = "prefetch", .type = SONO_PINT, .imin = 1, .imax = 64, .idflt = 2,
     .help = "queue depth in batches: crops done ahead of the consumer"},
    {.name = "clips", .type = SONO_PINT, .imin = 1, .imax = 100000, .idflt = 64,
     .help = "the generated corpus's size, or the most files of a folder used"},
    {.name = "per_shard", .type = SONO_PINT, .imin = 1, .imax = 100000, .idflt = 16,
     .help = "tar: files per shard"},
};

static long long crop_n(const sono_params *p)
{
    return llround(sono_param_real(p, "crop_s", 2.0) * (double)sono_param_int(p, "rate", 16000));
}

static int validate(const sono_params *p, sono_error *err)
{
    long long b = sono_param_int(p, "batch", 16), nb = sono_param_int(p, "batches", 4);
    if ((double)b * (double)nb * (double)crop_n(p) > (double)(1LL << 28))
        return sono_fail(err, SONO_EINVAL, "load.batch: batches * batch * crop = %lld * %lld * "
                         "%lld samples exceeds 2^28", nb, b, crop_n(p));
    if (crop_n(p) < 1)
        return sono_fail(err, SONO_EINVAL, "load.batch: crop_s * rate rounds to 0 samples");
    if (strcmp(sono_param_str(p, "encoding", "pcm16"), "flac") == 0 &&
        strcmp(sono_param_str(p, "format", "flac"), "flac") != 0)
        return sono_fail(err, SONO_EINVAL, "load.batch: encoding=flac packs FLAC files: it "
                         "needs format=flac");
    return 0;
}

static int choice(const char *v, const char *const *set)
{
    for (int i = 0; set[i]; i++)
        if (strcmp(v, set[i]) == 0)
            return i;
    return 0;
}

/* The harness keeps one built input per (input, shape) and reuses it across cases, so
 * cases whose manifests differ (another source, format, encoding or shard size) must
 * differ in shape: a few trailing elements, zero, number the variant. */
static long long variant(const sono_params *p)
{
    static const char *const src[] = {"dir", "sbd", "tar", NULL};
    static const char *const fmt[] = {"flac", "wav", "vorbis", "opus", NULL};
    static const char *const enc[] = {"pcm16", "f32", "flac", NULL};
    int s = choice(sono_param_str(p, "source", "dir"), src);
    long long v = (s * 4 + choice(sono_param_str(p, "format", "flac"), fmt)) * 3 +
                  choice(sono_param_str(p, "encoding", "pcm16"), enc);
    return s == 2 ? v + 36 * sono_param_int(p, "per_shard", 16) : v;
}

static void shapes(const sono_params *p, sono_buf *in, sono_buf *out)
{
    long long clips = sono_param_int(p, "clips", 64);
    *in = (sono_buf){.dtype = SONO_I32, .ndim = 1,
                     .shape = {(LB_HEAD + clips * LB_LINE) / 4 + variant(p)}};
    *out = (sono_buf){.dtype = SONO_F32, .ndim = 3,
                      .shape = {sono_param_int(p, "batches", 4), sono_param_int(p, "batch", 16),
                                crop_n(p)}};
}

static double rate(const sono_params *p) { return (double)sono_param_int(p, "rate", 16000); }

/* The audio one run delivers: every crop of every batch. */
static double audio_seconds(const sono_params *p)
{
    return (double)sono_param_int(p, "batches", 4) * (double)sono_param_int(p, "batch", 16) *
           (double)crop_n(p) / rate(p);
}

static int input(const sono_params *p, const sono_input_spec *spec, double r, sono_buf *in,
                 sono_error *err)
{
    (void)r;
    return lb_input(p, spec, in, err);
}

static int reference(const sono_params *p, const sono_buf *in, sono_buf *ref, sono_error *err)
{
    lb_manifest m;
    int rc = lb_parse(in->data, in->nbytes, &m, err);
    if (rc)
        return rc;
    long long B = sono_param_int(p, "batch", 16), NB = sono_param_int(p, "batches", 4);
    long long crop = crop_n(p);
    int R = (int)sono_param_int(p, "rate", 16000);
    uint64_t seed = (uint64_t)sono_param_int(p, "seed", 1);
    double *y = ref->data;
    for (long long b = 0; !rc && b < NB; b++)
        for (long long s = 0; !rc && s < B; s++) {
            int clip, fr;
            long long start, L, n;
            lb_slot(seed, b, s, &m, crop, R, &clip, &start, &L);
            char path[8192];
            snprintf(path, sizeof path, "%s/%s", m.root, m.clips[clip].name);
            double *x = NULL, *o = y + (b * B + s) * crop;
            if ((rc = lb_ref_decode(path, &x, &n, &fr, err)))
                break;
            /* the manifest's frames and rate define the crop; a decoder that yields
             * fewer samples leaves zeros (Opus's end trimming differs by decoder) */
            rc = lb_ref_resample(x, n, fr, R, start, crop, o, err);
            free(x);
            double ss = 0;
            for (long long i = 0; i < crop; i++) {
                if (start + i >= L)
                    o[i] = 0;
                ss += o[i] * o[i];
            }
            double g = 1.0 / sqrt(ss / (double)crop + 1e-12);
            for (long long i = 0; i < crop; i++)
                o[i] *= g;
        }
    lb_manifest_free(&m);
    return rc;
}

static void cost(const sono_params *p, sono_cost *c)
{
    c->flops = 0; /* decoding has no FLOP count worth the name */
    c->bytes = 4.0 * (double)sono_param_int(p, "batches", 4) *
               (double)sono_param_int(p, "batch", 16) * (double)crop_n(p);
}

/* The whole batch against the reference within these (the file's header has why and
 * what was measured: the resamplers' different transition bands, up to 1e-2 L2 and 3% of
 * a crop's peak on the corpus; honest dataload/threads on suites/dataload: rel_l2 7.8e-3,
 * max error 3.4% of the peak). They are wide, so on their own they pass a gain of 1.03
 * (rel_l2 0.031): check() adds the two bounds below, which no resampler explains away. */
static double tolerance(const sono_params *p, sono_err_growth g)
{
    (void)g;
    const char *f = sono_param_str(p, "format", "flac");
    return strcmp(f, "flac") == 0 || strcmp(f, "wav") == 0 ? 5e-2 : 1.5e-1;
}

/* Issue 29. (1) Every crop's RMS is the definition's, 1 (0 for a silent crop): the impl's
 * and the reference's resamplers differ, but each divides its own crop by its own RMS, so
 * only float rounding remains: the impl's scale rounded to float (eps/2) and each product
 * rounded (eps/2 a sample, random, far less on the mean), the sum in double:
 * |RMS - 1| <= ~eps = 1.2e-7. Measured worst (suites/dataload, 8 cases x 64 crops; wav and
 * vorbis by exec): 5.3e-8. Bound 1e-5 (190x that), while a gain of 1.001 is off by 1e-3.
 * (2) A crop of a lossless clip (flac, wav) already at the output rate is resampled by
 * neither side, so it matches to float rounding too: rel L2 per crop <= SAME_RATE_TOL =
 * 8 eps (the same two roundings, plus channel averaging in float, 4x margin); measured
 * worst 5.6e-8 (11 crops of 16 kHz clips a case), where a resampled crop shows ~1e-2 and
 * a gain of 1.03 3e-2. */
#define RMS_TOL 1e-5
#define SAME_RATE_TOL (8.0 * 1.1920929e-7)

static int check(const sono_params *p, const sono_buf *in, const sono_buf *out,
                 const sono_buf *ref, double tol, sono_check *c, sono_error *err)
{
    int rc = sono_check_output(out, ref, tol, c, err);
    if (rc)
        return rc;
    lb_manifest m;
    if ((rc = lb_parse(in->data, in->nbytes, &m, err)))
        return rc;
    long long B = sono_param_int(p, "batch", 16), NB = sono_param_int(p, "batches", 4);
    long long crop = crop_n(p), bad_rms = 0, same = 0, bad_same = 0;
    int R = (int)sono_param_int(p, "rate", 16000);
    const char *f = sono_param_str(p, "format", "flac");
    int lossless = strcmp(f, "flac") == 0 || strcmp(f, "wav") == 0;
    double worst_rms = 0, worst_same = 0;
    uint64_t seed = (uint64_t)sono_param_int(p, "seed", 1);
    const float *y = out->data;
    const double *r = ref->data;
    for (long long b = 0; b < NB; b++)
        for (long long s = 0; s < B; s++) {
            long long o = (b * B + s) * crop, start, L;
            double yy = 0, rr = 0, dd = 0;
            for (long long i = 0; i < crop; i++) {
                double d = (double)y[o + i] - r[o + i];
                yy += (double)y[o + i] * y[o + i];
                rr += r[o + i] * r[o + i];
                dd += d * d;
            }
            double e = fabs(sqrt(yy / (double)crop) - sqrt(rr / (double)crop));
            if (!(e <= RMS_TOL))
                bad_rms++;
            worst_rms = isnan(e) || e > worst_rms ? e : worst_rms;
            int clip;
            lb_slot(seed, b, s, &m, crop, R, &clip, &start, &L);
            if (lossless && m.clips[clip].rate == R) {
                double rel = rr > 0 ? sqrt(dd / rr) : sqrt(dd);
                same++;
                bad_same += !(rel <= SAME_RATE_TOL);
                worst_same = isnan(rel) || rel > worst_same ? rel : worst_same;
            }
        }
    lb_manifest_free(&m);
    if (bad_rms || bad_same)
        c->pass = 0;
    snprintf(c->detail, sizeof c->detail, "crop RMS off by %.1e at worst (<= %.0e: %lld "
             "FAIL); %lld crops at %d Hz unresampled: rel L2 %.1e at worst (<= %.1e: %lld "
             "FAIL)", worst_rms, RMS_TOL, bad_rms, same, R, worst_same, SAME_RATE_TOL, bad_same);
    return 0;
}

const sono_op sono_op_load_batch = {
    .name = "load.batch",
    .summary = "input pipeline: read, decode, resample, random-crop, normalise, stack",
    .params = params,
    .nparams = sizeof params / sizeof params[0],
    .validate = validate,
    .shapes = shapes,
    .reference = reference,
    .cost = cost,
    .tolerance = tolerance,
    .rate = rate,
    .audio_seconds = audio_seconds,
    .input = input,
    .check = check,
    .size_param = "batch",
    .size_label = "clips per batch",
    .merit = SONO_MERIT_AUDIO_HOURS,
    .describe_field = "bottleneck",
};
