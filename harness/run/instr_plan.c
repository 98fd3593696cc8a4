/* instr_plan.c — the runner's side of `run --metric instructions` (instr.h): which counter
 * works here (perf_event_open, else valgrind), which cases can be counted, and the
 * valgrind command line the workers start under, with its temp folder for callgrind's
 * dumps and valgrind's log. */
#include "instr.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "casedev.h"
#include "stream.h"

extern char **environ;

/* The cache geometry callgrind simulates, fixed rather than read from this host, so two
 * CI machines simulate the same misses: a typical x86 core's L1s and an 8 MiB LLC. */
#define CG_I1 "--I1=32768,8,64"
#define CG_D1 "--D1=32768,8,64"
#define CG_LL "--LL=8388608,16,64"

static char g_dir[4096];   /* the temp folder; "" when no run is prepared */
static char *g_argv[16];   /* the wrapper: valgrind, its options, exe, "__worker", NULL */

char *const *sono_instr_worker_wrap(void)
{
    return g_argv[0] ? g_argv : NULL;
}

static const char *valgrind_exe(void)
{
    const char *v = getenv("SONO_VALGRIND"); /* tests point it at a missing file */
    return v && *v ? v : "valgrind";
}

/* Whether `valgrind --version` runs; why not in why. */
/* unused in an AddressSanitizer build, which cannot run under valgrind at all */
__attribute__((unused)) static int valgrind_runs(char *why, size_t n)
{
    const char *vg = valgrind_exe();
    char *argv[] = {(char *)vg, "--version", NULL};
    posix_spawn_file_actions_t fa;
    pid_t pid;
    int st = 0;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    int e = posix_spawnp(&pid, vg, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (e) {
        snprintf(why, n, "%s: %s (Debian: apt-get install valgrind)", vg, strerror(e));
        return 0;
    }
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        snprintf(why, n, "%s --version failed (status %d)", vg, st);
        return 0;
    }
    return 1;
}

static int valgrind_usable(char *why, size_t n)
{
#if defined(__SANITIZE_ADDRESS__)
    snprintf(why, n, "valgrind: this harness is built with AddressSanitizer, which cannot "
             "run under valgrind");
    return 0;
#else
    if (!sono_instr_callgrind_built()) {
        snprintf(why, n, "valgrind: this harness was built without valgrind/callgrind.h "
                 "(install valgrind and rebuild)");
        return 0;
    }
    return valgrind_runs(why, n);
#endif
}

int sono_instr_probe(char *why, size_t n)
{
    /* SONO_INSTR_SOURCE=perf|valgrind insists on one (a PMU machine can test the other) */
    const char *force = getenv("SONO_INSTR_SOURCE");
    char pwhy[320] = "", vwhy[320] = "";
    if (force && *force && strcmp(force, "perf") != 0 && strcmp(force, "valgrind") != 0) {
        snprintf(why, n, "SONO_INSTR_SOURCE=%s: expected perf or valgrind", force);
        return SONO_EINVAL;
    }
    if (!force || !*force || strcmp(force, "perf") == 0) {
        int fd = sono_instr_perf_open(pwhy, sizeof pwhy);
        if (fd >= 0) {
            close(fd);
            return SONO_INSTR_PERF;
        }
    } else
        snprintf(pwhy, sizeof pwhy, "perf not tried (SONO_INSTR_SOURCE=%s)", force);
    if (!force || !*force || strcmp(force, "valgrind") == 0) {
        if (valgrind_usable(vwhy, sizeof vwhy)) {
            snprintf(why, n, "%s", pwhy); /* why not perf, for the run's log */
            return SONO_INSTR_VALGRIND;
        }
    } else
        snprintf(vwhy, sizeof vwhy, "valgrind not tried (SONO_INSTR_SOURCE=%s)", force);
    snprintf(why, n, "no instruction counter here: %s; %s", pwhy, vwhy);
    return SONO_EUNSUPPORTED;
}

/* Why c cannot be counted, into c->skip; a skip already there is kept. */
static void mark_skip(sono_case *c)
{
    const sono_device *d = sono_case_device(c);
    if (c->skip[0] || !d)
        return;
    if (strcmp(d->kind, "cpu") != 0)
        snprintf(c->skip, sizeof c->skip, "--metric instructions counts cases on cpu devices "
                 "only: %s (kind %s) computes elsewhere (a GPU or another process), which "
                 "neither perf on this thread nor valgrind sees", d->name, d->kind);
    else if (sono_stream_wanted(&c->p))
        snprintf(c->skip, sizeof c->skip, "--metric instructions counts offline cases only: "
                 "a streaming case (chunk_ms or chunk) is not counted");
}

static void free_argv(void)
{
    for (size_t i = 0; i < sizeof g_argv / sizeof g_argv[0]; i++) {
        free(g_argv[i]);
        g_argv[i] = NULL;
    }
}

static int valgrind_argv(const char *exe, sono_error *err)
{
    char out[4200], log[4200];
    snprintf(out, sizeof out, "--callgrind-out-file=%s/callgrind.%%p", g_dir);
    snprintf(log, sizeof log, "--log-file=%s/valgrind.%%p.log", g_dir);
    /* instrumentation and collection off at start: the worker's startup, input and
     * reference run at valgrind's base pace and count nothing; instr_count.c switches
     * them on around each case's runs. -q: valgrind's banner is not the run's output. */
    const char *a[] = {valgrind_exe(), "-q", "--tool=callgrind", "--instr-atstart=no",
                       "--collect-atstart=no", "--cache-sim=yes", CG_I1, CG_D1, CG_LL,
                       out, log, exe, "__worker"};
    for (size_t i = 0; i < sizeof a / sizeof a[0]; i++)
        if (!(g_argv[i] = strdup(a[i]))) {
            free_argv();
            return sono_fail(err, SONO_ENOMEM, "out of memory");
        }
    return 0;
}

int sono_instr_prepare(sono_plan *plan, int source, const char *exe, sono_error *err)
{
    if (source != SONO_INSTR_PERF && source != SONO_INSTR_VALGRIND)
        return sono_fail(err, SONO_EINVAL, "--metric instructions: unknown source %d", source);
    for (int i = 0; i < plan->ncases; i++) {
        sono_case *c = &plan->cases[i];
        c->cfg.instructions = source;
        if (source == SONO_INSTR_VALGRIND && c->cfg.timeout_s > 0)
            c->cfg.timeout_s *= SONO_INSTR_VALGRIND_TIMEOUT_X;
        mark_skip(c);
    }
    if (source != SONO_INSTR_VALGRIND || !exe) /* no exe: --dry-run, the skips only */
        return 0;
    const char *tmp = getenv("TMPDIR");
    snprintf(g_dir, sizeof g_dir, "%s/sono-callgrind.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(g_dir)) {
        int e = errno;
        g_dir[0] = 0;
        return sono_fail(err, SONO_EIO, "--metric instructions: a temp folder for "
                         "callgrind: %s", strerror(e));
    }
    /* the workers inherit it: instr_count.c reads each dump back from there */
    int rc = setenv("SONO_CALLGRIND_DIR", g_dir, 1) != 0
                 ? sono_fail(err, SONO_ENOMEM, "--metric instructions: setenv: %s",
                             strerror(errno))
                 : valgrind_argv(exe, err);
    static int registered;
    if (!rc && !registered) /* every way out of the run removes the folder */
        registered = atexit(sono_instr_finish) == 0;
    if (rc)
        sono_instr_finish();
    return rc;
}

/* The cache simulator's notes on the host's caches are not news: every worker has them. */
static int noise(const char *line)
{
    return strstr(line, "L3 cache found") || strstr(line, "specified LL cache") ||
           strstr(line, "simulated LL cache") || strspn(line, " \t\r\n") == strlen(line);
}

void sono_instr_finish(void)
{
    free_argv();
    if (!g_dir[0])
        return;
    unsetenv("SONO_CALLGRIND_DIR");
    DIR *d = opendir(g_dir);
    struct dirent *e;
    char path[4400], line[1024];
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s", g_dir, e->d_name);
        FILE *f = strncmp(e->d_name, "valgrind.", 9) == 0 ? fopen(path, "r") : NULL;
        while (f && fgets(line, sizeof line, f))
            if (!noise(line))
                fprintf(stderr, "harness: valgrind: %s", line);
        if (f)
            fclose(f);
        unlink(path);
    }
    if (d)
        closedir(d);
    rmdir(g_dir);
    g_dir[0] = 0;
}
