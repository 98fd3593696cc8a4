#!/usr/bin/env bash
# install-deps.sh — installs the Debian packages sonobench builds and tests with.
# Idempotent: installs only what is missing. Not root: prints the exact apt-get line and
# exits 1, so `make run` stops with something a person can paste.
set -euo pipefail

pkgs=(build-essential pkg-config
      libfftw3-dev libjansson-dev libinih-dev libcmocka-dev libhwloc-dev libsndfile1-dev
      libopenblas-dev libpapi-dev
      # DSP suite: real speech recordings (/usr/share/sounds/alsa) and the resampler
      alsa-utils libsamplerate0-dev
      # issue 9, HTML reports: the renderer (Debian's matplotlib, for /usr/bin/python3)
      # and headless Chromium for the test that opens the report
      python3-matplotlib chromium
      # issue 7, codecs suite: libopus for the codec.opus baseline
      libopus-dev
      # issue 6, py backend (NumPy/PyTorch peers): Debian's numpy and threadpoolctl for
      # /usr/bin/python3, and torch 1.13.1 + torchaudio 0.13.1 (191 packages, 160 MB
      # download, 633 MB installed; 27 s to install here with 111 MB cached, so about a
      # minute in CI). Without torch, the py/torch cases skip with the reason.
      python3-numpy python3-threadpoolctl python3-torch python3-torchaudio
      # issue 14, data loading: load.batch's impl (soxr, libopusfile) and its reference
      # decoders (libFLAC, libvorbisfile)
      libsoxr-dev libopusfile-dev libflac-dev libvorbis-dev)
# issue 13, fleet runs on Slurm: the live test starts a one-node cluster (munged,
# slurmctld, slurmd) and submits with the client commands; bc times it
pkgs+=(slurmctld slurmd slurm-client munge bc)
# Later issues append here,
# each with the issue that needs it.
# issue 14, decode and resample: the second decoders (libFLAC, libvorbisfile, libogg +
# libopus, libmpg123) and the impls' libraries (libopusfile, libsoxr); libsndfile's MP3
# writer needs libmp3lame0 (a dependency of libsndfile1 on Debian 12)
pkgs+=(libflac-dev libvorbis-dev libogg-dev libopusfile-dev libmpg123-dev libsoxr-dev
       libmp3lame0)
# results schema: tests/validate_results.py checks every results file the tests produce
# against harness/schema/results-1.json, and the report's loader validates with it
# (Debian's jsonschema, for /usr/bin/python3)
pkgs+=(python3-jsonschema)
# issue 29, make mutants: tests/mutants/run.sh plants each bug with patch(1)
pkgs+=(patch)
# issue 22, `run --metric instructions` on machines without a PMU (VMs: perf_event_open
# gives ENOENT): the workers run under valgrind's callgrind, counting the runs between
# client requests (valgrind/callgrind.h, shipped in the same package)
pkgs+=(valgrind)
# the project's Python environment (ci/pyenv.sh: a venv over Debian's torch for the
# transformers peers): venv itself, and what transformers imports that ci/py-requirements.txt
# leaves to Debian (it installs with --no-deps)
pkgs+=(python3-venv python3-yaml python3-requests python3-packaging)
# issue 24, codec quality: pystoi (in ci/py-requirements.txt, --no-deps) needs scipy,
# Debian's; the pesq package (the ITU P.862 C code) compiles against Python's headers
pkgs+=(python3-scipy python3-dev)

missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "install-deps: all ${#pkgs[@]} packages present"
    exit 0
fi
line="apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: missing packages: ${missing[*]}" >&2
    echo "install-deps: run as root:  apt-get update && $line" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
echo "install-deps: installing ${missing[*]}"
apt-get update -qq
$line
