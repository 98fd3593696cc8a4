/* worker.c — both ends of the worker protocol: spawning, calling and reaping a worker
 * from the runner, and the serving loop inside the worker. */
#include "worker.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "casejson.h"
#include "execute.h"
#include "instr.h"
#include "params.h"
#include "pesq_role.h"
#include "record.h"

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

extern char **environ;

/* Our environment with env's VAR=VALUE entries in place of ours of the same name; the
 * array is new, its strings borrowed. Built before fork: the child of a process that may
 * have threads (GPU runtimes) must not allocate between fork and exec. */
static char **merged_env(const char *const *env)
{
    size_t n = 0, m = 0;
    while (environ[n])
        n++;
    while (env[m])
        m++;
    char **out = calloc(n + m + 1, sizeof *out);
    if (!out)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        size_t len = strcspn(environ[i], "=");
        int replaced = 0;
        for (size_t j = 0; j < m && !replaced; j++)
            replaced = strncmp(env[j], environ[i], len) == 0 && env[j][len] == '=';
        if (!replaced)
            out[k++] = environ[i];
    }
    for (size_t j = 0; j < m; j++)
        out[k++] = (char *)env[j];
    return out;
}

int sono_worker_spawn(sono_worker *w, const char *exe, const char *const *env,
                      sono_error *err)
{
    int cmd[2], rep[2];
    memset(w, 0, sizeof *w);
    char **envp = env ? merged_env(env) : environ;
    if (!envp)
        return sono_fail(err, SONO_ENOMEM, "worker: no memory for its environment");
    if (pipe2(cmd, O_CLOEXEC) != 0) {
        int e = errno;
        if (env)
            free(envp);
        return sono_fail(err, SONO_EIO, "worker: pipe: %s", strerror(e));
    }
    if (pipe2(rep, O_CLOEXEC) != 0) {
        int e = errno;
        close(cmd[0]);
        close(cmd[1]);
        if (env)
            free(envp);
        return sono_fail(err, SONO_EIO, "worker: pipe: %s", strerror(e));
    }
    char *argv[] = {"harness", "__worker", NULL};
    pid_t parent = getpid(), pid = fork();
    if (pid < 0) {
        int e = errno;
        close(cmd[0]), close(cmd[1]), close(rep[0]), close(rep[1]);
        if (env)
            free(envp);
        return sono_fail(err, SONO_EIO, "worker: fork: %s", strerror(e));
    }
    if (pid == 0) {
        /* die with the runner: a runner killed with -9 must not leave a spinning worker */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
            _exit(127);
        /* lift both ends above 4 first: a pipe may itself sit on fd 3 or 4 */
        int in = fcntl(cmd[0], F_DUPFD_CLOEXEC, 10), out = fcntl(rep[1], F_DUPFD_CLOEXEC, 10);
        if (in < 0 || out < 0 || dup2(in, 3) < 0 || dup2(out, 4) < 0 || dup2(2, 1) < 0)
            _exit(127);
        char *const *wrap = sono_instr_worker_wrap(); /* issue 22: under valgrind (instr.h) */
        if (wrap)
            execvpe(wrap[0], wrap, envp);
        else
            execve(exe, argv, envp);
        _exit(127);
    }
    if (env)
        free(envp);
    close(cmd[0]);
    close(rep[1]);
    w->pid = pid;
    w->to = cmd[1];
    w->from = rep[0];
    return 0;
}

static void reap(sono_worker *w, int kill_it, char *why, size_t n)
{
    int st = 0;
    if (w->pid > 0) {
        if (kill_it)
            kill(w->pid, SIGKILL);
        while (waitpid(w->pid, &st, 0) < 0 && errno == EINTR)
            ;
        if (why && WIFSIGNALED(st))
            snprintf(why, n, "worker killed by signal %d (%s)%s", WTERMSIG(st),
                     strsignal(WTERMSIG(st)),
                     WTERMSIG(st) == SIGKILL ? "; out of memory?" : "");
        else if (why && WIFEXITED(st))
            snprintf(why, n, "worker exited with status %d", WEXITSTATUS(st));
    }
    if (w->to >= 0)
        close(w->to);
    if (w->from >= 0)
        close(w->from);
    free(w->buf);
    memset(w, 0, sizeof *w);
    w->to = w->from = -1;
}

void sono_worker_stop(sono_worker *w)
{
    if (w->pid <= 0)
        return;
    close(w->to); /* end of input: it exits */
    w->to = -1;
    for (int i = 0; i < 100; i++) { /* 1 s to leave by itself */
        if (waitpid(w->pid, NULL, WNOHANG) == w->pid) {
            w->pid = 0;
            break;
        }
        usleep(10000);
    }
    reap(w, 1, NULL, 0);
}

/* The reply line, if complete, moved out of the buffer. */
static char *take_line(sono_worker *w)
{
    char *nl = w->len ? memchr(w->buf, '\n', w->len) : NULL;
    if (!nl)
        return NULL;
    size_t len = (size_t)(nl - w->buf);
    char *line = malloc(len + 1);
    if (!line)
        return NULL;
    memcpy(line, w->buf, len);
    line[len] = 0;
    w->len -= len + 1;
    memmove(w->buf, nl + 1, w->len);
    return line;
}

int sono_worker_call(sono_worker *w, const char *line, double timeout_s,
                     volatile sig_atomic_t *stop, json_t **rec, char *why, size_t n)
{
    *rec = NULL;
    size_t len = strlen(line);
    for (size_t off = 0; off < len;) { /* SIGPIPE is ignored: a dead worker gives EPIPE */
        ssize_t k = write(w->to, line + off, len - off);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0) {
            reap(w, 1, why, n);
            return SONO_WORKER_DEAD;
        }
        off += (size_t)k;
    }
    double deadline = now_s() + timeout_s;
    char *reply;
    while (!(reply = take_line(w))) {
        if (stop && *stop) {
            reap(w, 1, NULL, 0);
            return SONO_EINTR;
        }
        double left = deadline - now_s();
        if (left <= 0) {
            reap(w, 1, NULL, 0);
            snprintf(why, n, "no result within timeout_s = %g s; worker killed", timeout_s);
            return SONO_WORKER_TIMEOUT;
        }
        /* short slices so Ctrl-C is noticed at once even when poll is not interrupted */
        struct pollfd p = {.fd = w->from, .events = POLLIN};
        int r = poll(&p, 1, left > 0.1 ? 100 : (int)(left * 1000) + 1);
        if (r <= 0) {
            /* a child the impl forked may hold the pipe open after the worker died: look
             * at the worker itself, not only at end of file */
            int st;
            if (waitpid(w->pid, &st, WNOHANG) == w->pid) {
                if (WIFSIGNALED(st))
                    snprintf(why, n, "worker killed by signal %d (%s)", WTERMSIG(st),
                             strsignal(WTERMSIG(st)));
                else
                    snprintf(why, n, "worker exited with status %d", WEXITSTATUS(st));
                w->pid = 0;
                reap(w, 0, NULL, 0);
                return SONO_WORKER_CRASH;
            }
            continue;
        }
        if (w->cap - w->len < 65536) {
            size_t cap = w->cap ? w->cap * 2 : 1 << 17;
            char *b = realloc(w->buf, cap);
            if (!b) {
                reap(w, 1, NULL, 0);
                return sono_fail(NULL, SONO_ENOMEM, "no memory");
            }
            w->buf = b;
            w->cap = cap;
        }
        ssize_t k = read(w->from, w->buf + w->len, w->cap - w->len);
        if (k == 0 || (k < 0 && errno != EINTR && errno != EAGAIN)) {
            reap(w, 0, why, n); /* end of file: it died */
            return SONO_WORKER_CRASH;
        }
        if (k > 0)
            w->len += (size_t)k;
    }
    json_error_t je;
    *rec = json_loads(reply, 0, &je);
    free(reply);
    if (!*rec) {
        reap(w, 1, NULL, 0);
        snprintf(why, n, "worker sent an unreadable record: %s", je.text);
        return SONO_WORKER_CRASH;
    }
    return SONO_WORKER_OK;
}

/* ---- the worker's side -------------------------------------------------------------- */

static char *read_line(FILE *f)
{
    char *line = NULL;
    size_t cap = 0;
    if (getline(&line, &cap, f) < 0) {
        free(line);
        return NULL;
    }
    return line;
}

int sono_worker_main(sono_reg *R)
{
    /* Ctrl-C and a SIGTERM to the process group reach us too: the runner decides what
     * happens to us (it kills us with SIGKILL), so the case is not recorded as a crash. */
    signal(SIGINT, SIG_IGN);
    signal(SIGTERM, SIG_IGN);
    FILE *in = fdopen(3, "r"), *out = fdopen(4, "w");
    if (!in || !out)
        return 2;
    /* children an impl starts must not inherit the protocol pipes */
    fcntl(3, F_SETFD, FD_CLOEXEC);
    fcntl(4, F_SETFD, FD_CLOEXEC);
    sono_executor *x = sono_executor_new();
    sono_plan plan = {0};
    sono_pesq_role_install(R); /* issue 24: codec cases' PESQ, by role */
    char *line;
    int rc = 0;
    while (x && (line = read_line(in))) {
        json_error_t je;
        json_t *j = json_loads(line, 0, &je);
        free(line);
        sono_case c;
        sono_error err = {0};
        if (!j) {
            fprintf(stderr, "harness worker: unreadable case: %s\n", je.text);
            rc = 2;
            break;
        }
        json_t *rec = NULL;
        /* issue 22: a repetition lays its buffers out afresh (this worker is new for the
         * round, so the seed differs from the last repetition's) */
        json_int_t rep = json_integer_value(json_object_get(j, "repetition"));
        if (rep > 0)
            sono_buf_random_layout((unsigned long long)getpid() * 0x9E3779B97F4A7C15ULL ^
                                   (unsigned long long)rep ^ (unsigned long long)time(NULL));
        if (sono_case_from_json(j, R, &plan, &c, &err) == 0) {
            sono_record r;
            if (sono_execute(x, &plan, &c, NULL, &r) == 0) {
                rec = sono_record_to_json(&r);
                sono_record_free(&r);
            }
        } else /* a case this worker cannot rebuild (its input vanished): an error, not us */
            rec = json_pack("{s:O, s:O, s:O, s:{}, s:s, s:s}", "id", json_object_get(j, "id"),
                            "op", json_object_get(j, "op"), "impl", json_object_get(j, "impl"),
                            "params", "status", "error", "message", err.msg);
        sono_params_free(&c.p);
        json_decref(j);
        char *text = rec ? json_dumps(rec, JSON_COMPACT | JSON_REAL_PRECISION(17)) : NULL;
        json_decref(rec);
        if (!text || fprintf(out, "%s\n", text) < 0 || fflush(out) != 0) {
            free(text);
            rc = 2;
            break;
        }
        free(text);
    }
    sono_executor_free(x);
    sono_plan_free(&plan);
    fclose(in);
    fclose(out);
    return rc;
}
