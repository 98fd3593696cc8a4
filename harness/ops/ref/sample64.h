/* sample64.h — the float64 side of the sampling ops (sample.topk, maskgit.*): a Philox4x32-10
 * of its own (checked against Random123's published known answers in tests/test_gen_sample.c,
 * sharing no code with impls/common/philox.h), temperature / top-k / top-p sampling of one
 * row of logits, and the check of an impl's tokens up to near-ties. */
#ifndef SONO_SAMPLE64_H
#define SONO_SAMPLE64_H

#include <stdint.h>

#include "check.h"

/* Philox4x32-10 of counter ctr under key; out: the four output words. */
void sono_philox64(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]);
/* The ops' uniform: counter (a, b, c, 0), key (seed low 32 bits, high 32 bits), the first
 * word's top 24 bits times 2^-24 (exact in float32, so an impl's u equals this one). */
double sono_philox64_u24(uint64_t seed, uint32_t a, uint32_t b, uint32_t c);
/* The first output word of the same counter and key. */
uint32_t sono_philox64_u32(uint64_t seed, uint32_t a, uint32_t b, uint32_t c);

/* How a row is sampled. temperature 0 (or top_k 1): the argmax, ties to the lowest index.
 * Otherwise the classes in order of their logit (largest first, equal logits by index),
 * the first top_k of them (0: all), weights exp((l - l_max) / temperature), then the
 * shortest prefix whose weight reaches top_p of theirs (top_p 1: all of them); the token is
 * the first class r of that prefix whose cumulative weight exceeds u times its total. */
typedef struct sono_sample64_cfg {
    double temperature, top_p;
    long long top_k;
} sono_sample64_cfg;

/* Scratch for rows of up to V classes; NULL when out of memory. */
typedef struct sono_sample64_ws sono_sample64_ws;
sono_sample64_ws *sono_sample64_ws_new(long long V);
void sono_sample64_ws_free(sono_sample64_ws *w);

/* The token of row l [V] for the uniform u in [0, 1). */
long long sono_sample64_row(sono_sample64_ws *w, const float *l, long long V,
                            const sono_sample64_cfg *cfg, double u);

/* Whether tok can be the token of row l for u once float32 rounding is allowed: tok is
 * the reference's own, or u lands within delta of tok's interval of the cumulative weights
 * (normalised to [0, 1]) under some top-p cut that rounding can move, where
 *   delta = tol * (m + 2 + 2 A),
 * m the classes weighed (top_k or V), A the largest |l - l_max| / temperature among them:
 * a float32 weight exp(a) carries a relative error within (2 |a| + 2) u (the rounded
 * difference and quotient in its argument, then exp), and a float32 running sum of m
 * positive terms within m u of their total, so every cumulative fraction is within
 * (m + 2 + 2 A) u of its exact value; tol is 2 u for safety. Argmax rows are exact (float
 * comparisons): any other token fails. *gap: its distance from acceptance in units of
 * delta times tol (0 when inside; <= tol when accepted). */
int sono_sample64_accept(sono_sample64_ws *w, const float *l, long long V,
                         const sono_sample64_cfg *cfg, double u, long long tok, double tol,
                         double *gap);

/* The same where each logit may be off its exact value by up to dl (the logits an impl
 * computed itself, maskgit.decode's): argmax rows accept a class within 2 dl of the
 * largest, sampled rows widen delta by 2 eps / (1 - eps), eps = expm1(2 dl / temperature),
 * the most a cumulative fraction moves when every weight moves by a factor exp(+-2 dl / T);
 * a class just outside a top-k cut is accepted when dl > 0 (the order itself may move). */
int sono_sample64_accept_margin(sono_sample64_ws *w, const float *l, long long V,
                                const sono_sample64_cfg *cfg, double u, long long tok,
                                double tol, double dl, double *gap);

/* The check of rows [rows, V] of logits with tokens out (the impl's) and ref (this file's),
 * u of row i from urow(i): pass when every token equals the reference's or is a near-tie
 * by sono_sample64_accept; fills mismatches, rel_l2 (the worst gap), detail. */
void sono_sample64_check(const float *logits, long long rows, long long V,
                         const sono_sample64_cfg *cfg, const double *u, const int32_t *out,
                         const int32_t *ref, double tol, sono_check *c);

#endif
