/* encodec.c — op "codec.encodec": EnCodec's encode, decode or round trip (encodec.h has
 * the definitions, the layouts and where the weights come from), checked against the
 * float64 network: codes exactly up to near-ties, audio by relative L2. */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "buf.h"
#include "check.h"
#include "encodec.h"
#include "input.h"
#include "metrics.h"
#include "nndtype.h"
#include "speechq.h"

enum { M_ENCODE, M_DECODE, M_ROUNDTRIP };

static const sono_param_spec params[] = {
    {.name = "mode", .type = SONO_PSTR, .choices = "encode|decode|roundtrip",
     .sdflt = "roundtrip",
     .help = "encode: signal -> codes; decode: codes -> audio; roundtrip: both"},
    {.name = "bandwidth", .type = SONO_PREAL, .rmin = 0.1, .rmax = 10000, .rdflt = 6,
     .help = "kbps, one of the model's target_bandwidths (24 kHz: 1.5, 3, 6, 12, 24)"},
    {.name = "seconds", .type = SONO_PREAL, .rmin = 1e-3, .rmax = 3600, .rdflt = 1.0,
     .help = "input length in seconds at the model's sampling rate"},
    {.name = "weights", .type = SONO_PSTR, .sdflt = "random",
     .help = "random (seeded, the 24 kHz shapes) or a safetensors file with Hugging Face "
             "EncodecModel names"},
    {.name = "seed", .type = SONO_PINT, .imin = 0, .imax = 1LL << 62, .idflt = 1,
     .help = "seed of the random weights"},
    /* issue 11: a batch of independent clips per run */
    {.name = "streams", .type = SONO_PINT, .imin = 1, .imax = 1024, .idflt = 1, .late = 1,
     .help = "independent mono clips of `seconds` each, coded together (consecutive pieces "
             "of the signal); x real time counts the audio of all"},
    /* issue 26: the GEMMs' operands in a reduced dtype (late: f32 ids unchanged) */
    SONO_NN_DTYPE_PARAM,
};

typedef struct dims {
    sono_enc_config c;
    int mode, nq, S;
    long long samples, frames;
} dims;

static int get_dims(const sono_params *p, dims *d, sono_error *err)
{
    const char *m = sono_param_str(p, "mode", "roundtrip");
    d->mode = strcmp(m, "encode") == 0 ? M_ENCODE : strcmp(m, "decode") == 0 ? M_DECODE
                                                                             : M_ROUNDTRIP;
    int rc = sono_enc_params_config(p, 0, &d->c, err);
    if (!rc)
        rc = sono_enc_nq(&d->c, sono_param_real(p, "bandwidth", 6), &d->nq, err);
    d->samples = llround(sono_param_real(p, "seconds", 1.0) * d->c.sampling_rate);
    if (!rc && (d->samples < 1 || d->samples > (1LL << 31)))
        rc = sono_fail(err, SONO_EINVAL, "seconds=%g gives %lld samples; need 1 to 2^31",
                       sono_param_real(p, "seconds", 1.0), d->samples);
    d->S = (int)sono_param_int(p, "streams", 1);
    if (!rc && d->S * d->samples > (1LL << 31))
        rc = sono_fail(err, SONO_EINVAL, "streams=%d x %lld samples is over 2^31 samples; "
                       "fewer streams or seconds", d->S, d->samples);
    d->frames = (d->samples + d->c.hop - 1) / d->c.hop;
    return rc;
}

/* fn(ctx, s, err) for s in [0, S), one thread per core up to S: the float64 network of
 * 64 clips is minutes on one core. Threads take the next stream from a shared counter, so
 * however many could start, every stream runs; the lowest failing stream's error wins. */
typedef int (*stream_fn)(void *ctx, int s, sono_error *err);

typedef struct par {
    stream_fn fn;
    void *ctx;
    int S, next, rc, first;
    sono_error err;
    pthread_mutex_t mu;
} par;

static void *par_main(void *arg)
{
    par *p = arg;
    for (;;) {
        pthread_mutex_lock(&p->mu);
        int s = p->rc ? p->S : p->next++;
        pthread_mutex_unlock(&p->mu);
        if (s >= p->S)
            return NULL;
        sono_error e = {0};
        int rc = p->fn(p->ctx, s, &e);
        pthread_mutex_lock(&p->mu);
        if (rc && (!p->rc || s < p->first)) {
            p->rc = rc;
            p->first = s;
            p->err = e;
        }
        pthread_mutex_unlock(&p->mu);
    }
}

static int per_stream(int S, stream_fn fn, void *ctx, sono_error *err)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int nt = cores < 1 ? 1 : cores < S ? (int)cores : S, started = 0;
    par p = {.fn = fn, .ctx = ctx, .S = S};
    pthread_t th[1024];
    pthread_mutex_init(&p.mu, NULL);
    for (int w = 0; nt > 1 && w < nt; w++)
        started += pthread_create(&th[started], NULL, par_main, &p) == 0;
    if (!started)
        par_main(&p);
    for (int w = 0; w < started; w++)
        pthread_join(th[w], NULL);
    pthread_mutex_destroy(&p.mu);
    if (p.rc && err)
        *err = p.err;
    return p.rc;
}

/* Also writes weights=random's file when it is not there yet: planning validates every
 * case before any impl is asked whether it supports it. */
static int validate(const sono_params *p, sono_error *err)
{
    dims d;
    int rc = get_dims(p, &d, err);
    /* issue 26: a reduced dtype moves many codes to their runner-up at near-ties; the
     * round trip's check explains one flip, so it would call those errors */
    if (!rc && d.mode == M_ROUNDTRIP && sono_nn_dtype_get(p) != SONO_NN_F32)
        rc = sono_fail(err, SONO_EINVAL, "codec.encodec: dtype=%s takes mode encode or "
                       "decode (the round trip's check explains one near-tie flip, and a "
                       "reduced dtype makes many)", sono_nn_dtype_name(sono_nn_dtype_get(p)));
    return rc ? rc : sono_enc_params_config(p, 1, &d.c, err);
}

static void shapes(const sono_params *p, sono_buf *in, sono_buf *out)
{
    dims d;
    if (get_dims(p, &d, NULL)) { /* validate has refused these already */
        *in = (sono_buf){.dtype = SONO_F32, .ndim = 1, .shape = {1}};
        *out = *in;
        return;
    }
    sono_buf sig = {.dtype = SONO_F32, .ndim = 1, .shape = {d.samples}};
    sono_buf codes = {.dtype = SONO_I32, .ndim = 2, .shape = {d.nq, d.frames}};
    *in = d.mode == M_DECODE ? codes : sig;
    *out = d.mode == M_ENCODE ? codes : sig;
    if (d.mode == M_DECODE)
        out->shape[0] = d.frames * d.c.hop;
    sono_buf *b[2] = {in, out};
    for (int i = 0; d.S > 1 && i < 2; i++) { /* streams: a leading [S] */
        for (int j = b[i]->ndim; j > 0; j--)
            b[i]->shape[j] = b[i]->shape[j - 1];
        b[i]->shape[0] = d.S;
        b[i]->ndim++;
    }
}

/* Stream s's part of a buffer of S streams, shaped as with streams = 1. */
static sono_buf slice(const sono_buf *b, int S, int s)
{
    sono_buf r = *b;
    if (S > 1) {
        r.ndim = b->ndim - 1;
        for (int j = 0; j < r.ndim; j++)
            r.shape[j] = b->shape[j + 1];
    }
    r.nbytes = (size_t)(sono_buf_elems(b) / S) * sono_dtype_size(b->dtype);
    r.data = (char *)b->data + (size_t)s * r.nbytes;
    return r;
}

static double rate(const sono_params *p)
{
    dims d;
    return get_dims(p, &d, NULL) ? 24000.0 : d.c.sampling_rate;
}

/* Every mode stands for the same audio: decode's input is codes, not samples; streams
 * clips of it. */
static double audio_seconds(const sono_params *p)
{
    dims d;
    return get_dims(p, &d, NULL) ? sono_param_real(p, "seconds", 1.0)
                                 : (double)d.S * (double)d.samples / d.c.sampling_rate;
}

static int load_model(const sono_params *p, sono_enc64 **m, sono_error *err)
{
    char path[4096];
    int rc = sono_enc_weights_path(p, path, sizeof path, err);
    return rc ? rc : sono_enc64_load(path, m, err);
}

/* codes [nq, frames] of the float64 encoder on the float32 signal x. */
static int ref_codes(const sono_enc64 *m, const float *x, long long n, int nq, int *codes,
                     double **emb_out, sono_error *err)
{
    double *xd = malloc((size_t)n * sizeof *xd), *emb = NULL;
    long long frames;
    if (!xd)
        return sono_fail(err, SONO_ENOMEM, "codec.encodec: out of memory");
    for (long long i = 0; i < n; i++)
        xd[i] = x[i];
    int rc = sono_enc64_encoder(m, xd, n, &emb, &frames, err);
    free(xd);
    if (rc)
        return rc;
    sono_enc64_quantize(m, emb, frames, nq, codes);
    if (emb_out)
        *emb_out = emb;
    else
        free(emb);
    return 0;
}

/* Decode's input, stream s: the reference codes of clip s. */
typedef struct codes_job {
    const sono_enc64 *m;
    const dims *d;
    const float *sig;
    int *codes;
} codes_job;

static int codes_stream(void *ctx, int s, sono_error *err)
{
    const codes_job *j = ctx;
    size_t nc = (size_t)j->d->nq * (size_t)j->d->frames;
    return ref_codes(j->m, j->sig + (size_t)s * (size_t)j->d->samples, j->d->samples,
                     j->d->nq, j->codes + (size_t)s * nc, NULL, err);
}

/* The signal (the weights made sure of again, for callers that skipped validate); decode's
 * input is the reference encoder's codes of it. With streams, the suite's signal of
 * S * samples is cut into consecutive clips, one per stream. */
static int input(const sono_params *p, const struct sono_input_spec *spec, double r,
                 sono_buf *in, sono_error *err)
{
    dims d;
    int rc = sono_enc_params_config(p, 1, &d.c, err);
    if (rc || (rc = get_dims(p, &d, err)))
        return rc;
    sono_buf sig = {.dtype = SONO_F32, .ndim = 1, .shape = {d.S * d.samples}};
    if (d.mode != M_DECODE) {
        sono_buf flat = *in; /* the signal as one piece, cut in clips by layout */
        flat.ndim = 1;
        flat.shape[0] = d.S * d.samples;
        rc = sono_input_fill_at(spec, r, &flat, err);
        if (!rc) /* issue 26: the signal stored in dtype, the first conv's operand */
            sono_nn_round_buf(flat.data, d.S * d.samples, sono_nn_dtype_get(p));
        return rc;
    }
    if ((rc = sono_buf_alloc(&sig, err)))
        return rc;
    sono_enc64 *m = NULL;
    if (!(rc = sono_input_fill_at(spec, r, &sig, err)) && !(rc = load_model(p, &m, err))) {
        codes_job j = {m, &d, sig.data, in->data};
        rc = per_stream(d.S, codes_stream, &j, err);
    }
    sono_enc64_free(m);
    sono_buf_free(&sig);
    return rc;
}

/* One stream of the reference: in and ref are that stream's slices. */
typedef struct ref_job {
    const sono_enc64 *m;
    const dims *d;
    const sono_buf *in;
    sono_buf *ref;
} ref_job;

static int ref_stream(void *ctx, int s, sono_error *err)
{
    const ref_job *j = ctx;
    const dims *d = j->d;
    sono_buf in = slice(j->in, d->S, s), ref = slice(j->ref, d->S, s);
    size_t nc = (size_t)d->nq * (size_t)d->frames;
    int *codes = d->mode == M_DECODE ? in.data : malloc(nc * sizeof(int));
    double *audio = NULL;
    int rc = codes ? 0 : sono_fail(err, SONO_ENOMEM, "codec.encodec: out of memory");
    if (!rc && d->mode != M_DECODE)
        rc = ref_codes(j->m, in.data, d->samples, d->nq, codes, NULL, err);
    if (!rc && d->mode == M_ENCODE)
        memcpy(ref.data, codes, nc * sizeof(int));
    if (!rc && d->mode != M_ENCODE &&
        !(rc = sono_enc64_decode(j->m, codes, d->nq, d->frames, &audio, err)))
        memcpy(ref.data, audio, (size_t)sono_buf_elems(&ref) * sizeof(double));
    free(audio);
    if (d->mode != M_DECODE)
        free(codes);
    return rc;
}

/* Each stream alone, as streams = 1 would code it; the streams in parallel. */
static int reference(const sono_params *p, const sono_buf *in, sono_buf *ref, sono_error *err)
{
    dims d;
    sono_enc64 *m = NULL;
    int rc = get_dims(p, &d, err);
    if (rc || (rc = load_model(p, &m, err)))
        return rc;
    ref_job j = {m, &d, in, ref};
    rc = per_stream(d.S, ref_stream, &j, err);
    sono_enc64_free(m);
    return rc;
}

/* ---- the checks ----------------------------------------------------------------------
 * A float32 network gives embeddings within about tol (relative to their norm, ||x_t||)
 * of the float64 ones, and evaluates a D-term squared distance to within about
 * D eps32 (||r||^2 + ||e||^2). Where stage q's two nearest codewords a (the reference's)
 * and b are so close that either decides between them, i.e.
 *     ||r - e_b||^2 - ||r - e_a||^2 <= 2 tol ||x_t|| ||e_a - e_b||
 *                                      + D eps32 (||r||^2 + ||e_a||^2 + ||e_b||^2)
 * (a shift delta of r moves that gap by 2 delta.(e_a - e_b)), picking b is a near-tie,
 * not an error. The residual after a flip differs by e_a - e_b, so the later stages of
 * that frame legitimately differ and are not compared. */
static double tie_bound(const sono_enc64 *m, int q, const double *r, int a, int b,
                        double xnorm, double tol)
{
    const double *ea = sono_enc64_codeword(m, q, a), *eb = sono_enc64_codeword(m, q, b);
    int D = sono_enc64_config(m)->hidden_size;
    double s = 0, mag = 0;
    for (int j = 0; j < D; j++) {
        s += (ea[j] - eb[j]) * (ea[j] - eb[j]);
        mag += r[j] * r[j] + ea[j] * ea[j] + eb[j] * eb[j];
    }
    return 2.0 * tol * xnorm * sqrt(s) + D * 0x1p-24 * mag;
}

static int check_codes(const sono_params *p, const dims *d, const sono_buf *in,
                       const sono_buf *out, const sono_buf *ref, double tol, sono_check *c,
                       sono_error *err)
{
    const int *o = out->data, *r = ref->data;
    long long n = d->nq * d->frames, diff = 0, flips = 0, skipped = 0, hard = 0;
    for (long long i = 0; i < n; i++)
        diff += o[i] != r[i];
    c->tol = tol;
    c->has_mismatches = 1;
    if (diff) { /* the float64 embeddings, to tell near-ties from errors */
        sono_enc64 *m = NULL;
        double *emb = NULL;
        int *codes = malloc((size_t)n * sizeof *codes), rc = codes ? 0 : SONO_ENOMEM;
        if (!rc && !(rc = load_model(p, &m, err)))
            rc = ref_codes(m, in->data, d->samples, d->nq, codes, &emb, err);
        int D = d->c.hidden_size, K = d->c.codebook_size;
        double *res = malloc((size_t)D * sizeof *res);
        for (long long t = 0; !rc && res && t < d->frames; t++) {
            double xn = 0;
            for (int j = 0; j < D; j++) {
                res[j] = emb[(size_t)j * (size_t)d->frames + (size_t)t];
                xn += res[j] * res[j];
            }
            xn = sqrt(xn);
            for (int q = 0; q < d->nq; q++) {
                int a = r[(size_t)q * (size_t)d->frames + (size_t)t],
                    b = o[(size_t)q * (size_t)d->frames + (size_t)t];
                if (a != b) {
                    int tie = b >= 0 && b < K &&
                              sono_enc64_dist(m, q, res, b) - sono_enc64_dist(m, q, res, a) <=
                                  tie_bound(m, q, res, a, b, xn, tol);
                    flips += tie;
                    hard += !tie;
                    skipped += d->nq - 1 - q;
                    break;
                }
                const double *e = sono_enc64_codeword(m, q, a);
                for (int j = 0; j < D; j++)
                    res[j] -= e[j];
            }
        }
        if (!rc && !res)
            rc = SONO_ENOMEM;
        free(res);
        free(emb);
        free(codes);
        sono_enc64_free(m);
        if (rc)
            return err && err->code == rc ? rc
                                          : sono_fail(err, rc, "codec.encodec check failed");
    }
    c->mismatches = hard;
    c->pass = hard == 0;
    snprintf(c->detail, sizeof c->detail,
             "codes: %lld of %lld differ: %lld near-tie flips (encodec.c's bound), %lld "
             "later-stage codes after them not compared, %lld mismatches",
             diff, n, flips, skipped, hard);
    return 0;
}

/* Round trip: the output against the reference's decode(encode(x)). Should that fail, an
 * impl whose encoder flipped one near-tie decodes other codes, legitimately: each single
 * near-tie of the reference encode (at most 8 tried) is flipped to its runner-up, the later
 * stages re-quantized in double, decoded, and the output compared with that instead. */
static int check_roundtrip(const sono_params *p, const dims *d, const sono_buf *in,
                           const sono_buf *out, const sono_buf *ref, double tol,
                           sono_check *c, sono_error *err)
{
    int rc = sono_check_output(out, ref, tol, c, err);
    if (rc || c->pass || c->nonfinite)
        return rc;
    sono_enc64 *m = NULL;
    double *emb = NULL, *audio = NULL;
    long long n = d->nq * d->frames, tried = 0;
    int D = d->c.hidden_size, K = d->c.codebook_size;
    int *codes = malloc((size_t)n * sizeof *codes), *alt = malloc((size_t)n * sizeof *alt);
    double *res = malloc((size_t)D * sizeof *res);
    sono_buf r2 = *ref;
    sono_check c2 = *c;
    if (!codes || !alt || !res)
        rc = sono_fail(err, SONO_ENOMEM, "codec.encodec: out of memory");
    if (!rc && !(rc = load_model(p, &m, err)))
        rc = ref_codes(m, in->data, d->samples, d->nq, codes, &emb, err);
    for (long long t = 0; !rc && t < d->frames && tried < 8 && !c2.pass; t++) {
        double xn = 0;
        for (int j = 0; j < D; j++) {
            res[j] = emb[(size_t)j * (size_t)d->frames + (size_t)t];
            xn += res[j] * res[j];
        }
        xn = sqrt(xn);
        for (int q = 0; q < d->nq && tried < 8 && !c2.pass; q++) {
            int a = codes[(size_t)q * (size_t)d->frames + (size_t)t], b = -1;
            double da = sono_enc64_dist(m, q, res, a), db = INFINITY;
            for (int k = 0; k < K; k++) {
                double dk = sono_enc64_dist(m, q, res, k);
                if (k != a && dk < db) {
                    db = dk;
                    b = k;
                }
            }
            if (b >= 0 && db - da <= tie_bound(m, q, res, a, b, xn, tol)) {
                tried++;
                memcpy(alt, codes, (size_t)n * sizeof *alt);
                double r[8192];
                memcpy(r, res, (size_t)D * sizeof *r);
                for (int s = q; s < d->nq; s++) { /* b, then the nearest from there on */
                    int best = b;
                    if (s > q) {
                        double bd = INFINITY;
                        for (int k = 0; k < K; k++) {
                            double dk = sono_enc64_dist(m, s, r, k);
                            if (dk < bd) {
                                bd = dk;
                                best = k;
                            }
                        }
                    }
                    alt[(size_t)s * (size_t)d->frames + (size_t)t] = best;
                    const double *e = sono_enc64_codeword(m, s, best);
                    for (int j = 0; j < D; j++)
                        r[j] -= e[j];
                }
                free(audio);
                audio = NULL;
                if ((rc = sono_enc64_decode(m, alt, d->nq, d->frames, &audio, err)))
                    break;
                r2.data = audio; /* its first `samples`, as the reference */
                c2 = (sono_check){.tol = tol};
                if ((rc = sono_check_output(out, &r2, tol, &c2, err)))
                    break;
                if (c2.pass)
                    snprintf(c2.detail, sizeof c2.detail, "1 near-tie flip accepted (frame "
                             "%lld, stage %d: code %d for %d); rel_l2 %.3g against the "
                             "reference codes", t, q, b, a, c->rel_l2);
            }
            const double *e = sono_enc64_codeword(m, q, a);
            for (int j = 0; j < D; j++)
                res[j] -= e[j];
        }
    }
    if (!rc && c2.pass) {
        *c = c2;
        c->has_mismatches = 1;
        c->mismatches = 0;
    } else if (!rc)
        snprintf(c->detail, sizeof c->detail, "%lld near-ties of the reference encode tried "
                 "as flips; none explains the output", tried);
    free(audio);
    free(emb);
    free(codes);
    free(alt);
    free(res);
    sono_enc64_free(m);
    return rc;
}

typedef struct check_job {
    const sono_params *p;
    const dims *d;
    const sono_buf *in, *out, *ref;
    double tol;
    sono_check *c; /* one per stream */
} check_job;

static int check_stream(void *ctx, int s, sono_error *err)
{
    const check_job *j = ctx;
    const dims *d = j->d;
    sono_buf in = slice(j->in, d->S, s), out = slice(j->out, d->S, s),
             ref = slice(j->ref, d->S, s);
    sono_check *c = &j->c[s];
    *c = (sono_check){.tol = j->tol};
    if (d->mode == M_ENCODE)
        return check_codes(j->p, d, &in, &out, &ref, j->tol, c, err);
    if (d->mode == M_DECODE)
        return sono_check_output(&out, &ref, j->tol, c, err);
    return check_roundtrip(j->p, d, &in, &out, &ref, j->tol, c, err);
}

/* Streams are checked one by one, each as streams = 1 would be (a near-tie flip in one
 * clip says nothing of another): the case passes when every stream does; rel_l2, max_abs
 * and ref_peak are the worst stream's, mismatches and non-finite values summed, and the
 * detail is the worst stream's (a failing one first, else the highest rel_l2 or the
 * most differing codes). */
static int check(const sono_params *p, const sono_buf *in, const sono_buf *out,
                 const sono_buf *ref, double tol, sono_check *c, sono_error *err)
{
    dims d;
    int rc = get_dims(p, &d, err);
    if (rc)
        return rc;
    sono_check *cs = calloc((size_t)d.S, sizeof *cs);
    if (!cs)
        return sono_fail(err, SONO_ENOMEM, "codec.encodec check: out of memory");
    check_job j = {p, &d, in, out, ref, tol, cs};
    rc = per_stream(d.S, check_stream, &j, err);
    if (!rc && d.S == 1)
        *c = cs[0];
    else if (!rc) {
        int w = 0;
        *c = (sono_check){.tol = tol, .pass = 1};
        for (int s = 0; s < d.S; s++) {
            const sono_check *k = &cs[s], *kw = &cs[w];
            c->pass &= k->pass;
            c->rel_l2 = fmax(c->rel_l2, k->rel_l2);
            c->max_abs = fmax(c->max_abs, k->max_abs);
            c->ref_peak = fmax(c->ref_peak, k->ref_peak);
            c->nonfinite += k->nonfinite;
            c->mismatches += k->mismatches;
            c->has_mismatches |= k->has_mismatches;
            if (kw->pass > k->pass || (kw->pass == k->pass &&
                                       (k->mismatches > kw->mismatches ||
                                        k->rel_l2 > kw->rel_l2)))
                w = s;
        }
        snprintf(c->detail, sizeof c->detail, "%d streams checked alone, %s; stream %d: %s",
                 d.S, c->pass ? "all pass" : "not all pass", w, cs[w].detail);
    }
    free(cs);
    return rc;
}

/* The bitrate is exact: n_q codes of log2(codebook_size) bits per frame. SI-SDR and the
 * spectral distances only for a real checkpoint's round trip. */
static int quality(const sono_params *p, const sono_buf *in, const sono_buf *out,
                   sono_quality *q, sono_error *err)
{
    dims d;
    int rc = get_dims(p, &d, err);
    if (rc)
        return rc;
    q->has = SONO_Q_BITRATE;
    q->bitrate_bps = d.nq * log2((double)d.c.codebook_size) * d.c.frame_rate;
    if (strcmp(sono_param_str(p, "weights", "random"), "random") == 0) {
        snprintf(q->note, sizeof q->note, "not meaningful (random weights)");
        return 0;
    }
    if (d.mode != M_ROUNDTRIP)
        return 0;
    /* streams: the mean of each clip's measures */
    sono_quality sum = {0};
    for (int s = 0; s < d.S; s++) {
        sono_error e2 = {0};
        sono_quality one = *q;
        const float *x = in->data, *y = out->data;
        if (sono_quality_audio(x + (size_t)s * (size_t)d.samples,
                               y + (size_t)s * (size_t)d.samples, d.samples,
                               d.c.sampling_rate, &one, &e2)) {
            snprintf(q->note, sizeof q->note, "%s", e2.msg); /* too short: bitrate only */
            return 0;
        }
        /* issue 24: STOI, ESTOI and PESQ at 16 kHz; a figure missing for one stream is
         * missing for the mean (the note says why) */
        if (sono_quality_speech(x + (size_t)s * (size_t)d.samples,
                                y + (size_t)s * (size_t)d.samples, d.samples,
                                d.c.sampling_rate, &one, &e2) == 0 && s == 0)
            snprintf(sum.speech_note, sizeof sum.speech_note, "%s", one.speech_note);
        sum.has = s == 0 ? one.has : sum.has & one.has;
        snprintf(sum.pesq_mode, sizeof sum.pesq_mode, "%s", one.pesq_mode);
        sum.si_sdr_db += one.si_sdr_db / d.S;
        sum.mel_l1 += one.mel_l1 / d.S;
        sum.mstft += one.mstft / d.S;
        sum.stoi += one.stoi / d.S;
        sum.estoi += one.estoi / d.S;
        sum.pesq += one.pesq / d.S;
    }
    q->has |= sum.has;
    q->si_sdr_db = sum.si_sdr_db;
    q->mel_l1 = sum.mel_l1;
    q->mstft = sum.mstft;
    q->stoi = sum.stoi;
    q->estoi = sum.estoi;
    q->pesq = sum.pesq;
    snprintf(q->pesq_mode, sizeof q->pesq_mode, "%s", sum.pesq_mode);
    snprintf(q->speech_note, sizeof q->speech_note, "%s", sum.speech_note);
    if (d.S > 1)
        snprintf(q->note, sizeof q->note, "mean over %d streams", d.S);
    return 0;
}

/* 2 flops per multiply-accumulate of every conv, LSTM and codebook search, from the
 * shapes; the decoder's codebook sums as 1 flop per element. */
static void cost(const sono_params *p, sono_cost *c)
{
    dims d;
    if (get_dims(p, &d, NULL)) {
        *c = (sono_cost){0};
        return;
    }
    double vq = (double)d.nq * d.c.codebook_size * d.c.hidden_size * (double)d.frames;
    double enc = 2 * (sono_enc_macs_encoder(&d.c, d.samples) + vq);
    double dec = 2 * sono_enc_macs_decoder(&d.c, d.frames) +
                 (double)d.nq * d.c.hidden_size * (double)d.frames;
    c->flops = d.mode == M_ENCODE ? enc : d.mode == M_DECODE ? dec : enc + dec;
    double codes = 4.0 * d.nq * (double)d.frames, sig = 4.0 * (double)d.samples;
    c->bytes = d.mode == M_ENCODE ? sig + codes
               : d.mode == M_DECODE ? codes + 4.0 * (double)(d.frames * d.c.hop)
                                    : 2 * sig;
    c->flops *= d.S; /* streams: S clips, each its own network pass */
    c->bytes *= d.S;
}

/* Relative L2 of the float32 network's audio against the float64 one's; for codes, the
 * near-tie bound (relative error of the float32 embedding), so a wider tol also widens the
 * window in which a differing code counts as a tie. Issue 29: it was 2e-3 / 1e-3, and a
 * decoder LSTM without bias_hh (rel L2 1.88e-3 on the tiny model) passed. Measured worst
 * honest error (max of rel L2 and max |err| / peak): blas/encodec 8.5e-7 and cpu/naive
 * 1.04e-6 (suites/codecs, 24 kHz random model, 1 s, every mode and bandwidth);
 * 9.7e-8 and 3e-8 on the tiny model, 9e-7 on 0.05 s of the 24 kHz one
 * (tests/data/encodec/impls.ini). tol = 10x the worst measured, rounded up: 1e-5; 3e-5
 * for LINEAR impls (float sums in tap order, cpu/naive and cuda/encodec, whose rounding
 * can grow with the sum's length where a blocked SGEMM's does not). The bias_hh bug is
 * then 63x above. Not measured here: cuda/encodec and py/torch (no GPU, no transformers
 * on the machine that set these). */
/* Issue 26, dtype != f32: every GEMM stage (a convolution, a transposed convolution, a
 * residual unit's two convolutions in series, an LSTM layer) reads its activation and
 * weights rounded to the dtype, relative errors uniform in [-u, u] (u its unit roundoff),
 * which perturb the stage's output by about sqrt(2/3) u of its norm (two operands, RMS
 * u / sqrt 3 each, independent terms). Over G stages in series the independent errors
 * add in RMS: sqrt(2/3) u sqrt(G), taking layers that carry relative error through with
 * gain about 1. tol = the float32 tol + 4 u sqrt(G): a margin of ~5 for the check's max
 * |err| / peak beside rel L2 and for layers of gain above 1. G counts the side the mode
 * runs (encoder for encode, decoder for decode; the round trip is refused). For the 24
 * kHz model, G = 16 a side: bf16 6.3e-2, f16 and tf32 7.8e-3. Not yet measured on a GPU
 * (ci/device-check.sh's stage lt runs cuda/encodec in each dtype). For codes the same tol
 * widens the near-tie window as the embedding's relative error, as at f32. */
static int gemm_stages(const sono_params *p)
{
    dims d;
    if (get_dims(p, &d, NULL))
        return 1;
    sono_enc_layer l[SONO_ENC_MAX_LAYERS];
    int n = sono_enc_graph(&d.c, d.mode == M_DECODE, l), g = 0;
    for (int i = 0; i < n; i++)
        g += l[i].kind == SONO_ENC_CONV || l[i].kind == SONO_ENC_CONVTR ? 1
             : l[i].kind == SONO_ENC_RES                                ? 2
             : l[i].kind == SONO_ENC_LSTM                               ? d.c.num_lstm_layers
                                                                        : 0;
    return g > 0 ? g : 1;
}

static double tolerance(const sono_params *p, sono_err_growth g)
{
    double f32 = g == SONO_ERR_LINEAR ? 3e-5 : 1e-5;
    sono_nn_dtype t = sono_nn_dtype_get(p);
    if (t == SONO_NN_F32)
        return f32;
    return f32 + 4.0 * sono_nn_dtype_unit(t) * sqrt((double)gemm_stages(p));
}

/* Issue 12: samples and code frames as time steps (encodec.h, "Streaming"). */
static int stream_shape(const sono_params *p, sono_stream_shape *s, sono_error *err)
{
    dims d;
    int rc = get_dims(p, &d, err);
    if (rc)
        return rc;
    if (d.S > 1) /* the layouts have one time axis; S clips would be S streams */
        return sono_fail(err, SONO_EUNSUPPORTED, "codec.encodec: streaming takes one clip "
                         "(streams=1); streams=%d are independent clips, each a stream of "
                         "its own", d.S);
    sono_stream_layout sig = {1, d.samples, 1}, codes = {d.nq, d.frames, 1};
    s->in = d.mode == M_DECODE ? codes : sig;
    s->out = d.mode == M_ENCODE ? codes : sig;
    if (d.mode == M_DECODE)
        s->out.steps = d.frames * d.c.hop;
    s->step_rate = d.mode == M_DECODE ? (double)d.c.sampling_rate / d.c.hop
                                      : (double)d.c.sampling_rate;
    s->algo_latency_s = sono_enc_stream_latency(&d.c, d.mode, d.samples);
    return 0;
}

const sono_op sono_op_codec_encodec = {
    .name = "codec.encodec",
    .summary = "EnCodec (Hugging Face EncodecModel): encode, decode or round trip",
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
    .quality = quality,
    .stream_shape = stream_shape,
    .size_param = "seconds",
    .size_label = "input length (s of audio)",
    .merit = SONO_MERIT_CODEC,
};

/* ---- codec.soundstream (issue 24) ------------------------------------------------------
 * SoundStream as a configuration of the same graph, reference and impls (encodec.h,
 * sono_enc_config_soundstream): the same hooks; its params add `config`, fixed to
 * soundstream, which selects that config and the weights=random file for every side. */
static const sono_param_spec ss_params[] = {
    {.name = "mode", .type = SONO_PSTR, .choices = "encode|decode|roundtrip",
     .sdflt = "roundtrip",
     .help = "encode: signal -> codes; decode: codes -> audio; roundtrip: both"},
    {.name = "bandwidth", .type = SONO_PREAL, .rmin = 0.1, .rmax = 10000, .rdflt = 6,
     .help = "kbps, one of the model's target_bandwidths (SoundStream: 3, 6, 12, 18)"},
    {.name = "seconds", .type = SONO_PREAL, .rmin = 1e-3, .rmax = 3600, .rdflt = 1.0,
     .help = "input length in seconds at the model's sampling rate"},
    {.name = "weights", .type = SONO_PSTR, .sdflt = "random",
     .help = "random (seeded, SoundStream's shapes) or a safetensors file with Hugging Face "
             "EncodecModel names and a SoundStream EncodecConfig (num_lstm_layers 0)"},
    {.name = "seed", .type = SONO_PINT, .imin = 0, .imax = 1LL << 62, .idflt = 1,
     .help = "seed of the random weights"},
    {.name = "streams", .type = SONO_PINT, .imin = 1, .imax = 1024, .idflt = 1, .late = 1,
     .help = "independent mono clips of `seconds` each, coded together (consecutive pieces "
             "of the signal); x real time counts the audio of all"},
    {.name = "config", .type = SONO_PSTR, .choices = "soundstream", .sdflt = "soundstream",
     .late = 1,
     .help = "the EncodecConfig of weights=random: SoundStream's (strides 2,4,5,8, residual "
             "units of kernel 7 at dilations 1,3,9, no LSTM, 24 RVQ stages of 1024)"},
};

const sono_op sono_op_codec_soundstream = {
    .name = "codec.soundstream",
    .summary = "SoundStream (EnCodec's graph, SoundStream's config): encode, decode or "
               "round trip",
    .params = ss_params,
    .nparams = sizeof ss_params / sizeof ss_params[0],
    .validate = validate,
    .shapes = shapes,
    .reference = reference,
    .cost = cost,
    .tolerance = tolerance,
    .rate = rate,
    .audio_seconds = audio_seconds,
    .input = input,
    .check = check,
    .quality = quality,
    .stream_shape = stream_shape,
    .size_param = "seconds",
    .size_label = "input length (s of audio)",
    .merit = SONO_MERIT_CODEC,
};
