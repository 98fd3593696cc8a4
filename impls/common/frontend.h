/* frontend.h — the impl side of the audio front-end ops (stft, melspec, logmel, mfcc):
 * their params read and checked, windows, reflect padding, mel filterbanks (dense and
 * sparse), the DCT-II matrix and the log steps, built from the definitions in the ops'
 * contract. Compiled into every plugin; shares no code with the float64 references. */
#ifndef IMPLS_FRONTEND_H
#define IMPLS_FRONTEND_H

#include <stddef.h>

#include "sono.h"

typedef enum { FE_STFT = 0, FE_MELSPEC = 1, FE_LOGMEL = 2, FE_MFCC = 3 } fe_op;
typedef enum { FE_HANN, FE_HAMMING, FE_BLACKMAN } fe_window;
typedef enum { FE_OUT_POWER, FE_OUT_MAGNITUDE, FE_OUT_COMPLEX } fe_stft_out;

/* The impl tables' ctx: &fe_ops[op], so one set of callbacks serves all four ops. */
extern const fe_op fe_ops[4];

/* A case's shape once its params are read: every size an impl allocates by. */
typedef struct fe_dims {
    fe_op op;
    double rate;
    size_t samples;   /* input length */
    size_t used;      /* after logmel's pad_or_trim to 30 s; = samples otherwise */
    size_t n_fft, hop, win_length, nbins;
    size_t padded;    /* length of the signal frames are cut from */
    size_t frames;    /* output columns (logmel: the last STFT frame dropped) */
    fe_window window;
    int center;
    fe_stft_out out;  /* stft only */
    size_t n_mels;    /* not stft */
    double fmin, fmax; /* fmax resolved: 0 becomes rate/2 */
    int htk;          /* mel scale: htk, else slaney */
    int slaney_norm;  /* each filter scaled to equal area */
    double power;     /* exponent of |X| before the filterbank */
    size_t n_mfcc;
    double top_db;    /* mfcc: 0 means no clamp */
    int threads;
    size_t batch;     /* independent clips (issue 10); every size above is one clip's */
} fe_dims;

/* Reads p for op into d. SONO_EUNSUPPORTED with the reason in why (naming the parameter
 * and what was expected) when the params contradict the definitions or a size is out of
 * reach (max_threads: the most this impl can use). */
int fe_dims_get(fe_op op, const sono_params *p, int max_threads, fe_dims *d, char *why,
                size_t n);

/* Rows of one clip's output ([rows, frames], row-major) and its floats (complex: 2 per
 * value). With batch > 1 the input is [batch, samples] and the output [batch, rows,
 * frames]: clip b's output starts at b * fe_out_floats(d). */
size_t fe_rows(const fe_dims *d);
size_t fe_out_floats(const fe_dims *d);

/* The window of length n_fft: periodic, computed in double, centred (zeros around it)
 * when win_length < n_fft. */
void fe_window_make(const fe_dims *d, float *w);
/* Where the window's nonzero span starts in the frame: (n_fft - win_length) / 2. */
size_t fe_window_offset(const fe_dims *d);

/* padded[0..d->padded): x (d->samples floats) zero-padded or trimmed to d->used, then
 * reflected by n_fft/2 at both ends when center (numpy.pad "reflect"). */
void fe_pad(const fe_dims *d, const float *x, float *padded);
/* fe_pad of every clip: clip b's x at b * samples, its padded signal at b * d->padded. */
void fe_pad_batch(const fe_dims *d, const float *x, float *padded);

/* Mel filterbank, computed in double and stored float. Dense: W[n_mels, nbins];
 * SONO_ENOMEM when its few doubles of edges cannot be allocated. */
int fe_mel_dense(const fe_dims *d, float *w);

/* Sparse: filter m covers bins first[m] .. first[m]+len[m]-1, weights at wt + off[m]. */
typedef struct fe_melbank {
    size_t n_mels;
    size_t *first, *len, *off;
    float *wt;
    size_t nwt;
} fe_melbank;
int fe_melbank_make(const fe_dims *d, fe_melbank *b);
void fe_melbank_free(fe_melbank *b);
size_t fe_melbank_bytes(const fe_melbank *b);
/* mel[m * stride] = sum over filter m's band of its weights times p[k]. */
void fe_melbank_apply(const fe_melbank *b, const float *p, float *mel, size_t stride);

/* Orthonormal DCT-II, D[n_mfcc, n_mels], computed in double and stored float. */
void fe_dct_make(const fe_dims *d, float *dct);

/* |X|^power of n interleaved complex bins into p. */
void fe_power(double power, const float *spec, size_t n, float *p);

/* Column t of the stft output from one frame's nbins complex bins. */
void fe_stft_column(const fe_dims *d, const float *spec, float *out, size_t t);

/* The log steps in two halves, so threads can share the max: *_log maps v[0..n) in place
 * and returns its largest value; *_clamp applies the floor that max gives. */
float fe_whisper_log(float *v, size_t n);  /* log10(max(v, 1e-10)) */
void fe_whisper_clamp(float *v, size_t n, float max); /* (max(v, max - 8) + 4) / 4 */
float fe_db(float *v, size_t n);           /* 10 log10(max(v, 1e-10)) */
void fe_db_clamp(float *v, size_t n, float max, double top_db); /* max(v, max - top_db) */

/* What every impl keeps the same way: the bound input, the padded signal, the output. */
typedef struct fe_io {
    fe_dims d;
    const char *who; /* "cpu/fast", for messages */
    const float *x;  /* the core's input, bound in load (it outlives the case) */
    float *padded;   /* batch * d.padded floats: clip b's at b * d.padded */
    float *out;      /* batch * rows * frames values, as the output is laid out */
} fe_io;

int fe_io_alloc(fe_io *io, sono_error *err);
void fe_io_free(fe_io *io);
size_t fe_io_bytes(const fe_io *io);
/* The impl's load and store callbacks, for states that begin with an fe_io. */
int fe_load(void *st, const sono_buf *in, sono_error *err);
int fe_store(void *st, sono_buf *out, sono_error *err);

/* 64-byte aligned, rounded up as aligned_alloc requires; NULL on overflow or failure.
 * Sizes are counts times element size, checked here. */
void *fe_alloc(size_t count, size_t size);

#endif
