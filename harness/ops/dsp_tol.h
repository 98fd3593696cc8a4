/* dsp_tol.h — the tolerances of the audio front-end ops, each derived from the float32
 * FFT's (fft_common.c) step by step along the pipeline; the argument is in dsp_tol.c. */
#ifndef SONO_DSP_TOL_H
#define SONO_DSP_TOL_H

#include "dsp_common.h"

double sono_dsp_tol_stft(const sono_dsp_dims *d, sono_err_growth g);
double sono_dsp_tol_melspec(const sono_dsp_dims *d, sono_err_growth g);
double sono_dsp_tol_logmel(const sono_dsp_dims *d, sono_err_growth g);
double sono_dsp_tol_mfcc(const sono_dsp_dims *d, sono_err_growth g);

#endif
