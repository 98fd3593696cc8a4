/* st64.h — the reference side's safetensors reader: the whole file checked at open
 * (header length, JSON, dtypes, shapes against byte counts, offsets inside the data), then
 * tensors read as doubles by name with their shape checked. Impls have their own. */
#ifndef SONO_ST64_H
#define SONO_ST64_H

#include "sono.h"

typedef struct sono_st sono_st;

/* SONO_ENOTFOUND / SONO_EIO when the file cannot be read, SONO_EPARSE naming the file
 * and the tensor when it is truncated or its header is malformed. */
int sono_st_open(const char *path, sono_st **st, sono_error *err);
void sono_st_close(sono_st *st);
const char *sono_st_path(const sono_st *st);
/* A string of __metadata__, or NULL. */
const char *sono_st_meta(const sono_st *st, const char *key);
int sono_st_has(const sono_st *st, const char *name);
/* The tensor as malloc'd doubles; SONO_ENOTFOUND when missing, SONO_EINVAL when its
 * shape is not (ndim, shape) or its dtype is not a float type, naming file and tensor. */
int sono_st_read(const sono_st *st, const char *name, int ndim, const long long *shape,
                 double **out, sono_error *err);
/* Dim i of tensor name's shape into *dim; SONO_ENOTFOUND when there is no such tensor or
 * dim. */
int sono_st_dim(const sono_st *st, const char *name, int i, long long *dim);

#endif
