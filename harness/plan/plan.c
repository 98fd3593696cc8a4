/* plan.c — the plan a suite expands into: its inputs (deduplicated by name), case ids,
 * filtering by glob, release. The parsing that builds it is in suite.c. */
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "params.h"
#include "suite.h"

int sono_plan_add_input(sono_plan *plan, const sono_input_spec *spec)
{
    for (int i = 0; i < plan->ninputs; i++)
        if (strcmp(plan->inputs[i].name, spec->name) == 0 &&
            strcmp(plan->inputs[i].path, spec->path) == 0)
            return i;
    sono_input_spec *in = realloc(plan->inputs, (size_t)(plan->ninputs + 1) * sizeof *in);
    if (!in)
        return -1;
    plan->inputs = in;
    in[plan->ninputs] = *spec;
    return plan->ninputs++;
}

void sono_case_make_id(sono_case *c, const sono_plan *plan)
{
    snprintf(c->id, sizeof c->id, "%s/%s/%s/%s", c->op->name, c->impl_name, c->params_text,
             plan->inputs[c->input].name);
}

void sono_plan_filter(sono_plan *plan, const char *glob)
{
    sono_plan_filter_any(plan, &glob, 1);
}

/* A case stays if it matches any of the globs (run's --filter is repeatable, so one
 * command can pick several sections of a suite, as gtest's ':'-separated filters do). */
void sono_plan_filter_any(sono_plan *plan, const char *const *globs, int nglobs)
{
    int keep = 0;
    for (int i = 0; i < plan->ncases; i++) {
        int hit = 0;
        for (int g = 0; g < nglobs && !hit; g++)
            hit = fnmatch(globs[g], plan->cases[i].id, 0) == 0;
        if (hit)
            plan->cases[keep++] = plan->cases[i];
        else
            sono_params_free(&plan->cases[i].p);
    }
    plan->ncases = keep;
}

int sono_plan_set_inputs(sono_plan *plan, const sono_input_spec *specs, int n,
                         sono_error *err)
{
    int idx[64];
    if (n < 1 || n > 64)
        return sono_fail(err, SONO_EINVAL, "--input: between 1 and 64 inputs, got %d", n);
    /* Case ids end in the input's name: two inputs of one name would give two cases one
     * id, which compare and --filter could not tell apart. */
    for (int j = 0; j < n; j++)
        for (int q = 0; q < j; q++)
            if (strcmp(specs[q].name, specs[j].name) == 0)
                return sono_fail(err, SONO_EINVAL,
                                 "--input %s and --input %s both name the input '%s' in "
                                 "case ids; rename or copy one",
                                 specs[q].path[0] ? specs[q].path : specs[q].name,
                                 specs[j].path[0] ? specs[j].path : specs[j].name,
                                 specs[j].name);
    for (int j = 0; j < n; j++)
        if ((idx[j] = sono_plan_add_input(plan, &specs[j])) < 0)
            return sono_fail(err, SONO_ENOMEM, "no memory for input %s", specs[j].name);
    /* One case per (op, impl, params) the suite had, times each new input: the suite's
     * own inputs are dropped, its order kept. Ids must stay unique, so where groups ran
     * the same (op, impl, params) on different inputs with different measurement
     * settings, the first group's settings are kept. */
    sono_case *out = calloc((size_t)plan->ncases * (size_t)n + 1, sizeof *out);
    if (!out)
        return sono_fail(err, SONO_ENOMEM, "no memory for %d x %d cases", plan->ncases, n);
    int m = 0, rc = 0;
    for (int i = 0; i < plan->ncases && !rc; i++) {
        const sono_case *c = &plan->cases[i];
        int seen = 0;
        for (int q = 0; q < i && !seen; q++)
            seen = plan->cases[q].op == c->op &&
                   !strcmp(plan->cases[q].impl_name, c->impl_name) &&
                   !strcmp(plan->cases[q].params_text, c->params_text);
        for (int j = 0; j < n && !seen && !rc; j++) {
            out[m] = *c;
            if (sono_params_copy(&out[m].p, &c->p)) {
                rc = sono_fail(err, SONO_ENOMEM, "no memory for the cases of --input");
                break;
            }
            out[m].input = idx[j];
            sono_case_make_id(&out[m], plan);
            m++;
        }
    }
    if (!rc && m > SONO_MAX_CASES)
        rc = sono_fail(err, SONO_EINVAL, "--input makes %d cases, more than %d", m,
                       SONO_MAX_CASES);
    if (rc) {
        for (int i = 0; i < m; i++)
            sono_params_free(&out[i].p);
        free(out);
        return rc;
    }
    for (int i = 0; i < plan->ncases; i++)
        sono_params_free(&plan->cases[i].p);
    free(plan->cases);
    plan->cases = out;
    plan->ncases = m;
    return 0;
}

void sono_plan_free(sono_plan *plan)
{
    for (int i = 0; i < plan->ncases; i++)
        sono_params_free(&plan->cases[i].p);
    free(plan->cases);
    free(plan->inputs);
    free(plan->ov);
    free(plan->replaced);
    plan->cases = NULL;
    plan->inputs = NULL;
    plan->ov = NULL;
    plan->replaced = NULL;
    plan->ncases = plan->ninputs = plan->nov = plan->nreplaced = 0;
}
