#!/usr/bin/env bash
# run.sh — `make mutants`: plants each bug of tests/mutants/manifest (one unified diff per
# mutant, NAME.patch, applied with patch -p1) in a scratch copy of the tree, rebuilds what
# the patch touched, and runs the killers the manifest names; fails if any mutant survives.
#
# Manifest lines: NAME KILLER...; a mutant may have several lines, and every one of its
# killers must fail (exit non-zero) on the mutated build. A killer is
#   exec OP/IMPL ARGS...   bin/harness exec (exit 1 when the op's check fails), or
#   test PROGRAM           build/tests/PROGRAM, run as `make test` runs it.
# Every killer first runs on the unmutated copy and must pass there: a killer that fails
# anyway would "kill" every mutant and prove nothing.
# Env: SONO_MUTANT_DIR (scratch folder; default a new one under TMPDIR, removed after),
# SONO_MUTANTS (names to run, space-separated; default all), JOBS (make -j, default 2),
# MUTANT_TIMEOUT (seconds a killer may run, default 300).
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
here=$root/tests/mutants
jobs=${JOBS:-2}
limit=${MUTANT_TIMEOUT:-300}
if [ -n "${SONO_MUTANT_DIR:-}" ]; then
    scratch=$SONO_MUTANT_DIR
    mkdir -p "$scratch" || exit 2
else
    scratch=$(mktemp -d "${TMPDIR:-/tmp}/sono-mutants.XXXXXX") || exit 2
    trap 'rm -rf "$scratch"' EXIT
fi
command -v patch > /dev/null || { echo "mutants: patch(1) is not installed (ci/install-deps.sh)"; exit 2; }
start=$(date +%s)

# The tree as it is in the working copy (tracked and new unignored files, edits included),
# and the build outputs with their times, so the first make rebuilds only what differs.
(cd "$root" && git ls-files -z -c -o --exclude-standard |
     while IFS= read -r -d '' f; do [ -f "$f" ] && printf '%s\0' "$f"; done |
     tar --null -T - -cf -) | tar -C "$scratch" -xf - || exit 2
for d in build bin; do
    [ -d "$root/$d" ] && { rm -rf "${scratch:?}/$d"; cp -a "$root/$d" "$scratch/$d"; }
done
cd "$scratch" || exit 2

# name<TAB>killer, in manifest order
mapfile -t lines < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$here/manifest" |
                     awk '{n=$1; $1=""; sub(/^ +/, ""); print n "\t" $0}')
names=()
for l in "${lines[@]}"; do
    n=${l%%$'\t'*}
    case " ${names[*]:-} " in *" $n "*) ;; *) names+=("$n") ;; esac
done
if [ -n "${SONO_MUTANTS:-}" ]; then
    names=($SONO_MUTANTS)
fi
tests=()
for l in "${lines[@]}"; do
    k=${l#*$'\t'}
    [ "${k%% *}" = test ] && tests+=("build/tests/${k#test }")
done

build() {
    make -j"$jobs" --no-print-directory all ${tests[@]+"${tests[@]}"} > "$scratch/make.log" 2>&1
}
# run_killer KILLER: its exit status (124 past the time limit)
run_killer() {
    local k=$1
    case $k in
    exec\ *)
        eval "set -- ${k#exec }"
        timeout "$limit" bin/harness exec "$@" > "$scratch/killer.log" 2>&1 ;;
    test\ *)
        SONO_HARNESS=bin/harness SONO_BUILD=build SONO_TEST_PLUGINS=build/test-plugins \
            timeout "$limit" "build/tests/${k#test }" > "$scratch/killer.log" 2>&1 ;;
    *)
        echo "unknown killer: $k" > "$scratch/killer.log"
        return 127 ;;
    esac
}

echo "mutants: building the unmutated copy in $scratch"
build || { tail -20 "$scratch/make.log"; echo "mutants: the unmutated tree does not build"; exit 2; }
bad_baseline=0
for n in "${names[@]}"; do
    [ -f "$here/$n.patch" ] || { echo "mutants: $n: no $n.patch"; bad_baseline=1; }
    for l in "${lines[@]}"; do
        [ "${l%%$'\t'*}" = "$n" ] || continue
        if ! run_killer "${l#*$'\t'}"; then
            echo "mutants: killer fails on the unmutated tree: ${l#*$'\t'}"
            tail -5 "$scratch/killer.log"
            bad_baseline=1
        fi
    done
done
[ $bad_baseline -eq 0 ] || exit 1

rows=() killed=0 total=0
for n in "${names[@]}"; do
    p=$here/$n.patch
    total=$((total + 1))
    if ! patch -p1 -s -f --dry-run < "$p" > /dev/null 2>&1; then
        rows+=("$n|(patch does not apply)|ERROR")
        continue
    fi
    patch -p1 -s -f < "$p"
    if ! build; then
        rows+=("$n|(mutated tree does not build)|ERROR")
        tail -5 "$scratch/make.log"
    else
        all=1
        for l in "${lines[@]}"; do
            [ "${l%%$'\t'*}" = "$n" ] || continue
            k=${l#*$'\t'}
            run_killer "$k"
            rc=$?
            if [ $rc -ne 0 ]; then
                rows+=("$n|$k|yes (exit $rc)")
            else
                rows+=("$n|$k|NO")
                all=0
            fi
        done
        killed=$((killed + all))
    fi
    patch -p1 -s -f -R < "$p"
done
# the last revert rebuilt nothing yet; leave the copy as the tree was (SONO_MUTANT_DIR)
[ -n "${SONO_MUTANT_DIR:-}" ] && build

printf '%-28s %-70s %s\n' mutant killer killed
for r in "${rows[@]}"; do
    IFS='|' read -r a b c <<< "$r"
    printf '%-28s %-70s %s\n' "$a" "${b:0:70}" "$c"
done
echo "mutants: $killed of $total killed ($(( total ? 100 * killed / total : 0 ))%) in $(( $(date +%s) - start )) s"
[ "$killed" -eq "$total" ]
