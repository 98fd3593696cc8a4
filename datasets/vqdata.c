/* vqdata.c — the quantiser ops' vectors: a signal at 24 kHz scaled to unit RMS and cut into
 * one window of D samples per 75 Hz frame, and the held-out speech recordings they are
 * measured on (the definitions are in vqdata.h). */
#include "vqdata.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "audio.h"

long long sono_vq_samples(long long T, long long D)
{
    return (T - 1) * SONO_VQ_HOP + D;
}

void sono_vq_normalise(float *x, long long n)
{
    double ss = 0;
    for (long long i = 0; i < n; i++)
        ss += (double)x[i] * x[i];
    if (!(ss > 0))
        return;
    double g = 1.0 / sqrt(ss / (double)n);
    for (long long i = 0; i < n; i++)
        x[i] = (float)(x[i] * g);
}

void sono_vq_windows(const float *x, long long T, long long D, float *out)
{
    for (long long t = 0; t < T; t++)
        memcpy(out + t * D, x + t * SONO_VQ_HOP, (size_t)D * sizeof *out);
}

/* The recordings after the training ones, concatenated and looped to n. */
static int heldout_fill(long long n, float *out, sono_error *err)
{
    char manifest[4096], path[4096];
    int count = 0, rc = sono_speech_find_manifest(manifest, sizeof manifest, err);
    if (!rc)
        rc = sono_speech_check_manifest(manifest, err);
    if (!rc)
        rc = sono_speech_entry(manifest, 0, path, sizeof path, NULL, &count, err);
    if (!rc && count <= SONO_VQ_TRAIN_FILES)
        rc = sono_fail(err, SONO_EPARSE,
                       "%s lists %d recordings; the rvq ops train on the first %d and need "
                       "at least one more held out", manifest, count, SONO_VQ_TRAIN_FILES);
    long long have = 0;
    for (int i = SONO_VQ_TRAIN_FILES; !rc && i < count && have < n; i++) {
        long long got = 0;
        rc = sono_speech_entry(manifest, i, path, sizeof path, NULL, NULL, err);
        if (!rc)
            rc = sono_audio_read(path, SONO_VQ_RATE, out + have, n - have, &got, NULL, err);
        have += got;
    }
    if (!rc && have == 0 && n > 0)
        rc = sono_fail(err, SONO_EPARSE, "the held-out speech recordings give no samples");
    for (long long i = have; !rc && i < n;) {
        long long c = n - i < have ? n - i : have;
        memcpy(out + i, out, (size_t)c * sizeof *out);
        i += c;
    }
    return rc;
}

int sono_vq_signal(const sono_input_spec *spec, int heldout, long long n, float *out,
                   sono_error *err)
{
    int rc;
    if (heldout && spec->kind == SONO_INPUT_GEN && !strcmp(spec->gen, "speech")) {
        rc = heldout_fill(n, out, err);
    } else {
        sono_buf b = {.dtype = SONO_F32, .ndim = 1, .shape = {n}, .data = out,
                      .nbytes = (size_t)n * sizeof *out};
        rc = sono_input_fill_at(spec, SONO_VQ_RATE, &b, err);
    }
    if (!rc)
        sono_vq_normalise(out, n);
    return rc;
}
