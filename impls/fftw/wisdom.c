/* wisdom.c — FFTW wisdom across processes: import the per-host file once, plan from it when
 * it has the problem (FFTW_WISDOM_ONLY, deterministic: no timing decides), else measure and
 * export under a lock, through a temp file renamed over, so concurrent workers never
 * interleave writes and a reader never sees half a file. */
#include "wisdom.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* The path imported in this process: FFTW's wisdom lives in the process (shared by both
 * plugins, which link the same libfftw3f), so one import is enough, and a corrupt file is
 * reported once, not at every plan. */
static char imported[PATH_MAX];
static int export_warned;

const char *fw_source_name(fw_source s)
{
    return s == FW_HIT ? "hit" : s == FW_NEW ? "new" : "off";
}

static const char *wisdom_path(void)
{
    const char *p = getenv("SONO_FFTW_WISDOM");
    return p && *p && strlen(p) < PATH_MAX - 16 ? p : NULL;
}

static void import_once(const char *path, const char *who)
{
    if (strcmp(imported, path) == 0)
        return;
    snprintf(imported, sizeof imported, "%s", path);
    if (access(path, F_OK) != 0)
        return; /* none yet on this host: the first measured plan writes it */
    /* FFTW restores its previous wisdom when an import fails part-way, so nothing of a
     * corrupt file is used; the next export replaces it with this process's wisdom. */
    if (!fftwf_import_wisdom_from_filename(path))
        fprintf(stderr, "%s: warning: FFTW wisdom file %s is unreadable or not wisdom that "
                "%s reads (corrupt, truncated or from another FFTW): ignored; plans are "
                "measured and the file rewritten\n", who, path, fftwf_version);
}

static void export_warn(const char *who, const char *path, const char *what)
{
    if (export_warned++)
        return;
    fprintf(stderr, "%s: warning: cannot save FFTW wisdom to %s: %s: later processes "
            "measure their plans again\n", who, path, what);
}

/* The whole of this process's wisdom (which includes the file's, imported before) into
 * the file. The lock is a sidecar file, never renamed: a lock on the wisdom file itself
 * would be held on an inode that the rename just replaced, letting a third writer in. */
static void export_locked(const char *path, const char *who)
{
    char lock[PATH_MAX + 8], tmp[PATH_MAX + 16];
    snprintf(lock, sizeof lock, "%s.lock", path);
    int lfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (lfd < 0) {
        export_warn(who, path, strerror(errno));
        return;
    }
    while (flock(lfd, LOCK_EX) != 0) {
        if (errno != EINTR) {
            export_warn(who, path, strerror(errno));
            close(lfd);
            return;
        }
    }
    /* Plans another process saved since our import are merged first, so the rename does
     * not drop them. A corrupt file fails here too and is simply replaced. */
    if (access(path, F_OK) == 0)
        fftwf_import_wisdom_from_filename(path);
    snprintf(tmp, sizeof tmp, "%s.XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        export_warn(who, path, strerror(errno));
        flock(lfd, LOCK_UN);
        close(lfd);
        return;
    }
    (void)fchmod(fd, 0644); /* mkstemp's 0600 would hide the file from other users */
    FILE *f = fdopen(fd, "w");
    int ok = f != NULL;
    if (f) {
        fftwf_export_wisdom_to_file(f);
        ok = fflush(f) == 0 && !ferror(f) && fsync(fileno(f)) == 0;
        ok = fclose(f) == 0 && ok;
    } else
        close(fd);
    if (!ok || rename(tmp, path) != 0) {
        export_warn(who, path, ok ? strerror(errno) : "writing the temp file failed");
        unlink(tmp);
    }
    flock(lfd, LOCK_UN);
    close(lfd);
}

fftwf_plan fw_plan(fw_make make, void *arg, const char *who, fw_source *src)
{
    const char *path = wisdom_path();
    if (!path) {
        *src = FW_OFF;
        return make(arg, FFTW_MEASURE);
    }
    import_once(path, who);
    /* Answered from wisdom alone, without measuring: a hit is the plan measured before. */
    fftwf_plan p = make(arg, FFTW_MEASURE | FFTW_WISDOM_ONLY);
    if (p) {
        *src = FW_HIT;
        return p;
    }
    *src = FW_NEW;
    p = make(arg, FFTW_MEASURE);
    if (p)
        export_locked(path, who);
    return p;
}
