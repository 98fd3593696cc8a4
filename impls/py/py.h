/* py.h — the py backend's parts: where its Python package lives and which interpreter
 * runs it (interp.c), the Python worker process and its line-JSON protocol (proc.c,
 * PROTOCOL.md), shared-memory buffers (shm.c); plugin.c ties them to sono_impl. */
#ifndef SONO_PY_H
#define SONO_PY_H

#include <jansson.h>
#include <sys/types.h>

#include "sono.h"

/* The interpreter chosen and what it has (probe.py's answer). */
typedef struct py_probe {
    int found;                /* an interpreter with numpy was found */
    char python[1024];        /* how it is run: SONO_PYTHON, or a PATH entry's python3 */
    char why[1024];           /* !found: every candidate and why it was refused */
    char version[64];         /* Python's */
    char numpy[64], torch[64], torchaudio[64], threadpoolctl[64]; /* "" when absent */
    char torch_cuda[32];      /* torch.version.cuda; "" for a CPU-only build */
    char transformers[64];    /* issue 11: EncodecModel's peer; "" when absent */
    char torchcodec[64];      /* torchaudio 2.9+ loads audio through it; "" when absent */
    char pesq[64];            /* issue 24: the pesq package (PESQ scorer); "" when absent */
    double clock_resolution_ns, clock_overhead_ns; /* of time.perf_counter_ns */
    char ctc_decoder[128];    /* issue 23: flashlight for torchaudio's ctc_decoder; "" none */
} py_probe;

/* The folder holding the sonopy package, found from this plugin's own path
 * (build/plugins/py.so -> impls/py; PREFIX/lib/sonobench/plugins -> share/sonobench/py). */
int py_find_package(char *dir, size_t n, sono_error *err);

/* SONO_PYTHON if set, else the first python3 on PATH, then /usr/bin/python3, whose probe
 * finds numpy. The answer is kept in the environment (SONO_PY_PROBE) so the harness's
 * workers, started from this process, reuse it instead of probing again. */
void py_probe_find(const char *pkgdir, py_probe *pr);

/* Fills argv-style env: ours with PYTHONPATH led by pkgdir and the BLAS/OpenMP pools
 * at 1 thread unless the environment says otherwise. Free with py_env_free. */
char **py_env_new(const char *pkgdir);
void py_env_free(char **env);

/* ---- the worker process ----------------------------------------------------------- */
typedef struct py_proc {
    pid_t pid;       /* 0: not running */
    int to, from;    /* its stdin (requests), its stdout (replies) */
    char *buf;
    size_t len, cap;
    unsigned gen;    /* bumped at every start: states of a dead worker know they are */
    double start_ms; /* how long the last start took (Python and numpy imports) */
} py_proc;

/* Starts `python -B -m module` in pkgdir's environment and checks its hello reply. */
int py_proc_start(py_proc *p, const char *python, const char *pkgdir, const char *module,
                  sono_error *err);
/* Sends req (a JSON object; the reference is taken) and reads the reply. 0 with *reply
 * (ok: true; caller decrefs); else a SONO_E* with err saying what the worker said (its
 * exception's last line), or how it died; a dead or garbled worker is reaped. */
int py_proc_call(py_proc *p, json_t *req, json_t **reply, sono_error *err);
/* Asks it to quit, gives it a second, kills it; reaps. */
void py_proc_stop(py_proc *p);

/* ---- shared memory --------------------------------------------------------------- */
typedef struct py_shm {
    char name[64]; /* "/sono-py-<pid>-<n>" */
    void *data;
    size_t nbytes;
} py_shm;

/* Creates and maps a fresh object of nbytes (> 0); py_shm_free unmaps and unlinks. */
int py_shm_create(py_shm *s, size_t nbytes, sono_error *err);
void py_shm_free(py_shm *s);

const char *py_dtype_name(sono_dtype t); /* "f32", "c64", ...: PROTOCOL.md's names */

#endif
