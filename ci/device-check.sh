#!/usr/bin/env bash
# device-check.sh — the one command a session runs on a lent GPU machine. That machine
# has no network and none of our Debian libraries, so it works from a build made on the
# developer's machine plus the libraries carried in .devpkgs/ (../shared/device/pack.sh):
#
#   here:   ../shared/device/pack.sh && make all $(ls tests/test_*.c | sed 's|tests/|build/tests/|;s|\.c$||')
#   device: carry ["build", "bin", ".devpkgs"], command
#           bash .devpkgs/unpack.sh && . /tmp/devroot/env.sh && bash ci/device-check.sh
#
# It runs the built tests, then the GPU suite (suites/gpu once it exists, else
# suites/quick), writing results/reference/<gpu>-<date>.json, and prints a summary.
# Every issue that adds something only a GPU can check adds it here.
set -uo pipefail
cd "$(dirname "$0")/.."

gpu=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -n 1)
gpu=${gpu:-no-gpu}
slug=$(printf '%s' "$gpu" | tr -cs 'A-Za-z0-9' '-' | sed 's/-*$//' | tr 'A-Z' 'a-z')
day=$(date -u +%Y-%m-%d)
mkdir -p results/reference
out="results/reference/${slug}-${day}.json"
echo "device-check: GPU: $gpu"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>/dev/null || true

status=0
tests=(build/tests/test_*)
if [ -x "${tests[0]}" ]; then
    SONO_HARNESS=bin/harness SONO_BUILD=build SONO_TEST_PLUGINS=build/test-plugins \
        bash tests/run.sh "${tests[@]}" > /tmp/device-tests.log 2>&1 || status=1
    tail -n 1 /tmp/device-tests.log
    [ $status -eq 0 ] || grep -E 'FAILED|failing' /tmp/device-tests.log | head -n 20
else
    echo "device-check: no built tests in build/tests (build them here first)"
    status=1
fi

# The cuda backend must be there and available wherever a GPU is: a GPU run whose cuda
# cases all skip would otherwise look like a green run.
bin/harness list impls > /tmp/device-impls.log 2>&1
cat /tmp/device-impls.log
cuda_line=$(grep -E '^ *backend cuda ' /tmp/device-impls.log | head -n 1)
echo "device-check: cuda backend: ${cuda_line:-absent (build/plugins/cuda.so not built: no nvcc?)}"
if [ "$gpu" != no-gpu ]; then
    if [ -z "$cuda_line" ] || printf '%s' "$cuda_line" | grep -q UNAVAILABLE; then
        echo "device-check: FAIL: a GPU ($gpu) is present but the cuda backend is not available" >&2
        status=1
    fi
fi

# issue 10: calibrate first (CPU, then each GPU: D2D copy bandwidth, cuBLAS SGEMM peak), so
# the suites below report every GPU case's percent of its GPU's roofline. SONO_CALIBRATION
# points run at this file; a failed calibration fails the check but the suites still run.
cal="results/reference/${slug}-${day}-calibration.json"
echo "device-check: harness calibrate -> $cal"
bin/harness calibrate --out "$cal" --quiet > /tmp/device-calibrate.log 2>&1 || status=1
cat /tmp/device-calibrate.log
grep -q '^  cuda:0 ' /tmp/device-calibrate.log ||
    { [ "$gpu" = no-gpu ] || { echo "device-check: FAIL: no cuda:0 calibration" >&2; status=1; }; }
export SONO_CALIBRATION="$cal"
# issue 10: the second GPU, when there is one, runs the cuda cases of the GPU suite too
ngpu=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | wc -l)
if [ "${ngpu:-0}" -gt 1 ]; then
    bin/harness run suites/gpu --device cuda:1 --filter 'copy/*' \
        --out "${out%.json}-cuda1.json" --quiet > /tmp/device-cuda1.log 2>&1 || status=1
    tail -n 10 /tmp/device-cuda1.log
fi

suite=suites/gpu
[ -d "$suite" ] || suite=suites/quick
bin/harness run "$suite" --out "$out" --quiet > /tmp/device-suite.log 2>&1 || status=1
tail -n 40 /tmp/device-suite.log

# issue 11: the codec ops' GPU rows of suites/codecs (cuda rungs and py/torch-cuda) at the
# codec's own sizes, beside suites/gpu's large ones. (Every cuda codec impl's checked
# smoke, tests/data/cuda_codec, already ran in test_cuda_plugin_codec above.)
bin/harness run suites/codecs --filter '*cuda*' --out "${out%.json}-codecs.json" --quiet \
    > /tmp/device-codecs.log 2>&1 || status=1
tail -n 60 /tmp/device-codecs.log
# issue 10: the batched front ends. test_dsp_batch (above) ran cuda/cufft and
# cuda/cufft-cublas at batch 1 and 3 on clips 86 dB apart (each clip's own clamp), and
# suites/gpu's whisper_batch, melspec_batch and mfcc_batch timed them at 16 and 64 x 30 s.
# Here the Whisper front end over 64 clips, checked, with each rung's own description.
for im in logmel/cuda/cufft logmel/cuda/cufft-cublas; do
    bin/harness exec "$im" --input noise --param batch=64 --output /tmp/device-batch.npy \
        > /tmp/device-batch.log 2>&1 || status=1
    grep -E -- '->|describe|rror' /tmp/device-batch.log | head -n 5
done

# issue 11 (encodec streams): cuda/encodec's memory gate refuses in supports() a batch of
# streams far larger than the GPU (1024 x 80 s: hundreds of GB) rather than failing in
# cudaMalloc; the figure itself is tests/test_encodec_cudamem's.
if [ "$gpu" != no-gpu ]; then
    if bin/harness exec codec.encodec/cuda/encodec --param streams=1024 --param seconds=80 \
            > /tmp/device-encmem.log 2>&1 || ! grep -q "of device memory" /tmp/device-encmem.log; then
        echo "device-check: FAIL: cuda/encodec did not refuse 1024 streams x 80 s for memory" >&2
        cat /tmp/device-encmem.log
        status=1
    fi
fi
echo "device-check: results in $out (status $status)"
exit $status
