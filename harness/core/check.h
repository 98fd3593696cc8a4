/* check.h — an output against its float64 reference: relative L2 error, max abs error,
 * non-finite values, and the verdict against the op's tolerance. */
#ifndef SONO_CHECK_H
#define SONO_CHECK_H

#include "sono.h"

typedef struct sono_check {
    double rel_l2;   /* ||out - ref|| / ||ref||  (||out - ref|| when ref is all zero) */
    double max_abs;  /* max |out_i - ref_i| over real scalars */
    double ref_peak; /* max |ref_i| */
    double tol;      /* bound on rel_l2; max_abs must stay within tol * ref_peak */
    long long nonfinite;
    int pass;
    /* Filled by ops with a check of their own (op->check): indices that differ from the
     * reference's, and one line on what was compared (e.g. the distortion ratio). */
    long long mismatches;
    int has_mismatches;
    char detail[200];
} sono_check;

/* out: F32/C64 (float scalars); ref: the widened F64/C128 with as many scalars.
 * SONO_EINVAL when the shapes disagree. */
int sono_check_output(const sono_buf *out, const sono_buf *ref, double tol, sono_check *c,
                      sono_error *err);

#endif
