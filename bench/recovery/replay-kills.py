#!/usr/bin/env python3
"""Kills and the audit replay, side by side with an uninterrupted run (not in CI).

Runs a CNN on the first 6,400 Fashion-MNIST samples (cosine schedule with warm-up, dropout 0.25, Nesterov momentum,
weight decay, clipping: the example's recipe) on 2 ranks of the embedded default twice: uninterrupted, then with SIGKILL
of local rank 1 after each of the given committed checkpoints (every 10 steps; the agent restarts it and it is admitted
with the survivor's state). Then `cluster audit --replay` replays the killed run's committed batches in one process and
compares with the killed run's final model and with the uninterrupted run's. Prints both accuracies and both comparisons.
    bench/recovery/replay-kills.py [EPOCHS=3] [KILL_AFTER_CHECKPOINTS=4,9]
"""
import glob, json, os, shutil, subprocess, sys, tempfile, time

root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
epochs = sys.argv[1] if len(sys.argv) > 1 else "3"
kills = [int(x) for x in (sys.argv[2] if len(sys.argv) > 2 else "4,9").split(",")]
subprocess.run([f"{root}/deploy/cluster.sh", "--help"], check=True, stdout=subprocess.DEVNULL)  # builds once
cli = f"{root}/artifacts/cli/cluster"
work = tempfile.mkdtemp(prefix="replay-kills-")
print(f"replay-kills: everything stays in {work}", file=sys.stderr)

def spec(name):
    path = f"{work}/{name}.yaml"
    with open(path, "w") as f:
        f.write(f"""name: {name}
workers: {{ minRanks: 1 }}
training:
  model: {{ type: cnn, dropout: 0.25 }}
  dataset: {{ type: fashion-mnist, path: /usr/share/datasets/fashion-mnist }}
  subsetTrain: 6400
  subsetTest: 2000
  epochs: {epochs}
  batchSize: 64
  optimizer: {{ type: sgd, lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 0.0005 }}
  schedule: {{ type: cosine, warmupSteps: 20 }}
  clipGradNorm: 5
  seed: 42
  audit: {work}/{name}/audit
checkpoint: {{ dir: {work}/{name}/ckpt, intervalSteps: 10, keepLast: 2 }}
restart: {{ backoffSeconds: 0.5 }}
""")
    return path

def rank_pid(name, local):
    for p in filter(str.isdigit, os.listdir("/proc")):
        try:
            env = open(f"/proc/{p}/environ", "rb").read().split(b"\0")
        except OSError:
            continue
        if f"CLUSTER_LOCAL_RANK={local}".encode() in env and any(v.startswith(f"CLUSTER_JOB_ID={name}-".encode()) for v in env):
            return int(p)
    return None

def newest_checkpoint(name):
    ids = [int(d.rsplit("-", 1)[1]) for d in glob.glob(f"{work}/{name}/ckpt/{name}/ckpt-*")]
    return max(ids, default=0)

def run(name, kill_after):
    os.makedirs(f"{work}/{name}")
    path = spec(name)
    with open(f"{work}/{name}/stderr.txt", "w") as err:
        p = subprocess.Popen([cli, "run", path, "--workers", "2", "--json", "--fresh"], stdout=subprocess.PIPE, stderr=err, text=True)
        for at in kill_after:
            deadline = time.monotonic() + 300
            while newest_checkpoint(name) < at:
                if time.monotonic() > deadline or p.poll() is not None:
                    sys.exit(f"{name}: checkpoint {at} never came")
                time.sleep(0.05)
            pid = rank_pid(name, 1)
            os.kill(pid, 9)
            print(f"{name}: SIGKILL to local rank 1 (pid {pid}) after checkpoint {at}", flush=True)
            time.sleep(3)
        summary = json.loads(p.communicate(timeout=900)[0].strip().split("\n")[-1])
    print(f"{name}: {summary['status']}, test accuracy {summary['test_accuracy']:.4f}, {summary['steps']} steps, generation {summary['generation']}", flush=True)
    return path

plain = run("plain", [])
killed = run("killed", kills)
plain_model = sorted(glob.glob(f"{work}/plain/ckpt/plain/ckpt-*/model.bin"))[-1]
for label, extra in [("against its own final model", []), ("against the uninterrupted run's final model", ["--model", plain_model])]:
    r = subprocess.run([cli, "audit", f"{work}/killed/audit", "--samples", "6400", "--epochs", epochs, "--replay", killed, "--json"] + extra,
                       capture_output=True, text=True)
    line = next((l for l in r.stderr.split("\n") if l.startswith("replay:")), r.stderr.strip())
    print(f"replay of the killed run {label} (exit {r.returncode}): {line}", flush=True)
