#!/usr/bin/env bash
# Elastic recovery on the embedded default, measured: `cluster run` of the comparison CNN (2 ranks, Adam, a checkpoint
# every 50 steps, workers.minRanks 1); rank 1 is killed with SIGKILL DELAY seconds after the checkpoint of step 100 is
# committed. From the run's JSON summary: kill -> the coordinator's decision, kill -> first completed step of generation 2
# (the issue's figure), the step the survivor went on from; then the replacement the agent starts (restart.backoffSeconds,
# default 2): kill -> its admission, admission -> first step of generation 3, and the state transfer to it (bytes, ms,
# MB/s, from the survivor's log). Runs RUNS times; prints one RESULT line per run.
#   bench/recovery/embedded.sh [RUNS=3] [DELAY=1.0]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
runs=${1:-3}
delay=${2:-1.0}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
sed -e 's/^workers: .*/workers: { min: 1, max: 1, nprocPerNode: 2, minRanks: 1 }/' -e 's/  epochs: 3/  epochs: 1\n  maxSteps: 300/' \
  "$root/examples/bench/fashion-mnist-cnn-adam.yaml" > "$work/job.yaml"
echo "checkpoint: { dir: $work/ckpt, intervalSteps: 50, keepLast: 2 }" >> "$work/job.yaml"
"$root/deploy/cluster.sh" --help > /dev/null # builds once, outside the timed runs
for i in $(seq 1 "$runs"); do
  rm -rf "$work/ckpt"
  "$root/deploy/cluster.sh" run "$work/job.yaml" --workers 2 --json --fresh > "$work/out.json" 2> "$work/err.txt" &
  run=$!
  manifest=$(printf '%s/ckpt/fashion-mnist-cnn-adam/ckpt-%08d/manifest.json' "$work" 2)
  while [ ! -f "$manifest" ] && kill -0 $run 2>/dev/null; do sleep 0.02; done
  sleep "$delay"
  victim=""
  for p in $(pgrep -f "cluster worker --coordinated"); do
    if tr '\0' '\n' < /proc/$p/environ 2>/dev/null | grep -qx "CLUSTER_LOCAL_RANK=1"; then victim=$p; fi
  done
  [ -n "$victim" ] || { echo "run $i: rank 1 not found" >&2; wait $run || true; continue; }
  t_kill=$(date +%s.%N)
  kill -9 "$victim"
  wait $run || true
  python3 - "$work/out.json" "$work/err.txt" "$t_kill" "$i" <<'PY'
import json, re, sys
from datetime import datetime
out, err, t_kill, run = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
summary = json.loads([l for l in open(out) if l.strip()][-1])
text = open(err).read()
recoveries = summary.get("recoveries") or []
rec = next((r for r in recoveries if not r.get("admission")), None)
adm = next((r for r in recoveries if r.get("admission")), None)
res = {"run": int(run), "status": summary["status"], "generation": summary.get("generation"), "steps": summary.get("steps"),
       "test_accuracy": summary.get("test_accuracy")}
if rec:
    decided = datetime.fromisoformat(rec["decided_at"]).timestamp()
    res["kill_to_decision_s"] = round(decided - t_kill, 3)
    res["decision_to_first_step_s"] = rec["seconds_to_first_step"]
    res["kill_to_first_step_s"] = round(decided + rec["seconds_to_first_step"] - t_kill, 3)
    res["step_at_decision"] = rec["step_at_decision"]
    res["first_step"] = rec["first_step"]
m = re.search(r"generation 2: 1 rank\(s\) go on from step (\d+)", text)
res["survivor_went_on_from_step"] = int(m.group(1)) if m else None
a = re.search(r"coordinator says Regroup: .* \(at (\S+)\)", text)
if a and rec:
    res["decision_to_abort_s"] = round(datetime.fromisoformat(a.group(1)).timestamp() - decided, 3)
f = re.search(r"generation 2: first step (\d+) completed at (\S+)", text)
if f:
    res["kill_to_first_step_rank_clock_s"] = round(datetime.fromisoformat(f.group(2)).timestamp() - t_kill, 3)
if adm:
    res["kill_to_admission_s"] = round(datetime.fromisoformat(adm["decided_at"]).timestamp() - t_kill, 3)
    res["admission_to_first_step_s"] = adm["seconds_to_first_step"]
    res["world_after_admission"] = adm["world_size"]
t = re.search(r"generation 3: rank\(s\) \S+ received the state of step \d+ from rank 0: (\d+) bytes in ([\d.]+) ms \((\d+) MB/s\) after (\d+) ms", text)
if t:
    res["transfer_bytes"], res["transfer_ms"], res["transfer_mb_s"], res["fingerprint_exchange_ms"] = int(t.group(1)), float(t.group(2)), int(t.group(3)), int(t.group(4))
print("RESULT " + json.dumps(res), flush=True)
PY
done
