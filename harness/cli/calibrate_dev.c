/* calibrate_dev.c — the device half of `harness calibrate` (issue 10): a GPU's ceilings are
 * measured by its backend's own impls, found by op and device rather than by name (the
 * one named <backend>/memcpy or <backend>/cublas first), so a new GPU backend that
 * brings a copy and an sgemm impl is calibrated with no change here. */
#include "calibrate_dev.h"

#include <string.h>

/* The impl of op in backend b for devices of kind: the one named prefer, else the first. */
static const sono_impl_entry *find_impl(const sono_reg *R, const char *op, int b,
                                        const char *kind, const char *prefer)
{
    const sono_impl_entry *first = NULL;
    for (int i = 0; i < R->nimpls; i++) {
        const sono_impl_entry *e = &R->impls[i];
        if (e->backend != b || strcmp(e->op->name, op) != 0 || strcmp(e->dev->kind, kind) != 0)
            continue;
        if (strcmp(e->impl->name, prefer) == 0)
            return e;
        if (!first)
            first = e;
    }
    return first;
}

/* The backend's "gpuN" lib for device "<kind>:N": "NVIDIA H100 ...; sm_90; ...". */
static void describe(const sono_backend *be, const sono_device *d, char *out, size_t n)
{
    const char *colon = strchr(d->name, ':');
    char key[80];
    snprintf(key, sizeof key, "gpu%s", colon ? colon + 1 : "");
    out[0] = 0;
    for (int i = 0; be && i < be->nlibs; i++)
        if (strcmp(be->libs[i][0], key) == 0)
            snprintf(out, n, "%s", be->libs[i][1]);
}

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
    describe(be, dev, d->gpu, sizeof d->gpu);
    if (!be->available) {
        snprintf(d->skip, sizeof d->skip, "%s", be->reason);
        return;
    }
    d->copy = find_impl(R, "copy", R->device_backend[i], dev->kind, "memcpy");
    d->gemm = find_impl(R, "sgemm", R->device_backend[i], dev->kind, "cublas");
    if (!d->copy || !d->gemm)
        snprintf(d->skip, sizeof d->skip, "backend %s has no %s impl for %s devices", be->name,
                 !d->copy ? "copy" : "sgemm", dev->kind);
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
