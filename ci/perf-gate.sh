#!/usr/bin/env bash
# perf-gate.sh — the CI performance gate: builds two revisions in throw-away git worktrees,
# measures both in ONE `harness ab` run on this machine (each case's every repetition on
# base and head back to back, so drift in clock, heat or neighbours hits both alike) and
# gates on its verdict, which is `harness compare`'s.
#
# usage: ci/perf-gate.sh BASE_REV [HEAD_REV] [-- COMPARE_OPTIONS...]
#   HEAD_REV defaults to HEAD. Options after -- go to `harness compare` (e.g.
#   --threshold 5% --alpha 0.01 --format markdown).
# environment:
#   PERF_GATE_REPETITIONS  repetitions of each case per side (default: the suite's own;
#                     PERF_GATE_ROUNDS, its name when the gate ran whole runs in pairs,
#                     is read when this is unset)
#   PERF_GATE_SUITE   suite, as a path inside the repo (default suites/quick); the HEAD
#                     revision's copy is run by both sides, so both measure the same cases
#   PERF_GATE_OUT     folder to keep the results files in (CI artifacts); default: none kept
#   PERF_GATE_TEST_PLUGINS=1  also load each side's build/test-plugins (tests only)
#   PERF_GATE_BASE_ENV, PERF_GATE_HEAD_ENV  extra VAR=VALUE words for one side's workers
#                     (tests only: e.g. PERF_GATE_HEAD_ENV=SONO_TEST_DELAY_PCT=10)
# exit: 1 when compare reports a regression, 2 when a build, the run or the compare fails
# to give a verdict, 0 otherwise. One duet with repetitions replaces the A B A B whole
# runs: both sides see the same noise case by case, and compare judges each case by its
# between-repetition spread, so a hiccup in one repetition cannot fail the gate alone.
# Needs no network: worktrees come from the local repo. The base revision's worker must
# speak head's worker protocol (harness/run/worker.h): true for revisions since issue 22.
set -euo pipefail

usage() { sed -n '7,28p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
[ $# -ge 1 ] || usage
base_rev=$1; shift
head_rev=HEAD
if [ $# -ge 1 ] && [ "$1" != "--" ]; then head_rev=$1; shift; fi
[ $# -ge 1 ] && [ "$1" = "--" ] && shift
compare_opts=("$@")
reps=${PERF_GATE_REPETITIONS:-${PERF_GATE_ROUNDS:-}}
suite=${PERF_GATE_SUITE:-suites/quick}
case $reps in *[!0-9]*|0) echo "perf-gate: PERF_GATE_REPETITIONS must be >= 1" >&2; exit 2;; esac

repo=$(git rev-parse --show-toplevel) || exit 2
base_sha=$(git -C "$repo" rev-parse --verify "$base_rev^{commit}") || { echo "perf-gate: no revision $base_rev" >&2; exit 2; }
head_sha=$(git -C "$repo" rev-parse --verify "$head_rev^{commit}") || { echo "perf-gate: no revision $head_rev" >&2; exit 2; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/perf-gate.XXXXXX")
# The worktrees are registered in the repo: remove them however the script ends.
cleanup() {
    for side in base head; do
        [ -d "$tmp/$side" ] && git -C "$repo" worktree remove --force "$tmp/$side" >/dev/null 2>&1
    done
    git -C "$repo" worktree prune >/dev/null 2>&1 || true
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

jobs=$(nproc 2>/dev/null || echo 2)
for side in base head; do
    sha=$base_sha; [ $side = head ] && sha=$head_sha
    echo "perf-gate: building $side ${sha:0:12}" >&2
    git -C "$repo" worktree add --detach --quiet "$tmp/$side" "$sha" || exit 2
    # Each side builds into its own worktree: nothing is shared but the compiler.
    if ! make -C "$tmp/$side" -j"$jobs" ROOT=. all >"$tmp/$side-build.log" 2>&1; then
        tail -n 30 "$tmp/$side-build.log" >&2
        echo "perf-gate: building $side (${sha:0:12}) failed" >&2
        exit 2
    fi
done
suite_path=$tmp/head/$suite
[ -e "$suite_path" ] || { echo "perf-gate: no suite $suite in ${head_sha:0:12}" >&2; exit 2; }

# Each side's workers get that side's extra env and, for tests, its own test plugins; the
# head's harness runs the duet (its plugins expand the suite) and judges it (its compare).
side_env=()
for side in base head; do
    flag=--base-env extra=PERF_GATE_BASE_ENV
    [ $side = head ] && flag=--new-env extra=PERF_GATE_HEAD_ENV
    [ "${PERF_GATE_TEST_PLUGINS:-0}" = 1 ] && side_env+=("$flag" "SONO_PLUGIN_PATH=$tmp/$side/build/test-plugins")
    for word in ${!extra:-}; do side_env+=("$flag" "$word"); done
done
plug=
[ "${PERF_GATE_TEST_PLUGINS:-0}" = 1 ] && plug=$tmp/head/build/test-plugins

echo "== base ${base_sha:0:12} vs head ${head_sha:0:12}"
set +e
env -u SONO_PLUGIN_PATH ${plug:+SONO_PLUGIN_PATH=$plug} \
    "$tmp/head/bin/harness" ab --base "$tmp/base" --new "$tmp/head" "$suite_path" --quiet \
    ${reps:+--repetitions "$reps"} --out-base "$tmp/base.json" --out-new "$tmp/head.json" \
    ${side_env[@]+"${side_env[@]}"} -- ${compare_opts[@]+"${compare_opts[@]}"} \
    2>"$tmp/ab.log"
rc=$?
set -e
if [ -n "${PERF_GATE_OUT:-}" ] && [ -e "$tmp/base.json" ] && [ -e "$tmp/head.json" ]; then
    mkdir -p "$PERF_GATE_OUT" && cp "$tmp/base.json" "$tmp/head.json" "$PERF_GATE_OUT"/
fi
case $rc in
    0) echo "perf-gate: pass: no regression" >&2; exit 0 ;;
    1) echo "perf-gate: REGRESSION" >&2; exit 1 ;;
    *) tail -n 20 "$tmp/ab.log" >&2
       echo "perf-gate: harness ab gave no verdict (exit $rc)" >&2; exit 2 ;;
esac
