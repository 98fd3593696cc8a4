/* wisdom.h — FFTW wisdom shared by the fftw and fftwblas plugins: plans read from the
 * per-host wisdom file the harness names in $SONO_FFTW_WISDOM (sono.h), so a plan made by
 * FFTW_MEASURE once is the same plan in every later process on that host. */
#ifndef SONO_FFTW_WISDOM_H
#define SONO_FFTW_WISDOM_H

#include <fftw3.h>

/* Where a plan came from, for describe: "hit" (wisdom had it: the file or this process),
 * "new" (measured now, and added to the file), "off" ($SONO_FFTW_WISDOM unset or empty). */
typedef enum { FW_OFF = 0, FW_HIT = 1, FW_NEW = 2 } fw_source;

const char *fw_source_name(fw_source s);

/* Makes one plan with flags (FFTW_MEASURE and the caller's arrays), called once or twice:
 * first with FFTW_WISDOM_ONLY added, which FFTW answers from wisdom alone or with NULL. */
typedef fftwf_plan (*fw_make)(void *arg, unsigned flags);

/* The plan make() builds with FFTW_MEASURE, from wisdom when there is some: the file is
 * imported once per process; a plan measured now is exported to it. who prefixes the
 * warnings written to stderr (a corrupt or unwritable file never fails the plan). NULL
 * when FFTW returned NULL; *src says where the plan came from. */
fftwf_plan fw_plan(fw_make make, void *arg, const char *who, fw_source *src);

#endif
