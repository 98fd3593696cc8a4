/* devmem_math.h — the record's "device_mem": what cudaMemGetInfo said before the case's
 * setup and after its measurement (before teardown), as JSON members. Plain C, so
 * tests/test_cuda_math_copy.c checks it without a GPU. */
#ifndef IMPLS_CUDA_DEVMEM_MATH_H
#define IMPLS_CUDA_DEVMEM_MATH_H

#include <stddef.h>
#include <stdio.h>

/* Device bytes the case holds at its end: its setup's buffers, library plans and
 * workspaces (cuFFT, cuBLAS) and any growth of the context. Another process freeing
 * memory meanwhile could make free grow: that reads as 0, not as a wrap-around. */
static inline size_t cu_held_bytes(size_t free_before, size_t free_after)
{
    return free_before > free_after ? free_before - free_after : 0;
}

/* Appends `, "device_mem": {...}` to the JSON object text in buf (which ends in '}'),
 * keeping it one object. Returns 0, or -1 (buf unchanged) when it would not fit. */
static inline int cu_devmem_append(char *buf, size_t n, size_t total, size_t free_before,
                                   size_t free_after)
{
    size_t len = 0;
    while (len < n && buf[len])
        len++;
    if (len == 0 || len >= n || buf[len - 1] != '}')
        return -1;
    char add[256];
    int w = snprintf(add, sizeof add,
                     "%s\"device_mem\": {\"total_bytes\": %zu, \"free_before_setup\": %zu, "
                     "\"free_after_run\": %zu, \"held_bytes\": %zu}}",
                     len > 2 ? ", " : "", total, free_before, free_after,
                     cu_held_bytes(free_before, free_after));
    if (w < 0 || (size_t)w >= sizeof add || len - 1 + (size_t)w + 1 > n)
        return -1;
    snprintf(buf + len - 1, n - (len - 1), "%s", add);
    return 0;
}

#endif
