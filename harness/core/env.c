/* env.c — collects the environment record. CPU topology and caches come from hwloc;
 * the compiler, flags and git commit are baked in at build time by the Makefile. */
#include "env.h"

#include <hwloc.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "version.h"

#ifndef SONO_CFLAGS
#define SONO_CFLAGS "unknown"
#endif
#ifndef SONO_GIT
#define SONO_GIT "unknown"
#endif

const char *sono_env_git(void)
{
    return SONO_GIT;
}

void sono_env_hostname(char *buf, size_t n)
{
    if (gethostname(buf, n) != 0)
        snprintf(buf, n, "unknown");
    buf[n - 1] = 0;
}

/* The first line of file starting with key, value after the ':' or '='. */
static void read_field(const char *file, const char *key, char *out, size_t n)
{
    snprintf(out, n, "unknown");
    FILE *f = fopen(file, "r");
    if (!f)
        return;
    char line[512];
    size_t klen = strlen(key);
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, key, klen) != 0)
            continue;
        char *v = line + klen + strspn(line + klen, " \t:=\"");
        v[strcspn(v, "\"\n")] = 0;
        snprintf(out, n, "%s", v);
        break;
    }
    fclose(f);
}

static json_t *cpu_json(void)
{
    char model[256];
    read_field("/proc/cpuinfo", "model name", model, sizeof model);
    json_t *cpu = json_pack("{s:s}", "model", model);
    hwloc_topology_t topo;
    if (hwloc_topology_init(&topo) != 0)
        return cpu;
    if (hwloc_topology_load(topo) == 0) {
        json_object_set_new(cpu, "packages", json_integer(
            hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PACKAGE)));
        json_object_set_new(cpu, "cores", json_integer(
            hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_CORE)));
        json_object_set_new(cpu, "pus", json_integer(
            hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PU)));
        static const struct { hwloc_obj_type_t t; const char *name; } caches[] = {
            {HWLOC_OBJ_L1CACHE, "l1d"}, {HWLOC_OBJ_L2CACHE, "l2"}, {HWLOC_OBJ_L3CACHE, "l3"}};
        json_t *cj = json_object();
        for (size_t i = 0; i < sizeof caches / sizeof caches[0]; i++) {
            hwloc_obj_t o = hwloc_get_obj_by_type(topo, caches[i].t, 0);
            if (o && o->attr)
                json_object_set_new(cj, caches[i].name, json_pack("{s:I, s:i}",
                                    "bytes", (json_int_t)o->attr->cache.size, "count",
                                    hwloc_get_nbobjs_by_type(topo, caches[i].t)));
        }
        json_object_set_new(cpu, "caches", cj);
    }
    hwloc_topology_destroy(topo);
    return cpu;
}

json_t *sono_env_json(const sono_reg *R)
{
    char host[256], os[256];
    struct utsname u;
    sono_env_hostname(host, sizeof host);
    read_field("/etc/os-release", "PRETTY_NAME", os, sizeof os);
    if (uname(&u) != 0)
        memset(&u, 0, sizeof u);

    json_t *libs = json_object();
    char hw[32];
    snprintf(hw, sizeof hw, "%d.%d.%d", HWLOC_API_VERSION >> 16,
             (HWLOC_API_VERSION >> 8) & 0xff, HWLOC_API_VERSION & 0xff);
    json_object_set_new(libs, "hwloc_api", json_string(hw));
    json_object_set_new(libs, "jansson", json_string(JANSSON_VERSION));
    json_t *backends = json_object();
    for (int i = 0; i < R->nbackends; i++) {
        const sono_backend *b = &R->backends[i];
        for (int j = 0; j < b->nlibs; j++)
            json_object_set_new(libs, b->libs[j][0], json_string(b->libs[j][1]));
        json_t *bj = json_pack("{s:s, s:b}", "path", b->path, "available", b->available);
        if (!b->available)
            json_object_set_new(bj, "reason", json_string(b->reason));
        json_object_set_new(backends, b->name, bj);
    }
    /* Each device that describes itself (sono.h's summary: "NVIDIA H200; sm_90; 132 SMs;
     * ...") is a GPU listed apart, so compare and fleet tell an H100's results from an
     * H200's by env.gpus[].name. */
    json_t *gpus = json_array();
    for (int i = 0; i < R->ndevices; i++) {
        const sono_device *d = R->devices[i];
        if (!d->summary || !d->summary[0])
            continue;
        const char *semi = strchr(d->summary, ';');
        json_array_append_new(gpus, json_pack("{s:i, s:s%, s:s}", "index", d->index, "name",
                                              d->summary,
                                              semi ? (size_t)(semi - d->summary)
                                                   : strlen(d->summary),
                                              "summary", d->summary));
    }
    json_t *devices = json_array();
    for (int i = 0; i < R->ndevices; i++)
        json_array_append_new(devices, json_pack("{s:s, s:s, s:f, s:f}", "name",
                              R->devices[i]->name, "kind", R->devices[i]->kind,
                              "clock_resolution_ns", R->devices[i]->resolution_ns,
                              "clock_overhead_ns", R->devices[i]->overhead_ns));
    return json_pack("{s:s, s:o, s:s, s:s, s:s, s:{s:s, s:s}, s:o, s:o, s:o, s:s, s:s, "
                     "s:o}",
                     "host", host, "cpu", cpu_json(), "os", os, "kernel", u.release,
                     "machine", u.machine, "compiler", "version", __VERSION__, "flags",
                     SONO_CFLAGS, "libs", libs, "backends", backends, "devices", devices,
                     "git", SONO_GIT, "harness", SONO_VERSION, "gpus", gpus);
}
