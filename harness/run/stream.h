/* stream.h — the streaming measurement (issue 12): an impl's push() fed chunk by chunk,
 * each push one latency sample against a deadline, as fast as possible or paced on a
 * real-time clock. Measurement only: the stages (stages.h) own the impl's state and buffers. */
#ifndef SONO_STREAM_H
#define SONO_STREAM_H

#include <jansson.h>
#include <signal.h>

#include "op.h"

/* A case's streaming settings, from the common params (harness/ops/ops.c). */
typedef struct sono_stream_cfg {
    long long chunk;    /* input steps per push */
    double chunk_ms;    /* chunk's duration: chunk / step_rate */
    int paced;          /* pace = realtime: each chunk waits for its arrival time */
    double deadline_ns; /* deadline_ms, or the chunk's duration when 0 */
    int repeat;         /* streams per case */
} sono_stream_cfg;

/* Whether p asks for streaming (chunk_ms > 0 or chunk > 0). */
int sono_stream_wanted(const sono_params *p);
/* The settings for p on an op streaming as s; SONO_EINVAL naming the parameter when the
 * chunk holds no step or is longer than the input. */
int sono_stream_cfg_get(const sono_params *p, const sono_stream_shape *s, sono_stream_cfg *cfg,
                        sono_error *err);

/* Layout helpers, untimed. check: the layout fits b (outer * steps * inner elements at
 * most), else SONO_EINTERNAL naming what (the op's input or output). poison: every step's
 * elements NaN (integers: -1), the rest untouched. copy: steps [t0, t0 + n) of every
 * outer block from src into dst (same dtype and shape). */
int sono_stream_layout_check(const sono_stream_layout *l, const sono_buf *b, const char *what,
                             sono_error *err);
void sono_stream_poison(sono_buf *b, const sono_stream_layout *l);
void sono_stream_copy(sono_buf *dst, const sono_buf *src, const sono_stream_layout *l,
                      long long t0, long long n);

/* What the streams measured. lat_ns: one push each, every stream's chunks in order;
 * wake_ns: how late the pacing clock woke for each chunk it slept for (paced only). */
typedef struct sono_stream_run {
    double *lat_ns;
    long nlat;
    double *wake_ns;
    long nwake;
    long chunks;        /* per stream */
    long misses;        /* pushes longer than the deadline */
    double push_ns;     /* all pushes of all streams */
    double audio_s;     /* all streams' audio: repeat * in.steps / step_rate */
} sono_stream_run;

/* Runs cfg->repeat streams: stream_begin (untimed), then per chunk the chunk's steps
 * copied from in into work (work was poisoned, and bound by load), push timed on
 * CLOCK_MONOTONIC. out is NaN-filled before each stream and ends with the last stream's
 * output. Errors name impl: a push that fails, or *done that decreases, passes the
 * output's steps, or has not reached them after last = 1. stop (may be NULL) is polled
 * between chunks: SONO_EINTR. On error r is freed. */
int sono_stream_measure(const sono_impl *im, const char *impl, void *st,
                        const sono_stream_shape *s, const sono_stream_cfg *cfg,
                        const sono_buf *in, sono_buf *work, sono_buf *out,
                        volatile sig_atomic_t *stop, sono_stream_run *r, sono_error *err);
void sono_stream_run_free(sono_stream_run *r);

/* Streaming output against the impl's own offline output: max |a - b|, ||a - b|| / ||b||
 * (||a - b|| when b is all zero) over real scalars, and whether the bytes are identical. */
typedef struct sono_stream_offline {
    double max_abs, rel_l2;
    int exact;
} sono_stream_offline;
void sono_stream_compare(const sono_buf *stream, const sono_buf *offline,
                         sono_stream_offline *o);

/* The record's "stream" object (new reference): settings, latency percentiles, misses,
 * algorithmic and end-to-end latency, x real time, a log-spaced histogram, the pacing
 * clock's lateness (paced) and the comparison with offline (o may be NULL). */
json_t *sono_stream_json(const sono_stream_cfg *cfg, const sono_stream_shape *s,
                         const sono_stream_run *r, const sono_stream_offline *o);

#endif
