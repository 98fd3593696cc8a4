/* speechq.h — speech quality of a codec's output against its input, beside metrics.h's
 * signal distances: STOI and ESTOI (stoi.h, own C) and PESQ (the ITU reference code,
 * asked of whatever scorer the run layer installed: the py worker's role "pesq" impl). */
#ifndef SONO_SPEECHQ_H
#define SONO_SPEECHQ_H

#include "op.h"

/* Scores ref against deg (n samples at rate 8000 or 16000; mode "nb" or "wb") into *mos;
 * on failure returns a SONO_E* code with the reason in err ("pesq not installed"). */
typedef int (*sono_pesq_fn)(void *ctx, const float *ref, const float *deg, long long n,
                            double rate, const char *mode, double *mos, sono_error *err);

/* Installs the PESQ scorer for this process (NULL: none; PESQ is then absent, and the
 * note says why_none). */
void sono_speechq_set_pesq(sono_pesq_fn fn, void *ctx, const char *why_none);

/* STOI, ESTOI and PESQ of out against in (n samples at rate), on both signals at 16 kHz
 * (resampled with the float64 sinc of resample64.h when rate differs), or at 8 kHz for an
 * 8 kHz signal (PESQ narrowband there, wideband at 16 kHz). What cannot be computed is
 * left out of q->has and said in q->speech_note; only bad input is an error (SONO_EINVAL:
 * non-finite samples, rate not positive) or no memory. */
int sono_quality_speech(const float *in, const float *out, long long n, double rate,
                        sono_quality *q, sono_error *err);

#endif
