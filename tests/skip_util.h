/* skip_util.h — a test whose real work cannot run here (no GPU, no Python, ...) says why and
 * reports skipped with cmocka's skip(), never passed: SONO_SKIP("fmt", ...) prints
 * "skip: REASON" and skips; tests/run.sh counts skips apart and lists each with its reason. */
#ifndef SONO_TESTS_SKIP_UTIL_H
#define SONO_TESTS_SKIP_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

/* The reason goes through cmocka's own stdout, so it lands between the test's RUN and
 * SKIPPED lines where run.sh looks for it. */
#define SONO_SKIP(...)                                                                      \
    do {                                                                                    \
        print_message("skip: " __VA_ARGS__);                                                \
        print_message("\n");                                                                \
        skip();                                                                             \
    } while (0)

#endif
