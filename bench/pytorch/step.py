"""Per-step training compute of the CNN (Adam, batch B) on preloaded Fashion-MNIST batches, T threads.
Last stdout line: JSON with median/mean/min step ms and the forward, backward, optimizer and first-conv medians."""
import argparse
import json
import statistics
import sys
import time

import torch
import torch.nn.functional as F

import fmnist
from model import cnn

p = argparse.ArgumentParser()
p.add_argument("--threads", type=int, default=1)
p.add_argument("--steps", type=int, default=200)
p.add_argument("--warmup", type=int, default=20)
p.add_argument("--batch", type=int, default=64)
p.add_argument("--dropout", type=float, default=0.0)
p.add_argument("--data")
a = p.parse_args()
if a.threads < 1 or a.steps < 1 or a.warmup < 0 or a.batch < 1:
    sys.exit("step.py: --threads, --steps and --batch must be >= 1, --warmup >= 0")

torch.set_num_threads(a.threads)
torch.manual_seed(42)
x, y = fmnist.load(fmnist.data_dir(a.data), "train")
order = torch.randperm(len(x))
n = a.warmup + a.steps
batches = [(x[order[i * a.batch:(i + 1) * a.batch]].contiguous(), y[order[i * a.batch:(i + 1) * a.batch]].contiguous())
           for i in range(n)]
model = cnn(a.dropout)
model.train()
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
step_ms, fwd_ms, bwd_ms, opt_ms, conv_ms = [], [], [], [], []
for i, (xb, yb) in enumerate(batches):
    t0 = time.perf_counter()
    opt.zero_grad(set_to_none=True)
    loss = F.cross_entropy(model(xb), yb)
    t1 = time.perf_counter()
    loss.backward()
    t2 = time.perf_counter()
    opt.step()
    t3 = time.perf_counter()
    if i >= a.warmup:
        step_ms.append((t3 - t0) * 1e3); fwd_ms.append((t1 - t0) * 1e3); bwd_ms.append((t2 - t1) * 1e3); opt_ms.append((t3 - t2) * 1e3)
conv1 = model[0]
with torch.no_grad():
    for i, (xb, _) in enumerate(batches):
        t0 = time.perf_counter()
        conv1(xb)
        if i >= a.warmup:
            conv_ms.append((time.perf_counter() - t0) * 1e3)

med = statistics.median
result = {"framework": "pytorch", "version": torch.__version__, "model": "cnn-k3", "threads": a.threads, "batch": a.batch,
          "precision": "fp32", "steps": a.steps, "step_ms_median": med(step_ms), "step_ms_mean": statistics.fmean(step_ms),
          "step_ms_min": min(step_ms), "forward_ms_median": med(fwd_ms), "backward_ms_median": med(bwd_ms),
          "optimizer_ms_median": med(opt_ms), "conv1_forward_ms_median": med(conv_ms)}
print(f"# PyTorch {torch.__version__} CNN step, {a.threads} thread(s), batch {a.batch}, {a.steps} steps after {a.warmup} warm-up", file=sys.stderr)
for k in ("step_ms_median", "step_ms_mean", "step_ms_min", "forward_ms_median", "backward_ms_median", "optimizer_ms_median", "conv1_forward_ms_median"):
    print(f"{k:26} {result[k]:9.2f}", file=sys.stderr)
print(json.dumps(result))
