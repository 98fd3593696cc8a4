/* suite.h — a suite file (INI, parsed with inih) expanded into a plan: the list of cases
 * (op x impl x params x input), each with a stable id and its measurement settings.
 * Every error names file:line and what was expected, before anything runs. */
#ifndef SONO_SUITE_H
#define SONO_SUITE_H

#include "input.h"
#include "measure.h"
#include "registry.h"

/* A suite past this is a typo in a range, not a plan: 20000 cases at the default budget
 * would run for half a day (and the duplicate check is quadratic). */
#define SONO_MAX_CASES 20000
#define SONO_STR_(x) #x
#define SONO_STR(x) SONO_STR_(x)

typedef struct sono_case {
    char id[512];          /* op/backend/impl/params/input: stable across runs */
    const sono_op *op;
    const sono_impl_entry *impl; /* NULL when its backend could not be loaded */
    char impl_name[160];   /* "backend/impl" */
    char skip[1024];       /* non-empty: why it cannot run here (backend unavailable) */
    sono_params p;         /* all parameters, defaults filled in; strings owned */
    char params_text[256];
    int input;             /* index into plan->inputs */
    sono_measure_cfg cfg;
    const sono_device *dev; /* issue 10: the `device` param's device; NULL: the impl's */
} sono_case;

typedef struct sono_plan {
    char name[128];
    char description[512];
    char file[4096];
    char sha256[65];       /* of the suite file's bytes */
    double sample_rate;    /* for generated inputs */
    sono_input_spec *inputs;
    int ninputs;
    sono_case *cases;
    int ncases;
} sono_plan;

/* path is a suite file or a folder holding suite.ini. */
int sono_suite_load(const char *path, const sono_reg *R, sono_plan *plan, sono_error *err);
void sono_plan_free(sono_plan *plan);

/* Keep the cases whose id matches the glob (fnmatch, '*' crosses '/'). */
void sono_plan_filter(sono_plan *plan, const char *glob);
void sono_plan_filter_any(sono_plan *plan, const char *const *globs, int nglobs);

/* Replace the inputs of every case by these (harness run --input): each distinct
 * (op, impl, params) of the suite runs once per given input. */
int sono_plan_set_inputs(sono_plan *plan, const sono_input_spec *specs, int n,
                         sono_error *err);

/* Add one input to the plan (deduplicated by name); returns its index or < 0. */
int sono_plan_add_input(sono_plan *plan, const sono_input_spec *spec);

/* Fill c->id from its parts. */
void sono_case_make_id(sono_case *c, const sono_plan *plan);

#endif
