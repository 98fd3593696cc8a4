/* stage_derive.c — a measured case's figures as its record's metrics: plan and transfer
 * times, bytes moved, memory, the op's cost (its cost model) and the rates from the median
 * (a streaming case's from all its pushes, per stream). */
#include <math.h>

#include "stages.h"

/* The metrics go in one after another; the first that does not fit is the error, so a
 * full record is never a silently shorter one. */
typedef struct put_ctx {
    sono_record *rec;
    int rc;
    const char *key;
} put_ctx;

static void put(put_ctx *p, const char *key, double v, const char *unit, sono_better better,
                const char *hint)
{
    int rc = sono_record_metric(p->rec, key, v, unit, better, hint);
    if (rc && !p->rc) {
        p->rc = rc;
        p->key = key;
    }
}

/* gflops, gbps and rtf from the median (flop per ns = GFLOP/s), or for a stream per stream
 * rather than per chunk: x real time from all its pushes. */
static void rates(const sono_cost *cost, int streaming, const sono_record *rec, double *gflops,
                  double *gbps, double *rtf)
{
    double med = rec->m.s.median;
    *gflops = *gbps = *rtf = 0;
    if (streaming && rec->stream) {
        double per_stream = json_number_value(json_object_get(rec->stream, "xrt"));
        double push_ns = per_stream > 0 ? rec->audio_s / per_stream * 1e9 : 0;
        *gflops = push_ns > 0 ? cost->flops / push_ns : 0;
        *gbps = push_ns > 0 ? cost->bytes / push_ns : 0;
        *rtf = per_stream > 0 ? 1.0 / per_stream : 0;
    } else if (med > 0) {
        *gflops = cost->flops / med;
        *gbps = cost->bytes / med;
        *rtf = rec->audio_s > 0 ? med * 1e-9 / rec->audio_s : 0;
    }
}

int sono_stage_derive(const sono_case *c, int streaming, const sono_stage_figures *f,
                      sono_record *rec, sono_error *err)
{
    sono_cost cost = {0};
    c->op->cost(&c->p, &cost);
    double gflops, gbps, rtf;
    rates(&cost, streaming, rec, &gflops, &gbps, &rtf);
    const sono_lifecycle_figures *l = &f->lc;
    put_ctx p = {.rec = rec};
    put(&p, "memory.peak_rss_bytes", f->peak_rss_bytes, "B", SONO_BETTER_LOWER,
        "the worker's peak resident set over the case");
    put(&p, "memory.workspace_bytes", l->workspace_bytes >= 0 ? l->workspace_bytes : NAN, "B",
        SONO_BETTER_LOWER, "what the impl allocated beyond in and out");
    put(&p, "setup_ns", l->setup_ns, "ns", SONO_BETTER_LOWER, "plan time");
    put(&p, "load_ns", l->load_ns, "ns", SONO_BETTER_LOWER, "host to device");
    put(&p, "store_ns", l->store_ns, "ns", SONO_BETTER_LOWER, "device to host");
    put(&p, "transfer_bytes.load", l->load_bytes, "B", SONO_BETTER_NONE, NULL);
    put(&p, "transfer_bytes.store", l->store_bytes, "B", SONO_BETTER_NONE, NULL);
    put(&p, "cost.flops", cost.flops, "flop", SONO_BETTER_NONE, "per run, by the op's cost model");
    put(&p, "cost.bytes", cost.bytes, "B", SONO_BETTER_NONE, "input + output, each once");
    put(&p, "derived.gflops", gflops, "GFLOP/s", SONO_BETTER_HIGHER, NULL);
    put(&p, "derived.gbps", gbps, "GB/s", SONO_BETTER_HIGHER, NULL);
    put(&p, "derived.rtf", rtf, "", SONO_BETTER_LOWER, "time / audio duration");
    put(&p, "derived.x_realtime", rtf > 0 ? 1.0 / rtf : 0.0, "x", SONO_BETTER_HIGHER,
        "audio duration / time");
    /* issue 24: a codec table compares algorithmic latency on every row, offline ones too:
     * it is the definition's (what a stream must wait for), so any row of an op that can
     * stream has it; an op that refuses to stream these params (S clips) has none. */
    sono_stream_shape ss = {0};
    sono_error e2 = {0};
    if (c->op->stream_shape && c->op->stream_shape(&c->p, &ss, &e2) == 0)
        put(&p, "derived.algo_latency_ms", ss.algo_latency_s * 1e3, "ms", SONO_BETTER_LOWER,
            "from the op's definition (what its streaming mode waits for), not measured");
    if (p.rc)
        return sono_fail(err, p.rc, "derive: metric %s does not fit the record (%d of %d)",
                         p.key, rec->nmetrics, SONO_MAX_METRICS);
    return 0;
}
