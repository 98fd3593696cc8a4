#!/usr/bin/env bash
# run.sh — runs each test program given, shows its cmocka output, and closes with one
# line "tests: N passed, N failed" over all of them; exits non-zero if any failed.
set -u
passed=0 failed=0 bad=()
for t in "$@"; do
    out=$("$t" 2>&1)
    rc=$?
    printf '%s\n' "$out"
    p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | tail -1)
    f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | tail -1)
    passed=$((passed + ${p:-0}))
    if [ "$rc" -ne 0 ]; then
        failed=$((failed + ${f:-1}))
        bad+=("$t (exit $rc)")
    fi
done
[ ${#bad[@]} -eq 0 ] || printf 'failing: %s\n' "${bad[@]}"
echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ ${#bad[@]} -eq 0 ]
