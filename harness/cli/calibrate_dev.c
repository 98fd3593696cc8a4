/* calibrate_dev.c — the device half of `harness calibrate` (issue 10): a GPU's ceilings are
 * measured by its backend's own impls, found by role (bandwidth, peak_flops) and device
 * kind rather than by name, so a new GPU backend whose impls claim those roles is
 * calibrated with no change here. */
#include "calibrate_dev.h"

#include <string.h>

static void pick_one(const sono_reg *R, int i, cal_dev *d)
{
    const sono_device *dev = R->devices[i];
    const sono_backend *be = sono_reg_device_backend(R, i);
    memset(d, 0, sizeof *d);
    d->dev = dev;
    d->figures = json_array();
    if (!be) {
        snprintf(d->skip, sizeof d->skip, "no backend owns it");
        return;
    }
    snprintf(d->gpu, sizeof d->gpu, "%s", dev->summary ? dev->summary : "");
    if (!be->available) {
        snprintf(d->skip, sizeof d->skip, "%s", be->reason);
        return;
    }
    d->copy = sono_reg_find_role_in(R, SONO_ROLE_BANDWIDTH, dev->kind, R->device_backend[i]);
    d->gemm = sono_reg_find_role_in(R, SONO_ROLE_PEAK_FLOPS, dev->kind, R->device_backend[i]);
    if (!d->copy || !d->gemm)
        snprintf(d->skip, sizeof d->skip, "backend %s has no impl with role %s for %s devices",
                 be->name, !d->copy ? SONO_ROLE_BANDWIDTH : SONO_ROLE_PEAK_FLOPS, dev->kind);
}

int cal_devs_pick(const sono_reg *R, const char *const *names, int nnames, cal_dev *out,
                  int max, int *ndev, sono_error *err)
{
    *ndev = 0;
    for (int k = 0; k < nnames; k++) {
        if (strcmp(names[k], "cpu") == 0)
            continue;
        int i = 0;
        while (i < R->ndevices && strcmp(R->devices[i]->name, names[k]) != 0)
            i++;
        if (i == R->ndevices) {
            char known[512] = "";
            size_t len = 0;
            for (int j = 0; j < R->ndevices && len < sizeof known; j++) {
                int w = snprintf(known + len, sizeof known - len, "%s%s", j ? ", " : "",
                                 R->devices[j]->name);
                len += w > 0 ? (size_t)w : 0;
            }
            return sono_fail(err, SONO_ENOTFOUND, "--device %s: no such device here "
                             "(devices: %s)", names[k], known);
        }
    }
    for (int i = 0; i < R->ndevices && *ndev < max; i++) {
        const sono_device *dev = R->devices[i];
        int wanted = nnames == 0 && strcmp(dev->kind, "cpu") != 0;
        for (int k = 0; k < nnames; k++)
            wanted |= strcmp(names[k], dev->name) == 0 && strcmp(names[k], "cpu") != 0;
        if (wanted)
            pick_one(R, i, &out[(*ndev)++]);
    }
    return 0;
}

void cal_dev_add(cal_dev *d, int is_gemm, double rate, json_t *figure)
{
    if (is_gemm && rate > d->gflops)
        d->gflops = rate;
    if (!is_gemm && rate > d->gbps)
        d->gbps = rate;
    json_array_append_new(d->figures, figure);
}

int cal_dev_entry(const cal_dev *d, const char *measured, json_t *details, sono_calibration *cal)
{
    sono_cal_device e = {.gflops = d->gflops, .gbps = d->gbps, .details = details};
    for (int k = 0; k < 4; k++) /* issue 26 */
        e.dtype_gflops[k] = d->dtype_gflops[k];
    snprintf(e.device, sizeof e.device, "%s", d->dev->name);
    /* the GPU's name is the description's first field; without one, the device's name */
    if (d->gpu[0])
        snprintf(e.name, sizeof e.name, "%.*s", (int)strcspn(d->gpu, ";"), d->gpu);
    else
        snprintf(e.name, sizeof e.name, "%s", d->dev->name);
    snprintf(e.measured, sizeof e.measured, "%s", measured);
    return sono_calibration_set_device(cal, &e);
}

void cal_devs_free(cal_dev *d, int n)
{
    for (int i = 0; i < n; i++) {
        json_decref(d[i].figures);
        d[i].figures = NULL;
    }
}
