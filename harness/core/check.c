/* check.c — compares an output with the reference in double. The max-abs bound is scaled
 * by the reference's peak so it means the same at every size and amplitude: an error
 * concentrated in a few bins fails it even when the L2 norm, spread over the rest, hides
 * it. A NaN or Inf anywhere fails. */
#include "check.h"

#include <math.h>

int sono_check_output(const sono_buf *out, const sono_buf *ref, double tol, sono_check *c,
                      sono_error *err)
{
    *c = (sono_check){.tol = tol};
    long long n = sono_buf_elems(out) * (out->dtype == SONO_C64 ? 2 : 1);
    long long nr = sono_buf_elems(ref) * (ref->dtype == SONO_C128 ? 2 : 1);
    int ok_types = (out->dtype == SONO_F32 && ref->dtype == SONO_F64) ||
                   (out->dtype == SONO_C64 && ref->dtype == SONO_C128);
    if (!ok_types || n != nr)
        return sono_fail(err, SONO_EINVAL, "check: output (%lld scalars) and reference (%lld) "
                         "differ in type or size", n, nr);
    const float *o = out->data;
    const double *r = ref->data;
    double e2 = 0, r2 = 0;
    for (long long i = 0; i < n; i++) {
        if (!isfinite(o[i])) {
            c->nonfinite++;
            continue;
        }
        double d = (double)o[i] - r[i];
        e2 += d * d;
        r2 += r[i] * r[i];
        if (fabs(d) > c->max_abs)
            c->max_abs = fabs(d);
        if (fabs(r[i]) > c->ref_peak)
            c->ref_peak = fabs(r[i]);
    }
    c->rel_l2 = r2 > 0 ? sqrt(e2 / r2) : sqrt(e2);
    c->pass = c->nonfinite == 0 && c->rel_l2 <= tol &&
              c->max_abs <= tol * (c->ref_peak > 0 ? c->ref_peak : 1.0);
    return 0;
}
