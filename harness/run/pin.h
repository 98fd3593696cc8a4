/* pin.h — pinning the calling process to one core with hwloc, so the scheduler cannot
 * migrate a case mid-measurement (cold caches, another core's clock) and the record
 * says where it ran. Suites choose it with pin = none | auto | core:N. */
#ifndef SONO_PIN_H
#define SONO_PIN_H

#include <stddef.h>

#include "sono.h"

typedef enum {
    SONO_PIN_NONE = 0, /* leave the affinity alone */
    SONO_PIN_AUTO = 1, /* the last core: away from core 0, where interrupts usually land */
    SONO_PIN_CORE = 2  /* core `core`, hwloc's logical index among the cores we may use */
} sono_pin_kind;

typedef struct sono_pin {
    sono_pin_kind kind;
    unsigned core; /* SONO_PIN_CORE only */
} sono_pin;

/* Parse a suite value: "none", "auto" or "core:N" (N decimal, >= 0), exactly. Whether N
 * exists is checked by sono_pin_apply, on the machine that runs. Returns 0, or
 * SONO_EINVAL with err naming the value and the accepted forms. */
int sono_pin_parse(const char *text, sono_pin *pin, sono_error *err);

/* Bind the whole calling process (every thread, threads it starts later, and children
 * it forks later, which inherit the mask: pinning the parent pins its workers) to the
 * first PU (hardware thread) of the chosen core, and write what was done to desc (may be
 * NULL): "none", or "core 1 (PU 1)" with the PU's OS number (what taskset and
 * /proc/cpuinfo call the CPU), plus ", non-strict" after the fallback below.
 * Strict-flag rule: bind with HWLOC_CPUBIND_PROCESS | HWLOC_CPUBIND_STRICT first (the
 * process never runs elsewhere, even when that PU is busy); only if that fails with
 * ENOSYS or EXDEV (the OS cannot bind strictly) retry without STRICT and say so in desc.
 * Any other failure (EPERM, a cgroup excluding that CPU) is an error, never a silent
 * unpinned run.
 * Returns 0; SONO_EINVAL when the core does not exist (err names how many cores there
 * are); SONO_EDEVICE when hwloc or the bind fails (err has strerror). */
int sono_pin_apply(const sono_pin *pin, char *desc, size_t n, sono_error *err);

#endif
