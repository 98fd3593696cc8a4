/* record.h — the finished record of one case, typed: what ran, on what, its status, check
 * and time statistics as fixed fields, and every other figure as a generic metric that
 * whoever computed it appended. The runner hands it to the sinks (sink.h); only
 * record_json.c turns it into JSON and back (results file, worker pipe, jsonl stream). */
#ifndef SONO_RECORD_H
#define SONO_RECORD_H

#include <jansson.h>

#include "check.h"
#include "measure.h"
#include "op.h"
#include "suite.h"

/* Which way a metric improves, so compare and reports need no table of names. */
typedef enum { SONO_BETTER_NONE = 0, SONO_BETTER_LOWER = 1, SONO_BETTER_HIGHER = 2 } sono_better;

/* One figure of a case. The key is its place in the record's JSON, a dotted path
 * ("derived.gflops", "memory.peak_rss_bytes"), so older readers find values where they
 * always were; unit, direction and hint travel beside it in the record's "metrics". */
typedef struct sono_metric {
    char key[64];
    double value;    /* NaN: not available (null in JSON) */
    char unit[24];   /* "ns", "B", "GFLOP/s", "x", "%", "" */
    sono_better better;
    char hint[96];   /* one line for a person; may be empty */
} sono_metric;

#define SONO_MAX_METRICS 48

/* One repetition of a case (issue 22): a fresh worker process, fresh buffers, a fresh
 * plan; what it measured, kept in the case's record beside the figures over all of them. */
typedef struct sono_rep {
    int index;              /* 1-based */
    sono_measurement m;     /* its samples (owned) and their summary */
    double load_avg, other_cpu_pct, steal_pct, ctx_switches_invol, cpu_mhz; /* NaN: unread */
} sono_rep;

typedef struct sono_record {
    const sono_case *c;
    const char *status;   /* ok, fail, skip, error, crash, timeout, xfail, xpass (static) */
    const char *xfail_was; /* issue 27: with xfail or xpass, the status the case ended with */
    char message[1024];   /* why skipped / what failed */
    const char *device;
    const char *input;    /* the input's name */
    char input_sha256[65];
    double sample_rate;
    double audio_s;       /* seconds of audio one run() processes */
    int checked;
    sono_check check;
    int has_quality;
    sono_quality quality;
    int measured;
    sono_measurement m;   /* samples owned by the record */
    char describe[2048];
    char measured_text[1024]; /* the impl's measured() (ABI 6): run-dependent, unlike describe */
    json_t *counters;       /* hardware counters per run (counters.h), owned */
    json_t *gpu;            /* the device's case_end object (sono.h), owned; NULL: none */
    int device_json_invalid; /* case_end returned text that is not a JSON object */
    json_t *stream;         /* a streaming case's "stream" object (stream.h), owned; else NULL */
    char pin[128];          /* where the process was bound ("none", "core 1 (PU 1)") */
    char started[32];     /* UTC, ISO 8601 */
    int nmetrics;
    sono_metric metrics[SONO_MAX_METRICS];
    /* issue 22. A repetition's own record: its number, 1-based; 0: not a repetition. */
    int repetition;
    /* A case measured in repetitions: each one's figures (owned), and whether the case
     * is noisy (its repetitions disagree beyond their own spread, or the machine was
     * busy) with why; time statistics are then between repetitions. */
    int nreps;
    sono_rep *reps;
    int noisy;
    char noise_why[160];
} sono_record;

/* Set metric key (added, or replaced when present). SONO_ENOMEM past SONO_MAX_METRICS,
 * SONO_EINVAL for a key or unit that does not fit. */
int sono_record_metric(sono_record *rec, const char *key, double value, const char *unit,
                       sono_better better, const char *hint);
/* The metric, or NULL. */
const sono_metric *sono_record_get(const sono_record *rec, const char *key);
/* Its value, or dflt when absent or not available. */
double sono_record_value(const sono_record *rec, const char *key, double dflt);
/* Set status and message (msg may be NULL). */
void sono_record_status(sono_record *rec, const char *status, const char *msg);
/* The static string for a status name, or NULL when not one of the six. */
const char *sono_status_intern(const char *s);
/* Issue 27: a case the suite expects to fail (c->xfail): fail or error becomes xfail, ok
 * becomes xpass, the status it had kept in xfail_was; others are left alone. */
void sono_record_expect_fail(sono_record *rec);
/* Free what the record owns (samples, counters, gpu, stream, repetitions) and zero it. */
void sono_record_free(sono_record *rec);

/* The record as JSON, the results file's case object (new reference; NULL: no memory). */
json_t *sono_record_to_json(const sono_record *rec);
/* Rebuild a record from sono_record_to_json's object for case c (whose id it must carry)
 * and input name `input` (borrowed from the plan). Owned parts are new. */
int sono_record_from_json(const json_t *o, const sono_case *c, const char *input,
                          sono_record *rec, sono_error *err);

const char *sono_better_name(sono_better b);

/* issue 22: the case's record from its repetitions' records (reps[0..n), in order; their
 * samples move into agg, the rest of reps is left to free). Status: the first repetition
 * that did not end ok, else ok. Time: the median of the repetitions' medians, and its 95 %
 * CI from their order statistics (n < 6: their min and max), never the within-process
 * one; samples: all of them. Metrics: the median over repetitions. noisy as said above. */
int sono_record_aggregate(sono_record *reps, int n, sono_record *agg, sono_error *err);

#endif
