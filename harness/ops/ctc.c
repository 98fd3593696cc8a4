/* ctc.c — ops "ctc.greedy" and "ctc.beam": CTC decoding of log-posteriors. Input F32
 * [batch, T, V] (blank = 0, T = 50 frames per second), the synthetic peaked posteriors of
 * a planted label sequence (ctc_gen.h). Output I32 [batch, T + 1]: each row the decoded
 * labels, padded with -1, then its score's float32 bits (numpy: row[-1:].view('<f4')).
 * greedy: argmax per frame (lowest index on ties), repeats merged, blanks dropped; score:
 *   the argmax path's log-probability.
 * beam: CTC prefix beam search, `beam` prefixes kept per frame by their blank + non-blank
 *   mass, extensions by labels with lp < frame max - prune skipped (prune > 0); the best
 *   prefix at the end and its mass, log P summed over the alignments the beam kept. */
#include <math.h>
#include <stdlib.h>

#include "ctc64.h"
#include "ctc_gen.h"
#include "input.h"
#include "op.h"

/* The reference and the check run the forward algorithm on every row: ~T (2L + 1) < T^2
 * double log-sum-exps; 2^31 of them is a few seconds. */
#define MAX_WORK (1LL << 31)
/* Exhaustive search (ctc.beam's reference) while batch * nseq * T * (2T + 1) stays below
 * this (about a second of double forward passes). */
#define MAX_EXHAUSTIVE 4e7

#define COMMON_PARAMS                                                                        \
    {.name = "seconds", .type = SONO_PREAL, .rmin = 0.02, .rmax = 3600, .rdflt = 10,         \
     .help = "audio per utterance: T = 50 frames per second (wav2vec 2.0's 20 ms)"},         \
    {.name = "V", .type = SONO_PINT, .imin = 2, .imax = 65536, .idflt = 32,                  \
     .help = "vocabulary with the blank (index 0): 32 characters, 1024+ subword units"},     \
    {.name = "batch", .type = SONO_PINT, .imin = 1, .imax = 4096, .idflt = 1,                \
     .help = "utterances, each its own planted labels"},                                     \
    {.name = "peak", .type = SONO_PREAL, .rmin = 1, .rmax = 50, .rdflt = 8,                  \
     .help = "logit margin of each frame's planted class over the others' uniform [0, 1) " \
             "(>= 1: it is every frame's argmax)"},                                          \
    {.name = "seed", .type = SONO_PINT, .imin = 0, .imax = 1LL << 53, .idflt = 1,            \
     .help = "draws the planted labels and the logit noise"}

static const sono_param_spec greedy_params[] = {COMMON_PARAMS};
static const sono_param_spec beam_params[] = {
    COMMON_PARAMS,
    {.name = "beam", .type = SONO_PINT, .imin = 1, .imax = 256, .idflt = 8,
     .help = "prefixes kept per frame"},
    {.name = "prune", .type = SONO_PREAL, .rmin = 0, .rmax = 1000, .rdflt = 0,
     .help = "skip extensions by labels more than this many nats below the frame's best "
             "class (0: none)"},
};

static int validate(const sono_params *p, sono_error *err)
{
    sono_ctc_dims d = sono_ctc_get(p);
    if (d.B * d.T > MAX_WORK / d.T)
        return sono_fail(err, SONO_EINVAL, "ctc: batch*T*T = %lld*%lld*%lld exceeds 2^31: "
                         "the float64 forward algorithm of the check would take minutes "
                         "(fewer seconds or a smaller batch)", d.B, d.T, d.T);
    if (d.B * d.T > (1LL << 28) / d.V)
        return sono_fail(err, SONO_EINVAL, "ctc: batch*T*V = %lld*%lld*%lld is over 2^28 "
                         "floats", d.B, d.T, d.V);
    return 0;
}

static void shapes(const sono_params *p, sono_buf *in, sono_buf *out)
{
    sono_ctc_dims d = sono_ctc_get(p);
    *in = (sono_buf){.dtype = SONO_F32, .ndim = 3, .shape = {d.B, d.T, d.V}};
    *out = (sono_buf){.dtype = SONO_I32, .ndim = 2, .shape = {d.B, d.T + 1}};
}

/* x real time: the batch's audio, T / 50 s per utterance. */
static double audio_seconds(const sono_params *p)
{
    sono_ctc_dims d = sono_ctc_get(p);
    return (double)(d.B * d.T) / SONO_CTC_FPS;
}

static int input(const sono_params *p, const sono_input_spec *spec, double r, sono_buf *in,
                 sono_error *err)
{
    (void)spec;
    (void)r;
    sono_ctc_dims d = sono_ctc_get(p);
    int32_t *l = malloc((size_t)d.T * sizeof *l);
    if (!l)
        return sono_fail(err, SONO_ENOMEM, "ctc: cannot allocate T=%lld labels", d.T);
    int rc = 0;
    for (long long b = 0; b < d.B && !rc; b++) {
        long long L;
        rc = sono_ctc_generate(&d, b, (float *)in->data + b * d.T * d.V, l, &L, err);
    }
    free(l);
    return rc;
}

static int ref_greedy(const sono_params *p, const sono_buf *in, sono_buf *ref,
                      sono_error *err)
{
    sono_ctc_dims d = sono_ctc_get(p);
    int32_t *l = malloc((size_t)d.T * sizeof *l), *o = ref->data;
    if (!l)
        return sono_fail(err, SONO_ENOMEM, "ctc.greedy: cannot allocate T=%lld", d.T);
    for (long long b = 0; b < d.B; b++) {
        long long L;
        double s = sono_ctc64_greedy((const float *)in->data + b * d.T * d.V, d.T, d.V, l, &L);
        sono_ctc64_row_put(o + b * (d.T + 1), d.T, l, L, s);
    }
    free(l);
    return 0;
}

static int exhaustive_ok(const sono_ctc_dims *d)
{
    return (double)d->B * sono_ctc64_nseq(d->T, d->V) * (double)d->T * (double)(2 * d->T + 1) <=
           MAX_EXHAUSTIVE;
}

/* Small cases: the best labelling of all, by exhaustive search; larger ones: the planted
 * labels, drawn again from the params (the input's own, as the input key holds them). */
static int ref_beam(const sono_params *p, const sono_buf *in, sono_buf *ref, sono_error *err)
{
    sono_ctc_dims d = sono_ctc_get(p);
    int32_t *l = malloc((size_t)d.T * sizeof *l), *o = ref->data;
    int rc = 0;
    if (!l)
        return sono_fail(err, SONO_ENOMEM, "ctc.beam: cannot allocate T=%lld", d.T);
    for (long long b = 0; b < d.B && !rc; b++) {
        const float *x = (const float *)in->data + b * d.T * d.V;
        long long L = 0;
        double s = NAN;
        if (exhaustive_ok(&d))
            s = sono_ctc64_exhaustive(x, d.T, d.V, l, &L);
        else if (!(rc = sono_ctc_generate(&d, b, NULL, l, &L, err)))
            s = sono_ctc64_logprob(x, d.T, d.V, l, L);
        if (!rc && isnan(s))
            rc = sono_fail(err, SONO_ENOMEM, "ctc.beam: out of memory in the reference");
        if (!rc)
            sono_ctc64_row_put(o + b * (d.T + 1), d.T, l, L, s);
    }
    free(l);
    return rc;
}

static int check_shape(const sono_ctc_dims *d, const sono_buf *out, const char *op,
                       sono_error *err)
{
    if (out->dtype != SONO_I32 || sono_buf_elems(out) != d->B * (d->T + 1))
        return sono_fail(err, SONO_EINVAL, "%s: output must be i32 [%lld, %lld]", op, d->B,
                         d->T + 1);
    return 0;
}

static int check_greedy(const sono_params *p, const sono_buf *in, const sono_buf *out,
                        const sono_buf *ref, double tol, sono_check *c, sono_error *err)
{
    sono_ctc_dims d = sono_ctc_get(p);
    int rc = check_shape(&d, out, "ctc.greedy", err);
    if (!rc)
        sono_ctc64_check_greedy(in->data, d.B, d.T, d.V, out->data, ref->data, tol, c);
    return rc;
}

static int check_beam(const sono_params *p, const sono_buf *in, const sono_buf *out,
                      const sono_buf *ref, double tol, sono_check *c, sono_error *err)
{
    sono_ctc_dims d = sono_ctc_get(p);
    int rc = check_shape(&d, out, "ctc.beam", err);
    /* with room for every prefix and no pruning, nothing is ever dropped: the beam's mass
     * of a labelling is all of it */
    int exact = d.prune == 0 && (double)d.beam >= sono_ctc64_nseq(d.T, d.V);
    if (!rc)
        sono_ctc64_check_beam(in->data, d.B, d.T, d.V, exact, out->data, ref->data, tol, c);
    return rc;
}

/* greedy: one compare per class and frame; beam: per frame each kept prefix times each
 * class is one candidate, a multiply-add pair (2 flops) by the definition (rungs that skip
 * hopeless classes do less). Bytes: input and output once. */
static void cost_greedy(const sono_params *p, sono_cost *c)
{
    sono_ctc_dims d = sono_ctc_get(p);
    c->flops = (double)(d.B * d.T) * (double)d.V;
    c->bytes = 4.0 * (double)(d.B * d.T) * (double)d.V + 4.0 * (double)(d.B * (d.T + 1));
}

static void cost_beam(const sono_params *p, sono_cost *c)
{
    sono_ctc_dims d = sono_ctc_get(p);
    cost_greedy(p, c);
    c->flops += 2.0 * (double)(d.B * d.T) * (double)d.beam * (double)d.V;
}

/* Scores are sums over T frames (greedy) or log-sum-exp recursions over T frames (beam)
 * in float32: each frame's step rounds a partial score of size up to |S| (u |S|) and a
 * log1p(exp) or a renormalised product (a few u), so the error is within T u (|S| + 4)
 * for each unit roundoff u spent per frame; 4 u = 2^-22 allows four (sono_ctc64_scale).
 * This is the unit of the op's own check, not a bound on the output's rel_l2: the labels
 * must match exactly and the score within T u (|S| + 4) of the float64 forward score, so
 * ci/tolerance-table.py's ratio (327x for greedy's score slot) measures nothing here. */
static double tolerance(const sono_params *p, sono_err_growth g)
{
    (void)p;
    (void)g;
    return 4.0 * ldexp(1.0, -24);
}

const sono_op sono_op_ctc_greedy = {
    .name = "ctc.greedy",
    .summary = "CTC greedy decoding: argmax per frame, repeats merged, blanks dropped",
    .params = greedy_params,
    .nparams = sizeof greedy_params / sizeof greedy_params[0],
    .validate = validate,
    .shapes = shapes,
    .reference = ref_greedy,
    .cost = cost_greedy,
    .tolerance = tolerance,
    .audio_seconds = audio_seconds,
    .input = input,
    .check = check_greedy,
    .size_param = "seconds",
    .size_label = "audio per utterance (s)",
    .merit = SONO_MERIT_XRT,
};

const sono_op sono_op_ctc_beam = {
    .name = "ctc.beam",
    .summary = "CTC prefix beam search: best labelling and its log-probability",
    .params = beam_params,
    .nparams = sizeof beam_params / sizeof beam_params[0],
    .validate = validate,
    .shapes = shapes,
    .reference = ref_beam,
    .cost = cost_beam,
    .tolerance = tolerance,
    .audio_seconds = audio_seconds,
    .input = input,
    .check = check_beam,
    .size_param = "seconds",
    .size_label = "audio per utterance (s)",
    .merit = SONO_MERIT_XRT,
};
