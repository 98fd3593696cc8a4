/* op.h — an op is a mathematical contract: its parameters and their ranges, the shapes of
 * its input and output, a float64 reference that shares no code with any impl, a cost
 * model, and the tolerance its check uses. One file per op in harness/ops/. */
#ifndef SONO_OP_H
#define SONO_OP_H

#include "sono.h"

typedef struct sono_param_spec {
    const char *name;
    sono_ptype type;
    long long imin, imax; /* SONO_PINT range, inclusive */
    double rmin, rmax;    /* SONO_PREAL range, inclusive */
    long long idflt;
    double rdflt;
    const char *sdflt;
    const char *choices;  /* SONO_PSTR: "a|b|c" */
    const char *help;
} sono_param_spec;

typedef struct sono_cost {
    double flops;         /* by the op's convention (benchFFT's 5 N log2 N for c2c) */
    double bytes;         /* input + output, each once */
} sono_cost;

typedef struct sono_op {
    const char *name;
    const char *summary;
    const sono_param_spec *params;
    int nparams;
    /* Constraints across parameters (sizes that would not fit in memory, ...). */
    int (*validate)(const sono_params *p, sono_error *err);
    /* Input and output descriptions (dtype, ndim, shape; data NULL) for these params. */
    void (*shapes)(const sono_params *p, sono_buf *in, sono_buf *out);
    /* The float64 truth: ref has out's shape with the dtype widened (C64 -> C128). */
    int (*reference)(const sono_params *p, const sono_buf *in, sono_buf *ref,
                     sono_error *err);
    void (*cost)(const sono_params *p, sono_cost *c);
    /* Largest acceptable relative L2 error for an impl whose error grows like g. */
    double (*tolerance)(const sono_params *p, sono_err_growth g);
    /* Optional: the sample rate (Hz) the op's input is at, from its params (audio ops).
     * Generators then synthesise at this rate and files are resampled to it; NULL: the
     * suite's sample_rate for generators and a file's own rate. */
    double (*rate)(const sono_params *p);
} sono_op;

/* The parameters every op takes besides its own; threads = 1 unless a suite says so. */
extern const sono_param_spec sono_common_params[];
extern const int sono_ncommon_params;

extern const sono_op *const sono_ops[]; /* NULL-terminated, in `list` order */
const sono_op *sono_op_find(const char *name);
/* The spec of a parameter of op (own or common), or NULL. */
const sono_param_spec *sono_op_param(const sono_op *op, const char *name);

/* Widened dtype of a reference buffer: F32 -> F64, C64 -> C128, others unchanged. */
sono_dtype sono_dtype_wide(sono_dtype t);

#endif
