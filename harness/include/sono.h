/* sono.h — the one header a sonobench backend includes: devices, parameters, buffers,
 * the impl vtable and the registry a plugin fills from its one exported function,
 * sono_plugin_init. Grow structs only by appending; bump SONO_ABI_VERSION on any change
 * that moves a field, so a stale plugin is refused by name instead of misread.
 * ABI 3 appended sono_device's case_begin and case_end. Appending alone would not need a
 * bump, but the harness reads those fields from every device: a plugin built against
 * ABI 2 has a shorter struct, and reading past its end would call garbage. Every plugin
 * is rebuilt with the harness, so the bump costs nothing and a stale one is refused.
 * ABI 4 appended sono_impl's stream_begin and push (streaming), for the same reason.
 * ABI 5 appended sono_impl's role and sono_device's summary and index, so the core finds
 * its calibration and overhead impls by role and lists GPUs from their devices, naming
 * no impl and parsing no "gpuN" lib; bumped because the harness reads them from every
 * plugin's structs. */
#ifndef SONO_H
#define SONO_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#define SONO_ABI_VERSION 6

/* ---- errors ---------------------------------------------------------------------- */
enum {
    SONO_OK = 0,
    SONO_EINVAL = -1,       /* bad argument or parameter */
    SONO_ENOMEM = -2,       /* allocation failed */
    SONO_EIO = -3,          /* a file could not be read or written */
    SONO_EUNSUPPORTED = -4, /* these parameters are not supported */
    SONO_EDEVICE = -5,      /* the device or its library failed */
    SONO_EPARSE = -6,       /* malformed input file */
    SONO_ECHECK = -7,       /* output failed its check */
    SONO_EABI = -8,         /* plugin built for another ABI */
    SONO_ENOTFOUND = -9,    /* no such op, impl, input or file */
    SONO_EINTR = -10,       /* interrupted by the user */
    SONO_EINTERNAL = -11    /* an invariant broke: a bug */
};

typedef struct sono_error {
    int code;       /* the SONO_E* returned with it */
    char msg[1024]; /* what went wrong, for a person: name the file, the value, the limit */
} sono_error;

/* Fill err (may be NULL) and return code, so `return sono_fail(err, SONO_EINVAL, ...)`. */
static inline int sono_fail(sono_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static inline int sono_fail(sono_error *err, int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        err->code = code;
    }
    return code;
}

/* ---- parameters ------------------------------------------------------------------ */
/* 32 since ABI 4: streaming added five common params, and conv1d has twelve of its own. */
#define SONO_MAX_PARAMS 32

typedef enum { SONO_PINT = 1, SONO_PREAL = 2, SONO_PSTR = 3 } sono_ptype;

typedef struct sono_param {
    const char *name;
    sono_ptype type;
    long long i; /* SONO_PINT */
    double r;    /* SONO_PREAL */
    const char *s; /* SONO_PSTR; owned by whoever built the sono_params */
} sono_param;

/* A case's parameters: the op's own (n, batch, ...) plus the common ones (threads). */
typedef struct sono_params {
    int count;
    sono_param v[SONO_MAX_PARAMS];
} sono_params;

static inline const sono_param *sono_param_find(const sono_params *p, const char *name)
{
    for (int i = 0; i < p->count; i++)
        if (strcmp(p->v[i].name, name) == 0)
            return &p->v[i];
    return NULL;
}
static inline long long sono_param_int(const sono_params *p, const char *name, long long dflt)
{
    const sono_param *v = sono_param_find(p, name);
    return v && v->type == SONO_PINT ? v->i : dflt;
}
static inline double sono_param_real(const sono_params *p, const char *name, double dflt)
{
    const sono_param *v = sono_param_find(p, name);
    if (!v)
        return dflt;
    return v->type == SONO_PREAL ? v->r : v->type == SONO_PINT ? (double)v->i : dflt;
}
static inline const char *sono_param_str(const sono_params *p, const char *name,
                                         const char *dflt)
{
    const sono_param *v = sono_param_find(p, name);
    return v && v->type == SONO_PSTR ? v->s : dflt;
}

/* ---- buffers --------------------------------------------------------------------- */
typedef enum {
    SONO_F32 = 1,  /* float */
    SONO_C64 = 2,  /* complex float: interleaved re, im */
    SONO_F64 = 3,  /* double */
    SONO_C128 = 4, /* complex double: interleaved re, im */
    SONO_I16 = 5,
    SONO_I32 = 6
} sono_dtype;

#define SONO_MAX_DIMS 4

/* A host buffer. The core allocates inputs and outputs (64-byte aligned) and owns them.
 * `in` stays alive and unchanged from load until teardown, so a CPU impl may bind its
 * pointer instead of copying (run must never write to it); `out` is valid only during
 * store, which writes the result into it. */
typedef struct sono_buf {
    sono_dtype dtype;
    int ndim;
    long long shape[SONO_MAX_DIMS];
    void *data;
    size_t nbytes;
} sono_buf;

static inline size_t sono_dtype_size(sono_dtype t)
{
    switch (t) {
    case SONO_F32: return 4;
    case SONO_C64: return 8;
    case SONO_F64: return 8;
    case SONO_C128: return 16;
    case SONO_I16: return 2;
    case SONO_I32: return 4;
    }
    return 0;
}
static inline long long sono_buf_elems(const sono_buf *b)
{
    long long n = 1;
    for (int i = 0; i < b->ndim; i++)
        n *= b->shape[i];
    return n;
}

/* ---- devices --------------------------------------------------------------------- */
typedef struct sono_device sono_device;
struct sono_device {
    int abi;            /* SONO_ABI_VERSION */
    const char *name;   /* "cpu", "cuda:0": goes into case records */
    const char *kind;   /* "cpu", "cuda" */
    double resolution_ns; /* the clock's resolution; samples are made >= 100x this */
    void *ctx;          /* the device's own state */
    /* Time k back-to-back calls of run(st) on this device's clock and store the elapsed
     * nanoseconds of all k in *ns. A GPU device records events around the loop and
     * synchronises; run() itself only enqueues. Returns 0 or the first run() error. */
    int (*time_runs)(const sono_device *d, int (*run)(void *st), void *st, long k,
                     double *ns, sono_error *err);
    /* ABI 2: what one reading of the clock costs (ns), measured at start-up. */
    double overhead_ns;
    /* ABI 3. Optional: called before the case's setup with its id, so a device can name
     * its trace ranges (NVTX) after the case. The id is valid until case_end. */
    void (*case_begin)(const sono_device *d, const char *case_id);
    /* ABI 3. Optional: called after the measurement (and describe) of the case begun
     * last, before teardown; only when its setup succeeded (the impl state still lives)
     * and the case was not interrupted. Return 0 with a JSON object in json (n bytes, NUL-ended) to
     * attach it to the record as "gpu"; anything else attaches nothing. Text that is not
     * a JSON object is dropped and the record says "device_json_invalid": true. */
    int (*case_end)(const sono_device *d, char *json, size_t n);
    /* ABI 5. Optional: what the device is, its name first and then what bounds its speed,
     * ';'-separated ("NVIDIA H200; sm_90; 132 SMs; 141 GiB"). A device with one is listed
     * in the results' env.gpus as {index, name (the text before the first ';'), summary};
     * NULL for devices that are not separate hardware (the cpu, a Python worker). */
    const char *summary;
    /* ABI 5. The device's ordinal among its backend's devices (cuda:N: N), for env.gpus. */
    int index;
};

/* ---- impls ----------------------------------------------------------------------- */
/* How an impl's rounding error grows with problem size: the op picks its tolerance. */
typedef enum {
    SONO_ERR_LOG = 0,   /* fast algorithms: ~ eps * log2 N (FFT, pairwise sums) */
    SONO_ERR_LINEAR = 1 /* direct summation: ~ eps * N (the O(N^2) DFT) */
} sono_err_growth;

typedef struct sono_impl {
    int abi;                /* SONO_ABI_VERSION: checked when registered */
    const char *op;         /* "fft", "rfft", "nop", ... */
    const char *name;       /* "radix2"; the full name is "<backend>/<name>" */
    const char *summary;    /* one line for `harness list` */
    const char *device;     /* device name it runs on: "cpu", "cuda:0" */
    sono_err_growth growth;
    const void *ctx;        /* passed to every call, so one function serves variants */

    /* 0 when these parameters are supported; else write a short reason to why. Pure:
     * allocates nothing, touches no device (like FFTW's `applicable`). */
    int (*supports)(const void *ctx, const sono_params *p, char *why, size_t n);
    /* Make the plan, allocate the workspace. *st is owned by the impl until teardown. */
    int (*setup)(const void *ctx, const sono_params *p, void **st, sono_error *err);
    int (*load)(void *st, const sono_buf *in, sono_error *err);  /* host -> device */
    int (*run)(void *st);                                        /* the timed kernel */
    int (*store)(void *st, sono_buf *out, sono_error *err);      /* device -> host */
    void (*teardown)(void *st);
    /* Optional: what the impl chose (FFTW's plan, thread count), into the record. */
    int (*describe)(void *st, char *buf, size_t n);
    /* ABI 2. Optional: bytes the impl allocated in setup beyond the core's input and
     * output buffers (plans, tables, work and staging buffers), for the record. */
    size_t (*workspace)(void *st);
    /* ABI 4. Optional, streaming, for ops whose stream_shape (harness/ops/op.h) says how their
     * input and output divide into time steps. stream_begin resets the state for a new
     * stream (it may be called again after a stream ended). The input bound by load fills
     * as the stream goes: when push(t0, n) is called, input steps [0, t0 + n) hold the
     * signal and later steps hold NaN (the core poisons them, so an impl that looks ahead
     * fails its check). Setup, load and stream_begin are not timed per chunk. */
    int (*stream_begin)(void *st, sono_error *err);
    /* Consume input steps [t0, t0 + n), n >= 1, and write every output step that is
     * complete now into out (host memory, the shape of store's output; steps from the
     * previous *done up to the new one). last = 1 on the final chunk: flush what the state
     * still holds, so that after it every output step is written. *done = the output steps
     * complete since stream_begin (never decreasing). When push returns, its output is in
     * out: a GPU impl uploads the chunk, computes, downloads and synchronises inside push.
     * One push is one latency sample. */
    int (*push)(void *st, long long t0, long long n, int last, sono_buf *out,
                long long *done, sono_error *err);
    /* ABI 5. Optional: a job the harness itself gives this impl, one of the SONO_ROLE_*
     * below, so the core finds it by role and device kind instead of by name. NULL: none.
     * At most one impl per role and device kind should claim it; the first wins. */
    const char *role;
    /* ABI 6. Optional: what the impl measured about itself during the case (a pipeline's
     * per-stage times, its bottleneck), as text like describe's "key: value; ...". Kept
     * apart from describe, which must be the same for the same choices in every run (a
     * changed describe reads "plan-changed" in compare); this goes to the record's
     * "measured" and an op's describe_field may name a field of it. */
    int (*measured)(void *st, char *buf, size_t n);
} sono_impl;

/* Roles (sono_impl.role): what `harness calibrate` and the overhead measurement run. */
#define SONO_ROLE_BANDWIDTH "bandwidth"   /* memory bandwidth: STREAM triad, a device copy */
#define SONO_ROLE_PEAK_FLOPS "peak_flops" /* peak FLOP/s: an SGEMM */
#define SONO_ROLE_OVERHEAD "overhead"     /* an empty run(): the harness's cost per call */
/* issue 24: a PESQ scorer of op metric.pesq (in [2, n] reference and degraded, out the
 * MOS-LQO), which the judge stage asks for codec quality */
#define SONO_ROLE_PESQ "pesq"

/* ---- registry -------------------------------------------------------------------- */
/* Handed to sono_plugin_init. Function pointers, not symbols, so a plugin links nothing
 * of the harness (SQLite's sqlite3_api_routines). */
typedef struct sono_registry sono_registry;
struct sono_registry {
    int abi;           /* the harness's SONO_ABI_VERSION */
    const char *backend; /* this plugin's name: the stem of its .so */
    void *core;        /* the harness's own state */
    /* Register an impl; the struct must outlive the run (use static tables). */
    int (*add_impl)(sono_registry *r, const sono_impl *impl);
    /* Register a device this plugin provides (the core provides "cpu"). */
    int (*add_device)(sono_registry *r, const sono_device *dev);
    /* The whole backend cannot run here (no device, library too old): its impls stay
     * listed and their cases are skipped with this reason. */
    void (*set_unavailable)(sono_registry *r, const char *reason);
    /* Name and version of a library the backend uses, for the results' environment. */
    void (*add_lib)(sono_registry *r, const char *name, const char *version);
};

/* The one symbol a plugin exports. Return 0, or a SONO_E* code with err filled. */
typedef int (*sono_plugin_init_fn)(sono_registry *r, sono_error *err);
int sono_plugin_init(sono_registry *r, sono_error *err);

#define SONO_EXPORT __attribute__((visibility("default")))

/* ---- environment ----------------------------------------------------------------- */
/* What the harness puts in the environment before it loads any plugin: a contract in
 * variables, not in the ABI, because a plugin cannot call the harness. Workers and
 * child processes inherit it.
 *   SONO_FFTW_WISDOM  issue 22: this host's FFTW wisdom file, beside the calibration
 *                     file: <dir of $SONO_CALIBRATION or results/calibration.json>/
 *                     fftw-wisdom-<host>.txt. A plugin planning with FFTW imports it
 *                     before planning and adds what it measured (impls/fftw/wisdom.c:
 *                     exclusive flock on "<file>.lock", a temp file renamed over), so
 *                     later processes get the same plans. Set by the user, it is kept;
 *                     set empty, wisdom is off. A file that does not parse is ignored
 *                     with a warning. The harness marks a value it derived with
 *                     SONO_FFTW_WISDOM_AUTO=1 and derives it again in every process, so
 *                     a job that inherits it on another host gets its own host's file. */

#endif
