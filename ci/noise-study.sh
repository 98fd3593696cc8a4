#!/usr/bin/env bash
# noise-study.sh — how often the gate cries wolf and how often it catches a real 10 %
# slowdown, on this machine, with a noise generator busy at random: A/A pairs and pairs
# with a planted +10 % (test plugin delay/spin) for whole-run pairs and for `harness ab`.
#
# usage: ci/noise-study.sh [PAIRS]      (from the repo root, after make)
#   PAIRS       A/A pairs and planted pairs per mode (default 5)
# environment:
#   NOISE_STUDY_REPS   repetitions for the repeated modes (default 5)
#   NOISE_STUDY_SUITE  suite (default ci/noise-study.ini: delay/spin/n=16 and 3 FFTs)
#   NOISE_STUDY_NOISE  0: no noise generator (default 1)
#   NOISE_STUDY_CPU    core the noise is pinned to (default 0: the suite pins cases to
#                      the last core, so the noise sits on the other one; "" unpinned)
#   NOISE_STUDY_OUT    keep the results files and compare outputs there (default: none)
#   NOISE_STUDY_MODES  the modes to run, space-separated (default: all of them)
# modes, each given the same total measuring time per case:
#   pairs      run A, then run B (one repetition each), compare: the old gate's pair
#   pairs-rep  the same, each run with --repetitions NOISE_STUDY_REPS
#   ab         one `harness ab --repetitions NOISE_STUDY_REPS` run (A/A: the same tree)
#   instructions  whole-run pairs with --metric instructions on ci/noise-study-instr.ini
#              (delay/work, planted +1 % work through SONO_TEST_WORK_PCT): counts need no
#              duet, noise does not move them; skipped, saying why, where this machine
#              can count neither through perf_event_open nor under valgrind
# Printed: per mode, false alarms (case verdicts slower/faster over A/A case verdicts, and
# A/A pairs whose compare exited 1) and detections (planted pairs with delay/spin judged
# slower, and planted pairs that exited 1). A compare exit 2 counts as a broken pair.
set -euo pipefail

pairs=${1:-5}
reps=${NOISE_STUDY_REPS:-5}
suite=${NOISE_STUDY_SUITE:-ci/noise-study.ini}
planted_id='nop/delay/spin/n=16/noise'
case $pairs in ''|*[!0-9]*|0) echo "noise-study: PAIRS must be >= 1" >&2; exit 2;; esac
case $reps in ''|*[!0-9]*|0) echo "noise-study: NOISE_STUDY_REPS must be >= 1" >&2; exit 2;; esac
h=bin/harness
[ -x $h ] && [ -d build/test-plugins ] || { echo "noise-study: run from the repo root after make" >&2; exit 2; }
tree=$(pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/noise-study.XXXXXX")
noise_pid=

# The noise: busy for 0.2-2 s, idle for 0-2 s, again, until killed or an hour is up (a
# bound, should the trap never run). Only the pids started here are ever killed.
noise() {
    local busy= end=$((SECONDS + 3600))
    trap '[ -n "$busy" ] && kill "$busy" 2>/dev/null; exit 0' TERM INT
    while [ $SECONDS -lt $end ]; do
        sleep "$((RANDOM % 2)).$((RANDOM % 10))"
        ${NOISE_STUDY_CPU:+taskset -c "$NOISE_STUDY_CPU"} \
            timeout "$((RANDOM % 2)).$((2 + RANDOM % 8))" bash -c 'while :; do :; done' &
        busy=$!
        wait "$busy" || true
        busy=
    done
}
cleanup() {
    [ -n "$noise_pid" ] && kill "$noise_pid" 2>/dev/null && wait "$noise_pid" 2>/dev/null
    if [ -n "${NOISE_STUDY_OUT:-}" ]; then mkdir -p "$NOISE_STUDY_OUT" && cp -r "$tmp"/. "$NOISE_STUDY_OUT"/; fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
export NOISE_STUDY_CPU=${NOISE_STUDY_CPU-0}
if [ "${NOISE_STUDY_NOISE:-1}" = 1 ]; then
    noise &
    noise_pid=$!
fi

export SONO_PLUGIN_PATH=$tree/build/test-plugins SONO_TEST_DELAY_PCT=0
hrun() { # out extra-run-args... ; the planted pct comes in through the environment
    local out=$1; shift
    "$h" run "$suite" --quiet --out "$out" "$@" >"$out.log" 2>&1 || true # judged by compare
}

# One pair of mode $1, kind $2 (aa|planted), number $3: leaves compare's exit status in
# $tmp/M-K-I.rc and its JSON in $tmp/M-K-I.cmp.
pair() {
    local mode=$1 kind=$2 i=$3 pct=0 stem=$tmp/$1-$2-$3 rc=0
    [ "$kind" = planted ] && pct=10
    case $mode in
        pairs|pairs-rep)
            local r=1; [ "$mode" = pairs-rep ] && r=$reps
            hrun "$stem-a.json" --repetitions "$r"
            SONO_TEST_DELAY_PCT=$pct hrun "$stem-b.json" --repetitions "$r"
            ;;
        ab)
            "$h" ab --base "$tree" --new "$tree" "$suite" --quiet --repetitions "$reps" \
                --out-base "$stem-a.json" --out-new "$stem-b.json" \
                --new-env "SONO_TEST_DELAY_PCT=$pct" \
                >"$stem.ab.log" 2>&1 || true
            ;;
        instructions) # planted: +1 % work, as counts resolve it
            local w=0; [ "$kind" = planted ] && w=1
            "$h" run ci/noise-study-instr.ini --quiet --metric instructions \
                --out "$stem-a.json" >"$stem-a.json.log" 2>&1 || true
            SONO_TEST_WORK_PCT=$w "$h" run ci/noise-study-instr.ini --quiet \
                --metric instructions --out "$stem-b.json" >"$stem-b.json.log" 2>&1 || true
            ;;
    esac
    "$h" compare "$stem-a.json" "$stem-b.json" --format json >"$stem.cmp" 2>"$stem.cmp.err" || rc=$?
    echo "$rc" >"$stem.rc"
}

# ---- --metric instructions: where this machine can count (a PMU, or valgrind) ----------
modes=(pairs pairs-rep ab)
if "$h" run ci/noise-study-instr.ini --metric instructions --dry-run >/dev/null 2>"$tmp/probe"; then
    modes+=(instructions)
else
    skipped="instructions: skipped: $(tail -1 "$tmp/probe")"
fi
if [ -n "${NOISE_STUDY_MODES:-}" ]; then
    wanted=()
    for m in "${modes[@]}"; do
        case " $NOISE_STUDY_MODES " in *" $m "*) wanted+=("$m");; esac
    done
    modes=("${wanted[@]}")
fi
# ---------------------------------------------------------------------------------------

for i in $(seq 1 "$pairs"); do # modes interleaved per pair: drift lands on all of them
    for mode in "${modes[@]}"; do
        for kind in aa planted; do
            echo "noise-study: pair $i/$pairs $mode $kind" >&2
            pair "$mode" "$kind" "$i"
        done
    done
done

printf '\nnoise study: %d pairs per mode and kind, %d repetitions, suite %s, noise %s, %s\n' \
    "$pairs" "$reps" "$suite" "$([ "${NOISE_STUDY_NOISE:-1}" = 1 ] && echo "on (cpu ${NOISE_STUDY_CPU:-any})" || echo off)" \
    "$(nproc) cpus"
python3 - "$tmp" "$planted_id" "${modes[@]}" <<'PY'
import json, sys, glob
tmp, planted_time, modes = sys.argv[1], sys.argv[2], sys.argv[3:]
# inert alarms: verdicts slower/faster on the cases nothing slows, in every pair (the
# planted pairs' other cases are A/A comparisons too)
print(f"{'mode':<13}{'A/A case alarms':>17}{'inert alarms':>14}{'A/A pairs exit 1':>18}"
      f"{'planted caught':>16}{'planted exit 1':>16}{'ambig':>7}{'broken':>8}")
for m in modes:
    planted = "nop/delay/work/n=16/noise" if m == "instructions" else planted_time
    alarms = verdicts = aa_fail = aa = caught = pl = pl_fail = broken = 0
    inert = inert_n = noisy = 0
    runs = [(k, f) for k in ("aa", "planted") for f in glob.glob(f"{tmp}/{m}-{k}-*.rc")]
    for kind, rcf in runs:
        rc = int(open(rcf).read().strip() or 2)
        try:
            doc = json.load(open(rcf[:-3] + ".cmp"))
        except (OSError, ValueError):
            doc = None
        if rc not in (0, 1) or doc is None:
            broken += 1
            continue
        v = {c["id"]: c["comparisons"][0]["verdict"] for c in doc["cases"]}
        for cid, x in v.items():
            noisy += x.startswith("ambiguous")
            if cid != planted:
                inert_n += 1
                inert += x in ("slower", "faster")
        if kind == "aa":
            aa += 1
            aa_fail += rc == 1
            verdicts += len(v)
            alarms += sum(x in ("slower", "faster") for x in v.values())
        else:
            pl += 1
            pl_fail += rc == 1
            caught += v.get(planted) == "slower"
    print(f"{m:<13}{f'{alarms}/{verdicts}':>17}{f'{inert}/{inert_n}':>14}{f'{aa_fail}/{aa}':>18}"
          f"{f'{caught}/{pl}':>16}{f'{pl_fail}/{pl}':>16}{noisy:>7}{broken:>8}")
PY
[ -z "${skipped:-}" ] || echo "$skipped"
