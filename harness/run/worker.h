/* worker.h — the worker processes that run cases for the runner, so a case that crashes,
 * hangs or runs out of memory costs only itself. A worker is the harness executable
 * started as `harness __worker`; it serves many cases of one device (a GPU context is
 * made once, not per case) and is replaced after a crash.
 *
 * Protocol, one JSON object per line: the runner writes a case (casejson.h) to the
 * worker's fd 3; the worker answers with the case's record on fd 4. End of input on fd 3
 * ends the worker. The worker's stdout goes to stderr, so a chatty library cannot
 * corrupt the protocol or the tables. */
#ifndef SONO_WORKER_H
#define SONO_WORKER_H

#include <jansson.h>
#include <signal.h>
#include <sys/types.h>

#include "registry.h"

typedef struct sono_worker {
    pid_t pid;     /* 0: not running */
    int to, from;  /* our ends of its fd 3 and fd 4 */
    char *buf;     /* partial reply */
    size_t len, cap;
} sono_worker;

/* DEAD: the worker was gone before it took the case (it died idle): not the case's fault,
 * the caller may start a new worker and send the case again. */
enum { SONO_WORKER_OK = 0, SONO_WORKER_CRASH = 1, SONO_WORKER_TIMEOUT = 2, SONO_WORKER_DEAD = 3 };

/* Starts `exe __worker`; env: VAR=VALUE entries (NULL-ended) that replace or add to ours
 * in its environment (harness ab: one side's SONO_TEST_DELAY_PCT), or NULL for ours. */
int sono_worker_spawn(sono_worker *w, const char *exe, const char *const *env,
                      sono_error *err);

/* Send one case and wait for its record, at most timeout_s seconds, polling stop.
 * Returns SONO_WORKER_OK with *rec (new reference), SONO_WORKER_CRASH or
 * SONO_WORKER_TIMEOUT with why filled (the worker is gone then), SONO_EINTR when stop was
 * raised (the worker is killed), or a negative SONO_E* on a protocol error. */
int sono_worker_call(sono_worker *w, const char *line, double timeout_s,
                     volatile sig_atomic_t *stop, json_t **rec, char *why, size_t n);

/* Close its input and reap it (it exits on end of input); kill it if it lingers. */
void sono_worker_stop(sono_worker *w);

/* The worker's side: serve cases from fd 3 until end of input. */
int sono_worker_main(sono_reg *R);

#endif
