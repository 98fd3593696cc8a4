/* fe_stream.c — the ring buffer behind the streaming stft and melspec impls (see
 * fe_stream.h): positions are written in order, never more than n_fft ahead of the frame
 * being assembled, so a frame's n_fft samples are all in the ring when it is cut. */
#include "fe_stream.h"

#include <stdlib.h>
#include <string.h>

int fe_ring_alloc(fe_ring *r, const fe_dims *d)
{
    memset(r, 0, sizeof *r);
    r->n = d->n_fft;
    r->buf = fe_alloc(r->n, sizeof *r->buf);
    return r->buf ? 0 : SONO_ENOMEM;
}

void fe_ring_free(fe_ring *r)
{
    free(r->buf);
    r->buf = NULL;
}

void fe_ring_reset(fe_ring *r)
{
    r->fed = r->next = 0;
}

/* Padded position q as fe_pad defines it (used = samples: stft and melspec never trim). */
static float padded_at(const fe_dims *d, const float *x, size_t q)
{
    size_t half = d->center ? d->n_fft / 2 : 0;
    if (q < half)
        return x[half - q];
    q -= half;
    return q < d->samples ? x[q] : x[2 * (d->samples - 1) - q];
}

int fe_ring_next(fe_ring *r, const fe_dims *d, const float *x, size_t seen, int last,
                 const float *win, size_t woff, size_t wlen, float *frame, size_t *t)
{
    if (r->next >= d->frames)
        return 0;
    size_t half = d->center ? d->n_fft / 2 : 0;
    size_t avail = last ? d->padded : !d->center ? seen : seen > half ? half + seen : 0;
    size_t start = r->next * d->hop, need = start + r->n;
    size_t to = avail < need ? avail : need;
    for (; r->fed < to; r->fed++)
        r->buf[r->fed % r->n] = padded_at(d, x, r->fed);
    if (r->fed < need)
        return 0;
    /* the window's span, in at most two runs of the ring */
    size_t a = (start + woff) % r->n, first = r->n - a < wlen ? r->n - a : wlen;
    for (size_t j = 0; j < first; j++)
        frame[woff + j] = r->buf[a + j] * win[woff + j];
    for (size_t j = first; j < wlen; j++)
        frame[woff + j] = r->buf[j - first] * win[woff + j];
    *t = r->next++;
    return 1;
}
