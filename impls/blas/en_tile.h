/* en_tile.h — blas/encodec's convolutions over column tiles: im2col + SGEMM (and the
 * transposed conv's SGEMM + overlap-add) on blocks of the N dimension (every clip's output
 * columns side by side) small enough that the column block stays in L2 between the im2col
 * that writes it and the SGEMM that packs it. Layouts as encodec_net.h's kernels. */
#ifndef IMPLS_EN_TILE_H
#define IMPLS_EN_TILE_H

#include "encodec_net.h"

/* Bytes of columns (im2col or the transposed conv's products) a tile aims at: a quarter
 * of the 1 MiB L2 of the machines measured, leaving room for OpenBLAS's packed panels. */
#define EN_TILE_BYTES (256 * 1024)
/* At least this many columns a tile, so the weights' packing (once per SGEMM call) stays
 * small beside the call's work. */
#define EN_TILE_MIN 256

/* Columns per tile for `rows` rows of columns (cin * k for a conv, cout * k for a
 * transposed one); depends on rows only, so scratch planned for a length serves any
 * shorter one. */
long long en_tile_cols(long long rows);

/* What en_tile_conv does with a tile's output while it is in cache: EN_TILE_ACC adds
 * W . x + b into y instead of writing it; EN_TILE_ELU then applies ELU (en_elu.h), with
 * EN_TILE_SIMD on its AVX2 path. */
enum { EN_TILE_ACC = 1, EN_TILE_ELU = 2, EN_TILE_SIMD = 4 };

/* y [cout][S*lout] = W . im2col(xp) + b, tw output columns at a time (tw <= 0: all at
 * once); col holds cin*k*min(tw, S*lout) floats (none for a 1x1 conv of stride 1 on an
 * unpadded input, which multiplies xp directly). flags: EN_TILE_*. */
void en_tile_conv(const en_conv *c, const float *xp, long long lp, int S, float *y,
                  long long lout, float *col, long long tw, int flags);
/* The full transposed conv (encodec_net.h) tw input columns at a time (tw <= 0: all);
 * z holds cout*k*min(tw, S*l) floats. */
void en_tile_convtr(const en_conv *c, const float *x, long long l, int S, float *y, float *z,
                    long long tw);

#endif
