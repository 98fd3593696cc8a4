/* op.h — an op is a mathematical contract: its parameters and their ranges, the shapes of
 * its input and output, a float64 reference that shares no code with any impl, a cost
 * model, and the tolerance its check uses. One file per op in harness/ops/. */
#ifndef SONO_OP_H
#define SONO_OP_H

#include "sono.h"

typedef struct sono_param_spec {
    const char *name;
    sono_ptype type;
    long long imin, imax; /* SONO_PINT range, inclusive */
    double rmin, rmax;    /* SONO_PREAL range, inclusive */
    long long idflt;
    double rdflt;
    const char *sdflt;
    const char *choices;  /* SONO_PSTR: "a|b|c" */
    const char *help;
    /* Added after case ids with this op were published: the param appears in a case id
     * only when it is not at its default, so ids of older results files still match (as
     * the common params always do). */
    int late;
} sono_param_spec;

typedef struct sono_cost {
    double flops;         /* by the op's convention (benchFFT's 5 N log2 N for c2c) */
    double bytes;         /* input + output, each once */
} sono_cost;

/* Codec quality of one output against its input; only the fields in `has` are meaningful,
 * and `note` says why the others are absent ("random weights: not meaningful"). */
enum { SONO_Q_BITRATE = 1, SONO_Q_SISDR = 2, SONO_Q_MEL = 4, SONO_Q_MSTFT = 8, SONO_Q_DIST = 16 };
/* issue 14, resamplers on a sine sweep: stop-band attenuation and passband ripple */
enum { SONO_Q_STOPBAND = 32, SONO_Q_RIPPLE = 64 };
/* issue 24, speech codecs: STOI and ESTOI (harness/core/stoi.c), PESQ (the ITU code, py) */
enum { SONO_Q_STOI = 128, SONO_Q_ESTOI = 256, SONO_Q_PESQ = 512 };
typedef struct sono_quality {
    int has;
    double bitrate_bps; /* achieved bits per second of audio */
    double si_sdr_db;   /* scale-invariant SDR of the output against the input */
    double mel_l1;      /* mean |log-mel(out) - log-mel(in)| */
    double mstft;       /* multi-scale STFT distance */
    double distortion;  /* quantisers: ||x - decode(encode(x))||^2 / ||x||^2 */
    char note[200];
    double stopband_db; /* issue 14, resample: passband power over aliased/leaked power */
    double ripple_db;   /* issue 14, resample: max - min passband gain */
    double stoi, estoi; /* issue 24: intelligibility of out against in, 0..1 */
    double pesq;        /* issue 24: PESQ MOS-LQO (P.862.2 wideband, or P.862 narrowband) */
    char pesq_mode[4];  /* "wb" or "nb": which PESQ was asked for */
    char speech_note[200]; /* why STOI or PESQ is absent ("pesq not installed") */
} sono_quality;

/* How a streaming op's buffer divides into time steps: `outer` blocks of `steps * inner`
 * elements (of the buffer's dtype); step t of block b is the `inner` elements at
 * (b * steps + t) * inner. A mono signal: {1, samples, 1}; codes [nq, frames]: {nq, frames,
 * 1}; a spectrogram [frames, bins]: {1, frames, bins}; q, k, v [3, heads, seq, d]:
 * {3 * heads, seq, d}. Elements outside every step (a trailing byte count) are not. */
typedef struct sono_stream_layout {
    long long outer, steps, inner;
} sono_stream_layout;

typedef struct sono_stream_shape {
    sono_stream_layout in, out;
    double step_rate;      /* input steps per second of audio: the sample rate, a frame rate */
    double algo_latency_s; /* from the op's definition, before any processing: the frame or
                              block an output step waits for, plus look-ahead */
} sono_stream_shape;

struct sono_check;
struct sono_input_spec;

/* How a person judges an op's speed: the figure a table or report leads with. The op
 * says it, so the core and the report need no list of op names to decide. */
typedef enum {
    SONO_MERIT_GFLOPS = 0,      /* the default: throughput by the cost model (GFLOP/s, GB/s) */
    SONO_MERIT_XRT = 1,         /* x real time: seconds of audio per second of compute */
    SONO_MERIT_AUDIO_HOURS = 2, /* input pipelines (decode, resample, loading): hours of
                                   audio per second */
    SONO_MERIT_CODEC = 3        /* codecs: achieved kbit/s and SI-SDR beside the time */
} sono_merit;

/* "gflops", "x_realtime", "audio_hours", "codec"; "?" for a value outside the enum. */
const char *sono_merit_name(sono_merit m);

typedef struct sono_op {
    const char *name;
    const char *summary;
    const sono_param_spec *params;
    int nparams;
    /* Constraints across parameters (sizes that would not fit in memory, ...). */
    int (*validate)(const sono_params *p, sono_error *err);
    /* Input and output descriptions (dtype, ndim, shape; data NULL) for these params. */
    void (*shapes)(const sono_params *p, sono_buf *in, sono_buf *out);
    /* The float64 truth: ref has out's shape with the dtype widened (C64 -> C128). */
    int (*reference)(const sono_params *p, const sono_buf *in, sono_buf *ref,
                     sono_error *err);
    void (*cost)(const sono_params *p, sono_cost *c);
    /* Largest acceptable relative L2 error for an impl whose error grows like g. */
    double (*tolerance)(const sono_params *p, sono_err_growth g);
    /* Optional: the sample rate (Hz) the op's input is at, from its params (audio ops).
     * Generators then synthesise at this rate and files are resampled to it; NULL: the
     * suite's sample_rate for generators and a file's own rate. */
    double (*rate)(const sono_params *p);
    /* Optional: seconds of audio one run() stands for, for x real time: vectors at a
     * frame rate, a layer's length at its rate. 0: not audio (no x real time). NULL: the
     * input's elements / the rate, right when the input is the signal. */
    double (*audio_seconds)(const sono_params *p);
    /* Optional: build the input (allocated from shapes()' description) from the suite's
     * input spec, for ops whose input is not the signal itself: codebooks packed with
     * vectors, codes for a decoder. rate: op->rate's, or the suite's. NULL: the signal. */
    int (*input)(const sono_params *p, const struct sono_input_spec *spec, double rate,
                 sono_buf *in, sono_error *err);
    /* Optional: a check of the op's own where relative L2 does not fit (indices, equal up
     * to ties); fills c (pass, tol, and whatever applies). NULL: relative L2 and max abs
     * (check.h). */
    int (*check)(const sono_params *p, const sono_buf *in, const sono_buf *out,
                 const sono_buf *ref, double tol, struct sono_check *c, sono_error *err);
    /* Optional: codec quality of out against in (bitrate, SI-SDR, mel and multi-scale STFT
     * distances), recorded and shown beside the timing. */
    int (*quality)(const sono_params *p, const sono_buf *in, const sono_buf *out,
                   sono_quality *q, sono_error *err);
    /* Optional: the op streams (its output steps depend on input steps up to a bounded
     * latency, so impls with push can feed it chunk by chunk); fills s for these params.
     * NULL: the op has no streaming mode. */
    int (*stream_shape)(const sono_params *p, sono_stream_shape *s, sono_error *err);

    /* Presentation: how tables and the report show the op, so neither names ops. */
    /* The parameter that is the x axis of its figures (NULL: the report picks the
     * numeric parameter that varies most among the cases). */
    const char *size_param;
    /* How that parameter reads on an axis, with its unit (NULL: the report's label for
     * the parameter's name). */
    const char *size_label;
    sono_merit merit; /* zero-initialised: SONO_MERIT_GFLOPS */
    /* A "key: value;" field of the impl's measured text (else its describe) shown as a
     * column of its own ("bottleneck": the slowest stage of an input pipeline); NULL: none. */
    const char *describe_field;
} sono_op;

/* The parameters every op takes besides its own; threads = 1 unless a suite says so. */
extern const sono_param_spec sono_common_params[];
extern const int sono_ncommon_params;

extern const sono_op *const sono_ops[]; /* NULL-terminated, in `list` order */
const sono_op *sono_op_find(const char *name);
/* The spec of a parameter of op (own or common), or NULL. */
const sono_param_spec *sono_op_param(const sono_op *op, const char *name);

struct sono_plan;
/* {"<op>": {"size_param", "size_label", "merit", "describe_field"}, ...} for every op a
 * case of plan uses, in the plan's order; NULL members are JSON null. NULL when out of
 * memory. The results file carries it (as suite.ops) so the report reads each op's
 * presentation from the file instead of knowing ops by name. */
struct json_t; /* jansson's, so callers need not include it here */
struct json_t *sono_ops_presentation_json(const struct sono_plan *plan);

/* Widened dtype of a reference buffer: F32 -> F64, C64 -> C128, others unchanged. */
sono_dtype sono_dtype_wide(sono_dtype t);

#endif
