/* instr.h — `harness run --metric instructions` (issue 22): each cpu case is measured by
 * the user-space instructions its run() retires, an exact count for CI where time is
 * noise. Counted by perf_event_open where the machine has a PMU, else by running the
 * worker under valgrind's callgrind, which counts only the client-requested region.
 *
 * The rule, the same for both sources: one warm-up run (not counted; under callgrind it
 * warms the simulated caches), then SONO_INSTR_RUNS runs counted as one region around the
 * device's time_runs. The record gets:
 *   counts.instructions  instructions per run ("instr", lower is better)
 *   counts.runs          runs counted
 *   counts.d1_misses     callgrind only: simulated L1 data misses (read + write) per run
 *   counts.ll_misses     callgrind only: simulated last-level misses (instr + data) per run
 *   counters             {"instructions": per run, "source": "perf" | "valgrind",
 *                         "events": {...}, "unavailable": {...}} (counters.h's shape)
 * and time_ns holds that region's one sample with stop "instructions": never a timing to
 * compare (under valgrind it is the simulator's pace). */
#ifndef SONO_INSTR_H
#define SONO_INSTR_H

#include <signal.h>
#include <stddef.h>

#include "measure.h"
#include "record.h"
#include "suite.h"

/* Runs counted per case, after one warm-up run: one, so valgrind's slowdown (50-100x
 * with the cache simulator) costs one run; an instruction count needs no repeats. */
#define SONO_INSTR_RUNS 1

/* Where the counts come from; cfg.instructions holds one of these (0: time, the usual). */
enum { SONO_INSTR_OFF = 0, SONO_INSTR_PERF = 1, SONO_INSTR_VALGRIND = 2 };

/* Under valgrind the worker is this much slower outside the counted region too (plugins,
 * input, reference run uninstrumented, about 5-10x): case timeouts are scaled by it. */
#define SONO_INSTR_VALGRIND_TIMEOUT_X 20.0

typedef struct sono_instr_counts {
    int source;            /* SONO_INSTR_PERF or SONO_INSTR_VALGRIND */
    long runs;             /* runs counted */
    double instructions;   /* over all counted runs */
    int has_cache;         /* the two below are filled (callgrind's cache simulator) */
    double d1_misses, ll_misses;
    char event[64];        /* what was counted, for counters.events.instructions */
} sono_instr_counts;

/* ---- the runner's side (instr_plan.c) ------------------------------------------------ */

/* Which source works here: SONO_INSTR_PERF when this process can open a user-space
 * instructions counter, else SONO_INSTR_VALGRIND (why: perf's reason) when `valgrind`
 * ($SONO_VALGRIND) runs and this harness can be counted by it, else a negative SONO_E*
 * with both reasons in why. SONO_INSTR_SOURCE=perf or valgrind tries only that one. */
int sono_instr_probe(char *why, size_t n);

/* Prepare a run with --metric instructions from source: every case gets cfg.instructions
 * = source (its timeout scaled under valgrind); a case that cannot be counted (a device
 * whose kind is not "cpu": GPUs, the Python worker; a streaming case) gets its skip
 * reason; under valgrind the workers are started through it (sono_instr_worker_wrap),
 * exe being the harness executable, with callgrind's files in a temp folder that
 * sono_instr_finish removes (exe NULL: the cases only, for --dry-run). 0 or a negative
 * SONO_E*. */
int sono_instr_prepare(sono_plan *plan, int source, const char *exe, sono_error *err);

/* After the run: valgrind's own messages that are not the cache simulator's notes go to
 * stderr, the temp folder is removed and the workers are started plainly again. */
void sono_instr_finish(void);

/* NULL, or the argv (NULL-terminated) that starts a worker under valgrind; worker.c's
 * spawn execs it instead of the harness itself. */
char *const *sono_instr_worker_wrap(void);

/* ---- the worker's side (instr_count.c) ----------------------------------------------- */

/* A user-space instructions counter of this thread, disabled: its fd, or a negative
 * SONO_E* with the reason (errno's, and what it likely means) in why. */
int sono_instr_perf_open(char *why, size_t n);
/* Whether this harness was built with valgrind's client requests (valgrind/callgrind.h). */
int sono_instr_callgrind_built(void);
/* Whether this process runs under valgrind (always 0 when not built with them). */
int sono_instr_on_valgrind(void);

/* One warm-up run (before() first when cold), then SONO_INSTR_RUNS runs counted with
 * source into *out, their time as m's one sample (stop "instructions"). label names the
 * region in callgrind's dump. SONO_EDEVICE when the counter cannot be used, with why. */
int sono_instr_measure(int source, const sono_device *dev, int (*run)(void *st), void *st,
                       sono_before_sample before, void *before_ctx, const char *label,
                       volatile sig_atomic_t *stop, sono_measurement *m,
                       sono_instr_counts *out, sono_error *err);

/* The counts as rec's metrics (counts.*) and its "counters" object (new reference in
 * *counters). SONO_ENOMEM when the record has no room. */
int sono_instr_record(const sono_instr_counts *k, sono_record *rec, json_t **counters,
                      sono_error *err);

#endif
