/* vqste64.h — the float64 side of vq.ste, one training step of an EMA VQ layer with the
 * straight-through estimator: the step along given codes, the loss it differentiates
 * (with the stop-gradients as separate arguments, for finite differences), and the check.
 * Layouts (F32, flat):
 *   input  [e K*D | ema_count K | ema_sum K*D | x N*D | g N*D]
 *   output [codes N (as floats) | q N*D | losses 2 | dx N*D | de K*D | e_new K*D]
 * where g is the upstream gradient at the quantised output q = x + sg(e[code] - x). */
#ifndef SONO_VQSTE64_H
#define SONO_VQSTE64_H

#include <stdint.h>

#include "check.h"

typedef struct sono_vqste64_cfg {
    long long K, D, N;
    double beta;  /* commitment weight */
    double decay; /* EMA decay of the counts and sums */
    double eps;   /* Laplace smoothing of the counts */
    double dead;  /* a code whose new EMA count is below this restarts from the batch */
    uint64_t seed; /* the restarts' choice: Philox (seed, counter (k, 0, 1)) mod N */
} sono_vqste64_cfg;

/* Offsets of the output's parts (in floats). */
typedef struct sono_vqste64_at {
    long long codes, q, losses, dx, de, e_new, total;
} sono_vqste64_at;
sono_vqste64_at sono_vqste64_layout(const sono_vqste64_cfg *c);
long long sono_vqste64_in_elems(const sono_vqste64_cfg *c);

/* codes [N]: the nearest codeword of each x (ties to the lowest index). */
void sono_vqste64_codes(const float *in, const sono_vqste64_cfg *c, int32_t *codes);

/* The step along codes: out (the output layout, in double). Optional: cnt [K] the new
 * EMA counts, alt [K*D] each code's other candidate row (the restart's vector where the
 * EMA row was kept, the EMA row where it restarted). Returns the restarts made. */
long long sono_vqste64_step(const float *in, const sono_vqste64_cfg *c, const int32_t *codes,
                            double *out, double *cnt, double *alt);

/* The loss whose gradient the step's backward pass is: with x, e varying and xs, es the
 * stopped copies,
 *   L = sum g . (x + es[code] - xs) + mean (xs - e[code])^2 + beta mean (x - es[code])^2
 * (means over N*D); its gradient at x = xs, e = es is (dx, de). */
double sono_vqste64_loss(const double *x, const double *e, const double *xs,
                         const double *es, const float *g, const int32_t *codes,
                         const sono_vqste64_cfg *c);

/* The check: the impl's codes must be integers in [0, K), each the nearest or within the
 * float32 rounding of two distances (vq64.h's bound); then the reference is recomputed
 * along the impl's codes and each part's relative L2 must be within its own error model,
 * in units of tol (the float32 unit roundoff times 2):
 *   q: x + (e - x), two roundings: 4;  dx: g + s (x - q): 8;
 *   losses: sums of N*D squares: N*D + 8;  de: cluster sums of up to n_max terms: n_max + 8;
 *   e_new: cluster sums, then the total count over K codes in the smoothing: n_max + K + 8.
 * A code whose new count is within tol * 4 * max(count, dead) of `dead` may go either way:
 * its row is compared with the nearer candidate. Fills c: pass, mismatches (codes that
 * differ from the reference's), rel_l2 (the worst part's ratio to its bound, times tol),
 * detail. */
void sono_vqste64_check(const float *in, const sono_vqste64_cfg *c, const float *out,
                        const double *ref, double tol, sono_check *chk);

#endif
