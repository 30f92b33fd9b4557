#!/usr/bin/env bash
# Runs the whole test suite: bootstraps the machine (idempotent), builds, runs every test project,
# and ends with one line "tests: N passed, N failed[, N skipped]". Exit code is non-zero on any failure.
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
"$root/deploy/bootstrap.sh" || exit 1
log=$(mktemp)
dotnet build Cluster.sln -c Release -nologo -v q -clp:ErrorsOnly || { echo "tests: 0 passed, 1 failed (build failed)"; exit 1; }
# Test assemblies run one after another (-m:1): multi-process tests need the 2 cores to themselves.
dotnet test Cluster.sln -c Release --no-build -nologo -m:1 --logger "console;verbosity=normal" "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
summary=$(grep -E '^(Passed|Failed)!' "$log" | sed -E 's/.*Failed: *([0-9]+), Passed: *([0-9]+), Skipped: *([0-9]+).*/\1 \2 \3/' |
  awk '{f+=$1; p+=$2; s+=$3} END {printf "%d passed, %d failed, %d skipped", p, f, s}')
rm -f "$log"
[ -n "$summary" ] || summary="0 passed, 1 failed, 0 skipped"
echo "tests: $summary"
if [ "$rc" -ne 0 ]; then exit "$rc"; fi
case "$summary" in 0\ passed*) exit 1 ;; esac
exit 0
