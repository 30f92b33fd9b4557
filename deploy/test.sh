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
# Per test assembly, dotnet test prints either "Total tests: N / Passed: N / Failed: N / Skipped: N" (normal
# verbosity) or "Passed!  - Failed: N, Passed: N, Skipped: N" (minimal); both are summed here.
summary=$(awk '
  /^(Passed|Failed)!/ { if (match($0, /Failed: *[0-9]+/)) f += substr($0, RSTART + 7, RLENGTH - 7) + 0
                        if (match($0, /Passed: *[0-9]+/)) p += substr($0, RSTART + 7, RLENGTH - 7) + 0
                        if (match($0, /Skipped: *[0-9]+/)) s += substr($0, RSTART + 8, RLENGTH - 8) + 0; next }
  /^Total tests:/ { block = 1; next }
  block && /^ +Passed: *[0-9]+/ { p += $2 }
  block && /^ +Failed: *[0-9]+/ { f += $2 }
  block && /^ +Skipped: *[0-9]+/ { s += $2 }
  block && !/^ +(Passed|Failed|Skipped|Total time)/ { block = 0 }
  END { printf "%d passed, %d failed, %d skipped", p, f, s }' "$log")
# The failures again, right above the summary, so that the tail of a long log names them.
if grep -q -E '^ +Failed [A-Za-z]' "$log"; then
  echo "failed tests (with the first lines of each message):"
  awk '/^ +Failed [A-Za-z]/ { n = 12; print; next } n > 0 && /^ +(Passed|Skipped) / { n = 0 } n > 0 { print; n-- }' "$log"
fi
rm -f "$log"
[ -n "$summary" ] || summary="0 passed, 1 failed, 0 skipped"
echo "tests: $summary"
if [ "$rc" -ne 0 ]; then exit "$rc"; fi
case "$summary" in 0\ passed*) exit 1 ;; esac
exit 0
