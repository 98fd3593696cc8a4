/* vqdata.h — the data of the quantiser ops (vq.encode, rvq.encode, rvq.decode): vectors cut
 * from a signal, the held-out speech they are measured on, and the RVQ codebooks trained by
 * k-means on the other speech recordings (rvq_train.c), cached on disk and verified.
 *
 * Vectors (EnCodec's 24 kHz frame rate, but raw samples instead of a learned encoder's
 * latents, which need trained weights): the signal at 24000 Hz is scaled to unit RMS over
 * the samples used (left as is when all zero), and vector t holds samples
 * t*320 .. t*320 + D - 1 (320 = 24000 / 75: one vector per EnCodec frame). T vectors use
 * (T - 1) * 320 + D samples.
 * Speech split: the manifest's recordings 1-6 train the codebooks, 7-8 ("side left",
 * "side right") are held out; an rvq case on `speech` quantises the held-out pair, looped,
 * so its distortion is measured on audio the codebooks never saw. */
#ifndef SONO_DATASETS_VQDATA_H
#define SONO_DATASETS_VQDATA_H

#include "input.h"

#define SONO_VQ_RATE 24000.0
#define SONO_VQ_HOP 320LL
#define SONO_VQ_TRAIN_FILES 6 /* manifest recordings [0, 6) train; the rest are held out */

/* Samples T vectors of dim D need. */
long long sono_vq_samples(long long T, long long D);

/* Scale x to unit RMS in place (double sums, one rounding per sample); all zero: untouched. */
void sono_vq_normalise(float *x, long long n);

/* out [T, D]: vector t = x[t * SONO_VQ_HOP + j], j < D; x holds sono_vq_samples(T, D). */
void sono_vq_windows(const float *x, long long T, long long D, float *out);

/* n samples at SONO_VQ_RATE of the case's signal, normalised: for `speech` with heldout set,
 * the held-out recordings looped; anything else as sono_input_fill_at gives it. */
int sono_vq_signal(const sono_input_spec *spec, int heldout, long long n, float *out,
                   sono_error *err);

/* ---- RVQ codebooks (rvq_train.c) ----------------------------------------------------
 * Greedy residual k-means: stage s clusters the residuals the stages before it leave on a
 * training set of n_train windows of the training recordings (offsets drawn from seed):
 * init from K distinct rows drawn by seed, `iters` Lloyd iterations (nearest by float32
 * L2, ties to the lowest index; means in double; an empty cluster keeps its centroid),
 * then each row's codeword is subtracted. Stage s does not depend on n_q, so the n_q
 * first codebooks of a 32-stage training are those of an n_q-stage one. */
typedef struct sono_rvq_cfg {
    long long K, D;
    int n_q;
    long long n_train;
    int iters;
    unsigned long long seed;
} sono_rvq_cfg;

/* What the ops use: 32 stages, n_train = 16 K windows, 1 iteration. Measured on the
 * held-out pair (K 1024, D 128): 16 K windows and 1 iteration beat 8 K and 3, or 4 K and 4
 * (few windows per code leave singletons whose residual is exactly zero, and later stages
 * have nothing to learn), at ~2 x 69 GFLOP of training. */
sono_rvq_cfg sono_rvq_default_cfg(long long K, long long D, unsigned long long seed);

/* Train into cb [n_q, K, D] (float32). SONO_EINVAL for settings out of range or fewer
 * training windows than codes; the speech manifest's errors as they come. */
int sono_rvq_train(const sono_rvq_cfg *cfg, float *cb, sono_error *err);

/* The cache file for cfg: $SONO_CACHE_DIR, else $XDG_CACHE_HOME/sonobench, else
 * $HOME/.cache/sonobench; named by the sha256 of cfg and of the training recordings'
 * listed sha256s, so other settings or recordings never share a file. */
int sono_rvq_cache_path(const sono_rvq_cfg *cfg, char *path, size_t n, sono_error *err);

/* File: "SONORVQ1", u32 K, D, n_q, n_train, iters, u64 seed, the 64-hex key, the
 * codebooks (float32, this machine's byte order), their raw sha256. Written to a
 * temporary name and renamed, so readers never see half a file. */
int sono_rvq_save(const char *path, const sono_rvq_cfg *cfg, const float *cb,
                  sono_error *err);
/* SONO_ENOTFOUND when there is no file; SONO_EPARSE naming the file and the fault when it
 * is truncated, too long, of other settings, or its codebooks fail their sha256. */
int sono_rvq_load(const char *path, const sono_rvq_cfg *cfg, float *cb, sono_error *err);

/* Load cfg's codebooks, or train and save them: a missing file is trained silently; a
 * corrupt one is reported on stderr (the file and the fault), retrained and replaced. A
 * cache that cannot be written is reported and the trained codebooks used anyway. */
int sono_rvq_codebooks(const sono_rvq_cfg *cfg, float *cb, sono_error *err);

#endif
