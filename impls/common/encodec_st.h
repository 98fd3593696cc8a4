/* encodec_st.h — the impls' safetensors reader (the format in harness/ops/encodec.h's
 * contract): the file mapped, the header checked whole at open, tensors copied out as
 * float32 by name with their shape checked. Independent of the reference's reader. */
#ifndef IMPLS_ENCODEC_ST_H
#define IMPLS_ENCODEC_ST_H

#include "sono.h"

typedef struct est_file est_file;

int est_open(const char *path, est_file **f, sono_error *err);
void est_close(est_file *f);
/* A string value of __metadata__, or NULL. */
const char *est_meta(const est_file *f, const char *key);
int est_has(const est_file *f, const char *name);
/* Copy tensor `name` (F32, F16, BF16 or F64) into dst as float32; SONO_ENOTFOUND when
 * absent, SONO_EINVAL when its shape is not (ndim, shape); messages name file and tensor. */
int est_get(const est_file *f, const char *name, int ndim, const long long *shape,
            float *dst, sono_error *err);
/* Dim i of tensor name's shape; SONO_ENOTFOUND when there is no such tensor or dim. */
int est_dim(const est_file *f, const char *name, int i, long long *dim);

#endif
