/* op_params.h — how the dtype tests build an op's params: its defaults with name=value
 * pairs parsed over them by the op's own specs (a pair it refuses fails the test, naming
 * it), and near() for the tolerance formulas. */
#ifndef TESTS_OP_PARAMS_H
#define TESTS_OP_PARAMS_H

#include <math.h>
#include <string.h>

#include "op.h"
#include "params.h"

static inline void op_near(double got, double want, double eps)
{
    if (fabs(got - want) > eps)
        fail_msg("%.17g, want %.17g", got, want);
}

/* Sets (or replaces) name = text in p, parsed by op's spec of name. */
static inline void op_param_set(const sono_op *op, sono_params *p, const char *name,
                                const char *text)
{
    sono_error err = {0};
    int i = 0;
    while (i < p->count && strcmp(p->v[i].name, name) != 0)
        i++;
    if (i == p->count)
        p->count++;
    else
        sono_param_free(&p->v[i]);
    const sono_param_spec *s = sono_op_param(op, name);
    if (!s)
        fail_msg("%s has no param %s", op->name, name);
    if (sono_param_parse(s, text, &p->v[i], &err))
        fail_msg("%s=%s: %s", name, text, err.msg);
}

/* op's defaults with kv's pairs (NULL-terminated; kv may be NULL) set over them. */
static inline sono_params op_params(const sono_op *op, const char *const *kv)
{
    sono_params p = {0};
    sono_params_defaults(op, &p);
    for (int i = 0; kv && kv[i]; i += 2)
        op_param_set(op, &p, kv[i], kv[i + 1]);
    return p;
}

#endif
