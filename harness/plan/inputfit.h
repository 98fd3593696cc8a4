/* inputfit.h — before anything runs: does a file or directory input hold the samples a
 * case needs? Short: the case is skipped (or exec refused) with a reason that names the
 * parameter to change; longer: a note that only its start is used. */
#ifndef SONO_INPUTFIT_H
#define SONO_INPUTFIT_H

#include "input.h"
#include "op.h"

/* 1 when spec is a file or directory too short for the case (why: the reason, naming
 * the parameter: "--param seconds=1.02" when exec, "seconds = 1.02" in a suite), 0 when
 * it fits or cannot be told before running (generators, ops that build their input);
 * note (may be empty): the file is longer than the case uses, or is zero-padded (logmel's
 * pad_or_trim). < 0: the file cannot be read (err). */
int sono_input_fit(const sono_op *op, const sono_params *p, const sono_input_spec *spec,
                   int exec, char *why, size_t nwhy, char *note, size_t nnote,
                   sono_error *err);

#endif
