/* sample.c — op "sample.topk": temperature / top-k / top-p sampling of token logits, the
 * last step of an audio language model's decoding (Moshi's depth transformer, MusicGen).
 * Input F32 [batch, codebooks, V] logits, seeded (unit-variance Irwin-Hall draws times
 * `spread`); output I32 [batch, codebooks], row (b, c)'s token drawn with u = Philox4x32-10
 * under key seed, counter (b, c, 0, 0) (sample64.h says the rule), so every impl, CPU or
 * GPU, draws the same token for the same seed. */
#include <math.h>
#include <stdlib.h>

#include "input.h"
#include "op.h"
#include "prng.h"
#include "sample64.h"

static const sono_param_spec params[] = {
    {.name = "batch", .type = SONO_PINT, .imin = 1, .imax = 65536, .idflt = 1,
     .help = "sequences decoded at once"},
    {.name = "codebooks", .type = SONO_PINT, .imin = 1, .imax = 64, .idflt = 8,
     .help = "tokens per frame (RVQ levels: 8 for Moshi's depth decoder, 1 for text)"},
    {.name = "V", .type = SONO_PINT, .imin = 2, .imax = 1 << 20, .idflt = 2048,
     .help = "vocabulary: 2048 audio codes, 32000 text tokens"},
    {.name = "temperature", .type = SONO_PREAL, .rmin = 0, .rmax = 100, .rdflt = 0.8,
     .help = "divides the logits; 0: argmax (ties to the lowest index)"},
    {.name = "top_k", .type = SONO_PINT, .imin = 0, .imax = 1 << 20, .idflt = 250,
     .help = "keep the k largest logits (0: all)"},
    {.name = "top_p", .type = SONO_PREAL, .rmin = 1e-6, .rmax = 1, .rdflt = 1,
     .help = "then the shortest prefix holding this share of the weight (1: all)"},
    {.name = "spread", .type = SONO_PREAL, .rmin = 0, .rmax = 100, .rdflt = 3,
     .help = "standard deviation of the synthetic logits"},
    {.name = "frame_rate", .type = SONO_PREAL, .rmin = 0.1, .rmax = 1000, .rdflt = 12.5,
     .help = "codec frames per second (12.5: Mimi; 50: EnCodec 32 kHz), for x real time"},
    {.name = "seed", .type = SONO_PINT, .imin = 0, .imax = 1LL << 53, .idflt = 1,
     .help = "draws the logits and keys the sampler's Philox"},
};

static void dims(const sono_params *p, long long *B, long long *C, long long *V)
{
    *B = sono_param_int(p, "batch", 1);
    *C = sono_param_int(p, "codebooks", 8);
    *V = sono_param_int(p, "V", 2048);
}

static sono_sample64_cfg cfg_of(const sono_params *p)
{
    return (sono_sample64_cfg){.temperature = sono_param_real(p, "temperature", 0.8),
                               .top_p = sono_param_real(p, "top_p", 1),
                               .top_k = sono_param_int(p, "top_k", 250)};
}

static int validate(const sono_params *p, sono_error *err)
{
    long long B, C, V;
    dims(p, &B, &C, &V);
    if (B * C > (1LL << 28) / V)
        return sono_fail(err, SONO_EINVAL, "sample.topk: batch*codebooks*V = %lld*%lld*%lld "
                         "is over 2^28 logits", B, C, V);
    return 0;
}

static void shapes(const sono_params *p, sono_buf *in, sono_buf *out)
{
    long long B, C, V;
    dims(p, &B, &C, &V);
    *in = (sono_buf){.dtype = SONO_F32, .ndim = 3, .shape = {B, C, V}};
    *out = (sono_buf){.dtype = SONO_I32, .ndim = 2, .shape = {B, C}};
}

/* One call samples one frame of every sequence: batch frames of audio at frame_rate. */
static double audio_seconds(const sono_params *p)
{
    return (double)sono_param_int(p, "batch", 1) / sono_param_real(p, "frame_rate", 12.5);
}

static int input(const sono_params *p, const sono_input_spec *spec, double r, sono_buf *in,
                 sono_error *err)
{
    (void)spec;
    (void)r;
    (void)err;
    long long B, C, V;
    dims(p, &B, &C, &V);
    double spread = sono_param_real(p, "spread", 3) * sqrt(3.0);
    uint64_t s[4];
    sono_xoshiro_seed(s, (unsigned long long)sono_param_int(p, "seed", 1));
    float *l = in->data;
    for (long long i = 0; i < B * C * V; i++) {
        double z = 0;
        for (int j = 0; j < 4; j++)
            z += (double)(sono_xoshiro_next(s) >> 11) * 0x1p-53;
        l[i] = (float)(spread * (z - 2));
    }
    return 0;
}

static double *uniforms(const sono_params *p, long long B, long long C)
{
    uint64_t seed = (uint64_t)sono_param_int(p, "seed", 1);
    double *u = malloc((size_t)(B * C) * sizeof *u);
    if (u)
        for (long long b = 0; b < B; b++)
            for (long long c = 0; c < C; c++)
                u[b * C + c] = sono_philox64_u24(seed, (uint32_t)b, (uint32_t)c, 0);
    return u;
}

static int reference(const sono_params *p, const sono_buf *in, sono_buf *ref,
                     sono_error *err)
{
    long long B, C, V;
    dims(p, &B, &C, &V);
    sono_sample64_cfg cfg = cfg_of(p);
    sono_sample64_ws *w = sono_sample64_ws_new(V);
    double *u = uniforms(p, B, C);
    int32_t *o = ref->data;
    if (w && u)
        for (long long i = 0; i < B * C; i++)
            o[i] = (int32_t)sono_sample64_row(w, (const float *)in->data + i * V, V, &cfg, u[i]);
    sono_sample64_ws_free(w);
    free(u);
    return w && u ? 0 : sono_fail(err, SONO_ENOMEM, "sample.topk: out of memory (V=%lld)", V);
}

static int check(const sono_params *p, const sono_buf *in, const sono_buf *out,
                 const sono_buf *ref, double tol, sono_check *c, sono_error *err)
{
    long long B, C, V;
    dims(p, &B, &C, &V);
    if (out->dtype != SONO_I32 || sono_buf_elems(out) != B * C)
        return sono_fail(err, SONO_EINVAL, "sample.topk: output must be i32 [%lld, %lld]", B,
                         C);
    sono_sample64_cfg cfg = cfg_of(p);
    double *u = uniforms(p, B, C);
    if (!u)
        return sono_fail(err, SONO_ENOMEM, "sample.topk: out of memory in the check");
    sono_sample64_check(in->data, B * C, V, &cfg, u, out->data, ref->data, tol, c);
    free(u);
    return 0;
}

/* Per logit: the difference from the maximum, the division by the temperature, exp, the
 * add to the running sum (4 flops by this convention; the sort or select an impl does is
 * not counted). Bytes: the logits and the tokens once. */
static void cost(const sono_params *p, sono_cost *c)
{
    long long B, C, V;
    dims(p, &B, &C, &V);
    c->flops = 4.0 * (double)(B * C) * (double)V;
    c->bytes = 4.0 * (double)(B * C) * (double)V + 4.0 * (double)(B * C);
}

/* The unit roundoff of float32 times 2 for safety: sample64.h turns it into the width of
 * a near-tie of the cumulative weights, (m + 2 + 2 A) of these units. */
static double tolerance(const sono_params *p, sono_err_growth g)
{
    (void)p;
    (void)g;
    return 2.0 * ldexp(1.0, -24);
}

const sono_op sono_op_sample_topk = {
    .name = "sample.topk",
    .summary = "temperature / top-k / top-p token sampling, Philox-seeded (CPU == GPU)",
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
    .size_param = "batch",
    .size_label = "sequences (batch)",
    .merit = SONO_MERIT_XRT,
};
