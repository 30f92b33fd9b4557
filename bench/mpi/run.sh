#!/usr/bin/env bash
# Side-by-side peer figures for docs/benchmarks.md: Open MPI (Debian's openmpi-bin) over TCP only and with
# its default shared-memory transport, 2 ranks on this machine. Installs Open MPI here (benchmark only;
# the product never needs it). Usage: bench/mpi/run.sh [sizes] [ranks]
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
sizes=${1:-4K,256K,4M,16M,64M}
ranks=${2:-2}
if ! command -v mpicc >/dev/null 2>&1; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends openmpi-bin libopenmpi-dev >/dev/null
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
mpicc -O2 -o "$out/allreduce" "$here/allreduce.c"
common=(--allow-run-as-root --oversubscribe -np "$ranks")
echo "# Open MPI $(mpirun --version | head -1 | awk '{print $NF}'), TCP only (pml ob1, btl tcp,self, lo), $ranks ranks"
mpirun "${common[@]}" --mca pml ob1 --mca btl tcp,self --mca btl_tcp_if_include lo "$out/allreduce" "$sizes"
echo "# Open MPI, default transports (shared memory), $ranks ranks"
mpirun "${common[@]}" "$out/allreduce" "$sizes"
