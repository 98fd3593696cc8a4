/* fe_stream.h — streaming framing for the audio front ends stft and melspec (issue 12): a
 * ring of n_fft samples of the padded signal that carries the last n_fft - hop of them
 * from one push to the next, and hands out each frame, windowed, once its last sample
 * exists. The same frames, bit for bit, as fe_pad followed by the offline framing. */
#ifndef IMPLS_FE_STREAM_H
#define IMPLS_FE_STREAM_H

#include "frontend.h"

typedef struct fe_ring {
    float *buf;  /* n_fft floats: padded position q lives at buf[q % n_fft] */
    size_t n;    /* n_fft */
    size_t fed;  /* padded positions written since the stream began */
    size_t next; /* the next frame to hand out = frames complete so far */
} fe_ring;

int fe_ring_alloc(fe_ring *r, const fe_dims *d);
void fe_ring_free(fe_ring *r);
void fe_ring_reset(fe_ring *r);

/* With input samples x[0, seen) known (all of them and the end of the signal when last),
 * writes the padded positions the next frame needs and, when it is complete, fills
 * frame[woff, woff + wlen) with its samples times win[] there (the rest of frame is left
 * as it is), sets *t to its index and returns 1; returns 0 when no frame is complete yet.
 * Centre: padded position 0 reflects x[n_fft/2], so nothing is written before that
 * sample exists (n_fft/2 samples of look-ahead), and the end's reflection waits for last. */
int fe_ring_next(fe_ring *r, const fe_dims *d, const float *x, size_t seen, int last,
                 const float *win, size_t woff, size_t wlen, float *frame, size_t *t);

#endif
