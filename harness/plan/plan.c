/* plan.c — the plan a suite expands into: its inputs (deduplicated by name), case ids,
 * filtering by glob, release. The parsing that builds it is in suite.c. */
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "inputfit.h"
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

/* The params as the suite asked for them: seconds=all where it was, so cases that asked
 * for all on two files of different lengths are one (op, impl, params) to --input. */
static void asked_text(const sono_case *c, char *buf, size_t n)
{
    sono_params q = c->p; /* shallow: formatting only */
    sono_param *s = NULL;
    for (int i = 0; c->seconds_all && i < q.count && !s; i++)
        if (strcmp(q.v[i].name, "seconds") == 0)
            s = &q.v[i];
    if (s)
        s->r = SONO_SECONDS_ALL;
    sono_params_format(c->op, &q, buf, n);
}

/* Issue 27: a case that asked for seconds = all, moved to a new input: all again, of
 * this input, and its params text with the value. */
static int reresolve(sono_case *k, const sono_input_spec *spec, sono_error *err)
{
    for (int i = 0; i < k->p.count; i++)
        if (strcmp(k->p.v[i].name, "seconds") == 0)
            k->p.v[i].r = SONO_SECONDS_ALL;
    char note[320];
    sono_error e2 = {0};
    int rc = sono_input_resolve_all(k->op, &k->p, spec, note, sizeof note, &e2);
    if (rc == 0 && k->op->validate && sono_params_all(&k->p) == NULL)
        rc = k->op->validate(&k->p, &e2);
    if (rc < 0)
        return sono_fail(err, rc, "%s%s", e2.msg,
                         strstr(e2.msg, "seconds=all") ? "" : " (with seconds = all)");
    sono_params_format(k->op, &k->p, k->params_text, sizeof k->params_text);
    return 0;
}

int sono_plan_check_all(const sono_plan *plan, sono_error *err)
{
    for (int i = 0; i < plan->ncases; i++) {
        const sono_case *c = &plan->cases[i];
        const sono_param *s = sono_param_find(&c->p, "seconds");
        if (c->seconds_all && s && s->r == SONO_SECONDS_ALL)
            return sono_fail(err, SONO_EINVAL, "seconds=all needs a file input (--input "
                             "FILE or inputs = FILE): input '%s' of case %s is generated and "
                             "has no length of its own; give seconds a number for it",
                             plan->inputs[c->input].name, c->id);
    }
    return 0;
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
        char asked[256], other[256];
        asked_text(c, asked, sizeof asked);
        for (int q = 0; q < i && !seen; q++) {
            asked_text(&plan->cases[q], other, sizeof other);
            seen = plan->cases[q].op == c->op &&
                   !strcmp(plan->cases[q].impl_name, c->impl_name) && !strcmp(other, asked);
        }
        for (int j = 0; j < n && !seen && !rc; j++) {
            out[m] = *c;
            if (sono_params_copy(&out[m].p, &c->p)) {
                rc = sono_fail(err, SONO_ENOMEM, "no memory for the cases of --input");
                break;
            }
            out[m].input = idx[j];
            m++;
            if (c->seconds_all && (rc = reresolve(&out[m - 1], &specs[j], err)))
                break;
            sono_case_make_id(&out[m - 1], plan);
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
