/* paths.c — executable-relative lookup of plugins and suites; loading the plugins also
 * hands them the environment sono.h promises (the host's FFTW wisdom file). */
#include "paths.h"

#include "calibration.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *sono_exe_dir(void)
{
    static char dir[PATH_MAX];
    if (!dir[0]) {
        ssize_t n = readlink("/proc/self/exe", dir, sizeof dir - 1);
        if (n <= 0)
            snprintf(dir, sizeof dir, ".");
        else {
            dir[n] = 0;
            char *slash = strrchr(dir, '/');
            if (slash)
                *slash = 0;
        }
    }
    return dir;
}

/* The executable's parent folder, resolved, so recorded paths read /opt/x/lib/... and
 * not /opt/x/bin/../lib/... */
static const char *root_dir(void)
{
    static char root[PATH_MAX];
    if (!root[0]) {
        char up[PATH_MAX + 4];
        snprintf(up, sizeof up, "%s/..", sono_exe_dir());
        if (!realpath(up, root))
            snprintf(root, sizeof root, "%s", up);
    }
    return root;
}

const char *sono_root_dir(void)
{
    return root_dir();
}

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

void sono_load_plugins(sono_reg *R)
{
    /* Before any plugin loads, so every plan (and every worker forked later) sees it. */
    sono_error err = {0};
    if (sono_wisdom_setenv(&err) < 0)
        fprintf(stderr, "harness: warning: %s: FFTW plans are measured afresh\n", err.msg);
    const char *env = getenv("SONO_PLUGIN_PATH");
    if (env && *env) {
        char *copy = strdup(env);
        for (char *save = NULL, *d = copy ? strtok_r(copy, ":", &save) : NULL; d;
             d = strtok_r(NULL, ":", &save))
            sono_reg_load_dir(R, d);
        free(copy);
    }
    char p[PATH_MAX + 64];
    snprintf(p, sizeof p, "%s/build/plugins", root_dir());
    sono_reg_load_dir(R, p);
    snprintf(p, sizeof p, "%s/lib/sonobench/plugins", root_dir());
    sono_reg_load_dir(R, p);
}

int sono_suites_dir(char *out, size_t n)
{
    snprintf(out, n, "%s/suites", root_dir());
    if (is_dir(out))
        return 0;
    snprintf(out, n, "%s/share/sonobench/suites", root_dir());
    return is_dir(out) ? 0 : -1;
}

int sono_find_suite(const char *arg, char *out, size_t n)
{
    struct stat st;
    snprintf(out, n, "%s", arg);
    if (stat(out, &st) == 0)
        return 0;
    char dir[PATH_MAX];
    if (sono_suites_dir(dir, sizeof dir))
        return -1;
    const char *tail = strncmp(arg, "suites/", 7) == 0 ? arg + 7 : arg;
    snprintf(out, n, "%s/%s", dir, tail);
    if (stat(out, &st) == 0)
        return 0;
    snprintf(out, n, "%s", arg);
    return -1;
}
