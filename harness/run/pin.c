/* pin.c — the pin setting: parsing the suite's value, and binding with hwloc. Cores are
 * hwloc's logical cores among those this process may use (cgroups and taskset already
 * applied), so "core:N" means the same as in lstopo's default output. */
#include "pin.h"

#include <errno.h>
#include <hwloc.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

int sono_pin_parse(const char *text, sono_pin *pin, sono_error *err)
{
    if (!text)
        return sono_fail(err, SONO_EINVAL, "pin: no value; expected none, auto or core:N");
    if (strcmp(text, "none") == 0) {
        *pin = (sono_pin){.kind = SONO_PIN_NONE};
        return 0;
    }
    if (strcmp(text, "auto") == 0) {
        *pin = (sono_pin){.kind = SONO_PIN_AUTO};
        return 0;
    }
    if (strncmp(text, "core:", 5) == 0) {
        const char *d = text + 5;
        char *end;
        /* strtoul would take "-1" and " 1" and wrap or skip: demand digits only */
        if (*d >= '0' && *d <= '9') {
            errno = 0;
            unsigned long v = strtoul(d, &end, 10);
            if (*end == 0 && errno == 0 && v <= INT_MAX) {
                *pin = (sono_pin){.kind = SONO_PIN_CORE, .core = (unsigned)v};
                return 0;
            }
        }
    }
    return sono_fail(err, SONO_EINVAL,
                     "pin: '%s' is not a pin value; expected none, auto or core:N "
                     "(N a core number from 0)", text);
}

static int bind_pu(hwloc_topology_t topo, hwloc_obj_t pu, int *strict)
{
    *strict = 1;
    int rc = hwloc_set_cpubind(topo, pu->cpuset, HWLOC_CPUBIND_PROCESS | HWLOC_CPUBIND_STRICT);
    if (rc != 0 && (errno == ENOSYS || errno == EXDEV)) {
        *strict = 0;
        rc = hwloc_set_cpubind(topo, pu->cpuset, HWLOC_CPUBIND_PROCESS);
    }
    return rc;
}

int sono_pin_apply(const sono_pin *pin, char *desc, size_t n, sono_error *err)
{
    char tmp[2];
    if (!desc || n == 0) {
        desc = tmp;
        n = sizeof tmp;
    }
    desc[0] = 0;
    if (!pin || pin->kind == SONO_PIN_NONE) {
        snprintf(desc, n, "none");
        return 0;
    }
    hwloc_topology_t topo;
    if (hwloc_topology_init(&topo) != 0)
        return sono_fail(err, SONO_EDEVICE, "pin: hwloc_topology_init failed");
    if (hwloc_topology_load(topo) != 0) {
        hwloc_topology_destroy(topo);
        return sono_fail(err, SONO_EDEVICE, "pin: hwloc_topology_load failed");
    }
    /* Where hwloc finds no core objects (some VMs and ARM boards), every PU is its own
     * core for our purposes. */
    hwloc_obj_type_t unit = HWLOC_OBJ_CORE;
    int ncores = hwloc_get_nbobjs_by_type(topo, unit);
    if (ncores <= 0) {
        unit = HWLOC_OBJ_PU;
        ncores = hwloc_get_nbobjs_by_type(topo, unit);
    }
    int rc = 0;
    if (ncores <= 0) {
        rc = sono_fail(err, SONO_EDEVICE, "pin: hwloc reports no cores or PUs");
        goto out;
    }
    unsigned idx = pin->kind == SONO_PIN_AUTO ? (unsigned)ncores - 1 : pin->core;
    if (idx >= (unsigned)ncores) {
        rc = sono_fail(err, SONO_EINVAL,
                       "pin: core:%u is out of range: this machine has %d core%s "
                       "(core:0..core:%d)", idx, ncores, ncores == 1 ? "" : "s", ncores - 1);
        goto out;
    }
    hwloc_obj_t core = hwloc_get_obj_by_type(topo, unit, idx);
    hwloc_obj_t pu = core ? hwloc_get_obj_inside_cpuset_by_type(topo, core->cpuset,
                                                                 HWLOC_OBJ_PU, 0)
                          : NULL;
    if (!pu) {
        rc = sono_fail(err, SONO_EINTERNAL, "pin: hwloc has core %u but no PU inside it", idx);
        goto out;
    }
    int strict;
    if (bind_pu(topo, pu, &strict) != 0) {
        rc = sono_fail(err, SONO_EDEVICE, "pin: cannot bind to core %u (PU %u): %s", idx,
                       pu->os_index, strerror(errno));
        goto out;
    }
    snprintf(desc, n, "core %u (PU %u)%s", idx, pu->os_index, strict ? "" : ", non-strict");
out:
    hwloc_topology_destroy(topo);
    return rc;
}
