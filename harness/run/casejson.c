/* casejson.c — case <-> JSON for the runner/worker protocol. Numbers travel as JSON
 * numbers (integers exactly, reals with 17 digits), so the rebuilt params are identical. */
#include "casejson.h"

#include <string.h>

#include "casedev.h"
#include "params.h"
#include "results.h"

json_t *sono_case_json(const sono_plan *plan, const sono_case *c)
{
    const sono_input_spec *in = &plan->inputs[c->input];
    const sono_measure_cfg *g = &c->cfg;
    return json_pack("{s:s, s:s, s:s, s:s, s:o, s:s, s:f, s:{s:f, s:f, s:f, s:f, s:I, s:I, "
                     "s:f, s:s, s:b, s:i}}",
                     "id", c->id, "op", c->op->name, "impl", c->impl_name, "skip", c->skip,
                     "params", sono_params_json(&c->p), "input",
                     in->kind == SONO_INPUT_FILE ? in->path : in->name, "sample_rate",
                     plan->sample_rate, "cfg", "target_ci", g->target_ci, "budget_s",
                     g->budget_s, "warmup_s", g->warmup_s, "min_time_s", g->min_time_s,
                     "min_samples", (json_int_t)g->min_samples, "max_samples",
                     (json_int_t)g->max_samples, "timeout_s", g->timeout_s, "pin", g->pin,
                     "profile", g->profile, "instructions", g->instructions);
}

static int bad(sono_error *err, const char *what)
{
    return sono_fail(err, SONO_EPARSE, "worker: malformed case: %s", what);
}

int sono_case_from_json(const json_t *j, const sono_reg *R, sono_plan *plan, sono_case *c,
                        sono_error *err)
{
    const char *id, *op, *impl, *skip, *input, *pin;
    json_t *params, *cfg;
    double rate;
    sono_measure_cfg *g = &c->cfg;
    json_int_t mins, maxs;
    memset(c, 0, sizeof *c);
    if (json_unpack((json_t *)j, "{s:s, s:s, s:s, s:s, s:o, s:s, s:F, s:o}", "id", &id, "op",
                    &op, "impl", &impl, "skip", &skip, "params", &params, "input", &input,
                    "sample_rate", &rate, "cfg", &cfg) ||
        json_unpack(cfg, "{s:F, s:F, s:F, s:F, s:I, s:I, s:F, s:s, s:b, s:i}", "target_ci",
                    &g->target_ci, "budget_s", &g->budget_s, "warmup_s", &g->warmup_s,
                    "min_time_s", &g->min_time_s, "min_samples", &mins, "max_samples", &maxs,
                    "timeout_s", &g->timeout_s, "pin", &pin, "profile", &g->profile,
                    "instructions", &g->instructions))
        return bad(err, "missing or mistyped field");
    g->min_samples = (long)mins;
    g->max_samples = (long)maxs;
    snprintf(g->pin, sizeof g->pin, "%s", pin);
    if (!(c->op = sono_op_find(op)))
        return bad(err, "unknown op");
    snprintf(c->id, sizeof c->id, "%s", id);
    snprintf(c->impl_name, sizeof c->impl_name, "%s", impl);
    snprintf(c->skip, sizeof c->skip, "%s", skip);
    if (!skip[0] && !(c->impl = sono_reg_find(R, c->op, impl, err)))
        return SONO_ENOTFOUND;
    const char *key;
    json_t *v;
    json_object_foreach(params, key, v) {
        const sono_param_spec *s = sono_op_param(c->op, key);
        if (!s || c->p.count == SONO_MAX_PARAMS)
            return bad(err, key);
        sono_param *p = &c->p.v[c->p.count];
        *p = (sono_param){.name = s->name, .type = s->type};
        if (s->type == SONO_PINT && json_is_integer(v))
            p->i = json_integer_value(v);
        else if (s->type == SONO_PREAL && json_is_number(v))
            p->r = json_number_value(v);
        else if (s->type == SONO_PSTR && json_is_string(v))
            p->s = strdup(json_string_value(v));
        else
            return bad(err, key);
        c->p.count++;
    }
    sono_params_format(c->op, &c->p, c->params_text, sizeof c->params_text);
    sono_case_resolve_device(R, c); /* issue 10: the worker times on the case's device */
    sono_input_spec spec;
    int rc = sono_input_parse(input, ".", &spec, err);
    if (rc)
        return rc;
    plan->sample_rate = rate;
    if ((c->input = sono_plan_add_input(plan, &spec)) < 0)
        return sono_fail(err, SONO_ENOMEM, "out of memory");
    return 0;
}
