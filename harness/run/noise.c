/* noise.c — noise sensing around a measurement, from /proc/stat (all CPUs' busy and steal
 * time), getrusage and /proc/PID/stat (the CPU time of this process and its children,
 * and its involuntary switches), /proc/loadavg and
 * the CPU frequency, read before and after; deltas become the record's noise metrics. */
#include "noise.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

/* The aggregate "cpu" line: user nice system idle iowait irq softirq steal (jiffies). */
static int read_stat(double *busy_s, double *steal_s)
{
    FILE *f = fopen("/proc/stat", "r");
    unsigned long long v[8] = {0};
    int got = f ? fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2],
                         &v[3], &v[4], &v[5], &v[6], &v[7])
                : 0;
    if (f)
        fclose(f);
    if (got < 8)
        return -1;
    double hz = (double)sysconf(_SC_CLK_TCK);
    /* steal is time this VM's CPUs were runnable but the host ran someone else: not busy
     * here, so it is counted apart, never as another process's work */
    *busy_s = (double)(v[0] + v[1] + v[2] + v[5] + v[6]) / hz;
    *steal_s = (double)v[7] / hz;
    return 0;
}

static double ru_cpu_s(const struct rusage *ru)
{
    return (double)ru->ru_utime.tv_sec + (double)ru->ru_utime.tv_usec * 1e-6 +
           (double)ru->ru_stime.tv_sec + (double)ru->ru_stime.tv_usec * 1e-6;
}

/* User + system time of this process's live children, from /proc/PID/stat (fields 14 and
 * 15, counted after the ")" that ends the command name, which may hold spaces). */
static double live_children_cpu_s(void)
{
    DIR *d = opendir("/proc");
    if (!d)
        return 0;
    pid_t self = getpid();
    double hz = (double)sysconf(_SC_CLK_TCK), sum = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] < '1' || e->d_name[0] > '9')
            continue;
        char path[300], buf[1024];
        snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
        FILE *f = fopen(path, "r");
        size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
        if (f)
            fclose(f);
        buf[n] = 0;
        char *p = strrchr(buf, ')');
        long ppid = 0;
        unsigned long long ut = 0, st = 0;
        /* after ")": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt
         * utime stime */
        if (p && sscanf(p + 1, " %*c %ld %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
                        &ppid, &ut, &st) == 3 && ppid == (long)self)
            sum += (double)(ut + st) / hz;
    }
    closedir(d);
    return sum;
}

double sono_noise_own_cpu_s(void)
{
    struct rusage self, kids;
    getrusage(RUSAGE_SELF, &self);
    getrusage(RUSAGE_CHILDREN, &kids);
    return ru_cpu_s(&self) + ru_cpu_s(&kids) + live_children_cpu_s();
}

/* This process's CPU time and its children's: an impl's helper process (the py plugin's
 * Python worker runs the timed calls) is the case's own work, not a neighbour's. A child
 * that ends between two readings moves from the live sum to RUSAGE_CHILDREN once waited. */
static void own_usage(double *cpu_s, long *nivcsw)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    *cpu_s = sono_noise_own_cpu_s();
    *nivcsw = ru.ru_nivcsw;
}

double sono_load_avg(void)
{
    FILE *f = fopen("/proc/loadavg", "r");
    double v = NAN;
    if (f && fscanf(f, "%lf", &v) != 1)
        v = NAN;
    if (f)
        fclose(f);
    return v;
}

/* The mean of /proc/cpuinfo's "cpu MHz" lines (cpufreq's files are often absent in VMs). */
static double cpu_mhz(void)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[256];
    double sum = 0;
    int n = 0;
    while (f && fgets(line, sizeof line, f)) {
        double v;
        if (strncmp(line, "cpu MHz", 7) == 0 && sscanf(strchr(line, ':') + 1, "%lf", &v) == 1)
            sum += v, n++;
    }
    if (f)
        fclose(f);
    return n ? sum / n : NAN;
}

void sono_noise_begin(sono_noise *n)
{
    memset(n, 0, sizeof *n);
    n->have_stat = read_stat(&n->busy_s, &n->steal_s) == 0;
    own_usage(&n->own_s, &n->nivcsw);
    n->wall_ns = now_ns();
}

int sono_noise_end(const sono_noise *n, sono_record *rec)
{
    double wall_s = (now_ns() - n->wall_ns) * 1e-9, busy, steal, own;
    long nivcsw;
    own_usage(&own, &nivcsw);
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    double other = NAN, steal_pct = NAN;
    /* /proc/stat counts in ticks (10 ms): below a few ticks of wall time the difference
     * says nothing, so a short measurement gets no figure rather than a wrong one */
    if (n->have_stat && read_stat(&busy, &steal) == 0 && wall_s > 0.05 && ncpu > 0) {
        double cap = wall_s * (double)ncpu;
        other = fmax(0, (busy - n->busy_s) - (own - n->own_s)) / cap * 100.0;
        steal_pct = (steal - n->steal_s) / cap * 100.0;
    }
    int rc = 0;
    rc = rc ? rc : sono_record_metric(rec, "noise.other_cpu_pct", other, "%", SONO_BETTER_LOWER,
                                      "other processes' CPU time over all CPUs' wall time");
    rc = rc ? rc : sono_record_metric(rec, "noise.steal_pct", steal_pct, "%",
                                      SONO_BETTER_LOWER, "time the hypervisor ran others");
    rc = rc ? rc : sono_record_metric(rec, "noise.ctx_switches_invol",
                                      (double)(nivcsw - n->nivcsw), "", SONO_BETTER_LOWER,
                                      "times this process was preempted");
    rc = rc ? rc : sono_record_metric(rec, "noise.cpu_mhz", cpu_mhz(), "MHz", SONO_BETTER_NONE,
                                      "mean of /proc/cpuinfo at the end");
    rc = rc ? rc : sono_record_metric(rec, "noise.load_avg_end", sono_load_avg(), "",
                                      SONO_BETTER_LOWER, "1-minute load average at the end");
    return rc;
}

int sono_noise_busy(const sono_record *rec, char *why, size_t n)
{
    double other = sono_record_value(rec, "noise.other_cpu_pct", 0);
    double steal = sono_record_value(rec, "noise.steal_pct", 0);
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    /* a quarter of one CPU, in percent of all of them */
    double limit = ncpu > 0 ? 25.0 / (double)ncpu : 25.0;
    if (other > limit) {
        snprintf(why, n, "other processes used %.0f%% of the CPUs", other);
        return 1;
    }
    if (steal > 5.0) {
        snprintf(why, n, "steal %.0f%%", steal);
        return 1;
    }
    return 0;
}
