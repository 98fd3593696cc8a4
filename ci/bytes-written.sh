#!/usr/bin/env bash
# bytes-written.sh — how many bytes `harness run` writes to keep one results file: runs
# a suite (default ci/bytes-2000.ini: 2,000 cheap nop cases) under strace and sums what
# the write system calls of the harness process returned. Not run in CI: a measurement.
#
# What it counts: every write, writev, pwrite64, pwritev and pwritev2 of the harness's
# own process (strace without -f: not its worker processes, which do the measuring and
# write only their records to a pipe), by the bytes each call returned, which is what
# /proc/PID/io's wchar adds up for that process. strace -y names each call's file, so the
# total is split into the results file's own writes (OUT, OUT.tmp, OUT.journal) and the
# rest (stdout, stderr, requests to the workers). wchar cannot be read after the process
# exits and a sampler misses the last writes, the largest ones before the journal; the
# trace misses none. The bytes are those handed to the kernel, before the page cache:
# the disk may see more (block rounding, metadata, fsync) or, for rewrites of a file
# about to be replaced, fewer.
#
# usage: ci/bytes-written.sh [SUITE [OUT]]   (HARNESS=path/to/harness, default bin/harness)
# needs strace (apt-get install -y strace) and python3 (to count the cases in OUT).
set -euo pipefail
harness=${HARNESS:-bin/harness}
suite=${1:-ci/bytes-2000.ini}
out=${2:-/tmp/sono-bytes-$$.json}
for tool in strace python3; do
    command -v "$tool" >/dev/null || { echo "bytes-written.sh: needs $tool" >&2; exit 2; }
done
[ -x "$harness" ] || { echo "bytes-written.sh: $harness: not an executable (make all)" >&2; exit 2; }
[ -r "$suite" ] || { echo "bytes-written.sh: $suite: no such suite file" >&2; exit 2; }
log=$(mktemp /tmp/sono-bytes-trace.XXXXXX)
trap 'rm -f "$log" "$log.err"' EXIT
rm -f "$out" "$out.tmp" "$out.journal"
t0=$(date +%s.%N)
rc=0
strace -qq -y -s 0 -e trace=write,writev,pwrite64,pwritev,pwritev2 -o "$log" \
    "$harness" run "$suite" --quiet --out "$out" >/dev/null 2>"$log.err" || rc=$?
t1=$(date +%s.%N)
if [ "$rc" -ne 0 ]; then
    echo "bytes-written.sh: $harness run $suite exited $rc:" >&2
    tail -5 "$log.err" >&2
    exit 1
fi
# each traced line: write(FD</path>, ""..., LEN) = RET; unfinished/resumed pairs and
# failed calls (= -1) add nothing
python3 - "$log" "$out" "$suite" "$harness" "$t0" "$t1" <<'PY'
import json, os, re, sys
log, out, suite, harness, t0, t1 = sys.argv[1:7]
call = re.compile(r'^(?:\d+ +)?(write|writev|pwrite64|pwritev2?)\(\d+<([^>]*)>.*\) += (\d+)\s*$')
mine = {out, out + ".tmp", out + ".journal"}
tot = res = calls = 0
for line in open(log, errors="replace"):
    m = call.match(line)
    if not m:
        continue
    n = int(m.group(3))
    path = m.group(2).replace(" (deleted)", "")
    tot += n
    calls += 1
    if path in mine or os.path.realpath(path) in {os.path.realpath(p) for p in mine}:
        res += n
doc = json.load(open(out))
cases = len(doc["cases"])
size = os.path.getsize(out)
print(f"command:       {harness} run {suite} --quiet --out {out}  (under strace)")
print(f"cases:         {cases} (run.complete {str(doc['run']['complete']).lower()})")
print(f"final size:    {size} bytes")
print(f"results file:  {res} bytes written (to the file, its .tmp and .journal), "
      f"{res / size:.2f} x the final size")
print(f"all writes:    {tot} bytes in {calls} calls (the wchar of the harness process)")
print(f"wall time:     {float(t1) - float(t0):.1f} s")
PY
