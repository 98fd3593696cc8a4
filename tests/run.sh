#!/usr/bin/env bash
# run.sh — runs each test program given, shows its cmocka output, then validates every
# results file they made (tests/validate_results.py), and closes with one line
# "tests: N passed, N failed" over all of it; exits non-zero if any failed.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
# Every results file a harness finishes during the tests is copied here (harness/
# results_copy.c), so each one is checked against harness/schema/results-1.json.
SONO_RESULTS_COPY=$(mktemp -d "${TMPDIR:-/tmp}/sono-results.XXXXXX") || exit 1
export SONO_RESULTS_COPY
trap 'rm -rf "$SONO_RESULTS_COPY"' EXIT
passed=0 failed=0 bad=() skips=()
# Each skipped test of one program's output as "PROGRAM TEST: REASON": the reason is the
# test's "skip: ..." line (tests/skip_util.h), else the last line it printed itself.
skipped_of() {
    printf '%s\n' "$2" | awk -v prog="$1" '
        /^\[==========\] [0-9]+ test\(s\) run\./ { done = 1 }
        done { next }
        /^\[ RUN      \] / { cur = substr($0, 14); why = ""; tagged = 0; next }
        /^\[  SKIPPED \] / {
            if (substr($0, 14) == cur)
                print prog " " cur ": " (why == "" ? "(no reason printed)" : why)
            next
        }
        /^\[/ { next }
        /^skip: / { why = substr($0, 7); tagged = 1; next }
        !tagged && NF { why = $0 }'
}
run_one() {
    local out rc p f line
    out=$("$@" 2>&1)
    rc=$?
    printf '%s\n' "$out"
    while IFS= read -r line; do
        [ -n "$line" ] && skips+=("$line")
    done < <(skipped_of "$1" "$out")
    p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | tail -1)
    f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | tail -1)
    passed=$((passed + ${p:-0}))
    if [ "$rc" -ne 0 ]; then
        failed=$((failed + ${f:-1}))
        bad+=("$1${2:+ $2} (exit $rc)")
    fi
}
for t in "$@"; do
    run_one "$t"
done
# Debian's python3-jsonschema is for /usr/bin/python3 (the python3 first on PATH may be
# another); SONO_VALIDATE_PYTHON overrides it. Each results file counts as one test.
run_one "${SONO_VALIDATE_PYTHON:-/usr/bin/python3}" "$root/tests/validate_results.py" \
    "$SONO_RESULTS_COPY" "$root/results/reference" "$root/tests/data"
[ ${#bad[@]} -eq 0 ] || printf 'failing: %s\n' "${bad[@]}"
[ ${#skips[@]} -eq 0 ] || printf 'skipped: %s\n' "${skips[@]}"
echo "tests: $passed passed, ${#skips[@]} skipped, $failed failed"
[ "$failed" -eq 0 ] && [ ${#bad[@]} -eq 0 ]
