/* plugin.c — the cuda backend's entry point: opens the GPUs (cuda:0 .. cuda:N-1), each
 * described by its device's summary (device.c), states the CUDA libraries' versions and
 * registers the impls (all on cuda:0). Without a usable GPU the impls stay listed and the
 * backend is marked unavailable with "no CUDA device: <runtime's message>" (skips). */
#include <dlfcn.h>
#include <stdio.h>

#include <cublas_v2.h>
#include <cufft.h>

#include "cu.h"
#include "cuda_impls.h"

static void version_text(int v, char *buf, size_t n) /* 13000 -> "13.0" */
{
    snprintf(buf, n, "%d.%d", v / 1000, (v % 1000) / 10);
}

static void add_versions(sono_registry *r)
{
    char s[64];
    int v = 0, major = 0, minor = 0, patch = 0;
    if (cudaRuntimeGetVersion(&v) == cudaSuccess) {
        version_text(v, s, sizeof s);
        r->add_lib(r, "cuda_runtime", s);
    }
    if (cudaDriverGetVersion(&v) == cudaSuccess) { /* 0 when no driver is installed */
        if (v)
            version_text(v, s, sizeof s);
        else
            snprintf(s, sizeof s, "none");
        r->add_lib(r, "cuda_driver", s);
    }
    if (cufftGetVersion(&v) == CUFFT_SUCCESS) {
        snprintf(s, sizeof s, "%d", v);
        r->add_lib(r, "cufft", s);
    }
    if (cublasGetProperty(MAJOR_VERSION, &major) == CUBLAS_STATUS_SUCCESS &&
        cublasGetProperty(MINOR_VERSION, &minor) == CUBLAS_STATUS_SUCCESS &&
        cublasGetProperty(PATCH_LEVEL, &patch) == CUBLAS_STATUS_SUCCESS) {
        snprintf(s, sizeof s, "%d.%d.%d", major, minor, patch);
        r->add_lib(r, "cublas", s);
    }
}

/* cuFFT, cuBLAS and CUPTI carry their own static C++ runtime, each of which mallocs an
 * exception pool at load and never frees it; if dlclose unmapped them, LeakSanitizer
 * would report those pools as leaked by an unknown module. Pinning this plugin
 * (RTLD_NODELETE) keeps it and the libraries it needs mapped until the process ends. */
static void pin_self(void)
{
    Dl_info info;
    union {
        int (*fn)(sono_registry *, sono_error *);
        void *p;
    } sym = {.fn = sono_plugin_init};
    if (dladdr(sym.p, &info) && info.dli_fname)
        (void)dlopen(info.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE);
}

SONO_EXPORT int sono_plugin_init(sono_registry *r, sono_error *err)
{
    if (r->abi != SONO_ABI_VERSION)
        return sono_fail(err, SONO_EABI, "cuda plugin built for ABI %d, harness has ABI %d",
                         SONO_ABI_VERSION, r->abi);
    pin_self();
    sono_error why = {0};
    int count = 0;
    int open_rc = cu_devices_open(&count, &why);
    for (int i = 0; i < count; i++) {
        int rc = r->add_device(r, cu_device_at(i));
        if (rc < 0) {
            cu_devices_close();
            return sono_fail(err, rc, "cuda: registering device %s failed (%d)",
                             cu_device_at(i)->name, rc);
        }
    }
    if (r->add_lib)
        add_versions(r); /* each GPU's own description is its device's summary */
    if (open_rc)
        r->set_unavailable(r, why.msg);
    else
        (void)cu_nvml_init(); /* optional: without it the clock is not recorded */
    for (size_t i = 0; i < sizeof cu_fft_impls / sizeof cu_fft_impls[0]; i++) {
        int rc = r->add_impl(r, &cu_fft_impls[i]);
        if (rc < 0)
            return sono_fail(err, rc, "cuda: registering %s/cuda/%s failed (%d)",
                             cu_fft_impls[i].op, cu_fft_impls[i].name, rc);
    }
    for (size_t i = 0; i < sizeof cu_dsp_impls / sizeof cu_dsp_impls[0]; i++) {
        int rc = r->add_impl(r, &cu_dsp_impls[i]);
        if (rc < 0)
            return sono_fail(err, rc, "cuda: registering %s/cuda/%s failed (%d)",
                             cu_dsp_impls[i].op, cu_dsp_impls[i].name, rc);
    }
    /* issue 11: the codec ops' rungs */
    const sono_impl *const codec_tables[] = {cu_vq_impls, cu_conv_impls, cu_attn_impls,
                                             cu_encodec_impls, cu_sgemm_impls,
                                             cu_whisper_impls /* issue 23 */,
                                             cu_gen_impls /* issue 25 */,
                                             cu_flash2_impls, cu_vqtc_impls /* issue 26 */,
                                             cu_convtc_impls, cu_rvqtc_impls /* issue 26 */};
    const size_t codec_counts[] = {sizeof cu_vq_impls / sizeof cu_vq_impls[0],
                                   sizeof cu_conv_impls / sizeof cu_conv_impls[0],
                                   sizeof cu_attn_impls / sizeof cu_attn_impls[0],
                                   sizeof cu_encodec_impls / sizeof cu_encodec_impls[0],
                                   sizeof cu_sgemm_impls / sizeof cu_sgemm_impls[0],
                                   sizeof cu_whisper_impls / sizeof cu_whisper_impls[0],
                                   sizeof cu_gen_impls / sizeof cu_gen_impls[0],
                                   sizeof cu_flash2_impls / sizeof cu_flash2_impls[0],
                                   sizeof cu_vqtc_impls / sizeof cu_vqtc_impls[0],
                                   sizeof cu_convtc_impls / sizeof cu_convtc_impls[0],
                                   sizeof cu_rvqtc_impls / sizeof cu_rvqtc_impls[0]};
    for (size_t t = 0; t < sizeof codec_tables / sizeof codec_tables[0]; t++)
        for (size_t i = 0; i < codec_counts[t]; i++) {
            int rc = r->add_impl(r, &codec_tables[t][i]);
            if (rc < 0)
                return sono_fail(err, rc, "cuda: registering %s/cuda/%s failed (%d)",
                                 codec_tables[t][i].op, codec_tables[t][i].name, rc);
        }
    /* issue 24: cuda/dac */
    for (size_t i = 0; i < sizeof cu_dac_impls / sizeof cu_dac_impls[0]; i++) {
        int rc = r->add_impl(r, &cu_dac_impls[i]);
        if (rc < 0)
            return sono_fail(err, rc, "cuda: registering %s/cuda/%s failed (%d)",
                             cu_dac_impls[i].op, cu_dac_impls[i].name, rc);
    }
    /* issue 23: speech models */
    for (size_t i = 0; i < sizeof cu_speech_impls / sizeof cu_speech_impls[0]; i++) {
        int rc = r->add_impl(r, &cu_speech_impls[i]);
        if (rc < 0)
            return sono_fail(err, rc, "cuda: registering %s/cuda/%s failed (%d)",
                             cu_speech_impls[i].op, cu_speech_impls[i].name, rc);
    }
    /* issue 10: copy bandwidth, for harness calibrate and suites/gpu */
    for (size_t i = 0; i < sizeof cu_copy_impls / sizeof cu_copy_impls[0]; i++) {
        int rc = r->add_impl(r, &cu_copy_impls[i]);
        if (rc < 0)
            return sono_fail(err, rc, "cuda: registering copy/cuda/%s failed (%d)",
                             cu_copy_impls[i].name, rc);
    }
    /* issue 26: the own Stockham FFT */
    for (size_t i = 0; i < sizeof cu_stockham_impls / sizeof cu_stockham_impls[0]; i++) {
        int rc = r->add_impl(r, &cu_stockham_impls[i]);
        if (rc < 0)
            return sono_fail(err, rc, "cuda: registering %s/cuda/stockham failed (%d)",
                             cu_stockham_impls[i].op, rc);
    }
    /* issue 26: the fused log-mel front end */
    for (size_t i = 0; i < sizeof cu_lm_impls / sizeof cu_lm_impls[0]; i++) {
        int rc = r->add_impl(r, &cu_lm_impls[i]);
        if (rc < 0)
            return sono_fail(err, rc, "cuda: registering logmel/cuda/fused failed (%d)", rc);
    }
    /* issue 23: CTC decoding */
    for (size_t i = 0; i < sizeof cu_ctc_impls / sizeof cu_ctc_impls[0]; i++) {
        int rc = r->add_impl(r, &cu_ctc_impls[i]);
        if (rc < 0)
            return sono_fail(err, rc, "cuda: registering %s/cuda/%s failed (%d)",
                             cu_ctc_impls[i].op, cu_ctc_impls[i].name, rc);
    }
    /* issue 25: generation */
    for (size_t i = 0; i < sizeof cu_tok_impls / sizeof cu_tok_impls[0]; i++) {
        int rc = r->add_impl(r, &cu_tok_impls[i]);
        if (rc < 0)
            return sono_fail(err, rc, "cuda: registering %s/cuda/%s failed (%d)",
                             cu_tok_impls[i].op, cu_tok_impls[i].name, rc);
    }
    {
        int rc = r->add_impl(r, &cu_vqste_impls[0]);
        if (rc < 0)
            return sono_fail(err, rc, "cuda: registering vq.ste/cuda/ste failed (%d)", rc);
    }
    for (size_t i = 0; i < sizeof cu_maskgit_impls / sizeof cu_maskgit_impls[0]; i++) {
        int rc = r->add_impl(r, &cu_maskgit_impls[i]);
        if (rc < 0)
            return sono_fail(err, rc, "cuda: registering %s/cuda/maskgit failed (%d)",
                             cu_maskgit_impls[i].op, rc);
    }
    /* issue 24: codec.mimi */
    for (size_t i = 0; i < sizeof cu_mimi_impls / sizeof cu_mimi_impls[0]; i++) {
        int rc = r->add_impl(r, &cu_mimi_impls[i]);
        if (rc < 0)
            return sono_fail(err, rc, "cuda: registering %s/cuda/mimi failed (%d)",
                             cu_mimi_impls[i].op, rc);
    }
    /* issue 26: the cuBLASLt rungs over gemm_dt */
    for (size_t i = 0; i < sizeof cu_vqlt_impls / sizeof cu_vqlt_impls[0]; i++) {
        int rc = r->add_impl(r, &cu_vqlt_impls[i]);
        if (rc < 0)
            return sono_fail(err, rc, "cuda: registering %s/cuda/%s failed (%d)",
                             cu_vqlt_impls[i].op, cu_vqlt_impls[i].name, rc);
    }
    return 0;
}

/* The harness dlcloses plugins at exit, after every case's teardown. */
__attribute__((destructor)) static void release(void)
{
    cu_nvml_close();
    cu_devices_close();
}
