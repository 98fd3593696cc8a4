/* main.c — the `harness` executable: loads the plugins and dispatches to a command. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "env.h"
#include "paths.h"
#include "version.h"

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        sono_print_help(NULL);
        return argc < 2 ? SONO_EXIT_USAGE : SONO_EXIT_OK;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("harness %s (git %s, plugin ABI %d, results schema sonobench.results/1)\n",
               SONO_VERSION, sono_env_git(), SONO_ABI_VERSION);
        return SONO_EXIT_OK;
    }
    if (strcmp(cmd, "help") == 0)
        return sono_cmd_help(argc - 1, argv + 1);
    if (strcmp(cmd, "compare") == 0) /* reads results files only: no plugins either */
        return sono_cmd_compare(argc - 1, argv + 1);
    /* history and export read results files only: no plugins, so none can break them */
    if (strcmp(cmd, "history") == 0)
        return sono_cmd_history(argc - 1, argv + 1);
    if (strcmp(cmd, "export") == 0)
        return sono_cmd_export(argc - 1, argv + 1);
    if (strcmp(cmd, "show") == 0) /* issue 27: a results file's tables; no plugins */
        return sono_cmd_show(argc - 1, argv + 1);
    if (strcmp(cmd, "results") == 0) /* repair from a journal: reads and writes files only */
        return sono_cmd_results(argc - 1, argv + 1);
    if (strcmp(cmd, "dataset") == 0) /* issue 14: corpus, pack, shard; no plugins */
        return sono_cmd_dataset(argc - 1, argv + 1);
    if (strcmp(cmd, "report") == 0) /* runs the Python renderer on results files */
        return sono_cmd_report(argc - 1, argv + 1);
    /* issue 13: fleet runs on Slurm; only submit needs the plugins, and loads them */
    if (strcmp(cmd, "fleet") == 0) {
        for (int i = 2; i < argc; i++)
            if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
                return sono_print_help("fleet"), SONO_EXIT_OK;
        return sono_cmd_fleet(argc - 1, argv + 1);
    }
    int (*fn)(sono_reg *, int, char **) = strcmp(cmd, "__worker") == 0 ? sono_cmd_worker
                                          : strcmp(cmd, "run") == 0    ? sono_cmd_run
                                          : strcmp(cmd, "ab") == 0     ? sono_cmd_ab
                                          : strcmp(cmd, "list") == 0 ? sono_cmd_list
                                          : strcmp(cmd, "exec") == 0 ? sono_cmd_exec
                                          : strcmp(cmd, "calibrate") == 0 ? sono_cmd_calibrate
                                                                     : NULL;
    if (!fn) {
        fprintf(stderr, "harness: unknown command '%s'; see harness --help\n", cmd);
        return SONO_EXIT_USAGE;
    }
    for (int i = 2; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            sono_print_help(cmd);
            return SONO_EXIT_OK;
        }
    sono_reg R;
    sono_error err = {0};
    if (sono_reg_init(&R, &err)) {
        fprintf(stderr, "harness: %s\n", err.msg);
        return SONO_EXIT_FAIL;
    }
    sono_load_plugins(&R);
    int rc = fn(&R, argc - 1, argv + 1);
    sono_reg_free(&R);
    return rc;
}
