#!/usr/bin/env bash
# perf-gate.sh — the CI performance gate: builds two revisions in throw-away git worktrees,
# runs the same suite with both interleaved on this machine (A B A B ..., so drift in
# clock, heat or neighbours hits both alike) and gates on `harness compare`.
#
# usage: ci/perf-gate.sh BASE_REV [HEAD_REV] [-- COMPARE_OPTIONS...]
#   HEAD_REV defaults to HEAD. Options after -- go to `harness compare` (e.g.
#   --threshold 5% --alpha 0.01 --format markdown).
# environment:
#   PERF_GATE_ROUNDS  A/B pairs (default 2)
#   PERF_GATE_SUITE   suite, as a path inside the repo (default suites/quick); the HEAD
#                     revision's copy is run by both sides, so both measure the same cases
#   PERF_GATE_OUT     folder to keep the results files in (CI artifacts); default: none kept
#   PERF_GATE_TEST_PLUGINS=1  also load each side's build/test-plugins (tests only)
#   PERF_GATE_BASE_ENV, PERF_GATE_HEAD_ENV  extra VAR=VALUE words for one side's runs
#                     (tests only: e.g. PERF_GATE_HEAD_ENV=SONO_TEST_DELAY_PCT=10)
# exit: 1 when every pair's compare reports a regression, 2 when a build, a run or a
# compare fails to give a verdict, 0 otherwise. Requiring the regression in EVERY pair
# (not merely the last one) means a one-off hiccup in one pair cannot fail the gate;
# a real slowdown shows in each pair. Needs no network: worktrees come from the local repo.
set -euo pipefail

usage() { sed -n '5,20p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
[ $# -ge 1 ] || usage
base_rev=$1; shift
head_rev=HEAD
if [ $# -ge 1 ] && [ "$1" != "--" ]; then head_rev=$1; shift; fi
[ $# -ge 1 ] && [ "$1" = "--" ] && shift
compare_opts=("$@")
rounds=${PERF_GATE_ROUNDS:-2}
suite=${PERF_GATE_SUITE:-suites/quick}
case $rounds in ''|*[!0-9]*|0) echo "perf-gate: PERF_GATE_ROUNDS must be >= 1" >&2; exit 2;; esac

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

run_side() { # side round
    local side=$1 r=$2 extra
    extra=PERF_GATE_BASE_ENV; [ "$side" = head ] && extra=PERF_GATE_HEAD_ENV
    local plug=
    [ "${PERF_GATE_TEST_PLUGINS:-0}" = 1 ] && plug=$tmp/$side/build/test-plugins
    # shellcheck disable=SC2086  # the extra env is VAR=VALUE words on purpose
    env -u SONO_PLUGIN_PATH ${plug:+SONO_PLUGIN_PATH=$plug} ${!extra:-} \
        "$tmp/$side/bin/harness" run "$suite_path" --quiet --out "$tmp/$side-$r.json" \
        >"$tmp/$side-$r.log" 2>&1
    local rc=$?
    # exit 1 means a case failed: still a results file for compare to judge
    if [ $rc -ne 0 ] && [ $rc -ne 1 ]; then
        tail -n 20 "$tmp/$side-$r.log" >&2
        echo "perf-gate: $side run $r failed (exit $rc)" >&2
        exit 2
    fi
}

for r in $(seq 1 "$rounds"); do
    echo "perf-gate: round $r/$rounds: base, then head" >&2
    run_side base "$r" || exit 2
    run_side head "$r" || exit 2
done
if [ -n "${PERF_GATE_OUT:-}" ]; then
    mkdir -p "$PERF_GATE_OUT" && cp "$tmp"/base-*.json "$tmp"/head-*.json "$PERF_GATE_OUT"/
fi

# The head's harness judges every pair: the comparison rules are the ones under review.
regressed=0 unusable=0
for r in $(seq 1 "$rounds"); do
    echo "== pair $r: base ${base_sha:0:12} vs head ${head_sha:0:12}"
    set +e
    "$tmp/head/bin/harness" compare "$tmp/base-$r.json" "$tmp/head-$r.json" \
        ${compare_opts[@]+"${compare_opts[@]}"}
    rc=$?
    set -e
    case $rc in
        0) ;;
        1) regressed=$((regressed + 1)) ;;
        *) unusable=1 ;;
    esac
done
if [ $unusable -ne 0 ]; then
    echo "perf-gate: compare could not judge a pair" >&2
    exit 2
fi
if [ $regressed -eq "$rounds" ]; then
    echo "perf-gate: REGRESSION in all $rounds pair(s)" >&2
    exit 1
fi
echo "perf-gate: pass: $regressed of $rounds pair(s) flagged a regression; the gate needs all" >&2
exit 0
