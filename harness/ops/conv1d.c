/* conv1d.c — op "conv1d": one convolution layer of a neural audio codec (SEANet, DAC,
 * WaveNet): causal or valid, strided, dilated, grouped, transposed, with a fused ELU or
 * Snake. The definitions and the packed input are in conv1d.h; the reference is conv64.c. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "conv1d.h"
#include "input.h"
#include "nndtype.h"
#include "nnrand.h"

/* Past 2^28 values (1 GiB of float32) in one operand a case is a memory test. */
#define MAX_VALUES (1LL << 28)
/* The reference's direct loops run ~1 ns per multiply-add: 2^33 is ~10 s. */
#define MAX_MACS (1LL << 33)
#define SEED 0xc0471d5eedull

static const sono_param_spec params[] = {
    {.name = "cin", .type = SONO_PINT, .imin = 1, .imax = 4096, .idflt = 32,
     .help = "input channels"},
    {.name = "cout", .type = SONO_PINT, .imin = 1, .imax = 4096, .idflt = 32,
     .help = "output channels"},
    {.name = "kernel", .type = SONO_PINT, .imin = 1, .imax = 1024, .idflt = 7,
     .help = "taps per channel pair"},
    {.name = "stride", .type = SONO_PINT, .imin = 1, .imax = 1024, .idflt = 1,
     .help = "conv: input samples per output step; transposed: output samples per input"},
    {.name = "dilation", .type = SONO_PINT, .imin = 1, .imax = 65536, .idflt = 1,
     .help = "spacing of the taps"},
    {.name = "groups", .type = SONO_PINT, .imin = 1, .imax = 4096, .idflt = 1,
     .help = "channel groups (divides cin and cout; cin = groups: depthwise)"},
    {.name = "transposed", .type = SONO_PINT, .imin = 0, .imax = 1, .idflt = 0,
     .help = "1: ConvTranspose1d (decoders' upsampling), weights [cin, cout/groups, kernel]"},
    {.name = "causal", .type = SONO_PINT, .imin = 0, .imax = 1, .idflt = 1,
     .help = "1: left padding (kernel-1)*dilation, output never sees later input (transposed: "
             "right trim); 0: no padding, 'valid'"},
    {.name = "activation", .type = SONO_PSTR, .choices = "none|elu|snake", .sdflt = "none",
     .help = "fused after the bias: ELU (EnCodec) or Snake x + sin^2(ax)/a per channel (DAC)"},
    {.name = "length", .type = SONO_PINT, .imin = 1, .imax = 1 << 26, .idflt = 24000,
     .help = "T, samples per input channel (24000: 1 s at 24 kHz)"},
    {.name = "sample_rate", .type = SONO_PINT, .imin = 1000, .imax = 384000, .idflt = 24000,
     .help = "rate of the signal in x (files are resampled to it)"},
    {.name = "hop", .type = SONO_PINT, .imin = 1, .imax = 1 << 20, .idflt = 1,
     .help = "audio samples per step of x: the strides before this layer (x real time)"},
    SONO_NN_DTYPE_PARAM, /* issue 26 */
};

int sono_conv_dims_get(const sono_params *p, sono_conv_dims *d, sono_error *err)
{
    memset(d, 0, sizeof *d);
    d->cin = sono_param_int(p, "cin", 32);
    d->cout = sono_param_int(p, "cout", 32);
    d->kernel = sono_param_int(p, "kernel", 7);
    d->stride = sono_param_int(p, "stride", 1);
    d->dilation = sono_param_int(p, "dilation", 1);
    d->groups = sono_param_int(p, "groups", 1);
    d->length = sono_param_int(p, "length", 24000);
    d->transposed = (int)sono_param_int(p, "transposed", 0);
    d->causal = (int)sono_param_int(p, "causal", 1);
    d->sample_rate = (double)sono_param_int(p, "sample_rate", 24000);
    const char *act = sono_param_str(p, "activation", "none");
    d->act = !strcmp(act, "elu") ? SONO_ACT_ELU : !strcmp(act, "snake") ? SONO_ACT_SNAKE
                                                                        : SONO_ACT_NONE;
    if (d->cin < 1 || d->cout < 1 || d->kernel < 1 || d->stride < 1 || d->dilation < 1 ||
        d->groups < 1 || d->length < 1)
        return sono_fail(err, SONO_EINVAL, "conv1d: cin, cout, kernel, stride, dilation, "
                         "groups and length must be >= 1");
    if (d->cin % d->groups || d->cout % d->groups)
        return sono_fail(err, SONO_EINVAL, "conv1d: groups=%lld must divide cin=%lld and "
                         "cout=%lld", d->groups, d->cin, d->cout);
    long long span = d->dilation * (d->kernel - 1); /* <= 2^26, no overflow below */
    if (d->transposed) {
        d->full = (d->length - 1) * d->stride + span + 1;
        long long trim = d->causal && span + 1 > d->stride ? span + 1 - d->stride : 0;
        d->out_length = d->full - trim;
        d->nw = d->cin * (d->cout / d->groups) * d->kernel;
        /* each output sums at most ceil(kernel/stride) taps per input channel */
        d->terms = (d->cin / d->groups) * ((d->kernel + d->stride - 1) / d->stride);
    } else {
        d->pad = d->causal ? span : 0;
        if (d->length + d->pad <= span)
            return sono_fail(err, SONO_EINVAL,
                             "conv1d: length=%lld is shorter than the kernel's span "
                             "dilation*(kernel-1)+1 = %lld with causal=0 (no padding): no "
                             "output", d->length, span + 1);
        d->out_length = (d->length + d->pad - span - 1) / d->stride + 1;
        d->nw = d->cout * (d->cin / d->groups) * d->kernel;
        d->terms = (d->cin / d->groups) * d->kernel;
    }
    d->nx = d->cin * d->length;
    if (d->nx > MAX_VALUES || d->cout * d->out_length > MAX_VALUES || d->nw > MAX_VALUES)
        return sono_fail(err, SONO_EINVAL,
                         "conv1d: x [%lld, %lld], W (%lld values) or the output [%lld, %lld] "
                         "exceeds 2^28 values", d->cin, d->length, d->nw, d->cout,
                         d->out_length);
    d->nin = d->nx + d->nw + d->cout * (d->act == SONO_ACT_SNAKE ? 2 : 1);
    double macs = (double)d->nw * (double)(d->transposed ? d->length : d->out_length);
    if (macs > (double)MAX_MACS)
        return sono_fail(err, SONO_EINVAL,
                         "conv1d: %.3g multiply-adds exceed 2^33: the float64 reference "
                         "(direct loops) would take minutes; shorten length or channels",
                         macs);
    return 0;
}

static int validate(const sono_params *p, sono_error *err)
{
    sono_conv_dims d;
    return sono_conv_dims_get(p, &d, err);
}

static void shapes(const sono_params *p, sono_buf *in, sono_buf *out)
{
    sono_conv_dims d;
    sono_conv_dims_get(p, &d, NULL);
    *in = (sono_buf){.dtype = SONO_F32, .ndim = 1, .shape = {d.nin}};
    *out = (sono_buf){.dtype = SONO_F32, .ndim = 2, .shape = {d.cout, d.out_length}};
}

static double rate(const sono_params *p)
{
    return (double)sono_param_int(p, "sample_rate", 24000);
}

/* The audio the layer's input stands for: length steps of `hop` samples at the rate (a
 * decoder layer after strides 2, 4, 5, 8 sees one step per 320 samples); the packed
 * weights are no audio. */
static double audio_seconds(const sono_params *p)
{
    return (double)sono_param_int(p, "length", 24000) * (double)sono_param_int(p, "hop", 1) /
           rate(p);
}

static int input(const sono_params *p, const sono_input_spec *spec, double r, sono_buf *in,
                 sono_error *err)
{
    sono_conv_dims d;
    int rc = sono_conv_dims_get(p, &d, err);
    if (rc)
        return rc;
    float *x = in->data;
    sono_buf sig = {.dtype = SONO_F32, .ndim = 1, .shape = {d.length}};
    if ((rc = sono_buf_alloc(&sig, err)))
        return rc;
    rc = sono_input_fill_at(spec, r, &sig, err);
    if (rc) {
        sono_buf_free(&sig);
        return rc;
    }
    uint64_t s = SEED;
    const float *sg = sig.data;
    for (long long c = 0; c < d.cin; c++) {
        float g = 1.0f;
        if (c > 0) {
            g = (float)sono_nn_uniform(&s, 0.5, 1.0);
            g = (sono_nn_next(&s) >> 63) ? -g : g;
        }
        float *xc = x + c * d.length;
        for (long long t = 0; t < d.length; t++)
            xc[t] = t >= c ? g * sg[t - c] : 0.0f;
    }
    sono_buf_free(&sig);
    double fan_in = (double)((d.transposed ? d.cout : d.cin) / d.groups * d.kernel);
    double bound = 1.0 / sqrt(fan_in);
    float *w = x + d.nx;
    for (long long i = 0; i < d.nw + d.cout; i++) /* W then b */
        w[i] = (float)sono_nn_uniform(&s, -bound, bound);
    if (d.act == SONO_ACT_SNAKE)
        for (long long i = 0; i < d.cout; i++)
            w[d.nw + d.cout + i] = (float)sono_nn_uniform(&s, 0.25, 2.0);
    sono_nn_round_buf(x, d.nin, sono_nn_dtype_get(p)); /* issue 26: signal, W, b in dtype */
    return 0;
}

static int reference(const sono_params *p, const sono_buf *in, sono_buf *ref,
                     sono_error *err)
{
    sono_conv_dims d;
    int rc = sono_conv_dims_get(p, &d, err);
    if (rc)
        return rc;
    if (sono_buf_elems(in) != d.nin || sono_buf_elems(ref) != d.cout * d.out_length)
        return sono_fail(err, SONO_EINVAL, "conv1d reference: input has %lld values, output "
                         "%lld; the params give %lld and %lld", sono_buf_elems(in),
                         sono_buf_elems(ref), d.nin, d.cout * d.out_length);
    return sono_conv64(&d, in->data, ref->data, err);
}

/* Two flops per multiply-add of the definition (cout*(cin/G)*kernel per output step of a
 * conv, per input step of a transposed conv); the bias and the activation are not
 * counted. Bytes: the packed input and the output once. */
static void cost(const sono_params *p, sono_cost *c)
{
    sono_conv_dims d;
    if (sono_conv_dims_get(p, &d, NULL)) {
        *c = (sono_cost){0};
        return;
    }
    c->flops = 2.0 * (double)d.nw * (double)(d.transposed ? d.length : d.out_length);
    c->bytes = sono_nn_dtype_bytes(sono_nn_dtype_get(p)) * (double)d.nin +
               4.0 * (double)(d.cout * d.out_length);
}

/* Each output is a bias plus a dot product of n = d.terms float32 products. Summed in one
 * running float the rounding errors are random in sign and the relative error is about
 * eps*sqrt(n); eps*n (the worst-case growth) leaves room for data that cancels, while a
 * dropped tap or channel costs ~1/sqrt(n) and a shifted one ~1. Blocked sums (LOG) stay
 * within 4 eps log2 n. The activation multiplies an error by its slope, at most 2 for
 * Snake (1 + sin(2az)) and 1 for ELU, and adds its own few-ulp rounding (expf, sinf):
 * the 8 eps. The floor of 16 covers tiny n. */
/* issue 26, dtype != f32: the input hook rounds every input and weight to the dtype, and
 * the reference reads those rounded values; the product of two bf16, f16 or tf32 values is
 * exact in float32 (8+8, 11+11 significand bits <= 24) and accumulates in float32, so a
 * kernel in any of the dtypes makes only float32's errors: the same tolerance. */
static double tolerance(const sono_params *p, sono_err_growth g)
{
    sono_conv_dims d;
    if (sono_conv_dims_get(p, &d, NULL))
        return 0;
    double n = (double)(d.terms > 16 ? d.terms : 16), gain = d.act == SONO_ACT_SNAKE ? 2 : 1;
    if (g == SONO_ERR_LINEAR)
        return FLT_EPSILON * (gain * n + 8);
    return FLT_EPSILON * (gain * 4 * log2(n) + 8);
}

/* Streaming (issue 12): x [cin, T] is {cin, T, 1} and steps at sample_rate / hop; the
 * output {cout, T_out, 1}. A conv's output step u reads steps up to u*stride + span - P:
 * with causal padding nothing later than u*stride, so it is out as soon as that step
 * arrives (a strided layer emits one step per `stride` input steps); 'valid' looks span
 * steps ahead. A transposed conv's output u reads inputs t <= u/stride: stride outputs per
 * input step, no look-ahead (the untrimmed tail of causal=0 comes with the last input).
 * Algorithmic latency: the input step itself plus the look-ahead. */
static int stream_shape(const sono_params *p, sono_stream_shape *s, sono_error *err)
{
    sono_conv_dims d;
    int rc = sono_conv_dims_get(p, &d, err);
    if (rc)
        return rc;
    double rate = d.sample_rate / (double)sono_param_int(p, "hop", 1);
    long long ahead = !d.transposed && !d.causal ? d.dilation * (d.kernel - 1) : 0;
    *s = (sono_stream_shape){.in = {d.cin, d.length, 1},
                             .out = {d.cout, d.out_length, 1},
                             .step_rate = rate,
                             .algo_latency_s = (double)(1 + ahead) / rate};
    return 0;
}

const sono_op sono_op_conv1d = {
    .name = "conv1d",
    .summary = "1-D conv layer: causal/valid, strided, dilated, grouped, transposed, ELU/Snake",
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
    .size_param = "length",
    .size_label = "input length T (samples per channel)",
    .merit = SONO_MERIT_GFLOPS,
};
