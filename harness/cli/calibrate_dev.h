/* calibrate_dev.h — the device half of `harness calibrate` (issue 10): which non-cpu
 * devices to measure and with which impls (their backend's bandwidth and peak_flops
 * roles), and the
 * device's entry in the calibration file built from its cases' figures. */
#ifndef SONO_CALIBRATE_DEV_H
#define SONO_CALIBRATE_DEV_H

#include <jansson.h>

#include "calibration.h"
#include "registry.h"

typedef struct cal_dev {
    const sono_device *dev;
    const sono_impl_entry *copy, *gemm; /* the backend's own, by role and device kind */
    char skip[512];  /* non-empty: not measured, and why */
    char fail[1024]; /* non-empty: a case of it did not pass */
    char gpu[256];   /* the device's own description (sono_device.summary), or "" */
    double gflops, gbps;
    double dtype_gflops[4]; /* issue 26: the peak_flops impl's GEMM in tf32, bf16, f16 */
    json_t *figures; /* one object per case */
} cal_dev;

/* The devices to measure: every registered device whose kind is not "cpu", or only those
 * named (names may hold "cpu", which is not a device here). Sets *ndev; a name that is no
 * registered device is SONO_ENOTFOUND naming it and the devices there are. A device whose
 * backend is unavailable, or has no impl with either role for it, gets its skip reason. */
int cal_devs_pick(const sono_reg *R, const char *const *names, int nnames, cal_dev *out,
                  int max, int *ndev, sono_error *err);

/* Fold one case's figure into d: the best GB/s of the copies, GFLOP/s of the SGEMMs. */
void cal_dev_add(cal_dev *d, int is_gemm, double rate, json_t *figure);

/* d's entry for the file (d must have been measured without failure); takes details. */
int cal_dev_entry(const cal_dev *d, const char *measured, json_t *details, sono_calibration *cal);

void cal_devs_free(cal_dev *d, int n);

#endif
