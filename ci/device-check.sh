#!/usr/bin/env bash
# device-check.sh — the one command a session runs on a lent GPU machine. That machine
# has no network and none of our Debian libraries, so it works from a build made on the
# developer's machine plus the libraries (and the speech recordings) carried in .devpkgs/:
#
#   here:   ../shared/device/pack.sh libvorbisfile3 libopusfile0 && mkdir -p .devpkgs/sounds &&
#           cp /usr/share/sounds/alsa/*.wav .devpkgs/sounds/ &&
#           make all $(ls tests/test_*.c | sed 's|tests/|build/tests/|;s|\.c$||') &&
#           strip --strip-debug build/tests/test_*     (carry must stay under 64 MiB)
#   device: carry ["build/plugins", "build/tests", "build/test-plugins", "bin", ".devpkgs"]
#           command: bash .devpkgs/unpack.sh && . /tmp/devroot/env.sh && bash ci/device-check.sh
#
# Results from uncommitted code are not reference results: the script refuses (exit 3) when
# bin/harness was built from a dirty tree (its `version` line says the commit, from the
# Makefile's `git describe --dirty`) or names no commit, and, where the folder is a git
# checkout, when the tree has uncommitted changes or bin/harness was built at another
# commit. DC_ALLOW_DIRTY=1 runs anyway, with the results under results/dirty/ instead.
#
# A lease is short (15 minutes of device time, 10 a command), so the whole default run
# finishes in DC_TOTAL_S seconds of wall time (default 570: one 10-minute command with
# margin). The work is in stages, run in the order given (default, by priority: setup
# smoke calibrate tc dspfig fftfig frontfig codecfig speechfig ctcfig codecs extra). Each
# stage gets a time budget from the plan below (its share of the time left among the
# stages still to run, or DC_<STAGE>_S seconds), never more than what is left of the total; a stage with under DC_MIN_STAGE_S
# (20) left is skipped, saying so. Inside a stage every command is capped by the stage's
# remaining time, and each `harness run` is sized first (issue 26): its planned time (the
# shard planner's estimate, `run --dry-run`) must fit 80 % of its cap, else it is rerun
# with one repetition and short per-case budgets, then as the first of N shards; if even
# that cannot fit, it is skipped with a message. So each stage's results file is whole
# (complete: true); a command cut anyway is sent SIGINT, and `harness run` keeps every
# completed case in a valid results file. After each stage the results
# (results/reference/<gpu>-<date>-<stage>.json) and the logs are packed into
# $OUT/device-check.tgz when $OUT is set, so whatever finished comes back.
#   setup      the speech recordings, the GPU's name, the cuda backend's availability
#   smoke      tests then execs: the test programs that touch a GPU (or the python
#              peers), in parallel, and one `harness exec` of every GPU impl (cuda and
#              py:cuda), each checked against its float64 reference, small sizes
#   tests      the test programs alone (as in smoke)
#   execs      the execs alone (as in smoke)
#   alltests   every built test program (not in the default list: long)
#   calibrate  harness calibrate (CPU, then each GPU: D2D copy GB/s, cuBLAS SGEMM peak)
#   dspfig     the suites/gpu cases whose figures issue 10 asks for (FFT, log-mel, copy)
#   fftfig     issue 26: own GPU FFT (cuda/stockham) vs cuFFT, n 1024..65536 x 256, hot
#              and cold (L2 flushed before each sample), after an exec of each checked
#   frontfig   issue 26: logmel cuda/fused vs cuda/cufft vs torch-cuda, 16 and 64 x 30 s
#   codecfig   those issue 11 asks for (attention, VQ, SGEMM, the codec at 1 and 64 streams)
#   figures    both
#   ctcfig     issue 23: suites/gpu's CTC rows (greedy and beam search, batches)
#   speechfig  issue 23: whisper.encoder tiny/base, 1 and 8 clips: cuda/whisper vs torch-cuda
#   codecs     suites/codecs' GPU rows (cuda rungs and py/torch-cuda)
#   gpu        the whole of suites/gpu
#   extra      batch-64 front ends, cuda/encodec's memory refusal, the second GPU (cuda/
#              copy and, issue 27, py/torch-cuda moved there by --device cuda:1)
#   speech     issue 23: cuda/cublas of wav2vec2.features and attention.relpos checked by
#              exec, then suites/gpu's [wav2vec2] and [relpos] (not in the default list)
#   vocoder    issue 25: cuda/hifigan and cuda/wavenet checked by exec (small dims, then
#              V1 on 1 s), test_hifigan_fixture and test_cuda_math_gen, then suites/gpu's
#              [hifigan] and [wavenet] (not in the default list)
#   tc         issue 26: cuda/flash2 in bf16, f16 and tf32 checked by exec (head_dim 64 and
#              128, causal and not), then suites/gpu's dtype rows: flash2 vs torch SDPA in
#              bf16/tf32 at seq 4096 and 16384, vq.encode in bf16 (in the default list, after
#              calibrate, whose tensor-core peaks its roof% is read against)
#   tc2        issue 26: cuda/conv-tc (bf16, f16, tf32; causal and valid, strided, dilated,
#              grouped, ELU/Snake), cuda/vq-tc in tf32 and cuda/rvq-tc in each dtype checked
#              by exec, then suites/gpu's [conv_tc], [rvq_encode_tc], [vq_encode_tc_more]
#              beside the float32 rows of the same sizes (not in the default list)
#   generation issue 25: cuda/sample, cuda/delay, cuda/ste, cuda/maskgit checked by exec (against the
#              float64 references; test_cuda_math_sample proved the tokens equal to
#              cpu/naive's on the host), then suites/gpu's sample.topk, codes.delay and
#              vq.ste rows (not in the default list)
#   codeccompare  issue 24: SoundStream on cuda/encodec and py/torch-cuda, DAC on
#              py/torch-cuda, checked by exec on the tiny fixtures, then suites/codecs'
#              [compare*] GPU rows (not in the default list)
#   mimigpu    issue 24: cuda/mimi's correctness tests (test_cuda_math_mimi, test_cuda_mimi:
#              every mode, 1 and 3 streams, against the float64 reference; test_mimi_fixture
#              against transformers' MimiModel), then execs at kyutai/mimi's shapes on
#              0.5 s and 2 x 0.25 s, ~60 s (not in the default list)
#   dacgpu     issue 24: cuda/dac (~60 s): test_cuda_math_dac, then execs against the
#              float64 reference: the tiny fixture in every mode at streams 1 and 3, toy
#              widths at 2 streams, dac_44khz's shapes on 2 x 0.05 s (not in the default
#              list)
#   lt         issue 26: gemm_dt (cuBLASLt in each dtype): test_cuda_math_gdt, cuda/cublaslt
#              sgemm and cuda/vq-lt checked by exec in f32/tf32/bf16/f16 (one vq-lt case at
#              unaligned K, D), cuda/encodec encode bf16, decode f16, encode tf32 (0.5 s),
#              cuda/whisper bf16 and f16 (one block, 600 frames), wav2vec2.features/cuda/
#              cublas bf16 and tf32 (2 s), each against the float64
#              reference under the op's dtype tolerance, then what is left
#              of DC_LT_S (60) on suites/gpu's [lt_vq] rows (not in the default list)
set -uo pipefail
cd "$(dirname "$0")/.."

stages=("$@")
[ ${#stages[@]} -gt 0 ] ||
    stages=(setup smoke calibrate tc dspfig fftfig frontfig codecfig speechfig ctcfig codecs extra)

# The time plan: each stage's share of DC_TOTAL_S (a stage not listed: 8), in proportion
# among the stages run: the default list sums to 100, so these are its percentages.
# Adding a stage is one entry here (and its name in the default list).
declare -A share=(
    [setup]=4
    [smoke]=14
    [calibrate]=10
    [tc]=10
    [dspfig]=7
    [fftfig]=9
    [frontfig]=7
    [codecfig]=9
    [speechfig]=11
    [ctcfig]=5
    [codecs]=8
    [extra]=6
    [tests]=10 [execs]=10 [alltests]=40 [gpu]=40 [figures]=20 [speech]=12
    [tc2]=12 # issue 26: not in the default list
)
share[lt]=10 # issue 26: about 60 s of the 570
total=${DC_TOTAL_S:-570}
min_stage=${DC_MIN_STAGE_S:-20}
t_start=$(date +%s)
stage_end=$((t_start + total)) # the running stage's deadline (whole run's outside stages)
now() { date +%s; }
total_left() { echo $((t_start + total - $(now))); }
stage_left() { echo $((stage_end - $(now))); }

built=$(bin/harness version 2>/dev/null | sed -n 's/.*(git \([^,]*\),.*/\1/p')
dirty=
case ${built:-unknown} in
    unknown) dirty="bin/harness names no commit (built outside git, or too old)" ;;
    *-dirty) dirty="bin/harness was built from a dirty tree ($built)" ;;
esac
if [ -z "$dirty" ] && [ "$(git rev-parse --show-toplevel 2>/dev/null)" = "$(pwd -P)" ]; then
    if [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then
        dirty="the tree has uncommitted changes"
    elif [ "$(git describe --always 2>/dev/null)" != "$built" ]; then
        dirty="bin/harness was built at $built, the tree is at $(git describe --always)"
    fi
fi
resdir=results/reference
if [ -n "$dirty" ]; then
    if [ "${DC_ALLOW_DIRTY:-0}" != 1 ]; then
        echo "device-check: refusing: $dirty; results from uncommitted code are not reference" \
             "results (commit and rebuild, or DC_ALLOW_DIRTY=1 to write them to results/dirty/)" >&2
        exit 3
    fi
    resdir=results/dirty
    echo "device-check: DC_ALLOW_DIRTY=1: $dirty; results go to $resdir/"
fi
echo "device-check: build ${built:-unknown}"

gpu=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -n 1)
gpu=${gpu:-no-gpu}
slug=$(printf '%s' "$gpu" | tr -cs 'A-Za-z0-9' '-' | sed 's/-*$//' | tr 'A-Z' 'a-z')
day=$(date -u +%Y-%m-%d)
mkdir -p "$resdir"
base="${resdir}/${slug}-${day}"
logs=${DC_LOG_DIR:-/tmp/device-check} # tests give their own, so runs side by side do not mix
mkdir -p "$logs"
cal="${base}-calibration.json"
[ -f "$cal" ] && export SONO_CALIBRATION="$cal"
status=0
fail() { echo "device-check: FAIL: $*" >&2; status=1; }

# cap SECONDS: SECONDS, or less where the running stage has less left (the KILL grace
# below comes out of it too)
cap() {
    local s=$1 l
    l=$(( $(stage_left) - 5 ))
    [ "$l" -lt "$s" ] && s=$l
    echo "$s"
}

# limit SECONDS LOG CMD...: runs CMD with its output in LOG, stopped by SIGINT (then KILL
# 5 s later) at the limit, never past the stage's deadline; returns CMD's status (124
# when stopped, 125 when the stage had no time left for it)
limit() {
    local s log=$2
    s=$(cap "$1")
    shift 2
    if [ "$s" -lt 1 ]; then
        echo "device-check: no time left in the stage for: $*" | tee "$log"
        return 125
    fi
    timeout -s INT -k 5 "$s" "$@" > "$log" 2>&1
}

pack() {
    [ -n "${OUT:-}" ] || return 0
    tar czf "$OUT/device-check.tgz" "$resdir" "$logs" 2>/dev/null || true
}

st_setup() {
    echo "device-check: GPU: $gpu"
    nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv 2>/dev/null || true
    # the `speech` input reads alsa-utils' voice recordings (datasets/speech.manifest)
    if [ ! -f /usr/share/sounds/alsa/Front_Center.wav ] && [ -d .devpkgs/sounds ]; then
        mkdir -p /usr/share/sounds/alsa && cp .devpkgs/sounds/*.wav /usr/share/sounds/alsa/
    fi
    [ -f /usr/share/sounds/alsa/Front_Center.wav ] || fail "no speech recordings (carry .devpkgs/sounds)"
    python3 -c 'import torch, transformers; print("python:", torch.__version__, "cuda", torch.cuda.is_available(), "transformers", transformers.__version__)' 2>&1 | tail -n 1
    # The cuda backend must be there and available wherever a GPU is: a GPU run whose
    # cuda cases all skip would otherwise look like a green run.
    bin/harness list impls > "$logs/impls.log" 2>&1
    local line
    line=$(grep -E '^ *backend cuda ' "$logs/impls.log" | head -n 1)
    echo "device-check: cuda backend: ${line:-absent (build/plugins/cuda.so not built: no nvcc?)}"
    if [ "$gpu" != no-gpu ] && { [ -z "$line" ] || printf '%s' "$line" | grep -q UNAVAILABLE; }; then
        fail "a GPU ($gpu) is present but the cuda backend is not available"
    fi
}

run_tests() {
    local log=$logs/tests.log
    if [ ! -x "${1:-}" ]; then
        fail "no built tests in build/tests (build them here first)"
        return
    fi
    # one program per core at once; tests/run.sh adds up their cmocka lines
    printf '%s\n' "$@" | SONO_HARNESS=bin/harness SONO_BUILD=build \
        SONO_TEST_PLUGINS=build/test-plugins timeout -k 5 "$(cap "${DC_TESTS_S:-240}")" \
        xargs -P "$(nproc)" -I{} sh -c "bash tests/run.sh {} > $logs/\$(basename {}).log 2>&1"
    local p=0 f=0 k=0 t
    : > "$log"
    for t in "$@"; do
        cat "$logs/$(basename "$t").log" >> "$log"
        local line
        line=$(tail -n 1 "$logs/$(basename "$t").log" 2>/dev/null)
        local lp lf lk
        lp=$(printf '%s' "$line" | sed -n 's/^tests: \([0-9]*\) passed.*/\1/p')
        lf=$(printf '%s' "$line" | sed -n 's/^tests: .* \([0-9]*\) failed$/\1/p')
        lk=$(printf '%s' "$line" | sed -n 's/^tests: .* \([0-9]*\) skipped.*/\1/p')
        k=$((k + ${lk:-0}))
        p=$((p + ${lp:-0}))
        f=$((f + ${lf:-1})) # no summary line: it did not finish
        case "$line" in *" 0 failed") ;; *) echo "  $(basename "$t"): $line" ;; esac
    done
    echo "device-check: tests: $p passed, $k skipped, $f failed"
    grep '^skipped: ' "$log" | head -n 30
    [ "$f" -eq 0 ] || { grep -E '^\[  FAILED  \]|^\[  ERROR   \]|rror:' "$log" | head -n 30; fail "tests"; }
}

st_tests() {
    local t=() n
    for n in build/tests/test_cuda_* build/tests/test_py_* build/tests/test_dsp_batch \
             build/tests/test_encodec_streams build/tests/test_encodec_cudamem \
             build/tests/test_gpucal build/tests/test_impls build/tests/test_ctc \
             build/tests/test_whisper_fixture \
             build/tests/test_gen_sample build/tests/test_gen_delay \
             build/tests/test_gen_vqste build/tests/test_gen_maskgit; do
        [ -x "$n" ] && t+=("$n")
    done
    run_tests "${t[@]}"
}

st_alltests() { run_tests build/tests/test_*; }

# Small sizes for the smoke execs where an op's defaults take long (the float64 reference
# of a whole model): a few seconds each on the device machine.
declare -A smoke_params=(
    [whisper.encoder]="--param layers=1 --param frames=600"
    [codec.encodec]="--param seconds=1"
    [codec.mimi]="--param seconds=0.25"
    [wav2vec2.features]="--param seconds=2"
)
# issue 26: the tensor-core impls refuse dtype=f32 (the op's default), so their smoke exec
# names a dtype (and rvq-tc a K whose codebooks train in seconds)
declare -A smoke_impl_params=(
    [attention/cuda/flash2]="--param dtype=bf16"
    [vq.encode/cuda/vq-tc]="--param dtype=bf16"
    [conv1d/cuda/conv-tc]="--param dtype=bf16"
    [rvq.encode/cuda/rvq-tc]="--param dtype=bf16 --param K=256 --param D=64"
    # issue 26: decode's float32 tol (1e-5 to 3e-5) fails TF32 convolutions (~1e-3): the
    # check that the CUDA peers' cuDNN runs IEEE float32 (the H200 round trip read 8.1e-4)
    [codec.encodec/py/torch-cuda]="--param mode=decode"
)

# issue 26: one exec of every GPU impl (`harness list impls`: on cuda*, py:cuda*) at its
# op's defaults (smaller where smoke_params says), each checked against the float64
# reference, four at once; a failing or cut exec fails the stage, naming it.
st_execs() {
    local list=$logs/smoke-impls.txt
    if [ "$gpu" = no-gpu ]; then
        echo "device-check: execs: no GPU here: nothing to exec"
        return
    fi
    bin/harness list impls 2>/dev/null | awk '$3 == "on" && $4 ~ /^(py:)?cuda/ {print $1 "/" $2}' > "$list"
    if [ ! -s "$list" ]; then
        echo "device-check: execs: no GPU impls listed (no cuda backend here)"
        return
    fi
    local s
    s=$(cap "${DC_EXEC_S:-60}")
    echo "device-check: execs: $(wc -l < "$list") GPU impls, each under ${s}s, 4 at once"
    export -f smoke_one
    rm -f "$logs"/exec-*.status
    while read -r im; do
        printf '%s %s %s\n' "$im" "${smoke_params[${im%%/*}]:-}" "${smoke_impl_params[$im]:-}"
    done < "$list" | DC_EXEC_LIMIT=$s DC_LOGS=$logs timeout -s INT -k 5 "$(cap 600)" \
        xargs -P 4 -L 1 bash -c 'smoke_one "$@"' _
    local bad all done
    bad=$(cat "$logs"/exec-*.status 2>/dev/null | grep -v ' 0$' || true)
    if [ -n "$bad" ]; then
        printf '%s\n' "$bad" | head -n 30
        fail "execs: $(printf '%s\n' "$bad" | wc -l) GPU impls failed or were cut"
    fi
    all=$(wc -l < "$list")
    done=$(cat "$logs"/exec-*.status 2>/dev/null | wc -l)
    [ "$done" -eq "$all" ] || fail "execs: $((all - done)) of $all GPU impls not run in the stage's time"
    echo "device-check: execs: $(cat "$logs"/exec-*.status 2>/dev/null | grep -c ' 0$') of $all ok"
}

# smoke_one OP/BACKEND/IMPL [ARGS...]: one exec (in st_execs' xargs), its status in a file
smoke_one() {
    local im=$1 f
    shift
    f=$DC_LOGS/exec-$(printf '%s' "$im" | tr '/' '_')
    timeout -s INT -k 5 "$DC_EXEC_LIMIT" bin/harness exec "$im" "$@" > "$f.log" 2>&1
    echo "$im $?" > "$f.status"
}

# the tests get at most half the stage, so the execs always have their share
st_smoke() {
    local half=$(( $(stage_left) / 2 ))
    [ "$half" -gt "${DC_TESTS_S:-240}" ] && half=${DC_TESTS_S:-240}
    DC_TESTS_S=$half st_tests
    st_execs
}

st_calibrate() {
    echo "device-check: harness calibrate -> $cal"
    limit "${DC_CALIBRATE_S:-120}" "$logs/calibrate.log" bin/harness calibrate --out "$cal" --quiet ||
        fail "calibrate"
    cat "$logs/calibrate.log"
    grep -q '^  *cuda:0 ' "$logs/calibrate.log" || [ "$gpu" = no-gpu ] || fail "no cuda:0 calibration"
    [ -f "$cal" ] && export SONO_CALIBRATION="$cal"
}

# planned FILE ARGS...: the planned seconds of `harness run FILE ARGS` here (dry run)
planned() {
    bin/harness run "$@" --dry-run 2>&1 >/dev/null |
        sed -n 's/^planned: .* about \([0-9]*\) s .*/\1/p' | tail -n 1
}

# The planner's model is nominal (a slow impl, a laptop core): `ratio` (percent) is what
# a run really took against its plan, learnt from each `harness run` of this session
# (the larger of the newest ratio and 3/4 of the old one), starting at DC_PLAN_RATIO.
# Each `harness run` also pays a start (plugins, the Python worker, CUDA contexts) the
# plan does not count: DC_RUN_OVERHEAD_S, added to every expectation and taken out of
# what a run took before the ratio is learnt.
ratio=${DC_PLAN_RATIO:-150}
overhead=${DC_RUN_OVERHEAD_S:-3}
expect() { echo $(( ($1 * ratio + 99) / 100 + overhead )); }

# suite NAME LIMIT FILE ARGS...: `harness run` of FILE's cases that ARGS select, in at
# most LIMIT seconds and the stage's time left (80 % of that is the fit). Planned time x
# ratio over the fit: one repetition and 0.25 s a case; still over: N shards of the
# planner's balanced parts, run one after another while the next one's expected time
# fits what is left, each its own whole results file (<base>-NAME-I-of-N.json; harness
# fleet collect merges them); parts that cannot fit are skipped, saying so.
suite() {
    local name=$1 s=$2 suite=$3
    shift 3
    s=$(cap "$s")
    if [ "$s" -lt 10 ]; then
        echo "device-check: $name: skipped: ${s}s left in the stage"
        return
    fi
    local t_end=$(( $(now) + s )) fit=$((s * 8 / 10)) p size=() how="" n=1
    p=$(planned "$suite" "$@")
    if [ -z "$p" ]; then
        fail "$name: harness run $suite --dry-run gave no plan"
        bin/harness run "$suite" "$@" --dry-run 2>&1 | tail -n 5
        return
    fi
    if [ "$(expect "$p")" -gt "$fit" ]; then
        size=(--repetitions 1 --budget-s 0.25 --min-time-s 0.01 --warmup-s 0.02)
        how=": one repetition, 0.25 s a case"
        p=$(planned "$suite" "$@" "${size[@]}")
    fi
    if [ "$(expect "${p:-0}")" -gt "$fit" ]; then
        n=$(( ($(expect "$p") * 2 + fit - 1) / fit )) # parts of about half the fit
        [ "$n" -gt 32 ] && n=32
        how="$how, in $n parts"
    fi
    echo "device-check: $name: harness run $suite $* ${size[*]} (planned ${p}s x ${ratio}%$how; limit ${s}s)"
    local i out part=() pi t0 rc=0 frc=0 left
    for ((i = 1; i <= n; i++)); do
        out=${base}-$name.json
        part=()
        if [ "$n" -gt 1 ]; then
            out=${base}-$name-$i-of-$n.json
            part=(--shard "$i/$n")
        fi
        left=$(( (t_end - $(now)) * 8 / 10 ))
        if [ "$left" -le "$overhead" ]; then
            echo "device-check: $name: parts $i to $n skipped: ${left}s left"
            break
        fi
        pi=$(planned "$suite" "$@" "${size[@]}" "${part[@]}")
        if [ -z "$pi" ] || [ "$(expect "$pi")" -gt "$left" ]; then
            echo "device-check: $name: part $i of $n skipped: expected $(expect "${pi:-0}")s, ${left}s left"
            continue
        fi
        t0=$(now)
        limit $((t_end - t0)) "$logs/$name.log" bin/harness run "$suite" --out "$out" --quiet \
            "$@" "${size[@]}" "${part[@]}"
        rc=$?
        local took=$(( $(now) - t0 )) r
        if [ "$pi" -gt 0 ]; then
            r=$(( (took - overhead) * 100 / pi ))
            [ "$r" -lt $((ratio * 3 / 4)) ] && r=$((ratio * 3 / 4))
            [ "$r" -lt 25 ] && r=25
            ratio=$r
        fi
        echo "device-check: $name: part $i of $n: ${took}s (planned ${pi}s; ratio now ${ratio}%) -> $out"
        case $rc in 0) ;; 124|125|130) break ;; *) frc=$rc ;; esac
    done
    [ "$rc" -eq 0 ] && rc=$frc
    tail -n 80 "$logs/$name.log" 2>/dev/null
    case $rc in 0) ;; 124|130) fail "$name: stopped at its ${s}s limit (completed cases kept)" ;;
        *) fail "$name: harness run exit $rc" ;; esac
}

# The cases behind the issues' figures. dspfig (issue 10): cuFFT GB/s against the
# calibrated copy GB/s and torch.fft; x real time of the GPU log-mel (64 x 30 s) against
# torch. codecfig (issue 11): flash vs naive attention and torch SDPA at seq 4096 (and
# 16384, where the naive kernel's seq^2 scores show in its memory); VQ encode FLOP/s
# against cuBLAS SGEMM and torch cdist+argmin; the codec at 1 and 64 streams against
# transformers. (The CPU attention rows, seconds each, are suites/gpu's.)
st_dspfig() {
    suite dspfig "${DC_DSPFIG_S:-240}" suites/gpu \
        --filter 'fft/*n=65536,batch=256/*' --filter 'fft/*n=4096,batch=256/*' \
        --filter 'rfft/*n=65536,*' --filter 'copy/*' --filter 'logmel/*batch=64/*'
}

st_codecfig() {
    suite codecfig "${DC_CODECFIG_S:-240}" suites/gpu \
        --filter 'attention/cuda/*' --filter 'attention/py/*' \
        --filter 'vq.encode/cuda/*' --filter 'vq.encode/py/*' --filter 'sgemm/cuda/*' \
        --filter 'codec.encodec/*/*seconds=1,*'
}

# issue 26: the own GPU FFT against cuFFT, batch 256, n 1024..65536, hot and cold (the
# cuda device flushes L2 before each cold sample, so the GB/s are HBM figures); each
# cuda/stockham size is exec'd and checked first (also in smoke, at the default n).
st_fftfig() {
    local n
    [ "$gpu" != no-gpu ] && for n in 1024 65536; do
        limit 60 "$logs/stockham-exec.log" bin/harness exec fft/cuda/stockham --param n=$n \
            --param batch=256 || fail "fft/cuda/stockham exec n=$n batch=256"
        grep -E -- '->|rror' "$logs/stockham-exec.log" | head -n 3
    done
    suite fftfig "${DC_FFTFIG_S:-120}" suites/gpu --filter 'fft/cuda/*' --filter 'rfft/cuda/*' \
        --filter 'fft/py/torch-cuda/*'
}

# issue 26: the fused Whisper front end (cuda/fused: one kernel from samples to clamped
# log-mel) against cuda/cufft and torch-cuda at 16 and 64 clips of 30 s
st_frontfig() {
    if [ "$gpu" != no-gpu ]; then
        limit 60 "$logs/fused-exec.log" bin/harness exec logmel/cuda/fused --param batch=16 ||
            fail "logmel/cuda/fused exec batch=16"
        grep -E -- '->|rror' "$logs/fused-exec.log" | head -n 3
    fi
    suite frontfig "${DC_FRONTFIG_S:-90}" suites/gpu --filter 'logmel/cuda/*batch=*' \
        --filter 'logmel/py/torch-cuda/*batch=*'
}

# issue 23: CTC decoding on the GPU against cpu/fast and the torch peer (suites/gpu's ctc
# rows); test_ctc (the tests stage) checks cuda/ctc-* against the references first.
st_ctcfig() {
    suite ctcfig "${DC_CTCFIG_S:-240}" suites/gpu --filter 'ctc.*'
}

st_figures() {
    st_dspfig
    st_codecfig
}

# issue 23: the Whisper encoder on the GPU against transformers' WhisperEncoder there, tiny
# and base on 30 s at 1 and 8 clips (the float64 reference of 8 base clips is about a
# minute on the device machine's cores); first one exec of cuda/whisper on a cut model,
# checked, so a broken kernel shows before the suite's time is spent.
st_speechfig() {
    if [ "$gpu" != no-gpu ]; then
        limit 120 "$logs/whisper-exec.log" bin/harness exec whisper.encoder/cuda/whisper \
            --param model=tiny --param layers=1 --param frames=600 --input speech ||
            fail "cuda/whisper exec (tiny, 1 layer, 600 frames)"
        grep -E -- '->|rror' "$logs/whisper-exec.log" | head -n 3
    fi
    suite speechfig "${DC_SPEECHFIG_S:-300}" suites/gpu --filter 'whisper.encoder/*'
}

st_codecs() {
    suite codecs "${DC_CODECS_S:-240}" suites/codecs --filter '*cuda*'
}

st_gpu() {
    suite gpu "${DC_GPU_S:-540}" suites/gpu
}

st_extra() {
    # issue 10: the Whisper front end over 64 clips on both cuda rungs, checked, with each
    # rung's own description
    local im
    for im in logmel/cuda/cufft logmel/cuda/cufft-cublas; do
        limit 120 "$logs/batch.log" bin/harness exec "$im" --input noise --param batch=64 \
            --output /tmp/device-batch.npy || fail "$im batch=64"
        grep -E -- '->|describe|rror' "$logs/batch.log" | head -n 5
    done
    # issue 11: cuda/encodec's memory gate refuses in supports() a batch of streams far
    # larger than the GPU (1024 x 80 s: hundreds of GB) rather than failing in cudaMalloc
    if [ "$gpu" != no-gpu ]; then
        if limit 120 "$logs/encmem.log" bin/harness exec codec.encodec/cuda/encodec \
                --param streams=1024 --param seconds=80 ||
                ! grep -q "of device memory" "$logs/encmem.log"; then
            fail "cuda/encodec did not refuse 1024 streams x 80 s for memory"
            cat "$logs/encmem.log"
        fi
    fi
    # issue 10: every GPU record carries device_mem (cudaMemGetInfo around the case), and
    # top_kernels most time first; read off the newest results file of this run
    if [ "$gpu" != no-gpu ]; then
        local f
        f=$(ls -t "${base}"-*.json 2>/dev/null | grep -v calibration | head -n 1)
        if [ -n "$f" ] && ! grep -q '"device_mem"' "$f"; then
            fail "no gpu.device_mem in $f"
        fi
    fi
    # issue 10: the second GPU, when there is one, runs the copy cases too
    local ngpu
    ngpu=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | wc -l)
    if [ "${ngpu:-0}" -gt 1 ]; then
        suite cuda1 120 suites/gpu --device cuda:1 --filter 'copy/*'
        # issue 27: and py/torch-cuda goes with it: ok, on py:cuda:1, its describe naming
        # the GPU torch put it on (cuda:1 in the summary), beside cuda/cufft on cuda:1
        suite cuda1py 120 suites/gpu --device cuda:1 --repetitions 1 \
            --filter 'fft/py/torch-cuda/n=4096,*' --filter 'fft/cuda/cufft/n=4096,*'
        python3 - "${base}-cuda1py.json" <<'PY' || fail "py/torch-cuda did not run on cuda:1"
import json, sys
cases = json.load(open(sys.argv[1]))["cases"]
want = {"cuda/cufft": "cuda:1", "py/torch-cuda": "py:cuda:1"}
seen = set()
for c in cases:
    impl = c["id"].split("/")[1] + "/" + c["id"].split("/")[2]
    print(" ", c["id"], c["device"], c["status"], c.get("describe", "")[:90])
    assert c["status"] == "ok" and c["device"] == want[impl], c["id"]
    assert impl != "py/torch-cuda" or " on cuda:1" in c["describe"], c["describe"]
    seen.add(impl)
assert seen == set(want), seen
PY
    fi
}

# issue 23: each cuda rung once against its float64 reference (both norm modes, the log
# buckets), then the suite rows with the CPU and torch rungs beside them
st_speech() {
    local args
    for args in "wav2vec2.features/cuda/cublas --param seconds=2 --param channels=64 --param norm=group --param batch=2" \
                "wav2vec2.features/cuda/cublas --param seconds=10 --param norm=layer" \
                "attention.relpos/cuda/cublas --param seq=1500 --param heads=12" \
                "attention.relpos/cuda/cublas --param seq=37 --param heads=3 --param head_dim=16"; do
        # shellcheck disable=SC2086
        limit 120 "$logs/speech-exec.log" bin/harness exec $args --input speech ||
            fail "exec $args"
        grep -E -- '->|rror' "$logs/speech-exec.log" | head -n 3
    done
    suite speech "${DC_SPEECH_S:-300}" suites/gpu --filter 'wav2vec2.features/*' \
        --filter 'attention.relpos/*'
}

# issue 25: the generation rungs on the GPU: exec checks each against the float64
# reference, the fixture test runs cuda/hifigan against transformers' SpeechT5HifiGan
st_vocoder() {
    local args
    for args in "vocoder.hifigan/cuda/hifigan --param config=custom --param channels=32 --param frames=40" \
                "vocoder.hifigan/cuda/hifigan --param config=v1 --param frames=87" \
                "wavenet.stack/cuda/wavenet --param channels=16 --param stacks=2 --param cycle=4 --param cond=4 --param seconds=0.05" \
                "wavenet.stack/cuda/wavenet --param channels=64 --param seconds=1"; do
        # shellcheck disable=SC2086
        limit 180 "$logs/vocoder-exec.log" bin/harness exec $args --input speech ||
            fail "exec $args"
        grep -E -- '->|rror' "$logs/vocoder-exec.log" | head -n 3
    done
    local t
    for t in test_hifigan_fixture test_cuda_math_gen; do
        limit 120 "$logs/$t.log" env SONO_BUILD=build "build/tests/$t" || fail "$t"
        grep -E 'cuda|PASSED|FAILED' "$logs/$t.log" | head -n 4
    done
    suite vocoder "${DC_VOCODER_S:-300}" suites/gpu --filter 'vocoder.hifigan/*' \
        --filter 'wavenet.stack/*'
}

# issue 26: each cuda/flash2 instantiation once against the float64 reference (seq 1000
# leaves a partial tile; every dtype, both head dims, causal and not), cuda/vq-cublas's
# tensor-core GEMM in each dtype and cuda/vq-tc in bf16 and f16, then the dtype rows
# of suites/gpu (the calibrate stage measured the tensor-core peaks their roof% uses)
st_tc() {
    local dt d c
    if [ "$gpu" != no-gpu ]; then
        for dt in bf16 f16 tf32; do
            for d in 64 128; do
                for c in 0 1; do
                    limit 120 "$logs/tc-exec.log" bin/harness exec attention/cuda/flash2 \
                        --param seq=1000 --param heads=2 --param head_dim=$d \
                        --param causal=$c --param dtype=$dt --input noise ||
                        fail "exec cuda/flash2 dtype=$dt head_dim=$d causal=$c"
                    grep -E -- '->|rror' "$logs/tc-exec.log" | head -n 3
                done
            done
            limit 120 "$logs/tc-exec.log" bin/harness exec vq.encode/cuda/vq-cublas \
                --param K=1024 --param D=128 --param T=750 --param dtype=$dt --input noise ||
                fail "exec cuda/vq-cublas dtype=$dt"
            grep -E -- '->|rror|check:' "$logs/tc-exec.log" | head -n 3
            [ "$dt" = tf32 ] && continue # vq-tc's tf32: stage tc2
            limit 120 "$logs/tc-exec.log" bin/harness exec vq.encode/cuda/vq-tc \
                --param K=1000 --param D=128 --param T=750 --param dtype=$dt --input noise ||
                fail "exec cuda/vq-tc dtype=$dt"
            grep -E -- '->|rror|check:' "$logs/tc-exec.log" | head -n 3
        done
    fi
    # bf16: [vq_encode_tc]; the f16/tf32 vq.encode rows are tc2's
    suite tc "${DC_TC_S:-420}" suites/gpu --filter 'attention/*dtype=*' \
        --filter 'vq.encode/*dtype=bf16*'
}

# issue 26: cuda/conv-tc once per dtype on two shapes that leave ragged tiles (causal,
# dilated, ELU; valid, strided, grouped, Snake), cuda/vq-tc in tf32, cuda/rvq-tc in each
# dtype (n_q 8: the split residual stages; K 256, whose codebooks train in seconds), each
# against its float64 reference; then the tensor-core rows with the float32 rows of the
# same sizes in the same run
st_tc2() {
    local dt args
    for dt in bf16 f16 tf32; do
        for args in "conv1d/cuda/conv-tc --param cin=64 --param cout=80 --param kernel=7 --param dilation=3 --param activation=elu --param length=1000" \
                    "conv1d/cuda/conv-tc --param cin=96 --param cout=128 --param kernel=4 --param stride=2 --param groups=2 --param causal=0 --param activation=snake --param length=3001" \
                    "rvq.encode/cuda/rvq-tc --param K=256 --param D=64 --param T=750 --param n_q=8"; do
            # shellcheck disable=SC2086
            limit 60 "$logs/tc2-exec.log" bin/harness exec $args --param dtype=$dt \
                --input noise || fail "exec $args dtype=$dt"
            grep -E -- '->|rror|check:' "$logs/tc2-exec.log" | head -n 3
        done
    done
    limit 60 "$logs/tc2-exec.log" bin/harness exec vq.encode/cuda/vq-tc --param K=1000 \
        --param D=128 --param T=750 --param dtype=tf32 --input noise ||
        fail "exec cuda/vq-tc dtype=tf32"
    grep -E -- '->|rror|check:' "$logs/tc2-exec.log" | head -n 3
    suite tc2 "${DC_TC2_S:-420}" suites/gpu \
        --filter 'conv1d/cuda/*cin=256,cout=256,kernel=7,stride=1,dilation=1,*' \
        --filter 'conv1d/py/torch-cuda/*cin=256,cout=256,kernel=7,stride=1,dilation=1,*' \
        --filter 'rvq.encode/cuda/*T=8192*' \
        --filter 'vq.encode/cuda/*T=65536,seed=1/*' \
        --filter 'vq.encode/py/torch-cuda/*T=65536,seed=1/*' \
        --filter 'vq.encode/*T=65536*dtype=f16*' --filter 'vq.encode/*T=65536*dtype=tf32*'
}

# issue 25: the generation kernels: a few execs first (a broken kernel shows before the
# suite's time is spent), then suites/gpu's [gen_sample] and [gen_delay] rows.
st_generation() {
    local args
    for args in "sample.topk/cuda/sample --param batch=64 --param V=2048" \
                "sample.topk/cuda/sample --param batch=4 --param codebooks=1 --param V=32000 --param top_k=50 --param top_p=0.9" \
                "sample.topk/cuda/sample --param batch=16 --param temperature=0" \
                "codes.delay/cuda/delay --param batch=8 --param K=4 --param T=1500" \
                "codes.delay/cuda/delay --param K=8 --param T=77 --param direction=undelay" \
                "vq.ste/cuda/ste --param K=64 --param D=16 --param N=300" \
                "vq.ste/cuda/ste" \
                "maskgit.step/cuda/maskgit --param frames=100 --param K=64" \
                "maskgit.decode/cuda/maskgit --param levels=3 --param frames=60 --param K=64 --param d=16 --param iters0=8" \
                "maskgit.decode/cuda/maskgit"; do
        # shellcheck disable=SC2086
        limit 120 "$logs/generation-exec.log" bin/harness exec $args --input noise ||
            fail "exec $args"
        grep -E -- '->|rror|check:' "$logs/generation-exec.log" | head -n 3
    done
    suite generation "${DC_GENERATION_S:-240}" suites/gpu --filter 'sample.topk/*' \
        --filter 'codes.delay/*' --filter 'vq.ste/*' --filter 'maskgit.decode/*'
}

st_codeccompare() {
    local args
    for args in "codec.soundstream/cuda/encodec --param weights=tests/fixtures/soundstream/tiny.safetensors --param bandwidth=90 --param seconds=0.02" \
                "codec.soundstream/cuda/encodec --param bandwidth=18 --param seconds=1" \
                "codec.soundstream/py/torch-cuda --param bandwidth=6 --param seconds=1" \
                "codec.dac/py/torch-cuda --param weights=tests/data/dac/tiny.safetensors --param n_q=3 --param seconds=0.01" \
                "codec.dac/py/torch-cuda --param seconds=1"; do
        # shellcheck disable=SC2086
        limit 180 "$logs/codeccompare-exec.log" bin/harness exec $args --input speech ||
            fail "exec $args"
        grep -E -- '->|rror' "$logs/codeccompare-exec.log" | head -n 3
    done
    suite codeccompare "${DC_CODECCOMPARE_S:-300}" suites/codecs \
        --filter 'codec.soundstream/*cuda*' --filter 'codec.dac/*cuda*'
}

# issue 24: cuda/mimi against its float64 reference: the host arithmetic, every mode and
# streams at small dims and a window wider than the attention kernel's key chunk, the
# transformers fixture, then kyutai/mimi's shapes (the random weights file, ~385 MB, is
# written on first use) on short signals
st_mimigpu() {
    local t args
    for t in test_cuda_math_mimi test_cuda_mimi test_mimi_fixture; do
        limit 60 "$logs/$t.log" env SONO_BUILD=build "build/tests/$t" || fail "$t"
        grep -E 'cuda/mimi|skip|PASSED|FAILED' "$logs/$t.log" | head -n 14
    done
    [ "$gpu" != no-gpu ] || { echo "device-check: no GPU: the cuda/mimi execs are not run"; return; }
    for args in "--param mode=encode --param seconds=0.5" \
                "--param mode=roundtrip --param seconds=0.25 --param streams=2"; do
        # shellcheck disable=SC2086
        limit 90 "$logs/mimigpu-exec.log" bin/harness exec codec.mimi/cuda/mimi $args \
            --input speech || fail "exec cuda/mimi $args"
        grep -E -- '->|rror|check' "$logs/mimigpu-exec.log" | head -n 3
    done
}

# issue 24: cuda/dac checked by exec against the float64 reference (each mode on the tiny
# transformers fixture, 1 and 3 streams; toy widths; dac_44khz's shapes, whose random
# weights file is written on first use) after the host test of its kernel arithmetic
st_dacgpu() {
    limit 20 "$logs/test_cuda_math_dac.log" build/tests/test_cuda_math_dac ||
        fail "test_cuda_math_dac"
    grep -E 'PASSED|FAILED' "$logs/test_cuda_math_dac.log" | head -n 2
    local args mode S
    for mode in encode decode roundtrip; do
        for S in 1 3; do
            limit 15 "$logs/dacgpu-exec.log" bin/harness exec codec.dac/cuda/dac \
                --param weights=tests/data/dac/tiny.safetensors --param n_q=3 \
                --param seconds=0.01 --param mode=$mode --param streams=$S --input speech ||
                fail "exec codec.dac/cuda/dac tiny mode=$mode streams=$S"
            grep -E -- '->|rror' "$logs/dacgpu-exec.log" | head -n 2
        done
    done
    for args in "--param enc_dim=4 --param dec_dim=32 --param seconds=0.05 --param streams=2" \
                "--param mode=encode --param seconds=0.05 --param streams=2" \
                "--param mode=roundtrip --param seconds=0.05"; do
        # shellcheck disable=SC2086
        limit 60 "$logs/dacgpu-exec.log" bin/harness exec codec.dac/cuda/dac $args \
            --input speech || fail "exec codec.dac/cuda/dac $args"
        grep -E -- '->|rror' "$logs/dacgpu-exec.log" | head -n 2
    done
}

# issue 26: the cuBLASLt wrapper's rungs, each exec checked against the float64 reference
# (vq near-ties counted; the codec's codes and audio under codec.encodec's dtype tolerance)
st_lt() {
    local args t=build/tests/test_cuda_math_gdt
    [ -x "$t" ] && { limit 30 "$logs/lt-test.log" "$t" || fail "$t"; tail -n 2 "$logs/lt-test.log"; }
    if [ "$gpu" != no-gpu ]; then
        for args in "sgemm/cuda/cublaslt --param m=512 --param n=384 --param k=256" \
                    "sgemm/cuda/cublaslt --param m=512 --param n=384 --param k=256 --param dtype=tf32" \
                    "sgemm/cuda/cublaslt --param m=500 --param n=300 --param k=200 --param dtype=bf16" \
                    "sgemm/cuda/cublaslt --param m=512 --param n=384 --param k=256 --param dtype=f16" \
                    "vq.encode/cuda/vq-lt --param K=1024 --param D=128 --param T=750" \
                    "vq.encode/cuda/vq-lt --param K=1024 --param D=128 --param T=750 --param dtype=tf32" \
                    "vq.encode/cuda/vq-lt --param K=1024 --param D=128 --param T=750 --param dtype=bf16" \
                    "vq.encode/cuda/vq-lt --param K=1024 --param D=128 --param T=750 --param dtype=f16" \
                    "vq.encode/cuda/vq-lt --param K=1000 --param D=100 --param T=3001 --param dtype=bf16" \
                    "codec.encodec/cuda/encodec --param mode=encode --param seconds=0.5 --param dtype=bf16" \
                    "codec.encodec/cuda/encodec --param mode=decode --param seconds=0.5 --param dtype=f16" \
                    "codec.encodec/cuda/encodec --param mode=encode --param seconds=0.5 --param dtype=tf32" \
                    "whisper.encoder/cuda/whisper --param layers=1 --param frames=600 --param dtype=bf16" \
                    "whisper.encoder/cuda/whisper --param layers=1 --param frames=600 --param dtype=f16" \
                    "wav2vec2.features/cuda/cublas --param seconds=2 --param dtype=bf16" \
                    "wav2vec2.features/cuda/cublas --param seconds=2 --param norm=layer --param dtype=tf32"; do
            # shellcheck disable=SC2086
            limit 60 "$logs/lt-exec.log" bin/harness exec $args --input noise || fail "exec $args"
            grep -E -- '->|rror|check:' "$logs/lt-exec.log" | head -n 3
        done
    fi
    suite lt "${DC_LT_S:-60}" suites/gpu --filter 'vq.encode/cuda/vq-lt/*T=750*'
}

for s in "${stages[@]}"; do
    if ! declare -F "st_$s" > /dev/null; then
        echo "device-check: unknown stage '$s' (stages: $(declare -F | sed -n 's/^declare -f st_//p' | tr '\n' ' '))" >&2
        exit 2
    fi
done
shares=0 # the stages asked for share the total in proportion (the default list: percent)
for s in "${stages[@]}"; do shares=$((shares + ${share[$s]:-8})); done
echo "device-check: ${total}s in all for: ${stages[*]}"
for s in "${stages[@]}"; do
    left=$(total_left)
    var="DC_$(printf '%s' "$s" | tr 'a-z' 'A-Z')_S"
    # its share of what is left among the stages still to run: time an earlier stage did
    # not use goes to the later ones
    budget=${!var:-$((left * ${share[$s]:-8} / shares))}
    shares=$((shares - ${share[$s]:-8}))
    [ "$budget" -gt "$left" ] && budget=$left
    if [ "$budget" -lt "$min_stage" ]; then
        echo "device-check: stage $s skipped: ${budget}s of its budget left (${left}s of ${total}s in all; under ${min_stage}s)"
        continue
    fi
    t0=$(now)
    stage_end=$((t0 + budget))
    echo "device-check: stage $s: ${budget}s"
    "st_$s"
    echo "device-check: stage $s done in $(( $(now) - t0 )) s of ${budget}s (status so far $status)"
    stage_end=$((t_start + total))
    pack
done
echo "device-check: results in ${base}-*.json, ${total}s budget, $(( $(now) - t_start ))s used (status $status)"
exit $status
