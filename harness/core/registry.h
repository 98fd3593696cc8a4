/* registry.h — what the harness knows at run time: devices, backends (plugins, available
 * or not, with the reason) and the impls they registered. */
#ifndef SONO_REGISTRY_H
#define SONO_REGISTRY_H

#include "op.h"
#include "sono.h"

#define SONO_MAX_DEVICES 16

typedef struct sono_backend {
    char name[64];
    char path[4096];
    int available;
    char reason[1024]; /* why not available: the loader's message, the plugin's own */
    int nlibs;
    /* name, version; grows as the plugin adds them (no limit: an 8-GPU node's plugin
     * once lost libs past the eighth without a word) */
    char (*libs)[2][128];
    void *handle;
} sono_backend;

typedef struct sono_impl_entry {
    const sono_impl *impl;
    const sono_op *op;
    const sono_device *dev;
    int backend; /* index into backends */
    char full[160]; /* "backend/name" */
} sono_impl_entry;

typedef struct sono_reg {
    sono_backend *backends;
    int nbackends;
    sono_impl_entry *impls;
    int nimpls;
    const sono_device *devices[SONO_MAX_DEVICES];
    int ndevices;
    int device_backend[SONO_MAX_DEVICES]; /* issue 10: who registered it; -1: the core */
} sono_reg;

/* Registers the cpu device. */
int sono_reg_init(sono_reg *R, sono_error *err);
void sono_reg_free(sono_reg *R);

/* dlopen every *.so in dir, in name order; a backend whose name is already loaded is
 * skipped (the first directory wins). Failures never stop the harness: they become an
 * unavailable backend with the loader's message. A missing dir is not an error. */
void sono_reg_load_dir(sono_reg *R, const char *dir);
/* Load one plugin file; returns the backend's index. */
int sono_reg_load_plugin(sono_reg *R, const char *path);

const sono_backend *sono_reg_backend(const sono_reg *R, const char *name);
const sono_backend *sono_reg_backend_of(const sono_reg *R, const sono_impl_entry *e);
const sono_device *sono_reg_device(const sono_reg *R, const char *name);
/* issue 10: the backend that registered device i, or NULL for the core's cpu. */
const sono_backend *sono_reg_device_backend(const sono_reg *R, int i);

/* The impl of op named name: "backend/impl", or "impl" alone when only one backend has
 * an impl of that name for op. NULL with the reason in err when none or ambiguous. */
const sono_impl_entry *sono_reg_find(const sono_reg *R, const sono_op *op, const char *name,
                                     sono_error *err);

/* The impl that plays role (sono.h's SONO_ROLE_*) on devices of device_kind ("cpu",
 * "cuda"): the first registered, preferring one whose backend is available. NULL when no
 * loaded plugin claims it. The core finds its calibration and overhead impls this way,
 * naming none. */
const sono_impl_entry *sono_reg_find_role(const sono_reg *R, const char *role,
                                          const char *device_kind);
/* The same among the impls of backend b only (an index into R->backends): a device is
 * calibrated by its own backend's impls. */
const sono_impl_entry *sono_reg_find_role_in(const sono_reg *R, const char *role,
                                             const char *device_kind, int b);
/* The impl whose run() is empty (role overhead, on the cpu): its time per call is the
 * harness's own cost of a timed call. NULL when no plugin provides one. */
const sono_impl_entry *sono_reg_overhead_impl(const sono_reg *R);

/* The cpu device: CLOCK_MONOTONIC, resolution measured when first asked. */
const sono_device *sono_cpu_device(void);

#endif
