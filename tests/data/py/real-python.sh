# real-python.sh — sourced by the python-* stubs beside it: sets $real to the Python they
# wrap: $SONO_TEST_REAL_PYTHON, else the first python3 on PATH that has numpy, else
# /usr/bin/python3 (Debian's here; on a GPU machine the python3 on PATH holds numpy and
# torch and /usr/bin/python3 has neither). A stub found on PATH is never taken.
# (Tools by their own PATH: a test may run a stub with a PATH of nothing but itself.)
stubs=$(PATH=/usr/bin:/bin; dirname "$(readlink -f "$0")")
real=${SONO_TEST_REAL_PYTHON:-}
if [ -z "$real" ]; then
    for p in "$(command -v python3)" /usr/bin/python3; do
        case "$(PATH=/usr/bin:/bin; readlink -f "$p" 2>/dev/null)" in "" | "$stubs"/*) continue ;; esac
        if PATH=/usr/bin:/bin env -u PYTHONPATH "$p" -c 'import numpy' 2>/dev/null; then
            real=$p
            break
        fi
    done
fi
real=${real:-/usr/bin/python3}
