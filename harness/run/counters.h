/* counters.h — hardware counters (cycles, instructions, last-level-cache misses) around a
 * code region, through PAPI. An event the machine cannot count is reported unavailable
 * with PAPI's reason, never as zero, so a record never shows a made-up count. */
#ifndef SONO_COUNTERS_H
#define SONO_COUNTERS_H

#include <stddef.h>

/* jansson's own typedef, repeated (legal in C11) so this header need not include it. */
typedef struct json_t json_t;

/* The events, in this order in sono_counter_values.v[]. */
enum { SONO_CTR_CYCLES = 0, SONO_CTR_INSTRUCTIONS = 1, SONO_CTR_LLC_MISSES = 2, SONO_CTR_N = 3 };

typedef struct sono_counter_value {
    const char *name;  /* "cycles", "instructions", "llc_misses": the JSON keys */
    const char *event; /* PAPI preset counted: "PAPI_TOT_CYC", ...; llc_misses is
                          "PAPI_L3_TCM", or "PAPI_L2_TCM" where no L3 event exists;
                          NULL when unavailable */
    long long value;   /* the count over the region; meaningful only when available */
    int available;
    char reason[256];  /* why not available (PAPI's message); "" when available */
} sono_counter_value;

typedef struct sono_counter_values {
    sono_counter_value v[SONO_CTR_N];
} sono_counter_values;

typedef struct sono_counters sono_counters;

/* Initialise PAPI (once per process; a forked child reuses what it inherited) and make
 * an event set with every event that can be added. Returns 0 when at least one event is
 * counted (the others are marked unavailable in each stop's values); else a negative
 * SONO_E* with the reasons and sono_counters_explain's line in why (may be NULL), and
 * *c = NULL. Counts cover the calling thread in user space (PAPI's default domain):
 * threads an impl started earlier are not counted, so the record should say how many
 * threads ran. Not thread-safe: open, use and close from the thread that runs the
 * region. */
int sono_counters_open(sono_counters **c, char *why, size_t n);

/* Reset and start counting. 0, or SONO_EDEVICE if PAPI refused (e.g. already started). */
int sono_counters_start(sono_counters *c);

/* Stop counting and fill *v: every event, available or not. If PAPI's stop fails, every
 * entry is marked unavailable with that reason and SONO_EDEVICE is returned. */
int sono_counters_stop(sono_counters *c, sono_counter_values *v);

/* Stop if running, free the event set. NULL is a no-op. */
void sono_counters_close(sono_counters *c);

/* Fill *v with every event unavailable for one reason: what a record holds when open
 * failed, so the JSON still has its shape. */
void sono_counters_unavailable(sono_counter_values *v, const char *reason);

/* The record's "counters" object for a region that ran `runs` times:
 *   {"cycles": per-run count or null, "instructions": ..., "llc_misses": ...,
 *    "events": {"cycles": "PAPI_TOT_CYC", ...},          (the available ones)
 *    "unavailable": {"llc_misses": "reason", ...}}       (always present, may be {})
 * New reference for the caller; NULL if v is NULL, runs is not > 0, or out of memory. */
json_t *sono_counters_json(const sono_counter_values *v, double runs);

/* One line on why counters cannot work here, for the record when open fails: PAPI's
 * initialisation result, the perf_event component's disabled reason,
 * /proc/sys/kernel/perf_event_paranoid and what it allows, and whether a hypervisor is
 * in the way. Writes at most n bytes to buf (NUL-terminated if n > 0); never fails. */
void sono_counters_explain(char *buf, size_t n);

#endif
