#!/usr/bin/env bash
# Chaos benchmark (not in CI): `cluster run` of the Fashion-MNIST example on 2 ranks (workers.minRanks 1, a restart
# budget of 200, restart backoff 1 s, the sample audit on) with SIGKILL of a random rank every 20-60 s (seeded) for
# DURATION seconds or until the job ends; a kill waits until two ranks have run for 8 s (the last replacement is in).
# Then the same spec without kills. Reports: kills survived, per kill the time from the kill to the first completed
# step of the survivors' generation (the coordinator's recovery record), steps lost (steps read and never applied into
# the final state, from the audit), samples lost or duplicated (`cluster audit`), hangs (a run past its timeout), and the
# final test accuracy of both runs. Prints one RESULT line; everything the runs wrote stays in the printed directory.
#   bench/recovery/chaos.sh [DURATION=600] [SEED=1] [EPOCHS=10]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
duration=${1:-600}
seed=${2:-1}
epochs=${3:-10}
work=$(mktemp -d)
echo "chaos: logs, summaries and the audit stay in $work" >&2 # kept: a run that is not exactly once needs them
spec() { # $1: checkpoint dir, $2: audit dir or empty
  sed -e 's/^workers: .*/workers: { min: 1, max: 1, nprocPerNode: 2, minRanks: 1 }/' -e "s/^  epochs: .*/  epochs: $epochs/" \
      -e '/^  earlyStopping:/d' -e '/^checkpoint:/d' -e '/^restart:/d' "$root/examples/fashion-mnist.yaml"
  [ -n "$2" ] && echo "  audit: $2"
  echo "checkpoint: { dir: $1, intervalSteps: 500, keepLast: 3 }"
  echo "restart: { maxRestarts: 200, backoffSeconds: 1, probationFailures: 0 }"  # kills by the benchmark are not a failing node
}
spec "$work/ckpt-chaos" "$work/audit" > "$work/chaos.yaml"
spec "$work/ckpt-plain" "" > "$work/plain.yaml"
"$root/deploy/cluster.sh" --help > /dev/null # builds once, outside the timed runs
limit=$((duration * 3 + 1800))

ranks() { # pids of this run's rank processes with their start times (clock ticks since boot)
  for p in $(pgrep -f "cluster worker --coordinated" || true); do
    if tr '\0' '\n' < /proc/$p/environ 2>/dev/null | grep -q "^CLUSTER_JOB_ID=fashion-mnist-cnn-"; then
      echo "$p $(awk '{print $22}' /proc/$p/stat 2>/dev/null)"
    fi
  done
}

start=$(date +%s)
timeout "$limit" "$root/deploy/cluster.sh" run "$work/chaos.yaml" --workers 2 --json --fresh > "$work/chaos.json" 2> "$work/chaos.err" &
run=$!
RANDOM=$seed
: > "$work/kills.txt"
while kill -0 $run 2>/dev/null && [ $(( $(date +%s) - start )) -lt "$duration" ]; do
  sleep $((20 + RANDOM % 41))
  kill -0 $run 2>/dev/null || break
  # both ranks up for 8 s
  while kill -0 $run 2>/dev/null; do
    mapfile -t live < <(ranks)
    if [ "${#live[@]}" -eq 2 ]; then
      now=$(awk '{print int($1 * 100)}' /proc/uptime)
      young=$(printf '%s\n' "${live[@]}" | awk -v now="$now" 'BEGIN{m=0} {a=now-$2; if (m==0 || a<m) m=a} END{print m}')
      [ "$young" -ge 800 ] && break
    fi
    sleep 0.5
  done
  kill -0 $run 2>/dev/null || break
  victim=$(printf '%s\n' "${live[@]}" | sed -n "$((RANDOM % 2 + 1))p" | cut -d' ' -f1)
  echo "$(date +%s.%N) $victim" >> "$work/kills.txt"
  kill -9 "$victim" 2>/dev/null || true
done
set +e
wait $run
chaos_rc=$?
timeout "$limit" "$root/deploy/cluster.sh" run "$work/plain.yaml" --workers 2 --json --fresh > "$work/plain.json" 2> "$work/plain.err"
plain_rc=$?
"$root/deploy/cluster.sh" audit "$work/audit" --samples 60000 --epochs "$epochs" --json > "$work/audit.json" 2> "$work/audit.err"
set -e
python3 - "$work" "$chaos_rc" "$plain_rc" "$duration" "$seed" <<'PY'
import json, sys, statistics
from datetime import datetime
work, chaos_rc, plain_rc, duration, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
def last_json(path):
    lines = [l for l in open(path) if l.strip().startswith("{")]
    return json.loads(lines[-1]) if lines else {}
chaos, plain, audit = last_json(f"{work}/chaos.json"), last_json(f"{work}/plain.json"), last_json(f"{work}/audit.json")
kills = [float(l.split()[0]) for l in open(f"{work}/kills.txt") if l.strip()]
losses = [r for r in (chaos.get("recoveries") or []) if not r.get("admission")]
admissions = [r for r in (chaos.get("recoveries") or []) if r.get("admission")]
per_kill = []
for t in kills:
    rec = next((r for r in losses if datetime.fromisoformat(r["decided_at"]).timestamp() >= t - 0.01), None)
    if rec and rec.get("seconds_to_first_step") is not None:
        per_kill.append(round(datetime.fromisoformat(rec["decided_at"]).timestamp() + rec["seconds_to_first_step"] - t, 3))
res = {
    "seed": seed, "duration_s": duration, "kills": len(kills), "status": chaos.get("status"), "hangs": int(chaos_rc == 124) + int(plain_rc == 124),
    "losses_recorded": len(losses), "admissions": len(admissions), "generation": chaos.get("generation"),
    "kill_to_first_step_median_s": statistics.median(per_kill) if per_kill else None, "kill_to_first_step_max_s": max(per_kill) if per_kill else None,
    "kill_to_first_step_s": per_kill,
    "steps_lost_per_kill": round(audit.get("discarded_steps", 0) / len(kills), 2) if kills else None,
    "samples_missing": audit.get("missing"), "samples_duplicated": audit.get("duplicated"), "exactly_once": audit.get("exactly_once"),
    "test_accuracy": chaos.get("test_accuracy"), "uninterrupted_test_accuracy": plain.get("test_accuracy"),
    "wall_s": chaos.get("wall_seconds"), "uninterrupted_wall_s": plain.get("wall_seconds"),
}
print("RESULT " + json.dumps(res), flush=True)
PY
