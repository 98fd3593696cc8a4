/* cuda_impls.h — the cuda backend's impl tables and what its files share beyond cu.h. */
#ifndef IMPLS_CUDA_IMPLS_H
#define IMPLS_CUDA_IMPLS_H

#include <cublas_v2.h>
#include <cufft.h>

#include "sono.h"

extern const sono_impl cu_fft_impls[3];
int cu_fft_run(void *st);
const char *cu_cufft_error(cufftResult r);
extern const sono_impl cu_dsp_impls[7]; /* cufft x 4 ops, cufft-cublas x 3 (issue 10) */
int cu_dsp_run(void *st);

/* issue 11: the codec ops' rungs (vq.c, conv.c, attn.c, encodec.c; sgemm.c for the
 * cuBLAS peak beside them) and their cuBLAS helpers
 * (blas.c): a handle on h's stream in plain FP32 math, and run()'s status check. */
struct cu_hdr;
extern const sono_impl cu_vq_impls[5];
extern const sono_impl cu_conv_impls[2];
extern const sono_impl cu_attn_impls[2];
extern const sono_impl cu_flash2_impls[1]; /* issue 26: flash2.c */
extern const sono_impl cu_vqtc_impls[1];   /* issue 26: vqtc.c */
extern const sono_impl cu_convtc_impls[1]; /* issue 26: convtc.c */
extern const sono_impl cu_rvqtc_impls[1];  /* issue 26: rvqtc.c */
extern const sono_impl cu_encodec_impls[2];
extern const sono_impl cu_sgemm_impls[1];
extern const sono_impl cu_whisper_impls[1]; /* issue 23: whisper.c */
extern const sono_impl cu_gen_impls[2]; /* issue 25: vocoder.c (hifigan, wavenet) */
int cu_blas_create(struct cu_hdr *h, cublasHandle_t *b, int *has, sono_error *err);
int cu_blas_run_ok(cublasStatus_t s, const char *call, struct cu_hdr *h);
#define CU_BLAS_RUN(call, h) cu_blas_run_ok((call), #call, (h))

/* issue 10: op "copy" on the GPU (copy.c): cuda/memcpy and cuda/copy-kernel */
extern const sono_impl cu_copy_impls[2];

/* issue 23: CTC decoding (ctc.c): cuda/ctc-greedy, cuda/ctc-beam */
extern const sono_impl cu_ctc_impls[2];
/* issue 23: wav2vec2.features and attention.relpos (speech.c, sp_kernels.cu) */
extern const sono_impl cu_speech_impls[2];
/* issue 25: sample.topk and codes.delay (gen.c, tok_kernels.cu) */
extern const sono_impl cu_tok_impls[2];
/* issue 25: vq.ste (vqste.c, vqste_kernels.cu) */
extern const sono_impl cu_vqste_impls[1];
/* issue 25: maskgit.step and maskgit.decode (maskgit.c, tok_kernels.cu) */
extern const sono_impl cu_maskgit_impls[2];

/* issue 26: cuda/stockham (stockham.c), the own FFT for fft and rfft */
extern const sono_impl cu_stockham_impls[2];
/* issue 26: cuda/fused (lm.c), Whisper's log-mel in two launches of our own kernels */
extern const sono_impl cu_lm_impls[1];
/* issue 24: cuda/mimi (mimi.c, mi_kernels.cu), codec.mimi on cuBLAS + own kernels */
extern const sono_impl cu_mimi_impls[1];

/* issue 24: cuda/dac for codec.dac (dac.c, dc_kernels.cu) */
extern const sono_impl cu_dac_impls[1];
/* issue 26: cuda/vq-lt (vq.encode) and cuda/cublaslt (sgemm) over gemm_dt (vqlt.c) */
extern const sono_impl cu_vqlt_impls[2];

/* cu_devices_open (device.c): opens every GPU; the reason none can be used in err. */
int cu_devices_open(int *count, sono_error *err);
const sono_device *cu_device_at(int i);
void cu_devices_close(void);

#endif
