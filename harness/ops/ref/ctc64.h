/* ctc64.h — the float64 side of ctc.greedy and ctc.beam: the CTC forward algorithm (the
 * log-probability of a labelling summed over all its alignments), greedy decoding,
 * exhaustive search for the best labelling on small T and V, and the checks of an impl's
 * rows [labels..., -1 padding, score bits] against them. Shares no code with any impl. */
#ifndef SONO_CTC64_H
#define SONO_CTC64_H

#include <stdint.h>

#include "check.h"

/* log P(l | lp) over every alignment of l [L] to the T frames of lp [T, V] (blank 0), in
 * double; -inf when l needs more than T frames. Labels outside [1, V): NAN. */
double sono_ctc64_logprob(const float *lp, long long T, long long V, const int32_t *l,
                          long long L);

/* Greedy: each frame's argmax (the lowest index among equals), repeats merged, blanks
 * dropped, into l (room for T); *L its length; returns the argmax path's log-probability
 * (the sum of the frame maxima, in double). */
double sono_ctc64_greedy(const float *lp, long long T, long long V, int32_t *l, long long *L);

/* Sequences of labels (1..V-1) of length 0..T: the exhaustive search's count, saturating
 * at 2^62. */
double sono_ctc64_nseq(long long T, long long V);

/* The labelling with the largest sono_ctc64_logprob over all sequences up to length T
 * (the first found, shorter first, on equal scores); room for T in l. Returns its
 * log-probability; NAN when out of memory. Cost: nseq * T * (2T + 1). */
double sono_ctc64_exhaustive(const float *lp, long long T, long long V, int32_t *l,
                             long long *L);

/* Rows of ctc's output: [labels..., -1..., score as float32 bits], T + 1 int32 each. */
void sono_ctc64_row_put(int32_t *row, long long T, const int32_t *l, long long L, double s);
/* The labels of a row: their count, or -1 when the row is malformed (a label outside
 * [1, V), or a label after a -1), with why. *s: the score. */
long long sono_ctc64_row_get(const int32_t *row, long long T, long long V, float *s,
                             char *why, size_t n);

/* The scale of a score's float32 rounding: T (|S| + 4) (ctc.c says why); times the op's
 * tolerance, the score gap allowed. */
double sono_ctc64_scale(long long T, double S);

/* ctc.greedy's check over B rows of lp [B, T, V]: labels equal to ref's (argmax on the
 * same floats is exact; the input's planted label is each frame's strict argmax), the
 * score within tol * scale of the float64 sum of the frame maxima. */
void sono_ctc64_check_greedy(const float *lp, long long B, long long T, long long V,
                             const int32_t *out, const int32_t *ref, double tol,
                             sono_check *c);

/* ctc.beam's check over B rows: well-formed labels l; the impl's score s no more than
 * logprob(l) + tol * scale (a beam's mass of l is part of all of l's alignments); when
 * the beam can hold every prefix (exact: beam >= nseq(T, V) and no prune), s also at least
 * logprob(l) - tol * scale; and logprob(l) >= logprob(ref's labels) - tol * scale, ref
 * being the exhaustive best (small cases) or the planted labelling (ctc.c). */
void sono_ctc64_check_beam(const float *lp, long long B, long long T, long long V, int exact,
                           const int32_t *out, const int32_t *ref, double tol,
                           sono_check *c);

#endif
