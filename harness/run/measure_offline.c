/* measure_offline.c — the usual case, hot or cold: the lifecycle with sono_measure's loop
 * and a counters pass on the live state, then store. Also the harness's own overhead per
 * run() call, the same loop on the impl whose role is "overhead". */
#include <string.h>

#include "buf.h"
#include "casedev.h"
#include "instr.h"
#include "params.h"
#include "stages.h"

static void evict(void *ctx)
{
    sono_evict_run(ctx);
}

/* Hardware counters over one more pass of k runs (one run after an eviction when cold):
 * a pass of its own, so reading the counters never disturbs the timed samples. */
static json_t *count_pass(sono_executor *k, const sono_device *dev, const sono_impl *im,
                          void *st, const sono_measurement *m)
{
    sono_counter_values v;
    if (!k->ctr_tried) {
        k->ctr_tried = 1;
        sono_counters_open(&k->ctr, k->ctr_why, sizeof k->ctr_why);
    }
    if (m->stop && strcmp(m->stop, "profile") == 0) /* one launch per case, no more */
        sono_counters_unavailable(&v, "not counted under --profile (one run per case)");
    else if (strcmp(dev->kind, "cpu") != 0)
        sono_counters_unavailable(&v, "counters are read on cpu devices only");
    else if (!k->ctr)
        sono_counters_unavailable(&v, k->ctr_why[0] ? k->ctr_why : "no counter available");
    else {
        double ns;
        sono_error err = {0};
        if (m->cold)
            sono_evict_run(k->evict);
        if (sono_counters_start(k->ctr) != 0)
            sono_counters_unavailable(&v, "PAPI refused to start counting");
        else {
            int rc = dev->time_runs(dev, im->run, st, m->k, &ns, &err);
            if (sono_counters_stop(k->ctr, &v) == 0 && rc != 0)
                sono_counters_unavailable(&v, err.msg);
        }
    }
    return sono_counters_json(&v, (double)m->k);
}

typedef struct offline_ctx {
    sono_case_run *r;
    sono_record *rec;
} offline_ctx;

/* The lifecycle's measure callback: the timed samples, then the counters pass. */
static int measured_loop(void *ctx, void *st, sono_error *err)
{
    offline_ctx *o = ctx;
    const sono_case *c = o->r->c;
    const sono_device *dev = sono_case_device(c);
    if (c->cfg.instructions) { /* issue 22: counted, not timed, and no PAPI pass (instr.h) */
        sono_instr_counts n;
        int rc = sono_instr_measure(c->cfg.instructions, dev, c->impl->impl->run, st,
                                    o->r->cold ? evict : NULL, o->r->k->evict, c->id,
                                    o->r->stop, &o->rec->m, &n, err);
        if (rc)
            return rc;
        o->rec->measured = 1;
        return sono_instr_record(&n, o->rec, &o->rec->counters, err);
    }
    int rc = sono_measure(dev, c->impl->impl->run, st, &c->cfg, o->r->cold ? evict : NULL,
                          o->r->k->evict, o->r->stop, &o->rec->m, err);
    if (rc)
        return rc;
    o->rec->measured = 1;
    o->rec->counters = count_pass(o->r->k, dev, c->impl->impl, st, &o->rec->m);
    return 0;
}

int sono_measure_offline(sono_case_run *r, sono_record *rec, sono_error *err)
{
    const sono_case *c = r->c;
    offline_ctx o = {r, rec};
    sono_lifecycle lc = {.im = c->impl->impl, .p = &c->p, .in = &r->k->in, .out = &r->out,
                         .measure = measured_loop, .measure_ctx = &o,
                         .dev = sono_case_device(c), .describe = rec->describe,
                         .describe_n = sizeof rec->describe, .measured = rec->measured_text,
                         .measured_n = sizeof rec->measured_text};
    int rc = sono_lifecycle_run(&lc, err);
    r->fig.lc = lc.fig;
    rec->gpu = lc.gpu;
    rec->device_json_invalid = lc.gpu_invalid;
    if (rc && lc.failed == SONO_STEP_SETUP && !err->msg[0])
        return sono_fail(err, rc, "setup failed");
    return rc;
}

typedef struct overhead_ctx {
    const sono_impl_entry *e;
    sono_measurement m;
} overhead_ctx;

static int overhead_loop(void *ctx, void *st, sono_error *err)
{
    overhead_ctx *o = ctx;
    sono_measure_cfg cfg = {.target_ci = 0.01, .budget_s = 0.2, .warmup_s = 0.02,
                            .min_samples = 10, .max_samples = 200};
    return sono_measure(o->e->dev, o->e->impl->run, st, &cfg, NULL, NULL, NULL, &o->m, err);
}

/* The impl with role "overhead" has an empty run(): its time per call is what the loop,
 * the indirect call and the clock add to every other case's figure. */
double sono_measure_overhead(const sono_reg *R)
{
    sono_error err = {0};
    const sono_impl_entry *e = sono_reg_overhead_impl(R);
    if (!e || !sono_reg_backend_of(R, e)->available)
        return 0;
    const sono_op *op = e->op;
    sono_params p = {0};
    sono_params_defaults(op, &p);
    sono_buf in, out;
    op->shapes(&p, &in, &out);
    double ns = 0;
    overhead_ctx o = {.e = e};
    if (sono_buf_alloc(&in, &err) == 0) {
        memset(in.data, 0, in.nbytes);
        sono_lifecycle lc = {.im = e->impl, .p = &p, .in = &in, .measure = overhead_loop,
                             .measure_ctx = &o}; /* no store: nop's output means nothing */
        if (sono_lifecycle_run(&lc, &err) == 0)
            ns = o.m.s.median;
        sono_buf_free(&in);
    }
    sono_measurement_free(&o.m);
    sono_params_free(&p);
    return ns;
}
