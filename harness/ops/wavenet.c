/* wavenet.c — op "wavenet.stack": WaveNet's gated dilated causal conv stack (wavenet.h has
 * the definitions and the packed input), checked by relative L2 against the float64
 * stack (ref/wavenet64.c); streams one sample at a time. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "buf.h"
#include "input.h"
#include "nndtype.h"
#include "nnrand.h"
#include "wavenet.h"

/* Past 2^28 values (1 GiB of float32) in the input a case is a memory test. */
#define MAX_VALUES (1LL << 28)

static const sono_param_spec params[] = {
    {.name = "channels", .type = SONO_PINT, .imin = 1, .imax = 1024, .idflt = 64,
     .help = "residual and gate channels R (WaveNet: 64 to 256)"},
    {.name = "skip", .type = SONO_PINT, .imin = 0, .imax = 1024, .idflt = 0,
     .help = "skip channels S (0: R)"},
    {.name = "stacks", .type = SONO_PINT, .imin = 1, .imax = 16, .idflt = 3,
     .help = "repetitions of the dilation cycle (3 x 10: 30 layers)"},
    {.name = "cycle", .type = SONO_PINT, .imin = 1, .imax = 14, .idflt = 10,
     .help = "layers per stack, dilations 1, 2, .. 2^(cycle-1)"},
    {.name = "cond", .type = SONO_PINT, .imin = 0, .imax = 512, .idflt = 0,
     .help = "local conditioning channels (0: none; 80: a mel held per 256 samples)"},
    {.name = "seconds", .type = SONO_PREAL, .rmin = 1e-4, .rmax = 3600, .rdflt = 1.0,
     .help = "length of the signal"},
    {.name = "sample_rate", .type = SONO_PINT, .imin = 1000, .imax = 192000, .idflt = 16000,
     .help = "rate of the signal"},
    {.name = "seed", .type = SONO_PINT, .imin = 0, .imax = 1LL << 62, .idflt = 1,
     .help = "seed of the weights and the conditioning"},
    /* issue 26: the GEMMs' operands in a reduced dtype (late: f32 ids unchanged) */
    SONO_NN_DTYPE_PARAM,
};

int sono_wn_dims_get(const sono_params *p, sono_wn_dims *d, sono_error *err)
{
    *d = (sono_wn_dims){0};
    d->R = sono_param_int(p, "channels", 64);
    d->S = sono_param_int(p, "skip", 0);
    d->S = d->S ? d->S : d->R;
    d->Cc = sono_param_int(p, "cond", 0);
    d->cycle = sono_param_int(p, "cycle", 10);
    d->L = sono_param_int(p, "stacks", 3) * d->cycle;
    d->rate = (double)sono_param_int(p, "sample_rate", 16000);
    d->T = llround(sono_param_real(p, "seconds", 1.0) * d->rate);
    if (d->T < 1)
        return sono_fail(err, SONO_EINVAL, "wavenet.stack: seconds gives no sample");
    d->nx = (1 + d->Cc) * d->T;
    d->per_layer = 2 * (d->R * d->R * 2 + d->R + d->R * d->Cc) + d->R * d->R + d->R +
                   d->S * d->R + d->S;
    d->nin = d->nx + 2 * d->R + d->L * d->per_layer;
    if (d->nin > MAX_VALUES || d->S * d->T > MAX_VALUES)
        return sono_fail(err, SONO_EINVAL, "wavenet.stack: %lld input values (%lld out): "
                         "more than %lld", d->nin, d->S * d->T, MAX_VALUES);
    return 0;
}

static int validate(const sono_params *p, sono_error *err)
{
    sono_wn_dims d;
    return sono_wn_dims_get(p, &d, err);
}

static void shapes(const sono_params *p, sono_buf *in, sono_buf *out)
{
    sono_wn_dims d;
    if (sono_wn_dims_get(p, &d, NULL))
        d = (sono_wn_dims){.nin = 1, .S = 1, .T = 1};
    *in = (sono_buf){.dtype = SONO_F32, .ndim = 1, .shape = {d.nin}};
    *out = (sono_buf){.dtype = SONO_F32, .ndim = 2, .shape = {d.S, d.T}};
}

static double rate(const sono_params *p)
{
    return (double)sono_param_int(p, "sample_rate", 16000);
}

static double audio_seconds(const sono_params *p)
{
    sono_wn_dims d;
    return sono_wn_dims_get(p, &d, NULL) ? 0 : (double)d.T / d.rate;
}

static void fill(float *w, long long n, double a, uint64_t *s)
{
    for (long long i = 0; i < n; i++)
        w[i] = (float)sono_nn_uniform(s, -a, a);
}

static int input(const sono_params *p, const sono_input_spec *spec, double r, sono_buf *in,
                 sono_error *err)
{
    sono_wn_dims d;
    int rc = sono_wn_dims_get(p, &d, err);
    if (rc)
        return rc;
    float *x = in->data;
    sono_buf sig = {.dtype = SONO_F32, .ndim = 1, .shape = {d.T}};
    if ((rc = sono_buf_alloc(&sig, err)))
        return rc;
    rc = sono_input_fill_at(spec, r, &sig, err);
    if (!rc)
        memcpy(x, sig.data, (size_t)d.T * sizeof(float));
    sono_buf_free(&sig);
    if (rc)
        return rc;
    uint64_t s = 0x3a7e2e7ull ^ (uint64_t)sono_param_int(p, "seed", 1) * 0x9e3779b97f4a7c15ull;
    for (long long j = 0; j < d.Cc; j++)
        for (long long t0 = 0; t0 < d.T; t0 += SONO_WN_COND_HOP) {
            float v = (float)sono_nn_uniform(&s, -1, 1);
            for (long long t = t0; t < d.T && t < t0 + SONO_WN_COND_HOP; t++)
                x[(1 + j) * d.T + t] = v;
        }
    float *w = x + d.nx;
    long long R = d.R, S = d.S, Cc = d.Cc;
    double gate = sqrt(3.0 / (double)(2 * R + Cc)), one = sqrt(3.0 / (double)R), b = 0.05;
    fill(w, R, sqrt(3.0), &s);
    fill(w + R, R, b, &s);
    w += 2 * R;
    for (long long l = 0; l < d.L; l++) {
        for (int g = 0; g < 2; g++) { /* Wf, bf then Wg, bg */
            fill(w, R * R * 2, gate, &s);
            fill(w + R * R * 2, R, b, &s);
            w += R * R * 2 + R;
        }
        fill(w, 2 * R * Cc, gate, &s); /* Vf, Vg */
        w += 2 * R * Cc;
        fill(w, R * R, one, &s);
        fill(w + R * R, R, b, &s);
        w += R * R + R;
        fill(w, S * R, one, &s);
        fill(w + S * R, S, b, &s);
        w += S * R + S;
    }
    /* issue 26: the whole packed input in dtype: the signal and conditioning rows, and the
     * weights and biases, which arrive in the same buffer (as conv1d's do), so the
     * reference reads every value a reduced-precision kernel would store */
    sono_nn_round_buf(x, d.nin, sono_nn_dtype_get(p));
    return 0;
}

static int reference(const sono_params *p, const sono_buf *in, sono_buf *ref, sono_error *err)
{
    sono_wn_dims d;
    int rc = sono_wn_dims_get(p, &d, err);
    return rc ? rc : sono_wn64(&d, in->data, ref->data, err);
}

/* 2 flops per multiply-add, per sample and layer: the gates 2 * 2 R (2R + Cc), the
 * residual 2 R R, the skip 2 S R; plus the input conv 2 R. Bytes: the input and output
 * signals (the weights are read once per run and not counted: they stay in cache for
 * the small models and are streamed per block offline). */
static void cost(const sono_params *p, sono_cost *c)
{
    sono_wn_dims d;
    if (sono_wn_dims_get(p, &d, NULL)) {
        *c = (sono_cost){0};
        return;
    }
    double R = (double)d.R, per = 4 * R * (2 * R + d.Cc) + 2 * R * R + 2 * (double)d.S * R;
    c->flops = (double)d.T * (2 * R + d.L * per);
    c->bytes = 4.0 * (double)d.T * (1 + d.Cc + d.S);
}

/* Relative to the skip sum's norm. Each gate pre-activation is a float32 dot product of
 * 2R + Cc terms (error ~eps sqrt(2R + Cc) of its size with sequential sums); tanh and
 * the sigmoid are 1-Lipschitz and bounded, so a gate's error reaches the skip and
 * residual sums at its relative size; those 1x1s add R terms each. Through the residual
 * path an error in h feeds every later layer, so the L layers' independent errors add:
 * eps sqrt(L (2R + Cc + 2R)). tol = (2 or 4) eps sqrt(L (4R + Cc)): 30 layers, R 64:
 * 2.1e-5 / 4.2e-5. Measured (speech): 30 layers, R 64, 0.1 s: cpu/naive 7.6e-7; 8 layers,
 * R 16: cpu/naive 2.1e-7, blas 1.8e-7, py/torch 1.5e-7 (tol 5.4e-6 / 1.1e-5). */
/* Issue 26, dtype != f32: every GEMM stage reads its activation and weights rounded to
 * the dtype, relative errors uniform in [-u, u] (u its unit roundoff), which perturb the
 * stage's output by about sqrt(2/3) u of its norm (two operands, RMS u / sqrt 3 each,
 * independent terms). Over G stages in series the independent errors add in RMS:
 * sqrt(2/3) u sqrt(G), taking layers that carry relative error through with gain about
 * 1 (tanh, the sigmoid and the residual sums, as above). tol = the float32 tol + 4 u
 * sqrt(G): a margin of ~5 for layers of gain above 1 and for the residual sums' growth
 * along the stack. G counts the deepest chain, from the input 1x1 to the last
 * layer's skip: the input 1x1 (1 -> R), then per layer the gates' dilated conv (filter,
 * gate and conditioning read side by side: one stage) and the residual or skip 1x1 (the
 * two read the same a side by side: one stage), G = 1 + 2 L. There is no output 1x1:
 * the head is not part of the op. 30 layers: G = 61, bf16 1.2e-1, f16 and tf32
 * 1.5e-2. Not yet measured on a GPU (the CPU rungs compute float32 on the rounded
 * input). */
static double tolerance(const sono_params *p, sono_err_growth g)
{
    sono_wn_dims d;
    if (sono_wn_dims_get(p, &d, NULL))
        return 1e-3;
    double K = (double)d.L * (4.0 * d.R + d.Cc);
    double f32 = (g == SONO_ERR_LINEAR ? 4 : 2) * FLT_EPSILON * sqrt(K);
    sono_nn_dtype t = sono_nn_dtype_get(p);
    if (t == SONO_NN_F32)
        return f32;
    return f32 + 4.0 * sono_nn_dtype_unit(t) * sqrt(1.0 + 2.0 * (double)d.L);
}

/* One step is one sample: input rows 1 + Cc, output rows S; nothing looks ahead. */
static int stream_shape(const sono_params *p, sono_stream_shape *s, sono_error *err)
{
    sono_wn_dims d;
    int rc = sono_wn_dims_get(p, &d, err);
    if (rc)
        return rc;
    *s = (sono_stream_shape){.in = {1 + d.Cc, d.T, 1}, .out = {d.S, d.T, 1},
                             .step_rate = d.rate, .algo_latency_s = 1.0 / d.rate};
    return 0;
}

const sono_op sono_op_wavenet_stack = {
    .name = "wavenet.stack",
    .summary = "WaveNet's gated dilated causal conv stack (residual, skip, local "
               "conditioning): offline or one sample at a time",
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
    .stream_shape = stream_shape,
    .size_param = "stacks",
    .size_label = "stacks of the dilation cycle",
    .merit = SONO_MERIT_XRT,
};
