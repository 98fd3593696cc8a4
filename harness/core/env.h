/* env.h — the environment a run was measured in, for the results file: host, CPU model,
 * cores and caches (hwloc), OS and kernel, compiler and flags, git commit, the libraries
 * each backend reported, and the harness's own overhead per call. */
#ifndef SONO_ENV_H
#define SONO_ENV_H

#include <jansson.h>

#include "registry.h"

/* New reference. Never fails for want of information: unknown fields are "unknown". */
json_t *sono_env_json(const sono_reg *R);

/* The commit the harness was built from (`git describe --always --dirty` at build time:
 * "-dirty" when the tree had uncommitted changes; "unknown" outside git). */
const char *sono_env_git(void);

/* Short "host/cpu" line for the table's header. */
void sono_env_hostname(char *buf, size_t n);

#endif
