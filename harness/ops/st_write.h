/* st_write.h — seeded random weights written as a safetensors file (F32, the tensors in
 * the order given, __metadata__ strings), the cache behind every op's `weights = random`
 * (codec.encodec, whisper.encoder): a temporary name renamed into place, so a reader
 * never sees half a file. */
#ifndef SONO_ST_WRITE_H
#define SONO_ST_WRITE_H

#include "sono.h"

typedef struct sono_st_tensor {
    char name[112];
    int ndim;
    long long shape[3];
    double a; /* uniform in [-a, a) */
    double g; /* > 0: g (1 + 0.1 u), u uniform in [-1, 1), instead (norm gains) */
} sono_st_tensor;

/* A growing list of tensors; sono_st_push returns SONO_ENOMEM when it cannot grow. */
typedef struct sono_st_list {
    sono_st_tensor *t;
    int n, cap;
} sono_st_list;

int sono_st_push(sono_st_list *l, const char *name, int ndim, long long d0, long long d1,
                 long long d2, double a, double g);

/* Write l's tensors to path with metadata {"format": "pt", meta[0]: meta[1], ...} (meta:
 * NULL-terminated key, value pairs; NULL for none); values drawn in order from one
 * xoshiro stream seeded with seed. */
int sono_st_write_random(const char *path, const sono_st_list *l, const char *const *meta,
                         unsigned long long seed, sono_error *err);

/* 0 when path exists (and is longer than a header length), else its folders are made and
 * the file written as sono_st_write_random does. */
int sono_st_ensure_random(const char *path, const sono_st_list *l, const char *const *meta,
                          unsigned long long seed, sono_error *err);

/* <cache>/sonobench/<name>: $XDG_CACHE_HOME, else $HOME/.cache, else ./build/cache. */
int sono_st_cache_path(const char *name, char *path, size_t n, sono_error *err);

#endif
