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
    int keep = 0;
    for (int i = 0; i < plan->ncases; i++) {
        if (fnmatch(glob, plan->cases[i].id, 0) == 0)
            plan->cases[keep++] = plan->cases[i];
        else
            sono_params_free(&plan->cases[i].p);
    }
    plan->ncases = keep;
}

void sono_plan_free(sono_plan *plan)
{
    for (int i = 0; i < plan->ncases; i++)
        sono_params_free(&plan->cases[i].p);
    free(plan->cases);
    free(plan->inputs);
    plan->cases = NULL;
    plan->inputs = NULL;
    plan->ncases = plan->ninputs = 0;
}
