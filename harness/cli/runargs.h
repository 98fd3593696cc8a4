/* runargs.h — what `harness run` and `harness ab` share (harness/cli/run.c): their common
 * options, the suite made into a plan by those options, the default results path, and the
 * results file's suite and env objects. Both commands then only differ in how they run. */
#ifndef SONO_RUNARGS_H
#define SONO_RUNARGS_H

#include <jansson.h>
#include <stddef.h>

#include "calibration.h"
#include "registry.h"
#include "shard.h"
#include "suite.h"

/* issue 27: the measurement settings a command line may set over the suite's, in this
 * order: budget_s, target_ci, min_time_s, warmup_s. */
enum { SONO_RUN_NOVERRIDES = 4 };

typedef struct sono_run_args {
    const char *suite;
    const char *filters[64], *inputs[64];
    int nfilters, ninputs;
    const char *device;  /* issue 10 */
    int repetitions;     /* issue 22: 0 keeps each case's own (the suite's) */
    int quiet, profile, force;
    int instructions;    /* issue 22: --metric instructions (harness run only) */
    int dry;             /* --dry-run: nothing will run (no workers to wrap) */
    int ov_set[SONO_RUN_NOVERRIDES]; /* issue 27: given on the command line */
    double ov[SONO_RUN_NOVERRIDES];
    sono_param_override params[32]; /* issue 27: --param K=V, in the order given */
    int nparams;
} sono_run_args;

/* argv[*i] if it is one of the shared options (--filter, --input, --param, --device,
 * --repetitions,
 * --quiet, --profile, --force, --lenient, --metric, --budget-s, --target-ci, --min-time-s,
 * --warmup-s), with its value: 1 taken (*i at its last word), 0 not one of them, -1 a bad
 * value (said on stderr as "harness CMD: ..."). A zeroed sono_run_args is the default. */
int sono_run_arg(const char *cmd, sono_run_args *a, int argc, char **argv, int *i);

/* The suite loaded and shaped by a: inputs, device, filter, inputs too short, per-case
 * settings, then the shard (shard_n 0: none; shard filled then). SONO_EXIT_OK with plan
 * filled, or the exit status with the reason said and nothing left to free. */
int sono_run_prepare(sono_reg *R, const char *cmd, const sono_run_args *a, int shard_i,
                     int shard_n, sono_plan *plan, sono_shard *shard);

/* results/SUITE-HOST-UTCTIME[-TAG].json, made unique (results/ is created). */
void sono_run_default_out(const sono_plan *plan, const char *tag, char *out, size_t n);

/* The results file's env: this build and host, the host's calibration (loaded into *cal
 * with *calp = cal, or *calp = NULL) and the harness's overhead per call. */
json_t *sono_run_env(sono_reg *R, sono_calibration *cal, sono_calibration **calp);

/* The results file's suite object with each op's presentation and the overrides given
 * (suite.overrides); NULL when out of memory. */
json_t *sono_run_suite_json(const sono_plan *plan, const sono_run_args *a);

#endif
