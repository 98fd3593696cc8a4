#!/usr/bin/env bash
# fleet_live.sh — issue 13's live test: starts munged, slurmctld and slurmd as a one-node
# cluster on localhost (generated slurm.conf, everything under a temp dir, free ports),
# runs the quick suite plainly and through `harness fleet submit` in 2 shards, waits,
# collects, and checks the merged file holds exactly the plain run's cases with the same
# statuses (ok, or the same skip); then loses a shard, checks collect names it (exit 2),
# resubmits it with --retry and collects again. Every daemon is stopped on exit.
# Skips (exit 0, "SKIP: reason") where a cluster cannot be started: not root, no Slurm or
# munge binaries, or daemons not up within 30 s. Run from the repo root after make.
set -u
H=${SONO_HARNESS:-bin/harness}
H=$(realpath "$H")
PY=/usr/bin/python3
skip() { echo "fleet live test: SKIP: $*"; exit 0; }
fail() { echo "fleet live test: FAIL: $*"; dump; exit 1; }
[ "$(id -u)" -eq 0 ] || skip "not root (slurmd and munged are started as root)"
for b in munged slurmctld slurmd sbatch squeue scontrol sinfo; do
    command -v "$b" >/dev/null || skip "no $b (Debian: slurmctld slurmd slurm-client munge)"
done
[ -x "$PY" ] || skip "no $PY to check the JSON"

T=$(mktemp -d /tmp/sono_fleet_XXXXXX)
chmod 755 "$T"
dump() {
    for f in "$T"/log/* "$T"/fleet/logs/*; do
        [ -f "$f" ] && { echo "--- $f"; tail -n 20 "$f"; }
    done
}
cleanup() {
    [ -f "$T/slurm.conf" ] && SLURM_CONF=$T/slurm.conf scontrol shutdown >/dev/null 2>&1
    sleep 1
    local pids=()
    for p in "$T"/slurmd.pid "$T"/slurmctld.pid "$T"/munge/pid; do
        [ -f "$p" ] && pids+=("$(cat "$p")")
    done
    [ ${#pids[@]} -gt 0 ] && kill "${pids[@]}" 2>/dev/null
    for _ in $(seq 20); do # gone before their folder is
        alive=0
        for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
        [ $alive -eq 0 ] && break
        sleep 0.5
    done
    rm -rf "$T"
}
trap cleanup EXIT

# free TCP ports: several clusters (or people) on one machine must not meet
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
pick_port() {
    local p
    for _ in $(seq 50); do
        p=$((20000 + RANDOM % 20000))
        port_free "$p" && port_free "$((p + 1))" && { echo "$p"; return; }
    done
    echo 0
}
P=$(pick_port)
[ "$P" -ne 0 ] || skip "no free pair of TCP ports"

mkdir -p "$T/munge" "$T/state" "$T/spool" "$T/log"
chmod 700 "$T/munge"
head -c 1024 /dev/urandom > "$T/munge/key"
chmod 600 "$T/munge/key"
munged -f --socket="$T/munge/sock" --key-file="$T/munge/key" --log-file="$T/log/munged.log" \
    --pid-file="$T/munge/pid" --seed-file="$T/munge/seed" ||
    skip "munged would not start: $(tail -n 3 "$T/log/munged.log" 2>/dev/null)"

cat > "$T/slurm.conf" <<CONF
# one node, localhost; no cgroups (a sandbox may lack cgroup v2 delegation)
ClusterName=sonofleet
SlurmctldHost=localhost
SlurmctldPort=$P
SlurmdPort=$((P + 1))
AuthType=auth/munge
AuthInfo=socket=$T/munge/sock
CredType=cred/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$T/state
SlurmdSpoolDir=$T/spool
SlurmctldPidFile=$T/slurmctld.pid
SlurmdPidFile=$T/slurmd.pid
SlurmctldLogFile=$T/log/slurmctld.log
SlurmdLogFile=$T/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
MpiDefault=none
SlurmdTimeout=30
InactiveLimit=0
MinJobAge=600
KillWait=5
NodeName=localhost NodeHostname=localhost NodeAddr=127.0.0.1 CPUs=2 RealMemory=1000 State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF=$T/slurm.conf
slurmctld -f "$SLURM_CONF" || skip "slurmctld would not start: $(tail -n 3 "$T/log/slurmctld.log")"
slurmd -f "$SLURM_CONF" -N localhost || skip "slurmd would not start: $(tail -n 3 "$T/log/slurmd.log")"
up=0
for _ in $(seq 60); do
    [ "$(sinfo -h -n localhost -o %t 2>/dev/null)" = idle ] && { up=1; break; }
    sleep 0.5
done
[ $up -eq 1 ] || skip "the node is not idle within 30 s: $(sinfo -h -o '%t %E' 2>&1) $(tail -n 3 "$T/log/slurmd.log")"
echo "fleet live test: cluster up ($(sinfo -h -o '%P %D %t %c CPUs'), ports $P-$((P + 1)))"

# the plain run the fleet's merged file must equal
t0=$(date +%s.%N)
"$H" run suites/quick --quiet --out "$T/plain.json" > "$T/plain.txt" 2>&1
rc=$?
t1=$(date +%s.%N)
[ $rc -eq 0 ] || { cat "$T/plain.txt"; fail "plain run exit $rc"; }

wait_fleet() { # until no task is pending or running, at most 240 s
    for _ in $(seq 480); do
        "$H" fleet status "$T/fleet" > "$T/status.txt" 2>&1
        tail -n 1 "$T/status.txt" | grep -q '^0 pending, 0 running' && return 0
        sleep 0.5
    done
    cat "$T/status.txt"
    fail "the fleet did not finish within 240 s"
}

echo "\$ harness fleet submit quick --shards 2 --shared --nodes localhost --out $T/fleet"
t2=$(date +%s.%N)
job=$("$H" fleet submit quick --shards 2 --shared --nodes localhost --out "$T/fleet") ||
    fail "fleet submit exit $?"
echo "$job"
[[ "$job" =~ ^[0-9]+$ ]] || fail "fleet submit printed '$job', not a job id"
"$H" fleet status "$T/fleet"
wait_fleet
t3=$(date +%s.%N)
echo "\$ harness fleet status $T/fleet"
cat "$T/status.txt"
grep -q '^0 pending, 0 running, 2 done, 0 failed, 0 unknown' "$T/status.txt" ||
    fail "not every task done"
echo "\$ harness fleet collect $T/fleet -o $T/merged"
"$H" fleet collect "$T/fleet" -o "$T/merged" || fail "fleet collect exit $?"
merged=$(ls "$T"/merged/*.json)
[ "$(echo "$merged" | wc -l)" -eq 1 ] || fail "expected one merged file, got: $merged"

check() { # the merged file against the plain run: same ids, same statuses, ok or skip
    "$PY" - "$T/plain.json" "$1" <<'PYEOF' || fail "merged file differs from the plain run"
import json, sys
plain, merged = (json.load(open(p)) for p in sys.argv[1:3])
a = {c["id"]: c["status"] for c in plain["cases"]}
b = {c["id"]: c["status"] for c in merged["cases"]}
assert len(merged["cases"]) == len(b), "duplicate ids in the merged file"
assert a.keys() == b.keys(), ("ids differ", sorted(a.keys() ^ b.keys())[:5])
bad = [i for i in a if a[i] != b[i] or b[i] not in ("ok", "skip")]
assert not bad, ("statuses differ or not ok", bad[:5])
assert merged["run"]["complete"] and merged["suite"]["cases"] == len(a)
assert [c["id"] for c in merged["cases"]] == [c["id"] for c in plain["cases"]], "order"
print("fleet live test: merged file has the plain run's %d case ids, %d ok, %d skip" %
      (len(a), sum(s == "ok" for s in b.values()), sum(s == "skip" for s in b.values())))
PYEOF
}
check "$merged"
"$H" compare "$T/plain.json" "$merged" > "$T/compare.txt" 2>&1
rc=$?
[ $rc -le 1 ] || { cat "$T/compare.txt"; fail "harness compare could not read the merged file"; }

# a lost shard: collect names it with its Slurm state and log, --retry reruns it alone
lost=$(ls "$T"/fleet/quick-*-2.json)
rm -f "$lost"
"$H" fleet collect "$T/fleet" -o "$T/merged2" > "$T/collect2.txt" 2>&1
rc=$?
cat "$T/collect2.txt"
[ $rc -eq 2 ] || fail "collect with a shard missing: exit $rc, expected 2"
grep -q "shard 2/2 missing" "$T/collect2.txt" || fail "collect did not name the missing shard"
grep -q "shard 2/2 (job ${job}_1): Slurm COMPLETED.*log $T/fleet/logs/${job}_1.out" \
    "$T/collect2.txt" || fail "collect did not give the shard's Slurm state and log"
echo "\$ harness fleet submit --retry $T/fleet"
job2=$("$H" fleet submit --retry "$T/fleet") || fail "fleet submit --retry exit $?"
echo "$job2"
[[ "$job2" =~ ^[0-9]+$ ]] && [ "$job2" != "$job" ] || fail "--retry printed '$job2'"
wait_fleet
cat "$T/status.txt"
grep -q "${job2}_1 .*done" "$T/status.txt" || fail "the retried shard is not done"
[ "$(grep -c "${job2}_" "$T/status.txt")" -eq 1 ] || fail "--retry resubmitted more than shard 2"
"$H" fleet collect "$T/fleet" -o "$T/merged3" || fail "collect after --retry exit $?"
check "$T"/merged3/*.json

"$PY" - "$T"/fleet/quick-*-[0-9].json <<'PYEOF'
import json, sys, datetime
t = lambda s: datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ")
for p in sys.argv[1:]:
    d = json.load(open(p)); s = d["suite"]["shard"]; r = d["run"]
    print("fleet live test: shard %d/%d: %d cases, expected %.1f s, ran %d s (whole seconds)"
          % (s["index"], s["count"], len(d["cases"]), s["expected_s"],
             (t(r["finished"]) - t(r["started"])).total_seconds()))
PYEOF
printf 'fleet live test: plain run %.1f s; fleet of 2 shards, submit to all done %.1f s\n' \
    "$(echo "$t1 - $t0" | bc)" "$(echo "$t3 - $t2" | bc)"
echo "fleet live test: PASS"
