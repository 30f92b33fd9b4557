"""PyTorch DDP (gloo) on the CNN, run by torchrun with 2 ranks x 1 thread: E epochs of Fashion-MNIST (Adam 1e-3, batch 64
per rank, DistributedSampler seed 42), per-epoch time and test accuracy (the 10k test set split across ranks, correct
counts and loss sums all-reduced), then the communication overhead: N steps with the gradient all-reduce vs N steps
inside model.no_sync(), alternating blocks. Rank 0's last stdout line is JSON."""
import argparse
import json
import os
import statistics
import sys
import time

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

import fmnist
from model import cnn

p = argparse.ArgumentParser()
p.add_argument("--epochs", type=int, default=3)
p.add_argument("--batch", type=int, default=64)
p.add_argument("--threads", type=int, default=1)
p.add_argument("--nosync-steps", type=int, default=200)
p.add_argument("--dropout", type=float, default=0.0)
p.add_argument("--data")
p.add_argument("--max-steps-per-epoch", type=int, default=0, help=argparse.SUPPRESS)  # smoke tests only
p.add_argument("--test-subset", type=int, default=0, help=argparse.SUPPRESS)
a = p.parse_args()

torch.set_num_threads(a.threads)
dist.init_process_group("gloo")
rank, world = dist.get_rank(), dist.get_world_size()
torch.manual_seed(42)
directory = fmnist.data_dir(a.data)
train = TensorDataset(*fmnist.load(directory, "train"))
tx, ty = fmnist.load(directory, "test")
if a.test_subset:
    tx, ty = tx[:a.test_subset], ty[:a.test_subset]
sampler = DistributedSampler(train, num_replicas=world, rank=rank, shuffle=True, seed=42)
loader = DataLoader(train, batch_size=a.batch, sampler=sampler, drop_last=False)
model = DistributedDataParallel(cnn(a.dropout))
opt = torch.optim.Adam(model.parameters(), lr=1e-3)


def log(text):
    if rank == 0:
        print(text, flush=True)


def evaluate():
    model.eval()
    part = slice(rank * len(tx) // world, (rank + 1) * len(tx) // world)
    with torch.no_grad():
        logits = model.module(tx[part])
        stats = torch.tensor([(logits.argmax(1) == ty[part]).sum().item(), F.cross_entropy(logits, ty[part], reduction="sum").item()],
                             dtype=torch.float64)
    dist.all_reduce(stats)
    model.train()
    return stats[0].item() / len(tx), stats[1].item() / len(tx)


def train_step(xb, yb):
    opt.zero_grad(set_to_none=True)
    loss = F.cross_entropy(model(xb), yb)
    loss.backward()
    opt.step()
    return loss


epoch_seconds, step_ms, samples = [], [], 0
accuracy = loss_value = float("nan")
for epoch in range(a.epochs):
    sampler.set_epoch(epoch)
    model.train()
    start = time.perf_counter()
    steps = 0
    for xb, yb in loader:
        loss = train_step(xb, yb)
        steps += 1
        samples += len(xb) * world
        if a.max_steps_per_epoch and steps >= a.max_steps_per_epoch:
            break
    seconds = time.perf_counter() - start
    epoch_seconds.append(seconds)
    step_ms.append(seconds * 1e3 / steps)
    accuracy, loss_value = evaluate()
    log(f"epoch {epoch + 1}/{a.epochs}: {seconds:.1f} s, {steps} steps, {seconds * 1e3 / steps:.2f} ms/step, "
        f"last train loss {loss.item():.4f}, test accuracy {accuracy:.4f}, test loss {loss_value:.4f}")

# Communication overhead: the same kind of step with and without the gradient all-reduce, alternating blocks.
batches = [b for _, b in zip(range(a.nosync_steps), loader)]
timings = {"sync": [], "nosync": []}
for block in range(4):
    kind = "sync" if block % 2 == 0 else "nosync"
    for i, (xb, yb) in enumerate(batches[block * len(batches) // 4:(block + 1) * len(batches) // 4]):
        t0 = time.perf_counter()
        if kind == "sync":
            train_step(xb, yb)
        else:
            with model.no_sync():
                train_step(xb, yb)
        if i >= 5:  # the first steps of a block settle the ranks
            timings[kind].append((time.perf_counter() - t0) * 1e3)
    dist.barrier()
sync_ms, nosync_ms = statistics.median(timings["sync"]), statistics.median(timings["nosync"])
result = {"framework": "pytorch-ddp", "version": torch.__version__, "world": world, "threads_per_rank": a.threads, "batch_per_rank": a.batch,
          "epochs": a.epochs, "epoch_seconds": [round(s, 2) for s in epoch_seconds], "step_ms_mean": statistics.fmean(step_ms),
          "test_accuracy": accuracy, "test_loss": loss_value, "samples_per_sec": samples / sum(epoch_seconds),
          "sync_step_ms_median": sync_ms, "nosync_step_ms_median": nosync_ms, "comm_overhead_pct": (sync_ms - nosync_ms) / nosync_ms * 100}
log(f"step with all-reduce {sync_ms:.2f} ms, with no_sync {nosync_ms:.2f} ms: communication overhead {result['comm_overhead_pct']:.1f} %")
log(json.dumps(result))
dist.destroy_process_group()
