/* calibration.h — the machine's measured ceilings (peak float32 FLOP/s from SGEMM, sustained
 * bandwidth from the STREAM triad, per thread count), kept per host in one JSON file that
 * `harness calibrate` writes and `run` reads; and the roofline bound derived from them. */
#ifndef SONO_CALIBRATION_H
#define SONO_CALIBRATION_H

#include <jansson.h>

#include "sono.h"

#define SONO_CALIBRATION_SCHEMA "sonobench.calibration/1"
#define SONO_CAL_MAX_POINTS 32
#define SONO_CAL_MAX_DEVICES 16 /* issue 10: GPUs of one host */

/* The ceilings measured with `threads` threads. */
typedef struct sono_cal_point {
    int threads;
    double gflops; /* peak float32 GFLOP/s (SGEMM) */
    double gbps;   /* sustained GB/s, 1e9 bytes/s (STREAM triad) */
    /* issue 26: the CPU's GEMM peaks by dtype (SONO_CAL_TF32..; bf16 where it has AVX-512
     * BF16), 0 where no impl computes in it; "gflops_by_dtype" in the file, as a device's */
    double dtype_gflops[4];
} sono_cal_point;

/* issue 10: the ceilings of one non-cpu device (cuda:0): peak GFLOP/s from its SGEMM,
 * GB/s from its device-to-device copy (read + write counted). */
typedef struct sono_cal_device {
    char device[64];   /* "cuda:0" */
    char name[256];    /* "NVIDIA H100 80GB HBM3" */
    char measured[32]; /* UTC, ISO 8601 */
    double gflops, gbps;
    json_t *details;   /* owned (may be NULL) */
    /* issue 26: tensor-core GEMM peaks (GFLOP/s) by dtype, SONO_CAL_TF32.. (index 0, f32,
     * is gflops above); 0 where not measured. In the file: "gflops_by_dtype": {"tf32": x,
     * "bf16": y, "f16": z}, written only with a positive figure. */
    double dtype_gflops[4];
} sono_cal_device;

/* issue 26: the dtypes of the `dtype` param (harness/ops/nndtype.h) as calibration keys. */
enum { SONO_CAL_F32 = 0, SONO_CAL_TF32 = 1, SONO_CAL_BF16 = 2, SONO_CAL_F16 = 3 };
/* "f32", "tf32", "bf16", "f16" -> its index; -1 for anything else. */
int sono_cal_dtype_index(const char *dtype);
extern const char *const sono_cal_dtype_names[4];

/* One host's entry:
 *   {"measured": UTC, "cpu": model, "threads": {"1": {"gflops", "gbps"}, ...},
 *    "details": {...},
 *    "devices": {"cuda:0": {"name", "measured", "gflops", "gbps", "details"}}}
 * under "hosts" of {"schema": SONO_CALIBRATION_SCHEMA, "hosts": {...}}. "devices" is
 * optional (files written before issue 10 have none) and written only when non-empty. */
typedef struct sono_calibration {
    char host[256];
    char measured[32]; /* UTC, ISO 8601 */
    char cpu[256];
    int npoints;
    sono_cal_point points[SONO_CAL_MAX_POINTS]; /* ascending threads, each once */
    json_t *details; /* owned (may be NULL): sizes, raw figures, library versions */
    int ndevices;    /* issue 10 */
    sono_cal_device devices[SONO_CAL_MAX_DEVICES];
} sono_calibration;

/* The file to use: $SONO_CALIBRATION if set and non-empty, else
 * <root>/results/calibration.json with root the executable's parent (sono_root_dir). */
void sono_calibration_path(char *out, size_t n);

/* issue 22: this host's FFTW wisdom file, beside the calibration file (same folder):
 * <dir>/fftw-wisdom-<host>.txt, the host name with anything but [A-Za-z0-9._-] as '_'.
 * Per host, since a plan measured on one CPU is no answer for another. */
void sono_wisdom_path(char *out, size_t n);

/* Sets $SONO_FFTW_WISDOM to sono_wisdom_path() for the plugins (sono.h's environment
 * contract), with SONO_FFTW_WISDOM_AUTO=1 to mark it derived, unless the user set it: a
 * value of theirs (no marker), or empty to turn wisdom off, wins; a derived one is derived
 * again for this host. Call before loading plugins; workers inherit it. 0, or SONO_ENOMEM
 * when the environment cannot grow (the plugins then plan without wisdom). */
int sono_wisdom_setenv(sono_error *err);

/* The entry for host. SONO_ENOTFOUND when the file does not exist or has no entry for
 * host; SONO_EPARSE naming the file (and the host) when it is not a calibration file or
 * the entry is malformed. cal is zeroed first; free it with sono_calibration_free. */
int sono_calibration_load(const char *path, const char *host, sono_calibration *cal,
                          sono_error *err);

/* Write cal as the entry for cal->host: read the file (a missing one starts empty), replace
 * that host's entry and keep every other, write a temp file beside it and rename it over,
 * so a reader sees the old or the new file, never half of one. A file that exists but is
 * not a calibration file is left alone: SONO_EPARSE naming it. */
int sono_calibration_store(const char *path, const sono_calibration *cal, sono_error *err);

void sono_calibration_free(sono_calibration *cal);

/* Set (or replace) the ceilings for a thread count, keeping points sorted. */
int sono_calibration_set(sono_calibration *cal, int threads, double gflops, double gbps);
/* issue 26: the GEMM peak in dtype k (SONO_CAL_TF32..F16) of an existing thread count's
 * point (SONO_ENOTFOUND when there is none yet; its float32 update keeps it). */
int sono_calibration_set_dtype(sono_calibration *cal, int threads, int k, double gflops);

/* issue 10: set (or replace) a device's entry by d->device; cal takes d->details.
 * SONO_EINVAL without a name, SONO_ENOMEM past SONO_CAL_MAX_DEVICES (details freed). */
int sono_calibration_set_device(sono_calibration *cal, const sono_cal_device *d);
/* The entry of device name, or NULL. */
const sono_cal_device *sono_calibration_device(const sono_calibration *cal, const char *name);

/* The host's entry as it appears in the file (new reference), for a results env; with
 * "quick": true on top when it was measured by calibrate --quick (issue 27). */
json_t *sono_calibration_json(const sono_calibration *cal);

/* Issue 27: 1 when the CPU's or a device's figures come from `calibrate --quick` (its
 * details say "quick": true): a cache-resident triad, not the machine's ceiling. */
int sono_calibration_quick(const sono_calibration *cal);

/* The roofline bound in GFLOP/s for a case of `flops` and `bytes` (its cost model) run
 * with `threads` threads: min(peak, flops/bytes * bandwidth), from the entry with the
 * largest thread count not above `threads` (a case cannot use more cores than it has
 * threads, so a ceiling measured with more threads would overstate its bound; with fewer
 * the bound is conservative). bytes <= 0: the peak alone. 0 when unknown: cal NULL,
 * flops <= 0, no entry at or below threads, or the entry lacks a positive figure. */
double sono_roofline_bound_gflops(const sono_calibration *cal, int threads, double flops,
                                  double bytes);

/* issue 10: the same bound from a device's entry (a case on cuda:1 against cuda:1's
 * SGEMM peak and copy bandwidth); 0 when cal has no entry for it or a figure is missing. */
double sono_roofline_bound_device(const sono_calibration *cal, const char *device,
                                  double flops, double bytes);

/* issue 26: the same for a case whose inputs are in `dtype` (the case's dtype param; NULL
 * or "f32": the float32 peak above): min(the device's peak in that dtype, AI x bandwidth).
 * 0 when that peak was not calibrated: a bf16 case against the float32 peak would read as
 * several times 100% of a ceiling it does not have. */
double sono_roofline_bound_device_dtype(const sono_calibration *cal, const char *device,
                                        const char *dtype, double flops, double bytes);

/* issue 26: a CPU case in `dtype`: as sono_roofline_bound_gflops with the point's peak in
 * that dtype where it is above the float32 one (bf16 with AVX-512 BF16). Elsewhere the
 * float32 peak: a CPU computes a dtype it has no instructions for in float32 (the blas and
 * naive rungs' "via fp32"), so that is its ceiling there. */
double sono_roofline_bound_gflops_dtype(const sono_calibration *cal, int threads,
                                        const char *dtype, double flops, double bytes);

#endif
