/* casedev.h — the device a case runs on (issue 10): its impl's own, or the one its
 * `device` param names (cuda:1 for an impl registered on cuda:0), checked against the
 * registry so a name that is unknown or of another kind becomes the case's skip. */
#ifndef SONO_CASEDEV_H
#define SONO_CASEDEV_H

#include "registry.h"
#include "suite.h"

/* c->dev when the param resolved one, else the impl's device; NULL without an impl. */
const sono_device *sono_case_device(const sono_case *c);

/* Whether d computes on the host's cores: kind "cpu", or a name ending ":cpu" (py:cpu,
 * another process on the same cores), so the CPU's calibration bounds it. */
int sono_device_on_cpu(const sono_device *d);

/* Fill c->dev from the `device` param; an unknown name or a device of another kind than
 * the impl's sets c->skip with the reason (a skip already there is kept). KIND:N names,
 * for an impl on a device PREFIX:KIND (py:cuda), its backend's PREFIX:KIND:N (issue 27). */
void sono_case_resolve_device(const sono_reg *R, sono_case *c);

/* The kind a device name stands for: the registered device's, else the text before ':'
 * ("cuda" for an absent cuda:5), into kind. */
void sono_device_kind_of(const sono_reg *R, const char *name, char *kind, size_t n);

/* `harness run --device NAME`: set device=NAME in every case whose impl runs on a device
 * of NAME's kind or, for KIND:N, on a device PREFIX:KIND (others unchanged), with its id and device redone. Returns the number of
 * cases changed, or a negative SONO_E* code. */
int sono_plan_set_device(const sono_reg *R, sono_plan *plan, const char *name, sono_error *err);

/* 0 when name can name a device here (a device, or KIND:N of a known kind or backend);
 * else SONO_EINVAL with the devices that exist. */
int sono_device_name_check(const sono_reg *R, const char *name, sono_error *err);

#endif
