/* cupti.c — one profiled pass per case: CUPTI activity records of every kernel and
 * memcpy/memset of k more runs, summed per kernel name. A pass of its own (as the PAPI
 * pass on the CPU), since activity tracing slows launches; the timed samples never run
 * under it. The summary goes into the record's "gpu" object through case_end. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cupti.h>

#include "cu.h"

#define MAX_KERNELS 32

typedef struct kstat {
    char name[96];
    long calls;
    double total_ns;
} kstat;

/* The completion callback has no user pointer: the pass in progress lives here. The
 * harness runs one case at a time per process, so one is enough. */
static struct {
    kstat k[MAX_KERNELS];
    int nk;
    long dropped_kernels; /* names beyond MAX_KERNELS */
    double memcpy_bytes, memset_bytes;
    int registered;
} pass;

static void CUPTIAPI buffer_requested(uint8_t **buffer, size_t *size, size_t *max_records)
{
    *size = 1 << 20;
    *buffer = aligned_alloc(8, *size);
    if (!*buffer)
        *size = 0;
    *max_records = 0;
}

static void add_kernel(const char *name, double ns)
{
    for (int i = 0; i < pass.nk; i++)
        if (strncmp(pass.k[i].name, name, sizeof pass.k[i].name - 1) == 0) {
            pass.k[i].calls++;
            pass.k[i].total_ns += ns;
            return;
        }
    if (pass.nk == MAX_KERNELS) {
        pass.dropped_kernels++;
        return;
    }
    kstat *k = &pass.k[pass.nk++];
    snprintf(k->name, sizeof k->name, "%s", name ? name : "?");
    k->calls = 1;
    k->total_ns = ns;
}

static void CUPTIAPI buffer_completed(CUcontext ctx, uint32_t stream, uint8_t *buffer,
                                      size_t size, size_t valid)
{
    CUpti_Activity *rec = NULL;
    (void)ctx;
    (void)stream;
    (void)size;
    while (buffer && cuptiActivityGetNextRecord(buffer, valid, &rec) == CUPTI_SUCCESS) {
        if (rec->kind == CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL ||
            rec->kind == CUPTI_ACTIVITY_KIND_KERNEL) {
            const CUpti_ActivityKernel10 *k = (const CUpti_ActivityKernel10 *)rec;
            add_kernel(k->name, (double)(k->end - k->start));
        } else if (rec->kind == CUPTI_ACTIVITY_KIND_MEMCPY) {
            pass.memcpy_bytes += (double)((const CUpti_ActivityMemcpy6 *)rec)->bytes;
        } else if (rec->kind == CUPTI_ACTIVITY_KIND_MEMSET) {
            pass.memset_bytes += (double)((const CUpti_ActivityMemset4 *)rec)->bytes;
        }
    }
    free(buffer);
}

static int by_time_desc(const void *a, const void *b)
{
    double x = ((const kstat *)a)->total_ns, y = ((const kstat *)b)->total_ns;
    return x < y ? 1 : x > y ? -1 : 0;
}

/* Kernel names are C++ signatures: a quote or backslash would end the JSON string. */
static void json_safe(const char *in, char *out, size_t n)
{
    size_t i = 0;
    for (; in[i] && i + 1 < n; i++)
        out[i] = in[i] == '"' || in[i] == '\\' || (unsigned char)in[i] < 0x20 ? '?' : in[i];
    out[i] = 0;
}

static int cupti_fail(CUptiResult r, const char *call, char *buf, size_t n)
{
    const char *s = NULL;
    cuptiGetResultString(r, &s);
    snprintf(buf, n, "\"cupti_unavailable\": \"%s failed: %s\"", call, s ? s : "?");
    return SONO_EDEVICE;
}
#define CUPTI_OK(call) ((r = (call)) == CUPTI_SUCCESS ? 0 : cupti_fail(r, #call, buf, n))

static const CUpti_ActivityKind kinds[] = {CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL,
                                           CUPTI_ACTIVITY_KIND_MEMCPY,
                                           CUPTI_ACTIVITY_KIND_MEMSET};

int cu_cupti_pass(cu_hdr *h, int (*run)(void *st), void *st, long k, char *buf, size_t n)
{
    CUptiResult r;
    int rc = 0, enabled = 0;

    if (!run) {
        snprintf(buf, n, "\"cupti_unavailable\": \"no run()\"");
        return SONO_EINVAL;
    }
    memset(pass.k, 0, sizeof pass.k);
    pass.nk = 0;
    pass.dropped_kernels = 0;
    pass.memcpy_bytes = pass.memset_bytes = 0;
    if (!pass.registered) {
        if ((rc = CUPTI_OK(cuptiActivityRegisterCallbacks(buffer_requested,
                                                          buffer_completed))))
            return rc;
        pass.registered = 1;
    }
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++, enabled++)
        if ((rc = CUPTI_OK(cuptiActivityEnable(kinds[i]))))
            break;
    cu_range_push(h, "profiled pass");
    for (long i = 0; !rc && i < k; i++)
        if (run(st)) {
            snprintf(buf, n, "\"cupti_unavailable\": \"run() failed\"");
            rc = SONO_EDEVICE;
        }
    if (cudaStreamSynchronize(h->dev->stream) != cudaSuccess && !rc) {
        snprintf(buf, n, "\"cupti_unavailable\": \"cudaStreamSynchronize failed\"");
        rc = SONO_EDEVICE;
    }
    cu_range_pop();
    for (int i = 0; i < enabled; i++)
        cuptiActivityDisable(kinds[i]);
    /* forced: hand over the partly filled buffers now, not at exit */
    if (!rc)
        rc = CUPTI_OK(cuptiActivityFlushAll(CUPTI_ACTIVITY_FLAG_FLUSH_FORCED));
    else
        cuptiActivityFlushAll(CUPTI_ACTIVITY_FLAG_FLUSH_FORCED);
    if (rc)
        return rc;

    /* the most time first: "top" kernels */
    qsort(pass.k, (size_t)pass.nk, sizeof pass.k[0], by_time_desc);
    /* per run, as reports/README.md's gpu.top_kernels reads them */
    double runs = (double)k;
    size_t at = (size_t)snprintf(buf, n, "\"runs\": %ld, \"top_kernels\": [", k);
    for (int i = 0; i < pass.nk && at < n; i++) {
        char name[sizeof pass.k[i].name];
        json_safe(pass.k[i].name, name, sizeof name);
        at += (size_t)snprintf(buf + at, n - at,
                               "%s{\"name\": \"%s\", \"ns\": %.1f, \"calls\": %.6g, "
                               "\"mean_ns\": %.1f}",
                               i ? ", " : "", name, pass.k[i].total_ns / runs,
                               (double)pass.k[i].calls / runs,
                               pass.k[i].total_ns / (double)pass.k[i].calls);
    }
    if (at < n)
        snprintf(buf + at, n - at,
                 "], \"other_kernels\": %ld, \"memcpy_bytes\": %.0f, \"memset_bytes\": %.0f",
                 pass.dropped_kernels, pass.memcpy_bytes, pass.memset_bytes);
    return 0;
}
