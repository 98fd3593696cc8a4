/* instr_count.c — the worker's side of `run --metric instructions` (instr.h): counts the
 * instructions of a case's counted runs with perf_event_open, or with callgrind's client
 * requests when the runner started this worker under valgrind, and files them in the
 * record. */
#include "instr.h"

#include <errno.h>
#include <linux/perf_event.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* Debian's valgrind package ships the client-request headers; a harness built without
 * them still runs, and says why it cannot count under valgrind. */
#if defined(__has_include)
#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#define SONO_HAVE_CALLGRIND 1
#endif
#endif

static double wall_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

int sono_instr_callgrind_built(void)
{
#ifdef SONO_HAVE_CALLGRIND
    return 1;
#else
    return 0;
#endif
}

int sono_instr_on_valgrind(void)
{
#ifdef SONO_HAVE_CALLGRIND
    return RUNNING_ON_VALGRIND ? 1 : 0;
#else
    return 0;
#endif
}

int sono_instr_perf_open(char *why, size_t n)
{
    struct perf_event_attr a;
    memset(&a, 0, sizeof a);
    a.size = sizeof a;
    a.type = PERF_TYPE_HARDWARE;
    a.config = PERF_COUNT_HW_INSTRUCTIONS;
    a.disabled = 1;
    /* user space only: what the impl's code retires, not the kernel's page faults and
     * interrupts, which vary from run to run; and paranoid = 2 still allows it */
    a.exclude_kernel = 1;
    a.exclude_hv = 1;
    /* enabled vs running time tell a multiplexed (scaled, so inexact) count */
    a.read_format = PERF_FORMAT_TOTAL_TIME_ENABLED | PERF_FORMAT_TOTAL_TIME_RUNNING;
    long fd = syscall(SYS_perf_event_open, &a, 0 /* this thread */, -1, -1,
                      PERF_FLAG_FD_CLOEXEC);
    if (fd >= 0)
        return (int)fd;
    int e = errno;
    snprintf(why, n, "perf_event_open(instructions, user space): %s%s", strerror(e),
             e == ENOENT || e == EOPNOTSUPP ? " (no hardware counter: a VM without a "
                                              "virtual PMU?)"
             : e == EACCES || e == EPERM ? " (see /proc/sys/kernel/perf_event_paranoid)"
                                         : "");
    return e == EACCES || e == EPERM ? SONO_EDEVICE : SONO_EUNSUPPORTED;
}

/* The counter stays open for the worker's life: one per case would be as good, but the
 * first case's failure then says the same as every other's. */
static int perf_fd = -1;

static int perf_region(const sono_device *dev, int (*run)(void *st), void *st, long k,
                       double *ns, sono_instr_counts *out, sono_error *err)
{
    char why[256];
    if (perf_fd < 0 && (perf_fd = sono_instr_perf_open(why, sizeof why)) < 0) {
        perf_fd = -1;
        return sono_fail(err, SONO_EDEVICE, "--metric instructions: %s", why);
    }
    if (ioctl(perf_fd, PERF_EVENT_IOC_RESET, 0) != 0 ||
        ioctl(perf_fd, PERF_EVENT_IOC_ENABLE, 0) != 0)
        return sono_fail(err, SONO_EDEVICE, "--metric instructions: perf ioctl: %s",
                         strerror(errno));
    int rc = dev->time_runs(dev, run, st, k, ns, err);
    ioctl(perf_fd, PERF_EVENT_IOC_DISABLE, 0);
    if (rc)
        return rc;
    uint64_t v[3]; /* value, time enabled, time running */
    if (read(perf_fd, v, sizeof v) != (ssize_t)sizeof v)
        return sono_fail(err, SONO_EDEVICE, "--metric instructions: reading the perf counter: %s",
                         strerror(errno));
    if (v[2] < v[1]) /* the PMU was shared: perf would scale the count, no longer exact */
        return sono_fail(err, SONO_EDEVICE, "--metric instructions: the instructions counter "
                         "ran %.0f %% of the region (multiplexed with other events): not an "
                         "exact count", v[1] ? 100.0 * (double)v[2] / (double)v[1] : 0.0);
    out->instructions = (double)v[0];
    snprintf(out->event, sizeof out->event, "PERF_COUNT_HW_INSTRUCTIONS (user)");
    return 0;
}

#ifdef SONO_HAVE_CALLGRIND
/* callgrind writes dump n of this process to $SONO_CALLGRIND_DIR/callgrind.<pid>.<n>
 * (instr_plan.c names the files so); its "events:" line names the columns of
 * "summary:", the totals since CALLGRIND_ZERO_STATS. The file is removed once read. */
static int read_dump(int n, sono_instr_counts *out, sono_error *err)
{
    const char *dir = getenv("SONO_CALLGRIND_DIR");
    char path[4096], line[1024], names[512] = "";
    if (!dir || !*dir)
        return sono_fail(err, SONO_EDEVICE, "--metric instructions: SONO_CALLGRIND_DIR is "
                         "not set: this worker was not started by `harness run --metric "
                         "instructions`");
    snprintf(path, sizeof path, "%s/callgrind.%ld.%d", dir, (long)getpid(), n);
    FILE *f = fopen(path, "r");
    if (!f)
        return sono_fail(err, SONO_EDEVICE, "--metric instructions: callgrind's dump %s: %s "
                         "(is the worker under --tool=callgrind?)", path, strerror(errno));
    int found = 0;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "events:", 7) == 0)
            snprintf(names, sizeof names, "%s", line + 7);
        else if (strncmp(line, "summary:", 8) == 0 && names[0]) {
            char *ns = NULL, *vs = NULL;
            char *name = strtok_r(names, " \t\n", &ns);
            char *val = strtok_r(line + 8, " \t\n", &vs);
            double ir = -1, d1 = 0, ll = 0;
            int cache = 0;
            for (; name && val; name = strtok_r(NULL, " \t\n", &ns),
                                val = strtok_r(NULL, " \t\n", &vs)) {
                double x = strtod(val, NULL);
                if (strcmp(name, "Ir") == 0)
                    ir = x;
                else if (strcmp(name, "D1mr") == 0 || strcmp(name, "D1mw") == 0)
                    d1 += x, cache = 1;
                else if (strcmp(name, "ILmr") == 0 || strcmp(name, "DLmr") == 0 ||
                         strcmp(name, "DLmw") == 0)
                    ll += x, cache = 1;
            }
            if (ir >= 0) {
                out->instructions = ir;
                out->has_cache = cache;
                out->d1_misses = d1;
                out->ll_misses = ll;
                found = 1;
            }
            break;
        }
    }
    fclose(f);
    unlink(path);
    if (!found)
        return sono_fail(err, SONO_EDEVICE, "--metric instructions: no Ir summary in "
                         "callgrind's dump %s", path);
    snprintf(out->event, sizeof out->event, "callgrind Ir");
    return 0;
}
#endif

/* The counted region under callgrind: instrumentation is already on (the warm-up ran
 * instrumented, so the simulated caches hold what a hot run finds); collection is on only
 * around the k runs, and the dump's totals start at the ZERO_STATS just before. */
static int valgrind_region(const sono_device *dev, int (*run)(void *st), void *st, long k,
                           const char *label, double *ns, sono_instr_counts *out,
                           sono_error *err)
{
#ifdef SONO_HAVE_CALLGRIND
    static int dumps; /* this process's dump count: the dump file's suffix */
    CALLGRIND_ZERO_STATS;
    CALLGRIND_TOGGLE_COLLECT;
    int rc = dev->time_runs(dev, run, st, k, ns, err);
    CALLGRIND_TOGGLE_COLLECT;
    CALLGRIND_DUMP_STATS_AT(label);
    dumps++;
    int drc = read_dump(dumps, out, err);
    return rc ? rc : drc;
#else
    (void)dev, (void)run, (void)st, (void)k, (void)label, (void)ns, (void)out;
    return sono_fail(err, SONO_EDEVICE, "--metric instructions: this harness was built "
                     "without valgrind/callgrind.h (install valgrind and rebuild)");
#endif
}

int sono_instr_measure(int source, const sono_device *dev, int (*run)(void *st), void *st,
                       sono_before_sample before, void *before_ctx, const char *label,
                       volatile sig_atomic_t *stop, sono_measurement *m,
                       sono_instr_counts *out, sono_error *err)
{
    const long k = SONO_INSTR_RUNS;
    double t0 = wall_s(), ns = 0;
    int rc;
    *m = (sono_measurement){0};
    memset(out, 0, sizeof *out);
    out->source = source;
    out->runs = k;
    if (source == SONO_INSTR_VALGRIND && !sono_instr_on_valgrind())
        return sono_fail(err, SONO_EDEVICE, "--metric instructions: the case asks for "
                         "valgrind's counts but this worker does not run under valgrind");
    if (source != SONO_INSTR_VALGRIND && source != SONO_INSTR_PERF)
        return sono_fail(err, SONO_EINVAL, "--metric instructions: unknown source %d", source);
    if (!(m->samples = malloc(sizeof *m->samples)))
        return sono_fail(err, SONO_ENOMEM, "no memory for one sample");
#ifdef SONO_HAVE_CALLGRIND
    if (source == SONO_INSTR_VALGRIND)
        CALLGRIND_START_INSTRUMENTATION;
#endif
    /* one warm-up run: lazy plans, first-touch allocations and cold caches are not the
     * steady state a count should describe */
    rc = dev->time_runs(dev, run, st, 1, &ns, err);
    m->warmup_runs = 1;
    m->warmup_ns = ns;
    if (!rc && stop && *stop)
        rc = sono_fail(err, SONO_EINTR, "interrupted during warm-up");
    if (!rc) {
        m->cold = before != NULL;
        if (before)
            before(before_ctx);
        rc = source == SONO_INSTR_PERF
                 ? perf_region(dev, run, st, k, &ns, out, err)
                 : valgrind_region(dev, run, st, k, label, &ns, out, err);
    }
#ifdef SONO_HAVE_CALLGRIND
    if (source == SONO_INSTR_VALGRIND) /* the next case's setup runs at valgrind's base pace */
        CALLGRIND_STOP_INSTRUMENTATION;
#endif
    if (!rc && stop && *stop)
        rc = sono_fail(err, SONO_EINTR, "interrupted");
    if (rc) {
        sono_measurement_free(m);
        return rc;
    }
    m->samples[m->nsamples++] = ns / (double)k;
    m->k = k;
    sono_summarize(m->samples, 1, &m->s);
    m->stop = "instructions"; /* one sample of the counted runs: not a timing to compare */
    m->converged = 0;
    m->elapsed_s = wall_s() - t0;
    m->short_samples = ns < 100.0 * dev->resolution_ns;
    return 0;
}

int sono_instr_record(const sono_instr_counts *k, sono_record *rec, json_t **counters,
                      sono_error *err)
{
    double runs = k->runs > 0 ? (double)k->runs : 1.0;
    int vg = k->source == SONO_INSTR_VALGRIND;
    int rc = sono_record_metric(rec, "counts.instructions", k->instructions / runs, "instr",
                                SONO_BETTER_LOWER,
                                vg ? "instructions per run, counted by valgrind (callgrind Ir)"
                                   : "user-space instructions retired per run (perf_event)");
    if (!rc)
        rc = sono_record_metric(rec, "counts.runs", runs, "", SONO_BETTER_NONE,
                                "runs counted, after one warm-up run");
    if (!rc && k->has_cache)
        rc = sono_record_metric(rec, "counts.d1_misses", k->d1_misses / runs, "miss",
                                SONO_BETTER_LOWER, "simulated L1 data misses per run "
                                "(callgrind; 32 KiB 8-way, 64 B lines)");
    if (!rc && k->has_cache)
        rc = sono_record_metric(rec, "counts.ll_misses", k->ll_misses / runs, "miss",
                                SONO_BETTER_LOWER, "simulated last-level misses per run "
                                "(callgrind; 8 MiB 16-way, 64 B lines)");
    if (rc)
        return sono_fail(err, rc, "record of %s: no room for the counts", rec->c->id);
    const char *no = "not counted with --metric instructions";
    json_decref(*counters);
    *counters = json_pack("{s:n, s:f, s:n, s:{s:s}, s:{s:s, s:s}, s:s}", "cycles",
                          "instructions", k->instructions / runs, "llc_misses", "events",
                          "instructions", k->event, "unavailable", "cycles", no,
                          "llc_misses", no, "source", vg ? "valgrind" : "perf");
    return *counters ? 0 : sono_fail(err, SONO_ENOMEM, "out of memory");
}
