/* stage_measure.c — a case's measure stage: the bookkeeping around either mode (peak RSS
 * reset before, read after; the device's case_begin), the modes themselves in
 * measure_offline.c and measure_stream.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "casedev.h"
#include "noise.h"
#include "stages.h"

/* Peak RSS per case in a worker that serves many: Linux resets VmHWM to the current RSS
 * when "5" is written to clear_refs (since 4.0), so the peak read after the case is the
 * case's own (plus what the worker already held). */
static void reset_peak_rss(void)
{
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (f) {
        fputs("5", f);
        fclose(f);
    }
}

static double peak_rss_bytes(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    double kb = 0;
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "VmHWM:", 6) == 0)
            kb = strtod(line + 6, NULL);
    if (f)
        fclose(f);
    return kb * 1024.0;
}

int sono_stage_measure(sono_case_run *r, sono_record *rec, sono_error *err)
{
    /* the load as the measurement starts: a busy neighbour shows in the record beside the
     * figure it may have slowed */
    int mrc = sono_record_metric(rec, "system.load_avg_1m", sono_load_avg(), "",
                                 SONO_BETTER_LOWER,
                                 "runnable tasks, 1-minute average, as the measurement began");
    if (mrc)
        return sono_fail(err, mrc, "record of %s: no room for metric system.load_avg_1m",
                         r->c->id);
    reset_peak_rss();
    const sono_device *dev = sono_case_device(r->c);
    if (dev->case_begin) /* its case_end comes from the lifecycle, before teardown */
        dev->case_begin(dev, r->c->id);
    sono_noise noise;
    sono_noise_begin(&noise);
    int rc = r->streaming ? sono_measure_stream(r, rec, err) : sono_measure_offline(r, rec, err);
    if (rc != SONO_EINTR)
        r->fig.peak_rss_bytes = peak_rss_bytes();
    if (rc != SONO_EINTR && (mrc = sono_noise_end(&noise, rec)) && !rc)
        rc = sono_fail(err, mrc, "record of %s: no room for the noise metrics", r->c->id);
    return rc;
}
