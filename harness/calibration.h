/* calibration.h — the machine's measured ceilings (peak float32 FLOP/s from SGEMM, sustained
 * bandwidth from the STREAM triad, per thread count), kept per host in one JSON file that
 * `harness calibrate` writes and `run` reads; and the roofline bound derived from them. */
#ifndef SONO_CALIBRATION_H
#define SONO_CALIBRATION_H

#include <jansson.h>

#include "sono.h"

#define SONO_CALIBRATION_SCHEMA "sonobench.calibration/1"
#define SONO_CAL_MAX_POINTS 32

/* The ceilings measured with `threads` threads. */
typedef struct sono_cal_point {
    int threads;
    double gflops; /* peak float32 GFLOP/s (SGEMM) */
    double gbps;   /* sustained GB/s, 1e9 bytes/s (STREAM triad) */
} sono_cal_point;

/* One host's entry:
 *   {"measured": UTC, "cpu": model, "threads": {"1": {"gflops", "gbps"}, ...},
 *    "details": {...}}
 * under "hosts" of {"schema": SONO_CALIBRATION_SCHEMA, "hosts": {...}}. */
typedef struct sono_calibration {
    char host[256];
    char measured[32]; /* UTC, ISO 8601 */
    char cpu[256];
    int npoints;
    sono_cal_point points[SONO_CAL_MAX_POINTS]; /* ascending threads, each once */
    json_t *details; /* owned (may be NULL): sizes, raw figures, library versions */
} sono_calibration;

/* The file to use: $SONO_CALIBRATION if set and non-empty, else
 * <root>/results/calibration.json with root the executable's parent (sono_root_dir). */
void sono_calibration_path(char *out, size_t n);

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

/* The host's entry as it appears in the file (new reference), for a results env. */
json_t *sono_calibration_json(const sono_calibration *cal);

/* The roofline bound in GFLOP/s for a case of `flops` and `bytes` (its cost model) run
 * with `threads` threads: min(peak, flops/bytes * bandwidth), from the entry with the
 * largest thread count not above `threads` (a case cannot use more cores than it has
 * threads, so a ceiling measured with more threads would overstate its bound; with fewer
 * the bound is conservative). bytes <= 0: the peak alone. 0 when unknown: cal NULL,
 * flops <= 0, no entry at or below threads, or the entry lacks a positive figure. */
double sono_roofline_bound_gflops(const sono_calibration *cal, int threads, double flops,
                                  double bytes);

#endif
