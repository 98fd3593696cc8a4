/* evict.c — the eviction buffer: sized from hwloc's view of the last-level cache, written
 * once at init (page faults out of the way), then read-modify-written line by line on
 * each run; and the exact flush of a known buffer with the CPU's flush instruction. */
#include "evict.h"

#include <hwloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <immintrin.h>
#endif

/* Where hwloc knows no cache (some VMs and containers): as large as the L3 of most
 * single-socket servers, so the 64 MiB buffer still evicts there. */
#define DEFAULT_LLC ((size_t)32 << 20)
/* Passes per run. One pass of a 2 x LLC stream left a reused 4 MiB working set almost
 * entirely cached on an AMD EPYC VM (random chase: 16 ns/load after, 13 warm, ~100
 * after clflush): the L3's replacement resists scans, keeping lines that were re-used
 * over lines touched once. Re-touching the buffer defeats that: 2 passes gave 55-70
 * ns/load, 4 passes 95-155, as cold as clflush. */
#define PASSES 4
/* Step between touched bytes. 64 is the line of every x86 and most ARM cores; a core
 * with 128-byte lines is still covered, each line touched twice. */
#define LINE 64

struct sono_evict {
    unsigned char *buf;
    size_t bytes;       /* streamed per run */
    size_t cache_bytes; /* the cache it was sized from; 0 for the default */
    const char *source; /* "L3", "L2", "default" */
};

/* The sum of every run lands here; volatile, so the loop's loads are observable. */
static volatile unsigned long sink;

/* Largest cache of type t; with several (one L3 per CCX or socket) the calling core's
 * may be any of them, and the largest bounds them all. */
static size_t largest_cache(hwloc_topology_t topo, hwloc_obj_type_t t)
{
    size_t best = 0;
    int n = hwloc_get_nbobjs_by_type(topo, t);
    for (int i = 0; i < n; i++) {
        hwloc_obj_t o = hwloc_get_obj_by_type(topo, t, (unsigned)i);
        if (o && o->attr && o->attr->cache.size > best)
            best = (size_t)o->attr->cache.size;
    }
    return best;
}

int sono_evict_init(sono_evict **out, sono_error *err)
{
    *out = NULL;
    hwloc_topology_t topo;
    if (hwloc_topology_init(&topo) != 0)
        return sono_fail(err, SONO_EDEVICE, "evict: hwloc_topology_init failed");
    if (hwloc_topology_load(topo) != 0) {
        hwloc_topology_destroy(topo);
        return sono_fail(err, SONO_EDEVICE, "evict: hwloc_topology_load failed");
    }
    size_t l3 = largest_cache(topo, HWLOC_OBJ_L3CACHE);
    size_t l2 = l3 ? 0 : largest_cache(topo, HWLOC_OBJ_L2CACHE);
    hwloc_topology_destroy(topo);

    sono_evict *e = calloc(1, sizeof *e);
    if (!e)
        return sono_fail(err, SONO_ENOMEM, "evict: out of memory");
    e->cache_bytes = l3 ? l3 : l2;
    e->source = l3 ? "L3" : l2 ? "L2" : "default";
    size_t llc = e->cache_bytes ? e->cache_bytes : DEFAULT_LLC;
    /* Round up to whole pages: aligned_alloc wants a multiple of the alignment. */
    e->bytes = (2 * llc + 4095) & ~(size_t)4095;
    e->buf = aligned_alloc(4096, e->bytes);
    if (!e->buf) {
        size_t b = e->bytes;
        const char *src = e->source;
        free(e);
        return sono_fail(err, SONO_ENOMEM, "evict: cannot allocate %zu bytes (2 x %s)", b,
                         src);
    }
    memset(e->buf, 1, e->bytes);
    *out = e;
    return 0;
}

void sono_evict_run(sono_evict *e)
{
    if (!e)
        return;
    unsigned char *p = e->buf;
    unsigned long acc = 0;
    for (int pass = 0; pass < PASSES; pass++)
        for (size_t i = 0; i < e->bytes; i += LINE) {
            p[i] = (unsigned char)(p[i] + 1);
            acc += p[i];
        }
    sink += acc;
}

int sono_evict_flush(const void *p, size_t n)
{
    if (!p || n == 0)
        return 0;
    /* Line-aligned start; 64 is the smallest line of the cores below, so no line is
     * skipped (a 128-byte line is flushed twice). */
    uintptr_t a = (uintptr_t)p & ~(uintptr_t)(LINE - 1), end = (uintptr_t)p + n;
#if defined(__SSE2__)
    for (; a < end; a += LINE)
        _mm_clflush((const void *)a);
    _mm_mfence(); /* clflush is ordered only by fences: finish before the timed run */
    return 0;
#elif defined(__aarch64__)
    for (; a < end; a += LINE)
        __asm__ volatile("dc civac, %0" : : "r"(a) : "memory");
    __asm__ volatile("dsb ish" : : : "memory");
    return 0;
#else
    (void)a;
    (void)end;
    return SONO_EUNSUPPORTED;
#endif
}

size_t sono_evict_bytes(const sono_evict *e)
{
    return e ? e->bytes : 0;
}

const char *sono_evict_source(const sono_evict *e, size_t *cache_bytes)
{
    if (cache_bytes)
        *cache_bytes = e ? e->cache_bytes : 0;
    return e ? e->source : "none";
}

void sono_evict_free(sono_evict *e)
{
    if (!e)
        return;
    free(e->buf);
    free(e);
}
