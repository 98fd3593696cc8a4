/* trace.c — the cuda backend's instrumentation that never touches the timed numbers:
 * NVTX ranges (header-only NVTX3: a no-op unless a tool such as Nsight Systems injects
 * itself), the SM clock through NVML (dlopen'd, so a machine without the driver's
 * libnvidia-ml still loads the plugin), and the case's JSON for the record's "gpu". */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include <nvtx3/nvToolsExt.h>

#include "cu.h"

/* Named after the case (the core's case_begin), so a profile's ranges read like the
 * results' ids; the label serves outside a case. */
void cu_range_push(const cu_hdr *h, const char *phase)
{
    char name[320];
    const char *id = h->dev && h->dev->case_id[0] ? h->dev->case_id : h->label;
    snprintf(name, sizeof name, "%s %s", id, phase);
    nvtxRangePushA(name);
}

void cu_range_pop(void)
{
    nvtxRangePop();
}

/* ---- NVML, by dlopen ------------------------------------------------------------------ */
typedef struct nvmlDevice_st *nvml_device;
enum { NVML_OK = 0, NVML_CLOCK_SM = 1 };

static void *nvml_lib;
static int (*nvml_shutdown)(void);
static int (*nvml_by_bus)(const char *bus, nvml_device *dev);
static int (*nvml_clock)(nvml_device dev, int type, unsigned *mhz);
static int (*nvml_default_clock)(nvml_device dev, int type, unsigned *mhz); /* may be NULL */
static nvml_device nvml_devs[CU_MAX_DEVICES];
static int nvml_tried[CU_MAX_DEVICES];

/* 0 when NVML is there; -1 otherwise (the clock is then simply not recorded). */
int cu_nvml_init(void)
{
    if (nvml_lib)
        return 0;
    void *lib = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!lib)
        return -1;
    int (*init)(void) = (int (*)(void))dlsym(lib, "nvmlInit_v2");
    nvml_shutdown = (int (*)(void))dlsym(lib, "nvmlShutdown");
    nvml_by_bus = (int (*)(const char *, nvml_device *))dlsym(lib,
                                                              "nvmlDeviceGetHandleByPciBusId_v2");
    nvml_clock = (int (*)(nvml_device, int, unsigned *))dlsym(lib, "nvmlDeviceGetClockInfo");
    nvml_default_clock = (int (*)(nvml_device, int, unsigned *))dlsym(
        lib, "nvmlDeviceGetDefaultApplicationsClock");
    if (!init || !nvml_shutdown || !nvml_by_bus || !nvml_clock || init() != NVML_OK) {
        dlclose(lib);
        nvml_by_bus = NULL;
        nvml_clock = nvml_default_clock = NULL;
        return -1;
    }
    nvml_lib = lib;
    return 0;
}

/* NVML numbers GPUs its own way (CUDA_VISIBLE_DEVICES renumbers the runtime's): the PCI
 * bus id is what both agree on. */
static nvml_device nvml_handle(int index)
{
    if (!nvml_lib || index < 0 || index >= CU_MAX_DEVICES)
        return NULL;
    if (!nvml_tried[index]) {
        char bus[32];
        nvml_tried[index] = 1;
        if (cudaDeviceGetPCIBusId(bus, sizeof bus, index) != cudaSuccess ||
            nvml_by_bus(bus, &nvml_devs[index]) != NVML_OK)
            nvml_devs[index] = NULL;
    }
    return nvml_devs[index];
}

unsigned cu_nvml_sm_clock(int index)
{
    unsigned mhz = 0;
    nvml_device d = nvml_handle(index);
    if (!d || nvml_clock(d, NVML_CLOCK_SM, &mhz) != NVML_OK)
        return 0;
    return mhz;
}

unsigned cu_nvml_default_sm_clock(int index)
{
    unsigned mhz = 0;
    nvml_device d = nvml_handle(index);
    if (!d || !nvml_default_clock || nvml_default_clock(d, NVML_CLOCK_SM, &mhz) != NVML_OK)
        return 0;
    return mhz;
}

void cu_nvml_close(void)
{
    if (!nvml_lib)
        return;
    nvml_shutdown();
    dlclose(nvml_lib);
    nvml_lib = NULL;
}

/* The members are written in turn into buf; a case whose text outgrows n is cut, and the
 * core then drops it as invalid JSON (and says so) rather than misread it. */
int cu_case_json(cu_hdr *h, char *buf, size_t n)
{
    if (!h || n < 2)
        return -1;
    size_t at = (size_t)snprintf(buf, n, "{");
    if (h->clock_reads)
        at += (size_t)snprintf(buf + at, at < n ? n - at : 0,
                               "\"sm_clock_mhz\": {\"mean\": %.0f, \"min\": %u, \"max\": %u, "
                               "\"reads\": %ld}, ",
                               h->clock_sum_mhz / (double)h->clock_reads, h->clock_min_mhz,
                               h->clock_max_mhz, h->clock_reads);
    else
        at += (size_t)snprintf(buf + at, at < n ? n - at : 0, "\"sm_clock_mhz\": null, ");
    at += (size_t)snprintf(buf + at, at < n ? n - at : 0, "\"discarded_samples\": %ld, ",
                           h->discarded);
    if (at >= n)
        return -1;
    /* case_end runs once per case after the measurement: one profiled run there */
    cu_cupti_pass(h, h->run, (void *)h, 1, buf + at, n - at);
    at += strlen(buf + at);
    if (at + 1 >= n)
        return -1;
    snprintf(buf + at, n - at, "}");
    return 0;
}
