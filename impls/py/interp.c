/* interp.c — which Python runs the worker, found at run time so one build serves
 * Debian's Python here and another on a GPU machine: SONO_PYTHON, else the project's venv
 * (build/pyenv, ci/pyenv.sh; SONO_PYENV names another or "none"), else the first python3 on
 * PATH whose probe (sonopy/probe.py: no numpy or torch import, ~50 ms) finds numpy, else
 * /usr/bin/python3; and where the sonopy package lives, relative to this plugin. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "py.h"

extern char **environ;

#define PROBE_TIMEOUT_MS 10000 /* a first start from a cold disk can be slow */

int py_find_package(char *dir, size_t n, sono_error *err)
{
    Dl_info info;
    union {
        int (*fn)(char *, size_t, sono_error *);
        void *p;
    } self = {.fn = py_find_package}; /* ISO C has no function-to-object pointer cast */
    char path[PATH_MAX];
    if (!dladdr(self.p, &info) || !info.dli_fname || !realpath(info.dli_fname, path))
        return sono_fail(err, SONO_ENOTFOUND, "py: cannot find the plugin's own path");
    /* build/plugins/py.so (any build root below the repo: build/asan/build/...) ->
     * <repo>/impls/py; PREFIX/lib/sonobench/plugins/py.so -> PREFIX/share/sonobench/py */
    static const char *const rel[] = {"impls/py", "share/sonobench/py"};
    for (int up = 0; up < 8; up++) {
        char *slash = strrchr(path, '/');
        if (!slash || slash == path)
            break;
        *slash = 0;
        for (int i = 0; i < 2; i++) {
            char probe[PATH_MAX + 64];
            snprintf(probe, sizeof probe, "%s/%s/sonopy/worker.py", path, rel[i]);
            if (access(probe, R_OK) == 0) {
                snprintf(dir, n, "%s/%s", path, rel[i]);
                return 0;
            }
        }
    }
    return sono_fail(err, SONO_ENOTFOUND,
                     "py: no sonopy package (impls/py or share/sonobench/py) above %s",
                     info.dli_fname);
}

static int env_set(const char *name)
{
    const char *v = getenv(name);
    return v && *v;
}

char **py_env_new(const char *pkgdir)
{
    static const char *const pools[] = {"OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                        "MKL_NUM_THREADS"};
    size_t n = 0;
    while (environ[n])
        n++;
    char **env = calloc(n + 5, sizeof *env);
    if (!env)
        return NULL;
    size_t k = 0;
    const char *old = getenv("PYTHONPATH");
    int ok = asprintf(&env[k++], "PYTHONPATH=%s%s%s", pkgdir, old && *old ? ":" : "",
                      old && *old ? old : "") >= 0;
    /* one thread unless the case asks for more (threadpoolctl, torch.set_num_threads) */
    for (int i = 0; i < 3 && ok; i++)
        if (!env_set(pools[i]))
            ok = asprintf(&env[k++], "%s=1", pools[i]) >= 0;
    for (size_t i = 0; i < n && ok; i++)
        if (strncmp(environ[i], "PYTHONPATH=", 11) != 0 && !(env[k++] = strdup(environ[i])))
            ok = 0;
    if (!ok) {
        py_env_free(env);
        return NULL;
    }
    return env;
}

void py_env_free(char **env)
{
    for (size_t i = 0; env && env[i]; i++)
        free(env[i]);
    free(env);
}

/* Runs `python -B -m sonopy.probe`, stdout and stderr into out; 0 or why not in why. */
static int run_probe(const char *python, char **env, char *out, size_t n, char *why,
                     size_t nwhy)
{
    int fd[2];
    if (pipe2(fd, O_CLOEXEC) != 0) {
        snprintf(why, nwhy, "pipe: %s", strerror(errno));
        return -1;
    }
    pid_t parent = getpid(), pid = fork();
    if (pid < 0) {
        snprintf(why, nwhy, "fork: %s", strerror(errno));
        close(fd[0]);
        close(fd[1]);
        return -1;
    }
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        int null = open("/dev/null", O_RDONLY);
        if (null < 0 || dup2(null, 0) < 0 || dup2(fd[1], 1) < 0 || dup2(fd[1], 2) < 0)
            _exit(127);
        execvpe(python, (char *const[]){(char *)python, "-B", "-m", "sonopy.probe", NULL},
                env);
        dprintf(2, "cannot run it: %s\n", strerror(errno));
        _exit(127);
    }
    close(fd[1]);
    size_t len = 0;
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int timed_out = 0;
    for (;;) {
        clock_gettime(CLOCK_MONOTONIC, &t);
        long left = PROBE_TIMEOUT_MS - ((t.tv_sec - t0.tv_sec) * 1000 +
                                        (t.tv_nsec - t0.tv_nsec) / 1000000);
        struct pollfd p = {.fd = fd[0], .events = POLLIN};
        int r = left > 0 ? poll(&p, 1, (int)left) : 0;
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            timed_out = 1;
            break;
        }
        ssize_t k = read(fd[0], out + len, n - 1 - len);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        len += (size_t)k;
        if (len == n - 1)
            break;
    }
    out[len] = 0;
    close(fd[0]);
    if (timed_out)
        kill(pid, SIGKILL);
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    if (timed_out) {
        snprintf(why, nwhy, "no answer within %d s", PROBE_TIMEOUT_MS / 1000);
        return -1;
    }
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
        return 0;
    /* the last line it printed says why (a traceback's last line, exec's error) */
    while (len && (out[len - 1] == '\n' || out[len - 1] == ' '))
        out[--len] = 0;
    const char *last = strrchr(out, '\n');
    last = last ? last + 1 : out;
    if (WIFSIGNALED(st))
        snprintf(why, nwhy, "killed by signal %d%s%s", WTERMSIG(st), *last ? ": " : "", last);
    else
        snprintf(why, nwhy, "exited with status %d%s%s", WEXITSTATUS(st), *last ? ": " : "",
                 last);
    return -1;
}

static void copy_str(json_t *o, const char *key, char *dst, size_t n)
{
    const char *s = json_string_value(json_object_get(o, key));
    snprintf(dst, n, "%s", s ? s : "");
}

/* One candidate: 1 when it has numpy (pr filled), 0 with why. */
static int try_python(const char *python, char **env, py_probe *pr, char *why, size_t nwhy)
{
    char out[8192], fail[600];
    if (run_probe(python, env, out, sizeof out, fail, sizeof fail) != 0) {
        snprintf(why, nwhy, "%s: %s", python, fail);
        return 0;
    }
    const char *line = strrchr(out, '{'); /* the JSON is its last line, one object */
    while (line && line > out && line[-1] != '\n')
        line = memrchr(out, '{', (size_t)(line - out));
    json_t *o = line ? json_loads(line, JSON_DISABLE_EOF_CHECK, NULL) : NULL;
    if (!json_is_object(o)) {
        snprintf(why, nwhy, "%s: the probe printed no JSON (%.200s)", python, out);
        json_decref(o);
        return 0;
    }
    copy_str(o, "python", pr->version, sizeof pr->version);
    copy_str(o, "numpy", pr->numpy, sizeof pr->numpy);
    copy_str(o, "torch", pr->torch, sizeof pr->torch);
    copy_str(o, "torchaudio", pr->torchaudio, sizeof pr->torchaudio);
    copy_str(o, "threadpoolctl", pr->threadpoolctl, sizeof pr->threadpoolctl);
    copy_str(o, "torch_cuda", pr->torch_cuda, sizeof pr->torch_cuda);
    copy_str(o, "transformers", pr->transformers, sizeof pr->transformers);
    copy_str(o, "torchcodec", pr->torchcodec, sizeof pr->torchcodec);
    copy_str(o, "ctc_decoder", pr->ctc_decoder, sizeof pr->ctc_decoder); /* issue 23 */
    copy_str(o, "pesq", pr->pesq, sizeof pr->pesq);
    pr->clock_resolution_ns = json_number_value(json_object_get(o, "clock_resolution_ns"));
    pr->clock_overhead_ns = json_number_value(json_object_get(o, "clock_overhead_ns"));
    json_decref(o);
    if (!pr->numpy[0]) {
        snprintf(why, nwhy, "%s: Python %s without numpy", python, pr->version);
        return 0;
    }
    snprintf(pr->python, sizeof pr->python, "%s", python);
    pr->found = 1;
    return 1;
}

static void append(char *dst, size_t n, const char *s)
{
    size_t len = strlen(dst);
    snprintf(dst + len, n - len, "%s%s", len ? "; " : "", s);
}

static void search(const char *pkgdir, py_probe *pr)
{
    char **env = py_env_new(pkgdir), why[1200];
    if (!env) {
        snprintf(pr->why, sizeof pr->why, "py: no memory for the probe's environment");
        return;
    }
    const char *chosen = getenv("SONO_PYTHON");
    if (chosen && *chosen) { /* an explicit choice is never second-guessed */
        if (!try_python(chosen, env, pr, why, sizeof why))
            snprintf(pr->why, sizeof pr->why, "SONO_PYTHON=%s", why);
        py_env_free(env);
        return;
    }
    /* the project's own environment first: it is Debian's python3 plus the pinned peers
     * (transformers), so it can do all the system one can and more */
    char venv[PATH_MAX];
    const char *pyenv = getenv("SONO_PYENV");
    if (!pyenv || !*pyenv) { /* <repo>/impls/py -> <repo>/build/pyenv */
        snprintf(venv, sizeof venv, "%s/../../build/pyenv/bin/python3", pkgdir);
        pyenv = access(venv, X_OK) == 0 ? venv : NULL;
    } else if (strcmp(pyenv, "none") == 0) {
        pyenv = NULL;
    }
    if (pyenv && !try_python(pyenv, env, pr, why, sizeof why))
        append(pr->why, sizeof pr->why, why);
    /* every python3 on PATH in order, then /usr/bin/python3; each file once */
    char seen[32][PATH_MAX];
    int nseen = 0, usr_bin = 0;
    const char *path = getenv("PATH");
    char *dirs = strdup(path ? path : ""), *rest = dirs;
    while (!pr->found && nseen < 32) {
        const char *d = rest ? strsep(&rest, ":") : usr_bin++ ? NULL : "/usr/bin";
        if (!d)
            break;
        char cand[PATH_MAX], real[PATH_MAX];
        snprintf(cand, sizeof cand, "%s/python3", *d ? d : "."); /* "" in PATH is "." */
        if (access(cand, X_OK) != 0 || !realpath(cand, real))
            continue;
        int dup = 0;
        for (int i = 0; i < nseen; i++)
            dup |= strcmp(seen[i], real) == 0;
        snprintf(seen[nseen++], PATH_MAX, "%s", real);
        if (!dup && !try_python(cand, env, pr, why, sizeof why))
            append(pr->why, sizeof pr->why, why);
    }
    free(dirs);
    py_env_free(env);
    if (!pr->found && !pr->why[0])
        snprintf(pr->why, sizeof pr->why, "no python3 on PATH or in /usr/bin");
}

/* The cache: "<key>\x1f<found>\x1f<python>\x1f<why>\x1f<version>..." in SONO_PY_PROBE,
 * where key is what the search depends on (SONO_PYTHON, PATH, the package folder). */
#define SEP "\x1f"
static void cache_key(const char *pkgdir, char *key, size_t n)
{
    const char *py = getenv("SONO_PYTHON"), *path = getenv("PATH"), *ve = getenv("SONO_PYENV");
    snprintf(key, n, "%s|%s|%s|%s", py ? py : "", ve ? ve : "", path ? path : "", pkgdir);
}

static int cache_load(const char *key, py_probe *pr)
{
    const char *c = getenv("SONO_PY_PROBE");
    if (!c)
        return 0;
    char *s = strdup(c), *f[16] = {0}, *rest = s;
    int nf = 0;
    while (rest && nf < 16) /* strsep keeps empty fields, which strtok would merge */
        f[nf++] = strsep(&rest, SEP);
    int ok = s && nf == 16 && !rest && strcmp(f[0], key) == 0;
    if (ok) {
        pr->found = atoi(f[1]);
        snprintf(pr->python, sizeof pr->python, "%s", f[2]);
        snprintf(pr->why, sizeof pr->why, "%s", f[3]);
        snprintf(pr->version, sizeof pr->version, "%s", f[4]);
        snprintf(pr->numpy, sizeof pr->numpy, "%s", f[5]);
        snprintf(pr->torch, sizeof pr->torch, "%s", f[6]);
        snprintf(pr->torchaudio, sizeof pr->torchaudio, "%s", f[7]);
        snprintf(pr->threadpoolctl, sizeof pr->threadpoolctl, "%s", f[8]);
        snprintf(pr->torch_cuda, sizeof pr->torch_cuda, "%s", f[9]);
        pr->clock_resolution_ns = strtod(f[10], NULL);
        pr->clock_overhead_ns = strtod(f[11], NULL);
        snprintf(pr->transformers, sizeof pr->transformers, "%s", f[12]);
        snprintf(pr->torchcodec, sizeof pr->torchcodec, "%s", f[13]);
        snprintf(pr->ctc_decoder, sizeof pr->ctc_decoder, "%s", f[14]); /* issue 23 */
        snprintf(pr->pesq, sizeof pr->pesq, "%s", f[15]); /* issue 24 */
    }
    free(s);
    return ok;
}

static void cache_store(const char *key, const py_probe *pr)
{
    char *s;
    if (asprintf(&s, "%s" SEP "%d" SEP "%s" SEP "%s" SEP "%s" SEP "%s" SEP "%s" SEP "%s" SEP
                 "%s" SEP "%s" SEP "%.17g" SEP "%.17g" SEP "%s" SEP "%s" SEP "%s" SEP "%s",
                 key, pr->found, pr->python, pr->why, pr->version, pr->numpy, pr->torch,
                 pr->torchaudio, pr->threadpoolctl, pr->torch_cuda, pr->clock_resolution_ns,
                 pr->clock_overhead_ns, pr->transformers, pr->torchcodec,
                 pr->ctc_decoder, pr->pesq) >= 0) {
        setenv("SONO_PY_PROBE", s, 1);
        free(s);
    }
}

void py_probe_find(const char *pkgdir, py_probe *pr)
{
    char key[PATH_MAX * 2 + 64];
    memset(pr, 0, sizeof *pr);
    cache_key(pkgdir, key, sizeof key);
    if (cache_load(key, pr))
        return;
    memset(pr, 0, sizeof *pr);
    search(pkgdir, pr);
    cache_store(key, pr);
}
