/* registry.c — plugin loading and the tables of devices, backends and impls. A plugin is
 * dlopen'ed with RTLD_NOW|RTLD_LOCAL and handed a sono_registry whose callbacks land
 * here; anything wrong with it (missing library, bad ABI, init error) makes its backend
 * unavailable with the reason, never stops the harness. */
#include "registry.h"

#include <dirent.h>
#include <dlfcn.h>
#include <signal.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

typedef struct loading {
    sono_registry api; /* first, so the callbacks can cast back */
    sono_reg *R;
    int backend;
} loading;

static int grow(void **arr, int count, size_t size)
{
    if (count % 16)
        return 0;
    void *p = realloc(*arr, (size_t)(count + 16) * size);
    if (!p)
        return SONO_ENOMEM;
    *arr = p;
    return 0;
}

int sono_reg_init(sono_reg *R, sono_error *err)
{
    (void)err;
    memset(R, 0, sizeof *R);
    R->device_backend[R->ndevices] = -1;
    R->devices[R->ndevices++] = sono_cpu_device();
    return 0;
}

void sono_reg_free(sono_reg *R)
{
    for (int i = 0; i < R->nbackends; i++) {
        if (R->backends[i].handle)
            dlclose(R->backends[i].handle);
        free(R->backends[i].libs);
    }
    free(R->backends);
    free(R->impls);
    memset(R, 0, sizeof *R);
}

const sono_device *sono_reg_device(const sono_reg *R, const char *name)
{
    for (int i = 0; i < R->ndevices; i++)
        if (strcmp(R->devices[i]->name, name) == 0)
            return R->devices[i];
    return NULL;
}

const sono_backend *sono_reg_device_backend(const sono_reg *R, int i)
{
    int b = i >= 0 && i < R->ndevices ? R->device_backend[i] : -1;
    return b >= 0 ? &R->backends[b] : NULL;
}

const sono_backend *sono_reg_backend(const sono_reg *R, const char *name)
{
    for (int i = 0; i < R->nbackends; i++)
        if (strcmp(R->backends[i].name, name) == 0)
            return &R->backends[i];
    return NULL;
}

const sono_backend *sono_reg_backend_of(const sono_reg *R, const sono_impl_entry *e)
{
    return &R->backends[e->backend];
}

static void unavailable(sono_backend *b, const char *reason)
{
    if (b->available || !b->reason[0]) /* keep the first reason: it is the cause */
        snprintf(b->reason, sizeof b->reason, "%s", reason);
    b->available = 0;
}

static int add_impl(sono_registry *r, const sono_impl *impl)
{
    loading *L = (loading *)r;
    sono_reg *R = L->R;
    sono_backend *b = &R->backends[L->backend];
    char why[512];
    if (!impl || impl->abi != SONO_ABI_VERSION) {
        snprintf(why, sizeof why, "%s: impl built for ABI %d, the harness has ABI %d",
                 b->path, impl ? impl->abi : -1, SONO_ABI_VERSION);
        unavailable(b, why);
        return SONO_EABI;
    }
    const sono_op *op = impl->op ? sono_op_find(impl->op) : NULL;
    const sono_device *dev = impl->device ? sono_reg_device(R, impl->device) : NULL;
    if (!op || !dev || !impl->name || !impl->setup || !impl->load || !impl->run ||
        !impl->store || !impl->teardown || !impl->supports) {
        snprintf(why, sizeof why, "%s: impl '%s' %s", b->path, impl->name ? impl->name : "?",
                 !op ? "names an unknown op" : !dev ? "names an unknown device"
                                                    : "lacks a required callback");
        unavailable(b, why);
        return SONO_EINVAL;
    }
    for (int i = 0; i < R->nimpls; i++)
        if (R->impls[i].op == op && R->impls[i].backend == L->backend &&
            strcmp(R->impls[i].impl->name, impl->name) == 0) {
            snprintf(why, sizeof why, "%s: impl '%s' of op %s registered twice", b->path,
                     impl->name, op->name);
            unavailable(b, why);
            return SONO_EINVAL;
        }
    if (grow((void **)&R->impls, R->nimpls, sizeof *R->impls))
        return SONO_ENOMEM;
    sono_impl_entry *e = &R->impls[R->nimpls++];
    *e = (sono_impl_entry){.impl = impl, .op = op, .dev = dev, .backend = L->backend};
    snprintf(e->full, sizeof e->full, "%s/%s", b->name, impl->name);
    return 0;
}

static int add_device(sono_registry *r, const sono_device *dev)
{
    loading *L = (loading *)r;
    if (!dev || dev->abi != SONO_ABI_VERSION || !dev->name || !dev->time_runs)
        return SONO_EINVAL;
    if (sono_reg_device(L->R, dev->name) || L->R->ndevices >= SONO_MAX_DEVICES)
        return SONO_EINVAL;
    L->R->device_backend[L->R->ndevices] = L->backend;
    L->R->devices[L->R->ndevices++] = dev;
    return 0;
}

static void set_unavailable(sono_registry *r, const char *reason)
{
    loading *L = (loading *)r;
    unavailable(&L->R->backends[L->backend], reason ? reason : "(no reason given)");
}

static void add_lib(sono_registry *r, const char *name, const char *version)
{
    loading *L = (loading *)r;
    sono_backend *b = &L->R->backends[L->backend];
    if (!name || !version)
        return;
    if (grow((void **)&b->libs, b->nlibs, sizeof *b->libs)) {
        /* add_lib returns nothing: the loss is told where every backend's trouble is */
        unavailable(b, "out of memory recording the versions of its libraries");
        return;
    }
    snprintf(b->libs[b->nlibs][0], sizeof b->libs[0][0], "%s", name);
    snprintf(b->libs[b->nlibs][1], sizeof b->libs[0][1], "%s", version);
    b->nlibs++;
}

/* A plugin that crashes inside sono_plugin_init takes the process with it; at least the
 * last words name it, so the user knows which .so to move out of the way. */
static char crash_note[4200];
static size_t crash_note_len;

static void init_crashed(int sig)
{
    if (write(STDERR_FILENO, crash_note, crash_note_len) < 0) {
        /* nothing more can be done in a signal handler */
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

static int guarded_init(sono_plugin_init_fn init, sono_registry *api, const char *path,
                        sono_error *err)
{
    static const int sigs[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};
    struct sigaction sa = {.sa_handler = init_crashed}, old[5];
    sigemptyset(&sa.sa_mask);
    int len = snprintf(crash_note, sizeof crash_note,
                       "harness: plugin %s crashed in sono_plugin_init; remove it from the "
                       "plugin folders or fix it\n", path);
    crash_note_len = len > 0 ? (size_t)len : 0;
    for (int i = 0; i < 5; i++)
        sigaction(sigs[i], &sa, &old[i]);
    int rc = init(api, err);
    for (int i = 0; i < 5; i++)
        sigaction(sigs[i], &old[i], NULL);
    return rc;
}

int sono_reg_load_plugin(sono_reg *R, const char *path)
{
    if (grow((void **)&R->backends, R->nbackends, sizeof *R->backends))
        return SONO_ENOMEM;
    int idx = R->nbackends++;
    sono_backend *b = &R->backends[idx];
    memset(b, 0, sizeof *b);
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    snprintf(b->name, sizeof b->name, "%.*s", (int)strcspn(base, "."), base);
    snprintf(b->path, sizeof b->path, "%s", path);
    b->available = 1;

    b->handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!b->handle) {
        unavailable(b, dlerror());
        return idx;
    }
    sono_plugin_init_fn init;
    *(void **)&init = dlsym(b->handle, "sono_plugin_init");
    if (!init) {
        char why[1024];
        snprintf(why, sizeof why, "%s: no sono_plugin_init symbol (%s)", path, dlerror());
        unavailable(b, why);
        return idx;
    }
    loading L = {.api = {.abi = SONO_ABI_VERSION, .backend = b->name, .core = R,
                         .add_impl = add_impl, .add_device = add_device,
                         .set_unavailable = set_unavailable, .add_lib = add_lib},
                 .R = R, .backend = idx};
    sono_error err = {0};
    int rc = guarded_init(init, &L.api, path, &err);
    b = &R->backends[idx]; /* add_impl never reallocs backends, but be plain about it */
    if (rc) {
        char why[1200];
        snprintf(why, sizeof why, "%s: sono_plugin_init failed (%d): %s", path, rc,
                 err.msg[0] ? err.msg : "no message");
        unavailable(b, why);
    }
    return idx;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void sono_reg_load_dir(sono_reg *R, const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    char *names[256];
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) && n < 256) {
        size_t len = strlen(de->d_name);
        if (len > 3 && strcmp(de->d_name + len - 3, ".so") == 0)
            names[n++] = strdup(de->d_name);
    }
    closedir(d);
    qsort(names, (size_t)n, sizeof names[0], cmp_str);
    for (int i = 0; i < n; i++) {
        char path[4096], stem[64];
        snprintf(stem, sizeof stem, "%.*s", (int)strcspn(names[i], "."), names[i]);
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        if (names[i] && !sono_reg_backend(R, stem))
            sono_reg_load_plugin(R, path);
        free(names[i]);
    }
}

const sono_impl_entry *sono_reg_find(const sono_reg *R, const sono_op *op, const char *name,
                                     sono_error *err)
{
    const sono_impl_entry *hit = NULL;
    int hits = 0;
    int full = strchr(name, '/') != NULL;
    for (int i = 0; i < R->nimpls; i++) {
        const sono_impl_entry *e = &R->impls[i];
        if (e->op != op)
            continue;
        if (full ? strcmp(e->full, name) == 0 : strcmp(e->impl->name, name) == 0) {
            hit = e;
            hits++;
        }
    }
    if (hits == 1)
        return hit;
    if (hits > 1) {
        sono_fail(err, SONO_EINVAL, "impl '%s' of op %s is ambiguous: name it backend/impl",
                  name, op->name);
        return NULL;
    }
    char known[768] = "";
    size_t len = 0;
    for (int i = 0; i < R->nimpls && len < sizeof known - 1; i++)
        if (R->impls[i].op == op) {
            int w = snprintf(known + len, sizeof known - len, "%s%s", len ? ", " : "",
                             R->impls[i].full);
            len += w > 0 ? (size_t)w : 0;
        }
    sono_fail(err, SONO_ENOTFOUND, "no impl '%s' for op %s; known: %s", name, op->name,
              len ? known : "(none)");
    return NULL;
}

const sono_impl_entry *sono_reg_find_role_in(const sono_reg *R, const char *role,
                                             const char *device_kind, int b)
{
    const sono_impl_entry *first = NULL;
    for (int i = 0; i < R->nimpls; i++) {
        const sono_impl_entry *e = &R->impls[i];
        if (!e->impl->role || strcmp(e->impl->role, role) != 0 ||
            strcmp(e->dev->kind, device_kind) != 0 || (b >= 0 && e->backend != b))
            continue;
        if (R->backends[e->backend].available)
            return e;
        if (!first) /* an unavailable one still names what would have run, for its skip */
            first = e;
    }
    return first;
}

const sono_impl_entry *sono_reg_find_role(const sono_reg *R, const char *role,
                                          const char *device_kind)
{
    return sono_reg_find_role_in(R, role, device_kind, -1);
}

const sono_impl_entry *sono_reg_overhead_impl(const sono_reg *R)
{
    return sono_reg_find_role(R, SONO_ROLE_OVERHEAD, sono_cpu_device()->kind);
}
