/* cuda_impls.h — the cuda backend's impl tables and what its files share beyond cu.h. */
#ifndef IMPLS_CUDA_IMPLS_H
#define IMPLS_CUDA_IMPLS_H

#include <cufft.h>

#include "sono.h"

extern const sono_impl cu_fft_impls[3];
int cu_fft_run(void *st);
const char *cu_cufft_error(cufftResult r);
extern const sono_impl cu_dsp_impls[4];
int cu_dsp_run(void *st);

/* cu_devices_open (device.c): opens every GPU; the reason none can be used in err. */
int cu_devices_open(int *count, sono_error *err);
const sono_device *cu_device_at(int i);
void cu_devices_close(void);

#endif
