/* maskgit64.h — the float64 side of maskgit.step and maskgit.decode (SoundStorm / MaskGIT
 * parallel decoding of RVQ tokens [levels, frames], SONO_MASK where not yet decoded).
 * One iteration t of n at `level`: every masked frame f of the level draws a token from its
 * logits by sample64.h's rule (top-k and top-p off; temperature 0: argmax) with u = Philox
 * (seed, counter (f, level, t)); its confidence is the token's softmax probability
 * (temperature 1); of the newly drawn, the nmask of lowest confidence (equal confidences:
 * the lower frame first) are masked again, nmask = min(floor(F cos(pi/2 (t+1)/n)),
 * masked - 1), at least 0. decode's logits come from a seeded MLP over the tokens. */
#ifndef SONO_MASKGIT64_H
#define SONO_MASKGIT64_H

#include <stdint.h>

#define SONO_MASK (-1)

long long sono_maskgit64_nmask(long long F, long long masked, long long t, long long iters);

/* One iteration: next [L, F] from prev [L, F] and logits [F, V] of `level`. 0, or -1 when
 * out of memory. */
int sono_maskgit64_step(const int32_t *prev, long long L, long long F, long long V,
                        long long level, long long t, long long iters, double temp,
                        uint64_t seed, const float *logits, int32_t *next);

/* The check of one iteration an impl made (prev -> next): levels other than `level` and
 * frames decoded before unchanged; exactly nmask frames masked again; each kept token one
 * the rule can draw for its u once float32 rounding is allowed (sample64.h's near-ties,
 * widened by dl[f] when the logits are the impl's own, NULL: exact logits); no masked
 * frame more confident than a kept one beyond the rounding of two confidences,
 * tol (V + 4 + 2 A) + 2 expm1(2 dl) relative (A: the row's largest |l - l_max|). Returns
 * the violations (0: pass); *differ counts the frames whose token or mask differs from
 * this file's own step; *worst the largest near-tie gap (sample64.h's units). -1: out of
 * memory. */
long long sono_maskgit64_check_step(const int32_t *prev, long long L, long long F,
                                    long long V, long long level, long long t,
                                    long long iters, double temp, uint64_t seed,
                                    const float *logits, const double *dl,
                                    const int32_t *next, double tol, long long *differ,
                                    double *worst, char *why, size_t nwhy);

/* maskgit.decode's model: weights (F32, flat) [E: L (V + 1) d | W1: d d | b1: d |
 * W2: d V | b2: L V]; logits of frame f at level l = relu(h W1 + b1) W2 + b2[l], h = the sum
 * over levels of E[level][token] (row V for SONO_MASK). */
typedef struct sono_maskgit64_net {
    long long L, V, d;
    const float *E, *W1, *b1, *W2, *b2;
} sono_maskgit64_net;
long long sono_maskgit64_weights(long long L, long long V, long long d);
sono_maskgit64_net sono_maskgit64_bind(const float *w, long long L, long long V, long long d);

/* Logits [F, V] of `level` for tokens [L, F], in double, rounded to float into out; dl
 * (optional) [F]: a bound on how far a float32 evaluation of the same sums can be from the
 * exact logits (each sum of n terms within n u of the sum of their magnitudes, the errors
 * carried through W1 and W2, tol for u), plus the rounding to float. -1: out of memory. */
int sono_maskgit64_logits(const sono_maskgit64_net *n, const int32_t *tok, long long F,
                          long long level, double tol, float *out, double *dl);

/* The schedule: iterations of level l (iters0 for level 0, iters_rest after). */
long long sono_maskgit64_iters(long long level, long long iters0, long long iters_rest);

#endif
