/* fft_common.h — what the fft and rfft contracts share: the size limit and the
 * tolerance model of a float32 transform. */
#ifndef SONO_FFT_COMMON_H
#define SONO_FFT_COMMON_H

#include "op.h"

extern const sono_param_spec sono_fft_params[2];

int sono_fft_validate(const sono_params *p, sono_error *err);
double sono_fft_tolerance(const sono_params *p, sono_err_growth g);

#endif
