#!/usr/bin/env bash
# names-in-core.sh — checks that the harness core names no op and no impl: the ops' own
# files (harness/ops/) and the plugins say what they are, and the core finds them by the
# fields they declare (merit, size_param, role). Prints each offending line; exits 1 if any.
#
# Usage: ci/names-in-core.sh [HARNESS]   (default bin/harness; run from the repository root)
# The names come from `HARNESS list ops` and `HARNESS list impls` (harness/cli/list.c's
# format), so a new op or impl is checked without editing this script.
#
# What counts as naming: inside a C string literal (comments are prose and may mention
# ops), an op's name as a whole word ("fft", "load.batch"), the dotted family prefix of one
# ("load." for strncmp), an impl's full name ("cpu/triad") anywhere, or a literal that is
# exactly an impl's own name ("memcpy"). #include lines are not literals that name anything.
#
# Exclusions, each with its reason:
#   harness/ops/                the ops themselves: each file is where its op is named
#   harness/cli/help.c          help text documents example usage ("harness run
#                               --filter fft"); examples must name real ops to be useful
#   harness/include/sono.h      the plugin ABI's comments and role doc-strings describe
#                               examples for plugin authors; it declares, it decides nothing
#   words that are also English or parameter names (op "copy", "decode", "resample",
#                               "attention"; impl names "fast", "naive", "threads") count
#                               only when an op's literal is exactly that word or the word
#                               sits next to '/' or '=' (a case id or filter): "cannot
#                               copy" is prose, "threads" and "fast" are a param and its
#                               value.
set -u
HARNESS=${1:-bin/harness}
if [ ! -x "$HARNESS" ]; then
    echo "names-in-core: $HARNESS not found or not executable: build it with make all" >&2
    exit 2
fi
ops=$("$HARNESS" list ops | awk '/^  [^ ]/ {print $1}')
impls=$("$HARNESS" list impls | awk '/^    [^ ]/ {print $2}')
if [ -z "$ops" ] || [ -z "$impls" ]; then
    echo "names-in-core: no op or impl names from $HARNESS list (its format changed?)" >&2
    exit 2
fi

skip='^harness/ops/|^harness/cli/help\.c$|^harness/include/sono\.h$'
files=$(find harness -name '*.c' -o -name '*.h' | sort | grep -v -E "$skip")

# Python only for the lexing (comments out, literals out), which grep cannot do reliably.
OPS="$ops" IMPLS="$impls" python3 - $files <<'EOF'
import os, re, sys

ops = os.environ["OPS"].split()
full = os.environ["IMPLS"].split()
short = sorted({f.split("/", 1)[1] for f in full})
english = {"copy", "decode", "resample", "attention", "nop", "fast", "naive", "threads",
           "batched", "direct", "gemm", "gemv", "numpy", "torch", "sgemm", "triad"}
prefixes = sorted({o.split(".")[0] + "." for o in ops if "." in o})

def strip_comments(text):
    """Comments replaced by spaces (newlines kept, so line numbers stay right)."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            out.append(text[i:j + 1])
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)

def word(name, lit):
    """name as a whole word of lit (dots belong to words: "load.batch", not "load")."""
    return re.search(r"(?<![A-Za-z0-9_.\-])" + re.escape(name)
                     + r"(?![A-Za-z0-9_\-]|\.[A-Za-z])", lit)

def offends(lit):
    if (lit in short and lit not in english) or lit in ops:
        return lit
    for f in full:
        if f in lit:
            return f
    for p in prefixes:
        if lit == p:
            return p
    for o in ops:
        m = word(o, lit)
        if not m:
            continue
        if o not in english:
            return o
        a, b = m.start(), m.end()
        if (a > 0 and lit[a - 1] in "/=") or (b < len(lit) and lit[b] in "/="):
            return o
    return None

bad = 0
for path in sys.argv[1:]:
    text = strip_comments(open(path, encoding="utf-8", errors="replace").read())
    for no, line in enumerate(text.split("\n"), 1):
        if line.lstrip().startswith("#include"):
            continue
        for lit in re.findall(r'"((?:[^"\\\n]|\\.)*)"', line):
            name = offends(lit)
            if name:
                print(f"{path}:{no}: names {name!r}: {line.strip()}")
                bad += 1
                break
sys.exit(1 if bad else 0)
EOF
