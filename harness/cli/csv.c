/* csv.c — one CSV text field (RFC 4180) for the commands that write CSV: quoted when it
 * holds a comma, quote or newline (case ids hold commas) or when always is set, quotes
 * doubled. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

void sono_csv_field(FILE *f, const char *s, int always)
{
    if (!always && !strpbrk(s, ",\"\n\r")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}
