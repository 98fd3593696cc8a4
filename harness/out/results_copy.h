/* results_copy.h — a test hook: with SONO_RESULTS_COPY naming a folder, every results file
 * the harness finishes is also copied there, so the test suite can validate each one it
 * produced against harness/schema/results-1.json (tests/run.sh, tests/validate_results.py). */
#ifndef SONO_RESULTS_COPY_H
#define SONO_RESULTS_COPY_H

/* Copy the finished results file at path into $SONO_RESULTS_COPY under a unique name
 * (its own name less .json, then -XXXXXX.json). Nothing when the variable is unset or
 * empty; a copy that fails says so on stderr, as the missing file would go unchecked. */
void sono_results_copy(const char *path);

#endif
