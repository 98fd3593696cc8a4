/* noise.h — what else was happening on the machine while a case was measured: the load
 * average, CPU steal, involuntary context switches, other processes' CPU time and the
 * clock frequency, as the record's noise.* metrics, so a verdict can refuse to trust a
 * figure measured on a busy machine (issue 22). */
#ifndef SONO_NOISE_H
#define SONO_NOISE_H

#include "record.h"

typedef struct sono_noise {
    double wall_ns;          /* CLOCK_MONOTONIC at begin */
    double busy_s, steal_s;  /* /proc/stat: all CPUs' non-idle and steal time */
    double own_s;            /* user + system time of this process and its children */
    long nivcsw;             /* this process's involuntary context switches */
    int have_stat;           /* /proc/stat was readable at begin */
} sono_noise;

/* Snapshot at the start of a measurement. */
void sono_noise_begin(sono_noise *n);
/* At its end: the deltas as metrics (NaN where unreadable): noise.other_cpu_pct (other
 * processes' CPU time over the wall time of all CPUs), noise.steal_pct,
 * noise.ctx_switches_invol, noise.cpu_mhz, and system.load_avg_1m (at the end). Returns 0
 * or SONO_ENOMEM when the record has no room. */
int sono_noise_end(const sono_noise *n, sono_record *rec);

/* CPU seconds of this process and its children, live or ended: what noise.other_cpu_pct
 * does not count as another process's (an impl's helper process, such as the py plugin's
 * Python worker, does the case's work). */
double sono_noise_own_cpu_s(void);

/* The 1-minute load average (/proc/loadavg); NaN where unreadable. */
double sono_load_avg(void);

/* Whether the machine was busy while rec was measured, from its noise metrics: another
 * process used more than a quarter of a CPU on average, or steal exceeded 5 %. why (n
 * bytes) says which; 0 when quiet or unknown. */
int sono_noise_busy(const sono_record *rec, char *why, size_t n);

#endif
