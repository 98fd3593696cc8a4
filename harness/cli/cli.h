/* cli.h — the `harness` commands. Each returns the process's exit status:
 * 0 success, 1 a case failed or errored, 2 bad usage or bad input file, 130 interrupted. */
#ifndef SONO_CLI_H
#define SONO_CLI_H

#include <signal.h>
#include <stdio.h>

#include "registry.h"

#define SONO_EXIT_OK 0
#define SONO_EXIT_FAIL 1
#define SONO_EXIT_USAGE 2
#define SONO_EXIT_INTERRUPTED 130

/* Issue 27: --out/--output may only replace a file this tool writes: a results file
 * (kind 'r': its schema key) or a .npy file (kind 'n': the NumPy magic), or anything when
 * force. 0: go ahead; else a message in why (the file named, --force offered). */
int sono_cli_may_overwrite(const char *path, char kind, int force, char *why, size_t n);

int sono_cmd_run(sono_reg *R, int argc, char **argv);
/* Issue 22: two builds (--base DIR, --new DIR) run case by case in turn, one results file
 * each, then compare's verdict and exit status (harness/cli/ab.c). */
int sono_cmd_ab(sono_reg *R, int argc, char **argv);
int sono_cmd_list(sono_reg *R, int argc, char **argv);
int sono_cmd_exec(sono_reg *R, int argc, char **argv);
int sono_cmd_calibrate(sono_reg *R, int argc, char **argv);
int sono_cmd_help(int argc, char **argv);
/* Compares results files; loads no plugins (harness/cli/compare.c). */
int sono_cmd_compare(int argc, char **argv);
/* Results-file commands that load no plugins (harness/cli/history.c, export.c). */
int sono_cmd_history(int argc, char **argv);
int sono_cmd_export(int argc, char **argv);
/* Issue 27: a results file's tables as its run printed them, or as markdown, CSV, JSON
 * (harness/cli/show.c); loads no plugins. */
int sono_cmd_show(int argc, char **argv);
/* The HTML report: runs reports/render.py with a Python that has matplotlib
 * (harness/cli/report.c); loads no plugins. */
int sono_cmd_report(int argc, char **argv);
/* The first of candidates (NULL: $SONO_PYTHON, /usr/bin/python3, python3 on PATH) that can
 * import matplotlib, copied to out; -1 when none can. */
int sono_report_find_python(const char *const *candidates, char *out, size_t n);
/* Slurm fleet runs: submit, status, collect (harness/cli/fleet.c, issue 13); submit loads
 * the plugins itself, to expand the suite. */
int sono_cmd_fleet(int argc, char **argv);
/* Dataset files: corpus, pack (.sbd), tar shards; loads no plugins (issue 14,
 * harness/cli/dataset.c). */
int sono_cmd_dataset(int argc, char **argv);
/* Results files whose run died: `results repair FILE...` rebuilds each from its journal
 * (harness/cli/results.c); loads no plugins. */
int sono_cmd_results(int argc, char **argv);
/* Hidden: the worker process `run` starts (harness/run/worker.h). */
int sono_cmd_worker(sono_reg *R, int argc, char **argv);

/* Catch SIGINT/SIGTERM into the returned flag, ignore SIGPIPE (harness/cli/runctl.c). */
volatile sig_atomic_t *sono_cli_catch_stop(void);
/* This executable's path, to start workers from; NULL when /proc cannot say. */
const char *sono_cli_self_exe(void);

/* One CSV text field, quoted as RFC 4180 needs (harness/cli/csv.c). */
void sono_csv_field(FILE *f, const char *s, int always);

/* Help text of one command (NULL: the overview); 0 when the command exists. */
int sono_print_help(const char *cmd);

#endif
