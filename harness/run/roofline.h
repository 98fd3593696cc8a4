/* roofline.h — percent of the roofline as a record's metrics: the attained rate against
 * min(peak, arithmetic intensity x bandwidth) from this host's calibration. */
#ifndef SONO_ROOFLINE_H
#define SONO_ROOFLINE_H

#include "calibration.h"
#include "record.h"

/* Adds derived.roofline_bound_gflops and derived.roofline_pct when the record has a rate
 * and the calibration a bound for the case's device (a GPU's own entry) or thread count. */
void sono_derive_roofline(sono_record *rec, const sono_case *c, const sono_calibration *cal);

#endif
