/* hifigan.c — op "vocoder.hifigan": HiFi-GAN's generator, log-mel [80, frames] -> waveform
 * [frames * 256] at 22.05 kHz (hifigan.h has the definitions and the weights), on the
 * float64 mel of the suite's signal, checked by relative L2 against the float64 network;
 * streams by mel frames. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <unistd.h>

#include "buf.h"
#include "check.h"
#include "hifigan.h"
#include "input.h"
#include "mel64.h"
#include "nndtype.h"

static const sono_param_spec params[] = {
    {.name = "config", .type = SONO_PSTR, .choices = "v1|v2|custom", .sdflt = "v1",
     .help = "v1 (512 channels), v2 (128); custom: channels (tests)"},
    {.name = "channels", .type = SONO_PINT, .imin = 16, .imax = 1024, .idflt = 32,
     .help = "config=custom only: upsample_initial_channel (a multiple of 16)", .late = 1},
    {.name = "frames", .type = SONO_PINT, .imin = 1, .imax = 100000, .idflt = 862,
     .help = "mel frames in (86.13 per s: 862 is 10 s); out frames * 256 samples"},
    {.name = "weights", .type = SONO_PSTR, .sdflt = "random",
     .help = "random (seeded, the config's shapes, cached) or a .safetensors file with "
             "SpeechT5HifiGan's names (microsoft/speecht5_hifigan's layout)"},
    {.name = "seed", .type = SONO_PINT, .imin = 0, .imax = 1LL << 62, .idflt = 1,
     .help = "seed of the random weights"},
    /* issue 26: the GEMMs' operands in a reduced dtype (late: f32 ids unchanged) */
    SONO_NN_DTYPE_PARAM,
};

static int validate(const sono_params *p, sono_error *err)
{
    sono_hg_dims d;
    int rc = sono_hg_dims_get(p, &d, err);
    return rc ? rc : sono_hg_weights_ready(p, &d, err);
}

static void shapes(const sono_params *p, sono_buf *in, sono_buf *out)
{
    sono_hg_dims d;
    if (sono_hg_dims_get(p, &d, NULL)) {
        *in = (sono_buf){.dtype = SONO_F32, .ndim = 1, .shape = {1}};
        *out = *in;
        return;
    }
    *in = (sono_buf){.dtype = SONO_F32, .ndim = 2, .shape = {SONO_HG_MELS, d.frames}};
    *out = (sono_buf){.dtype = SONO_F32, .ndim = 1, .shape = {d.samples}};
}

static double rate(const sono_params *p)
{
    (void)p;
    return SONO_HG_RATE;
}

static double audio_seconds(const sono_params *p)
{
    sono_hg_dims d;
    return sono_hg_dims_get(p, &d, NULL) ? 0 : (double)d.samples / SONO_HG_RATE;
}

/* The signal at 22.05 kHz (frames * 256 samples, 1024 at least, zero-padded past its end) through the
 * float64 magnitude mel, ln(max(M, 1e-5)), its first frames rounded to float32, and to
 * the dtype's grid at a reduced one (issue 26): the mel is the network's input, read by
 * the normalisation before conv_pre, so the reference reads the values a kernel stores. */
static int input(const sono_params *p, const struct sono_input_spec *spec, double r,
                 sono_buf *in, sono_error *err)
{
    sono_hg_dims d;
    int rc = sono_hg_dims_get(p, &d, err);
    if (rc)
        return rc;
    /* at least 4 frames of signal: the centred STFT reflects n_fft / 2 = 512 samples */
    double secs = (double)(d.frames < 4 ? 4 * SONO_HG_HOP : d.samples) / SONO_HG_RATE;
    sono_params mp = {.count = 10,
                      .v = {{.name = "sample_rate", .type = SONO_PINT, .i = SONO_HG_RATE},
                            {.name = "seconds", .type = SONO_PREAL, .r = secs},
                            {.name = "n_fft", .type = SONO_PINT, .i = 1024},
                            {.name = "hop", .type = SONO_PINT, .i = SONO_HG_HOP},
                            {.name = "n_mels", .type = SONO_PINT, .i = SONO_HG_MELS},
                            {.name = "fmin", .type = SONO_PREAL, .r = 0},
                            {.name = "fmax", .type = SONO_PREAL, .r = 8000},
                            {.name = "mel_scale", .type = SONO_PSTR, .s = "slaney"},
                            {.name = "norm", .type = SONO_PSTR, .s = "slaney"},
                            {.name = "power", .type = SONO_PREAL, .r = 1}}};
    sono_dsp_dims dd;
    if ((rc = sono_dsp_dims_get("melspec", &mp, &dd, err)))
        return rc;
    if (dd.frames < d.frames)
        return sono_fail(err, SONO_EINTERNAL, "vocoder.hifigan: %lld mel frames from %lld "
                         "samples, %lld wanted", dd.frames, dd.samples, d.frames);
    sono_buf sig = {.dtype = SONO_F32, .ndim = 1, .shape = {dd.samples}};
    double *M = malloc((size_t)(dd.n_mels * dd.frames) * sizeof *M);
    if (!M || (rc = sono_buf_alloc(&sig, err))) {
        free(M);
        return rc ? rc : sono_fail(err, SONO_ENOMEM, "vocoder.hifigan: out of memory");
    }
    rc = sono_input_fill_padded(spec, r, &sig, err);
    if (!rc)
        rc = sono_melspec64(&dd, sig.data, M, err);
    float *x = in->data;
    for (long long m = 0; !rc && m < SONO_HG_MELS; m++)
        for (long long t = 0; t < d.frames; t++)
            x[m * d.frames + t] = (float)log(fmax(M[m * dd.frames + t], 1e-5));
    if (!rc)
        sono_nn_round_buf(x, SONO_HG_MELS * d.frames, sono_nn_dtype_get(p));
    free(M);
    sono_buf_free(&sig);
    return rc;
}

static int reference(const sono_params *p, const sono_buf *in, sono_buf *ref, sono_error *err)
{
    sono_hg_dims d;
    char path[4096];
    int rc = sono_hg_dims_get(p, &d, err);
    if (!rc)
        rc = sono_hg_weights_path(p, &d, path, sizeof path, err);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    return rc ? rc : sono_hg64_forward(path, &d, in->data, ref->data,
                                      cores < 1 ? 1 : cores > 64 ? 64 : (int)cores, err);
}

/* Relative L2 and max abs (check.h), and the weights file that made the output. */
static int check(const sono_params *p, const sono_buf *in, const sono_buf *out,
                 const sono_buf *ref, double tol, struct sono_check *c, sono_error *err)
{
    (void)in;
    sono_hg_dims d;
    char path[4096];
    int rc = sono_hg_dims_get(p, &d, err);
    if (!rc)
        rc = sono_hg_weights_path(p, &d, path, sizeof path, err);
    if (!rc)
        rc = sono_check_output(out, ref, tol, c, err);
    if (!rc) {
        const char *base = strrchr(path, '/');
        snprintf(c->detail, sizeof c->detail, "weights %s", base ? base + 1 : path);
    }
    return rc;
}

/* 2 flops per multiply-accumulate: conv_pre 2 F ch 80 7; stage i, at length L_i = F
 * r_0..r_i: the transposed conv 2 (F r_0..r_{i-1}) C_in C_i K_i, the resblocks 2 L_i C_i^2
 * (2 * 3 (3 + 7 + 11)); conv_post 2 S C_3 7. Activations, the mean and tanh are O(C L)
 * and not counted. Bytes: the mel in and the waveform out. */
static void cost(const sono_params *p, sono_cost *c)
{
    sono_hg_dims d;
    if (sono_hg_dims_get(p, &d, NULL)) {
        *c = (sono_cost){0};
        return;
    }
    double L = (double)d.frames, fl = 2 * L * d.ch * SONO_HG_MELS * 7, ksum = 0;
    for (int j = 0; j < SONO_HG_KERNELS; j++)
        ksum += sono_hg_rkernels[j];
    for (int i = 0; i < SONO_HG_STAGES; i++) {
        double ci = d.ch >> i, co = d.ch >> (i + 1);
        fl += 2 * L * ci * co * sono_hg_ukernels[i];
        L *= sono_hg_rates[i];
        fl += 2 * L * co * co * 6 * ksum;
    }
    fl += 2 * L * (d.ch >> SONO_HG_STAGES) * 7;
    c->flops = fl;
    c->bytes = 4.0 * (SONO_HG_MELS * (double)d.frames + (double)d.samples);
}

/* Errors relative to the waveform's norm. A float32 dot product of K terms is off by
 * ~eps sqrt(K) of its size (sequential sums; less for blocked ones). Leaky ReLU, the
 * mean of three and tanh are 1-Lipschitz, and the residual sums carry each conv's error
 * forward at its relative size, so the errors of the convs along the deepest path add
 * up independently: conv_pre 560, per stage the transposed conv C_in K / r and six
 * resblock convs C 11 (the widest kernel), conv_post 7 C_3: eps sqrt(sum K). Without
 * normalisation the residual sums let activations grow through a stage, so later
 * convs' errors are relative to larger values than the output's: a factor 2 is allowed
 * for that. tol = 2 (2 or 4) eps sqrt(sum K); v1: sum K 34384, 8.8e-5 / 1.8e-4.
 * Measured (speech, random weights): custom ch 32, 20 frames: cpu/naive 4.0e-7, blas
 * 3.8e-7 (tol 2.5e-5 / 4.9e-5); v2, 40 frames: blas 8.1e-7 (tol 4.5e-5). */
/* Issue 26, dtype != f32: every GEMM stage (a convolution or transposed convolution)
 * reads its activation and weights rounded to the dtype, relative errors uniform in
 * [-u, u] (u its unit roundoff), which perturb the stage's output by about sqrt(2/3) u
 * of its norm (two operands, RMS u / sqrt 3 each, independent terms). Over G stages in
 * series the independent errors add in RMS: sqrt(2/3) u sqrt(G), taking layers that
 * carry relative error through with gain about 1 (the 1-Lipschitz activations and the
 * residual sums above). tol = the float32 tol + 4 u sqrt(G): a margin of ~5 for the
 * residual sums' growth and layers of gain above 1. G counts the deepest chain: conv_pre,
 * per stage the transposed conv and one resblock's six convs (three dilations, conv1
 * then conv2 each), conv_post. The multi-receptive-field fusion runs the three resblocks
 * side by side and averages them, which adds no depth: one chain is counted (the mean of
 * three chains' independent errors is smaller than one chain's, so this is the larger
 * side). G = 1 + 4 (1 + 6) + 1 = 30 for every config (the channels change the sums'
 * lengths, in the float32 term, not the depth): bf16 8.6e-2, f16 and tf32 1.1e-2 beside
 * it. Not yet measured on a GPU (the CPU rungs compute float32 on the rounded mel). */
static int gemm_stages(void)
{
    int per_stage = 1 + 2 * (int)(sizeof sono_hg_dilations / sizeof sono_hg_dilations[0]);
    return 1 + SONO_HG_STAGES * per_stage + 1;
}

static double tolerance(const sono_params *p, sono_err_growth g)
{
    sono_hg_dims d;
    if (sono_hg_dims_get(p, &d, NULL))
        return 1e-3;
    double K = 7.0 * SONO_HG_MELS;
    for (int i = 0; i < SONO_HG_STAGES; i++) {
        double ci = d.ch >> i, co = d.ch >> (i + 1);
        K += ci * sono_hg_ukernels[i] / sono_hg_rates[i] + 6 * co * 11;
    }
    K += 7.0 * (d.ch >> SONO_HG_STAGES);
    double f32 = 2 * (g == SONO_ERR_LINEAR ? 4 : 2) * FLT_EPSILON * sqrt(K);
    sono_nn_dtype t = sono_nn_dtype_get(p);
    if (t == SONO_NN_F32)
        return f32;
    return f32 + 4.0 * sono_nn_dtype_unit(t) * sqrt((double)gemm_stages());
}

static int stream_shape(const sono_params *p, sono_stream_shape *s, sono_error *err)
{
    sono_hg_dims d;
    int rc = sono_hg_dims_get(p, &d, err);
    if (rc)
        return rc;
    s->in = (sono_stream_layout){SONO_HG_MELS, d.frames, 1};
    s->out = (sono_stream_layout){1, d.samples, 1};
    s->step_rate = (double)SONO_HG_RATE / SONO_HG_HOP;
    s->algo_latency_s = (double)sono_hg_lookahead() / SONO_HG_RATE;
    return 0;
}

const sono_op sono_op_vocoder_hifigan = {
    .name = "vocoder.hifigan",
    .summary = "HiFi-GAN generator (transformers' SpeechT5HifiGan): log-mel [80, frames] -> "
               "waveform [frames * 256] at 22.05 kHz",
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
    .stream_shape = stream_shape,
    .size_param = "frames",
    .size_label = "mel frames in (86.13 per s)",
    .merit = SONO_MERIT_XRT,
};
