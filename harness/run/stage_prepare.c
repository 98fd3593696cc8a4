/* stage_prepare.c — a case's first stage: whether it can run here (skip reasons, the
 * streaming layout), then its input (seeded, hashed), its float64 reference (both kept in
 * the executor for the next impl), its output buffers, the pin and the evictor. */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "casedev.h"
#include "params.h"
#include "pin.h"
#include "refcache.h"
#include "stages.h"

/* A skip, not an error: the verdict rides with the code so run_case records it as such. */
static int skip(sono_case_run *r, int rc)
{
    r->verdict = "skip";
    return rc;
}

/* Why the case cannot run here, as a skip (or an error the op's stream_shape reports);
 * the shapes of in and out once the impl supports the params. */
static int admit(sono_case_run *r, sono_buf *in, sono_buf *out, sono_error *err)
{
    const sono_case *c = r->c;
    char why[512] = "";
    if (c->skip[0])
        return skip(r, sono_fail(err, SONO_EUNSUPPORTED, "%s", c->skip));
    const sono_impl *im = c->impl->impl;
    if (im->supports(im->ctx, &c->p, why, sizeof why) != 0)
        return skip(r, sono_fail(err, SONO_EUNSUPPORTED, "%s",
                                 why[0] ? why : "not supported (no reason given)"));
    c->op->shapes(&c->p, in, out);
    r->streaming = sono_stream_wanted(&c->p);
    if (!r->streaming)
        return 0;
    if (!c->op->stream_shape)
        return skip(r, sono_fail(err, SONO_EUNSUPPORTED, "this op has no streaming mode (no "
                                 "stream_shape): chunk_ms and chunk apply to streaming ops "
                                 "only"));
    if (!im->push || !im->stream_begin)
        return skip(r, sono_fail(err, SONO_EUNSUPPORTED, "this impl does not stream (no "
                                 "push): chunk_ms and chunk need an impl with stream_begin "
                                 "and push"));
    int rc;
    if ((rc = c->op->stream_shape(&c->p, &r->ss, err)) ||
        (rc = sono_stream_cfg_get(&c->p, &r->ss, &r->scfg, err)) ||
        (rc = sono_stream_layout_check(&r->ss.in, in, "input", err)) ||
        (rc = sono_stream_layout_check(&r->ss.out, out, "output", err)))
        /* issue 11: an op may refuse to stream some params (codec.encodec's streams > 1) */
        return rc == SONO_EUNSUPPORTED ? skip(r, rc) : rc;
    return 0;
}

static int get_input(const sono_plan *plan, const sono_case *c, sono_executor *k, sono_buf *desc,
                     sono_error *err)
{
    char key[400];
    double rate = c->op->rate ? c->op->rate(&c->p) : 0;
    /* An op that builds its input may use any of its params (vq's seed draws the
     * codebook), so its key holds them all; a signal depends on the shape and rate only. */
    snprintf(key, sizeof key, "%d/%d/%lld/%.17g/%s", c->input, desc->dtype,
             sono_buf_elems(desc), rate, c->op->input ? c->params_text : "");
    if (k->in.data && strcmp(key, k->in_key) == 0 && k->in.ndim == desc->ndim &&
        memcmp(k->in.shape, desc->shape, sizeof desc->shape) == 0)
        return 0;
    sono_buf_free(&k->in);
    sono_buf_free(&k->ref);
    k->in_key[0] = k->ref_key[0] = 0;
    k->in = *desc;
    int rc = sono_buf_alloc(&k->in, err);
    if (!rc && c->op->input) { /* the op builds its input from the signal */
        k->rate = rate > 0 ? rate : plan->sample_rate;
        rc = c->op->input(&c->p, &plan->inputs[c->input], k->rate, &k->in, err);
    } else if (!rc && rate > 0) { /* an audio op fixes its rate: files are resampled to it */
        rc = sono_input_fill_at(&plan->inputs[c->input], rate, &k->in, err);
        k->rate = rate;
    } else if (!rc)
        rc = sono_input_fill(&plan->inputs[c->input], plan->sample_rate, &k->in, &k->rate, err);
    if (rc) {
        sono_buf_free(&k->in);
        return rc;
    }
    sono_buf_sha256(&k->in, k->sha);
    snprintf(k->in_key, sizeof k->in_key, "%s", key);
    return 0;
}

static int get_ref(const sono_case *c, sono_executor *k, const sono_buf *out_desc, sono_error *err)
{
    char key[800];
    snprintf(key, sizeof key, "%s|%s|%s", c->op->name, c->params_text, k->in_key);
    if (k->ref.data && strcmp(key, k->ref_key) == 0)
        return 0;
    sono_buf_free(&k->ref);
    k->ref = *out_desc;
    k->ref.dtype = sono_dtype_wide(out_desc->dtype);
    int rc = sono_buf_alloc(&k->ref, err);
    /* the run's earlier rounds may have left it (refcache.h); the input's hash is in the
     * cache key, so a changed input never reads another's reference */
    char ckey[900];
    snprintf(ckey, sizeof ckey, "%s|%s", key, k->sha);
    if (!rc && !sono_refcache_get(ckey, &k->ref)) {
        rc = c->op->reference(&c->p, &k->in, &k->ref, err);
        if (!rc)
            sono_refcache_put(ckey, &k->ref);
    }
    if (rc) {
        sono_buf_free(&k->ref);
        return rc;
    }
    snprintf(k->ref_key, sizeof k->ref_key, "%s", key);
    return 0;
}

/* The process's pin, once per setting rather than per case; the evictor at the first
 * cold case. */
static int pin_and_evict(sono_case_run *r, sono_record *rec, sono_error *err)
{
    sono_executor *k = r->k;
    const sono_case *c = r->c;
    int rc;
    if (strcmp(k->pin, c->cfg.pin) != 0) {
        sono_pin pin;
        if ((rc = sono_pin_parse(c->cfg.pin, &pin, err)) ||
            (rc = sono_pin_apply(&pin, k->pin_desc, sizeof k->pin_desc, err)))
            return rc;
        snprintf(k->pin, sizeof k->pin, "%s", c->cfg.pin);
    }
    snprintf(rec->pin, sizeof rec->pin, "%s", k->pin_desc);
    r->cold = strcmp(sono_param_str(&c->p, "cache", "hot"), "cold") == 0;
    if (r->cold && !k->evict && (rc = sono_evict_init(&k->evict, err)))
        return rc;
    return 0;
}

/* The output buffers are left unfilled: the lifecycle NaN-fills out before store and
 * stream.c before each stream, so whatever ends in them was written by the impl. */
int sono_stage_prepare(sono_case_run *r, sono_record *rec, sono_error *err)
{
    const sono_case *c = r->c;
    sono_executor *k = r->k;
    sono_buf in = {0}, out = {0};
    int rc;
    if ((rc = admit(r, &in, &out, err)))
        return rc;
    if ((rc = get_input(r->plan, c, k, &in, err)))
        return rc == SONO_EUNSUPPORTED ? skip(r, rc) : rc;
    snprintf(rec->input_sha256, sizeof rec->input_sha256, "%s", k->sha);
    rec->sample_rate = k->rate;
    rec->audio_s = c->op->audio_seconds ? c->op->audio_seconds(&c->p)
                                        : (double)sono_buf_elems(&k->in) / k->rate;
    if ((rc = get_ref(c, k, &out, err)))
        return rc;
    r->out = out;
    if ((rc = sono_buf_alloc(&r->out, err)))
        return rc;
    if (r->streaming) {
        r->off = out;
        if ((rc = sono_buf_alloc(&r->off, err)))
            return rc;
    }
    return pin_and_evict(r, rec, err);
}

void sono_case_run_free(sono_case_run *r)
{
    sono_buf_free(&r->out);
    sono_buf_free(&r->off);
    sono_stream_run_free(&r->srun);
}
