/* casejson.h — a case as one JSON object, so the runner can hand it to a worker process
 * that never saw the suite (calibration builds its plans in code), and the worker can
 * rebuild exactly the same case: same op, impl, params, input and settings. */
#ifndef SONO_CASEJSON_H
#define SONO_CASEJSON_H

#include <jansson.h>

#include "suite.h"

/* New reference. */
json_t *sono_case_json(const sono_plan *plan, const sono_case *c);

/* Rebuild a case into c; its input is added to plan (deduplicated, so consecutive cases
 * on one input share the worker's cached input and reference). c->p owns its strings:
 * release with sono_params_free. */
int sono_case_from_json(const json_t *j, const sono_reg *R, sono_plan *plan, sono_case *c,
                        sono_error *err);

#endif
