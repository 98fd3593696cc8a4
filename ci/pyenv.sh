#!/usr/bin/env bash
# pyenv.sh — makes the project's Python environment for the PyTorch peers: a venv at
# build/pyenv over Debian's /usr/bin/python3 (--system-site-packages: Debian's numpy, torch
# and torchaudio) plus ci/py-requirements.txt. The py plugin tries it right after $SONO_PYTHON.
# Never fails the build: without the network (or pip) it says why, writes the reason to
# build/pyenv.failed and exits 0, and the peers that need these packages skip with their reason.
# Once made it needs no network: a stamp holding the requirements' hash makes reruns a no-op.
set -uo pipefail
cd "$(dirname "$0")/.."
dir=build/pyenv
req=ci/py-requirements.txt
stamp=$dir/.sono-stamp
failed=build/pyenv.failed
want=$(sha256sum "$req" | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$dir/bin/python3" ]; then
    exit 0
fi
# one try per requirements file: a machine without the network doesn't retry on every make
if [ -f "$failed" ] && [ "$(head -n1 "$failed")" = "$want" ] && [ -z "${SONO_PYENV_RETRY:-}" ]; then
    echo "pyenv: not made earlier ($(sed -n 2p "$failed")); SONO_PYENV_RETRY=1 make pyenv to retry" >&2
    exit 0
fi
mkdir -p build
fail() {
    printf '%s\n%s\n' "$want" "$1" > "$failed"
    echo "pyenv: $1 — the peers that need $req's packages will skip" >&2
    rm -rf "$dir"
    exit 0
}
py=/usr/bin/python3
[ -x "$py" ] || fail "no /usr/bin/python3"
echo "pyenv: making $dir (venv over $py with Debian's packages, then $req)" >&2
rm -rf "$dir"
"$py" -m venv --system-site-packages "$dir" >/dev/null 2>build/pyenv.log \
    || fail "python3 -m venv failed (Debian's python3-venv missing?), see build/pyenv.log"
# --no-deps with a full pin list: pip neither upgrades Debian's numpy nor reaches for
# anything unlisted; --retries/--timeout keep a machine without the network from hanging
if ! "$dir/bin/python3" -m pip install --quiet --disable-pip-version-check --no-deps \
        --retries 2 --timeout 20 -r "$req" >>build/pyenv.log 2>&1; then
    fail "pip install -r $req failed (no network?), see build/pyenv.log"
fi
if ! "$dir/bin/python3" -c 'import torch, transformers' >>build/pyenv.log 2>&1; then
    fail "torch or transformers does not import in $dir, see build/pyenv.log"
fi
rm -f "$failed"
echo "$want" > "$stamp"
echo "pyenv: $("$dir/bin/python3" -c 'import torch, transformers; print("torch", torch.__version__, "transformers", transformers.__version__)')" >&2
