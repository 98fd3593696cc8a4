/* execute.h — one case, in this process, to its record. Used by the worker process that
 * serves cases for the runner, and by the runner itself when it runs without workers. */
#ifndef SONO_EXECUTE_H
#define SONO_EXECUTE_H

#include <jansson.h>
#include <signal.h>

#include "record.h"
#include "registry.h"
#include "suite.h"

/* What carries over between cases run by one process: the last input and reference
 * (each impl of a (params, input) runs back to back, so each is made once). */
typedef struct sono_executor sono_executor;

sono_executor *sono_executor_new(void);
void sono_executor_free(sono_executor *x);

/* Runs c into rec (zeroed first; release with sono_record_free). Returns 0 whatever
 * the case's status, or SONO_EINTR when stop was raised during the case (the case is
 * abandoned, rec holds nothing). */
int sono_execute(sono_executor *x, const sono_plan *plan, const sono_case *c,
                 volatile sig_atomic_t *stop, sono_record *rec);

/* The harness's overhead per run() call on the cpu, measured with cpu/nop (0 when the
 * cpu backend is unavailable). */
double sono_measure_overhead(const sono_reg *R);

#endif
