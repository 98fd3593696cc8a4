/* ctc_gen.h — the synthetic inputs of ctc.greedy and ctc.beam: peaked log-posteriors
 * [T, V] of a random label sequence (the planted answer), seeded per utterance, and the
 * params both ops share. Op side only: no impl includes it. */
#ifndef SONO_CTC_GEN_H
#define SONO_CTC_GEN_H

#include <stdint.h>

#include "sono.h"

#define SONO_CTC_FPS 50.0 /* CTC frames per second of audio (20 ms, wav2vec 2.0's rate) */

typedef struct sono_ctc_dims {
    long long T, V, B; /* frames, vocabulary (blank = 0), utterances */
    double peak;       /* logit margin of each frame's planted label */
    unsigned long long seed;
    int beam;          /* ctc.beam only (1 for greedy) */
    double prune;      /* ctc.beam: extensions with lp < frame max - prune skipped; 0 off */
} sono_ctc_dims;

sono_ctc_dims sono_ctc_get(const sono_params *p);

/* The planted labels of utterance b (labels: room for T; *L: their count) and, when lp is
 * not NULL, its log-posteriors lp [T, V]: each frame's target (blank runs of 0-3 frames,
 * at least 1 between equal labels, then 1-3 frames of the label) gets logit peak + u, every
 * other class u, u uniform in [0, 1), log-softmax in double rounded once to float. So the
 * target is every frame's strict argmax, and greedy decoding gives the planted labels.
 * 0, or SONO_ENOMEM. */
int sono_ctc_generate(const sono_ctc_dims *d, long long b, float *lp, int32_t *labels,
                      long long *L, sono_error *err);

#endif
