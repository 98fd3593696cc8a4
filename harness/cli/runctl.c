/* runctl.c — what every command that runs cases sets up the same way: Ctrl-C and SIGTERM
 * caught into a flag the runner polls, SIGPIPE ignored (a worker that died must show as
 * a write error on its pipe, not kill us), and the path of this executable for workers. */
#include <limits.h>
#include <signal.h>
#include <unistd.h>

#include "cli.h"

static volatile sig_atomic_t stop_requested;

/* The first Ctrl-C abandons the running case and closes the results file; a second one
 * means now: the file on disk is still the valid one written after the last case. */
static void on_signal(int sig)
{
    if (stop_requested) {
        signal(sig, SIG_DFL);
        raise(sig);
    }
    stop_requested = 1;
}

volatile sig_atomic_t *sono_cli_catch_stop(void)
{
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    return &stop_requested;
}

const char *sono_cli_self_exe(void)
{
    static char exe[PATH_MAX];
    if (!exe[0]) {
        ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        exe[n > 0 ? n : 0] = 0;
    }
    return exe[0] ? exe : NULL;
}
