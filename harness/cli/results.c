/* results.c — `harness results repair FILE...`: rebuilds results files whose run died
 * (kill -9, a crash, a power cut) from the journal each left beside it, and says what it
 * did for each file. Loads no plugins, runs no code; every reader repairs as well. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "results.h"

/* One file: 0 repaired or nothing to repair, 1 a live run holds it or it may not be
 * changed, 2 a bad file or journal (named in the message). */
static int repair_one(const char *path)
{
    sono_repair info;
    sono_error err = {0};
    if (sono_results_repair(path, &info, &err)) {
        fprintf(stderr, "harness results repair: %s\n", err.msg);
        return SONO_EXIT_USAGE;
    }
    if (info.live) {
        printf("%s: a run is still writing it (its journal is locked): not repaired\n", path);
        return SONO_EXIT_FAIL;
    }
    if (info.had_journal && !info.repaired) {
        printf("%s: journal found but the folder is read-only: not repaired\n", path);
        return SONO_EXIT_FAIL;
    }
    if (!info.had_journal && access(path, F_OK) != 0) {
        fprintf(stderr, "harness results repair: %s: %s, and no journal beside it\n", path,
                strerror(errno));
        return SONO_EXIT_USAGE;
    }
    /* what is there now must be a results file every reader accepts */
    json_t *doc;
    if (sono_results_load(path, &doc, &err)) {
        fprintf(stderr, "harness results repair: %s\n", err.msg);
        return SONO_EXIT_USAGE;
    }
    json_decref(doc);
    if (info.repaired)
        printf("%s: repaired from journal: %ld cases (run interrupted)\n", path, info.cases);
    else
        printf("%s: no journal, nothing to repair\n", path);
    return SONO_EXIT_OK;
}

int sono_cmd_results(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            sono_print_help("results");
            return SONO_EXIT_OK;
        }
    if (argc < 3 || strcmp(argv[1], "repair") != 0) {
        fprintf(stderr, "usage: harness results repair FILE...; see harness help results\n");
        return SONO_EXIT_USAGE;
    }
    int worst = SONO_EXIT_OK;
    for (int i = 2; i < argc; i++) {
        int rc = repair_one(argv[i]);
        worst = rc > worst ? rc : worst;
    }
    fflush(stdout);
    return worst;
}
