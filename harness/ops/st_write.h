/* st_write.h — seeded random weights written as a safetensors file: a list of named
 * float32 tensors, each uniform in [-a, a) or a constant g (1 +- 10%), drawn in list order
 * from one xoshiro stream. What weights = random means for the ops with a model
 * (codec.encodec, wav2vec2.features): speed does not depend on the values. */
#ifndef SONO_ST_WRITE_H
#define SONO_ST_WRITE_H

#include "sono.h"

typedef struct sono_st_tensor {
    char name[96];
    int ndim;
    long long shape[3];
    double a; /* uniform in [-a, a) */
    double g; /* > 0: constant g (1 +- 10%) instead */
} sono_st_tensor;

typedef struct sono_st_list {
    sono_st_tensor *t;
    int n, cap;
} sono_st_list;

/* Append prefix+suffix; SONO_ENOMEM when the list cannot grow. */
int sono_st_push(sono_st_list *l, const char *prefix, const char *suffix, int ndim,
                 long long d0, long long d1, long long d2, double a, double g);

/* Write the tensors (to a temporary name, then renamed, so a reader never sees half),
 * with `config` (may be NULL) as the metadata's "config" string. */
int sono_st_write_random(const char *path, const sono_st_list *l, const char *config,
                         unsigned long long seed, const char *what, sono_error *err);

/* path if it is there, else write() called after its folders are made. */
int sono_st_ensure(const char *path, int (*write)(const char *path, void *ctx, sono_error *err),
                   void *ctx, sono_error *err);

/* <cache>/sonobench/<name>: $XDG_CACHE_HOME, else $HOME/.cache, else ./build/cache. */
int sono_st_cache_path(const char *name, char *path, size_t n, sono_error *err);

#endif
