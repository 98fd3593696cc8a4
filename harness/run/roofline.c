/* roofline.c — the roofline figures of a case, derived on the runner's side where this
 * host's calibration is loaded; a case on a non-cpu device is judged against that
 * device's own entry (issue 10). */
#include "roofline.h"

#include "casedev.h"

void sono_derive_roofline(sono_record *rec, const sono_case *c, const sono_calibration *cal)
{
    double gflops = sono_record_value(rec, "derived.gflops", 0);
    double flops = sono_record_value(rec, "cost.flops", 0);
    double bytes = sono_record_value(rec, "cost.bytes", 0);
    int threads = (int)sono_param_int(&c->p, "threads", 1);
    const sono_device *dev = c->impl ? sono_case_device(c) : NULL;
    /* issue 26: a case in a reduced dtype against that dtype's peak: a device's tensor-core
     * GEMM, the CPU's own (AVX-512 BF16) where above its float32 one */
    const char *dtype = sono_param_str(&c->p, "dtype", "f32");
    double bound = dev && !sono_device_on_cpu(dev)
                       ? sono_roofline_bound_device_dtype(cal, dev->name, dtype, flops, bytes)
                       : sono_roofline_bound_gflops_dtype(cal, threads, dtype, flops, bytes);
    /* issue 26: a GPU case's bytes moved per second against the device's calibrated copy
     * bandwidth, so a memory-bound kernel reads as a fraction of HBM (cold rows: the L2
     * flushed before each sample, so the bytes really came from HBM) */
    const sono_cal_device *cd = dev && !sono_device_on_cpu(dev)
                                    ? sono_calibration_device(cal, dev->name) : NULL;
    double gbps = sono_record_value(rec, "derived.gbps", 0);
    if (cd && cd->gbps > 0 && gbps > 0)
        sono_record_metric(rec, "derived.bw_pct", 100.0 * gbps / cd->gbps, "%",
                           SONO_BETTER_HIGHER, "bytes moved / time against the calibrated "
                           "device copy bandwidth");
    if (!sono_record_get(rec, "derived.gflops") || bound <= 0 || gflops <= 0)
        return;
    sono_record_metric(rec, "derived.roofline_bound_gflops", bound, "GFLOP/s",
                       SONO_BETTER_NONE, "min(peak, AI x bandwidth) from calibration");
    sono_record_metric(rec, "derived.roofline_pct", 100.0 * gflops / bound, "%",
                       SONO_BETTER_HIGHER, "attained / roofline bound");
}
