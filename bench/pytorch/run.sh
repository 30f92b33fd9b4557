#!/usr/bin/env bash
# PyTorch side of the training benchmarks (docs/benchmarks.md): Debian's PyTorch 1.13 with OpenBLAS, one BLAS thread.
#   bench/pytorch/run.sh step [--threads 1|2] [--steps N] [--warmup N] [--batch 64]   per-step compute of the CNN
#   bench/pytorch/run.sh ddp [--epochs 3] [--nosync-steps 200]                       DDP gloo, 2 ranks x 1 thread
#   bench/pytorch/run.sh all                                                         step (1 and 2 threads), then ddp
# --data DIR (or FASHION_MNIST_DIR) overrides /usr/share/datasets/fashion-mnist. Installing python3-torch belongs to
# this benchmark only; the product never needs Python.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
py=/usr/bin/python3 # Debian's interpreter (python3-torch), not whatever python3 is first on PATH
if ! "$py" -c 'import torch' 2>/dev/null; then
  echo "[pytorch] installing python3-torch (Debian 12) ..." >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends -t bookworm python3-torch libopenblas0 python3-numpy >&2
fi
export OPENBLAS_NUM_THREADS=1
cmd=${1:-all}
shift || true
case "$cmd" in
  step)
    threads=1
    args=("$@")
    for ((i = 0; i < ${#args[@]}; i++)); do [ "${args[$i]}" = "--threads" ] && threads=${args[$((i + 1))]}; done
    OMP_NUM_THREADS=$threads "$py" "$here/step.py" "$@"
    ;;
  ddp)
    logs=$(mktemp -d)
    trap 'rm -rf "$logs"' EXIT
    # torchrun (torch.distributed.run) of Debian's PyTorch 1.13 on Python 3.11 needs the redirect/tee/log_dir flags.
    OMP_NUM_THREADS=1 "$py" -m torch.distributed.run --standalone --nproc_per_node 2 --redirects 1 --tee 1 --log_dir "$logs" "$here/ddp.py" "$@" >&2
    cat "$(find "$logs" -path '*/0/stdout.log' | head -n 1)"
    ;;
  all)
    "$0" step --threads 1 "$@"
    "$0" step --threads 2 "$@"
    "$0" ddp --epochs 3
    ;;
  *)
    echo "usage: bench/pytorch/run.sh step|ddp|all [options]" >&2
    exit 2
    ;;
esac
