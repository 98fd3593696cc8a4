/* params.h — parameter values as text: parsing against an op's specs (ranges, choices),
 * value lists with ranges for suites ("16..65536*2, 480"), defaults, and the canonical
 * "n=1024,batch=64" text that case ids are made of. */
#ifndef SONO_PARAMS_H
#define SONO_PARAMS_H

#include "op.h"

/* One value. Strings are strdup'ed into out->s; free with sono_param_free. */
int sono_param_parse(const sono_param_spec *spec, const char *text, sono_param *out,
                     sono_error *err);
void sono_param_free(sono_param *v);

/* A comma-separated list of values; integers may be ranges "a..b" (step 1), "a..b+s"
 * (arithmetic) or "a..b*f" (geometric). *vals is malloc'ed (free each, then the array).
 * At most 4096 values. */
int sono_param_list(const sono_param_spec *spec, const char *text, sono_param **vals,
                    int *count, sono_error *err);

/* Issue 27: `seconds = all` (a suite, run's --param, exec's --param) is the whole file
 * input. Until the plan fixes the case's input and resolves it (sono_input_resolve_all,
 * inputfit.h) the value is this sentinel, below every seconds param's minimum, which
 * sono_param_list gives for "all" and sono_params_format writes back as "seconds=all";
 * ops never see it. */
#define SONO_SECONDS_ALL (-1.0)
/* 1 when spec takes "all" (a real parameter named seconds). */
int sono_param_takes_all(const sono_param_spec *spec);
/* The seconds parameter of p when it still holds SONO_SECONDS_ALL, else NULL. */
sono_param *sono_params_all(sono_params *p);

/* Append the defaults of every parameter of op (own and common) missing from p. */
void sono_params_defaults(const sono_op *op, sono_params *p);

/* "n=1024,batch=64": the op's own parameters in spec order, then common parameters that
 * differ from their defaults, so adding a common parameter leaves old ids unchanged. */
void sono_params_format(const sono_op *op, const sono_params *p, char *buf, size_t n);

/* Deep copy (strings duplicated) and release. */
int sono_params_copy(sono_params *dst, const sono_params *src);
void sono_params_free(sono_params *p);

#endif
