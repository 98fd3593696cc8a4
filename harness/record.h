/* record.h — the finished record of one case: what ran, on what, its status, check and
 * measurement. The runner fills it; the sinks (results JSON, table) only read it. */
#ifndef SONO_RECORD_H
#define SONO_RECORD_H

#include <jansson.h>

#include "check.h"
#include "measure.h"
#include "op.h"
#include "suite.h"

typedef struct sono_record {
    const sono_case *c;
    const char *status;   /* ok, fail, skip, error, crash, timeout */
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
    double setup_ns, load_ns, store_ns;
    double load_bytes, store_bytes;
    sono_cost cost;
    double gflops, gbps, rtf; /* from the median; rtf = time / audio duration */
    char describe[2048];
    json_t *counters;       /* hardware counters per run (counters.h), owned */
    json_t *gpu;            /* the device's case_end object (sono.h), owned; NULL: none */
    int device_json_invalid; /* case_end returned text that is not a JSON object */
    json_t *stream;         /* a streaming case's "stream" object (stream.h), owned; else NULL */
    double workspace_bytes; /* what the impl reported from setup; < 0: not reported */
    double peak_rss_bytes;  /* the worker's peak resident set over the case */
    char pin[128];          /* where the process was bound ("none", "core 1 (PU 1)") */
    char started[32];     /* UTC, ISO 8601 */
} sono_record;

#endif
