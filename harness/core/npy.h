/* npy.h — writes a sono_buf as a NumPy .npy file (format 1.0, little-endian, C order), so
 * any output can be opened with numpy.load and cross-checked in another tool. */
#ifndef SONO_NPY_H
#define SONO_NPY_H

#include "sono.h"

/* Writes buf to path; SONO_EIO with the path and strerror on failure. Dtypes map to
 * '<f4' '<c8' '<f8' '<c16' '<i2' '<i4'. */
int sono_npy_write(const char *path, const sono_buf *buf, sono_error *err);

#endif
