/* pesq_role.h — installs the registry's PESQ scorer (the impl of role SONO_ROLE_PESQ)
 * as the codec quality hooks' PESQ (speechq.h), for the cases this process runs. */
#ifndef SONO_PESQ_ROLE_H
#define SONO_PESQ_ROLE_H

#include "registry.h"

/* Finds the scorer in R (which must outlive the cases) and installs it; with none, PESQ
 * is absent from every record with the reason (no plugin has one, or its backend is
 * unavailable and why). */
void sono_pesq_role_install(const sono_reg *R);

#endif
