/* device.c — the cuda:N devices: a stream and a pair of events per GPU; time_runs records
 * an event, enqueues k run() calls on that stream, records the second and waits, so the
 * sample is the GPU's own time for the batch (launch gaps included, host noise not).
 * Cold cases get an L2 flush (a memset over an L2-sized buffer) enqueued before the
 * first event; with NVML, a batch run at a throttled SM clock is retaken (time_runs).
 * The case hooks remember the case id for NVTX and report the case's "gpu" JSON. On a
 * machine without a GPU one placeholder cuda:0 exists so the impls can
 * be listed; it refuses to time anything. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cu.h"
#include "devmem_math.h"

static cu_dev devs[CU_MAX_DEVICES];
static int ndevs;

cu_dev *cu_default_device(void)
{
    return &devs[0];
}

int cu_ok(cudaError_t e, const char *call, const char *who, sono_error *err)
{
    if (e == cudaSuccess)
        return 0;
    return sono_fail(err, SONO_EDEVICE, "%s: %s failed: %s (%s)", who, call,
                     cudaGetErrorString(e), cudaGetErrorName(e));
}

int cu_run_ok(cudaError_t e, const char *call, cu_hdr *h)
{
    if (e == cudaSuccess)
        return 0;
    snprintf(h->msg, sizeof h->msg, "%s failed: %s", call, cudaGetErrorString(e));
    return SONO_EDEVICE;
}

int cu_alloc(void **p, size_t bytes, const char *who, sono_error *err)
{
    *p = NULL;
    cudaError_t e = cudaMalloc(p, bytes ? bytes : 1);
    if (e != cudaSuccess) {
        *p = NULL;
        return sono_fail(err, e == cudaErrorMemoryAllocation ? SONO_ENOMEM : SONO_EDEVICE,
                         "%s: cudaMalloc(%zu bytes) failed: %s", who, bytes,
                         cudaGetErrorString(e));
    }
    return 0;
}

void cu_free(void *p)
{
    if (p)
        (void)cudaFree(p); /* teardown has no error to report into; nothing to undo */
}

/* The GPU a case runs on (issue 10): its `device` param, "cuda:N", or cuda:0 when unset.
 * 0, or SONO_EUNSUPPORTED with the reason in why. Reads only what dev_init cached. */
static int pick_device(const sono_params *p, cu_dev **out, char *why, size_t n)
{
    const char *name = sono_param_str(p, "device", "");
    *out = &devs[0];
    if (!name || !*name)
        return 0;
    char *end;
    long i = strncmp(name, "cuda:", 5) == 0 && name[5] >= '0' && name[5] <= '9'
                 ? strtol(name + 5, &end, 10) : -1;
    if (i < 0 || *end) {
        snprintf(why, n, "device=%s: not a CUDA device name (expected cuda:N)", name);
        return SONO_EUNSUPPORTED;
    }
    if (i >= ndevs || !devs[i].ok) {
        snprintf(why, n, "%s not present: %d GPU%s visible", name, ndevs, ndevs == 1 ? "" : "s");
        return SONO_EUNSUPPORTED;
    }
    *out = &devs[i];
    return 0;
}

int cu_supports_common(const sono_params *p, double bytes, char *why, size_t n)
{
    long long threads = sono_param_int(p, "threads", 1);
    if (threads != 1) {
        snprintf(why, n, "GPU impl: threads=1 only (the GPU is not split by threads), got "
                 "threads=%lld", threads);
        return SONO_EUNSUPPORTED;
    }
    cu_dev *d;
    int rc = pick_device(p, &d, why, n);
    if (rc)
        return rc;
    /* leave a tenth for cuFFT/cuBLAS workspaces and the runtime's own */
    if (d->ok && bytes > 0.9 * (double)d->total_mem) {
        snprintf(why, n, "needs %.3g GB of device memory, %s has %.3g GB", bytes * 1e-9,
                 d->name, (double)d->total_mem * 1e-9);
        return SONO_EUNSUPPORTED;
    }
    return 0;
}

int cu_hdr_init(cu_hdr *h, const char *op, const char *impl, int (*run)(void *st),
                const sono_params *p, sono_error *err)
{
    cu_dev *d;
    char why[256];
    if (pick_device(p, &d, why, sizeof why))
        return sono_fail(err, SONO_EUNSUPPORTED, "cuda/%s: %s", impl, why);
    if (!d->ok)
        return sono_fail(err, SONO_EDEVICE, "cuda/%s: no CUDA device", impl);
    h->dev = d;
    h->run = run;
    d->cur = h; /* the case in progress, for case_end */
    h->cold = strcmp(sono_param_str(p, "cache", "hot"), "cold") == 0;
    snprintf(h->label, sizeof h->label, "%s cuda/%s", op, impl);
    return CU_OK(cudaSetDevice(d->index), h->label, err);
}

/* One batch of k runs between the two events: its GPU time into *ns. */
static int time_batch(cu_dev *d, cu_hdr *h, int (*run)(void *st), void *st, long k,
                      double *ns, sono_error *err)
{
    int rc;
    float ms = 0;
    /* Cold: the flush is enqueued before the first event, so it is ordered before the
     * runs on the stream but outside the timed span. (measure's `before` hook evicts the
     * host caches as well; that costs time, not correctness.) */
    if (h->cold && d->flush &&
        (rc = CU_OK(cudaMemsetAsync(d->flush, (int)(h->flush_byte++ & 0xff), d->flush_bytes,
                                    d->stream), d->name, err)))
        return rc;
    cu_range_push(h, "run batch");
    if ((rc = CU_OK(cudaEventRecord(d->ev0, d->stream), d->name, err))) {
        cu_range_pop();
        return rc;
    }
    for (long i = 0; i < k; i++) {
        h->msg[0] = 0;
        if ((rc = run(st))) {
            (void)cudaStreamSynchronize(d->stream); /* leave nothing in flight */
            cu_range_pop();
            return sono_fail(err, rc, "%s: run() failed on call %ld of %ld: %s", h->label,
                             i + 1, k, h->msg[0] ? h->msg : "(no message)");
        }
    }
    rc = CU_OK(cudaEventRecord(d->ev1, d->stream), d->name, err);
    if (!rc)
        rc = CU_OK(cudaEventSynchronize(d->ev1), h->label, err);
    cu_range_pop();
    /* a kernel that failed to launch or faulted shows up here */
    if (!rc)
        rc = CU_OK(cudaGetLastError(), h->label, err);
    if (!rc)
        rc = CU_OK(cudaEventElapsedTime(&ms, d->ev0, d->ev1), d->name, err);
    if (!rc)
        *ns = (double)ms * 1e6;
    return rc;
}

enum { CU_THROTTLE_RETRIES = 5 }; /* then the sample is kept, throttled or not */

/* A batch, and the SM clock read right after it. With NVML, a batch that ended below
 * 75 % of the default application clock ran throttled (power, heat): it is discarded,
 * and after 50 ms to recover taken again, at most CU_THROTTLE_RETRIES times. */
static int time_runs(const sono_device *sd, int (*run)(void *st), void *st, long k,
                     double *ns, sono_error *err)
{
    cu_dev *d = (cu_dev *)sd;
    cu_hdr *h = st;
    int rc;

    if (!d->ok)
        return sono_fail(err, SONO_EDEVICE, "%s: no CUDA device", d->name);
    if ((rc = CU_OK(cudaSetDevice(d->index), d->name, err)))
        return rc;
    unsigned dflt = cu_nvml_default_sm_clock(d->index);
    for (int attempt = 0;; attempt++) {
        if ((rc = time_batch(d, h, run, st, k, ns, err)))
            return rc;
        unsigned mhz = cu_nvml_sm_clock(d->index);
        if (mhz) {
            h->clock_sum_mhz += mhz;
            if (!h->clock_reads || mhz < h->clock_min_mhz)
                h->clock_min_mhz = mhz;
            if (mhz > h->clock_max_mhz)
                h->clock_max_mhz = mhz;
            h->clock_reads++;
        }
        if (!mhz || !dflt || 4.0 * mhz >= 3.0 * dflt || attempt == CU_THROTTLE_RETRIES)
            return 0;
        h->discarded++;
        nanosleep(&(struct timespec){.tv_nsec = 50 * 1000 * 1000}, NULL);
    }
}

/* The core's case hooks (sono.h): the id names the NVTX ranges; the state the impl's
 * setup made (cu_hdr_init) is what case_end reports on. */
static void case_begin(const sono_device *sd, const char *case_id)
{
    cu_dev *d = (cu_dev *)sd;
    snprintf(d->case_id, sizeof d->case_id, "%s", case_id ? case_id : "");
    d->cur = NULL;
    size_t fr, total;
    d->mem_known = d->ok && cudaSetDevice(d->index) == cudaSuccess &&
                   cudaMemGetInfo(&fr, &total) == cudaSuccess;
    d->mem_free0 = d->mem_known ? fr : 0;
}

static int case_end(const sono_device *sd, char *json, size_t n)
{
    cu_dev *d = (cu_dev *)sd;
    /* what the case holds on the device, read before the profiled pass and teardown */
    size_t fr = 0, total = 0;
    int mem = d->ok && d->cur && d->mem_known && cudaSetDevice(d->index) == cudaSuccess &&
              cudaMemGetInfo(&fr, &total) == cudaSuccess;
    int rc = d->ok && d->cur ? cu_case_json(d->cur, json, n) : -1;
    if (rc == 0 && mem)
        (void)cu_devmem_append(json, n, total, d->mem_free0, fr);
    d->cur = NULL; /* the impl's teardown comes next: never read it after */
    d->case_id[0] = 0;
    return rc;
}

/* What an empty batch reads: the two event records and their elapsed time, averaged. */
static double measure_overhead(cu_dev *d)
{
    double sum = 0;
    int n = 0;
    for (int i = 0; i < 50; i++) {
        float ms;
        if (cudaEventRecord(d->ev0, d->stream) != cudaSuccess ||
            cudaEventRecord(d->ev1, d->stream) != cudaSuccess ||
            cudaEventSynchronize(d->ev1) != cudaSuccess ||
            cudaEventElapsedTime(&ms, d->ev0, d->ev1) != cudaSuccess)
            return 0;
        if (i >= 10) { /* the first records pay for lazy initialisation */
            sum += (double)ms * 1e6;
            n++;
        }
    }
    return n ? sum / n : 0;
}

static void dev_release(cu_dev *d)
{
    if (!d->ok)
        return;
    (void)cudaSetDevice(d->index);
    cu_free(d->flush);
    if (d->ev0)
        (void)cudaEventDestroy(d->ev0);
    if (d->ev1)
        (void)cudaEventDestroy(d->ev1);
    if (d->stream)
        (void)cudaStreamDestroy(d->stream);
    d->flush = NULL;
    d->ev0 = d->ev1 = NULL;
    d->stream = NULL;
    d->ok = 0;
}

/* The GPU's name and what bounds its speed, for the device's summary (env.gpus and
 * harness calibrate show it, so an H100's results are told from an H200's). */
static void describe_gpu(cu_dev *d)
{
    const struct cudaDeviceProp *p = &d->prop;
    int sm_khz = 0, mem_khz = 0;
    /* clock rates left cudaDeviceProp in CUDA 13: the attributes still give them */
    (void)cudaDeviceGetAttribute(&sm_khz, cudaDevAttrClockRate, d->index);
    (void)cudaDeviceGetAttribute(&mem_khz, cudaDevAttrMemoryClockRate, d->index);
    snprintf(d->summary, sizeof d->summary,
             "%s; sm_%d%d; %d SMs; sm_clock %d MHz; mem %.1f GiB; mem_clock %d MHz; "
             "bus %d bit; L2 %d KiB",
             p->name, p->major, p->minor, p->multiProcessorCount, sm_khz / 1000,
             (double)p->totalGlobalMem / (1024.0 * 1024 * 1024), mem_khz / 1000,
             p->memoryBusWidth, p->l2CacheSize / 1024);
}

static int dev_init(cu_dev *d, int index, sono_error *err)
{
    int rc, l2 = 0;
    d->index = index;
    snprintf(d->name, sizeof d->name, "cuda:%d", index);
    if ((rc = CU_OK(cudaSetDevice(index), d->name, err)) ||
        (rc = CU_OK(cudaGetDeviceProperties(&d->prop, index), d->name, err)) ||
        (rc = CU_OK(cudaDeviceGetAttribute(&l2, cudaDevAttrL2CacheSize, index), d->name, err)))
        return rc;
    d->total_mem = d->prop.totalGlobalMem;
    d->ok = 1; /* from here dev_release undoes what was made */
    if ((rc = CU_OK(cudaStreamCreateWithFlags(&d->stream, cudaStreamNonBlocking), d->name,
                    err)) ||
        (rc = CU_OK(cudaEventCreate(&d->ev0), d->name, err)) ||
        (rc = CU_OK(cudaEventCreate(&d->ev1), d->name, err)))
        goto fail;
    /* twice L2, as the host eviction does: L2 is not strictly LRU */
    d->flush_bytes = (size_t)(l2 > 0 ? l2 : 50 << 20) * 2;
    if ((rc = cu_alloc(&d->flush, d->flush_bytes, d->name, err)))
        goto fail;
    describe_gpu(d);
    d->dev = (sono_device){.abi = SONO_ABI_VERSION, .name = d->name, .kind = "cuda",
                           .resolution_ns = 500.0, /* cudaEventElapsedTime: ~0.5 us */
                           .ctx = d, .time_runs = time_runs, .case_begin = case_begin,
                           .case_end = case_end, .summary = d->summary, .index = index};
    d->dev.overhead_ns = measure_overhead(d);
    return 0;
fail:
    dev_release(d);
    return rc;
}

/* Issue 27: why the runtime found no device, in words. It says "CUDA driver version is
 * insufficient for CUDA runtime version" both where there is no driver at all (a machine
 * without an NVIDIA GPU) and where the driver is older than the runtime: tell them apart
 * by the driver's own library and version, and its kernel module. */
static void no_device_why(cudaError_t e, char *why, size_t n)
{
    const char *rt_msg = cudaGetErrorString(e);
    if (e != cudaErrorInsufficientDriver && e != cudaErrorNoDevice) {
        snprintf(why, n, "%s", rt_msg);
        return;
    }
    void *h = dlopen("libcuda.so.1", RTLD_LAZY | RTLD_LOCAL);
    if (!h) {
        snprintf(why, n, "no NVIDIA driver/GPU found (the driver's libcuda.so.1 is not "
                 "installed)");
        return;
    }
    int rt = 0, dv = 0;
    cudaRuntimeGetVersion(&rt);
    int (*get)(int *) = (int (*)(int *))dlsym(h, "cuDriverGetVersion");
    if (get && get(&dv) == 0 && dv > 0 && rt > 0 && dv < rt)
        snprintf(why, n, "the NVIDIA driver supports CUDA %d.%d, older than this build's "
                 "runtime %d.%d: update the driver (%s)", dv / 1000, dv % 1000 / 10,
                 rt / 1000, rt % 1000 / 10, rt_msg);
    else if (access("/proc/driver/nvidia/version", F_OK) != 0)
        snprintf(why, n, "no NVIDIA driver/GPU found (libcuda.so.1 is installed but the "
                 "kernel driver is not loaded: no /proc/driver/nvidia)");
    else if (e == cudaErrorNoDevice)
        snprintf(why, n, "no NVIDIA GPU found (the driver sees none)");
    else
        snprintf(why, n, "%s", rt_msg);
    dlclose(h);
}

/* Opens every visible GPU. 0 with *count set, or the reason (in err) none can be used:
 * "no CUDA device: <runtime's message>". The placeholder cuda:0 is made either way. */
int cu_devices_open(int *count, sono_error *err)
{
    int n = 0, rc = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    *count = 0;
    if (e != cudaSuccess || n <= 0) {
        char why[400];
        if (e != cudaSuccess)
            no_device_why(e, why, sizeof why);
        else
            snprintf(why, sizeof why, "cudaGetDeviceCount found 0 devices");
        rc = sono_fail(err, SONO_EDEVICE, "no CUDA device: %s", why);
        (void)cudaGetLastError(); /* clear the sticky-free error for later calls */
        n = 0;
    }
    if (n > CU_MAX_DEVICES)
        n = CU_MAX_DEVICES;
    for (int i = 0; i < n; i++) {
        sono_error e2 = {0};
        if (dev_init(&devs[i], i, &e2)) {
            if (i == 0) { /* the impls run on cuda:0: without it the backend cannot */
                rc = sono_fail(err, SONO_EDEVICE, "no usable CUDA device: %s", e2.msg);
                break;
            }
            n = i; /* keep the devices before it */
            break;
        }
        ndevs = i + 1;
    }
    if (!devs[0].ok) {
        snprintf(devs[0].name, sizeof devs[0].name, "cuda:0");
        devs[0].dev = (sono_device){.abi = SONO_ABI_VERSION, .name = devs[0].name,
                                    .kind = "cuda", .resolution_ns = 500.0, .ctx = &devs[0],
                                    .time_runs = time_runs};
        *count = 1;
        return rc ? rc : sono_fail(err, SONO_EDEVICE, "no CUDA device");
    }
    *count = ndevs;
    return 0;
}

const sono_device *cu_device_at(int i)
{
    return &devs[i].dev;
}

void cu_devices_close(void)
{
    for (int i = 0; i < ndevs; i++)
        dev_release(&devs[i]);
    ndevs = 0;
}
