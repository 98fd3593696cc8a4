/* vq64.h — what the quantiser ops (vq.encode, rvq.encode, rvq.decode) share on the
 * reference side: float64 nearest-codeword search (ties to the lowest index), greedy
 * residual encoding and decoding, and the check of an impl's codes up to near-ties. */
#ifndef SONO_VQ64_H
#define SONO_VQ64_H

#include <stdint.h>

#include "check.h"

/* ||r - c||^2 in double over D elements. */
double sono_vq64_dist(const double *r, const float *c, long long D);

/* The codeword of cb [K, D] nearest r, the lowest index among equals; *best: its distance. */
long long sono_vq64_nearest(const double *r, const float *cb, long long K, long long D,
                            double *best);

/* Greedy RVQ of x [T, D] with cb [n_q, K, D]: codes [n_q, T], stage s picks the nearest
 * codeword of codebook s to what stages < s leave (n_q = 1: plain VQ). */
void sono_rvq64_encode(const float *cb, int n_q, long long K, long long D, const float *x,
                       long long T, int32_t *codes);

/* out [T, D] = sum over s of cb[s, codes[s, t]], in double; codes must be in [0, K). */
void sono_rvq64_decode(const float *cb, int n_q, long long K, long long D,
                       const int32_t *codes, long long T, double *out);

/* ||x - decode(codes)||^2 / ||x||^2 in double (0 when x is all zero and so is the error). */
double sono_rvq64_distortion(const float *cb, int n_q, long long K, long long D,
                             const float *x, const int32_t *codes, long long T);

/* The check of vq.encode and rvq.encode. Walking each vector's stages along the impl's own
 * codes (the residual r its codes leave, in double), a code passes when it is the nearest
 * or when d(chosen) - d(best) is within what float32 rounding can move two distances:
 *   tol * [(D + 2) ((|r| + |c_chosen|)^2 + (|r| + |c_best|)^2)
 *          + 2 S (|c_chosen| + |c_best|)],
 * the first term the error bound of a float32 distance, computed directly or as
 * |r|^2 - 2 r.c + |c|^2 (each sum of D terms within D u of the sum of its magnitudes), the
 * second the drift of a float32 residual after s subtractions (S: the norms of the
 * residuals before this stage summed), tol: the unit roundoff 2^-24 times 2 for safety.
 * Codes out of [0, K) fail. Fills c: pass, mismatches (codes that differ from ref at all),
 * rel_l2 (the worst gap in units of its rounding scale, the bracket above: pass when
 * <= tol), max_abs (the worst gap), detail (mismatches, near-tie flips, the distortion of
 * the impl's codes over the reference's). */
void sono_rvq64_check(const float *cb, int n_q, long long K, long long D, const float *x,
                      long long T, const int32_t *out, const int32_t *ref, double tol,
                      sono_check *c);

#endif
