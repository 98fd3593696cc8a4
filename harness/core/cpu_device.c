/* cpu_device.c — the "cpu" device: times a batch of runs with CLOCK_MONOTONIC. Its
 * resolution is measured (smallest non-zero step seen between back-to-back reads), not
 * taken from clock_getres, which reports 1 ns whatever the clock source can really do. */
#include <time.h>

#include "registry.h"

static double now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static double measure_resolution(void)
{
    double best = 1e9;
    for (int i = 0; i < 1000; i++) {
        double a = now_ns(), b;
        while ((b = now_ns()) == a)
            ;
        if (b - a < best)
            best = b - a;
    }
    return best;
}

/* The mean cost of one clock read, over a burst long enough to dwarf the resolution. */
static double measure_overhead(void)
{
    const int n = 100000;
    double t0 = now_ns();
    for (int i = 0; i < n; i++)
        (void)now_ns();
    return (now_ns() - t0) / n;
}

static int time_runs(const sono_device *d, int (*run)(void *st), void *st, long k,
                     double *ns, sono_error *err)
{
    (void)d;
    double t0 = now_ns();
    for (long i = 0; i < k; i++) {
        int rc = run(st);
        if (rc)
            return sono_fail(err, rc, "run() returned %d on call %ld of %ld", rc, i + 1, k);
    }
    *ns = now_ns() - t0;
    return 0;
}

const sono_device *sono_cpu_device(void)
{
    static sono_device cpu = {
        .abi = SONO_ABI_VERSION, .name = "cpu", .kind = "cpu", .time_runs = time_runs};
    if (cpu.resolution_ns == 0) {
        cpu.resolution_ns = measure_resolution();
        cpu.overhead_ns = measure_overhead();
    }
    return &cpu;
}
