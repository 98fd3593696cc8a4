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
    char xfail[256];       /* issue 27: the suite's expect_fail reason; "": none */
    int seconds_all;       /* issue 27: seconds = all was asked for; p holds the file's
                              length once the input is fixed (still SONO_SECONDS_ALL on a
                              generated input, which run refuses) */
    char input_note[320];  /* issue 27: how the file input fits (cut, padded, all), for
                              the record; "": nothing to say */
    char section[64];      /* the suite section it came from (issue 24: --param SCOPE:) */
} sono_case;

/* Issue 27: `run --param K=V`: V (a value, or a list and ranges as in a suite file)
 * replaces K's values in every section whose op has K. `--param SCOPE:K=V` (issue 24)
 * narrows it to the sections whose op name or section name matches the glob SCOPE, so
 * one run can give each codec of suites/codecs its own weights file. */
typedef struct sono_param_override {
    char name[64];
    char text[256];
    char scope[64];  /* "": every section */
    char key[130];   /* name, or SCOPE:name: how the results file and messages call it */
} sono_param_override;

/* What one override replaced in one section of the suite, for the results file. */
typedef struct sono_param_replaced {
    char param[130], section[64]; /* param: the override's key */
    char value[256];       /* the section's own text; "": it left K at the op's default */
} sono_param_replaced;

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
    sono_param_override *ov; /* issue 27: --param, as given (owned) */
    int nov;
    sono_param_replaced *replaced; /* owned */
    int nreplaced;
} sono_plan;

/* path is a suite file or a folder holding suite.ini. */
int sono_suite_load(const char *path, const sono_reg *R, sono_plan *plan, sono_error *err);
/* The same with `run --param` overrides (ov[0..nov), copied into the plan): each replaces
 * its parameter's values in every section whose op has it (an invalid value is an error
 * naming --param); cases that the overrides make identical run once (the first section's
 * settings). A parameter no section has is not an error here (see the plan's cases). */
int sono_suite_load_ov(const char *path, const sono_reg *R, const sono_param_override *ov,
                       int nov, sono_plan *plan, sono_error *err);
void sono_plan_free(sono_plan *plan);
/* 1 when override o reaches a section of op `op` named `section` (its scope, if any,
 * matches either name as a glob). */
int sono_override_scope_matches(const sono_param_override *o, const char *op,
                                const char *section);

/* Keep the cases whose id matches the glob (fnmatch, '*' crosses '/'). */
void sono_plan_filter(sono_plan *plan, const char *glob);
void sono_plan_filter_any(sono_plan *plan, const char *const *globs, int nglobs);

/* Replace the inputs of every case by these (harness run --input): each distinct
 * (op, impl, params) of the suite runs once per given input. */
int sono_plan_set_inputs(sono_plan *plan, const sono_input_spec *specs, int n,
                         sono_error *err);

/* Issue 27: a case left asking for seconds = all on a generated input (whose length is
 * not a file's), after --input and --filter: SONO_EINVAL naming the case and --input
 * FILE; 0 when every case has its seconds. */
int sono_plan_check_all(const sono_plan *plan, sono_error *err);

/* Add one input to the plan (deduplicated by name); returns its index or < 0. */
int sono_plan_add_input(sono_plan *plan, const sono_input_spec *spec);

/* Fill c->id from its parts. */
void sono_case_make_id(sono_case *c, const sono_plan *plan);

#endif
