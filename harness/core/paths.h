/* paths.h — where the harness finds its plugins and suites: relative to its own
 * executable (so it works from any directory, in the tree and once installed), with
 * SONO_PLUGIN_PATH in front for extra plugin folders. */
#ifndef SONO_PATHS_H
#define SONO_PATHS_H

#include <stddef.h>

#include "registry.h"

/* The folder holding the running executable (from /proc/self/exe). */
const char *sono_exe_dir(void);

/* The executable's parent folder, resolved: the repo (or ROOT) in a build tree, PREFIX
 * once installed. Machine-wide files such as results/calibration.json live under it. */
const char *sono_root_dir(void);

/* Load plugins from: each folder of $SONO_PLUGIN_PATH (':'-separated), then
 * <exe>/../build/plugins (the build tree), then <exe>/../lib/sonobench/plugins. First
 * sets $SONO_FFTW_WISDOM (sono_wisdom_setenv) when it is not set. */
void sono_load_plugins(sono_reg *R);

/* The suites folder: <exe>/../suites, else <exe>/../share/sonobench/suites. */
int sono_suites_dir(char *out, size_t n);

/* A suite argument as given, else under the suites folder ("quick", "suites/quick"). */
int sono_find_suite(const char *arg, char *out, size_t n);

#endif
