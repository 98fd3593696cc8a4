/* delay.c — op "codes.delay": MusicGen's delay pattern, which shifts codebook k of a
 * frame sequence k steps later so one transformer step predicts level k of frame t - k,
 * and its inverse. delay: input I32 [batch, K, T] codes (seeded, uniform in [0, card)),
 * output I32 [batch, K, T + K - 1] with `pad` where no code falls; undelay: input the
 * delayed layout (pads included), output [batch, K, T]. Exact; a bandwidth-bound op, so
 * its figure is GB/s. */
#include <stdlib.h>

#include "delay64.h"
#include "input.h"
#include "op.h"
#include "prng.h"

static const sono_param_spec params[] = {
    {.name = "batch", .type = SONO_PINT, .imin = 1, .imax = 65536, .idflt = 1,
     .help = "sequences"},
    {.name = "K", .type = SONO_PINT, .imin = 1, .imax = 64, .idflt = 4,
     .help = "codebooks (4: MusicGen's EnCodec 32 kHz)"},
    {.name = "T", .type = SONO_PINT, .imin = 1, .imax = 1 << 24, .idflt = 1500,
     .help = "frames (50 per second: 1500 = 30 s)"},
    {.name = "direction", .type = SONO_PSTR, .choices = "delay|undelay", .sdflt = "delay",
     .help = "delay: interleave; undelay: back to aligned frames"},
    {.name = "card", .type = SONO_PINT, .imin = 1, .imax = 1 << 30, .idflt = 2048,
     .help = "codebook size: codes are in [0, card)"},
    {.name = "pad", .type = SONO_PINT, .imin = -(1LL << 31), .imax = (1LL << 31) - 1,
     .idflt = 2048, .help = "the special token where no code falls (MusicGen: card)"},
    {.name = "seed", .type = SONO_PINT, .imin = 0, .imax = 1LL << 53, .idflt = 1,
     .help = "draws the codes"},
};

typedef struct dl_dims {
    long long B, K, T;
    int undelay;
} dl_dims;

static dl_dims get(const sono_params *p)
{
    return (dl_dims){sono_param_int(p, "batch", 1), sono_param_int(p, "K", 4),
                     sono_param_int(p, "T", 1500),
                     strcmp(sono_param_str(p, "direction", "delay"), "undelay") == 0};
}

static int validate(const sono_params *p, sono_error *err)
{
    dl_dims d = get(p);
    if (d.B * d.K > (1LL << 28) / (d.T + d.K))
        return sono_fail(err, SONO_EINVAL, "codes.delay: batch*K*(T+K) = %lld*%lld*%lld is "
                         "over 2^28 codes", d.B, d.K, d.T + d.K);
    return 0;
}

static void shapes(const sono_params *p, sono_buf *in, sono_buf *out)
{
    dl_dims d = get(p);
    long long S = d.T + d.K - 1;
    *in = (sono_buf){.dtype = SONO_I32, .ndim = 3, .shape = {d.B, d.K, d.undelay ? S : d.T}};
    *out = (sono_buf){.dtype = SONO_I32, .ndim = 3, .shape = {d.B, d.K, d.undelay ? d.T : S}};
}

/* T frames at 50 Hz per sequence. */
static double audio_seconds(const sono_params *p)
{
    dl_dims d = get(p);
    return (double)(d.B * d.T) / 50.0;
}

static int input(const sono_params *p, const sono_input_spec *spec, double r, sono_buf *in,
                 sono_error *err)
{
    (void)spec;
    (void)r;
    dl_dims d = get(p);
    long long n = d.B * d.K * d.T;
    uint64_t card = (uint64_t)sono_param_int(p, "card", 2048), s[4];
    int32_t *codes = d.undelay ? malloc((size_t)n * sizeof *codes) : in->data;
    if (!codes)
        return sono_fail(err, SONO_ENOMEM, "codes.delay: cannot allocate %lld codes", n);
    sono_xoshiro_seed(s, (unsigned long long)sono_param_int(p, "seed", 1));
    for (long long i = 0; i < n; i++)
        codes[i] = (int32_t)(sono_xoshiro_next(s) % card);
    if (d.undelay) { /* the layout a delayed model emits: codes laid out with the pads */
        sono_delay64(codes, d.B, d.K, d.T, 0, (int32_t)sono_param_int(p, "pad", 2048),
                     in->data);
        free(codes);
    }
    return 0;
}

static int reference(const sono_params *p, const sono_buf *in, sono_buf *ref,
                     sono_error *err)
{
    (void)err;
    dl_dims d = get(p);
    sono_delay64(in->data, d.B, d.K, d.T, d.undelay, (int32_t)sono_param_int(p, "pad", 2048),
                 ref->data);
    return 0;
}

static int check(const sono_params *p, const sono_buf *in, const sono_buf *out,
                 const sono_buf *ref, double tol, sono_check *c, sono_error *err)
{
    (void)in;
    dl_dims d = get(p);
    long long n = d.B * d.K * (d.undelay ? d.T : d.T + d.K - 1);
    if (out->dtype != SONO_I32 || sono_buf_elems(out) != n)
        return sono_fail(err, SONO_EINVAL, "codes.delay: output must be i32 [%lld] codes", n);
    c->tol = tol;
    sono_delay64_check(out->data, ref->data, n, c);
    return 0;
}

/* No arithmetic; bytes: the input and the output once. */
static void cost(const sono_params *p, sono_cost *c)
{
    dl_dims d = get(p);
    c->flops = 0;
    c->bytes = 4.0 * (double)(d.B * d.K) * (double)(2 * d.T + d.K - 1);
}

/* Exact: every code must equal the reference's. */
static double tolerance(const sono_params *p, sono_err_growth g)
{
    (void)p;
    (void)g;
    return 0;
}

const sono_op sono_op_codes_delay = {
    .name = "codes.delay",
    .summary = "MusicGen's delay pattern: codebook k shifted k frames, and its inverse",
    .params = params,
    .nparams = sizeof params / sizeof params[0],
    .validate = validate,
    .shapes = shapes,
    .reference = reference,
    .cost = cost,
    .tolerance = tolerance,
    .audio_seconds = audio_seconds,
    .input = input,
    .check = check,
    .size_param = "T",
    .size_label = "frames T (50 Hz)",
};
