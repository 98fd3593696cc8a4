/* report.c — `harness report FILE... -o DIR`: results files as an HTML report with plots.
 * The renderer is Python + matplotlib (reports/render.py); this finds a Python that has
 * matplotlib and hands it the arguments, so the report's logic lives in one place. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "paths.h"
#include "results.h"

extern char **environ;

/* Debian's python3-* packages live under /usr/bin/python3; the python3 first on PATH
 * may be another one (pyenv, a virtualenv) without them, so it comes last. */
static const char *const default_pythons[] = {"/usr/bin/python3", "python3", NULL};

/* 1 when `py -c "import matplotlib"` exits 0 (PATH searched when py has no '/'). */
static int has_matplotlib(const char *py)
{
    const char *argv[] = {py, "-c", "import matplotlib", NULL};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    for (int fd = 0; fd <= 2; fd++)
        posix_spawn_file_actions_addopen(&fa, fd, "/dev/null", fd ? O_WRONLY : O_RDONLY, 0);
    pid_t pid;
    int rc = posix_spawnp(&pid, py, &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0)
        return 0;
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return 0;
    return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

int sono_report_find_python(const char *const *candidates, char *out, size_t n)
{
    const char *env = getenv("SONO_PYTHON");
    if (!candidates && env && *env && has_matplotlib(env)) {
        snprintf(out, n, "%s", env);
        return 0;
    }
    for (const char *const *c = candidates ? candidates : default_pythons; *c; c++)
        if (has_matplotlib(*c)) {
            snprintf(out, n, "%s", *c);
            return 0;
        }
    return -1;
}

/* reports/render.py in the source tree, else under the installed share folder, else in
 * the source tree above a nested build (make asan's executable is build/asan/bin). */
static int find_renderer(char out[PATH_MAX])
{
    const char *const where[] = {"%s/reports/render.py", "%s/share/sonobench/reports/render.py",
                                 "%s/../reports/render.py", "%s/../../reports/render.py"};
    char path[PATH_MAX + 64];
    for (size_t i = 0; i < sizeof where / sizeof *where; i++) {
        snprintf(path, sizeof path, where[i], sono_root_dir());
        if (access(path, R_OK) == 0 && realpath(path, out))
            return 0;
    }
    return -1;
}

/* Every *.json of dir repaired from its journal where a run died (the renderer reads plain
 * files only); a folder that cannot be read is the renderer's to name. 0 or -1 (said). */
static int repair_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int rc = 0;
    while (d && !rc && (de = readdir(d))) {
        size_t n = strlen(de->d_name);
        if (n < 6 || strcmp(de->d_name + n - 5, ".json") != 0)
            continue;
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        sono_repair info;
        sono_error err = {0};
        if (sono_results_repair(path, &info, &err)) {
            fprintf(stderr, "harness report: %s\n", err.msg);
            rc = -1;
        } else if (info.repaired)
            fprintf(stderr, "harness report: %s: repaired from journal: %ld cases (run "
                    "interrupted)\n", path, info.cases);
    }
    if (d)
        closedir(d);
    return rc;
}

int sono_cmd_report(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            sono_print_help("report");
            return SONO_EXIT_OK;
        }
    if (argc < 2) {
        fprintf(stderr, "usage: harness report FILE... -o DIR; see harness help report\n");
        return SONO_EXIT_USAGE;
    }
    char render[PATH_MAX], py[PATH_MAX];
    if (find_renderer(render)) {
        fprintf(stderr, "harness report: cannot find the renderer: none of %s/reports/render.py, "
                "%s/share/sonobench/reports/render.py (or reports/ one or two folders up) "
                "exists\n", sono_root_dir(), sono_root_dir());
        return SONO_EXIT_USAGE;
    }
    if (sono_report_find_python(NULL, py, sizeof py)) {
        const char *env = getenv("SONO_PYTHON");
        fprintf(stderr, "harness report: no Python with matplotlib (tried %s%s%s/usr/bin/python3, "
                "python3 on PATH): install python3-matplotlib (ci/install-deps.sh), or set "
                "SONO_PYTHON to a Python that has it\n", env && *env ? "$SONO_PYTHON=" : "",
                env && *env ? env : "", env && *env ? ", " : "");
        return SONO_EXIT_USAGE;
    }
    /* a file whose run died is rebuilt from its journal first, as every reader does:
     * the renderer reads plain files only */
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-o") == 0 || strcmp(argv[i], "--out") == 0 ||
            strcmp(argv[i], "--threshold") == 0) {
            i++;
            continue;
        }
        if (strcmp(argv[i], "--history") == 0 && i + 1 < argc) { /* issue 27: its files */
            if (repair_dir(argv[++i]))
                return SONO_EXIT_USAGE;
            continue;
        }
        sono_repair info;
        sono_error err = {0};
        if (argv[i][0] == '-')
            continue;
        if (sono_results_repair(argv[i], &info, &err)) {
            fprintf(stderr, "harness report: %s\n", err.msg);
            return SONO_EXIT_USAGE;
        }
        if (info.repaired)
            fprintf(stderr, "harness report: %s: repaired from journal: %ld cases (run "
                    "interrupted)\n", argv[i], info.cases);
    }
    /* python -B render.py ARGS...: exec, so its exit status is ours and Ctrl-C reaches it */
    char **args = calloc((size_t)argc + 3, sizeof *args);
    if (!args) {
        fprintf(stderr, "harness report: out of memory\n");
        return SONO_EXIT_FAIL;
    }
    args[0] = py;
    args[1] = "-B";
    args[2] = render;
    for (int i = 1; i < argc; i++)
        args[i + 2] = argv[i];
    fflush(NULL);
    execvp(py, args);
    fprintf(stderr, "harness report: cannot run %s: %s\n", py, strerror(errno));
    free(args);
    return SONO_EXIT_FAIL;
}
