/* proc.c — the Python worker process: started once per harness process at the first
 * setup, spoken to in line JSON (one request, one reply; PROTOCOL.md), and noticed when it
 * dies: a crash of the worker becomes an error of the call that was waiting on it. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "py.h"

#define PROTOCOL 1

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec * 1e-6;
}

/* How it ended, after the pipe closed: "killed by signal 11 (Segmentation fault)". */
static void reap(py_proc *p, int kill_it, char *why, size_t n)
{
    int st = 0;
    if (p->pid > 0) {
        if (kill_it)
            kill(p->pid, SIGKILL);
        while (waitpid(p->pid, &st, 0) < 0 && errno == EINTR)
            ;
        if (why && WIFSIGNALED(st))
            snprintf(why, n, "killed by signal %d (%s)", WTERMSIG(st),
                     strsignal(WTERMSIG(st)));
        else if (why)
            snprintf(why, n, "exited with status %d", WEXITSTATUS(st));
    }
    if (p->to >= 0)
        close(p->to);
    if (p->from >= 0)
        close(p->from);
    free(p->buf);
    unsigned gen = p->gen;
    double ms = p->start_ms;
    *p = (py_proc){.to = -1, .from = -1, .gen = gen, .start_ms = ms};
}

void py_proc_stop(py_proc *p)
{
    if (p->pid <= 0)
        return;
    close(p->to); /* end of its input: it leaves by itself */
    p->to = -1;
    for (int i = 0; i < 100; i++) {
        if (waitpid(p->pid, NULL, WNOHANG) == p->pid) {
            p->pid = 0;
            break;
        }
        usleep(10000);
    }
    reap(p, 1, NULL, 0);
}

int py_proc_start(py_proc *p, const char *python, const char *pkgdir, const char *module,
                  sono_error *err)
{
    int req[2], rep[2];
    double t0 = now_ms();
    if (p->pid > 0)
        py_proc_stop(p);
    /* A write to a worker that just died must give EPIPE, not kill the harness's worker
     * (the runner ignores SIGPIPE and its workers inherit that; `harness exec` does not). */
    struct sigaction sa;
    if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL)
        signal(SIGPIPE, SIG_IGN);
    char **env = py_env_new(pkgdir);
    if (!env)
        return sono_fail(err, SONO_ENOMEM, "py: no memory for the worker's environment");
    if (pipe2(req, O_CLOEXEC) != 0) {
        py_env_free(env);
        return sono_fail(err, SONO_EIO, "py: pipe: %s", strerror(errno));
    }
    if (pipe2(rep, O_CLOEXEC) != 0) {
        close(req[0]), close(req[1]);
        py_env_free(env);
        return sono_fail(err, SONO_EIO, "py: pipe: %s", strerror(errno));
    }
    pid_t parent = getpid(), pid = fork();
    if (pid < 0) {
        int e = errno;
        close(req[0]), close(req[1]), close(rep[0]), close(rep[1]);
        py_env_free(env);
        return sono_fail(err, SONO_EIO, "py: fork: %s", strerror(e));
    }
    if (pid == 0) {
        /* dies with the harness's worker: its timeout kills that process, and a hang in
         * Python must go with it */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
            _exit(127);
        int in = fcntl(req[0], F_DUPFD_CLOEXEC, 10), out = fcntl(rep[1], F_DUPFD_CLOEXEC, 10);
        if (in < 0 || out < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0)
            _exit(127);
        execvpe(python, (char *const[]){(char *)python, "-B", "-m", (char *)module, NULL},
                env);
        dprintf(2, "py: cannot run %s: %s\n", python, strerror(errno));
        _exit(127);
    }
    py_env_free(env);
    close(req[0]);
    close(rep[1]);
    p->pid = pid;
    p->to = req[1];
    p->from = rep[0];
    p->len = 0;
    p->gen++;
    json_t *reply;
    int rc = py_proc_call(p, json_pack("{s:s}", "cmd", "hello"), &reply, err);
    if (rc) {
        py_proc_stop(p);
        return rc;
    }
    json_int_t proto = json_integer_value(json_object_get(reply, "protocol"));
    json_decref(reply);
    if (proto != PROTOCOL) {
        py_proc_stop(p);
        return sono_fail(err, SONO_EABI, "py: the worker %s -m %s speaks protocol %lld, the "
                         "plugin %d", python, module, (long long)proto, PROTOCOL);
    }
    p->start_ms = now_ms() - t0;
    return 0;
}

static int send_line(py_proc *p, const char *s, size_t len)
{
    for (size_t off = 0; off < len;) {
        ssize_t k = write(p->to, s + off, len - off);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return -1;
        off += (size_t)k;
    }
    return 0;
}

/* The next reply line (NUL-terminated in p->buf, its length in *n), or -1 at its end. */
static int read_line(py_proc *p, size_t *n)
{
    for (;;) {
        char *nl = p->len ? memchr(p->buf, '\n', p->len) : NULL;
        if (nl) {
            *nl = 0;
            *n = (size_t)(nl - p->buf);
            return 0;
        }
        if (p->cap - p->len < 4096) {
            size_t cap = p->cap ? p->cap * 2 : 1 << 14;
            char *b = realloc(p->buf, cap);
            if (!b)
                return -1;
            p->buf = b;
            p->cap = cap;
        }
        ssize_t k = read(p->from, p->buf + p->len, p->cap - p->len - 1);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        p->len += (size_t)k;
    }
}

static void consume(py_proc *p, size_t n)
{
    p->len -= n + 1;
    memmove(p->buf, p->buf + n + 1, p->len);
}

int py_proc_call(py_proc *p, json_t *req, json_t **reply, sono_error *err)
{
    *reply = NULL;
    const char *cmd = json_string_value(json_object_get(req, "cmd"));
    char what[64], why[256];
    snprintf(what, sizeof what, "%s", cmd ? cmd : "?");
    if (p->pid <= 0) {
        json_decref(req);
        return sono_fail(err, SONO_EDEVICE, "py: the python worker is not running (%s)", what);
    }
    char *line = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    if (!line)
        return sono_fail(err, SONO_ENOMEM, "py: cannot encode the %s request", what);
    size_t len = strlen(line);
    char *nl = realloc(line, len + 2);
    if (!nl) {
        free(line);
        return sono_fail(err, SONO_ENOMEM, "py: no memory");
    }
    memcpy(nl + len, "\n", 2);
    int sent = send_line(p, nl, len + 1);
    free(nl);
    size_t n;
    if (sent != 0 || read_line(p, &n) != 0) {
        reap(p, 0, why, sizeof why);
        return sono_fail(err, SONO_EDEVICE, "py: the python worker died during %s: %s", what,
                         why);
    }
    json_error_t je;
    json_t *r = json_loadb(p->buf, n, 0, &je);
    if (!json_is_object(r) || !json_is_boolean(json_object_get(r, "ok"))) {
        char head[120];
        snprintf(head, sizeof head, "%.100s", p->buf);
        json_decref(r);
        reap(p, 1, NULL, 0);
        return sono_fail(err, SONO_EDEVICE, "py: the python worker sent a malformed reply to "
                         "%s (%s): '%s'; worker killed", what,
                         r ? "not {\"ok\": ...}" : je.text, head);
    }
    consume(p, n);
    if (json_is_true(json_object_get(r, "ok"))) {
        *reply = r;
        return 0;
    }
    const char *kind = json_string_value(json_object_get(r, "kind"));
    const char *msg = json_string_value(json_object_get(r, "error"));
    int code = kind && strcmp(kind, "unsupported") == 0 ? SONO_EUNSUPPORTED
               : kind && strcmp(kind, "request") == 0   ? SONO_EINTERNAL
                                                        : SONO_EDEVICE;
    sono_fail(err, code, "py: %s: %s", what, msg ? msg : "failed (no message)");
    json_decref(r);
    return code;
}
