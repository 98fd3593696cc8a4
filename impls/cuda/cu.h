/* cu.h — what the cuda backend's host files share: the cuda:N devices (one stream, two
 * timing events and an L2-sized flush buffer each), the header every impl state begins
 * with (so the device's time_runs can find the case's stream, cold flag and clock tally),
 * and error checks that name the failing call and the runtime's message. */
#ifndef IMPLS_CUDA_CU_H
#define IMPLS_CUDA_CU_H

#include <cuda_runtime_api.h>

#include "sono.h"

#define CU_MAX_DEVICES 16

struct cu_hdr;

/* One visible GPU. `dev` comes first: time_runs gets &dev and casts back. Every impl
 * enqueues on `stream`, the one stream the device times with its events. case_id and cur
 * are the case in progress (the core's case_begin, then the impl's setup), for the NVTX
 * range names and case_end's JSON. */
typedef struct cu_dev {
    sono_device dev;
    char name[16];         /* "cuda:0" */
    char summary[256];     /* dev.summary: "NVIDIA H200; sm_90; 132 SMs; ..." */
    int index;             /* the runtime's device ordinal */
    int ok;                /* 0: placeholder on a machine with no GPU; time_runs refuses */
    cudaStream_t stream;
    cudaEvent_t ev0, ev1;
    void *flush;           /* L2-sized buffer memset before a cold batch */
    size_t flush_bytes;
    size_t total_mem;      /* cached for supports(), which must not touch the device */
    struct cudaDeviceProp prop;
    char case_id[256];     /* "" outside a case: ranges then fall back to the label */
    struct cu_hdr *cur;    /* the state set up for case_id; NULL until its setup */
    size_t mem_free0;      /* cudaMemGetInfo's free bytes at case_begin (before setup) */
    int mem_known;         /* mem_free0 was read */
} cu_dev;

/* The first member of every cuda impl's state. time_runs reads it: the device, whether
 * the case is cold (flush L2 before the batch), the NVTX label, and the SM clock tally
 * (read through NVML after each batch when NVML is there). msg: run()'s last failure,
 * since run() has no sono_error of its own. */
typedef struct cu_hdr {
    cu_dev *dev;
    int cold;
    unsigned flush_byte;   /* changes per flush, so the memset writes every line */
    char label[64];        /* "fft cuda/cufft" */
    double clock_sum_mhz;
    long clock_reads;
    unsigned clock_min_mhz, clock_max_mhz;
    long discarded;        /* batches retaken because the SM clock was throttled */
    char msg[256];
    int (*run)(void *st);  /* the impl's run, for the profiled pass in case_end */
} cu_hdr;

/* The device impls run on (cuda:0), or NULL before init; and whether a GPU is there. */
cu_dev *cu_default_device(void);
/* Fill h for the case: device, cold flag from the `cache` param, the label. */
int cu_hdr_init(cu_hdr *h, const char *op, const char *impl, int (*run)(void *st),
                const sono_params *p, sono_error *err);
/* The case's JSON object for the record's "gpu" (sono.h's case_end): the CUPTI pass
 * (top_kernels, memcpy_bytes), the SM clock tally and discarded_samples. 0, or -1 when
 * no case state was set up. */
int cu_case_json(cu_hdr *h, char *buf, size_t n);

/* Checks a runtime call: 0, or SONO_EDEVICE with "<who>: <call> failed: <message>". */
int cu_ok(cudaError_t e, const char *call, const char *who, sono_error *err);
#define CU_OK(call, who, err) cu_ok((call), #call, (who), (err))
/* For run(): the message goes to h->msg and run() returns SONO_EDEVICE. */
int cu_run_ok(cudaError_t e, const char *call, cu_hdr *h);
#define CU_RUN(call, h) cu_run_ok((call), #call, (h))

/* Device buffers: NULL-safe free; alloc reports bytes and the message. */
int cu_alloc(void **p, size_t bytes, const char *who, sono_error *err);
void cu_free(void *p);

/* The common supports() gate of every cuda impl: threads=1 (the GPU is not threaded
 * by the case), and bytes of device memory the case needs within what the GPU has. */
int cu_supports_common(const sono_params *p, double bytes, char *why, size_t n);

/* NVTX ranges around the phases: "<case id> <phase>" ("<label> <phase>" outside a case). */
void cu_range_push(const cu_hdr *h, const char *phase);
void cu_range_pop(void);

/* NVML (dlopen'd at run time): the SM clock of device index in MHz; 0 if unavailable. */
int cu_nvml_init(void);
unsigned cu_nvml_sm_clock(int index);
/* The SM's default application clock in MHz (what it runs at unthrottled); 0 if unknown. */
unsigned cu_nvml_default_sm_clock(int index);
void cu_nvml_close(void);

/* CUPTI: one extra pass of k runs with kernel and memcpy activity recorded, summarised
 * per run as the members of a JSON object, without its braces:
 * "top_kernels": [{name, ns, calls, mean_ns}], "memcpy_bytes": N, ... (ns and calls per
 * run, the names reports/README.md gives). Returns 0, or SONO_EDEVICE / SONO_EINVAL with
 * "cupti_unavailable": "<reason>" in buf. */
int cu_cupti_pass(cu_hdr *h, int (*run)(void *st), void *st, long k, char *buf, size_t n);

#endif
