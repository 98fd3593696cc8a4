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

/* Issue 27: `seconds = all` in p (SONO_SECONDS_ALL) becomes the length of the file input,
 * or of a directory input's files together (they are concatenated), divided by the batch
 * where the op has one (its clips are consecutive pieces), rounded down to hundredths so
 * it fits, as the hints above are. 0: resolved, or p did not ask for all; 1: spec is
 * generated (noise, speech, sine...), which has no length (p unchanged); < 0: the file
 * cannot be read, or its length is outside the param's range (err). note (may be empty):
 * what all resolved to, for stderr and the record. */
int sono_input_resolve_all(const sono_op *op, sono_params *p, const sono_input_spec *spec,
                           char *note, size_t nnote, sono_error *err);

#endif
