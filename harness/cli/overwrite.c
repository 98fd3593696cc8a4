/* overwrite.c — the guard before --out/--output replace a file: a results file or a .npy
 * file may be rewritten (that is what the option is for), anything else only with --force,
 * so a mistyped --out recording.wav does not destroy the recording. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

int sono_cli_may_overwrite(const char *path, char kind, int force, char *why, size_t n)
{
    struct stat st;
    if (force || stat(path, &st) != 0 || (S_ISREG(st.st_mode) && st.st_size == 0))
        return 0;
    char head[4096] = "";
    FILE *f = S_ISREG(st.st_mode) ? fopen(path, "rb") : NULL;
    size_t got = f ? fread(head, 1, sizeof head - 1, f) : 0;
    if (f)
        fclose(f);
    head[got] = 0;
    /* results files start with their schema key; a journal's header names it too */
    if (kind == 'r' && strstr(head, "\"sonobench.results/"))
        return 0;
    if (kind == 'n' && got >= 6 && memcmp(head, "\x93NUMPY", 6) == 0)
        return 0;
    snprintf(why, n, "%s exists and is not a %s; it would be overwritten: give --force to "
             "replace it, or another name", path,
             kind == 'r' ? "results file" : ".npy file");
    return -1;
}
