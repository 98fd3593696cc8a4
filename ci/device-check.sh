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
# A lease is short (15 minutes of device time, 10 a command), so the work is in stages,
# run in the order given (default: setup tests calibrate dspfig codecfig speechfig codecs gpu
# extra), each under its own time limit (DC_<STAGE>_S seconds). A stage cut short by its
# limit is sent SIGINT, so `harness run` keeps every completed case in a valid results
# file. After each stage the results (results/reference/<gpu>-<date>-<stage>.json) and
# the logs are packed into $OUT/device-check.tgz when $OUT is set, so whatever finished
# comes back.
#   setup      the speech recordings, the GPU's name, the cuda backend's availability
#   tests      the test programs that touch a GPU (or the python peers), in parallel
#   alltests   every built test program (not in the default list: long)
#   calibrate  harness calibrate (CPU, then each GPU: D2D copy GB/s, cuBLAS SGEMM peak)
#   dspfig     the suites/gpu cases whose figures issue 10 asks for (FFT, log-mel, copy)
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
#   codeccompare  issue 24: SoundStream on cuda/encodec and py/torch-cuda, DAC on
#              py/torch-cuda, checked by exec on the tiny fixtures, then suites/codecs'
#              [compare*] GPU rows (not in the default list)
set -uo pipefail
cd "$(dirname "$0")/.."

stages=("$@")
[ ${#stages[@]} -gt 0 ] || stages=(setup tests calibrate dspfig codecfig speechfig codecs gpu extra)

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
logs=/tmp/device-check
mkdir -p "$logs"
cal="${base}-calibration.json"
[ -f "$cal" ] && export SONO_CALIBRATION="$cal"
status=0
fail() { echo "device-check: FAIL: $*" >&2; status=1; }

# limit SECONDS LOG CMD...: runs CMD with its output in LOG, stopped by SIGINT (then KILL
# 20 s later) at the limit; returns CMD's status (124 when stopped)
limit() {
    local s=$1 log=$2
    shift 2
    timeout -s INT -k 20 "$s" "$@" > "$log" 2>&1
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
        SONO_TEST_PLUGINS=build/test-plugins timeout -k 10 "${DC_TESTS_S:-240}" \
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
             build/tests/test_whisper_fixture; do
        [ -x "$n" ] && t+=("$n")
    done
    run_tests "${t[@]}"
}

st_alltests() { run_tests build/tests/test_*; }

st_calibrate() {
    echo "device-check: harness calibrate -> $cal"
    limit "${DC_CALIBRATE_S:-120}" "$logs/calibrate.log" bin/harness calibrate --out "$cal" --quiet ||
        fail "calibrate"
    cat "$logs/calibrate.log"
    grep -q '^  *cuda:0 ' "$logs/calibrate.log" || [ "$gpu" = no-gpu ] || fail "no cuda:0 calibration"
    [ -f "$cal" ] && export SONO_CALIBRATION="$cal"
}

# suite NAME LIMIT FILE ARGS...: one `harness run`, its table's last lines shown
suite() {
    local name=$1 s=$2 suite=$3
    shift 3
    echo "device-check: $name: harness run $suite $* (limit ${s}s)"
    limit "$s" "$logs/$name.log" bin/harness run "$suite" --out "${base}-$name.json" --quiet "$@"
    local rc=$?
    tail -n 80 "$logs/$name.log"
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

for s in "${stages[@]}"; do
    if ! declare -F "st_$s" > /dev/null; then
        echo "device-check: unknown stage '$s' (setup tests alltests calibrate dspfig codecfig figures ctcfig speechfig speech codecs codeccompare gpu extra)" >&2
        exit 2
    fi
    t0=$(date +%s)
    "st_$s"
    echo "device-check: stage $s done in $(( $(date +%s) - t0 )) s (status so far $status)"
    pack
done
echo "device-check: results in ${base}-*.json (status $status)"
exit $status
