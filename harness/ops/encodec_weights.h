/* encodec_weights.h — seeded random EnCodec weights of a config's real shapes, written as
 * a safetensors file with Hugging Face EncodecModel's tensor names and the config in its
 * metadata: what codec.encodec runs when weights = random (speed does not depend on the
 * values; quality then means nothing). */
#ifndef SONO_ENCODEC_WEIGHTS_H
#define SONO_ENCODEC_WEIGHTS_H

#include "ops/encodec.h"

/* Write the file (to a temporary name, then renamed, so a reader never sees half). */
int sono_encodec_weights_write(const char *path, const sono_enc_config *c,
                               unsigned long long seed, sono_error *err);

/* The file at path if it is there, else written (its folders made); the cache of
 * weights = random. */
int sono_encodec_weights_ensure(const char *path, const sono_enc_config *c,
                                unsigned long long seed, sono_error *err);

/* The config as EncodecConfig JSON (malloc'd), as the metadata holds it. */
char *sono_encodec_config_json(const sono_enc_config *c);

#endif
